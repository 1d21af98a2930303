"""Publication-bias tools on dependent effects: the Egger sandwich and multilevel PET-PEESE against
metafor + clubSandwich (tests/data/reference/clubsandwich/clubsandwich_bias.json), and the methods that assume
independent effects refusing an rma_mv fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm

CASES = {c["name"]: c for c in load_json("clubsandwich/clubsandwich_bias.json")["cases"]}


def close(actual, expected, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol)


@pytest.fixture(scope="module")
def three_level():
    case = CASES["konstantopoulos2011_three_level"]
    df = pd.DataFrame(case["input"])
    return case, bm.rma_mv("yi", "vi", data=df, cluster="district", labels="school")


def _check_table(table, exp):
    close(table["beta"], exp["beta"], 1e-6)  # metafor's optimiser stops early: its logLik is checked below
    close(table["SE"], exp["se"])
    close(table["tstat"], exp["tstat"])
    close(table["df_Satt"], exp["df"])
    close(table["p_Satt"], exp["pval"], 1e-5)  # a p-value of 0.003 magnifies metafor's early stop (1e-7 in beta)


def test_egger_sandwich_equals_clubsandwich(three_level):
    case, res = three_level
    eg = bm.egger_test(res)
    exp = case["expect"]["egger"]
    _check_table(eg.summary(), exp)
    close([eg.slope, eg.se, eg.tstat, eg.df, eg.pval], [exp[k][1] for k in ("beta", "se", "tstat", "df", "pval")])
    close([eg.b, eg.ci_lb, eg.ci_ub], [exp["beta"][0], exp["ci_lb"][0], exp["ci_ub"][0]])
    close(eg.fit.sigma2, exp["sigma2"], 1e-6)
    assert eg.n_clusters == 11
    assert "t = -1.3954, df = 4.69" in repr(eg)


def test_multilevel_pet_peese_equals_clubsandwich(three_level):
    case, res = three_level
    pp = bm.pet_peese(res)
    _check_table(pp.pet_coef, case["expect"]["egger"])
    _check_table(pp.peese_coef, case["expect"]["peese"])
    pet = case["expect"]["egger"]
    # PET's intercept: t = 1.975 on 6.77 df, one-sided p = 0.045 < 0.05 -> PEESE
    from scipy import stats
    close(pp.pet_pval_one_sided, stats.t.sf(pet["tstat"][0], pet["df"][0]))
    assert pp.chosen == "PEESE"
    peese = case["expect"]["peese"]
    close([pp.estimate, pp.se, pp.ci_lb, pp.ci_ub], [peese["beta"][0], peese["se"][0], peese["ci_lb"][0],
                                                      peese["ci_ub"][0]])
    assert bm.pet_peese(res, alpha=0.01).chosen == "PET"
    assert bm.pet_peese(res, alternative="less").chosen == "PET"
    assert "-> PEESE" in repr(pp)
    assert list(pp.summary().index.get_level_values("model").unique()) == ["PET", "PEESE"]


def test_pet_peese_of_a_regression_is_refused(three_level):
    case, _ = three_level
    df = pd.DataFrame(case["input"])
    res = bm.rma_mv("yi", "vi", data=df.assign(x=np.arange(len(df)) % 3), cluster="district", labels="school",
                    mods="~ x")
    with pytest.raises(ValueError, match="needs a model without moderators"):
        bm.pet_peese(res)
    eg = bm.egger_test(res)  # the Egger sandwich keeps the moderators
    assert list(eg.summary().index) == ["intrcpt", "x", "sei"]


@pytest.mark.parametrize("name", ["trimfill", "ranktest", "fsn", "hc"])
def test_methods_for_independent_effects_refuse_an_rma_mv_fit(three_level, name):
    _, res = three_level
    with pytest.raises(TypeError, match=rf"{name}\(\) assumes independent effects and cannot take an rma_mv fit.*"
                                        r"bm\.egger_test\(res\).*bm\.pet_peese\(res\)"):
        getattr(bm, name)(res)


def test_selmodel_refuses_an_rma_mv_fit(three_level):
    _, res = three_level
    with pytest.raises(TypeError, match=r"selmodel\(\) assumes independent effects"):
        bm.selmodel(res, type="stepfun", steps=[0.025, 1])


@pytest.fixture(scope="module")
def che():
    case = CASES["assink2016_che_rho06"]
    df = pd.DataFrame(case["input"])
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
    return case, bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)


def test_egger_sandwich_on_a_che_model_equals_clubsandwich(che):
    case, res = che
    eg = bm.egger_test(res)
    _check_table(eg.summary(), case["expect"]["egger"])
    close(eg.fit.sigma2, case["expect"]["egger"]["sigma2"], 1e-5)
    assert eg.fit.logLik >= case["expect"]["egger"]["logLik"] - 1e-6
    assert eg.n_clusters == 17


def test_multilevel_pet_peese_on_a_che_model(che):
    case, res = che
    pp = bm.pet_peese(res)
    _check_table(pp.pet_coef, case["expect"]["egger"])
    _check_table(pp.peese_coef, case["expect"]["peese"])
    assert pp.peese.logLik >= case["expect"]["peese"]["logLik"] - 1e-6
    assert pp.chosen == "PET"  # PET's intercept 0.060, t = 0.875 on 10.0 df: not significant


def test_fixed_components_are_not_refitted_silently(three_level):
    case, _ = three_level
    df = pd.DataFrame(case["input"])
    res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", sigma2=[0.05, None], data=df)
    with pytest.raises(ValueError, match="fixed variance components"):
        bm.egger_test(res)
