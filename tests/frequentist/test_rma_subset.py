"""rma(subset=) and rma_mv(subset=) as metafor's: the studies chosen before fitting (a boolean mask, a boolean
column, 0-based positions); the fit and its printout are the subset's. Reference: metafor 3.8.1
(tests/data/reference/metafor/metafor_printouts.R): rma(yi, vi, data = dat, subset = alloc == "random"),
subset = c(1, 3, 5, 7, 9, 11, 13), a meta-regression on alloc != "random", and rma.mv on year < 1980."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.errors import ArgumentTypeError, InputError

REF = load_json("metafor/metafor_printouts.json")
RTOL = 1e-6


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def _check(res, ref, p=1):
    assert res.k == ref["k"]
    for ours, theirs in (("beta", "beta"), ("se", "se"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"), ("pval", "pval")):
        assert np.ravel(getattr(res, ours)) == pytest.approx(np.ravel(ref[theirs]), rel=RTOL), ours
    assert res.QE == pytest.approx(ref["QE"], rel=RTOL)


@pytest.mark.parametrize("how", ["series", "array", "column", "positions"])
def test_subset_random_allocation_equals_metafor(bcg, how):
    mask = bcg["alloc"] == "random"
    subset = {"series": mask, "array": mask.to_numpy(), "column": "is_random",
              "positions": np.flatnonzero(mask.to_numpy())}[how]
    res = bm.rma("yi", "vi", data=bcg.assign(is_random=mask), subset=subset)
    ref = REF["subset_random"]
    _check(res, ref)
    assert res.tau2 == pytest.approx(ref["tau2"], rel=RTOL) and res.se_tau2 == pytest.approx(ref["se_tau2"], rel=RTOL)
    assert res.I2 == pytest.approx(ref["I2"], rel=RTOL)
    assert repr(res).splitlines()[0] == "Random-Effects Model (k = 7; tau^2 estimator: REML)"


def test_subset_by_index_and_with_moderators_equal_metafor(bcg):
    # metafor's 1-based c(1, 3, ..., 13) are Python's positions 0, 2, ..., 12
    _check(bm.rma("yi", "vi", data=bcg, subset=[0, 2, 4, 6, 8, 10, 12]), REF["subset_index"])
    res = bm.rma("yi", "vi", mods="~ ablat", data=bcg, subset=bcg["alloc"] != "random")
    _check(res, REF["subset_mods"])
    assert res.tau2 == pytest.approx(REF["subset_mods"]["tau2"], rel=RTOL, abs=1e-10)


def test_subset_without_data_cuts_the_arrays(bcg):
    mask = (bcg["alloc"] == "random").to_numpy()
    res = bm.rma(bcg["yi"].to_numpy(), bcg["vi"].to_numpy(), subset=mask)
    _check(res, REF["subset_random"])


def test_rma_mv_subset_equals_metafor():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat, subset=dat["year"] < 1980)
    ref = REF["subset_mv"]
    _check(res, ref)
    assert np.asarray(res.sigma2) == pytest.approx(ref["sigma2"], rel=1e-4)
    # a k x k V is cut in rows and columns
    V = np.diag(dat["vi"].to_numpy())
    res_v = bm.rma_mv("yi", V, random="~ 1 | district/school", data=dat, subset=dat["year"] < 1980)
    assert res_v.beta == pytest.approx(res.beta, rel=1e-9)


def test_bad_subsets_are_typed_errors(bcg):
    with pytest.raises(InputError, match="mask of 3 values but there are 13 studies"):
        bm.rma("yi", "vi", data=bcg, subset=[True, False, True])
    with pytest.raises(InputError, match="not a column of data"):
        bm.rma("yi", "vi", data=bcg, subset="nope")
    with pytest.raises(InputError, match="0..12"):
        bm.rma("yi", "vi", data=bcg, subset=[0, 13])
    with pytest.raises(InputError, match="selects no study"):
        bm.rma("yi", "vi", data=bcg, subset=np.zeros(13, dtype=bool))
    with pytest.raises(ArgumentTypeError):
        bm.rma("yi", "vi", data=bcg, subset=[0.5, 1.5])
    with pytest.raises(InputError, match="index"):
        bm.rma("yi", "vi", data=bcg, subset=pd.Series([True] * 13, index=range(100, 113)))
