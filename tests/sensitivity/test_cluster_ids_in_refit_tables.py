"""The Bayesian leave-one-cluster-out and cumulative tables name the clusters by the user's ids, of the
user's type, as the frequentist ``cluster=`` diagnostics of rma_mv fits (and metafor's) do: a study
numbered 11 is the row ``11``, not ``"11"``; text ids stay text."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)", "tau_within": "halfnormal(0.5)"}


def _data(ids: list) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"study": np.repeat(ids, 2), "yi": rng.normal(0.3, 0.2, 2 * len(ids)),
                         "vi": rng.uniform(0.01, 0.05, 2 * len(ids))})


def _quiet(fun, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fun(*args, **kw)


@pytest.mark.parametrize("ids", [[3, 7, 11, 20, 41], ["b", "a", "d", "c", "e"]], ids=["numbers", "text"])
def test_bayesian_and_frequentist_cluster_tables_share_the_ids(ids):
    df = _data(ids)
    loo = _quiet(bm.leave_one_out, df, "yi", "vi", cluster="study", priors=PRIORS, engine="exact", seed=1)
    cum = _quiet(bm.cumulative, df, "yi", "vi", cluster="study", priors=PRIORS, engine="exact", seed=1)
    res = _quiet(bm.rma_mv, "yi", "vi", random="~ 1 | study", data=df.assign(esid=np.arange(len(df))))
    cd = bm.cooks_distance(res, cluster="study")
    assert list(loo.table.index) == ids == list(cum.table.index)  # the data's order (cumulative: no order=)
    assert sorted(loo.table.index) == list(cd.index)  # the frequentist table sorts them, as metafor
    for table in (loo.table, cum.table, cd):
        assert {type(v) for v in table.index} <= {type(ids[0]), np.int64}
        assert pd.api.types.is_integer_dtype(table.index) == isinstance(ids[0], int)
    assert loo.table.loc[ids[2], "k"] == len(df) - 2  # look-ups by the user's id
    assert "41" in repr(loo) or "e" in repr(loo)


def test_an_array_of_cluster_ids_keeps_its_type():
    df = _data([10, 20, 30, 40])
    loo = _quiet(bm.leave_one_out, df, "yi", "vi", cluster=df["study"].to_numpy(), priors=PRIORS,
                 engine="exact", seed=1)
    assert list(loo.table.index) == [10, 20, 30, 40] and pd.api.types.is_integer_dtype(loo.table.index)
