"""Time vcalc and rma_mv (the CHE model and a multivariate CS model) as k grows.

Run: python benchmarks/bench_rma_mv.py [--sizes 1000 10000 100000] [--repeats 3]
Prints one row per data size: the median wall time (seconds) of
``V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6)``, of the CHE fit
``bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid")``, of the three-level fit with
independent sampling errors (``rma_mv("yi", "vi", cluster="study")``) and of a multivariate fit
(three outcomes, ``random="~ outcome | study", struct="CS"``, V from ``vcalc(type=outcome, rho=0.5)``),
with the number of likelihood evaluations of the CHE fit. The target: the CHE fit at
k = 100,000 effects in 20,000 clusters (1-10 effects each) in < 5 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import bayesma as bm
from bayesma.frequentist.mv import likelihood


def make_data(k: int, seed: int = 2026) -> pd.DataFrame:
    """Clusters of 1-10 effects (k / 5 clusters), CHE truth sigma2 = (0.05, 0.02), rho = 0.6."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 11, max(k // 5, 2))
    sizes = sizes[np.cumsum(sizes) <= k]
    if sizes.sum() < k:
        sizes = np.append(sizes, k - sizes.sum())
    study = np.repeat(np.arange(len(sizes)), sizes)
    esid = np.concatenate([np.arange(1, s + 1) for s in sizes])
    n = len(study)
    vi = rng.uniform(0.01, 0.1, n)
    shared = rng.normal(size=len(sizes))[study]
    e = np.sqrt(vi) * (np.sqrt(0.6) * shared + np.sqrt(0.4) * rng.normal(size=n))
    x = rng.normal(size=len(sizes))[study]
    y = 0.3 + 0.1 * x + rng.normal(0, np.sqrt(0.05), len(sizes))[study] + rng.normal(0, np.sqrt(0.02), n) + e
    outcome = np.array(["dropout", "misconduct", "recidivism"])[(esid - 1) % 3]
    return pd.DataFrame({"study": study, "esid": esid, "outcome": outcome, "x": x, "vi": vi, "yi": y})


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def count_evaluations(fn) -> int:
    calls = {"n": 0}
    original = likelihood.Layout.evaluate

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    likelihood.Layout.evaluate = counting
    try:
        fn()
    finally:
        likelihood.Layout.evaluate = original
    return calls["n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warm = make_data(200)
    bm.rma_mv("yi", bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=warm), mods="~ x",
              random="~ 1 | study/esid", data=warm)
    header = (f"{'k':>8} {'clusters':>8} {'vcalc':>7} {'CHE fit':>8} {'evals':>6} {'3-level':>8} "
              f"{'CS (3 outcomes)':>16} {'CHE logLik':>14}")
    print(header)
    print("-" * len(header))
    for k in args.sizes:
        df = make_data(k)
        t_v, V = timed(lambda: bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df), args.repeats)
        che = lambda: bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid", data=df)  # noqa: E731
        t_che, res = timed(che, args.repeats)
        n_eval = count_evaluations(che)
        t_3l, _ = timed(lambda: bm.rma_mv("yi", "vi", mods="~ x", cluster="study", data=df), args.repeats)
        Vt = bm.vcalc("vi", cluster="study", type="outcome", obs="esid", rho=[0.6, 0.5], data=df)
        t_cs, _ = timed(lambda: bm.rma_mv("yi", Vt, mods="~ outcome - 1", random="~ outcome | study",
                                          struct="CS", data=df), args.repeats)
        print(f"{len(df):>8} {df['study'].nunique():>8} {t_v:>7.3f} {t_che:>8.3f} {n_eval:>6} {t_3l:>8.3f} "
              f"{t_cs:>16.3f} {res.logLik:>14.4f}")
    print("seconds, median of", args.repeats, "runs; target: CHE fit at k = 100,000 < 5 s")


if __name__ == "__main__":
    main()
