"""Memory of the frequentist toolbox grows linearly in k: ``rma`` forms no k x k matrix at any
k (any estimator, with moderators, Knapp-Hartung), and ``leave1out`` / ``cumul`` keep only the
numbers of each refit (keeping every refit's k weights was k² memory: 800 MB at k = 10,000).
Peak memory is traced with tracemalloc (the timings are in benchmarks/bench_diagnostics.py)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

import bayesma as bm


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _data(k: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, k)
    return pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + 0.05)), "vi": vi, "x": rng.normal(size=k)})


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"])
def test_rma_peak_memory_is_linear_in_k(method):
    # k = 5,000: one k x k float matrix alone would be 200 MB; the O(k p) path needs about 1 MB
    dat = _data(5_000)
    repr(bm.rma("yi", "vi", data=dat.head(50), method=method))  # lazy imports outside the trace
    for kwargs in ({}, {"mods": "~ x", "test": "knha"}):
        peak = _peak_mb(lambda: repr(bm.rma("yi", "vi", data=dat, method=method, **kwargs)))  # noqa: B023
        assert peak < 20, (method, kwargs, peak)


@pytest.mark.parametrize("step", [bm.leave1out, bm.cumul])
def test_leave1out_and_cumul_do_not_keep_every_refit(step):
    # k = 200: keeping every refit (each with its 200 weights) peaked at 0.6-0.8 MB; one refit
    # at a time peaks near 0.1 MB (0.16 MB at k = 400, where keeping them was 1.5-2.2 MB)
    dat = _data(200)
    step(bm.rma("yi", "vi", data=dat.head(5)))  # lazy imports outside the trace
    res = bm.rma("yi", "vi", data=dat)
    peak = _peak_mb(lambda: step(res))
    assert peak < 0.4, peak
