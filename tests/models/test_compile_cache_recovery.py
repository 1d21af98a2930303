"""A compiled callback whose numba index file is unreadable (truncated by a killed process, or
garbage) is compiled again, never a crash; the next process loads the rewritten file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

_RUN = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import callback_mod
    from bayesma.models._numba_cache import cached_cfunc
    cf = cached_cfunc(callback_mod.twice, "float64(float64)")
    print(cf.cache_hits, cf.ctypes(21.0))
""")


def _run(tmp: Path) -> tuple[int, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "cache")}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _RUN, str(tmp)], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), float(out[1])


def test_an_unreadable_numba_index_is_compiled_again(tmp_path):
    (tmp_path / "callback_mod.py").write_text("def twice(x):\n    return 2.0 * x\n")
    assert _run(tmp_path) == (0, 42.0)  # compiled and written
    assert _run(tmp_path) == (1, 42.0)  # loaded
    index = list((tmp_path / "cache").rglob("*.nbi"))
    assert index
    for path in index:
        path.write_bytes(b"not a pickle")
    assert _run(tmp_path) == (0, 42.0)  # compiled again instead of an UnpicklingError
    assert _run(tmp_path) == (1, 42.0)
    for path in (tmp_path / "cache").rglob("*.nbi"):
        path.write_bytes(b"")  # truncated: EOFError
    assert _run(tmp_path) == (0, 42.0)
