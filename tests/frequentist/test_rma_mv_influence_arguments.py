"""The rma_mv influence diagnostics refuse what they cannot use, with a typed error naming the argument:
a cluster= that is not a column or not one value per effect, one cluster holding every effect (nothing
left to refit), a reestimate= that is not a bool (the string "no" is true in Python), a bad type= of
hatvalues; and their printouts name what they show."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayesma as bm


@pytest.fixture(scope="module")
def fit():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dat, bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)


DELETING = (bm.cooks_distance, bm.dfbetas, bm.rstudent)


@pytest.mark.parametrize("bad", ["no", "yes", None, 0, 1, "FALSE"])
def test_reestimate_must_be_a_bool(fit, bad):
    _, res = fit
    for fun in DELETING:
        with pytest.raises(bm.ArgumentTypeError, match="reestimate="):
            fun(res, cluster="district", reestimate=bad)
    assert bm.cooks_distance(res, cluster="district", reestimate=np.bool_(False)).shape == (11,)


def test_cluster_must_be_a_column_or_one_value_per_effect(fit):
    dat, res = fit
    for fun in (*DELETING, bm.rstandard):
        with pytest.raises(bm.ArgumentTypeError, match="cluster='district'"):
            fun(res, cluster=dat[["district", "school"]])
        with pytest.raises(bm.ArgumentTypeError, match="write cluster='district'"):
            fun(res, cluster=["district"])
        for bad in (1, {"district": 1}, np.zeros((56, 2))):
            with pytest.raises(bm.ArgumentTypeError, match="cluster= takes a column name"):
                fun(res, cluster=bad)
        with pytest.raises(bm.InputError, match="not a column") as err:
            fun(res, cluster="county")
        assert err.value.column == "county"
        with pytest.raises(bm.InputError, match="56 effects"):
            fun(res, cluster=np.arange(10))


def test_a_cluster_without_data_names_what_to_give(fit):
    dat, _ = fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma_mv(dat["yi"].to_numpy(), dat["vi"].to_numpy())
    with pytest.raises(bm.InputError, match="without data="):
        bm.cooks_distance(res, cluster="district")
    assert bm.cooks_distance(res, cluster=dat["district"].to_numpy(), reestimate=False).shape == (11,)


def test_one_cluster_of_every_effect_cannot_be_deleted(fit):
    _, res = fit
    for fun in DELETING:
        with pytest.raises(bm.InputError, match="one cluster") as err:
            fun(res, cluster=np.ones(res.k))
        assert err.value.column == "cluster"
    # rstandard deletes nothing: its test of all effects together is metafor's (NA: Var(e) is singular)
    one = bm.rstandard(res, cluster=np.ones(res.k))
    assert one.cluster["k"].tolist() == [56] and np.isnan(one.cluster["X2"].iloc[0])


def test_printouts_name_the_diagnostic_and_the_clusters(fit):
    _, res = fit
    cd = bm.cooks_distance(res, cluster="district")
    assert cd.name == "cooks_distance" and cd.index.name == "district"
    assert cd.index.tolist()[:3] == [11, 12, 18]  # the user's ids, sorted, as metafor
    text = repr(bm.rstudent(res, cluster="district"))
    first = text.splitlines()
    assert first[0].startswith("rstudent of an rma_mv fit (k = 56; components re-estimated")
    assert first[1] == "By cluster:" and "X2" in first[2]
    assert "By effect (.obs, 56 rows)" in text
    H = bm.hatvalues(res, type="matrix")
    assert H.index.name == "label" and H.shape == (56, 56)
