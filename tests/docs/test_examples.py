"""Every example runs (small and with the exact engine), and the README's quick start runs.

The examples and docs may use only the public API: names re-exported by
``bayesma/__init__.py`` (``bm.<name>``) and its public submodules.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import ROOT

import bayesma

EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
NEEDS_SENSITIVITY = {"working_alliance_style.py", "prior_comparison.py"}
HAVE_SENSITIVITY = importlib.util.find_spec("bayesma.sensitivity") is not None


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_four_examples_exist():
    names = {p.name for p in SCRIPTS}
    assert {"working_alliance_style.py", "prior_comparison.py", "three_level_assink.py",
            "metaregression_bcg.py"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs_quickly(path, tmp_path, capsys):
    if path.name in NEEDS_SENSITIVITY and not HAVE_SENSITIVITY:
        pytest.skip("bayesma.sensitivity has not landed")
    module = _load(path)
    result = module.main(draws=100, quick=True, out=tmp_path)
    assert isinstance(result, dict) and result
    out = capsys.readouterr().out
    assert out.strip()
    assert list(tmp_path.glob("*.png")), "the example saves its plots into out"


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_uses_only_the_public_api(path):
    tree = ast.parse(path.read_text())
    public = set(bayesma.__all__)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bayesma"):
            assert node.module in ("bayesma", "bayesma.priors", "bayesma.datasets"), node.module
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "bm":
            assert node.attr in public, f"bm.{node.attr} is not public"
    assert "def main(" in path.read_text()


def test_example_runs_as_a_script(tmp_path):
    res = subprocess.run([sys.executable, str(EXAMPLES / "metaregression_bcg.py"), "--draws", "100",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                         env={**_env(), "MPLBACKEND": "Agg"})
    assert res.returncode == 0, res.stderr
    assert "P(beta[ablat] < 0)" in res.stdout
    assert (tmp_path / "bcg_metaregression_forest.png").exists()


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_metaregression_example_agrees_with_metafor():
    module = _load(EXAMPLES / "metaregression_bcg.py")
    res = module.main(draws=100, quick=True)
    # metafor: rma(yi, vi, mods = ~ ablat, data = dat.bcg): ablat -0.0291, intercept 0.2515
    assert res["rma"].beta[1] == pytest.approx(-0.0291, abs=5e-5)
    s = res["posterior"].summary()
    assert s.loc["beta[ablat]", "median"] == pytest.approx(-0.029, abs=0.005)
    med, lo, hi = res["predictions"][55]
    assert lo < med < hi < 1


def test_readme_quick_start_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has a Python quick start"
    code = blocks[0]
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "forest.png").exists()
    assert "REML" in capsys.readouterr().out
