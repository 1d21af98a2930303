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


@pytest.mark.parametrize("link", ["log", "identity"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_location_scale_peak_memory_is_linear_in_k(method, link):
    # the Newton steps of the scale model used the k x k projection P (and P∘P): 92 MB at
    # k = 2,000; the O(k q p²) form needs about 1 MB
    dat = _data(2_000)
    dat["z"] = np.abs(dat["x"])
    bm.rma("yi", "vi", data=dat.head(50), scale="~ z", method=method, link=link)  # lazy imports
    peak = _peak_mb(lambda: bm.rma("yi", "vi", data=dat, mods="~ x", scale="~ z", method=method,
                                   link=link))
    assert peak < 16, peak  # one 2,000 x 2,000 float matrix alone is 32 MB


def _tes_data(k: int, n_sig: int) -> pd.DataFrame:
    # n_sig studies with z = 3 (significant at alpha = 0.05), the rest with z = 0.5
    vi = np.full(k, 0.04)
    return pd.DataFrame({"yi": np.where(np.arange(k) < n_sig, 3.0, 0.5) * 0.2, "vi": vi})


@pytest.mark.parametrize(("k", "n_sig", "tes_alternative"), [
    (19, 3, "two.sided"), (20, 3, "two.sided"), (30, 25, "greater"), (30, 20, "greater"),
    (25, 2, "less"), (40, 3, "less"), (1_000, 999, "greater"), (1_000, 997, "greater"),
    (3_000, 40, "greater"),
])
def test_tes_chooses_the_exact_test_by_metafors_count_of_outcomes(k, n_sig, tes_alternative):
    # metafor: the exact test when sum(choose(k, j)) over the outcomes at least as extreme as O
    # is <= 10^6. Summing exact big integers was O(k³) (0.5 s at k = 4,000); the count here is
    # the exact integer sum from the definition (limits 10^6 and 10^6 + 1 at the last two rows)
    from math import comb

    js = {"two.sided": range(0, k + 1), "greater": range(n_sig, k + 1),
          "less": range(0, n_sig + 1)}[tes_alternative]
    expected = "exact" if sum(comb(k, j) for j in js) <= 10**6 else "chi2"
    res = bm.tes("yi", "vi", data=_tes_data(k, n_sig), tes_alternative=tes_alternative, find_lim=False)
    assert res.O == n_sig
    assert res.test == expected
