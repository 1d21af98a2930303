"""Bayesian location-scale model, MetaAnalysis(scale=): log tau_i = z_i' alpha (NUTS only).

The slow test fits dat.bangertdrowns2004 with scale = ~ log(ni) under wide priors: the posterior
medians of alpha and mu must lie near the maximum-likelihood estimates of bm.rma(scale=, method="ML")
(an independent computation: metafor's model, optimised by Newton steps; metafor's alpha is on the
log tau² scale, so log tau = alpha_ML / 2). With flat priors the posterior mode *is* the ML estimate,
and with 48 studies the medians are within a fraction of a posterior SD of it.
"""

from __future__ import annotations

import numpy as np
import pytest

import bayesma as bm
from bayesma.errors import InputError
from bayesma.exact.capability import exact_support

WIDE = {"mu": "normal(0, 10)", "alpha": "normal(0, 10)", "alpha_slopes": "normal(0, 10)"}


def _data():
    dat = bm.load_dataset("dat.bangertdrowns2004")
    dat["logni"] = np.log(dat["ni"])
    return dat


def test_default_priors_on_alpha():
    m = bm.MetaAnalysis(_data(), scale="~ logni", measure="SMD")
    assert set(m.priors) == {"mu", "alpha", "alpha_slopes"}
    # intercept: log of the median of the default tau prior of the measure (HalfNormal(0.5) for SMD)
    median_tau = 0.5 * 0.6744897501960817
    assert m.priors["alpha"].params["mu"] == pytest.approx(np.log(median_tau))
    assert m.priors["alpha"].params["sigma"] == 1.0
    assert m.priors["alpha_slopes"].params == {"mu": 0.0, "sigma": 1.0}
    assert m.spec.scale_names == ["intrcpt", "logni"]


@pytest.mark.parametrize("kwargs, word", [
    ({"priors": {"tau": "halfnormal(0.5)"}}, "tau"),
    ({"tau_by": "meta", "missing": "drop"}, "tau_by"),
    ({"model": "common"}, "model"),
    ({"likelihood": "student_t"}, "likelihood"),
])
def test_what_a_location_scale_model_cannot_use(kwargs, word):
    with pytest.raises(InputError, match=word):
        bm.MetaAnalysis(_data(), scale="~ logni", **kwargs)


def test_alpha_prior_without_scale_is_an_error():
    with pytest.raises(InputError, match="scale="):
        bm.MetaAnalysis(_data(), priors={"alpha": "normal(0, 1)"})


def test_the_exact_engine_declines():
    m = bm.MetaAnalysis(_data(), scale="~ logni")
    support = exact_support(m)
    assert not support.ok and "location-scale" in support.reason


@pytest.mark.slow
def test_posterior_medians_near_the_ml_estimate_under_wide_priors():
    dat = _data()
    post = bm.MetaAnalysis(dat, scale="~ logni", priors=WIDE).fit(engine="nuts", draws=1000, chains=2, seed=1)
    ml = bm.rma("yi", "vi", scale="~ logni", data=dat, method="ML")
    alpha = post.idata.posterior["alpha"].values.reshape(-1, 2)
    med, sd = np.median(alpha, axis=0), alpha.std(axis=0)
    np.testing.assert_array_less(np.abs(med - ml.alpha / 2), 0.25 * sd)
    mu = post.idata.posterior["mu"].values.ravel()
    assert abs(np.median(mu) - ml.beta[0]) < 0.25 * mu.std()
    table = post.summary()
    assert {"alpha[intrcpt]", "alpha[logni]", "tau[1]"} <= set(table.index)
    tau = post.idata.posterior["tau"].values.reshape(-1, len(dat))
    np.testing.assert_allclose(np.log(tau[:, 0]), alpha[:, 0] + alpha[:, 1] * dat["logni"].iloc[0], rtol=1e-8)


def test_auto_picks_nuts_and_says_why():
    """engine="auto" takes NUTS for a location-scale model, and the note it keeps says why; engine="exact" is
    refused by the same reason."""
    from bayesma.errors import UnsupportedModelError
    from bayesma.exact.capability import choose_engine

    m = bm.MetaAnalysis(_data(), scale="~ logni")
    engine, note = choose_engine("auto", m.spec)
    assert engine == "nuts" and "exact engine cannot fit this model" in note and "location-scale" in note
    with pytest.raises(UnsupportedModelError, match="location-scale model .* engine=\"nuts\""):
        m.fit(engine="exact")
