"""The exact engine of the Bayesian binomial- and Poisson-normal models (bayesma.exact.counts).

Run: python benchmarks/bench_counts.py

Wall time (median of 3 after a warm-up) of ``exact_posterior(model)`` (the integration) and of its
``summary()`` (mu, tau, theta_new and every theta[label]) for
1. dat.bcg (k = 13, OR, fixed baselines, default priors);
2. simulated trials with k = 100 (OR, group sizes 20 to 400) and k = 100 proportions (PLO).
The k one-dimensional integrals at each of the 2-D grid's nodes are most of the time, so it grows
linearly in k.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

import bayesma as bm


def _median_time(f, n: int = 3) -> float:
    f()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _tables(k: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(20, 400, k), rng.integers(20, 400, k)
    theta, alpha = rng.normal(-0.4, 0.3, k), rng.normal(-2.0, 0.7, k)
    return {"ai": rng.binomial(n1, 1 / (1 + np.exp(-(alpha + theta / 2)))), "n1i": n1,
            "ci": rng.binomial(n2, 1 / (1 + np.exp(-(alpha - theta / 2)))), "n2i": n2}


def _proportions(k: int, seed: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, k)
    return {"xi": rng.binomial(n, 1 / (1 + np.exp(-rng.normal(-1.5, 0.5, k)))), "ni": n}


def main() -> None:
    warnings.simplefilter("ignore")
    bcg = bm.load_dataset("dat.bcg")
    models = {
        "dat.bcg OR (k = 13)": bm.MetaAnalysis(bcg, ai="tpos", bi="tneg", ci="cpos", di="cneg", measure="OR",
                                               likelihood="binomial"),
        "simulated OR (k = 100)": bm.MetaAnalysis(**_tables(100), measure="OR", likelihood="binomial"),
        "simulated PLO (k = 100)": bm.MetaAnalysis(**_proportions(100), measure="PLO", likelihood="binomial"),
    }
    print(f"{'model':<26} {'integrate s':>12} {'summary s':>10} {'mu median':>10} {'tau median':>11}")
    for name, model in models.items():
        fit = _median_time(lambda model=model: bm.exact.exact_posterior(model))
        summ = _median_time(lambda model=model: bm.exact.exact_posterior(model).summary()) - fit
        s = bm.exact.exact_posterior(model).summary(theta=False)
        print(f"{name:<26} {fit:>12.2f} {summ:>10.2f} {s.loc['mu', 'median']:>10.4f} {s.loc['tau', 'median']:>11.4f}")


if __name__ == "__main__":
    main()
