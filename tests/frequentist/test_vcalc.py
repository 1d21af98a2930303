"""vcalc() and blsplit(): metafor's sampling covariance matrices, exact, and the BlockDiag class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json
from scipy import sparse

import bayesma as bm
from bayesma.frequentist.mv.blocks import BlockDiag

CASES = [c for f in ("metafor/metafor_cases_v3.json", "metafor/metafor_mv_more.json") for c in load_json(f)["cases"]
         if c["kind"] == "vcalc"]

CALLS = {
    "vcalc_assink_obs": lambda df: bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df),
    "vcalc_berkey_rvars": lambda df: bm.vcalc(1, cluster="trial", rvars=["v1i", "v2i"], data=df),
    "vcalc_ishak_time_phi": lambda df: bm.vcalc("vi", cluster="study", time1="time", phi=0.97, data=df),
    "vcalc_seed_type": lambda df: bm.vcalc("vi", cluster="study", type="outcome", rho=0.5, data=df),
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_vcalc_equals_metafor(case):
    df = pd.DataFrame(case["input"])
    V = CALLS[case["name"]](df)
    expect = np.array(case["expect"]["V"], dtype=float)
    np.testing.assert_allclose(V.toarray(), expect, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(V.tocsr().toarray(), expect, rtol=1e-12, atol=1e-15)
    assert isinstance(V.tocsr(), sparse.csr_matrix)
    np.testing.assert_allclose(V.diagonal(), np.diag(expect), rtol=1e-15)


def test_all_cases_have_a_call():
    assert {c["name"] for c in CASES} <= set(CALLS)


def test_rows_stay_in_data_order_and_blsplit_returns_the_blocks():
    df = pd.DataFrame({"study": ["b", "a", "b", "a", "c"], "esid": [1, 1, 2, 2, 1],
                       "vi": [0.04, 0.01, 0.09, 0.16, 0.25]})
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    dense = V.toarray()
    assert dense[0, 2] == pytest.approx(0.5 * 0.2 * 0.3) and dense[1, 3] == pytest.approx(0.5 * 0.1 * 0.4)
    assert dense[0, 1] == 0 and dense[4, 4] == 0.25
    assert list(V.clusters) == ["b", "a", "c"]  # order of first appearance, as R's unique()
    parts = bm.blsplit(V, "study", data=df)
    assert list(parts) == ["b", "a", "c"]
    np.testing.assert_allclose(parts["a"], dense[np.ix_([1, 3], [1, 3])])
    np.testing.assert_allclose(bm.blsplit(dense, df["study"], sort=True)["a"], parts["a"])
    for blk, rows in zip(V.blocks, V.rows):
        np.testing.assert_array_equal(blk, dense[np.ix_(rows, rows)])


def test_matmul_and_subset_equal_dense_algebra():
    rng = np.random.default_rng(0)
    k = 60
    cl = rng.integers(0, 15, k)
    V = bm.vcalc(rng.uniform(0.01, 0.1, k), cluster=cl, obs=np.arange(k), rho=0.4)
    x = rng.normal(size=(k, 3))
    np.testing.assert_allclose(V @ x, V.toarray() @ x, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(V @ x[:, 0], V.toarray() @ x[:, 0], rtol=1e-12, atol=1e-15)
    keep = rng.random(k) > 0.3
    np.testing.assert_allclose(V.subset(keep).toarray(), V.toarray()[np.ix_(keep, keep)])


def test_no_obs_means_correlation_one_and_type_and_obs_take_two_rhos():
    V = bm.vcalc([1.0, 4.0], cluster=[1, 1])
    np.testing.assert_allclose(V.toarray(), [[1, 2], [2, 4]])
    W = bm.vcalc([1.0, 1.0, 1.0], cluster=[1, 1, 1], type=["x", "x", "y"], obs=[1, 2, 3], rho=[0.6, 0.2])
    np.testing.assert_allclose(W.toarray(), [[1, 0.6, 0.2], [0.6, 1, 0.2], [0.2, 0.2, 1]])
    R = pd.DataFrame([[1, 0.3], [0.3, 1]], index=["x", "y"], columns=["x", "y"])
    U = bm.vcalc([1.0, 1.0], cluster=[1, 1], type=["y", "x"], rho=R)
    assert U.toarray()[0, 1] == pytest.approx(0.3)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="rho"):
        bm.vcalc([1.0, 1.0], cluster=[1, 1], obs=[1, 2])
    with pytest.raises(ValueError, match="phi"):
        bm.vcalc([1.0, 1.0], cluster=[1, 1], time1=[1, 2])
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        bm.vcalc([1.0, 1.0], cluster=[1, 1], obs=[1, 2], rho=1.5)
    with pytest.raises(ValueError, match="missing value in row 2"):
        bm.vcalc([1.0, 1.0], cluster=[1, None], obs=[1, 2], rho=0.5)
    with pytest.raises(ValueError, match="has 3 values"):
        bm.vcalc([1.0, 1.0, 1.0], cluster=[1, 1], obs=[1, 2], rho=0.5)
    with pytest.warns(UserWarning, match="not positive definite in cluster 1"):
        bm.vcalc([1.0, 1.0, 1.0], cluster=[1, 1, 1], obs=[1, 2, 3],
                 rho=pd.DataFrame(np.array([[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1]]), index=[1, 2, 3],
                                  columns=[1, 2, 3]))


def test_blockdiag_checks_its_rows():
    with pytest.raises(ValueError, match="cover"):
        BlockDiag([[[1.0]], [[2.0]]], rows=[[0], [0]])
    with pytest.raises(ValueError, match="shape"):
        BlockDiag([[[1.0]]], rows=[[0, 1]])
    assert "blocks=2" in repr(BlockDiag([[[1.0]], [[2.0]]], rows=[[1], [0]]))


def test_three_level_marginal_vcov_is_v_plus_zgz():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    M = res.marginal_vcov().toarray()
    s1, s2 = res.sigma2
    cl = dat["district"].to_numpy()
    expect = np.diag(dat["vi"].to_numpy() + s2) + s1 * (cl[:, None] == cl[None, :])
    np.testing.assert_allclose(M, expect, rtol=1e-14)
    assert [str(c) for c in res.cluster_ids] == [str(c) for c in cl]
