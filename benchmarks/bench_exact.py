"""Timings of the exact engine and the sensitivity tools.

Run: ``python benchmarks/bench_exact.py [--quick]``. Prints one table:

* one exact fit at k = 21 (exact summaries plus 4 x 1000 independent draws in
  ``.idata``: what ``MetaAnalysis.fit(engine="exact")`` does), and the summaries alone;
* one exact fit at k = 100,000 (summaries of mu, tau, all 100,000 theta and
  theta_new; ``fit_exact`` with 4 x 250 draws of mu, tau and theta_new; and the default call
  ``MetaAnalysis(...).fit(engine="exact")``: summaries and 4 x 1000 draws, theta's skipped);
* a 20-prior comparison (``compare_priors`` with 20 heterogeneity priors, k = 21,
  exact summaries and Bayes factors);
* 10,000 simulated meta-analyses at k = 3 (``small_k_simulation``: one Bayesian prior
  and DL, REML, REML + Knapp-Hartung, PM with Q-profile intervals), serially.

Each timing is the best of a few repetitions (wall clock, after a warm-up run).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

CPU: dict[int, float] = {}  # CPU seconds of the best run, by call order (the machine may be shared)


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up (imports, caches)
    times, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    CPU[len(CPU)] = cpus[times.index(min(times))]
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    rep = 2 if args.quick else 5

    import bayesma as bm
    from bayesma import priors as pr
    from bayesma.exact import exact_posterior, fit_exact
    from bayesma.spec import build_spec

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(2024)
    rows = []

    # k = 21: a working-alliance-sized meta-analysis of standardized mean differences
    k = 21
    v21 = rng.uniform(0.02, 0.12, k)
    y21 = rng.normal(0.3, np.sqrt(v21 + 0.04))
    spec21 = build_spec(None, y21, v21, priors={"mu": pr.Normal(0, 2), "tau": pr.HalfNormal(0.5)})
    rows.append(("exact fit, k = 21 (summary + 4 x 1000 draws)", "ms",
                 1e3 * best_of(lambda: fit_exact(spec21, draws=1000, chains=4, seed=1), rep)))
    rows.append(("exact summary only, k = 21", "ms", 1e3 * best_of(lambda: exact_posterior(spec21).summary(), rep)))

    # k = 100,000
    K = 100_000
    vK = rng.uniform(0.005, 0.05, K)
    yK = rng.normal(0.3, np.sqrt(vK + 0.04))
    specK = build_spec(None, yK, vK, priors={"mu": pr.Normal(0, 2), "tau": pr.HalfNormal(0.5)})
    r = max(1, rep // 2)
    rows.append(("exact summary, k = 100,000 (incl. 100,000 theta)", "ms",
                 1e3 * best_of(lambda: exact_posterior(specK).summary(), r)))
    rows.append(("exact summary, k = 100,000 (mu, tau, theta_new)", "ms",
                 1e3 * best_of(lambda: exact_posterior(specK).summary(theta=False), r)))
    rows.append(("fit_exact, k = 100,000 (4 x 250 draws, no theta draws)", "ms",
                 1e3 * best_of(lambda: fit_exact(specK, draws=250, chains=4, seed=1, theta_draws=False), r)))
    maK = bm.MetaAnalysis(yi=yK, vi=vK, priors={"mu": pr.Normal(0, 2), "tau": pr.HalfNormal(0.5)})
    rows.append(("MetaAnalysis.fit(engine='exact'), k = 100,000 (the defaults)", "ms",
                 1e3 * best_of(lambda: maK.fit(engine="exact", seed=1), r)))

    # 20-prior comparison
    taus = {f"HN({s:.2f})": pr.HalfNormal(s) for s in np.linspace(0.1, 1.0, 10)}
    taus.update({f"HC({s:.2f})": pr.HalfCauchy(s) for s in np.linspace(0.1, 1.0, 10)})
    rows.append(("compare_priors, 20 priors, k = 21", "s",
                 best_of(lambda: bm.compare_priors(yi=y21, vi=v21, tau_priors=taus,
                                                   mu_priors={"N(0,2)": pr.Normal(0, 2)}), rep)))

    # 10,000 simulated meta-analyses at k = 3
    rows.append(("small_k_simulation, 10,000 x k = 3 (1 prior + DL, REML, REML-KH, PM)", "s",
                 best_of(lambda: bm.small_k_simulation(k=[3], tau=[0.3], n_sim=10_000, seed=1, progress=False),
                         max(1, rep // 2))))

    import datetime
    import os
    import platform

    print(f"# bench_exact.py, {datetime.date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores, "
          "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark'.ljust(width)}  {'wall':>10}  {'CPU':>10}")
    print("-" * (width + 24))
    for i, (name, unit, value) in enumerate(rows):
        cpu = CPU[i] * (1e3 if unit == "ms" else 1.0)
        print(f"{name.ljust(width)}  {value:8.1f} {unit:<2} {cpu:8.1f} {unit}")


if __name__ == "__main__":
    main()
