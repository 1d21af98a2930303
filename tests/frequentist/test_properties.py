"""Properties every rma fit must have, checked on generated data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import bayesma as bm

METHODS = ["FE", "DL", "REML", "ML", "PM", "PMM", "HS", "HSk", "SJ", "HE", "EB"]

effects = st.integers(min_value=3, max_value=15).flatmap(
    lambda k: st.tuples(
        arrays(float, k, elements=st.floats(-2, 2, allow_nan=False, allow_subnormal=False)),
        arrays(float, k, elements=st.floats(0.005, 1.0, allow_nan=False, allow_subnormal=False)),
    )
)


@settings(max_examples=40, deadline=None)
@given(data=effects, method=st.sampled_from(METHODS), seed=st.integers(0, 2**31 - 1))
def test_invariant_to_order_of_studies(data, method, seed):
    yi, vi = data
    perm = np.random.default_rng(seed).permutation(len(yi))
    a = bm.rma(yi, vi, method=method)
    b = bm.rma(yi[perm], vi[perm], method=method)
    np.testing.assert_allclose(b.beta, a.beta, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b.tau2, a.tau2, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.QE, a.QE, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-6, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(data=effects, method=st.sampled_from(METHODS), shift=st.floats(-5, 5, allow_nan=False))
def test_shift_moves_estimate_by_the_shift(data, method, shift):
    yi, vi = data
    a = bm.rma(yi, vi, method=method)
    b = bm.rma(yi + shift, vi, method=method)
    np.testing.assert_allclose(b.beta[0], a.beta[0] + shift, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(b.tau2, a.tau2, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-5, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(data=effects)
def test_fe_equals_reml_when_tau2_is_zero(data):
    yi, vi = data
    reml = bm.rma(yi, vi, method="REML")
    fe = bm.rma(yi, vi, method="FE")
    if reml.tau2 == 0:
        np.testing.assert_allclose(reml.beta, fe.beta, rtol=1e-12)
        np.testing.assert_allclose(reml.se, fe.se, rtol=1e-12)
        np.testing.assert_allclose(reml.ci_lb, fe.ci_lb, rtol=1e-12)


def test_fe_equals_reml_on_homogeneous_data():
    # Effects closer together than their standard errors imply: REML gives tau2 = 0.
    yi = np.array([0.30, 0.31, 0.29, 0.305])
    vi = np.array([0.04, 0.05, 0.03, 0.06])
    reml, fe = bm.rma(yi, vi, method="REML"), bm.rma(yi, vi, method="FE")
    assert reml.tau2 == 0
    np.testing.assert_allclose(reml.beta, fe.beta, rtol=1e-12)
    np.testing.assert_allclose(reml.se, fe.se, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(data=effects, method=st.sampled_from([m for m in METHODS if m != "FE"]))
def test_adhoc_interval_never_narrower_than_z(data, method):
    yi, vi = data
    z = bm.rma(yi, vi, method=method, test="z")
    adhoc = bm.rma(yi, vi, method=method, test="adhoc")
    assert adhoc.ci_ub[0] - adhoc.ci_lb[0] >= z.ci_ub[0] - z.ci_lb[0] - 1e-12


def test_fe_estimate_is_the_inverse_variance_mean():
    yi = np.array([0.1, 0.5, -0.2])
    vi = np.array([0.1, 0.2, 0.4])
    w = 1 / vi
    res = bm.rma(yi, vi, method="FE")
    assert res.beta[0] == pytest.approx(np.sum(w * yi) / w.sum(), rel=1e-14)
    assert res.se[0] == pytest.approx(np.sqrt(1 / w.sum()), rel=1e-14)
    assert res.QE == pytest.approx(np.sum(w * (yi - res.beta[0]) ** 2), rel=1e-12)


def test_summary_and_repr():
    dat = pd.DataFrame({"yi": [0.1, 0.5, -0.2, 0.3], "vi": [0.1, 0.2, 0.4, 0.05], "x": [1.0, 2.0, 3.0, 5.0]})
    res = bm.rma("yi", "vi", data=dat, mods="~ x")
    table = res.summary()
    assert list(table.index) == ["intrcpt", "x"]
    assert list(table.columns) == ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub"]
    text = repr(res)
    assert "Mixed-Effects Model (k = 4; tau^2 estimator: REML)" in text
    assert "Test of Moderators" in text
    assert "Random-Effects Model" in repr(bm.rma("yi", "vi", data=dat))


def test_level_in_percent_equals_fraction():
    yi, vi = np.array([0.1, 0.5, -0.2, 0.3]), np.array([0.1, 0.2, 0.4, 0.05])
    a, b = bm.rma(yi, vi, level=95), bm.rma(yi, vi, level=0.95)
    assert a.ci_lb[0] == b.ci_lb[0]
    c = bm.rma(yi, vi, level=0.9)
    assert c.ci_ub[0] - c.ci_lb[0] < a.ci_ub[0] - a.ci_lb[0]


def test_reml_where_fisher_scoring_fails_maximizes_the_likelihood():
    # metafor 3.8.1 stops with "Fisher scoring algorithm did not converge" on these data.
    yi, vi = np.array([0.0, 0, 0, 1, 0]), np.array([1, 1, 1, 0.125, 1])
    with pytest.warns(UserWarning, match="did not converge"):
        res = bm.rma(yi, vi, method="REML")
    from bayesma.frequentist.tau2 import loglik as _loglik

    X = np.ones((5, 1))
    grid = np.linspace(0, 2, 20001)
    best = grid[np.argmax([_loglik("REML", yi, vi, X, t) for t in grid])]
    assert res.tau2 == pytest.approx(best, abs=2e-4)
    assert res.tau2 > 0


def test_bad_method_and_test():
    with pytest.raises(ValueError, match="unknown method"):
        bm.rma([0.1, 0.2], [0.1, 0.1], method="XX")
    with pytest.raises(ValueError, match="test must be"):
        bm.rma([0.1, 0.2], [0.1, 0.1], test="wald")


def test_projection_algebra_equals_dense_matrices():
    # rma() computes traces and quadratic forms of P = W - WX(X'WX)^-1X'W without forming P;
    # check each against the dense k x k matrices.
    from bayesma.frequentist._common import _Projection

    rng = np.random.default_rng(3)
    k = 12
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.normal(size=k)])
    w = rng.uniform(0.5, 5, k)
    d = rng.uniform(0.01, 0.2, k)
    y = rng.normal(size=k)
    W = np.diag(w)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    D = np.diag(d)
    proj = _Projection(X, w)
    assert proj.quad(y) == pytest.approx(y @ P @ y, rel=1e-12)
    np.testing.assert_allclose(proj.apply(y), P @ y, rtol=1e-12, atol=1e-14)
    assert proj.trace() == pytest.approx(np.trace(P), rel=1e-12)
    assert proj.trace_dpp() == pytest.approx(np.sum(P * P), rel=1e-12)
    assert proj.trace_dpp(d) == pytest.approx(np.sum((P @ D) * P), rel=1e-12)
    assert proj.trace_pdpd(d) == pytest.approx(np.sum((P @ D) * (P @ D).T), rel=1e-12)


def test_single_study_as_metafor():
    # R 4.2.2, metafor 3.8.1: rma(0.3, 0.04) gives beta 0.3, se 0.2, tau2 0 (se.tau2 NA),
    # QE 0, QEp 1, I2 0, H2 1, and predict() pi.lb/pi.ub equal to ci.lb/ci.ub (-0.0920, 0.6920).
    with pytest.warns(UserWarning, match="single study"):
        res = bm.rma([0.3], [0.04])
    assert (res.beta[0], res.se[0], res.tau2, res.QE, res.QEp, res.I2, res.H2) == (0.3, 0.2, 0.0, 0.0, 1.0, 0.0, 1.0)
    assert res.se_tau2 is None and res.tau2_ci is None
    assert res.pi_lb == pytest.approx(-0.0919928, abs=1e-7) and res.pi_ub == pytest.approx(res.ci_ub[0])
    # issue 9: metafor 3.8.1 does not report NA here: it warns 'Setting argument test="z" since k=1.'
    # and returns the z results (tests/data/reference/metafor/metafor_hard_cases.json, k1_*)
    with pytest.warns(UserWarning, match="test='z'"):
        knha = bm.rma([0.3], [0.04], test="knha")
    assert knha.test == "z" and knha.dfs is None
    assert knha.QM == pytest.approx(2.25) and knha.ci_lb[0] == pytest.approx(res.ci_lb[0])


@pytest.mark.parametrize(
    "method,expected",
    [  # R 4.2.2, metafor 3.8.1: rma(yi, vi, mods = ~ factor(alloc) - 1, data = dat.bcg (RR), method = m)
        ("REML", (0.361502855889479, 132.367638262708, 15.9841527659186,
                  [-0.517955810531561, -0.965774034173421, -0.428917662876644])),
        ("DL", (0.559568750127703, 132.367638262708, 11.5618350100844,
                [-0.512530155547726, -0.990525495066523, -0.408299342459161])),
        ("PM", (0.323636899716836, 132.367638262708, 17.2728447018645,
                [-0.519686950842588, -0.958404279492557, -0.433880333311126])),
    ],
)
def test_cell_means_model_without_intercept_matches_metafor(method, expected):
    case = next(c for c in __import__("conftest").load_cases() if c["name"] == "bcg_subgroup_alloc_FE")
    res = bm.rma("yi", "vi", data=pd.DataFrame(case["input"]), mods="~ factor(alloc) - 1", method=method)
    tau2, QE, QM, beta = expected
    np.testing.assert_allclose([res.tau2, res.QE, res.QM], [tau2, QE, QM], rtol=1e-6)
    np.testing.assert_allclose(res.beta, beta, rtol=1e-6)


def test_regression_through_the_origin_uses_the_uncentred_effects():
    # metafor centres yi before computing QE and tau² even without an intercept, which changes
    # the model (it reports QE = 16.12 here); QE must be the weighted residual sum of squares.
    yi = np.array([0.5, 0.9, 1.6, 2.1, 2.4])
    vi = np.array([0.1, 0.2, 0.1, 0.3, 0.2])
    x = np.arange(1.0, 6.0)
    res = bm.rma(yi, vi, mods=pd.DataFrame({"x": x}).assign(x=x), method="FE")  # with intercept: sanity
    assert res.coef_names == ["intrcpt", "x"]
    fe = bm.rma("y", "v", data=pd.DataFrame({"y": yi, "v": vi, "x": x}), mods="~ x - 1", method="FE")
    b = np.sum(x * yi / vi) / np.sum(x * x / vi)
    assert fe.QE == pytest.approx(np.sum((yi - b * x) ** 2 / vi), rel=1e-12)
    dl = bm.rma("y", "v", data=pd.DataFrame({"y": yi, "v": vi, "x": x}), mods="~ x - 1", method="DL")
    assert dl.tau2 == 0.0  # QE < k - p: no excess heterogeneity


def test_empirical_bayes_where_the_iterations_fail_solves_its_estimating_equation():
    # metafor 3.8.1 stops ("did not converge") on these data; EB's fixed point Q(tau²) = k - p
    # is the Paule-Mandel equation, whose root metafor gives as 0.05580783.
    yi, vi = np.array([1.0, 1, 1, 1, 0, 1]), np.array([1, 1, 1, 1, 0.0625, 0.0625])
    with pytest.warns(UserWarning, match="did not converge"):
        res = bm.rma(yi, vi, method="EB")
    assert res.tau2 == pytest.approx(0.05580783, rel=1e-6)
