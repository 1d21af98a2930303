"""The NUTS engine in the fast tier: small fits (2 chains x 100 draws) shared through the session
fixtures of tests/conftest.py, each model structure compiled once.

The posterior means of NUTS are checked against the exact engine's (numerical integration over
tau, an independent computation) within a few Monte Carlo standard errors; the slow tier
(tests/models/test_nuts_accuracy.py) checks accuracy with many more draws.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import SMOKE, quiet_fit

import bayesma as bm
from bayesma.models import nuts

#: NUTS vs exact: |difference of means| below this many Monte Carlo standard errors
N_MCSE = 4.0


def _mcse_of_mean(post, name: str) -> float:
    s = post.summary().loc[name]
    return float(s["sd"] / np.sqrt(s["ess_bulk"]))


@pytest.mark.parametrize("name", ["mu", "tau", "theta_new", "theta[1]", "theta[13]"])
def test_smoke_mean_within_monte_carlo_error_of_exact(smoke_post, smoke_exact, name):
    nuts_mean = smoke_post.summary().loc[name, "mean"]
    exact_mean = smoke_exact.summary().loc[name, "mean"]
    assert abs(nuts_mean - exact_mean) < N_MCSE * _mcse_of_mean(smoke_post, name), (nuts_mean, exact_mean)


def test_smoke_quantiles_near_exact(smoke_post, smoke_exact):
    # the 95% interval of mu from 200 draws: its ends move by about 2.7 sd / sqrt(tail ESS) (the
    # Monte Carlo SE of a 2.5% quantile). Over 20 seeds the larger end was up to 2.9 of those off
    # (100 tuning steps), and 4 seeds (another machine's draws) failed the former 6 sd / sqrt(bulk ESS)
    s, e = smoke_post.summary().loc["mu"], smoke_exact.summary().loc["mu"]
    tol = 5 * 2.7 * s["sd"] / np.sqrt(s["ess_tail"])
    assert abs(s["eti_lower"] - e["eti_lower"]) < tol and abs(s["eti_upper"] - e["eti_upper"]) < tol


def test_smoke_fit_info_and_idata(smoke_post, bcg_rr):
    info = smoke_post.fit_info
    assert info["engine"] == "nuts" and info["sampler"] in nuts.available_samplers()
    assert (info["draws"], info["tune"], info["chains"]) == (100, 100, 2)
    assert info["seed"] == 20261205 and info["target_accept"] in (0.9, nuts.RETRY_TARGET_ACCEPT)
    idata = smoke_post.idata
    assert {"posterior", "sample_stats", "prior", "prior_predictive", "observed_data", "constant_data"} <= set(
        idata.groups())
    assert idata.posterior["mu"].shape == (2, 100)
    assert idata.posterior["theta"].dims == ("chain", "draw", "study")
    assert list(idata.posterior["theta"].coords["study"].values) == [str(v) for v in bcg_rr["trial"]]
    assert idata.prior["tau"].shape == (1, 1000) and (idata.prior["tau"].values > 0).all()
    assert idata.prior_predictive["yi"].shape == (1, 1000, 13)
    np.testing.assert_array_equal(idata.observed_data["yi"].values, bcg_rr["yi"].values)
    np.testing.assert_array_equal(idata.constant_data["vi"].values, bcg_rr["vi"].values)
    assert "diverging" in idata.sample_stats
    # no padded studies left in the posterior (the model is padded to 64 studies)
    assert info["padded_to"] == 64 and idata.posterior.sizes["study"] == 13


def test_prior_draws_follow_the_prior(smoke_post):
    tau = smoke_post.idata.prior["tau"].values.ravel()
    mu = smoke_post.idata.prior["mu"].values.ravel()
    # HalfNormal(0.5): mean 0.5 sqrt(2/pi) = 0.399, sd 0.301; Normal(0, 1): 1000 draws
    assert abs(tau.mean() - 0.5 * np.sqrt(2 / np.pi)) < 4 * 0.301 / np.sqrt(1000)
    assert abs(mu.mean()) < 4 / np.sqrt(1000) and abs(mu.std() - 1) < 0.1


def test_same_seed_same_draws_and_the_model_is_compiled_once(smoke_ma, smoke_post):
    again = quiet_fit(smoke_ma, engine="nuts", seed=20261205, **SMOKE)
    np.testing.assert_array_equal(again.draws("mu"), smoke_post.draws("mu"))
    assert again.fit_info["compiled"] is False and again.fit_info["model_built"] is False


def test_refit_with_new_prior_scale_reuses_the_compiled_model(smoke_ma, smoke_post):
    narrow_ma = smoke_ma.with_priors({"tau": "halfnormal(0.1)"})
    narrow = quiet_fit(narrow_ma, engine="nuts", seed=1, **SMOKE)
    assert narrow.fit_info["compiled"] is False
    assert repr(narrow.spec.priors["tau"]) == "HalfNormal(sigma=0.1)"
    # the new prior is the one sampled: tau's mean is the exact engine's for HalfNormal(0.1), 0.32
    # (0.57 under the smoke fit's HalfNormal(0.5), more than ten Monte Carlo standard errors away;
    # HalfNormal(2) moved it by 0.07, about 2.5 standard errors of a difference of two smoke fits)
    exact = narrow_ma.fit(engine="exact", seed=1).summary().loc["tau", "mean"]
    got = narrow.summary().loc["tau", "mean"]
    assert abs(got - exact) < N_MCSE * _mcse_of_mean(narrow, "tau"), (got, exact)
    assert got < smoke_post.summary().loc["tau", "mean"]


def test_sample_directly_and_its_cache(smoke_ma):
    fit = nuts.sample(smoke_ma.spec, draws=20, tune=20, chains=1, seed=3, prior_draws=0)
    assert isinstance(fit, nuts.NutsFit) and fit.seconds > 0
    assert "prior" not in fit.idata.groups()
    assert fit.info["model_built"] is False  # the smoke model's structure is cached
    assert fit.entry.compiles["nutpie"] <= 1


def test_prior_draws_are_made_when_read_with_the_fits_own_prior(smoke_ma):
    """Prior draws wait until the InferenceData is used beyond its posterior; a later fit of the
    same compiled model with another prior scale does not leak into them."""
    import pickle

    narrow = nuts.sample(smoke_ma.spec, draws=20, tune=20, chains=1, seed=5, prior_draws=2000)
    entry = narrow.entry
    wide_spec = smoke_ma.with_priors({"tau": "halfnormal(5)"}).spec
    wide = nuts.sample(wide_spec, draws=20, tune=20, chains=1, seed=5, prior_draws=2000)
    assert wide.entry is entry
    tau = narrow.idata.prior["tau"].values.ravel()
    assert tau.shape == (2000,) and entry.compiles["prior"] <= 1
    # HalfNormal(0.5): mean 0.5 sqrt(2/pi) = 0.399, sd 0.5 sqrt(1 - 2/pi) = 0.301
    assert abs(tau.mean() - 0.5 * np.sqrt(2 / np.pi)) < 4 * 0.301 / np.sqrt(2000)
    assert {"prior", "prior_predictive"} <= set(narrow.idata.groups())
    # pickling makes them too; same seed, same draws
    again = pickle.loads(pickle.dumps(nuts.sample(smoke_ma.spec, draws=20, tune=20, chains=1, seed=5,
                                                  prior_draws=2000).idata))
    np.testing.assert_array_equal(again.prior["tau"].values.ravel(), tau)
    assert wide.idata.prior["tau"].values.mean() > 5 * tau.mean()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(draws=0), "draws >= 1"),
        (dict(tune=-1), "tune >= 0"),
        (dict(chains=0), "chains >= 1"),
        (dict(target_accept=1.0), "target_accept"),
        (dict(sampler="stan"), "sampler must be"),
    ],
)
def test_sample_rejects_bad_arguments(smoke_ma, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nuts.sample(smoke_ma.spec, **kwargs)


def test_seed_must_be_an_integer(smoke_ma):
    with pytest.raises(TypeError):
        nuts.sample(smoke_ma.spec, seed=1.5)


def test_default_target_accept_and_samplers():
    assert nuts.default_target_accept(13) == nuts.DEFAULT_TARGET_ACCEPT
    assert nuts.default_target_accept(4) == nuts.SMALL_K_TARGET_ACCEPT
    assert nuts.available_samplers()[-1] == "pymc"


def test_model_cache_is_least_recently_used(bcg_rr):
    cache = nuts.ModelCache(maxsize=1)
    a = bm.MetaAnalysis(bcg_rr, priors={"tau": "halfnormal(0.5)"}).spec
    b = bm.MetaAnalysis(bcg_rr, model="common").spec
    entry, built = cache.get(a)
    assert built and len(cache) == 1 and cache.get(a) == (entry, False)
    key_a = next(iter(cache._entries))
    assert key_a in cache and cache[key_a] is entry
    cache.get(b)
    assert len(cache) == 1 and key_a not in cache
    cache.clear()
    assert len(cache) == 0


def test_fit_with_one_chain_cannot_compute_r_hat(smoke_ma):
    one = quiet_fit(smoke_ma, engine="nuts", draws=50, tune=50, chains=1, seed=2)
    d = one.diagnostics()
    assert not d.passed and "R-hat not available with 1 chain (it compares chains)" in d.problems
    # described as one chain, never as independent draws; the ESS is that of the chain
    assert d.chains == 1 and "1 chain: R-hat not available" in d.line() and "independent" not in d.line()
    assert np.isfinite(d.min_ess_bulk) and np.isfinite(one.summary().loc["mu", "ess_bulk"])
    assert np.isnan(one.summary().loc["mu", "r_hat"])


def test_regression_with_subgroup_taus(smoke_post_regression, bcg_rr):
    post = smoke_post_regression
    idata = post.idata
    assert idata.posterior["beta"].dims == ("chain", "draw", "coef")
    assert list(idata.posterior.coords["coef"].values) == ["intrcpt", "ablat"]
    assert idata.posterior["tau"].dims == ("chain", "draw", "subgroup")
    assert list(idata.posterior.coords["subgroup"].values) == ["alternate", "random", "systematic"]
    np.testing.assert_array_equal(idata.constant_data["X"].values[:, 1], bcg_rr["ablat"].values)
    assert idata.constant_data["x_new"].dims == ("subgroup", "coef")
    assert idata.constant_data["group_idx"].values.max() == 2
    # the slope on latitude is negative (REML: -0.029, se 0.007): far from 0 even with 200 draws
    assert post.summary().loc["beta[ablat]", "eti_upper"] < 0


def test_three_level_model(smoke_post_three_level):
    post = smoke_post_three_level
    idata = post.idata
    assert idata.posterior["u"].dims == ("chain", "draw", "cluster") and idata.posterior.sizes["cluster"] == 11
    assert idata.constant_data["cluster_idx"].values.max() == 10
    assert post.fit_info["padded_to"] == 56  # three-level models are not padded by default
    s = post.summary()
    # rma.mv REML: mu 0.185 (se 0.085), sigma 0.255 between and 0.181 within districts
    assert abs(s.loc["mu", "mean"] - 0.185) < 0.15
    assert 0.05 < s.loc["tau", "median"] < 0.6 and 0.05 < s.loc["tau_within", "median"] < 0.4


def test_nutpie_compile_failure_falls_back_to_pymc(bcg_rr, monkeypatch):
    nutpie = pytest.importorskip("nutpie")

    def broken(model, **kwargs):
        raise NotImplementedError("no numba implementation of this Op")

    monkeypatch.setattr(nutpie, "compile_pymc_model", broken)
    monkeypatch.setattr("bayesma.models.compile.compile_nutpie", broken)  # the disk-cached path fails first
    # the common-effect model of 4 studies: PyMC compiles its one-parameter graph quickly
    spec = bm.MetaAnalysis(bcg_rr.iloc[:4], model="common", priors={"mu": "normal(0, 1)"}).spec
    cache = nuts.ModelCache()
    with pytest.warns(RuntimeWarning, match="sampling with PyMC's NUTS instead"):
        fit = nuts.sample(spec, draws=100, tune=100, chains=1, seed=4, cache=cache, prior_draws=0)
    assert fit.info["sampler"] == "pymc" and fit.entry.compiles["pymc"] == 1
    again = nuts.sample(spec, draws=100, tune=100, chains=1, seed=4, cache=cache, prior_draws=0, sampler="pymc")
    assert again.entry.compiles["pymc"] == 1  # PyMC's compiled step is reused: same seed, same draws
    np.testing.assert_array_equal(again.idata.posterior["mu"].values, fit.idata.posterior["mu"].values)
    # the common-effect posterior is normal: mean = precision-weighted mean of yi and the prior
    w = 1 / bcg_rr["vi"].values[:4]
    prec = w.sum() + 1.0
    mean, sd = (w * bcg_rr["yi"].values[:4]).sum() / prec, prec**-0.5
    assert abs(fit.idata.posterior["mu"].values.mean() - mean) < 5 * sd / np.sqrt(50)
    with pytest.raises(RuntimeError, match="nutpie could not compile"):
        nuts.sample(spec, draws=30, tune=30, chains=1, seed=4, cache=cache, sampler="nutpie")


def test_divergent_fit_is_retried_at_higher_target_accept(smoke_ma):
    # no tuning: the step size is not adapted, so the sampler diverges and retries once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = nuts.sample(smoke_ma.spec, draws=30, tune=0, chains=1, seed=3, prior_draws=0)
    if fit.info["retried"]:
        assert fit.info["target_accept"] == nuts.RETRY_TARGET_ACCEPT
    else:  # no divergence in the first run: nothing to retry
        assert int(fit.idata.sample_stats["diverging"].sum()) == 0
