"""Time and peak memory of the checks that read every study at every posterior draw.

Run: ``python benchmarks/bench_pointwise.py [--ks 1000 10000 100000]``. Prints one table.

Each k is a random-effects model on simulated ``yi`` / ``vi`` fitted by the exact engine's default
call (``MetaAnalysis(yi=..., vi=...).fit(engine="exact", seed=1)``: 4 chains x 1000 draws of mu,
tau and theta_new); then, one after another in the same process, each call below is timed once
(wall seconds) with its peak memory traced by :mod:`tracemalloc` (MiB above what was held
before the call; tracemalloc sees NumPy's buffers):

* ``fit``: the exact fit itself (for scale);
* ``log_likelihood()``: the (chain, draw, k) array the user asked for, draws x k by contract;
* ``loo()`` and ``waic()``: PSIS-LOO and WAIC (ArviZ's, computed over chunks of studies);
* ``ppc()``: the posterior predictive check (its ``y_rep``, draws x k, is part of the result);
* ``compare_models``: two fits (the default prior and a wider one) ranked by LOO.

One draws x k float array at 4,000 draws is 30.5 MiB per 1,000 studies (3 GiB at k = 100,000).
A call whose peak stays near a few chunks (see ``bayesma.posterior.checks.CHUNK_ELEMENTS``) holds
no draws x k array.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def measure(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one call, traced."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    del out
    return dt, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="numbers of studies")
    parser.add_argument("--skip", nargs="*", default=[], help="calls not to run (e.g. log_likelihood ppc)")
    args = parser.parse_args()

    import bayesma as bm

    warnings.simplefilter("ignore")
    # warm-up: imports (ArviZ, xarray) and caches outside the table
    small = bm.MetaAnalysis(yi=[0.1, 0.3, 0.2, 0.5], vi=[0.02, 0.03, 0.04, 0.05]).fit(engine="exact", seed=1)
    small.loo(), small.waic(), small.ppc()
    bm.compare_models([small, small], names=["a", "b"])

    print(f"# bench_pointwise.py, {datetime.datetime.now().isoformat(timespec='minutes')}; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"{'function':<18} {'k':>9} {'seconds':>9} {'peak MiB':>10}")
    print("-" * 49)
    for k in args.ks:
        rng = np.random.default_rng(k)
        vi = rng.uniform(0.01, 0.1, k)
        yi = rng.normal(0.3, np.sqrt(vi + 0.05))
        calls: dict[str, Callable[[], Any]] = {}
        holder: dict[str, Any] = {}

        def fit(yi: np.ndarray = yi, vi: np.ndarray = vi) -> Any:
            holder["post"] = bm.MetaAnalysis(yi=yi, vi=vi).fit(engine="exact", seed=1)
            return None

        calls["fit"] = fit
        calls["log_likelihood()"] = lambda: holder["post"].log_likelihood()
        calls["loo()"] = lambda: holder["post"].loo()
        calls["waic()"] = lambda: holder["post"].waic()
        calls["ppc()"] = lambda: holder["post"].ppc()

        def compare(yi: np.ndarray = yi, vi: np.ndarray = vi) -> Any:
            wide = bm.MetaAnalysis(yi=yi, vi=vi, priors={"mu": "normal(0, 10)", "tau": "halfcauchy(1)"})
            return bm.compare_models([holder["post"], wide.fit(engine="exact", seed=1)], names=["default", "wide"])

        calls["compare_models"] = compare
        for name, fn in calls.items():
            if name.rstrip("()") in args.skip or name in args.skip:
                continue
            dt, peak = measure(fn)
            print(f"{name:<18} {k:>9,} {dt:>9.2f} {peak:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
