"""Time of the default RoBMA-PSMA ensemble (36 models) on dat.lehmann2018 beside RoBMA's.

Run: ``python benchmarks/bench_robma.py [--repeat N] [--nuts]``.

Prints the wall time of ``bm.robma(dat.lehmann2018)`` (all 36 marginal likelihoods and
posteriors; best of ``--repeat`` runs after a warm-up), RoBMA 3.6.1's recorded wall time on a
quiet 2-core machine (tests/data/reference/robma/robma_lehmann2018.json, ``robma_wall_s``), the
speed-up, the Monte Carlo quality of the fit (no MCMC: largest log marginal likelihood error,
smallest importance-sampling effective sample size) and the agreement with RoBMA's numbers.
``--nuts`` also samples one selection model (two-sided .05 weight function) with NUTS through
``MetaAnalysis(bias=...)`` and prints its time, largest R-hat and divergences.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "robma/robma_lehmann2018.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (best is reported)")
    parser.add_argument("--nuts", action="store_true", help="also time one selection model with NUTS")
    args = parser.parse_args()

    import bayesma as bm

    ref = json.loads(REF.read_text())
    dat = bm.load_dataset("dat.lehmann2018")
    bm.robma(dat.iloc[:10], yi="yi", vi="vi", ensemble="PP", draws=256, replicates=2)  # warm-up (imports)
    times, cpu, fit = [], [], None
    for i in range(max(args.repeat, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        fit = bm.robma(dat, yi="yi", vi="vi", measure="SMD", seed=1 + 100 * i)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    best = min(times)
    robma_s = ref["robma_wall_s"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"bayesma robma (36 models, k = {len(dat)}): best {best:.1f} s of {len(times)} "
          f"(all: {', '.join(f'{t:.1f}' for t in times)}; CPU time {min(cpu):.1f} s: the wall time of a quiet machine)")
    print(f"RoBMA 3.6.1 (JAGS, bridge sampling), recorded: {robma_s:.0f} s")
    print(f"speed-up: {robma_s / best:.0f}x (target >= 20x)")
    m = fit.models
    sampled = m["ess"] > 1  # the model with mu = 0, tau = 0 and no bias has no parameter
    print(f"Monte Carlo: no MCMC (so no R-hat or divergences); max log-ML error {m['log_ml_se'].max():.4f}, "
          f"min importance-sampling ESS {m.loc[sampled, 'ess'].min():.0f} of 8 x 2560 draws per model")
    comp = fit.components()
    print("\nagreement with RoBMA:")
    for name, r in ref["components"].items():
        print(f"  log BF {name:14s} bayesma {comp.loc[name, 'log_BF']:8.3f} (+- {comp.loc[name, 'log_BF_se']:.3f})"
              f"   RoBMA {math.log(r['inclusion_BF']):8.3f}")
    est = fit.estimates()
    for par in ("mu", "tau"):
        r = ref["model_averaged_estimates"][par]
        ours = est.loc[par]
        print(f"  {par:4s} mean/median/2.5%/97.5%  bayesma {ours['mean']:.4f} {ours['median']:.4f} "
              f"{ours['0.025']:.4f} {ours['0.975']:.4f}   RoBMA {r['Mean']:.4f} {r['Median']:.4f} "
              f"{r['0.025']:.4f} {r['0.975']:.4f}")
    d_ml = m["log_ml"].to_numpy() - np.array([x["marglik"] for x in ref["models"]])
    d_pp = m["post_prob"].to_numpy() - np.array([x["post_prob"] for x in ref["models"]])
    print(f"  36 log marginal likelihoods: max |diff| {np.abs(d_ml).max():.4f}; "
          f"posterior model probabilities: max |diff| {np.abs(d_pp).max():.4f}")
    if args.nuts:
        ma = bm.MetaAnalysis(dat, yi="yi", vi="vi", priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"},
                             bias=bm.WeightFunction((0.05,), "two"))
        t0 = time.perf_counter()
        post = ma.fit(draws=1000, chains=4, seed=1)
        t1 = time.perf_counter() - t0
        import arviz as az

        rhat = float(az.rhat(post.idata, var_names=["mu", "tau", "omega"]).to_array().max())
        div = int(post.idata.sample_stats["diverging"].sum())
        print(f"\nNUTS, one selection model (4 x 1000 draws, incl. compilation): {t1:.1f} s, "
              f"max R-hat {rhat:.4f}, divergences {div}")


if __name__ == "__main__":
    main()
