"""Time bm.permutest: exact sign-flip tests as k grows, and random row permutations.

Run: python benchmarks/bench_permutest.py
Prints one row per case: k, estimator, number of permuted data sets, seconds (median of 3).
The refits run in batches of 2,048 data sets on the tau² engine.
"""

from __future__ import annotations

import time

import numpy as np

import bayesma as bm


def main() -> None:
    rng = np.random.default_rng(1)
    print(f"{'k':>4} {'method':>6} {'kind':>12} {'iter':>9} {'seconds':>8}")
    for k, method in ((13, "REML"), (16, "DL"), (16, "REML"), (20, "DL"), (20, "REML")):
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.2, np.sqrt(vi + 0.02))
        res = bm.rma(yi, vi, method=method)
        times = []
        for _ in range(1 if k == 20 else 3):
            start = time.perf_counter()
            pt = bm.permutest(res, exact=True)
            times.append(time.perf_counter() - start)
        print(f"{k:>4} {method:>6} {'sign flips':>12} {pt.iter:>9} {np.median(times):>8.2f}")
    k = 40
    vi = rng.uniform(0.01, 0.1, k)
    x = rng.normal(size=k)
    yi = rng.normal(0.2 + 0.1 * x, np.sqrt(vi + 0.02))
    res = bm.rma(yi, vi, mods=x[:, None])
    start = time.perf_counter()
    pt = bm.permutest(res, iter=10_000, seed=1)
    print(f"{k:>4} {'REML':>6} {'rows':>12} {pt.iter:>9} {time.perf_counter() - start:>8.2f}")


if __name__ == "__main__":
    main()
