"""mypy runs clean on the typed packages ([tool.mypy] in pyproject.toml; mypy is in the test extra).

The packages checked: the exact engine, the posterior interface, the results, the frequentist
fits and the error types. Imported modules are read for their types, not reported
(``follow_imports = "silent"``). The cache lives in .mypy_cache (ignored by git), so a rerun
takes seconds; a cold run about 20 s.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["bayesma/exact", "bayesma/posterior", "bayesma/results", "bayesma/frequentist", "bayesma/errors.py"]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is in the test extra")
def test_mypy_is_clean_on_the_typed_packages():
    paths = [p for p in CHECKED if (ROOT / p).exists()]
    res = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache"), *paths],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
