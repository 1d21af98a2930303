"""rma_mv(): three-level meta-analysis against metafor's rma.mv, and independent checks."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases
from scipy.optimize import minimize

import bayesma as bm
from bayesma.frequentist.mv import _State

_LOG2PI = float(np.log(2 * np.pi))


def restricted_loglik_dense(yi: np.ndarray, vi: np.ndarray, cluster: Any, sigma2: Any,
                            X: np.ndarray | None = None, method: str = "REML") -> float:
    """The (restricted) log likelihood with dense k x k matrices: a slow check of :func:`rma_mv`.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances.
    cluster : array_like
        Cluster of each effect.
    sigma2 : array_like
        ``[between clusters, within clusters]``.
    X : numpy.ndarray, optional
        Design matrix (default: intercept only).
    method : {"REML", "ML"}

    Examples
    --------
    >>> round(restricted_loglik_dense([0.1, 0.3, 0.2], [0.01, 0.02, 0.01], [1, 1, 2], [0.01, 0.01]), 6)
    1.283705
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = len(y)
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    p = X.shape[1]
    cl = np.asarray(cluster)
    Z = (cl[:, None] == cl[None, :]).astype(float)
    V = np.diag(v) + sigma2[0] * Z + sigma2[1] * np.eye(k)
    W = np.linalg.inv(V)
    XtWX = X.T @ W @ X
    beta = np.linalg.solve(XtWX, X.T @ W @ y)
    e = y - X @ beta
    rss = float(e @ W @ e)
    logdetV = float(np.linalg.slogdet(V)[1])
    if method == "ML":
        return -0.5 * k * _LOG2PI - 0.5 * logdetV - 0.5 * rss
    return (-0.5 * (k - p) * _LOG2PI + 0.5 * float(np.linalg.slogdet(X.T @ X)[1]) - 0.5 * logdetV
            - 0.5 * float(np.linalg.slogdet(XtWX)[1]) - 0.5 * rss)

RTOL = 1e-6

CASES = [c for c in load_cases() if c["kind"] == "rma.mv"]
FIELDS = ["beta", "se", "ci_lb", "ci_ub", "sigma2", "QE", "logLik"]


def _cluster_and_id(case):
    outer, inner = case["random"].split("|")[1].strip().split("/")
    return outer.strip(), inner.strip()


@pytest.fixture(scope="module")
def case_fits():
    fits = {}
    for case in CASES:
        data = pd.DataFrame(case["input"])
        outer, inner = _cluster_and_id(case)
        if outer not in data.columns:  # the reference file names the columns study (cluster) and id
            outer, inner = "study", "id"
        fits[case["name"]] = bm.rma_mv("yi", "vi", data=data, cluster=outer, labels=inner,
                                       method=case["method"], mods=case.get("mods"))
    return fits


def test_there_are_rma_mv_cases():
    assert CASES, "no rma.mv case in the reference file"


@pytest.mark.parametrize(
    "case,key",
    [pytest.param(c, k, id=f"{c['name']}-{k}") for c in CASES for k in c["expect"]],
)
def test_matches_metafor(case_fits, case, key):
    res = case_fits[case["name"]]
    np.testing.assert_allclose(np.atleast_1d(getattr(res, key)), np.atleast_1d(case["expect"][key]),
                               rtol=RTOL, err_msg=f"{case['name']}: {key}")


def test_reference_case_fields_all_checked():
    for case in CASES:
        assert set(FIELDS) <= set(case["expect"]), case["name"]


# ---------------------------------------------------------------------------
# extra reference values: R 4.2.2, metafor 3.8.1, metadat 1.2-0 data sets
# (bundled here as bayesma/datasets/*.csv).


@pytest.fixture(scope="module")
def konst():
    return bm.load_dataset("dat.konstantopoulos2011")


@pytest.fixture(scope="module")
def assink():
    return bm.load_dataset("dat.assink2016")


