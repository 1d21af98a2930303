"""Frequentist case-deletion diagnostics, model comparison, BLUPs and predictions against
metafor 3.8.1 (tests/data/reference/metafor/metafor_cases_v2.json kinds influence, cumul, anova,
predict, rma; metafor_toolbox.json for meta-regressions, FE/DL/PM fits, Knapp-Hartung,
transf, Wald tests, fit statistics and the Baujat coordinates)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm
from bayesma.frequentist.anova import fit_stats_table

REF = REFERENCE_DIR
V2 = json.loads((REF / "metafor/metafor_cases_v2.json").read_text())["cases"]
TB = json.loads((REF / "metafor/metafor_toolbox.json").read_text())["cases"]
RTOL = 1e-6


def cases(source, *kinds):
    return [pytest.param(c, id=c["name"]) for c in source if c["kind"] in kinds]


def close(got, want, rtol=RTOL, atol=0.0):
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def fit(case, mods_key="mods", **kw):
    inp = {k: v for k, v in case["input"].items() if isinstance(v, list)}
    df = pd.DataFrame(inp)
    if case.get("tau2") is not None:
        kw.setdefault("tau2", case["tau2"])
    method = kw.pop("method", case.get("method", "REML"))
    test = kw.pop("test", case.get("test", "z"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", data=df, mods=case.get(mods_key), method=method, test=test, **kw)


# ---------------------------------------------------------------------------
# influence


@pytest.mark.parametrize("case", cases(V2, "influence") + cases(TB, "influence"))
def test_influence_matches_metafor(case):
    res = fit(case)
    inf = bm.influence(res)
    e = case["expect"]
    for col in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"):
        close(inf.table[col], e[col], atol=1e-12)
    dfb = e["dfbetas"]
    dfb = [dfb] if not isinstance(dfb[0], list) else dfb
    for j, col in enumerate(dfb):
        close(inf.dfbetas.iloc[:, j], col, atol=1e-12)
    if "inf" in e:
        assert inf.is_infl.tolist() == e["inf"]
    if "baujat_x" in e:
        bj = bm.baujat_values(res)
        close(bj["x"], e["baujat_x"], atol=1e-12)
        close(bj["y"], e["baujat_y"], atol=1e-12)


def test_influence_result_is_readable_and_method_matches_function():
    case = next(c for c in TB if c["name"] == "bcg_infl_mods_knha")
    res = fit(case)
    inf = res.influence()
    assert "Influential" in repr(inf)
    summ = inf.summary()
    assert list(summ.columns[:8]) == ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"]
    assert [c for c in summ.columns if c.startswith("dfbs_")] == ["dfbs_intrcpt", "dfbs_ablat", "dfbs_year"]
    pd.testing.assert_frame_equal(inf.table, bm.influence(res).table)


def test_influence_flags_an_outlier():
    yi = [0.1, 0.12, 0.08, 0.11, 0.09, 0.1, 1.5]
    vi = [0.01] * 7
    inf = bm.influence(bm.rma(yi, vi, method="DL", labels=list("ABCDEFG")))
    assert inf.influential == ["G"]


def test_influence_refuses_bad_input():
    with pytest.raises(ValueError, match="k = 1"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bm.influence(bm.rma([0.1], [0.01]))
    with pytest.raises(TypeError, match="bayesma.rma"):
        bm.influence(object())
    res = bm.rma([0.1, 0.3, 0.2, 0.4], [0.01, 0.02, 0.01, 0.02], mods=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="btt"):
        bm.influence(res, btt=5)


def test_influence_row_is_nan_when_a_coefficient_becomes_inestimable():
    # a factor level with a single study: deleting it leaves a column of zeros (metafor: NA row)
    df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.4, 0.9], "vi": [0.01, 0.02, 0.01, 0.02, 0.03],
                       "g": ["a", "a", "a", "a", "b"]})
    res = bm.rma("yi", "vi", data=df, mods="~ factor(g)", method="DL")
    inf = bm.influence(res)
    assert np.isnan(inf.table["cook_d"].iloc[4]) and np.isfinite(inf.table["cook_d"].iloc[:4]).all()


# ---------------------------------------------------------------------------
# leave1out and cumul


@pytest.mark.parametrize("case", cases(V2, "influence"))
def test_leave1out_matches_metafor(case):
    l1o = bm.leave1out(fit(case)).table
    e = case["expect"]
    for key, col in (("l1o_estimate", "estimate"), ("l1o_se", "se"), ("l1o_ci_lb", "ci_lb"), ("l1o_ci_ub", "ci_ub"),
                     ("l1o_tau2", "tau2"), ("l1o_I2", "I2"), ("l1o_Q", "Q")):
        close(l1o[col], e[key])


@pytest.mark.parametrize("case", cases(TB, "leave1out"))
def test_leave1out_knha_matches_metafor(case):
    l1o = bm.leave1out(fit(case)).table
    assert ("tval" in l1o.columns) == (case["test"] == "knha")
    for col in ("estimate", "se", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2"):
        close(l1o[col], case["expect"][col])


@pytest.mark.parametrize("case", cases(V2, "cumul") + cases(TB, "cumul"))
def test_cumul_matches_metafor(case):
    res = fit(case)
    transf = {"exp": np.exp, None: None}[case.get("transf")]
    out = bm.cumul(res, order=case["order"], decreasing=bool(case.get("decreasing", False)), transf=transf)
    e = case["expect"]
    for col in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "pval", "Q", "Qp", "H2"):
        if col not in e or e[col] is None:
            continue
        if col == "se" and transf is not None:
            assert out.table["se"].isna().all()
            continue
        close(out.table[col], e[col], atol=1e-14)
    if res.method == "FE":
        assert "tau2" not in out.table.columns


def test_cumul_order_by_column_and_errors():
    res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL", labels=list("ABCD"))
    out = res.cumul(order=[3, 1, 2, 1])
    assert out.table.index.tolist() == ["B", "D", "C", "A"]  # ties keep the data order
    assert out.table.index.tolist()[::-1] != res.cumul(order=[3, 1, 2, 1], decreasing=True).table.index.tolist()
    assert res.cumul(order=[3, 1, 2, 1], decreasing=True).table.index.tolist() == ["A", "C", "B", "D"]
    with pytest.raises(ValueError, match="one per study"):
        res.cumul(order=[1, 2])
    with pytest.raises(ValueError, match="not a column"):
        res.cumul(order="year")
    mr = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], mods=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="without moderators"):
        bm.cumul(mr)
    with pytest.raises(ValueError, match="without moderators"):
        bm.leave1out(mr)


def test_step_results_print_which_analysis_they_are():
    res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    assert "frequentist" in repr(bm.leave1out(res)) and "omits one study" in repr(bm.leave1out(res))
    assert "adds one study" in repr(bm.cumul(res))


# ---------------------------------------------------------------------------
# anova, fitstats


@pytest.mark.parametrize("case", cases(V2, "anova"))
def test_anova_lrt_matches_metafor(case):
    full = fit(case, method="ML")
    reduced = fit(case, mods_key="none", method="ML")
    a = bm.anova(full, reduced)
    e = case["expect"]
    close(a.LRT, e["LRT"])
    close(a.pval, e["pval"])
    close(a.fit_stats_f["AIC"], e["AIC_full"])
    close(a.fit_stats_r["AIC"], e["AIC_reduced"])
    close(a.fit_stats_f["BIC"], e["BIC_full"])
    close(a.fit_stats_f["logLik"], e["logLik_full"])
    close(a.fit_stats_r["logLik"], e["logLik_reduced"])
    close(a.R2, e["R2"])
    # the order of the two models does not matter; the printout has metafor's columns
    assert bm.anova(reduced, full).LRT == a.LRT
    assert "LRT" in repr(a) and "R^2" in repr(a)
    close(bm.fitstats(full).loc["logLik", "ML"], e["logLik_full"])


@pytest.mark.parametrize("case", cases(TB, "anova"))
def test_anova_fe_models_matches_metafor(case):
    full, reduced = fit(case), fit(case, mods_key="mods_reduced")
    a = full.anova(reduced)
    for key in ("LRT", "pval", "R2"):
        close(getattr(a, key), case["expect"][key])
    close(a.fit_stats_f["AIC"], case["expect"]["AIC_full"])
    close(a.fit_stats_r["AIC"], case["expect"]["AIC_reduced"])


def test_anova_refuses_mismatched_models():
    df = pd.DataFrame({"yi": [0.1, 0.3, 0.35, -0.05, 0.2], "vi": [0.01, 0.02, 0.015, 0.03, 0.01],
                       "x": [1, 2, 3, 4, 5]})
    ml = bm.rma("yi", "vi", data=df, mods="~ x", method="ML")
    reml = bm.rma("yi", "vi", data=df, method="REML")
    with pytest.raises(ValueError, match="ML and REML|REML and ML"):
        bm.anova(ml, reml)
    with pytest.raises(ValueError, match="same number of parameters"):
        bm.anova(ml, ml)
    other = bm.rma([0.2, 0.3, 0.35, -0.05, 0.2], [0.01, 0.02, 0.015, 0.03, 0.01], method="ML")
    with pytest.raises(ValueError, match="differ"):
        bm.anova(ml, other)
    with pytest.warns(UserWarning, match="REML comparisons"):
        bm.anova(bm.rma("yi", "vi", data=df, mods="~ x"), reml)
    refit = bm.anova(bm.rma("yi", "vi", data=df, mods="~ x"), reml, refit=True)
    close(refit.LRT, bm.anova(ml, bm.rma("yi", "vi", data=df, method="ML")).LRT)


@pytest.mark.parametrize("case", cases(TB, "fitstats"))
def test_fitstats_wald_blup_ranef_match_metafor(case):
    res = fit(case)
    e = case["expect"]
    table = fit_stats_table(res)
    for crit in ("ll", "dev", "AIC", "BIC", "AICc"):
        close(table.loc[crit, "ML"], e[f"{crit}_ML"])
        close(table.loc[crit, "REML"], e[f"{crit}_REML"])
    close(res.fitstats().loc["AICc", "REML"], e["AICc_REML"])
    w = bm.anova(res, btt=e["wald_btt"])
    close(w.QM, e["wald_QM"])
    close(w.QMp, e["wald_QMp"])
    w_names = bm.anova(res, btt="factor(alloc)")
    close(w_names.QM, e["wald_QM"])
    lc = bm.anova(res, X=e["lincomb_X"])
    close(lc.table["estimate"], e["lincomb_est"])
    close(lc.table["se"], e["lincomb_se"])
    close(lc.table["pval"], e["lincomb_pval"])
    close(lc.QM, e["lincomb_QM"])
    b, r = res.blup(), res.ranef()
    for col in ("pred", "se", "pi_lb", "pi_ub"):
        close(b[col], e[f"blup_{col}"], atol=1e-14)
        close(r[col], e[f"ranef_{col}"], atol=1e-14)


def test_wald_default_is_the_moderator_test():
    res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.2], [0.01, 0.02, 0.015, 0.03, 0.01], mods=[1, 2, 3, 4, 5])
    w = bm.anova(res)
    close(w.QM, res.QM)
    close(w.QMp, res.QMp)
    with pytest.raises(ValueError, match="btt"):
        bm.anova(res, btt=3)
    with pytest.raises(ValueError, match="columns"):
        bm.anova(res, X=[[1, 2, 3]])


# ---------------------------------------------------------------------------
# predict, blup


@pytest.mark.parametrize("case", cases(V2, "predict"))
def test_predict_and_blup_match_metafor(case):
    res = fit(case)
    p = res.predict(newmods=case["newmods"])
    e = case["expect"]
    for col in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        close(p[col], e[col])
    b = bm.blup(fit(case, mods_key="none"))
    for col in ("pred", "se", "pi_lb", "pi_ub"):
        close(b[col], e[f"blup_{col}"])


@pytest.mark.parametrize("case", cases(TB, "predict"))
def test_predict_transf_knha_matches_metafor(case):
    res = fit(case)
    p = res.predict(newmods=case["newmods"], transf=np.exp)
    e = case["expect"]
    for col in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        close(p[col], e[col])
    assert p["se"].isna().all()
    r = res.ranef(transf=np.exp)
    close(r["pred"], e["ranef_pred"])
    close(r["pi_lb"], e["ranef_pi_lb"])
    close(r["pi_ub"], e["ranef_pi_ub"])


def test_transf_swaps_bounds_of_a_decreasing_function():
    res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    p = res.predict(transf=lambda x: -x)
    assert (p["ci_lb"] < p["ci_ub"]).all() and (p["pi_lb"] < p["pi_ub"]).all()
    with pytest.raises(TypeError, match="transf"):
        res.predict(transf="exp")


# ---------------------------------------------------------------------------
# rma regressions from bug reports (kind rma)


@pytest.mark.parametrize("case", cases(V2, "rma"))
def test_rma_regressions_match_metafor(case):
    yi, vi = np.atleast_1d(case["input"]["yi"]), np.atleast_1d(case["input"]["vi"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma(yi, vi, method=case["method"], test=case["test"])
    e = case["expect"]
    for key in ("beta", "se", "ci_lb", "ci_ub", "pval"):
        close(np.atleast_1d(getattr(res, key))[0], e[key])
    close(res.tau2, e["tau2"], atol=1e-12)


@pytest.mark.parametrize("case", cases(TB, "anova.mv"))
def test_anova_of_three_level_fits_matches_metafor(case):
    i = case["input"]
    df = pd.DataFrame({"yi": i["yi"], "vi": i["vi"], "district": i["district"], "school": i["school"],
                       "year": i["year"]})
    full = bm.rma_mv("yi", "vi", data=df, cluster="district", labels="school", mods=case["mods"], method="ML")
    reduced = bm.rma_mv("yi", "vi", data=df, cluster="district", labels="school", method="ML")
    a = bm.anova(full, reduced)
    e = case["expect"]
    close(a.LRT, e["LRT"])
    close(a.pval, e["pval"])
    for key, got in (("AIC_full", a.fit_stats_f["AIC"]), ("AIC_reduced", a.fit_stats_r["AIC"]),
                     ("BIC_full", a.fit_stats_f["BIC"]), ("AICc_full", a.fit_stats_f["AICc"]),
                     ("logLik_full", a.fit_stats_f["logLik"])):
        close(got, e[key])
    assert np.isnan(a.R2)
    close(bm.fitstats(full).loc["AIC", "ML"], e["AIC_full"])


def test_diagnostics_refuse_three_level_and_bayesian_fits():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    mv = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    for fn in (bm.influence, bm.leave1out, bm.cumul, bm.baujat_values):
        with pytest.raises(TypeError, match="three-level"):
            fn(mv)

    class Posterior:  # a Bayesian fit has no design matrix nor refit()
        spec = None

    with pytest.raises(TypeError, match="leave_one_out"):
        bm.leave1out(Posterior())


def test_summary_transf_back_transforms_estimate_and_interval():
    res = bm.rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.03])
    s, t = res.summary(), res.summary(transf=np.exp)
    close(t[["estimate", "ci_lb", "ci_ub"]].to_numpy(), np.exp(s[["estimate", "ci_lb", "ci_ub"]].to_numpy()))
    assert t["se"].isna().all()
    close(t["pval"], s["pval"])


def test_bayesian_leave_one_out_points_to_the_frequentist_function():
    res = bm.rma([0.1, 0.3, 0.2, 0.4], [0.01, 0.02, 0.01, 0.02])
    with pytest.raises(TypeError, match=r"bm.leave1out\(res\)"):
        bm.leave_one_out(res)
    with pytest.raises(TypeError, match=r"bm.cumul\(res\)"):
        bm.cumulative(res)
