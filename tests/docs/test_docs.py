"""The documentation builds without warnings (Sphinx -W), and its API page covers the public API.

The build takes about 10 s; it is marked slow. Sphinx, numpydoc and the PyData theme are
in the ``test`` extra, so CI builds the docs; the build test skips itself only where they
are not installed.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from _helpers import ROOT

import bayesma

DOCS = ROOT / "docs"


def test_api_page_lists_every_public_name():
    text = (DOCS / "api.rst").read_text()
    documented = set(re.findall(r"^\.\. auto(?:function|class):: (?:bayesma\.)?(\w+)", text, flags=re.M))
    missing = sorted(set(bayesma._EXPORTS) - documented)
    assert not missing, f"public names without an API entry: {missing}"


def test_every_page_is_in_the_toctree():
    index = (DOCS / "index.rst").read_text()
    for page in DOCS.glob("*.rst"):
        if page.stem != "index":
            assert re.search(rf"^\s+{page.stem}$", index, flags=re.M), page.name


def test_the_documented_pages_exist():
    for name in ("getting_started", "fitting", "comparing_priors", "small_k", "models", "priors", "metafor",
                 "performance", "api", "cli"):
        assert (DOCS / f"{name}.rst").exists(), name


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "pydata_sphinx_theme"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]')")
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-5000:]
    assert (tmp_path / "html" / "index.html").exists()
