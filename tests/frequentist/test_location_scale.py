"""Location-scale meta-analysis, rma(scale=), against metafor's rma.ls (R 4.2.2, metafor 3.8.1).

Cases: kind ``location_scale`` of metafor_cases_v3.json (REML, scale = ~ logni; mods = ~ length with
scale = ~ meta) and metafor_location_scale.json (made by metafor_location_scale.R: ML, a factor scale
moderator, Knapp-Hartung tests, two location and two scale moderators, the identity link, and fits of
dat.bcg and dat.raudenbush1985). metafor
optimises numerically, so the numbers must agree within 1e-4 relative and our (restricted)
log-likelihood must be >= metafor's - 1e-6; the identity-link references were refitted by metafor
with tight tolerances, and we must also beat metafor's default-tolerance optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.errors import InputError
from bayesma.frequentist.location_scale import LocationScaleResult, _profile

CASES = ([c for c in load_json("metafor/metafor_cases_v3.json")["cases"] if c["kind"] == "location_scale"]
         + [c for c in load_json("metafor/metafor_location_scale.json")["cases"] if c["kind"] == "location_scale"])
VECTOR = next(c for c in load_json("metafor/metafor_location_scale.json")["cases"] if c["kind"] == "location_scale_matrix")

FIELDS = {"beta": "beta", "se": "se", "ci_lb": "ci_lb", "ci_ub": "ci_ub", "stat": "stat", "pval": "pval",
          "QM": "QM", "QMp": "QMp", "alpha": "alpha", "se_alpha": "se_alpha", "zval_alpha": "zval_alpha",
          "pval_alpha": "pval_alpha", "ci_lb_alpha": "ci_lb_alpha", "ci_ub_alpha": "ci_ub_alpha", "QS": "QS",
          "QSp": "QSp", "tau2": "tau2", "QE": "QE", "QEp": "QEp", "logLik": "loglik"}


def fit_case(case: dict) -> LocationScaleResult:
    """The rma call of a reference case (its R call is in case['call'])."""
    return bm.rma("yi", "vi", mods=case.get("mods"), scale=case["scale"], method=case["method"],
                  test=case.get("test", "z"), link=case.get("link", "log"), data=pd.DataFrame(case["input"]))


@pytest.fixture(scope="module")
def fits() -> dict[str, LocationScaleResult]:
    return {c["name"]: fit_case(c) for c in CASES}


def test_every_reference_kind_is_covered():
    names = {c["name"] for c in CASES}
    assert len(names) == 12
    assert {c["method"] for c in CASES} == {"REML", "ML"}
    assert {c.get("link", "log") for c in CASES} == {"log", "identity"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_metafor(case, fits):
    res = fits[case["name"]]
    assert res.converged
    exp = case["expect"]
    for key, attr in FIELDS.items():
        if key not in exp:
            continue
        want = np.atleast_1d(np.asarray(exp[key], dtype=float))
        got = np.atleast_1d(np.asarray(getattr(res, attr), dtype=float))
        assert got.shape == want.shape, key
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-10, err_msg=key)
    assert res.loglik >= exp["logLik"] - 1e-6
    if "logLik_default_control" in exp:
        assert res.loglik >= exp["logLik_default_control"] - 1e-6
    if "k" in exp:
        assert res.k == exp["k"]
    if "scale_names" in exp:
        assert res.scale_names == list(np.atleast_1d(exp["scale_names"]))


@pytest.mark.parametrize("case", [c for c in CASES if "AIC" in c["expect"]],
                         ids=[c["name"] for c in CASES if "AIC" in c["expect"]])
def test_fitstats_match_metafor(case, fits):
    fs = fits[case["name"]].fitstats()[case["method"]]
    exp = case["expect"]
    for key in ("deviance", "AIC", "BIC", "AICc"):
        assert fs[key] == pytest.approx(exp[key], rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize("method", ["ML", "REML"])
@pytest.mark.parametrize("link", ["log", "identity"])
def test_analytic_derivatives_agree_with_finite_differences(method, link):
    case = CASES[1]
    df = pd.DataFrame(case["input"])
    yi, vi = df["yi"].to_numpy(), df["vi"].to_numpy()
    X = np.column_stack([np.ones(len(df)), df["length"]])
    Z = np.column_stack([np.ones(len(df)), df["meta"]])
    alpha = np.array([-3.0, 1.0]) if link == "log" else np.array([0.05, 0.02])
    f, g, H = _profile(alpha, yi, vi, X, Z, method == "REML", link)
    h = 1e-5 * np.maximum(1.0, np.abs(alpha))
    for j in range(2):
        e = np.zeros(2)
        e[j] = h[j]
        fp, gp, _ = _profile(alpha + e, yi, vi, X, Z, method == "REML", link)
        fm, gm, _ = _profile(alpha - e, yi, vi, X, Z, method == "REML", link)
        assert g[j] == pytest.approx((fp - fm) / (2 * h[j]), rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(H[:, j], (gp - gm) / (2 * h[j]), rtol=1e-5, atol=1e-7)


def test_intercept_only_scale_is_the_random_effects_model():
    """scale = ~ 1 with the log link: tau² = exp(alpha) is rma's REML/ML estimate (an analytic limit)."""
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    for method in ("REML", "ML"):
        ls = bm.rma("yi", "vi", scale="~ 1", method=method, data=dat)
        re = bm.rma("yi", "vi", method=method, data=dat)
        np.testing.assert_allclose(ls.tau2, re.tau2, rtol=1e-6)
        assert ls.beta[0] == pytest.approx(re.beta[0], rel=1e-6)
        assert ls.se[0] == pytest.approx(re.se[0], rel=1e-6)
        assert ls.loglik == pytest.approx(re.loglik, rel=1e-8)
        assert np.isnan(ls.QS) or ls.q == 1


