"""What a reviewer reads from bm.robma: the per-model table, the bias-class Bayes factors, I² and the
prediction interval. Each number is recomputed here from the models' marginal likelihoods and draws, or
from a closed form (I² from tau, the predictive mean from mu)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

import bayesma as bm


@pytest.fixture(scope="module")
def fit():
    dat = bm.load_dataset("dat.lehmann2018").iloc[:30]
    return bm.robma(dat, yi="yi", vi="vi", draws=512, replicates=4)


def test_models_table_has_every_model_with_its_posterior(fit):
    tab = fit.summary(type="models")
    assert len(tab) == 36 and tab.index.name == "model"
    assert tab["post_prob"].sum() == pytest.approx(1.0)
    lp = tab["log_ml"] + np.log(tab["prior_prob"])
    np.testing.assert_allclose(tab["post_prob"], np.exp(lp - special.logsumexp(lp)), rtol=1e-10)
    assert (tab["log_ml_se"] >= 0).all()
    # the model-averaged conditional mu is the probability-weighted mixture of the per-model posteriors:
    # its mean is the weighted mean of the table's per-model means
    eff = tab["effect"] != "Spike(0)"
    w = tab.loc[eff, "post_prob"] / tab.loc[eff, "post_prob"].sum()
    assert fit.estimates(conditional=True).loc["mu", "mean"] == pytest.approx(float(w @ tab.loc[eff, "mu_mean"]),
                                                                               abs=1e-10)
    null = tab["effect"] == "Spike(0)"
    assert (tab.loc[null, ["mu_mean", "mu_0.025", "mu_0.975"]] == 0).all().all()
    assert tab.loc[tab["bias"].str.startswith("PET"), "PET_mean"].notna().all()
    assert tab.loc[~tab["bias"].str.startswith("PET"), "PET_mean"].isna().all()
    wf = tab["bias"].str.startswith("omega")
    assert (tab.loc[wf, "omega"].str.split(", ").str[-1] == "1.000").all()  # the most significant interval
    # the same table on the correlation scale: mu quantiles converted draw by draw (monotone)
    tab_r = fit.summary(type="models", output_scale="r")
    d = tab["mu_0.975"]
    np.testing.assert_allclose(tab_r["mu_0.975"], d / np.sqrt(d**2 + 4), atol=1e-12)


def test_selection_and_pet_peese_bayes_factors(fit):
    comp = fit.components()
    tab = fit.models
    for row, pick in (("Bias: selection models", tab["bias"].str.startswith("omega")),
                      ("Bias: PET-PEESE", tab["bias"].str.startswith(("PET", "PEESE")))):
        post_in, prior_in = tab.loc[pick, "post_prob"].sum(), tab.loc[pick, "prior_prob"].sum()
        bf = (post_in / (1 - post_in)) / (prior_in / (1 - prior_in))
        assert comp.loc[row, "inclusion_BF"] == pytest.approx(bf, rel=1e-8)
        assert comp.loc[row, "prior_prob"] == pytest.approx(0.25)
        assert 0 < comp.loc[row, "log_BF_se"] < 0.05
    assert comp.loc["Bias", "prior_prob"] == pytest.approx(0.5)
    text = repr(fit)
    assert "Bias: selection models" in text and "Bias: PET-PEESE" in text


def test_i2_and_h2_follow_tau(fit):
    """I² = tau_z² / (tau_z² + s²) with Higgins and Thompson's s² on Fisher's z (tau_z = tau_d / 2)."""
    het = fit.heterogeneity(conditional=True)
    se_z = fit.fit_data.se
    w = 1 / se_z**2
    s2 = (w.size - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    for q in ("median", "0.025", "0.975"):  # quantiles move with the monotone map
        tz = het.loc["tau", q] / 2
        assert het.loc["I2", q] == pytest.approx(100 * tz**2 / (tz**2 + s2), rel=1e-8)
        assert het.loc["H2", q] == pytest.approx((tz**2 + s2) / s2, rel=1e-8)
        assert het.loc["tau2", q] == pytest.approx(het.loc["tau", q] ** 2, rel=1e-8)
    avg = fit.heterogeneity()  # with the spike at tau = 0 of the common-effect models: never above conditional
    assert 0 <= avg.loc["I2", "mean"] <= het.loc["I2", "mean"] and avg.loc["H2", "0.025"] >= 1


def test_prediction_interval_for_a_new_study(fit):
    pred = fit.prediction()
    mu, w = fit._mixture("mu")
    tau, _ = fit._mixture("tau")
    # E[theta_new] = E[mu]; Var[theta_new] = Var[mu] + E[tau^2] (law of total variance)
    m = float(w @ mu)
    sd = math.sqrt(float(w @ (mu - m) ** 2) + float(w @ tau**2))
    assert pred.loc["prediction", "mean"] == pytest.approx(m, abs=4 * sd / math.sqrt(1 / float(w @ w)))
    est = fit.estimates().loc["mu"]
    assert pred.loc["prediction", "0.025"] <= est["0.025"] and pred.loc["prediction", "0.975"] >= est["0.975"]
    # an independent Monte Carlo of the mixture's quantile: resample (mu, tau) and add N(0, tau^2)
    rng = np.random.default_rng(7)
    idx = rng.choice(mu.size, 200_000, p=w)
    sim = mu[idx] + tau[idx] * rng.standard_normal(idx.size)
    lo, hi = np.quantile(sim, [0.025, 0.975])
    assert pred.loc["prediction", "0.025"] == pytest.approx(lo, abs=0.02)
    assert pred.loc["prediction", "0.975"] == pytest.approx(hi, abs=0.02)
    r = fit.prediction(output_scale="r").loc["prediction", "0.975"]
    d = pred.loc["prediction", "0.975"]
    assert r == pytest.approx(d / math.sqrt(d**2 + 4), abs=1e-12)


def test_summary_types_and_printed_priors(fit):
    assert fit.summary().equals(fit.estimates())
    assert fit.summary(type="components").equals(fit.components())
    assert list(fit.summary(type="heterogeneity").index) == ["tau", "tau2", "I2", "H2", "prediction"]
    with pytest.raises(ValueError, match="summary.type='bogus'"):
        fit.summary(type="bogus")
    text = repr(fit)
    assert "priors on Cohen's d" in text and "Normal(0, 1)" in text and "InvGamma(1, 0.15)" in text
    assert "prediction" in text and "I2" in text