def test_konstantopoulos_extra_REML(konst):
    # res <- rma.mv(yi, vi, random = ~ 1 | district/school, data=dat.konstantopoulos2011)
    # fitstats(res); predict(res); multilevel I2 as in the metafor FAQ (W = diag(1/vi), P = W - WX(X'WX)^-1X'W)
    res = bm.rma_mv("yi", "vi", data=konst, cluster="district", labels="school")
    np.testing.assert_allclose(res.fit_stats["REML"].to_numpy(),
                               [-7.95872403371097, 15.91744806742194, 21.91744806742194,
                                27.93944762311935, 22.38803630271605], rtol=RTOL)
    np.testing.assert_allclose(res.I2_levels[["total", "between", "within"]].to_numpy(),
                               [95.1873137225131, 63.3248378205840, 31.8624759019292], rtol=RTOL)
    np.testing.assert_allclose([res.pi_lb, res.pi_ub], [-0.4502309700846512, 0.8196572974304142], rtol=RTOL)
    np.testing.assert_allclose(res.stat, [0.184713163672882 / 0.0845559187420597], rtol=RTOL)
    assert res.k == 56 and res.n_clusters == 11 and res.s_nlevels == (11, 56)
    assert res.s_names == ("district", "district/school")


def test_konstantopoulos_ML(konst):
    # rma.mv(yi, vi, random = ~ 1 | district/school, data=dat.konstantopoulos2011, method="ML")
    res = bm.rma_mv("yi", "vi", data=konst, cluster="district", labels="school", method="ML")
    np.testing.assert_allclose(res.beta, [0.184455383965623], rtol=RTOL)
    np.testing.assert_allclose(res.se, [0.0804816821655682], rtol=RTOL)
    np.testing.assert_allclose(res.sigma2, [0.0577383588584795, 0.0328647918613754], rtol=RTOL)
    np.testing.assert_allclose(res.logLik, -8.39493557126298, rtol=RTOL)
    np.testing.assert_allclose([res.ci_lb[0], res.ci_ub[0]], [0.0267141855059102, 0.3421965824253365], rtol=RTOL)


def test_konstantopoulos_moderator_t_test(konst):
    # rma.mv(yi, vi, mods = ~ year, random = ~ 1 | district/school, data=dat.konstantopoulos2011, test="t")
    res = bm.rma_mv("yi", "vi", data=konst, cluster="district", mods="~ year", test="t")
    np.testing.assert_allclose(res.beta, [-10.38979977365953467, 0.00531181822472855], rtol=RTOL)
    np.testing.assert_allclose(res.se, [18.78483571682422593, 0.00943579361894091], rtol=RTOL)
    np.testing.assert_allclose(res.stat, [-0.553095056580886, 0.562943451207527], rtol=RTOL)
    np.testing.assert_allclose(res.pval, [0.582480996821771, 0.575803357700658], rtol=RTOL)
    np.testing.assert_allclose(res.ci_lb, [-48.0511278343356807, -0.0136058089695031], rtol=RTOL)
    np.testing.assert_allclose(res.ci_ub, [27.2715282870166149, 0.0242294454189602], rtol=RTOL)
    np.testing.assert_allclose(res.sigma2, [0.0722655836317475, 0.0326502045950322], rtol=RTOL)
    np.testing.assert_allclose([res.QE, res.QEp], [550.259675495412, 2.38738394987865e-83], rtol=RTOL)
    np.testing.assert_allclose([res.QM, res.QMp], [0.316905329257441, 0.575803357700658], rtol=RTOL)
    np.testing.assert_allclose(res.logLik, -7.24046677679816, rtol=RTOL)
    assert res.dfs == 54 and res.coef_names == ["intrcpt", "year"]


def test_assink(assink):
    # rma.mv(yi, vi, random = ~ 1 | study/esid, data=dat.assink2016)
    res = bm.rma_mv("yi", "vi", data=assink, cluster="study", labels="esid")
    np.testing.assert_allclose(res.beta, [0.426799367095281], rtol=RTOL)
    np.testing.assert_allclose(res.se, [0.118429193475735], rtol=RTOL)
    np.testing.assert_allclose([res.ci_lb[0], res.ci_ub[0]], [0.194682413164713, 0.658916321025848], rtol=RTOL)
    np.testing.assert_allclose(res.sigma2, [0.187870223944562, 0.111992089150189], rtol=RTOL)
    np.testing.assert_allclose(res.QE, 809.461128156299, rtol=RTOL)
    np.testing.assert_allclose(res.logLik, -73.6327054403042, rtol=RTOL)