def test_printout_and_summary(fits):
    res = fits["bangertdrowns_ls_length_meta"]
    text = repr(res)
    for piece in ("Location-Scale Model (k = 44; tau^2 estimator: REML", "Model Results (Location):",
                  "Test of Scale Coefficients (coefficient 2):", "QS(df = 1) = 1.6561, p-val = 0.1981",
                  "Model Results (Scale):", "QM(df = 1) = 4.1021, p-val = 0.0428"):
        assert piece in text
    table = res.summary()
    assert list(table.index.get_level_values("part")) == ["location"] * 2 + ["scale"] * 2
    assert table.loc[("scale", "meta"), "estimate"] == pytest.approx(res.alpha[1])
    knha = fits["bangertdrowns_ls_length_grade_ML_knha"]
    assert "F(df1 = 3, df2 = 42)" in repr(knha) and "tval" in knha.summary().columns


def test_scale_without_intercept_uses_r_names():
    """scale = ~ factor(tester) - 1: one log tau² per level, named as R names them."""
    rau = bm.load_dataset("dat.raudenbush1985")
    res = bm.rma("yi", "vi", scale="~ factor(tester) - 1", data=rau)
    assert res.scale_names == ["factor(tester)aware", "factor(tester)blind"]
    for level, j in (("aware", 0), ("blind", 1)):
        sub = rau[rau["tester"] == level]
        # one tau² per group, but a common mean: compare the group tau² against the likelihood directly
        assert res.tau2[rau["tester"].to_numpy() == level][0] == pytest.approx(np.exp(res.alpha[j]))
        assert len(sub) > 0


def test_scale_as_a_matrix_is_used_as_given():
    """A matrix is the scale design itself (no intercept added, as metafor); a column of ones is
    moved to the front and named intrcpt, giving the formula's fit."""
    dat = bm.load_dataset("dat.bangertdrowns2004")
    logni = np.log(dat["ni"].to_numpy())
    by_formula = bm.rma("yi", "vi", scale="~ logni", data=dat.assign(logni=logni))
    by_matrix = bm.rma("yi", "vi", scale=np.column_stack([logni, np.ones(len(dat))]), data=dat)
    assert by_matrix.scale_names == ["intrcpt", "mod1"]
    np.testing.assert_allclose(by_matrix.alpha, by_formula.alpha, rtol=1e-8)
    inp = VECTOR["input"]
    no_intercept = bm.rma(inp["yi"], inp["vi"], scale=np.asarray(inp["logni"]))
    assert no_intercept.q == 1 and no_intercept.scale_names == ["mod1"]
    exp = VECTOR["expect"]  # metafor: rma(yi, vi, scale = log(ni))
    for key in ("alpha", "se_alpha", "beta"):
        np.testing.assert_allclose(getattr(no_intercept, key), exp[key], rtol=1e-4, err_msg=key)
    assert no_intercept.loglik >= exp["logLik"] - 1e-6


def test_result_is_immutable(fits):
    res = fits["bangertdrowns_ls_logni"]
    with pytest.raises(AttributeError):
        res.alpha = np.zeros(2)


@pytest.mark.parametrize("kwargs, word", [
    ({"method": "DL"}, "REML"), ({"method": "FE"}, "REML"), ({"tau2": 0.1}, "tau2="),
    ({"cluster": "id"}, "cluster="), ({"link": "logit"}, "link"), ({"test": "hksj"}, "test"),
])
def test_arguments_the_model_cannot_use_are_errors(kwargs, word):
    dat = bm.load_dataset("dat.bangertdrowns2004")
    with pytest.raises(InputError, match=word):
        bm.rma("yi", "vi", scale="~ ni", data=dat, **kwargs)


def test_link_without_scale_is_an_error():
    dat = bm.load_dataset("dat.bangertdrowns2004")
    with pytest.raises(InputError, match="scale="):
        bm.rma("yi", "vi", link="log", data=dat)


def test_missing_scale_moderator_names_the_study():
    dat = bm.load_dataset("dat.bangertdrowns2004")
    with pytest.raises(InputError, match="meta"):
        bm.rma("yi", "vi", scale="~ meta", data=dat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma("yi", "vi", scale="~ meta", data=dat, missing="drop")
    assert res.k == 46 and res.tau2.shape == (46,)


def test_too_few_studies_is_an_error():
    dat = bm.load_dataset("dat.bangertdrowns2004").iloc[:3]
    with pytest.raises(InputError, match="studies"):
        bm.rma("yi", "vi", mods="~ ni", scale="~ ni", data=dat)
