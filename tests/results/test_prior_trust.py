"""Issue 9: a very wide prior does not read as "the data dominate"; the printout says when the
prior sets an interval and flags a prior-data conflict; a fit of 100,000 studies works with
default arguments; Bayes-factor tables name the prior they depend on."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import bayesma as bm
from bayesma import priors as pr


def _fit(yi, vi, priors, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(yi=yi, vi=vi, priors=priors, **kw).fit(engine="exact", draws=200, chains=2, seed=1)


def test_very_wide_tau_prior_at_k2_is_not_read_as_data_dominated():
    post = _fit([0.2, 0.5], [0.04, 0.05], {"mu": pr.Normal(0, 1), "tau": pr.Uniform(0, 10000)})
    pi = post.prior_influence()
    # the width ratio alone is tiny (the prior spans 0..10000) ...
    assert pi.loc["tau", "ratio"] < 0.01
    # ... yet the data do not bound tau: the interval reaches far beyond the spread of the effects
    spread = math.sqrt(np.var([0.2, 0.5]) + np.median([0.04, 0.05]))
    assert pi.loc["tau", "posterior_upper"] > 10 * spread
    assert bool(pi.loc["tau", "set_by_prior"]) and "do not bound tau" in pi.loc["tau", "note"]
    text = repr(post)
    assert "do not bound tau" in text
    assert "0% as wide" not in text


def test_printout_says_when_the_interval_of_mu_is_set_by_its_prior():
    post = _fit([0.2, 0.5], [0.04, 0.05], {"mu": pr.Normal(0, 1), "tau": pr.Uniform(0, 10000)})
    pi = post.prior_influence()
    # posterior sd / prior sd from the exact summary: the prior's share of the information
    share = (post.summary().loc["mu", "sd"] / 1.0) ** 2
    assert share > 0.25
    assert bool(pi.loc["mu", "set_by_prior"]) and "set partly by its prior" in pi.loc["mu", "note"]
    assert "interval of mu is set partly by its prior" in repr(post)


def test_well_informed_fit_has_no_prior_notes():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(dat, measure="RR").fit(engine="exact", draws=200, chains=2, seed=1)
    assert not post.prior_influence()["set_by_prior"].any()
    assert not post.prior_data_conflict()["conflict"].any()
    assert "conflict" not in repr(post) and "set partly" not in repr(post)


def test_prior_data_conflict_is_flagged():
    # tau's prior puts almost all its mass below 0.05; the effects spread by about 1
    yi = np.array([-1.2, 0.9, -0.4, 1.5, 0.1, -1.0, 1.1, 0.6])
    vi = np.full(8, 0.02)
    prior = pr.HalfNormal(0.02)
    post = _fit(yi, vi, {"mu": pr.Normal(0, 1), "tau": prior})
    c = post.prior_data_conflict()
    med = post.summary().loc["tau", "median"]
    assert c.loc["tau", "posterior_median"] == pytest.approx(med, rel=1e-9)
    assert c.loc["tau", "prior_cdf"] == pytest.approx(2 * stats.norm.cdf(med / 0.02) - 1, abs=1e-12)
    assert bool(c.loc["tau", "conflict"])
    assert "prior-data conflict" in repr(post)


def test_exact_fit_of_100000_studies_with_default_arguments():
    rng = np.random.default_rng(1)
    k = 100_000
    v = rng.uniform(0.01, 0.1, k)
    y = rng.normal(0.3, np.sqrt(v + 0.04))
    m = bm.MetaAnalysis(yi=y, vi=v, priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})
    with pytest.warns(UserWarning, match="not kept"):
        post = m.fit(engine="exact", seed=1)
    assert post.fit_info["theta_draws"] is False and "not kept" in post.fit_info["note"]
    assert "theta" not in post.idata.posterior
    s = post.summary()
    assert s.shape[0] == k + 3 and s.loc["theta[1]", "sd"] > 0
    # mu is pinned down by 100,000 studies: close to the REML estimate
    res = bm.rma(y, v)
    assert s.loc["mu", "mean"] == pytest.approx(float(res.beta[0]), abs=3e-4)
    # a small fit keeps the draws of theta
    small = bm.MetaAnalysis(yi=y[:50], vi=v[:50], priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})
    assert "theta" in small.fit(engine="exact", seed=1).idata.posterior


def test_bayes_factor_tables_name_the_prior_of_mu():
    yi, vi = [0.3, 0.45, 0.25, 0.5, 0.38], [0.02, 0.03, 0.05, 0.04, 0.03]
    tabs = {}
    for sd in (8.0, 80.0):
        m = bm.MetaAnalysis(yi=yi, vi=vi, priors={"mu": pr.Normal(0, sd), "tau": pr.HalfNormal(0.5)})
        tab = bm.exact.bayes_factors(m)
        assert (tab["prior_mu"] == repr(pr.Normal(0, sd))).all()
        assert repr(pr.Normal(0, sd)) in tab.loc["effect", "H1"] and tab.loc["effect", "H0"].startswith("mu = 0")
        assert "tau ~ HalfNormal" in tab.loc["heterogeneity", "H1"]
        assert tab.loc["heterogeneity", "H0"].startswith("tau = 0")
        post = m.fit(engine="exact", draws=100, chains=1, seed=1)
        assert list(post.exact.bayes_factors()["prior_mu"]) == list(tab["prior_mu"])
        tabs[sd] = (tab, post.p_greater("mu", 0))
    # Lindley: ten times the prior sd, a tenth of BF10 (p(y | H1) ~ prior density near the data),
    # while P(mu > 0 | y) hardly moves
    ratio = tabs[8.0][0].loc["effect", "BF10"] / tabs[80.0][0].loc["effect", "BF10"]
    assert ratio == pytest.approx(10.0, rel=0.01)
    assert tabs[8.0][1] == pytest.approx(tabs[80.0][1], abs=1e-3)
