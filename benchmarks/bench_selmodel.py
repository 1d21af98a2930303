"""CPU seconds of ``selmodel`` for metafor's smooth types, integrand compiled (numba) or Python.

Run from the repository root:  python benchmarks/bench_selmodel.py   (about a minute).

The smooth types integrate each study's normaliser with QUADPACK, as metafor does (R's
``integrate``). The integrand is a numba-compiled C callback
(:mod:`bayesma.frequentist.bias._selection_integrand`); without numba it is a Python closure.
For each smooth case of tests/data/reference/metafor/metafor_cases_v2.json this prints the
CPU seconds of both, whether the two fits are identical (estimates, SEs, log-likelihood), and
the largest relative difference from metafor's numbers. The first compiled fit includes
numba's compilation (or loading it from numba's cache).
"""

from __future__ import annotations

import datetime
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayesma as bm
from bayesma.frequentist.bias import _selection_integrand

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "metafor" / "metafor_cases_v2.json"
KEYS = ("beta", "se", "tau2", "delta", "se_delta", "ll")


def _fit(case: dict):
    res = bm.rma("yi", "vi", data=pd.DataFrame(case["input"]), method=case["method"])
    steps = case.get("steps") if isinstance(case.get("steps"), list) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.process_time()
        sel = bm.selmodel(res, case["type"], steps=steps, alternative=case.get("alternative", "greater"))
        return sel, time.process_time() - t


def _numbers(sel) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(getattr(sel, k), float)) for k in KEYS])


def _rel(sel, expect: dict) -> float:
    worst = 0.0
    for key in KEYS:
        if expect.get(key) is None:
            continue
        e = np.atleast_1d(np.array([np.nan if v is None else v for v in np.atleast_1d(expect[key])], float))
        a = np.atleast_1d(np.asarray(getattr(sel, key), float))
        m = np.isfinite(e) & (e != 0)
        if m.any():
            worst = max(worst, float(np.max(np.abs(a[m] - e[m]) / np.abs(e[m]))))
    return worst


def main() -> None:
    cases = [c for c in json.loads(CASES.read_text())["cases"] if c["kind"] == "selmodel" and c["type"] != "stepfun"]
    print(f"selmodel, smooth types: CPU seconds per fit ({datetime.date.today()}, {platform.node()}, "
          f"{platform.processor() or platform.machine()})")
    print(f"{'case':32s} {'compiled':>9s} {'python':>9s} {'identical':>10s} {'max rel diff vs metafor':>24s}")
    python_integrand = _selection_integrand.integrand
    total = [0.0, 0.0]
    for case in cases:
        fast, t_fast = _fit(case)
        _selection_integrand.integrand = lambda: None  # the Python closures
        try:
            slow, t_slow = _fit(case)
        finally:
            _selection_integrand.integrand = python_integrand
        same = np.array_equal(_numbers(fast), _numbers(slow), equal_nan=True)
        total[0] += t_fast
        total[1] += t_slow
        print(f"{case['name']:32s} {t_fast:9.2f} {t_slow:9.2f} {str(same):>10s} {_rel(fast, case['expect']):24.2e}")
    print(f"{'total':32s} {total[0]:9.2f} {total[1]:9.2f}")


if __name__ == "__main__":
    main()
