"""Coefficient names are R's (metafor 3.8.1, model.matrix) and one resolver reads btt= by number or
name in anova, influence, permutest and wald_test (reference: metafor/metafor_coef_names.json)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.coefs import resolve_btt

REF = load_json("metafor/metafor_coef_names.json")
# formulas bayesma refuses with a typed error rather than guess (an expression inside factor(), relevel)
UNSUPPORTED = {"~ ablat + factor(year > 1960)", "~ relevel(factor(alloc), ref = 'random')"}


@pytest.fixture(scope="module")
def bcg():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    dat["era"] = np.where(dat["year"] < 1960, "early", "late")
    return dat


def _fit(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", mods=formula, data=data)


@pytest.mark.parametrize("case", REF["formulas"], ids=[c["formula"] for c in REF["formulas"]])
def test_names_and_estimates_are_metafors(case, bcg):
    if case["formula"] in UNSUPPORTED:
        with pytest.raises(bm.InputError):
            _fit(case["formula"], bcg)
        return
    res = _fit(case["formula"], bcg)
    assert res.coef_names == case["coef_names"]
    np.testing.assert_allclose(res.beta, case["beta"], rtol=1e-5)


def test_a_power_inside_i_is_a_power_not_python_xor(bcg):
    res = _fit("~ I(ablat^2)", bcg)
    ref = _fit("~ I(ablat**2)", bcg)
    assert res.coef_names == ref.coef_names == ["intrcpt", "I(ablat^2)"]
    np.testing.assert_allclose(res.X[:, 1], bcg["ablat"].to_numpy(float) ** 2)


@pytest.mark.parametrize("case", REF["interaction_model"]["btt"], ids=lambda c: str(c["btt"]))
def test_anova_btt_by_name_or_number_as_metafor(case, bcg):
    res = _fit("~ ablat*alloc", bcg)
    assert res.coef_names == REF["interaction_model"]["coef_names"]
    btt = case["btt"]
    chosen = resolve_btt(btt, res.coef_names)
    assert [j + 1 for j in chosen] == list(np.atleast_1d(case["idx"]))
    assert bm.anova(res, btt=btt).QM == pytest.approx(case["QM"], rel=1e-6)


def test_every_btt_argument_reads_names_and_numbers_alike(bcg):
    res = _fit("~ ablat*alloc", bcg)
    by_name, by_number = ["allocrandom", "allocsystematic"], [3, 4]
    assert bm.anova(res, btt=by_name).QM == bm.anova(res, btt=by_number).QM
    inf_name, inf_number = res.influence(btt=by_name), res.influence(btt=by_number)
    np.testing.assert_array_equal(inf_name.table["cook_d"], inf_number.table["cook_d"])
    pt = bm.permutest(res, iter=50, seed=1, btt=by_name)
    assert pt.QM == pytest.approx(bm.anova(res, btt=by_number).QM, rel=1e-12)
    assert pt.QM_perm[0] == pytest.approx(pt.QM, rel=1e-10)  # the observed data come first
    wald_name = bm.wald_test(res, constraints=by_name, cluster=bcg["trial"].to_numpy(), vcov="CR0", test="chi-sq")
    wald_number = bm.wald_test(res, constraints=by_number, cluster=bcg["trial"].to_numpy(), vcov="CR0",
                               test="chi-sq")
    assert wald_name["Fstat"].iloc[0] == wald_number["Fstat"].iloc[0]


@pytest.mark.parametrize("btt,err", [(0, "1..6"), (7, "1..6"), ("nope", "no coefficient matches"), ([], "empty"),
                                     (True, "boolean")])
def test_a_bad_btt_is_a_typed_error(btt, err, bcg):
    res = _fit("~ ablat*alloc", bcg)
    for call in (lambda: bm.anova(res, btt=btt), lambda: res.influence(btt=btt),
                 lambda: bm.wald_test(res, constraints=btt, cluster=bcg["trial"].to_numpy())):
        with pytest.raises((bm.InputError, TypeError), match=err):
            call()


@pytest.mark.parametrize("formula", ["~ 0 + alloc", "~ ablat:alloc", "~ ablat + I(ablat^2)", "~ factor(alloc) - 1"])
def test_bayesian_rows_carry_the_same_r_names(formula, bcg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = bm.MetaAnalysis(bcg, yi="yi", vi="vi", mods=formula).spec
    assert spec.coef_names == _fit(formula, bcg).coef_names
