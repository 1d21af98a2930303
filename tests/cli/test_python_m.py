"""``python -m bayesma`` runs the command line, as ``bayesma`` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_bayesma_runs_the_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, "-m", "bayesma", "--help"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0 and "usage: bayesma" in res.stdout
    bad = subprocess.run([sys.executable, "-m", "bayesma", "fit", "no-such-file.csv", "--yi", "g", "--vi", "v"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("bayesma: error:")
