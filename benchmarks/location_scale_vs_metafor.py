"""rma(scale=) against metafor's rma.ls on every location-scale reference case.

Run: python benchmarks/location_scale_vs_metafor.py
Reads tests/data/reference/metafor/metafor_cases_v3.json and metafor_location_scale.json (kind
location_scale) and prints, per case: the largest relative difference of beta and se (location),
of alpha and se_alpha (scale), of each study's tau2, of QS; logLik(bayesma) - logLik(metafor)
(>= 0: bayesma found at least metafor's maximum; for the identity link also against metafor's
default-tolerance fit), and bayesma's wall time per fit (median of 5, after one warm-up fit).
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayesma as bm

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference"


def fit_case(case: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", mods=case.get("mods"), scale=case["scale"], method=case["method"],
                      test=case.get("test", "z"), link=case.get("link", "log"), data=pd.DataFrame(case["input"]))


def rel(got, want) -> float:
    got, want = np.atleast_1d(np.asarray(got, float)), np.atleast_1d(np.asarray(want, float))
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-8)))


def main() -> None:
    cases = [c for f in ("metafor/metafor_cases_v3.json", "metafor/metafor_location_scale.json")
             for c in json.loads((REF / f).read_text())["cases"] if c["kind"] == "location_scale"]
    print(f"{'case':<42} {'beta':>8} {'se':>8} {'alpha':>8} {'se_a':>8} {'tau2':>8} {'QS':>8} "
          f"{'dlogLik':>9} {'dll_def':>9} {'ms':>6}")
    for case in cases:
        e = case["expect"]
        res = fit_case(case)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fit_case(case)
            times.append(time.perf_counter() - start)
        dflt = e.get("logLik_default_control")
        print(f"{case['name']:<42} {rel(res.beta, e['beta']):>8.1e} {rel(res.se, e['se']):>8.1e} "
              f"{rel(res.alpha, e['alpha']):>8.1e} {rel(res.se_alpha, e['se_alpha']):>8.1e} "
              f"{rel(res.tau2, e['tau2']):>8.1e} {rel(res.QS, e['QS']):>8.1e} {res.loglik - e['logLik']:>9.1e} "
              f"{'' if dflt is None else format(res.loglik - dflt, '.1e'):>9} {1000 * statistics.median(times):>6.1f}")


if __name__ == "__main__":
    main()
