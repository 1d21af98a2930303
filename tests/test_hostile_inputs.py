"""Hostile inputs that crashed with a traceback or gave a number without a word: each is now a
typed error naming the argument or study, or the right number."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

SMALL = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03]})


def test_a_subnormal_variance_is_an_input_error_naming_the_study():
    with pytest.raises(bm.InputError, match=r"row 1.*too small to compute with") as err:
        bm.rma([0.1, 0.2, 0.3], [1e-320, 0.01, 0.02])
    assert err.value.column == "vi"


def test_an_absurd_fixed_tau2_gives_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma([0.1, 0.2, 0.3], [0.01, 0.01, 0.02], tau2=1e300)
    assert res.beta[0] == pytest.approx(0.2)  # equal weights
    assert res.se[0] == pytest.approx(np.sqrt(1e300 / 3), rel=1e-10)
    assert np.isinf(res.se_tau2)


def test_a_normal_prior_with_a_huge_scale_is_flat_in_the_exact_engine():
    huge = bm.MetaAnalysis(SMALL, yi="yi", vi="vi", priors={"mu": bm.priors.Normal(0, 1e300)}).fit(
        engine="exact", seed=1)
    flat = bm.MetaAnalysis(SMALL, yi="yi", vi="vi", priors={"mu": bm.priors.Normal(0, 1e6)}).fit(engine="exact", seed=1)
    assert huge.summary().loc["mu", "mean"] == pytest.approx(flat.summary().loc["mu", "mean"], abs=1e-6)


@pytest.mark.parametrize("arg", ["tau_priors", "mu_priors"])
def test_compare_priors_with_no_priors_is_an_input_error(arg):
    with pytest.raises(bm.InputError, match=f"{arg} is empty"):
        bm.compare_priors(data=SMALL, yi="yi", vi="vi", **{arg: []})


@pytest.mark.parametrize("kwargs,name", [({"draws": 0}, "draws"), ({"replicates": 0}, "replicates"),
                                         ({"draws": 2.5}, "draws")])
def test_robma_needs_draws_and_replicates(kwargs, name):
    with pytest.raises(bm.InputError, match=f"{name} must be an integer"):
        bm.robma(bm.load_dataset("dat.lehmann2018"), yi="yi", vi="vi", **kwargs)


def test_an_infinite_moderator_in_a_formula_names_the_study():
    df = pd.DataFrame({"yi": [0.1, 0.2, 0.3, 0.4], "vi": [0.01] * 4, "x": [1.0, 2.0, np.inf, 3.0]})
    with pytest.raises(bm.InputError, match=r"row 3.*non-finite") as err:
        bm.rma("yi", "vi", mods="~ x", data=df)
    assert err.value.row == 3 and err.value.column == "x"
    with pytest.raises(bm.InputError, match=r"log\(x\).*row 1"):
        bm.rma("yi", "vi", mods="~ log(x)", data=df.assign(x=[0.0, 1.0, 2.0, 3.0]))


def test_an_infinite_bayes_factor_is_inf_without_a_numpy_warning():
    df = pd.DataFrame({"yi": [5.0, 5.2, 4.9, 5.1, 5.3, 30.0], "vi": [0.001] * 6})
    model = bm.MetaAnalysis(df, yi="yi", vi="vi", priors={"mu": "normal(0, 1)"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = bm.exact.bayes_factors(model)
    assert np.isinf(table.loc["heterogeneity", "BF10"]) and table.loc["heterogeneity", "BF01"] == 0.0
    assert np.isfinite(table.loc["heterogeneity", "log_BF10"])


def test_robma_inclusion_bf_beyond_the_float_range_is_inf():
    from bayesma.bias.tables import class_bayes_factor

    row = class_bayes_factor(np.array([0.5, 0.5]), np.array([900.0, 0.0]), np.zeros(2), np.array([True, False]))
    assert row["inclusion_BF"] == np.inf and row["log_BF"] == pytest.approx(900.0)


def test_fit_many_drops_missing_studies_per_group_and_reports_the_fitted_k():
    d = pd.DataFrame({"yi": [0.1, 0.2, np.nan, 0.3, 0.1, 0.2, 0.4], "vi": [0.01] * 7, "o": list("aaabbbb")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = bm.fit_many(d, by="o", yi="yi", vi="vi", engine="exact", missing="drop", seed=1)
        alone = bm.MetaAnalysis(d.iloc[:2], yi="yi", vi="vi").fit(engine="exact", seed=1)
    assert (many.groups["error"] == "").all()
    assert many.groups.loc["a", "k"] == 2
    assert many.groups.loc["a", "mu_mean"] == pytest.approx(alone.summary().loc["mu", "mean"], rel=1e-8)
    assert "dropped 1" in many.groups.loc["a", "warnings"]


def test_fit_many_takes_a_level_as_rma_does():
    d = pd.DataFrame({"yi": [0.1, 0.2, 0.4, 0.3, 0.1, 0.2], "vi": [0.01] * 6, "o": list("aaabbb")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pct = bm.fit_many(d, by="o", yi="yi", vi="vi", engine="exact", level=95, seed=1).groups
        frac = bm.fit_many(d, by="o", yi="yi", vi="vi", engine="exact", level=0.95, seed=1).groups
    pd.testing.assert_frame_equal(pct, frac)
    with pytest.raises(bm.InputError, match="level"):
        bm.fit_many(d, by="o", yi="yi", vi="vi", engine="exact", level=1.5)


@pytest.mark.parametrize("target", [np.nan, np.inf, "half"])
def test_fsn_target_must_be_a_finite_number(target):
    with pytest.raises(bm.InputError, match="target must be a finite number"):
        bm.fsn([0.1, 0.2, 0.3], [0.01, 0.01, 0.02], type="Orwin", target=target)


@pytest.mark.parametrize("y,v,cell", [([[0.1, np.nan]], [[0.01, 0.02]], r"y\[0, 1\]"),
                                      ([[0.1, 0.2]], [[np.inf, 0.01]], r"v\[0, 0\]"),
                                      ([[0.1, 0.2]], [[0.0, 0.01]], r"v\[0, 0\]")])
def test_batch_summaries_names_a_non_finite_cell_instead_of_a_zero_density(y, v, cell):
    with pytest.raises(bm.InputError, match=cell):
        bm.exact.batch_summaries(np.array(y), np.array(v), bm.priors.Normal(0, 1), bm.priors.HalfNormal(0.5))


_DF = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.01, 0.02, 0.03, 0.02], "g": list("abab")})


def _exact():
    return bm.MetaAnalysis(_DF, yi="yi", vi="vi").fit(engine="exact", seed=1)


BAD_ARGUMENTS = {
    "priors as a list": lambda: bm.MetaAnalysis(_DF, yi="yi", vi="vi", priors=["a"]),
    "prob of an unknown parameter": lambda: _exact().prob("muu > 0"),
    "draws of an unknown parameter": lambda: _exact().draws("muu"),
    "interval of an unknown parameter": lambda: _exact().interval("muu"),
    "prior plot of an unknown parameter": lambda: _exact().plot_prior_posterior(var_names=["zz"]),
    "simulation tau as text": lambda: bm.small_k_simulation(k=[3], tau=["a"], n_sim=5),
    "permutest iter as text": lambda: bm.permutest(bm.rma("yi", "vi", data=_DF), iter="a", seed=1),
}


@pytest.mark.parametrize("name", sorted(BAD_ARGUMENTS))
def test_a_bad_argument_is_a_typed_error(name):
    with pytest.raises(bm.BayesmaError):
        BAD_ARGUMENTS[name]()


def test_an_unknown_parameter_is_an_input_error_and_a_key_error():
    with pytest.raises(KeyError):
        _exact().draws("muu")
    with pytest.raises(bm.InputError, match="no parameter 'muu'"):
        _exact().draws("muu")


def test_robma_on_many_large_heterogeneous_studies_gives_numbers():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"yi": rng.normal(2, 3.0, 60), "vi": rng.uniform(0.001, 0.01, 60)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.robma(df, yi="yi", vi="vi", draws=256, replicates=2)
        comp = fit.components()
    assert np.isfinite(comp["log_BF"]).all() and (comp["inclusion_BF"] > 0).all()
    assert "Components summary" in repr(fit)


def test_fit_many_refuses_tune_with_the_exact_engine_once():
    with pytest.raises(bm.InputError, match="tune= is a NUTS option"):
        bm.fit_many(_DF, by="g", yi="yi", vi="vi", engine="exact", tune=500)


def test_a_study_with_an_absurd_variance_has_no_weight():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma([0.1, 0.2, 0.3], [1e300, 0.01, 0.02])
        without = bm.rma([0.2, 0.3], [0.01, 0.02])
        post = bm.MetaAnalysis(yi=[0.1, 0.2, 0.3], vi=[1e300, 0.01, 0.02]).fit(engine="exact", seed=1)
        post_without = bm.MetaAnalysis(yi=[0.2, 0.3], vi=[0.01, 0.02],
                                       priors=dict(post.priors)).fit(engine="exact", seed=1)
    assert res.beta[0] == pytest.approx(without.beta[0], rel=1e-12)
    assert res.se[0] == pytest.approx(without.se[0], rel=1e-12)
    assert post.summary().loc["mu", "mean"] == pytest.approx(post_without.summary().loc["mu", "mean"], rel=1e-6)
