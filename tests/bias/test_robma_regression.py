"""RoBMA-reg (bm.robma(mods=)) and bm.bma(mods=): contrasts, the ensemble, a closed-form marginal
likelihood of a meta-regression written in the test, marginal means, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import bayesma as bm
from bayesma.bias import fit_model
from bayesma.bias.components import default_effect, default_heterogeneity
from bayesma.bias.extended import ExtData, ExtModelDef
from bayesma.bias.model import FitData
from bayesma.bias.moderators import build_terms, meandif_contrast
from bayesma.errors import InputError


@pytest.fixture(scope="module")
def dat():
    rng = np.random.default_rng(7)
    k = 14
    g = np.array(["informant", "direct"] * 7)
    age = rng.uniform(4, 12, k)
    se = rng.uniform(0.06, 0.2, k)
    yi = 0.15 + 0.08 * (g == "informant") + rng.normal(0, se)
    return pd.DataFrame({"yi": yi, "sei": se, "measure": g, "age": age, "study": [f"S{i}" for i in range(k)]})


@pytest.mark.parametrize("n_levels", [2, 3, 5])
def test_meandif_contrast_gives_every_level_the_coefficient_prior(n_levels):
    C = meandif_contrast(n_levels)
    assert C.shape == (n_levels, n_levels - 1)
    np.testing.assert_allclose(C.sum(axis=0), 0, atol=1e-12)          # deviations sum to zero
    np.testing.assert_allclose((C**2).sum(axis=1), 1, atol=1e-12)     # each level's deviation ~ N(0, s^2)
    np.testing.assert_allclose(C.T @ C, np.eye(n_levels - 1) / (1 - 1 / n_levels), atol=1e-12)


def test_design_standardizes_continuous_moderators(dat):
    terms, X = build_terms("~ measure + age", dat)
    assert [t.kind for t in terms] == ["factor", "continuous"]
    np.testing.assert_allclose(X[:, 1].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(X[:, 1].std(ddof=1), 1, atol=1e-12)
    assert terms[0].levels == ("direct", "informant")


def test_regression_marginal_likelihood_matches_closed_form(dat):
    """Common effect with a factor and a continuous moderator: y ~ N(0, S + 1 1' + X Sigma_b X'), exact."""
    terms, X = build_terms("~ measure + age", dat)
    y, se = dat["yi"].to_numpy(), dat["sei"].to_numpy()
    fd = FitData(y, se, y, se, "GEN", 1.0, 1.0)
    ed = ExtData(fd, X, {"measure": slice(0, 1), "age": slice(1, 2)})
    model = ExtModelDef(default_effect(), None, None, 1.0, mods=tuple(terms))
    fit = fit_model(model, ed, n=2048, replicates=8, seed=3)
    cov = np.diag(se**2) + 1.0 * np.ones((y.size, y.size)) + 0.25**2 * X @ X.T
    sign, logdet = np.linalg.slogdet(cov)
    exact = -0.5 * (y.size * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(cov, y))
    assert abs(fit.log_ml - exact) < 4 * fit.log_ml_se + 2e-3


def test_random_effects_regression_marginal_likelihood_matches_tau_quadrature(dat):
    """Effect, heterogeneity and both moderators: mu and the coefficients integrate in closed form
    (Gaussian), tau by adaptive 1-D quadrature against its InvGamma(1, 0.15) prior."""
    terms, X = build_terms("~ measure + age", dat)
    y, se = dat["yi"].to_numpy(), dat["sei"].to_numpy()
    fd = FitData(y, se, y, se, "GEN", 1.0, 1.0)
    ed = ExtData(fd, X, {"measure": slice(0, 1), "age": slice(1, 2)})
    model = ExtModelDef(default_effect(), default_heterogeneity(), None, 1.0, mods=tuple(terms))
    fit = fit_model(model, ed, n=2048, replicates=8, seed=5)
    fixed = 1.0 * np.ones((y.size, y.size)) + 0.25**2 * X @ X.T

    def lik(tau):
        cov = np.diag(se**2 + tau**2) + fixed
        _, logdet = np.linalg.slogdet(cov)
        ll = -0.5 * (y.size * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(cov, y))
        return math.exp(ll + float(default_heterogeneity().logpdf_tau(np.array([tau]))[0]))

    exact = math.log(integrate.quad(lik, 0, 0.5, points=[0.05, 0.1, 0.2], limit=200)[0]
                     + integrate.quad(lik, 0.5, np.inf, limit=200)[0])
    assert abs(fit.log_ml - exact) < 4 * fit.log_ml_se + 2e-3


@pytest.fixture(scope="module")
def bma_fit(dat):
    return bm.bma(dat, yi="yi", sei="sei", measure="ZCOR", mods="~ measure + age", draws=512, replicates=4)


def test_one_prior_for_every_moderator(dat):
    fit = bm.bma(dat, yi="yi", sei="sei", mods="~ measure + age", priors={"mods": bm.priors.Normal(0, 0.5)},
                 draws=64, replicates=2)
    assert set(fit.moderators()["prior"]) == {"Normal(0, 0.5)"}


def test_bma_ensemble_crosses_moderators(bma_fit):
    assert len(bma_fit.models) == 16
    np.testing.assert_allclose(bma_fit.models["prior_prob"], 1 / 16)
    mods = bma_fit.moderators()
    assert list(mods.index) == ["measure", "age"]
    np.testing.assert_allclose(mods["prior_prob"], 0.5)
    # the inclusion BF is the posterior odds of the models with the moderator over the prior odds
    post = bma_fit.models["post_prob"].to_numpy()
    has = np.array(["measure" in m.split(", ") for m in bma_fit.models["moderators"]])
    q = post[has].sum()
    assert mods.loc["measure", "inclusion_BF"] == pytest.approx(q / (1 - q))


def test_marginal_means_are_grand_mean_plus_deviations(bma_fit):
    mm = bma_fit.marginal_means(output_scale="d")
    est = bma_fit.estimates(output_scale="d")
    assert list(mm.index) == ["intercept", "measure[direct]", "measure[informant]"]
    # means are linear: a level's mean = mu + its deviation, averaged over the same mixture
    for lev in ("direct", "informant"):
        assert mm.loc[f"measure[{lev}]", "mean"] == pytest.approx(
            est.loc["mu", "mean"] + est.loc[f"measure[dif: {lev}]", "mean"], abs=1e-9)
    assert est.loc["measure[dif: direct]", "mean"] == pytest.approx(-est.loc["measure[dif: informant]", "mean"])
    # each draw converted as mu: a monotone map carries the median over
    r = bma_fit.marginal_means(output_scale="r")
    d = mm.loc["measure[informant]", "median"]
    assert r.loc["measure[informant]", "median"] == pytest.approx(d / np.sqrt(d**2 + 4))
    assert "Moderators" in repr(bma_fit)


def test_robma_with_moderators_crosses_bias_and_moderators(dat):
    # PSMA would give 36 x 4 = 144 models; PET-PEESE gives 12 x 4
    fit = bm.robma(dat, yi="yi", sei="sei", measure="ZCOR", mods="~ measure + age", ensemble="PP",
                   draws=64, replicates=2)
    assert len(fit.models) == 48
    assert fit.models["prior_prob"].sum() == pytest.approx(1.0)
    assert set(fit.components().index) == {"Effect", "Heterogeneity", "Bias"}


def test_level_with_one_study_names_it(dat):
    bad = dat.copy()
    bad.loc[3, "measure"] = "observer"
    with pytest.raises(InputError, match="observer") as err:
        bm.bma(bad, yi="yi", sei="sei", mods="~ measure", slab="study")
    assert err.value.study == "S3" and err.value.column == "measure" and err.value.row == 4


def test_missing_moderator_names_the_study(dat):
    bad = dat.copy()
    bad.loc[5, "age"] = np.nan
    with pytest.raises(InputError, match="S5") as err:
        bm.robma(bad, yi="yi", sei="sei", mods="~ age", slab="study")
    assert err.value.column == "age"


def test_interactions_and_unknown_columns_are_errors(dat):
    with pytest.raises(InputError, match="main effects"):
        bm.bma(dat, yi="yi", sei="sei", mods="~ measure * age")
    with pytest.raises(InputError, match="rater"):
        bm.bma(dat, yi="yi", sei="sei", mods="~ rater")
    with pytest.raises(InputError, match="not in mods"):
        bm.bma(dat, yi="yi", sei="sei", mods="~ age", priors={"mods": {"rater": bm.priors.Normal(0, 1)}})
