"""rma_glmm: speed beside metafor, and the hypergeometric likelihood at scale.

Run: python benchmarks/bench_glmm.py            (add --with-r to time metafor again with Rscript)

1. dat.bcg (k = 13) with UM.FS, UM.RS and CM.EL: bayesma's wall time per fit (median of 5 after a
   warm-up) beside metafor 3.8-1's (R 4.2.2, lme4 / BiasedUrn; median of 5, measured once with
   Rscript on this machine and quoted below, or re-measured with --with-r).
2. CM.EL (exact conditional likelihood, 41-node adaptive quadrature) on simulated trials:
   k = 25, 50, 100 with group sizes of 1000 to 5000, wall time of one fit.
3. UM.FS (one intercept per study) on simulated trials, k = 50, 200, 500.
4. Agreement with metafor on every reference case: largest relative difference of beta, se, tau2.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayesma as bm

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "metafor"

# metafor 3.8-1 on this machine (2 cores shared with other jobs), seconds per fit, median of 5, measured
# 2026-12-05 with the Rscript of _R below (re-measure with --with-r)
METAFOR_SECONDS = {"UM.FS": 1.591, "UM.RS": 1.001, "CM.EL": 41.521}

_R = """
suppressPackageStartupMessages(library(metafor))
tm <- function(expr) median(replicate(5, system.time(eval(expr))[["elapsed"]]))
for (m in c("UM.FS", "UM.RS", "CM.EL"))
  cat(m, tm(bquote(suppressWarnings(rma.glmm(measure="OR", model=.(m), ai=tpos, bi=tneg, ci=cpos, di=cneg,
                                               data=dat.bcg)))), "\\n")
"""


def _median_time(f, n: int = 5) -> float:
    f()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bcg_side_by_side(with_r: bool) -> None:
    metafor = dict(METAFOR_SECONDS)
    if with_r:
        out = subprocess.run(["Rscript", "-e", _R], capture_output=True, text=True, check=True).stdout
        metafor = {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line.strip()}
    dat = bm.load_dataset("dat.bcg")
    print(f"{'dat.bcg (k = 13)':<18} {'bayesma s':>10} {'metafor s':>10} {'ratio':>7}")
    for model in ("UM.FS", "UM.RS", "CM.EL"):
        t = _median_time(lambda m=model: bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat,
                                                     model=m))
        print(f"{model:<18} {t:>10.3f} {metafor[model]:>10.3f} {metafor[model] / t:>6.1f}x")


def simulated_cmel() -> None:
    print(f"\n{'CM.EL, simulated':<18} {'k':>5} {'n per group':>12} {'seconds':>9} {'beta':>8} {'tau2':>7}")
    rng = np.random.default_rng(1)
    for k in (25, 50, 100):
        n1 = rng.integers(1000, 5001, k)
        n2 = rng.integers(1000, 5001, k)
        base = rng.normal(-3.0, 0.5, k)
        theta = rng.normal(-0.3, 0.2, k)
        a = rng.binomial(n1, 1 / (1 + np.exp(-(base + theta))))
        c = rng.binomial(n2, 1 / (1 + np.exp(-base)))
        start = time.perf_counter()
        res = bm.rma_glmm("OR", ai=a, n1i=n1, ci=c, n2i=n2, model="CM.EL")
        t = time.perf_counter() - start
        print(f"{'':<18} {k:>5} {'1000-5000':>12} {t:>9.2f} {res.beta[0]:>8.3f} {res.tau2:>7.3f}")


def simulated_umfs() -> None:
    """UM.FS has one intercept per study: the Newton step eliminates them (Schur complement)."""
    print(f"\n{'UM.FS, simulated':<18} {'k':>5} {'n per group':>12} {'seconds':>9} {'beta':>8} {'tau2':>7}")
    rng = np.random.default_rng(2)
    for k in (50, 200, 500):
        n1, n2 = rng.integers(50, 500, k), rng.integers(50, 500, k)
        base, theta = rng.normal(-2.0, 0.5, k), rng.normal(-0.3, 0.3, k)
        a = rng.binomial(n1, 1 / (1 + np.exp(-(base + theta))))
        c = rng.binomial(n2, 1 / (1 + np.exp(-base)))
        start = time.perf_counter()
        res = bm.rma_glmm("OR", ai=a, n1i=n1, ci=c, n2i=n2)
        t = time.perf_counter() - start
        print(f"{'':<18} {k:>5} {'50-500':>12} {t:>9.2f} {res.beta[0]:>8.3f} {res.tau2:>7.3f}")


def agreement() -> None:
    cases = [c for c in json.loads((REF / "metafor_cases_v3.json").read_text())["cases"] if c["kind"] == "rma_glmm"]
    cases += json.loads((REF / "metafor_glmm.json").read_text())["cases"]
    print(f"\n{'case':<34} {'beta':>8} {'se':>8} {'tau2':>8} {'ms':>7}")
    for c in cases:
        df = pd.DataFrame(c["input"])
        args = dict(zip(c["args"], c["cols"]))
        model = c["model"] if c["measure"] in ("OR", "IRR", "RR") else "UM.FS"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            res = bm.rma_glmm(c["measure"], **args, mods=c.get("mods"), model=model, method=c.get("method", "ML"),
                              data=df, nAGQ=c.get("nAGQ"), test=c.get("test", "z"), **(c.get("options") or {}))
            ms = 1000 * (time.perf_counter() - start)
        e = c["expect"]

        def rel(got, want):
            got, want = np.atleast_1d(np.asarray(got, float)), np.atleast_1d(np.asarray(want, float))
            return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-8)))
        tau = rel(res.tau2, e["tau2"]) if e["tau2"] else abs(res.tau2)
        print(f"{c['name']:<34} {rel(res.beta, e['beta']):>8.1e} {rel(res.se, e['se']):>8.1e} {tau:>8.1e} {ms:>7.0f}")


if __name__ == "__main__":
    bcg_side_by_side("--with-r" in sys.argv)
    simulated_cmel()
    simulated_umfs()
    agreement()
