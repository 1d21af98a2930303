"""Time the case-deletion diagnostics and the rank test as k grows, with peak memory.

Run: python benchmarks/bench_diagnostics.py [--quick]
Prints one row per (function, k): median wall time in seconds over repeats and the peak
memory that the call allocated through numpy (tracemalloc), in MB. Every leave-one-out refit
is O(k) (no k x k matrix, no tau² interval that nobody reports), so influence / leave1out /
cumul grow as k² in time and k in memory; rma() alone is O(k); ranktest is O(k log k) above
500 studies (Edgeworth tail) and exact below.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

import bayesma as bm


def measure(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return float(np.median(times)), peak


def main() -> None:
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(2026)
    print(f"{'function':>12} {'k':>8} {'seconds':>9} {'peak MB':>9}")
    sizes = (100, 500) if quick else (100, 500, 1_000, 2_000)
    for k in sizes:
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        res = bm.rma(yi, vi)
        repeats = 3 if k <= 500 else 1
        for name, fn in (("rma", lambda: bm.rma(yi, vi)), ("influence", lambda: bm.influence(res)),
                         ("leave1out", lambda: bm.leave1out(res)), ("cumul", lambda: bm.cumul(res))):
            seconds, peak = measure(fn, repeats)
            print(f"{name:>12} {k:>8} {seconds:>9.3f} {peak:>9.1f}")
    for k in (2_000, 100_000) if quick else (2_000, 10_000, 100_000):
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi))
        seconds, peak = measure(lambda: bm.ranktest(yi, vi), 3)
        print(f"{'ranktest':>12} {k:>8} {seconds:>9.3f} {peak:>9.1f}")


if __name__ == "__main__":
    main()
