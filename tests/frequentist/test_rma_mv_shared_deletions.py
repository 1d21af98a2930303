"""cooks_distance, dfbetas and rstudent of one rma_mv fit share the deletion refits: each cluster is
refitted once per (fit, cluster=, reestimate=), whichever of them asks first, and the refits are
forgotten with the fit. The numbers are those of a fit that computes its own refits (and those are
checked against metafor in test_rma_mv_influence.py)."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.frequentist.mv import deletion


def _che(n_studies: int = 12, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 5, n_studies)
    study = np.repeat(np.arange(1, n_studies + 1), sizes)
    vi = rng.uniform(0.01, 0.08, study.size)
    yi = 0.3 + rng.normal(0, 0.2, n_studies)[study - 1] + rng.normal(0, 0.1, study.size) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": study, "esid": np.concatenate([np.arange(n) for n in sizes]), "yi": yi, "vi": vi})


def _fit(df: pd.DataFrame):
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)


@pytest.fixture
def counted(monkeypatch) -> list:
    calls: list = []
    real = deletion.refit_without

    def counting(res, keep, reestimate=True):
        calls.append(int((~keep).sum()))
        return real(res, keep, reestimate)

    monkeypatch.setattr(deletion, "refit_without", counting)
    return calls


def _all_three(res, **kw):
    return (bm.cooks_distance(res, **kw), bm.dfbetas(res, **kw), bm.rstudent(res, **kw))


def test_the_three_diagnostics_refit_each_cluster_once(counted):
    df = _che()
    res = _fit(df)
    cd, dfb, rt = _all_three(res, cluster="study")
    assert len(counted) == df["study"].nunique()  # one refit per study, not three
    _all_three(res, cluster="study")
    assert len(counted) == df["study"].nunique()
    # the same numbers as a fit of the same data that computes its own refits
    fresh = _fit(df)
    cd2, dfb2, rt2 = bm.cooks_distance(fresh, cluster="study"), None, None
    deletion._clear_cache()
    dfb2 = bm.dfbetas(fresh, cluster="study")
    deletion._clear_cache()
    rt2 = bm.rstudent(fresh, cluster="study")
    pd.testing.assert_series_equal(cd, cd2)
    pd.testing.assert_frame_equal(dfb, dfb2)
    pd.testing.assert_frame_equal(rt.obs, rt2.obs)
    pd.testing.assert_frame_equal(rt.cluster, rt2.cluster)


def test_another_partition_or_reestimate_is_refitted_on_its_own(counted):
    df = _che()
    res = _fit(df)
    bm.cooks_distance(res, cluster="study")
    n = len(counted)
    bm.cooks_distance(res, cluster=df["study"].to_numpy())  # the same partition given as values: shared
    assert len(counted) == n
    bm.dfbetas(res)  # every effect on its own
    assert len(counted) == n + len(df)
    bm.rstudent(res, cluster="study", reestimate=False)  # held components: a downdate, no refit
    assert len(counted) == n + len(df)
    bm.cooks_distance(res, cluster=(df["study"] > 6).to_numpy())  # two clusters
    assert len(counted) == n + len(df) + 2


def test_the_refits_are_forgotten_with_the_fit():
    res = _fit(_che())
    bm.cooks_distance(res, cluster="study")
    key = id(res)
    assert key in deletion._CACHE
    del res
    gc.collect()
    assert key not in deletion._CACHE


def test_a_fit_whose_fields_were_replaced_is_refitted(counted):
    df = _che()
    res = _fit(df)
    before = bm.cooks_distance(res, cluster="study")
    res.yi = res.yi + 0.5 * (res.X[:, 0] * (np.arange(res.k) == 0))  # the first effect moved (never do this)
    after = bm.cooks_distance(res, cluster="study")
    assert len(counted) == 2 * df["study"].nunique()
    assert not np.allclose(before.to_numpy(), after.to_numpy())
