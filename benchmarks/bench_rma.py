"""Time bm.rma() per estimator at k = 21, 1,000 and 100,000 studies.

Run: python benchmarks/bench_rma.py
Prints one row per (k, method): median wall time over repeats in milliseconds.
rma() never forms a k x k matrix (see frequentist._Projection), so the cost grows linearly in k.
"""

from __future__ import annotations

import time

import numpy as np

import bayesma as bm

METHODS = ["FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"]


def time_call(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(2026)
    bm.rma([0.1, 0.2, 0.3], [0.1, 0.1, 0.1])  # warm imports
    print(f"{'k':>8} {'method':>6} {'ms':>10} {'tau2':>8}")
    for k, repeats in ((21, 50), (1_000, 20), (100_000, 3)):
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        for method in METHODS:
            seconds = time_call(lambda: bm.rma(yi, vi, method=method), repeats)
            tau2 = bm.rma(yi, vi, method=method).tau2
            print(f"{k:>8} {method:>6} {1000 * seconds:>10.2f} {tau2:>8.4f}")


if __name__ == "__main__":
    main()
