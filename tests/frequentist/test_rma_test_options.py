"""The ``test=`` options of the frequentist fits against metafor 3.8.1 (metafor/metafor_test_t.json, made by
metafor_test_t.R beside it): ``test="t"`` (t tests and intervals with k - p df, an F test of the moderators,
the variances not rescaled, t-quantile prediction intervals) beside "knha", "adhoc" and "z", for every tau²
estimator on dat.bcg, meta-regressions, predictions, Wald tests, subgroups, k = 3, permutation tests,
regtest, trim-and-fill, leave-one-out, BLUPs, selmodel, rma_mv and rma_glmm; what metafor refuses is
refused with a typed error that lists the allowed tests."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.frequentist.batch import frequentist_batch

REF = load_json("metafor/metafor_test_t.json")
CASES = REF["cases"]
RTOL = 1e-6
# metafor optimises ML/REML/PM/EB/SJ... numerically to its own tolerances: 1e-4 there (house rule)
NUMERIC = {"REML", "ML", "PM", "EB"}


def _bcg() -> pd.DataFrame:
    return pd.DataFrame(REF["data"]["bcg"])


def _konst() -> pd.DataFrame:
    return pd.DataFrame(REF["data"]["konst"])


def _close(actual, expected, rtol=RTOL, atol=1e-10):
    exp = np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, dtype=float)), exp, rtol=rtol, atol=atol)


def _fit(case: dict, data: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metafor's "Knapp-Hartung ... FE models" warning
        return bm.rma("yi", "vi", data=data, method=case["method"], test=case["test"], mods=case["mods"])


def _check_fit(res, e: dict, rtol: float) -> None:
    assert res.coef_names == list(np.atleast_1d(e["coef_names"]))
    for ours, theirs in (("beta", "beta"), ("se", "se"), ("stat", "stat"), ("pval", "pval"), ("ci_lb", "ci_lb"),
                         ("ci_ub", "ci_ub")):
        _close(getattr(res, ours), e[theirs], rtol)
    _close(np.ravel(res.vb), np.ravel(np.asarray(e["vb"], dtype=float)), rtol)
    _close(res.tau2, e["tau2"], rtol, atol=1e-8)
    _close([res.QE, res.QEp], [e["QE"], e["QEp"]], rtol)
    _close([res.QM, res.QMp], [e["QM"], e["QMp"]], rtol)
    assert res.QMdf[0] == e["QMdf"][0]
    if e["test"] == "z":
        assert res.dfs is None and res.QMdf[1] is None and e["ddf"] is None
    else:
        assert res.dfs == e["ddf"] == e["QMdf"][1] == res.k - res.p
    assert res.test == e["test"]
    if "pi_lb" in e:
        _close([res.pi_lb, res.pi_ub], [e["pi_lb"], e["pi_ub"]], rtol)
        pred = res.predict()
        _close(pred[["pi_lb", "pi_ub"]].to_numpy()[0], [e["pi_lb"], e["pi_ub"]], rtol)


RMA_CASES = [name for name, c in CASES.items() if c["kind"] == "rma" and c["data"] == "bcg"]


@pytest.mark.parametrize("name", RMA_CASES)
def test_every_estimator_and_test_equals_metafor(name):
    case = CASES[name]
    res = _fit(case, _bcg())
    _check_fit(res, case["expect"], 1e-4 if case["method"] in NUMERIC else RTOL)


def test_t_keeps_the_z_standard_errors_and_knha_rescales_them():
    """test="t" changes the reference distribution only; "knha" multiplies vb by s² = RSS / (k - p)."""
    for method in ("REML", "DL", "FE"):
        z, t, kh = (CASES[f"bcg_ablat_{method}_{tst}"]["expect"] for tst in ("z", "t", "knha"))
        _close(t["se"], z["se"], 1e-12)
        assert not np.allclose(kh["se"], z["se"])
        _close(t["QM"], z["QM"] / z["QMdf"][0], 1e-12)  # the F statistic is QM / m
        res = _fit(CASES[f"bcg_ablat_{method}_t"], _bcg())
        np.testing.assert_allclose(res.se, _fit(CASES[f"bcg_ablat_{method}_z"], _bcg()).se, rtol=1e-12)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "rma" and c["data"] == "bcg_k3"])
def test_three_studies_with_two_degrees_of_freedom(name):
    """k = 3: t(2) quantiles; "adhoc" truncates s² = 0.47 at 1 (so it equals "t"), "knha" does not."""
    case = CASES[name]
    res = _fit(case, _bcg().iloc[:3].reset_index(drop=True))
    _check_fit(res, case["expect"], 1e-4 if case["method"] in NUMERIC else RTOL)
    assert res.dfs == 2
    np.testing.assert_allclose(res.s2w, case["s2w"], rtol=1e-4)


def test_k3_adhoc_truncated_at_one_equals_t():
    t, adhoc = CASES["bcg_k3_DL_t"]["expect"], CASES["bcg_k3_DL_adhoc"]["expect"]
    assert CASES["bcg_k3_DL_knha"]["s2w"] < 1
    _close(adhoc["ci_lb"], t["ci_lb"], 1e-12)


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_two_moderators_predictions_and_wald_tests(method):
    case = CASES[f"bcg_ablat_year_{method}_t"]
    rtol = 1e-4 if method in NUMERIC else RTOL
    res = _fit(case, _bcg())
    _check_fit(res, case["expect"], rtol)
    cols = ["pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"]
    new = res.predict(newmods=np.asarray(case["newmods"]))
    for col in cols:
        _close(new[col], case["predict_new"][col], rtol)
    assert (new["pi_df"] == case["predict_new"]["ddf"]).all()
    fitted = res.predict()
    for col in cols:
        _close(fitted[col], case["predict_fitted"][col], rtol)
    w = bm.anova(res, btt=[2, 3])
    _close([w.QM, w.QMp], [case["anova_btt23"]["QM"], case["anova_btt23"]["QMp"]], rtol)
    assert list(w.QMdf) == case["anova_btt23"]["QMdf"]
    assert "F(df1 = 2, df2 = 10) = " + f"{case['anova_btt23']['QM']:.4f}" in repr(w)
    w3 = bm.anova(res, btt=3)
    _close([w3.QM, w3.QMp], [case["anova_btt3"]["QM"], case["anova_btt3"]["QMp"]], rtol)
    _close(w3.QM, res.stat[2] ** 2, 1e-10)  # F(1, df) of one coefficient = its t²
    wx = bm.anova(res, X=np.asarray(case["anova_X"]["L"]))
    table = wx.summary()
    for ours, theirs in (("estimate", "Xb"), ("se", "se"), ("tval", "zval"), ("pval", "pval")):
        _close(table[ours], case["anova_X"][theirs], rtol)
    _close([wx.QM, wx.QMp], [case["anova_X"]["QM"], case["anova_X"]["QMp"]], rtol)


def test_predictions_at_new_latitudes_and_blups():
    case = CASES["bcg_ablat_REML_t_extras"]
    res = bm.rma("yi", "vi", data=_bcg(), mods="~ ablat", test="t")
    for key, level in (("predict_new", None), ("predict_90", 90)):
        new = res.predict(newmods=case["newmods"], level=level)
        for col in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            _close(new[col], case[key][col], 1e-4)
    bl = res.blup()
    for col in ("pred", "se", "pi_lb", "pi_ub"):
        _close(bl[col], case["blup"][col], 1e-4)


def test_leave1out_regtest_trimfill_and_selmodel_of_a_t_fit():
    case = CASES["bcg_REML_t_extras"]
    res = bm.rma("yi", "vi", data=_bcg(), test="t")
    l1 = res.leave1out().table
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("tval", "tval"), ("pval", "pval"),
                         ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"), ("tau2", "tau2")):
        _close(l1[ours], case["leave1out"][theirs], 1e-4)
    eg = bm.egger_test(res)  # regtest(res) takes the fit's test: a t test with k - 2 df
    rt = case["regtest"]
    assert eg.dfs == rt["dfs"] == 11
    _close([eg.zval, eg.pval], [rt["zval"], rt["pval"]], 1e-4)
    _close(eg.fit.beta, rt["beta"], 1e-4)
    _close(eg.fit.se, rt["se"], 1e-4)
    # metafor 3.8-1's trimfill(res) refits the filled data with rma's default test (z), not the fit's
    tf, e = bm.trimfill(res), case["trimfill"]
    assert tf.k0 == e["k0"] == 1 and tf.side == e["side"] and tf.fit.test == e["test"] == "z"
    _close([tf.beta, tf.se, tf.stat, tf.pval, tf.ci_lb, tf.ci_ub, tf.tau2],
           [e["beta"], e["se"], e["stat"], e["pval"], e["ci_lb"], e["ci_ub"], e["tau2"]], 1e-4)
    assert bm.trimfill(res, test="t").fit.dfs == 13  # the t test of the filled data, when asked for
    # selmodel: metafor's selection models report z tests whatever the fit's test
    sm, e = bm.selmodel(res, type="stepfun", steps=[0.025, 1], alternative="less"), case["selmodel"]
    assert e["test"] == "z"
    _close([sm.beta[0], sm.se[0], sm.zval[0], sm.pval[0], sm.ci_lb[0], sm.ci_ub[0], sm.tau2],
           [e["beta"], e["se"], e["stat"], e["pval"], e["ci_lb"], e["ci_ub"], e["tau2"]], 1e-3)


def test_exact_permutation_tests_of_t_fits():
    e = CASES["bcg_permutest_t"]
    bcg = _bcg()
    pt = bm.permutest(bm.rma("yi", "vi", data=bcg, test="t"), exact=True)
    _close([pt.pval[0], pt.QM, pt.QMp], [e["int_only"]["pval"], e["int_only"]["QM"], e["int_only"]["QMp"]], 1e-6)
    res7 = bm.rma("yi", "vi", data=bcg.iloc[:7].reset_index(drop=True), mods="~ ablat", test="t")
    pt7 = bm.permutest(res7, exact=True)
    assert pt7.iter == 2520
    _close(pt7.zval, e["ablat_first7"]["stat"], 1e-4)
    _close(pt7.pval, e["ablat_first7"]["pval"], 1e-9)
    _close([pt7.QM, pt7.QMp], [e["ablat_first7"]["QM"], e["ablat_first7"]["QMp"]], 1e-4)
    assert "F = " in repr(pt7) and "tval" in pt7.summary().columns


def test_subgroups_with_t_tests():
    case = CASES["bcg_subgroups_alloc_t"]
    sg = bm.subgroup("yi", "vi", by="alloc", data=_bcg(), test="t")
    for level, e in case["groups"].items():
        fit = sg.fits[level]
        assert fit.k == e["k"] and fit.dfs == e["ddf"]
        _close([fit.beta[0], fit.se[0], fit.stat[0], fit.pval[0], fit.ci_lb[0], fit.ci_ub[0], fit.tau2],
               [e["beta"], e["se"], e["stat"], e["pval"], e["ci_lb"], e["ci_ub"], e["tau2"]], 1e-4, atol=1e-8)
        row = sg.table.loc[level]
        _close([row["estimate"], row["ci_lb"], row["ci_ub"], row["pval"]],
               [e["beta"], e["ci_lb"], e["ci_ub"], e["pval"]], 1e-4)
    _check_fit(sg.mixed, case["mixed"]["expect"] if "expect" in case["mixed"] else case["mixed"], 1e-4)


@pytest.mark.parametrize("name", ["konst_mv_t", "konst_mv_year_t"])
def test_three_level_t(name):
    case = CASES[name]
    res = bm.rma_mv("yi", "vi", data=_konst(), mods=case["mods"], random="~ 1 | district/school", test="t")
    e = case["expect"]
    for ours, theirs in (("beta", "beta"), ("se", "se"), ("stat", "stat"), ("pval", "pval"), ("ci_lb", "ci_lb"),
                         ("ci_ub", "ci_ub"), ("sigma2", "sigma2")):
        _close(getattr(res, ours), e[theirs], 1e-4)
    _close([res.QM, res.QMp], [e["QM"], e["QMp"]], 1e-4)
    assert np.all(np.asarray(res.dfs) == np.asarray(e["ddf"])) and list(res.QMdf) == e["QMdf"]
    assert res.loglik >= e["logLik"] - 1e-6
    if "predict" in case:
        pred = res.predict()
        for col in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            _close(pred[col], case["predict"][col], 1e-4)
    else:
        pred = res.predict(newmods=case["newmods"])
        for col in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            _close(pred[col], case["predict_new"][col], 1e-4)
        w = bm.anova(res, btt=2)
        _close([w.QM, w.QMp], [case["anova_btt2"]["QM"], case["anova_btt2"]["QMp"]], 1e-4)


def test_glmm_t():
    e = CASES["bcg_glmm_UMFS_t"]["expect"]
    d = _bcg().assign(n1i=lambda x: x.tpos + x.tneg, n2i=lambda x: x.cpos + x.cneg)
    res = bm.rma_glmm("OR", ai="tpos", n1i="n1i", ci="cpos", n2i="n2i", data=d, test="t")
    assert res.dfs == e["ddf"] == 12
    _close([res.beta[0], res.se[0], res.zval[0], res.pval[0], res.ci_lb[0], res.ci_ub[0], res.tau2],
           [e["beta"], e["se"], e["stat"], e["pval"], e["ci_lb"], e["ci_ub"], e["tau2"]], 1e-4)


# ---------------------------------------------------------------------------- printouts


def test_printout_of_t_fits_says_t_df_and_f_as_metafor():
    for name in ("bcg_ablat_REML_t", "bcg_REML_t", "bcg_ablat_DL_knha"):
        case = CASES[name]
        ours = repr(_fit(case, _bcg()))
        theirs = case["expect"]["print"]
        # the coefficient table: metafor's header and each row's numbers, df column included
        header = next(line for line in theirs if line.strip().startswith("estimate"))
        assert header.split() == ["estimate", "se", "tval", "df", "pval", "ci.lb", "ci.ub"]
        our_header = next(line for line in ours.splitlines() if line.strip().startswith("estimate"))
        assert our_header.split() == ["estimate", "se", "tval", "df", "pval", "ci_lb", "ci_ub"]
        start = theirs.index(header) + 1
        rows = [line.split() for line in theirs[start:start + len(np.atleast_1d(case["expect"]["beta"]))]]
        our_start = ours.splitlines().index(our_header) + 1
        our_rows = [line.split() for line in ours.splitlines()[our_start:our_start + len(rows)]]
        assert our_rows == rows  # name, estimate, se, tval, df, pval, ci bounds, stars: cell by cell
        for line in theirs:  # the tests of heterogeneity and of the moderators, verbatim
            if line.startswith(("F(df1", "QE(df", "Q(df", "Test of Moderators")):
                assert line.strip() in ours


# ---------------------------------------------------------------------------- what is refused


def test_metafor_refuses_and_so_do_we():
    assert set(REF["refused"].values()) == {"Invalid option selected for 'test' argument."}
    bcg, konst = _bcg(), _konst()
    with pytest.raises(bm.InputError, match=r"'z', 't', 'knha', 'adhoc'") as err:
        bm.rma("yi", "vi", data=bcg, test="wald")
    assert err.value.column == "test"
    for test in ("knha", "adhoc", "Knapp"):
        with pytest.raises(bm.InputError, match=r"'z', 't'"):
            bm.rma_mv("yi", "vi", data=konst, random="~ 1 | district/school", test=test)
    d = bcg.assign(n1i=lambda x: x.tpos + x.tneg, n2i=lambda x: x.cpos + x.cneg)
    with pytest.raises(bm.InputError, match=r"rma_glmm: test='knha' is not available .*'z', 't'"):
        bm.rma_glmm("OR", ai="tpos", n1i="n1i", ci="cpos", n2i="n2i", data=d, test="knha")
    with pytest.raises(bm.ArgumentTypeError):
        bm.rma("yi", "vi", data=bcg, test=None)
    with pytest.raises(bm.InputError, match="test must be one of"):
        bm.rma("yi", "vi", data=bcg, scale="~ ablat", test="hk")
    for call in (lambda: bm.subgroup("yi", "vi", by="alloc", data=bcg, test="wald"),
                 lambda: bm.egger_test("yi", "vi", data=bcg, test="wald"),
                 lambda: bm.trimfill("yi", "vi", data=bcg, test="wald"),
                 lambda: frequentist_batch(np.asarray([bcg.yi]), np.asarray([bcg.vi]), test="wald")):
        with pytest.raises(bm.InputError, match="'z', 't', 'knha', 'adhoc'"):
            call()


def test_batch_t_equals_rma_t():
    bcg = _bcg()
    y, v = np.asarray([bcg.yi, bcg.yi[::-1]]), np.asarray([bcg.vi, bcg.vi])
    for method in ("DL", "REML", "PM"):
        out = frequentist_batch(y, v, method=method, test="t")
        res = bm.rma(bcg.yi, bcg.vi, method=method, test="t")
        np.testing.assert_allclose([out["mu"][0], out["se"][0], out["mu_lower"][0], out["mu_upper"][0]],
                                   [res.beta[0], res.se[0], res.ci_lb[0], res.ci_ub[0]], rtol=1e-6)
    e = CASES["bcg_DL_t"]["expect"]
    out = frequentist_batch(y[:1], v[:1], method="DL", test="t")
    _close([out["mu_lower"][0], out["mu_upper"][0]], [e["ci_lb"], e["ci_ub"]], 1e-6)


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
@pytest.mark.parametrize("test", ["z", "t", "knha", "adhoc"])
def test_group_summaries_of_fit_many_follow_the_test(method, test):
    """fit_many's frequentist columns (group_summaries) equal metafor's rma(method, test) for every test,
    the common-effect fit included (its interval was always z before test="t" existed)."""
    from bayesma.frequentist.batch import group_summaries

    e = CASES[f"bcg_{method}_{test}"]["expect"]
    bcg = _bcg()
    out = group_summaries(np.asarray([bcg.yi]), np.asarray([bcg.vi]), method, test, 0.95)
    rtol = 1e-4 if method in NUMERIC else RTOL
    _close([out["RE"][0], out["RE_se"][0], out["RE_lower"][0], out["RE_upper"][0]],
           [e["beta"], e["se"], e["ci_lb"], e["ci_ub"]], rtol)
    if method != "FE":  # metafor prints no prediction interval for a common-effect model
        _close([out["pi_lower"][0], out["pi_upper"][0]], [e["pi_lb"], e["pi_ub"]], rtol)
