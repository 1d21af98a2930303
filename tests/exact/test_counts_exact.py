"""The exact engine of the binomial- and Poisson-normal models against an independent integration
written here: the counts' likelihood in closed form (scipy-free formulas), the baseline integrated by
the trapezoid rule on a uniform grid, ``(mu, tau)`` by Gauss-Legendre panels on tau itself (not log
tau) and theta by a Gaussian kernel on a uniform grid (wide tau) or Gauss-Hermite in
``(theta - mu) / tau`` (narrow tau). The package's engine uses none of these rules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import interpolate, special, stats

import bayesma as bm
from bayesma.errors import UnsupportedModelError
from bayesma.exact.capability import choose_engine, exact_support
from bayesma.posterior import MarginalSource

TABLES = pd.DataFrame({"study": ["A", "B", "C", "D"], "ai": [2, 0, 5, 0], "n1i": [30, 25, 40, 20],
                       "ci": [8, 3, 9, 0], "n2i": [30, 25, 38, 20]})  # D: a double-zero table
RATES = pd.DataFrame({"study": ["A", "B", "C"], "x1i": [3, 1, 12], "t1i": [400.0, 250.0, 900.0],
                      "x2i": [9, 4, 15], "t2i": [420.0, 260.0, 880.0]})
PROPS = pd.DataFrame({"study": list("ABCDE"), "xi": [3, 8, 5, 12, 0], "ni": [20, 30, 25, 40, 15]})
PRIORS = {"mu": bm.priors.Normal(0, 2), "tau": bm.priors.HalfNormal(0.5), "baseline": bm.priors.Normal(-2, 2)}
CASES = {
    "binomial": ("binomial", TABLES, dict(ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR"),
                 ["ai", "n1i", "ci", "n2i"], PRIORS),
    "poisson": ("poisson", RATES, dict(x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i", measure="IRR"),
                ["x1i", "t1i", "x2i", "t2i"], PRIORS),
    "proportions": ("binomial", PROPS, dict(xi="xi", ni="ni", measure="PLO"), ["xi", "ni"],
                    {"mu": bm.priors.Normal(0, 2), "tau": bm.priors.HalfNormal(0.5)}),
}


# --------------------------------------------------------------------------------------------
# the independent integration
# --------------------------------------------------------------------------------------------
def _gl(edges, n):
    t, w = np.polynomial.legendre.leggauss(n)
    a, b = np.asarray(edges[:-1])[:, None], np.asarray(edges[1:])[:, None]
    return ((a + b) / 2 + (b - a) / 2 * t).ravel(), ((b - a) / 2 * w).ravel()


def _log_arm(family, e, n, eta):
    if family == "binomial":
        return (e * eta - n * np.logaddexp(0, eta) + special.gammaln(n + 1) - special.gammaln(e + 1)
                - special.gammaln(n - e + 1))
    return e * (eta + np.log(n)) - n * np.exp(eta) - special.gammaln(e + 1)


def _log_g(family, study, theta, base):
    """log p(counts | theta): one group in closed form; two groups with the baseline integrated."""
    if len(study) == 2:
        return _log_arm(family, *study, theta)
    e1, n1, e2, n2 = study
    alpha = np.linspace(base[0] - 10 * base[1], base[0] + 10 * base[1], 801)
    lp = (_log_arm(family, e1, n1, alpha[None] + theta[:, None] / 2)
          + _log_arm(family, e2, n2, alpha[None] - theta[:, None] / 2) + stats.norm.logpdf(alpha, *base)[None])
    return special.logsumexp(lp, axis=1) + np.log(alpha[1] - alpha[0])


def _reference(family, studies, base, i=None):
    """Posterior mean and sd of mu and tau, log p(y), and (study i) theta_i's mean and sd;
    priors mu ~ N(0, 2), tau ~ HalfNormal(0.5)."""
    theta = np.linspace(-8, 8, 801)
    lg = np.array([_log_g(family, s, theta, base) for s in studies])
    top = lg.max(1, keepdims=True)
    spl = interpolate.CubicSpline(theta, lg.T)
    mu, wmu = _gl((-7, -4, -2.5, -1.5, -0.5, 0.5, 2, 5), 12)
    tau, wtau = _gl((0, 0.05, 0.2, 0.5, 1, 1.6, 3.2), 12)
    z, wz = np.polynomial.hermite_e.hermegauss(40)
    wz = wz / wz.sum()
    ll, m1, m2 = (np.zeros((mu.size, tau.size)) for _ in range(3))
    for j, t in enumerate(tau):
        if t < 0.1:  # narrow kernel: Gauss-Hermite in z = (theta - mu) / tau
            pts = mu[:, None] + t * z[None]
            g = np.exp(spl(pts) - top.T[None]) * wz[None, :, None]  # (M, Z, k)
        else:  # wide kernel: the theta grid
            pts = np.broadcast_to(theta, (mu.size, theta.size))
            g = (stats.norm.pdf(theta[None], mu[:, None], t) * (theta[1] - theta[0]))[..., None] * np.exp(lg - top).T
        L = g.sum(1)
        ll[:, j] = (np.log(L) + top.T).sum(-1)
        if i is not None:
            m1[:, j] = (g[..., i] * pts).sum(1) / L[:, i]
            m2[:, j] = (g[..., i] * pts**2).sum(1) / L[:, i]
    lp = ll + stats.norm.logpdf(mu, 0, 2)[:, None] + stats.halfnorm.logpdf(tau, scale=0.5)[None]
    W = np.exp(lp - lp.max()) * wmu[:, None] * wtau[None]
    out = {"logml": float(np.log(W.sum()) + lp.max())}
    W /= W.sum()
    M, T = np.meshgrid(mu, tau, indexing="ij")
    for name, g in (("mu", M), ("tau", T)):
        m = float((W * g).sum())
        out[name] = (m, float(np.sqrt((W * (g - m) ** 2).sum())))
    if i is not None:
        m = float((W * m1).sum())
        out["theta"] = (m, float(np.sqrt((W * m2).sum() - m * m)))
    return out


def _model(case, **extra):
    family, data, kwargs, _, priors = CASES[case]
    priors = extra.pop("priors", priors)
    if extra.get("model") == "common":  # no tau
        priors = {key: p for key, p in priors.items() if key != "tau"}
    return bm.MetaAnalysis(data, **kwargs, likelihood=family, priors=priors, **extra)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_exact_count_posterior_matches_an_independent_integration(case):
    family, data, _, cols, priors = CASES[case]
    ref = _reference(family, data[cols].to_numpy(float), (-2.0, 2.0), i=0)
    ep = bm.exact.exact_posterior(_model(case))
    s = ep.summary()
    for name in ("mu", "tau"):
        mean, sd = ref[name]
        assert abs(s.loc[name, "mean"] - mean) < 1e-4 * sd, (name, s.loc[name, "mean"], mean)
        assert abs(s.loc[name, "sd"] - sd) < 1e-4 * sd, (name, s.loc[name, "sd"], sd)
    mean, sd = ref["theta"]
    assert abs(s.loc["theta[A]", "mean"] - mean) < 1e-4 * sd
    assert abs(s.loc["theta[A]", "sd"] - sd) < 1e-4 * sd
    assert ep.log_marginal_likelihood == pytest.approx(ref["logml"], abs=1e-5)
    # theta_new = mu + tau z: its mean is mu's, its variance mu's plus E[tau^2]
    assert s.loc["theta_new", "mean"] == pytest.approx(s.loc["mu", "mean"], abs=1e-9)
    assert s.loc["theta_new", "sd"] ** 2 == pytest.approx(
        s.loc["mu", "sd"] ** 2 + s.loc["tau", "sd"] ** 2 + s.loc["tau", "mean"] ** 2, rel=1e-6)


def test_quantiles_cdf_and_density_of_mu_and_tau_are_consistent():
    ep = bm.exact.exact_posterior(_model("poisson"))
    assert isinstance(ep, MarginalSource)  # what MetaPosterior reads
    for name in ("mu", "tau", "theta_new", "theta[B]"):
        lo, med, hi = ep.quantiles(name, [0.025, 0.5, 0.975])
        assert [ep.cdf(name, v) for v in (lo, med, hi)] == pytest.approx([0.025, 0.5, 0.975], abs=1e-6)
    for name in ("mu", "tau"):
        x = np.linspace(*ep.quantiles(name, [1e-7, 1 - 1e-7]), 4001)
        d = ep.density(name, x)
        assert np.sum(0.5 * (d[1:] + d[:-1]) * np.diff(x)) == pytest.approx(1.0, abs=1e-4)
        a, b = ep.quantiles(name, [0.2, 0.7])
        xs = np.linspace(a, b, 2001)
        ds = ep.density(name, xs)
        assert np.sum(0.5 * (ds[1:] + ds[:-1]) * np.diff(xs)) == pytest.approx(0.5, abs=1e-5)


def test_the_null_effect_marginal_likelihood_is_the_limit_of_a_narrow_prior_on_mu():
    m = _model("binomial")
    narrow = _model("binomial", priors={**PRIORS, "mu": bm.priors.Normal(0, 1e-5)})
    assert bm.exact.marginal_likelihood_null_effect(m) == pytest.approx(bm.exact.marginal_likelihood(narrow),
                                                                        abs=1e-6)
    common = _model("binomial", model="common")
    ref = sum(_log_g("binomial", s, np.zeros(1), (-2.0, 2.0))[0] for s in TABLES[CASES["binomial"][3]].to_numpy(float))
    assert bm.exact.marginal_likelihood_null_effect(common) == pytest.approx(ref, abs=1e-6)


def test_a_double_zero_table_pulls_weakly_towards_no_effect_and_not_at_all_under_a_flat_baseline_prior():
    """With fixed baselines, g(theta) of a 0/n1 vs 0/n2 table is the prior probability that the baseline
    is low enough for no events in either arm: highest at theta = 0 and lower for large |theta|, by an
    amount that vanishes as the baselines' prior widens (the flat-prior limit: no information)."""
    without = TABLES.iloc[:3]
    shifts = []
    for sd in (2.0, 20.0, 200.0):
        priors = {**PRIORS, "baseline": bm.priors.Normal(-2, sd)}
        kw = CASES["binomial"][2]
        a = bm.exact.exact_posterior(bm.MetaAnalysis(without, **kw, likelihood="binomial", priors=priors))
        b = bm.exact.exact_posterior(bm.MetaAnalysis(TABLES, **kw, likelihood="binomial", priors=priors))
        sa, sb = a.summary(theta=False), b.summary(theta=False)
        shifts.append((sb.loc["mu", "mean"] - sa.loc["mu", "mean"]) / sa.loc["mu", "sd"])
        assert sb.loc["tau", "mean"] < sa.loc["tau", "mean"]  # an extra study at (about) no effect
        if sd == 2.0:  # the table's likelihood, from the independent integration
            theta = np.linspace(-4, 4, 9)
            ref = _log_g("binomial", (0, 20, 0, 20), theta, (-2.0, 2.0))
            assert b.curves(3, theta) == pytest.approx(ref, abs=1e-6)
            assert np.all(np.diff(ref[4:]) < 0) and np.all(np.diff(ref[:5]) > 0)
    assert shifts[0] > shifts[1] > shifts[2] > 0  # mu (negative) is pulled towards 0, less and less
    assert shifts[2] < 2e-3


