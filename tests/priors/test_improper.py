"""Improper reference priors (Flat, HalfFlat), heavy tails and moments that do not exist (issue 16).

Each exact-engine number is checked against an independent computation written here: scipy's
adaptive quadrature over tau (split at powers of ten out to infinity) of the posterior with mu
integrated analytically, and root finding on the resulting cdf of mu.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import bayesma as bm
from bayesma import priors as pr

PIECES = [0.0, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, np.inf]  # quad maps the last, infinite piece itself


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def _quad(f):
    return sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=500)[0] for a, b in zip(PIECES[:-1], PIECES[1:]))


class Reference:
    """The random-effects posterior by brute-force 1-D quadrature: mu ~ Flat or Normal(m0, s0)."""

    def __init__(self, y, v, tau_logpdf, mu_prior=None):
        self.y, self.v, self.lp, self.mu_prior = np.asarray(y, float), np.asarray(v, float), tau_logpdf, mu_prior
        self.Z = _quad(self.dens)

    def cond(self, t):
        """mean and variance of mu | tau, y, and log p(y | tau) (mu integrated out)."""
        y, v, k = self.y, self.v, self.y.size
        w = 1.0 / (v + t * t)
        if self.mu_prior is None:
            prec, num = w.sum(), (w * y).sum()
            const = 0.5 * (k - 1) * math.log(2 * math.pi)
            lml = -const + 0.5 * np.log(w).sum() - 0.5 * math.log(prec) - 0.5 * ((w * y * y).sum() - num**2 / prec)
        else:
            m0, s0 = self.mu_prior
            prec, num = w.sum() + 1 / s0**2, (w * y).sum() + m0 / s0**2
            lml = -0.5 * (k * math.log(2 * math.pi) - np.log(w).sum() + (w * y * y).sum() + m0**2 / s0**2
                          + 2 * math.log(s0) - num**2 / prec + math.log(prec))
        return num / prec, 1.0 / prec, lml

    def dens(self, t):
        return math.exp(self.cond(t)[2] + self.lp(t))

    def tau_moment(self, m):
        return _quad(lambda t: t**m * self.dens(t)) / self.Z

    def mu_cdf(self, x, new=False):
        def f(t):
            mean, var, _ = self.cond(t)
            return stats.norm.cdf(x, mean, math.sqrt(var + (t * t if new else 0.0))) * self.dens(t)
        return _quad(f) / self.Z

    def mu_quantile(self, p, new=False, near=0.0, width=0.05):
        """The quantile, searched in [near - width, near + width] (near: the engine's value)."""
        return optimize.brentq(lambda x: self.mu_cdf(x, new) - p, near - width, near + width, xtol=1e-13)


def _fit(d, priors):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(d, priors=priors).fit(engine="exact", seed=1)
    return post, post.summary()


HALF_CAUCHY = (pr.HalfCauchy(0.5), lambda t: math.log(2 / (math.pi * 0.5)) - math.log1p((t / 0.5) ** 2))
HALF_FLAT = (pr.HalfFlat(), lambda t: 0.0)


@pytest.mark.parametrize("k,tau,flat_mu", [(3, HALF_CAUCHY, True), (6, HALF_FLAT, True), (4, HALF_FLAT, False),
                                           (2, HALF_CAUCHY, False), (3, HALF_FLAT, True)])
def test_flat_and_heavy_tailed_posteriors_match_quadrature(bcg, k, tau, flat_mu):
    d = bcg.iloc[:k]
    mu_prior = pr.Flat() if flat_mu else pr.Normal(0, 1)
    ref = Reference(d.yi, d.vi, tau[1], None if flat_mu else (0.0, 1.0))
    post, s = _fit(d, {"mu": mu_prior, "tau": tau[0]})
    scale = s.loc["mu", "eti_upper"] - s.loc["mu", "eti_lower"]
    for col, p in (("median", 0.5), ("eti_upper", 0.975)):
        assert abs(ref.mu_quantile(p, near=s.loc["mu", col]) - s.loc["mu", col]) < 1e-8 * scale
    assert abs(ref.mu_quantile(0.025, new=True, near=s.loc["theta_new", "eti_lower"])
               - s.loc["theta_new", "eti_lower"]) < 1e-8 * scale
    a = tau[0].family == "HalfCauchy" and 2.0 or 0.0
    a += k - (1 if flat_mu else 0)  # the posterior of tau decays as tau^-a
    if a > 2:
        m1 = ref.tau_moment(1)
        assert s.loc["tau", "mean"] == pytest.approx(m1, rel=1e-9)
    else:
        assert s.loc["tau", "mean"] == math.inf
    if a > 3:
        sd = math.sqrt(ref.tau_moment(2) - ref.tau_moment(1) ** 2)
        assert s.loc["tau", "sd"] == pytest.approx(sd, rel=1e-9)  # the tail beyond the grid counts here
    else:
        assert s.loc["tau", "sd"] == math.inf
        assert s.loc["theta_new", "sd"] == math.inf
    if flat_mu and a <= 2:
        assert math.isnan(s.loc["mu", "mean"]) and s.loc["mu", "sd"] == math.inf
    if not (flat_mu or tau[0].family == "HalfFlat"):
        assert post.exact.log_marginal_likelihood == pytest.approx(math.log(ref.Z), abs=1e-9)


def test_half_cauchy_k2_tau_sd_to_documented_accuracy(bcg):
    """The case of the issue: HalfCauchy(0.5), k = 2; the grid alone lost 9.5e-6 sd of tau's sd."""
    d = bcg.iloc[:2]
    ref = Reference(d.yi, d.vi, HALF_CAUCHY[1], (0.0, 1.0))
    _, s = _fit(d, {"mu": pr.Normal(0, 1), "tau": HALF_CAUCHY[0]})
    m1, m2 = ref.tau_moment(1), ref.tau_moment(2)
    sd = math.sqrt(m2 - m1**2)
    assert abs(s.loc["tau", "sd"] - sd) < 1e-9 * sd
    assert abs(s.loc["tau", "mean"] - m1) < 1e-9 * sd
    # theta_new's sd: Var(mu) + E[tau^2], with the tail
    var_mu = s.loc["mu", "sd"] ** 2
    assert s.loc["theta_new", "sd"] == pytest.approx(math.sqrt(var_mu + m2), rel=1e-8)


def test_infinite_moments_are_never_printed_as_numbers(bcg):
    post, s = _fit(bcg.iloc[:3], {"mu": "flat()", "tau": "halfflat()"})
    assert s.loc["tau", "mean"] == math.inf and s.loc["tau", "sd"] == math.inf
    text = repr(post)
    rows = [ln for ln in text.splitlines() if ln.split()[:1] == ["tau"] and "~" not in ln]
    assert rows and all("inf" in ln for ln in rows), text
    assert "improper" in text


@pytest.mark.parametrize("k,priors,match", [
    (2, {"mu": "flat()", "tau": "halfflat()"}, "at least 3 studies"),
    (1, {"mu": "normal(0, 1)", "tau": "halfflat()"}, "at least 2 studies"),
])
def test_improper_posteriors_are_refused(bcg, k, priors, match):
    with pytest.raises(ValueError, match=match):
        bm.MetaAnalysis(bcg.iloc[:k], priors=priors)


def test_flat_slopes_count_against_the_studies(bcg):
    """HalfFlat on tau with flat intercept and slope: the tail is tau^-(k - 2), so k = 3 is improper."""
    priors = {"mu": "flat()", "beta": "flat()", "tau": "halfflat()"}
    with pytest.raises(ValueError, match="2 coefficient.*at least 4 studies"):
        bm.MetaAnalysis(bcg.iloc[:3], mods="~ ablat", priors=priors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(bcg.iloc[:4], mods="~ ablat", priors=priors).fit(engine="exact", seed=1)
    s = post.summary()
    assert np.isfinite(s.loc["beta[ablat]", "median"])
    assert s.loc["tau", "sd"] == math.inf  # tail tau^-(4 - 2): no mean, no sd


def test_flat_mu_with_a_proper_tau_prior_and_one_study_is_proper(bcg):
    post, s = _fit(bcg.iloc[:1], {"mu": "flat()", "tau": "halfnormal(0.5)"})
    ref = Reference(bcg.yi.iloc[:1], bcg.vi.iloc[:1],
                    lambda t: math.log(2) + stats.norm.logpdf(t, 0, 0.5), None)
    assert s.loc["mu", "median"] == pytest.approx(ref.mu_quantile(0.5, near=s.loc["mu", "median"]), abs=1e-9)
    assert s.loc["mu", "eti_upper"] == pytest.approx(ref.mu_quantile(0.975, near=s.loc["mu", "eti_upper"]),
                                                     abs=1e-8)


def test_bayes_factors_under_improper_priors(bcg):
    from bayesma import exact

    d = bcg.iloc[:6]
    flat_mu = bm.MetaAnalysis(d, priors={"mu": "flat()", "tau": "halfnormal(0.5)"})
    with pytest.raises(ValueError, match="improper prior mu"):
        exact.bayes_factor_effect(flat_mu)
    assert np.isfinite(exact.bayes_factor_heterogeneity(flat_mu))  # the flat prior is shared: its constant cancels
    flat_tau = bm.MetaAnalysis(d, priors={"mu": "normal(0, 1)", "tau": "halfflat()"})
    with pytest.raises(ValueError, match="improper prior tau"):
        exact.bayes_factor_heterogeneity(flat_tau)
    with pytest.raises(ValueError, match="improper prior tau"):
        exact.model_probabilities(flat_tau)
    # the effect's Bayes factor is defined (tau's prior is shared) and equals Savage-Dickey
    bf = exact.bayes_factor_effect(flat_tau)
    ep = exact.exact_posterior(flat_tau.spec)
    assert 1 / bf == pytest.approx(exact.savage_dickey(ep, "mu", 0.0), rel=1e-6)


def test_parse_and_describe():
    assert pr.parse("flat()") == pr.Flat()
    assert pr.parse("HalfFlat") == pr.HalfFlat()
    assert "improper" in pr.describe({"tau": pr.HalfFlat()})
    with pytest.raises(ValueError, match="improper"):
        pr.Flat().rvs(3)
    with pytest.raises(ValueError, match="improper"):
        pr.HalfFlat().rvs(3)


@pytest.mark.slow
def test_nuts_samples_the_same_improper_posterior(bcg):
    d = bcg.iloc[:8]
    model = bm.MetaAnalysis(d, priors={"mu": "flat()", "tau": "halfflat()"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=4, seed=2)
    ex = model.fit(engine="exact", seed=1).summary()
    s = nuts.summary()
    assert nuts.diagnostics().passed
    for name in ("mu", "tau"):
        mcse = s.loc[name, "sd"] / math.sqrt(s.loc[name, "ess_bulk"])
        assert abs(s.loc[name, "mean"] - ex.loc[name, "mean"]) < 5 * mcse
        assert abs(s.loc[name, "median"] - ex.loc[name, "median"]) < 0.1 * ex.loc[name, "sd"]


def test_heavy_tails_warn_at_fit_time(bcg):
    from bayesma.models import HeavyTailWarning

    model = bm.MetaAnalysis(bcg.iloc[:2], priors={"mu": "normal(0, 1)", "tau": "halfflat()"})
    with pytest.warns(HeavyTailWarning, match="tau's mean, tau's sd"):
        model.fit(engine="exact", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HeavyTailWarning)
        bm.MetaAnalysis(bcg.iloc[:6], priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(
            engine="exact", seed=1)


def test_moments_that_do_not_exist_are_masked_in_any_summary():
    """apply_moment_flags is what MetaPosterior.summary applies for every engine (NUTS draws have finite
    sample means even where the posterior mean is infinite)."""
    import pandas as pd

    from bayesma.priors.improper import apply_moment_flags

    table = pd.DataFrame({"mean": [0.1, 0.8, 0.1], "sd": [0.3, 2.0, 1.5], "median": [0.1, 0.5, 0.1]},
                         index=["mu", "tau", "theta_new"])
    out = apply_moment_flags(table.copy(), {"mu": (True, True), "tau": (False, False), "theta_new": (True, False)})
    assert out.loc["tau", "mean"] == math.inf and out.loc["tau", "sd"] == math.inf
    assert out.loc["theta_new", "mean"] == 0.1 and out.loc["theta_new", "sd"] == math.inf
    assert out.loc["tau", "median"] == 0.5
