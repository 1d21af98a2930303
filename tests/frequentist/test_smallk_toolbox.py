"""Prediction-interval variants, permutation tests and the test of excess significance against
metafor 3.8.1 (tests/data/reference/metafor/metafor_smallk_tools.json, made by the R script beside it)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

REF = REFERENCE_DIR / "metafor/metafor_smallk_tools.json"
CASES = json.loads(REF.read_text())["cases"]


def by_kind(kind):
    return [pytest.param(c, id=c["name"]) for c in CASES if c["kind"] == kind]


def fit(case):
    dat = pd.DataFrame(case["input"])
    if case.get("rows"):
        dat = dat.iloc[[r - 1 for r in case["rows"]]]
    return bm.rma("yi", "vi", data=dat, mods=case.get("mods"), method=case["method"], test=case["test"])


@pytest.mark.parametrize("case", by_kind("predict_pi_type"))
def test_prediction_interval_variants_match_metafor(case):
    res = fit(case)
    for pi_type, expect in case["expect"].items():
        out = res.predict(newmods=case.get("newmods"), pi_type=pi_type)
        for col in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            np.testing.assert_allclose(out[col].to_numpy(), np.atleast_1d(expect[col]), rtol=1e-6, atol=1e-10,
                                       err_msg=f"{pi_type} {col}")
        if expect["pi_ddf"] is not None:
            assert np.all(out["pi_df"].to_numpy() == np.atleast_1d(expect["pi_ddf"]))
        assert out.attrs["pi_type"] == (pi_type if pi_type != "default" else "default")


def test_meta_hk_variants_equal_metafor_knha_fits():
    # meta's "HK" / "HK-PR" on a z-test fit = metafor's t / riley intervals of the knha fit
    case = next(c for c in CASES if c["name"] == "bcg_REML_knha")
    res = fit({**case, "test": "z"})
    for ours, theirs in (("HK", "t"), ("HK-PR", "riley")):
        out = res.predict(pi_type=ours)
        assert out["pi_lb"].iloc[0] == pytest.approx(case["expect"][theirs]["pi_lb"], rel=1e-6)
        assert out["pi_ub"].iloc[0] == pytest.approx(case["expect"][theirs]["pi_ub"], rel=1e-6)


def test_predtype_is_metafor5s_name_and_bad_values_are_errors():
    case = next(c for c in CASES if c["name"] == "bcg_REML_z")
    res = fit(case)
    assert res.predict(predtype="t")["pi_lb"].iloc[0] == pytest.approx(case["expect"]["t"]["pi_lb"], rel=1e-8)
    with pytest.raises(ValueError, match="pi_type must be one of"):
        res.predict(pi_type="KR")
    with pytest.raises(ValueError, match="not both"):
        res.predict(pi_type="t", predtype="t")


def test_newmods_must_fit_the_model():
    case = next(c for c in CASES if c["name"] == "bcg_REML_z_ablat")
    res = fit(case)
    with pytest.raises(ValueError, match="1 moderator"):
        res.predict(newmods=np.array([[1.0, 30.0], [1.0, 40.0]]))  # read as (intercept, x) before
    intercept_only = fit(next(c for c in CASES if c["name"] == "bcg_REML_z"))
    with pytest.raises(ValueError, match="no moderators"):
        intercept_only.predict(newmods=[10.0])


@pytest.mark.parametrize("case", by_kind("permutest"))
def test_exact_permutation_tests_match_metafor(case):
    pt = bm.permutest(fit(case), exact=True)
    assert pt.exact
    assert pt.iter == case["expect"]["iter"]
    np.testing.assert_allclose(pt.pval, np.atleast_1d(case["expect"]["pval"]), rtol=1e-12)
    assert pt.QMp == pytest.approx(case["expect"]["QMp"], rel=1e-12)
    assert pt.QM == pytest.approx(case["expect"]["QM"], rel=1e-6)


def test_random_permutations_are_reproducible_and_near_the_exact_p():
    case = next(c for c in CASES if c["name"] == "permutest_bcg_ablat_year_k7")
    res = fit(case)
    a = bm.permutest(res, iter=2000, seed=3)
    b = bm.permutest(res, iter=2000, seed=3)
    assert not a.exact and a.iter == 2000
    np.testing.assert_array_equal(a.pval, b.pval)
    exact = np.asarray(case["expect"]["pval"])
    # binomial Monte Carlo error of a p-value from 2000 permutations
    assert np.all(np.abs(a.pval - exact) < 4 * np.sqrt(exact * (1 - exact) / 2000) + 1e-3)


def test_permutest_uses_the_exact_test_when_it_is_small():
    case = next(c for c in CASES if c["name"] == "permutest_bcg_intercept_DL_k6")
    pt = bm.permutest(fit(case), iter=1000, seed=1)  # 2^6 = 64 <= 1000: exact, as metafor
    assert pt.exact and pt.iter == 64
    assert "exact" in repr(pt)


def test_permutest_bad_arguments():
    res = fit(next(c for c in CASES if c["name"] == "bcg_REML_z"))
    with pytest.raises(ValueError, match="iter"):
        bm.permutest(res, iter=1)
    with pytest.raises(ValueError, match="seed"):
        bm.permutest(res, seed=-1)
    with pytest.raises(TypeError, match="bayesma.rma"):
        bm.permutest("not a fit")


@pytest.mark.parametrize("case", by_kind("tes"))
def test_excess_significance_matches_metafor(case):
    i, e = case["input"], case["expect"]
    t = bm.tes(i["yi"], i["vi"], test=case["test"], tes_alternative=case["tes_alternative"], theta=case["theta"])
    assert (t.O, t.k) == (e["O"], len(i["yi"]))
    assert t.E == pytest.approx(e["E"], rel=1e-10)
    assert t.OEratio == pytest.approx(e["OEratio"], rel=1e-10)
    assert t.pval == pytest.approx(e["pval"], rel=1e-8)
    np.testing.assert_allclose(t.power, e["power"], rtol=1e-10)
    if e["X2"] is not None:
        assert t.X2 == pytest.approx(e["X2"], rel=1e-10)
    # metafor finds theta_lim with uniroot's default tolerance (~1e-4); ours is a tight root
    np.testing.assert_allclose(np.atleast_1d(t.theta_lim), np.atleast_1d(e["theta_lim"]), atol=1e-4)


def test_theta_lim_is_where_the_p_value_equals_tes_alpha():
    case = next(c for c in CASES if c["name"] == "tes_dorn2007_exact_greater")
    i = case["input"]
    t = bm.tes(i["yi"], i["vi"], test="exact")
    at_lim = bm.tes(i["yi"], i["vi"], test="exact", theta=t.theta_lim, find_lim=False)
    assert at_lim.pval == pytest.approx(0.10, abs=1e-9)


def test_sunset_values_and_plot():
    case = next(c for c in CASES if c["name"] == "tes_dorn2007_exact_greater")
    i = case["input"]
    s = bm.sunset_values(i["yi"], i["vi"])
    # the power of each study is metafor's tes() power at the same theta (two-sided tests)
    np.testing.assert_allclose(s.power, case["expect"]["power"], rtol=1e-10)
    assert s.median_power == pytest.approx(np.median(case["expect"]["power"]))
    assert s.r_index == pytest.approx(2 * s.median_power - 10 / 19)
    fig = s.plot()
    assert fig.axes[0].get_ylabel() == "Standard error"
