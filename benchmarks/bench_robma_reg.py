"""Wall time of RoBMA-reg (two moderators) and multilevel RoBMA, on data of the published examples' shape.

Run: ``python benchmarks/bench_robma_reg.py [--which reg|ml|both]``.

- RoBMA-reg: ``bm.robma(mods="~ measure + age")`` (144 models) and ``bm.bma(...)`` (16 models) on
  Andrews2021 (36 correlations; RoBMA's vignette "Robust Bayesian Model-Averaged
  Meta-Regression" as RoBMA 4 fits it: Fisher's z given as ``y``/``se`` (normal cut points),
  effect Normal(0, 0.5), heterogeneity InvGamma(1, 0.075), moderators Normal(0, 0.25) and
  PEESE Cauchy(0, 5 sqrt 2)[0, Inf], all on z; r is tanh of each draw).
- Multilevel RoBMA: ``bm.robma(y=, se=, cluster=)`` (36 models) on Johnides2025 (412 d's from
  128 studies; RoBMA 4's ``RoBMA(yi = d, sei = se, measure = "SMD", cluster = study)`` fits d as
  given with normal cut points: bayesma's ``y=``/``se=`` input).

The data come from ``tests/data/reference/robma/Andrews2021.csv`` / ``Johnides2025.csv``
(made by ``robma_datasets_to_csv.R`` from RoBMA's .RData files) when they are there; else from
simulated data sets of the same shape (same k, moderators, cluster sizes), and the table says so.
The published numbers are printed beside ours only for the real data. ``cpu_s`` (process CPU
time) is what the wall time is on an otherwise idle machine (the fits are single-threaded numpy).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "robma"
PUBLISHED_REG = {"BMA BF measure": 2.67, "BMA BF age": 0.122, "BMA r informant": 0.210, "BMA r direct": 0.124,
                 "RoBMA BF bias": 4.26, "RoBMA BF effect": 1.25, "RoBMA r": 0.061}
PUBLISHED_ML = {"BF effect": 0.927, "d": 0.050, "tau": 0.40, "rho": 0.461}


def andrews() -> tuple[pd.DataFrame, str]:
    path = DATA / "Andrews2021.csv"
    if path.exists():
        return pd.read_csv(path), "Andrews2021"
    rng = np.random.default_rng(2021)
    k = 36
    measure = np.where(rng.random(k) < 0.45, "informant", "direct")
    age = rng.uniform(2, 14, k)
    ni = rng.integers(40, 600, k)
    z = 0.06 + 0.12 * (measure == "informant") + rng.normal(0, 0.08, k) + rng.normal(0, 1 / np.sqrt(ni - 3))
    return pd.DataFrame({"yi": z, "vi": 1 / (ni - 3), "measure": measure, "age": age}), "simulated (Andrews2021 shape)"


def johnides() -> tuple[pd.DataFrame, str]:
    path = DATA / "Johnides2025.csv"
    if path.exists():
        return pd.read_csv(path), "Johnides2025"
    rng = np.random.default_rng(2025)
    sizes = 1 + rng.multinomial(412 - 128, rng.dirichlet(np.ones(128)))
    cl = np.repeat(np.arange(128), sizes)
    se = np.repeat(rng.uniform(0.08, 0.4, 128), sizes)
    d = 0.05 + rng.normal(0, 0.27, 128)[cl] + rng.normal(0, 0.29, cl.size) + rng.normal(0, se)
    return pd.DataFrame({"study": [f"study {c}" for c in cl], "d": d, "se": se}), "simulated (Johnides2025 shape)"


def _robma4_z(bm, names):
    """RoBMA 4's specification of the Andrews2021 vignette, on Fisher's z given as y."""
    from bayesma.bias import psma_bias

    ensemble = [(bm.PEESE(bm.priors.HalfCauchy(5 * 2**0.5)), w) if isinstance(c, bm.PEESE) else (c, w)
                for c, w in psma_bias()]
    priors = {"effect": bm.priors.Normal(0, 0.5), "heterogeneity": bm.InverseGammaTau(1, 0.075),
              "mods": {n: bm.priors.Normal(0, 0.25) for n in names}}
    return priors, ensemble


def _r(tab, row):
    q = np.tanh(tab.loc[row, ["median", "0.025", "0.975"]].to_numpy(float))  # tanh of each draw: quantiles map
    return f"{q[0]:.3f} [{q[1]:.3f}, {q[2]:.3f}]"


def bench_reg(bm) -> None:
    dat, source = andrews()
    dat = dat.assign(sei=np.sqrt(dat["vi"]))
    priors, ensemble = _robma4_z(bm, ["measure", "age"])
    rows = []
    for name, fn, kw in (("BMA (16 models)", bm.bma, {}), ("RoBMA-reg (144 models)", bm.robma, {"ensemble": ensemble})):
        t0, c0 = time.perf_counter(), time.process_time()
        fit = fn(dat, y="yi", se="sei", mods="~ measure + age", priors=priors, **kw)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        comp, mods, mm = fit.components(), fit.moderators(), fit.marginal_means()
        est = fit.estimates()
        rows.append({"fit": name, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "models": len(fit.models),
                     "BF_effect": comp.loc["Effect", "inclusion_BF"],
                     "BF_bias": comp.loc["Bias", "inclusion_BF"] if "Bias" in comp.index else np.nan,
                     "BF_measure": mods.loc["measure", "inclusion_BF"], "BF_age": mods.loc["age", "inclusion_BF"],
                     "r (median [95%])": _r(est, "mu"), "r informant": _r(mm, "measure[informant]"),
                     "r direct": _r(mm, "measure[direct]"), "max log_ml_se": fit.models["log_ml_se"].max()})
    print(f"RoBMA-reg, data: {source}")
    print(pd.DataFrame(rows).to_string(index=False))
    if source == "Andrews2021":
        print("published (RoBMA 4, MCMC; means):", PUBLISHED_REG)


def bench_ml(bm) -> None:
    dat, source = johnides()
    t0, c0 = time.perf_counter(), time.process_time()
    fit = bm.robma(dat, y="d", se="se", cluster="study")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    comp, est = fit.components(), fit.estimates()
    print(f"Multilevel RoBMA, data: {source} ({len(dat)} estimates, {dat['study'].nunique()} clusters)")
    print(pd.DataFrame([{"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "models": len(fit.models),
                         "BF_effect": comp.loc["Effect", "inclusion_BF"],
                         "BF_bias": comp.loc["Bias", "inclusion_BF"],
                         "mu": f"{est.loc['mu', 'mean']:.3f} [{est.loc['mu', '0.025']:.3f}, {est.loc['mu', '0.975']:.3f}]",
                         "tau": f"{est.loc['tau', 'mean']:.3f} [{est.loc['tau', '0.025']:.3f}, {est.loc['tau', '0.975']:.3f}]",
                         "rho": f"{est.loc['rho', 'mean']:.3f} [{est.loc['rho', '0.025']:.3f}, {est.loc['rho', '0.975']:.3f}]",
                         "max log_ml_se": fit.models["log_ml_se"].max()}]).to_string(index=False))
    if source == "Johnides2025":
        print("published (RoBMA 4, MCMC; 10-15 min in parallel):", PUBLISHED_ML)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--which", choices=("reg", "ml", "both"), default="both")
    args = parser.parse_args()
    import bayesma as bm

    bm.robma(yi=[0.1, 0.3, 0.2, 0.4], sei=[0.1] * 4, ensemble="PP", draws=64, replicates=2)  # warm-up
    if args.which in ("reg", "both"):
        bench_reg(bm)
    if args.which in ("ml", "both"):
        bench_ml(bm)


if __name__ == "__main__":
    main()