def test_exact_support_says_what_is_exact_for_counts_and_auto_picks_it():
    m = _model("binomial")
    assert exact_support(m).ok and choose_engine("auto", m.spec)[0] == "exact"
    assert exact_support(_model("proportions")).ok
    assert exact_support(_model("binomial", model="common")).ok
    refused = {
        "moderators": _model("binomial", mods=np.array([0.0, 1.0, 0.5, 2.0])),
        "random baselines": _model("binomial", baseline="random", priors={"mu": bm.priors.Normal(0, 2)}),
        "a Student-t prior on mu": _model("binomial", priors={**PRIORS, "mu": bm.priors.StudentT(3, 0, 1)}),
    }
    reasons = {"moderators": "moderators", "random baselines": "baseline='random'",
               "a Student-t prior on mu": "Normal prior on mu"}
    for what, model in refused.items():
        support = exact_support(model)
        assert not support.ok and reasons[what] in support.reason, (what, support.reason)
        assert choose_engine("auto", model.spec)[0] == "nuts"
        with pytest.raises(UnsupportedModelError, match="cannot fit this model"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(engine="exact")


def test_fit_with_the_exact_engine_gives_exact_summaries_and_independent_draws():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = _model("binomial").fit(seed=2, draws=1000, chains=2)
    assert post.fit_info["engine_note"].startswith("Engine: exact")
    s = post.summary()
    assert {"mu", "tau", "theta[A]", "theta[D]", "theta_new"} <= set(s.index)
    draws = post.posterior
    for name in ("mu", "tau", "theta_new"):  # independent draws: Monte Carlo error sd / sqrt(2000)
        assert abs(float(draws[name].mean()) - s.loc[name, "mean"]) < 4.5 * s.loc[name, "sd"] / np.sqrt(2000)
    th = draws["theta"].mean(("chain", "draw")).to_numpy()
    sd = s.loc[[f"theta[{lab}]" for lab in "ABCD"], "sd"].to_numpy()
    assert np.all(np.abs(th - s.loc[[f"theta[{lab}]" for lab in "ABCD"], "mean"].to_numpy()) < 4.5 * sd / np.sqrt(2000))
    med, lo, hi = post.interval("mu")
    assert (lo, med, hi) == pytest.approx(tuple(s.loc["mu", ["eti_lower", "median", "eti_upper"]]), rel=1e-12)


def test_the_common_effect_count_model_integrates_mu_alone():
    family, data, _, cols, _ = CASES["poisson"]
    ep = bm.exact.exact_posterior(_model("poisson", model="common"))
    mu = np.linspace(-3, 2, 2001)
    lp = stats.norm.logpdf(mu, 0, 2) + sum(_log_g(family, s, mu, (-2.0, 2.0)) for s in data[cols].to_numpy(float))
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = float(w @ mu)
    sd = float(np.sqrt(w @ (mu - mean) ** 2))
    s = ep.summary()
    assert abs(s.loc["mu", "mean"] - mean) < 1e-4 * sd and abs(s.loc["mu", "sd"] - sd) < 1e-4 * sd
    assert s.loc["theta[A]", "median"] == s.loc["mu", "median"] == s.loc["theta_new", "median"]
    assert "tau" not in s.index
