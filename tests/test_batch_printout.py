"""fit_many's printout writes its heterogeneity p-value (Q_p) with the p-value formatter: ``<.0001`` where
rounding to four decimals would show 0.0 (the random-allocation BCG trials: Q = 110.2 on 6 df)."""

from __future__ import annotations

import warnings

import bayesma as bm


def test_fit_many_prints_q_p_as_a_p_value():
    bcg = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.fit_many(bcg, "alloc", "yi", "vi", engine="exact", seed=1)
    assert res.groups.loc["random", "Q_p"] < 1e-4
    row = next(line for line in repr(res).splitlines() if line.startswith("random"))
    assert row.split()[5] == "<.0001"
    header = next(line for line in repr(res).splitlines() if line.strip().startswith("k "))
    assert header.split()[4] == "Q_p"