def test_assink_factor_moderator(assink):
    # rma.mv(yi, vi, mods = ~ deltype + year, random = ~ 1 | study/esid, data=dat.assink2016)
    res = bm.rma_mv("yi", "vi", data=assink, cluster="study", labels="esid", mods="~ deltype + year")
    assert res.coef_names == ["intrcpt", "deltypegeneral", "deltypeovert", "year"]
    np.testing.assert_allclose(res.beta, [-0.2438024461376589, 0.7093913978656345, 0.5053947741097709,
                                          -0.0379624334597794], rtol=RTOL)
    np.testing.assert_allclose(res.se, [0.2100844036284323, 0.1913713775741635, 0.2098989743978078,
                                        0.0182748422952125], rtol=RTOL)
    np.testing.assert_allclose(res.pval, [0.245846270461170108, 0.000209825422094749, 0.016048965387141467,
                                          0.037773356390214216], rtol=RTOL)
    np.testing.assert_allclose(res.sigma2, [0.1492524745155812, 0.0852631194424138], rtol=RTOL)
    np.testing.assert_allclose([res.QE, res.QM, res.QMp], [610.264436327554, 19.2398961347665,
                                                            0.000243882372426474], rtol=RTOL)
    np.testing.assert_allclose(res.logLik, -63.376620163482, rtol=RTOL)
    text = repr(res)
    assert "Test of Moderators (coefficients 2:4)" in text and "QM(df = 3) = 19.2399" in text


# ---------------------------------------------------------------------------
# independent checks


def test_dense_likelihood_equals_block_computation(konst):
    res = bm.rma_mv("yi", "vi", data=konst, cluster="district", mods="~ year")
    dense = restricted_loglik_dense(konst["yi"], konst["vi"], konst["district"], res.sigma2, X=res.X)
    np.testing.assert_allclose(res.logLik, dense, rtol=1e-9)  # year is uncentred: X'X is ill-conditioned
    for method in ("REML", "ML"):
        for theta in ([0.0, 0.0], [0.3, 0.01], [0.01, 0.7]):
            lv, cid = np.unique(konst["district"], return_inverse=True)
            st = _State(konst["yi"].to_numpy(), konst["vi"].to_numpy(), res.X, cid, len(lv), np.array(theta),
                        method == "REML", float(np.linalg.slogdet(res.X.T @ res.X)[1]))
            dense = restricted_loglik_dense(konst["yi"], konst["vi"], konst["district"], theta, X=res.X,
                                            method=method)
            np.testing.assert_allclose(st.ll, dense, rtol=1e-9)


def test_gradient_and_hessian_match_finite_differences(konst):
    y, vi = konst["yi"].to_numpy(), konst["vi"].to_numpy()
    X = np.column_stack([np.ones(len(y)), konst["year"] - 1990.0])
    lv, cid = np.unique(konst["district"], return_inverse=True)
    ldx = float(np.linalg.slogdet(X.T @ X)[1])
    theta, h = np.array([0.05, 0.04]), 1e-6
    for reml in (True, False):
        st = _State(y, vi, X, cid, len(lv), theta, reml, ldx)
        ll = lambda t: _State(y, vi, X, cid, len(lv), t, reml, ldx, False).ll  # noqa: E731
        gr = lambda t: _State(y, vi, X, cid, len(lv), t, reml, ldx).grad  # noqa: E731
        eye = np.eye(2)
        num_g = [(ll(theta + h * eye[j]) - ll(theta - h * eye[j])) / (2 * h) for j in range(2)]
        num_h = np.array([(gr(theta + h * eye[j]) - gr(theta - h * eye[j])) / (2 * h) for j in range(2)])
        np.testing.assert_allclose(st.grad, num_g, rtol=1e-6)
        np.testing.assert_allclose(st.obs, -num_h, rtol=1e-5)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_generic_optimizer_finds_same_optimum(konst, method):
    res = bm.rma_mv("yi", "vi", data=konst, cluster="district", method=method)

    def negll(logt):
        return -restricted_loglik_dense(konst["yi"], konst["vi"], konst["district"], np.exp(logt), method=method)

    opt = minimize(negll, np.log([0.1, 0.1]), method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 5000})
    np.testing.assert_allclose(np.exp(opt.x), res.sigma2, rtol=1e-5)
    assert res.logLik >= -opt.fun - 1e-12


