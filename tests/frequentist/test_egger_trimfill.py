"""egger_test() and trimfill() against metafor's regtest() and trimfill(), and independent checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases

import bayesma as bm

RTOL = 1e-6

CASES = [c for c in load_cases() if c["kind"] == "bias"]


def _value(case, key):
    data = pd.DataFrame(case["input"])
    if key.startswith("egger_"):
        eg = bm.egger_test("yi", "vi", data=data)  # regtest() on rma(yi, vi) (REML), predictor sei, z test
        return {"egger_z": eg.z, "egger_p": eg.p}[key]
    tf = bm.trimfill("yi", "vi", data=data)  # trimfill() on rma(yi, vi, method="FE")
    return {"trimfill_k0": tf.k0, "trimfill_side": tf.side, "trimfill_beta": tf.beta, "trimfill_se": tf.se}[key]


def test_there_are_bias_cases():
    assert CASES


@pytest.mark.parametrize(
    "case,key",
    [pytest.param(c, k, id=f"{c['name']}-{k}") for c in CASES for k in c["expect"]],
)
def test_matches_metafor(case, key):
    expected = case["expect"][key]
    actual = _value(case, key)
    if isinstance(expected, str):
        assert actual == expected
    elif key.endswith("k0"):
        assert actual == expected
    else:
        np.testing.assert_allclose(actual, expected, rtol=RTOL, err_msg=f"{case['name']}: {key}")


# ---------------------------------------------------------------------------
# extra reference values: R 4.2.2, metafor 3.8.1, metadat 1.2-0 data
# (dat.hackshaw1998, dat.bcg bundled as bayesma/datasets/*.csv)


@pytest.fixture(scope="module")
def hackshaw():
    return bm.load_dataset("dat.hackshaw1998")


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def test_egger_limit_estimate(hackshaw):
    # regtest(rma(yi, vi, data=dat.hackshaw1998)): est, ci.lb, ci.ub
    eg = bm.egger_test("yi", "vi", data=hackshaw)
    np.testing.assert_allclose([eg.b, eg.ci_lb, eg.ci_ub],
                               [0.021609667878164, -0.177441673876771, 0.220661009633099], rtol=RTOL)
    assert eg.dfs is None
    assert "z = 2.1055, p = 0.0352" in repr(eg)
    assert "b = 0.0216 (CI: -0.1774, 0.2207)" in repr(eg)


def test_egger_lm(hackshaw):
    # regtest(rma(yi, vi, data=dat.hackshaw1998), model="lm")
    eg = bm.egger_test("yi", "vi", data=hackshaw, model="lm")
    np.testing.assert_allclose([eg.z, eg.p], [2.38241441660256426, 0.02276419970340671], rtol=RTOL)
    assert eg.dfs == 35
    np.testing.assert_allclose([eg.b, eg.ci_lb, eg.ci_ub],
                               [0.00503732307546352, -0.16935367122428291, 0.17942831737520998], rtol=RTOL)
    assert "t = 2.3824, df = 35" in repr(eg)


def test_egger_vi_predictor(hackshaw):
    # regtest(rma(yi, vi, data=dat.hackshaw1998), predictor="vi")
    eg = bm.egger_test("yi", "vi", data=hackshaw, predictor="vi")
    np.testing.assert_allclose([eg.z, eg.p, eg.b, eg.ci_lb, eg.ci_ub],
                               [1.8396073738159520, 0.0658259010168084, 0.1405468423139429,
                                0.0194981323718495, 0.2615955522560364], rtol=RTOL)


def test_egger_on_a_fitted_FE_model(hackshaw):
    # regtest(rma(yi, vi, data=dat.hackshaw1998, method="FE"))
    eg = bm.egger_test(bm.rma("yi", "vi", data=hackshaw, method="FE"))
    np.testing.assert_allclose([eg.z, eg.p, eg.b, eg.ci_lb, eg.ci_ub],
                               [2.57445997847051977, 0.01003967008511792, 0.00503732307546299,
                                -0.15076867803360752, 0.16084332418453348], rtol=RTOL)
    assert "fixed-effects meta-regression" in repr(eg)


def test_egger_bcg(bcg):
    # regtest(rma(yi, vi, data=escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)))
    eg = bm.egger_test("yi", "vi", data=bcg)
    np.testing.assert_allclose([eg.z, eg.p, eg.b, eg.ci_lb, eg.ci_ub],
                               [-0.8033291120701062, 0.4217845356722277, -0.5104318837894997,
                                -1.1182240448943324, 0.0973602773153331], rtol=RTOL)


def test_trimfill_hackshaw_full(hackshaw):
    # tf <- trimfill(rma(yi, vi, data=dat.hackshaw1998, method="FE"))
    tf = bm.trimfill("yi", "vi", data=hackshaw)
    assert tf.k0 == 7 and tf.side == "left" and tf.k == 44
    np.testing.assert_allclose([tf.se_k0, tf.beta, tf.se, tf.ci_lb, tf.ci_ub, tf.stat, tf.pval, tf.fit.QE],
                               [4.04049584826842, 0.155599577899708, 0.0364351242781106, 0.0841880465423704,
                                0.227011109257046, 4.27059275857030, 1.94954114320586e-05, 61.8206606237720],
                               rtol=RTOL)
    # tf$yi[tf$fill], tf$vi[tf$fill]
    np.testing.assert_allclose(tf.fill["yi"], [-0.391898355613697, -0.416349451477861, -0.444922823921917,
                                               -0.458909065896657, -0.508580675693895, -0.538951773570193,
                                               -0.624894203370918], rtol=RTOL)
    np.testing.assert_allclose(tf.fill["vi"], [0.5401958653424493, 0.2273205916704817, 0.0889215627069803,
                                               0.1238162019218424, 0.3171477228643990, 0.2925657720656893,
                                               0.3981954333541851], rtol=RTOL)
    assert list(tf.fill["label"]) == [f"Filled {i}" for i in range(1, 8)]
    assert tf.augmented()["filled"].sum() == 7
    assert "Estimated number of missing studies on the left side: 7 (SE = 4.0405)" in repr(tf)


@pytest.mark.parametrize(
    "kwargs,k0,se_k0,beta,se",
    [
        # trimfill(rma(yi, vi, data=dat.hackshaw1998, method="FE"), estimator="R0")
        ({"estimator": "R0"}, 7, 4.0, 0.1555995778997082, 0.0364351242781106),
        # trimfill(rma(yi, vi, data=dat.hackshaw1998, method="FE"), estimator="Q0")
        ({"estimator": "Q0"}, 10, 5.5427136641890975, 0.1301942905662660, 0.0354832391139506),
        # trimfill(rma(yi, vi, data=dat.hackshaw1998, method="FE"), side="right")
        ({"side": "right"}, 0, 2.089389146842479, 0.185760203646786, 0.037303300814672),
        # trimfill(rma(yi, vi, data=dat.hackshaw1998))   (REML)
        ({"method": "REML"}, 7, 4.0399372600469157, 0.1744711720547100, 0.0484317219722615),
    ],
)
def test_trimfill_variants(hackshaw, kwargs, k0, se_k0, beta, se):
    tf = bm.trimfill("yi", "vi", data=hackshaw, **kwargs)
    assert tf.k0 == k0
    np.testing.assert_allclose([tf.se_k0, tf.beta, tf.se], [se_k0, beta, se], rtol=RTOL)


def test_trimfill_R0_p_value(hackshaw):
    # trimfill(..., estimator="R0")$p.k0
    assert bm.trimfill("yi", "vi", data=hackshaw, estimator="R0").p_k0 == pytest.approx(0.00390625, rel=1e-12)


def test_trimfill_REML_tau2(hackshaw):
    tf = bm.trimfill(bm.rma("yi", "vi", data=hackshaw))  # a fitted REML model: its method is used
    np.testing.assert_allclose(tf.tau2, 0.0244557056982017, rtol=RTOL)
    assert tf.original.method == "REML"


def test_trimfill_bcg_right_side(bcg):
    # trimfill(rma(yi, vi, data=dat, method="FE")) and trimfill(rma(yi, vi, data=dat)) on the BCG log risk ratios
    tf = bm.trimfill("yi", "vi", data=bcg)
    assert tf.side == "right" and tf.k0 == 4
    np.testing.assert_allclose([tf.se_k0, tf.beta, tf.se, tf.ci_lb, tf.ci_ub],
                               [2.385325591192951, -0.291025992106353, 0.038264136604139,
                                -0.366022321749986, -0.216029662462720], rtol=RTOL)
    tf = bm.trimfill("yi", "vi", data=bcg, method="REML")
    assert tf.side == "right" and tf.k0 == 1
    np.testing.assert_allclose([tf.se_k0, tf.beta, tf.se, tf.tau2],
                               [2.452798643182925, -0.657082800760365, 0.178528466955580, 0.331288037336580],
                               rtol=RTOL)
    # missing on the right: the filled studies lie right of the pooled estimate
    assert (tf.fill["yi"] > tf.original.beta[0]).all()


# ---------------------------------------------------------------------------
# independent checks


def _symmetric(k_half=8, center=0.3):
    rng = np.random.default_rng(7)
    d = np.sort(rng.uniform(0.05, 0.6, k_half))
    v = rng.uniform(0.01, 0.08, k_half)
    yi = np.concatenate([center + d, center - d])
    vi = np.concatenate([v, v])
    return yi, vi


@pytest.mark.parametrize("estimator", ["L0", "R0", "Q0"])
def test_trimfill_symmetric_data_fills_nothing(estimator):
    yi, vi = _symmetric()
    tf = bm.trimfill(yi, vi, estimator=estimator)
    assert tf.k0 == 0
    assert tf.fill.empty
    np.testing.assert_allclose(tf.beta, 0.3, rtol=1e-12)
    assert tf.fit is tf.original


def test_trimfill_mirror_of_data_mirrors_result(hackshaw):
    a = bm.trimfill("yi", "vi", data=hackshaw)
    b = bm.trimfill(-hackshaw["yi"], hackshaw["vi"])
    assert b.side == {"left": "right", "right": "left"}[a.side]
    assert a.k0 == b.k0
    np.testing.assert_allclose(b.beta, -a.beta, rtol=1e-12)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-12)


def test_trimfill_removing_small_studies_is_detected():
    # a symmetric funnel with the small studies on the left removed: trim-and-fill puts studies back there
    rng = np.random.default_rng(11)
    sei = np.linspace(0.05, 0.5, 40)
    yi = 0.2 + sei * np.tile([-1.2, -0.6, -0.2, 0.2, 0.6, 1.2], 7)[:40] + rng.normal(0, 0.01, 40)
    keep = ~((yi < 0.2) & (sei > 0.25))
    tf = bm.trimfill(yi[keep], sei=sei[keep])
    assert tf.side == "left" and tf.k0 > 0
    assert tf.beta < tf.original.beta[0]


def test_egger_is_the_slope_of_the_meta_regression(hackshaw):
    eg = bm.egger_test("yi", "vi", data=hackshaw, method="DL")
    reg = bm.rma(hackshaw["yi"], hackshaw["vi"], mods=np.sqrt(hackshaw["vi"]), method="DL")
    np.testing.assert_allclose(eg.z, reg.stat[1], rtol=1e-12)
    np.testing.assert_allclose(eg.b, reg.beta[0], rtol=1e-12)


def test_egger_symmetric_data_has_zero_slope():
    yi, vi = _symmetric()
    eg = bm.egger_test(yi, vi)
    assert abs(eg.z) < 1e-8 and eg.p > 0.999999


def test_egger_sample_size_predictors():
    yi, vi = _symmetric()
    ni = np.round(4 / vi)
    eg = bm.egger_test(yi, vi, predictor="sqrtninv", ni=ni)
    assert eg.b is not None and np.isfinite(eg.z)
    eg = bm.egger_test(yi, vi, predictor="ni", ni=ni)
    assert eg.b is None
    with pytest.raises(ValueError, match="ni="):
        bm.egger_test(yi, vi, predictor="ninv")


# ---------------------------------------------------------------------------
# errors


def test_errors_name_the_study(hackshaw):
    d = hackshaw.copy()
    d.loc[3, "vi"] = np.nan
    with pytest.raises(ValueError, match=r"column 'vi'.*row 4.*missing"):
        bm.egger_test("yi", "vi", data=d)
    with pytest.raises(ValueError, match=r"column 'vi'.*row 4.*missing"):
        bm.trimfill("yi", "vi", data=d)
    d = hackshaw.copy()
    d["yi"] = d["yi"].astype(object)
    d.loc[0, "yi"] = "x"
    with pytest.raises(TypeError, match=r"column 'yi'.*row 1"):
        bm.trimfill("yi", "vi", data=d)


def test_bad_arguments(hackshaw):
    with pytest.raises(ValueError, match="estimator"):
        bm.trimfill("yi", "vi", data=hackshaw, estimator="L1")
    with pytest.raises(ValueError, match="side"):
        bm.trimfill("yi", "vi", data=hackshaw, side="up")
    with pytest.raises(ValueError, match="predictor"):
        bm.egger_test("yi", "vi", data=hackshaw, predictor="n")
    with pytest.raises(ValueError, match="model"):
        bm.egger_test("yi", "vi", data=hackshaw, model="glm")
    with pytest.raises(ValueError, match="same for all studies"):
        bm.egger_test([0.1, 0.2, 0.3, 0.5], [0.01] * 4)
    with pytest.raises(ValueError, match="k = 1"):
        bm.trimfill([0.1], [0.01])
    with pytest.raises(ValueError, match="without moderators"):
        bm.trimfill(bm.rma("yi", "vi", data=hackshaw, mods="~ year"))
