"""Time the case-deletion diagnostics and the rank test as k grows, with peak memory.

Run: python benchmarks/bench_diagnostics.py [--quick] [--memory]
Prints one row per (function, k): median wall time in seconds over repeats, the CPU seconds of
that run (the machine may be shared: wall above CPU means waiting for a core) and the peak
memory that the call allocated (tracemalloc), in MB. ``--memory`` adds one traced run of
influence / leave1out / cumul at k = 10,000 (minutes): linear memory means a few MB there
(a k x k array would be 800 MB, and keeping every refit's k weights as much). Every leave-one-out refit
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


def measure(fn, repeats: int, traced: bool = True) -> tuple[float, float, float]:
    """Median wall seconds, the CPU seconds of the median run, and the traced peak MB."""
    times = []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    times.sort()
    peak = np.nan
    if traced:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    wall, cpu = times[len(times) // 2]
    return wall, cpu, peak


def traced_once(fn) -> tuple[float, float, float]:
    """One run under tracemalloc: wall and CPU seconds (slowed by tracing) and peak MB."""
    tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return wall, cpu, peak


def main() -> None:
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(2026)
    import datetime
    import os
    import platform

    print(f"# bench_diagnostics.py, {datetime.date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores, "
          "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    print(f"{'function':>12} {'k':>8} {'seconds':>9} {'CPU s':>9} {'peak MB':>9}")
    sizes = (100, 500) if quick else (100, 500, 1_000, 2_000)
    for k in sizes:
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        res = bm.rma(yi, vi)
        repeats = 3 if k <= 500 else 1
        for name, fn in (("rma", lambda: bm.rma(yi, vi)), ("influence", lambda: bm.influence(res)),
                         ("leave1out", lambda: bm.leave1out(res)), ("cumul", lambda: bm.cumul(res))):
            seconds, cpu, peak = measure(fn, repeats)
            print(f"{name:>12} {k:>8} {seconds:>9.3f} {cpu:>9.3f} {peak:>9.1f}")
    for k in (2_000, 100_000) if quick else (2_000, 10_000, 100_000):
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi))
        seconds, cpu, peak = measure(lambda: bm.ranktest(yi, vi), 3)
        print(f"{'ranktest':>12} {k:>8} {seconds:>9.3f} {cpu:>9.3f} {peak:>9.1f}")
    if "--memory" in sys.argv:
        k = 10_000
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        res = bm.rma(yi, vi)
        for name, fn in (("influence", lambda: bm.influence(res)), ("leave1out", lambda: bm.leave1out(res)),
                         ("cumul", lambda: bm.cumul(res))):
            seconds, cpu, peak = traced_once(fn)
            print(f"{name:>12} {k:>8} {seconds:>9.3f} {cpu:>9.3f} {peak:>9.1f}   (one traced run)")


if __name__ == "__main__":
    main()
