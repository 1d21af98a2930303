"""rma_mv against metafor's rma.mv on every reference case: how close, and whose likelihood is higher.

Run: python benchmarks/rma_mv_vs_metafor.py
Reads tests/data/reference/metafor/metafor_cases_v3.json and metafor_mv_more.json (kinds rma_mv_V and
che_rve, the model part) and prints, per case: the largest relative difference of beta, se and
the variance/correlation components (sigma2, tau2, rho, gamma2, phi; absolute for values
below 1e-8), the largest relative difference of QE and QM, and logLik(bayesma) - logLik(metafor)
(>= 0 means bayesma found at least metafor's maximum).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayesma as bm

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference"
DEFAULTS = {"berkey1998": ("~ outcome - 1", "~ outcome | trial"), "ishak2007": ("~ factor(time) - 1", "~ time | study")}


def fit_case(case: dict):
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    mods, random = DEFAULTS.get(case["name"].split("_")[0], (None, None))
    mods, random = case.get("mods", mods), case.get("random", random)
    if "obs" in case:
        V = bm.vcalc("vi", cluster=case["cluster"], obs=case["obs"], rho=case["rho"], data=df)
        random = random or f"~ 1 | {case['cluster']}/{case['obs']}"
    elif "V" in case["input"]:
        V = np.array(case["input"]["V"], dtype=float)
    else:
        V = "vi"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma_mv("yi", V, mods=mods, random=random, struct=case.get("struct", "CS"), data=df,
                         method=case.get("method", "REML"), test=case.get("test", "z"),
                         sigma2=case.get("sigma2_fixed"))


def rel(got, want) -> float:
    got, want = np.atleast_1d(np.asarray(got, float)), np.atleast_1d(np.asarray(want, float))
    if got.size == 0:
        return 0.0 if np.all(want == 0) else np.inf
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-8)))


def main() -> None:
    cases = [c for f in ("metafor/metafor_cases_v3.json", "metafor/metafor_mv_more.json")
             for c in json.loads((REF / f).read_text())["cases"] if c["kind"] in ("rma_mv_V", "che_rve")]
    print(f"{'case':<34} {'beta':>9} {'se':>9} {'comp.':>9} {'QE':>9} {'QM':>9} {'dlogLik':>10} {'sec':>6}")
    for case in cases:
        e = case["expect"]["model"] if case["kind"] == "che_rve" else case["expect"]
        start = time.perf_counter()
        res = fit_case(case)
        sec = time.perf_counter() - start
        comp = max(rel(getattr(res, n), e[n]) for n in ("sigma2", "tau2", "rho", "gamma2", "phi"))
        print(f"{case['name']:<34} {rel(res.beta, e['beta']):>9.1e} {rel(res.se, e['se']):>9.1e} {comp:>9.1e} "
              f"{rel(res.QE, e['QE']):>9.1e} {rel(res.QM, e['QM']):>9.1e} {res.logLik - e['logLik']:>10.2e} "
              f"{sec:>6.2f}")


if __name__ == "__main__":
    main()