def test_one_effect_per_cluster_equals_rma(konst):
    with pytest.warns(UserWarning, match="not separately"):
        mv = bm.rma_mv("yi", "vi", data=konst, cluster="study")
    uni = bm.rma("yi", "vi", data=konst, method="REML")
    # rma() stops Fisher scoring at metafor's 1e-5 change, rma_mv converges fully
    np.testing.assert_allclose(mv.sigma2.sum(), uni.tau2, rtol=1e-5)
    np.testing.assert_allclose(mv.beta, uni.beta, rtol=1e-6)
    np.testing.assert_allclose(mv.se, uni.se, rtol=1e-6)
    np.testing.assert_allclose(mv.QE, uni.QE, rtol=1e-12)
    np.testing.assert_allclose(mv.logLik, uni.loglik, rtol=1e-10)
    assert mv.logLik >= uni.loglik - 1e-12


def test_no_between_cluster_variance_is_zero_on_the_boundary():
    rng = np.random.default_rng(3)
    k = 40
    cl = np.repeat(np.arange(10), 4)
    vi = rng.uniform(0.02, 0.05, k)
    y = rng.normal(0, np.sqrt(vi))
    res = bm.rma_mv(y, vi, cluster=cl)
    assert np.all(res.sigma2 >= 0)
    opt = minimize(lambda t: -restricted_loglik_dense(y, vi, cl, t), [0.01, 0.01], method="L-BFGS-B",
                   bounds=[(0, None), (0, None)], options={"ftol": 1e-15, "gtol": 1e-12})
    assert res.logLik >= -opt.fun - 1e-10
    np.testing.assert_allclose(res.sigma2, opt.x, atol=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_random_data_optimum_no_worse_than_multistart_lbfgs(seed):
    # small unbalanced data sets, some with a true variance component of 0: the fit must converge
    # (no warning) and reach at least the best of four bounded L-BFGS-B runs on the dense likelihood
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 12))
    k = m + int(rng.integers(1, 30))
    cl = np.concatenate([np.arange(m), rng.integers(0, m, k - m)])
    vi = rng.uniform(0.001, 1, k) * 10 ** rng.uniform(-2, 1)
    s1, s2 = (rng.choice([0.0, rng.uniform(0, 1)]) for _ in range(2))
    y = rng.normal(0, np.sqrt(s1), m)[cl] + rng.normal(0, np.sqrt(s2 + vi))
    for method in ("REML", "ML"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = bm.rma_mv(y, vi, cluster=cl, method=method)
        best = -np.inf
        for x0 in ([0.01, 0.01], [1, 0.001], [0.001, 1], [5, 5]):
            opt = minimize(lambda t: -restricted_loglik_dense(y, vi, cl, t, method=method), x0,
                           bounds=[(0, None), (0, None)], method="L-BFGS-B",
                           options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
            best = max(best, -opt.fun)
        assert res.logLik >= best - 1e-8


def test_large_k_recovers_components():
    # the time it takes is measured by benchmarks/bench_rma_mv.py (no timing asserts in tests: CI machines differ)
    rng = np.random.default_rng(1)
    m, k = 20_000, 100_000
    cl = rng.integers(0, m, k)
    vi = rng.uniform(0.01, 0.1, k)
    y = 0.2 + rng.normal(0, 0.3, m)[cl] + rng.normal(0, 0.2, k) + rng.normal(0, np.sqrt(vi))
    res = bm.rma_mv(y, vi, cluster=cl)
    np.testing.assert_allclose(res.sigma2, [0.09, 0.04], rtol=0.1)
    np.testing.assert_allclose(res.beta, [0.2], atol=0.01)


def test_rma_dispatches_to_rma_mv(konst):
    a = bm.rma("yi", "vi", data=konst, cluster="district")
    b = bm.rma_mv("yi", "vi", data=konst, cluster="district")
    assert isinstance(a, bm.frequentist.RMAMVResult)
    np.testing.assert_array_equal(a.sigma2, b.sigma2)


def test_sei_input_equals_vi_input(konst):
    a = bm.rma_mv("yi", "vi", data=konst, cluster="district")
    b = bm.rma_mv(konst["yi"], sei=np.sqrt(konst["vi"]), cluster=konst["district"])
    np.testing.assert_allclose(a.sigma2, b.sigma2, rtol=1e-10)


def test_repr_and_summary(konst):
    res = bm.rma_mv("yi", "vi", data=konst, cluster="district", labels="school")
    text = repr(res)
    assert "Multivariate Meta-Analysis Model (k = 56; method: REML)" in text
    assert "sigma^2.1" in text and "district/school" in text and "0.0651" in text
    assert "Q(df = 55) = 578.8640" in text
    table = res.summary()
    assert list(table.columns) == ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub"]
    vc = res.variance_components()
    assert list(vc["nlvls"]) == [11, 56]


@pytest.mark.parametrize("test", ["knha", "adhoc"])
def test_knapp_hartung_is_refused_as_metafor_rma_mv(konst, test):
    """metafor 3.8-1's rma.mv takes test = "z" or "t" and stops on any other; so does rma_mv (and
    rma(cluster=), which fits it), with the allowed values in the message."""
    with pytest.raises(bm.InputError, match=r"rma_mv: test='.*' is not available .*'z', 't'"):
        bm.rma_mv("yi", "vi", data=konst, cluster="district", test=test)
    with pytest.raises(bm.InputError, match="'z', 't'"):
        bm.rma("yi", "vi", data=konst, cluster="district", test=test)
    b = bm.rma_mv("yi", "vi", data=konst, cluster="district", test="t")
    assert b.test == "t" and b.dfs == 55


# ---------------------------------------------------------------------------
# errors


def test_missing_cluster_names_the_study(konst):
    d = konst.copy()
    d.loc[5, "district"] = np.nan
    with pytest.raises(ValueError, match=r"column 'district'.*study '6' \(row 6\).*missing"):
        bm.rma_mv("yi", "vi", data=d, cluster="district")
    with pytest.warns(UserWarning, match="dropped 1 of 56"):
        res = bm.rma_mv("yi", "vi", data=d, cluster="district", missing="drop")
    assert res.k == 55


def test_cluster_column_not_in_data(konst):
    with pytest.raises(ValueError, match="'districts'"):
        bm.rma_mv("yi", "vi", data=konst, cluster="districts")


def test_single_cluster_is_an_error():
    with pytest.raises(ValueError, match="one cluster"):
        bm.rma_mv([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], cluster=["a", "a", "a"])


def test_duplicate_label_within_cluster(konst):
    d = konst.copy()
    d.loc[1, "school"] = 1
    with pytest.raises(ValueError, match=r"column 'school'.*'1'.*cluster 11.*rows 1 and 2"):
        bm.rma_mv("yi", "vi", data=d, cluster="district", labels="school")


def test_bad_method_and_test(konst):
    with pytest.raises(ValueError, match="method"):
        bm.rma_mv("yi", "vi", data=konst, cluster="district", method="DL")
    with pytest.raises(ValueError, match="test"):
        bm.rma_mv("yi", "vi", data=konst, cluster="district", test="adhoc")


def test_negative_variance_names_the_study(konst):
    d = konst.copy()
    d.loc[2, "vi"] = -0.1
    with pytest.raises(ValueError, match=r"column 'vi'.*row 3"):
        bm.rma_mv("yi", "vi", data=d, cluster="district")


def test_too_many_coefficients():
    with pytest.raises(ValueError, match="too few"):
        bm.rma_mv([0.1, 0.2], [0.01, 0.02], cluster=["a", "b"], mods=[1.0, 2.0])


def test_no_warnings_on_regular_fit(konst):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm.rma_mv("yi", "vi", data=konst, cluster="district", labels="school")
