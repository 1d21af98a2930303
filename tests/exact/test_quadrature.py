"""The exact engine against brute-force quadrature written independently here.

The references integrate the unnormalized posterior with scipy.integrate.quad
(over tau, with mu integrated through the multivariate normal marginal of y
from scipy.stats) and dblquad (over mu and tau jointly, or over two
heterogeneity parameters) — none of the exact engine's algebra is reused.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from _helpers import load_cases, reference_dir
from scipy import integrate, stats

import bayesma as bm
from bayesma import priors as pr
from bayesma.exact import (
    batch_summaries,
    bayes_factor_effect,
    bayes_factor_heterogeneity,
    bayes_factors,
    exact_posterior,
    fit_exact,
    marginal_likelihood,
    model_probabilities,
)
from bayesma.exact.effects import bV_at, theta_cluster
from bayesma.exact.likelihood import _logpdf_tau_fn
from bayesma.spec import build_spec

RTOL = 1e-4


def _bcg() -> tuple[np.ndarray, np.ndarray]:
    case = next(c for c in load_cases() if c["name"] == "bcg_logrr_REML")
    return np.asarray(case["input"]["yi"], float), np.asarray(case["input"]["vi"], float)


def _spec(y, v, tau_prior, mu_prior=None, **kw):
    return build_spec(None, y, v, priors={"mu": mu_prior or pr.Normal(0, 1), "tau": tau_prior}, **kw)


# ---------------------------------------------------------------------------
# brute force, one heterogeneity parameter
# ---------------------------------------------------------------------------


LOG2PI = math.log(2 * math.pi)


def _mvn_logpdf(y, mean, cov):
    """log N(y | mean, cov) by a dense Cholesky factorization (batched over leading axes)."""
    L = np.linalg.cholesky(cov)
    z = np.linalg.solve(L, (y - mean)[..., None])[..., 0]
    return -0.5 * np.sum(z * z, -1) - np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1) - 0.5 * y.shape[-1] * LOG2PI


class BruteForce:
    """p(tau | y) by adaptive quad, with mu integrated out through the multivariate normal
    marginal y ~ N(m0 1, diag(v + tau^2) + s0^2 11'); mu | tau, y from the bivariate normal."""

    def __init__(self, y, v, tau_prior, m0=0.0, s0=1.0):
        self.y, self.v, self.prior, self.m0, self.s0 = y, v, tau_prior, m0, s0
        self.k = y.size
        self._cache: dict[float, float] = {}
        self.shift = 0.0
        self.shift = max(self._log_joint(t) for t in np.linspace(1e-4, 3.0, 200))
        self._cache.clear()
        self.upper = self._upper()
        self.Z = self._quad(lambda t: 1.0)

    def _log_joint(self, tau: float) -> float:
        cov = np.diag(self.v + tau**2) + self.s0**2
        lml = _mvn_logpdf(self.y, np.full(self.k, self.m0), cov)
        return float(lml + self.prior.logpdf_tau(tau)) - self.shift

    def dens(self, tau: float) -> float:
        tau = float(tau)
        if tau not in self._cache:
            self._cache[tau] = math.exp(self._log_joint(tau))
        return self._cache[tau]

    def _upper(self) -> float:
        lo, hi = self.prior.support()
        t = 1.0
        while t < 1e4 and self._log_joint(t) > -50:
            t *= 2
        return min(t, hi)

    def _quad(self, g, a=None, b=None) -> float:
        lo = self.prior.support()[0]
        a = lo if a is None else a
        b = self.upper if b is None else b
        pts = [p for p in (0.01, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5) if a < p < b]
        val, _ = integrate.quad(lambda t: g(t) * self.dens(t), a, b, points=pts or None, limit=300,
                                epsabs=0, epsrel=1e-10)
        return val

    def cond(self, tau: float) -> tuple[float, float]:
        """mu | tau, y: precision-weighted mean and variance."""
        w = 1.0 / (self.v + tau**2)
        prec = w.sum() + 1.0 / self.s0**2
        return (np.sum(w * self.y) + self.m0 / self.s0**2) / prec, 1.0 / prec

    def tau_mean_sd(self):
        m = self._quad(lambda t: t) / self.Z
        m2 = self._quad(lambda t: t * t) / self.Z
        return m, math.sqrt(m2 - m * m)

    def tau_quantile_error(self, x: float, q: float) -> float:
        """(F(x) - q) / f(x): how far x is from the q-quantile of tau (first order)."""
        return (self._quad(lambda t: 1.0, b=x) / self.Z - q) / (self.dens(x) / self.Z)

    def mu_mean_sd(self):
        m = self._quad(lambda t: self.cond(t)[0]) / self.Z
        m2 = self._quad(lambda t: self.cond(t)[1] + self.cond(t)[0] ** 2) / self.Z
        return m, math.sqrt(m2 - m * m)

    def mu_quantile_error(self, x: float, q: float) -> float:
        def moments(t):
            m, V = self.cond(t)
            return m, math.sqrt(V)

        F = self._quad(lambda t: stats.norm.cdf(x, *moments(t))) / self.Z
        f = self._quad(lambda t: stats.norm.pdf(x, *moments(t))) / self.Z
        return (F - q) / f

    def log_ml(self) -> float:
        return math.log(self.Z) + self.shift


def _gl_rule(a: float, b: float, panels: int = 60, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre rule on [a, b]."""
    t, w = np.polynomial.legendre.leggauss(n)
    edges = np.linspace(a, b, panels + 1)
    h = np.diff(edges)[:, None] / 2
    return (edges[:-1, None] + h * (t + 1)).ravel(), (h * w).ravel()


def _grid_logdens(fn, x1, x2, chunk=20000):
    """fn(t1 (N,), t2 (N,)) -> log density, on the tensor product x1 x x2 (n1, n2)."""
    T1, T2 = np.meshgrid(x1, x2, indexing="ij")
    a, b = T1.ravel(), T2.ravel()
    out = np.concatenate([fn(a[i:i + chunk], b[i:i + chunk]) for i in range(0, a.size, chunk)])
    return out.reshape(T1.shape)


def _close(a: float, b: float, scale: float, rtol: float = RTOL) -> bool:
    return abs(a - b) <= rtol * max(abs(b), scale)


PRIORS = {
    "halfnormal": pr.HalfNormal(0.5),
    "halfcauchy": pr.HalfCauchy(0.3),
    "uniform": pr.Uniform(0, 2.0),
    "turner": pr.turner2015(),
}


@pytest.mark.parametrize("subset", ["all", "k3"])
@pytest.mark.parametrize("prior_name", list(PRIORS))
def test_mu_and_tau_match_brute_force(subset, prior_name):
    y, v = _bcg()
    if subset == "k3":
        y, v = y[:3], v[:3]
    prior = PRIORS[prior_name]
    bf = BruteForce(y, v, prior)
    s = exact_posterior(_spec(y, v, prior)).summary()

    m, sd = bf.tau_mean_sd()
    assert _close(s.loc["tau", "mean"], m, sd)
    assert _close(s.loc["tau", "sd"], sd, sd)
    for col, q in (("eti_lower", 0.025), ("median", 0.5), ("eti_upper", 0.975)):
        x = s.loc["tau", col]
        assert abs(bf.tau_quantile_error(x, q)) <= RTOL * max(x, sd), (col, x)

    m, sd = bf.mu_mean_sd()
    assert _close(s.loc["mu", "mean"], m, sd)
    assert _close(s.loc["mu", "sd"], sd, sd)
    for col, q in (("eti_lower", 0.025), ("median", 0.5), ("eti_upper", 0.975)):
        x = s.loc["mu", col]
        assert abs(bf.mu_quantile_error(x, q)) <= RTOL * max(abs(x), sd), (col, x)


def test_marginal_likelihood_matches_quad():
    y, v = _bcg()
    for prior in PRIORS.values():
        bf = BruteForce(y, v, prior)
        assert marginal_likelihood(_spec(y, v, prior)) == pytest.approx(bf.log_ml(), abs=1e-6)


def test_mu_and_tau_by_dblquad_joint():
    """One fully two-dimensional check with scipy's dblquad over (mu, tau): no conditional algebra."""
    y, v = _bcg()
    y, v = y[:5], v[:5]
    prior = pr.HalfNormal(0.5)
    s = exact_posterior(_spec(y, v, prior)).summary()
    c0 = math.log(2 / math.pi) / 2 - math.log(0.5)  # log half-normal(0.5) density at 0

    def log_joint(mu, tau):
        s2 = v + tau * tau
        return (-0.5 * np.sum(np.log(2 * math.pi * s2) + (y - mu) ** 2 / s2) - 0.5 * mu * mu
                + c0 - 0.5 * (tau / 0.5) ** 2)

    c = log_joint(s.loc["mu", "median"], s.loc["tau", "median"])
    f = lambda mu, tau: math.exp(log_joint(mu, tau) - c)  # noqa: E731
    opts = dict(epsabs=0, epsrel=1e-9)
    m, sd = s.loc["mu", "mean"], s.loc["mu", "sd"]
    lo, hi, top = m - 12 * sd, m + 12 * sd, 2.5
    Z = integrate.dblquad(f, 0, top, lo, hi, **opts)[0]
    mu_mean = integrate.dblquad(lambda mu, tau: mu * f(mu, tau), 0, top, lo, hi, **opts)[0] / Z
    tau_mean = integrate.dblquad(lambda mu, tau: tau * f(mu, tau), 0, top, lo, hi, **opts)[0] / Z
    cdf_lo = integrate.dblquad(f, 0, top, lo, s.loc["mu", "eti_lower"], **opts)[0] / Z
    assert mu_mean == pytest.approx(m, rel=RTOL)
    assert tau_mean == pytest.approx(s.loc["tau", "mean"], rel=RTOL)
    assert cdf_lo == pytest.approx(0.025, abs=2e-6)


def test_outside_reference_brms_numerical_integration():
    """tests/data/reference/brms/brms_bcg_random_effects.json: its numerical-integration values (5 digits)."""
    ref = json.loads((reference_dir() / "brms/brms_bcg_random_effects.json").read_text())
    note = ref["note"]
    # "A numerical integration of the same posterior gives mu mean -0.68777, sd 0.18277, 2.5% -1.05273,
    #  97.5% -0.32677; tau mean 0.57011, sd 0.14260, 2.5% 0.34436, 97.5% 0.89918."
    nums = [float(x) for x in __import__("re").findall(r"-?\d+\.\d{4,}", note)]
    mu_ref, tau_ref = nums[:4], nums[4:8]
    y, v = _bcg()
    s = exact_posterior(_spec(y, v, pr.HalfNormal(0.5))).summary()
    cols = ["mean", "sd", "eti_lower", "eti_upper"]
    np.testing.assert_allclose(s.loc["mu", cols].to_numpy(float), mu_ref, rtol=1e-3, atol=2e-5)
    np.testing.assert_allclose(s.loc["tau", cols].to_numpy(float), tau_ref, rtol=1e-3, atol=2e-5)
    # and the MCMC values of brms within their Monte Carlo error
    assert s.loc["mu", "mean"] == pytest.approx(ref["posterior"]["mu"]["mean"], abs=0.01)
    assert s.loc["tau", "mean"] == pytest.approx(ref["posterior"]["tau"]["mean"], abs=0.01)


def test_theta_and_theta_new_match_brute_force():
    y, v = _bcg()
    prior = pr.HalfNormal(0.5)
    bf = BruteForce(y, v, prior)
    s = exact_posterior(_spec(y, v, prior)).summary()

    # theta_i | tau, y: normal with mean y_i - B (y_i - mu_hat) and variance v(1-B) + B^2 V
    def theta_cond(t, i):
        mu_hat, V = bf.cond(t)
        B = v[i] / (v[i] + t * t)
        return y[i] - B * (y[i] - mu_hat), v[i] * (1 - B) + B * B * V

    for i in (0, 7, 12):
        m = bf._quad(lambda t: theta_cond(t, i)[0]) / bf.Z
        m2 = bf._quad(lambda t: theta_cond(t, i)[1] + theta_cond(t, i)[0] ** 2) / bf.Z
        sd = math.sqrt(m2 - m * m)
        row = s.loc[f"theta[{i + 1}]"]
        assert _close(row["mean"], m, sd) and _close(row["sd"], sd, sd)
        upper = row["eti_upper"]
        cdf = bf._quad(lambda t: stats.norm.cdf(upper, theta_cond(t, i)[0], math.sqrt(theta_cond(t, i)[1]))) / bf.Z
        assert cdf == pytest.approx(0.975, abs=1e-6)
    # theta_new: mixture with variance V + tau^2
    m, _ = bf.mu_mean_sd()
    m2 = bf._quad(lambda t: bf.cond(t)[1] + t * t + bf.cond(t)[0] ** 2) / bf.Z
    sd = math.sqrt(m2 - m * m)
    assert _close(s.loc["theta_new", "sd"], sd, sd)
    lo = s.loc["theta_new", "eti_lower"]
    cdf = bf._quad(lambda t: stats.norm.cdf(lo, bf.cond(t)[0], math.sqrt(bf.cond(t)[1] + t * t))) / bf.Z
    assert cdf == pytest.approx(0.025, abs=1e-6)


def test_log_t_prior_with_heavy_lower_tail():
    """Rhodes et al.'s log-t prior on tau^2 puts mass far below any data scale (the atom at tau = 0)."""
    y, v = _bcg()
    y, v = y[:3], v[:3]
    prior = pr.rhodes2015()
    bf = BruteForce(y, v, prior)
    s = exact_posterior(_spec(y, v, prior)).summary()
    m, sd = bf.tau_mean_sd()
    assert _close(s.loc["tau", "mean"], m, sd)
    x = s.loc["tau", "median"]
    assert abs(bf.tau_quantile_error(x, 0.5)) <= RTOL * max(x, sd)
    mm, msd = bf.mu_mean_sd()
    assert _close(s.loc["mu", "sd"], msd, msd)


# ---------------------------------------------------------------------------
# meta-regression
# ---------------------------------------------------------------------------


def test_meta_regression_matches_brute_force():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    priors = {"mu": pr.Normal(0, 2), "beta": pr.Normal(0, 0.5), "tau": pr.HalfNormal(0.5)}
    spec = build_spec(dat, mods="~ ablat", priors=priors)
    s = exact_posterior(spec).summary()
    X = np.column_stack([np.ones(len(dat)), dat["ablat"].to_numpy(float)])
    y, v = dat["yi"].to_numpy(float), dat["vi"].to_numpy(float)
    S0 = np.diag([4.0, 0.25])
    prior = priors["tau"]

    def log_joint(t):
        cov = np.diag(v + t * t) + X @ S0 @ X.T
        return stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(y) + prior.logpdf_tau(t)

    c = log_joint(0.3)
    dens = lambda t: math.exp(log_joint(t) - c)  # noqa: E731

    def slope(t):
        W = np.diag(1 / (v + t * t))
        P = X.T @ W @ X + np.linalg.inv(S0)
        V = np.linalg.inv(P)
        return (V @ X.T @ W @ y)[1], V[1, 1]

    q = lambda g: integrate.quad(lambda t: g(t) * dens(t), 0, 3, limit=200, epsrel=1e-11)[0]  # noqa: E731
    Z = q(lambda t: 1.0)
    m = q(lambda t: slope(t)[0]) / Z
    sd = math.sqrt(q(lambda t: slope(t)[1] + slope(t)[0] ** 2) / Z - m * m)
    row = s.loc["beta[ablat]"]
    assert _close(row["mean"], m, sd) and _close(row["sd"], sd, sd)
    cdf = q(lambda t: stats.norm.cdf(row["eti_upper"], slope(t)[0], math.sqrt(slope(t)[1]))) / Z
    assert cdf == pytest.approx(0.975, abs=1e-6)
    tau_m = q(lambda t: t) / Z
    assert s.loc["tau", "mean"] == pytest.approx(tau_m, rel=RTOL)


# ---------------------------------------------------------------------------
# two-dimensional models
# ---------------------------------------------------------------------------


def test_tau_by_two_subgroups_matches_dense_quadrature():
    """Two subgroup taus against a dense composite Gauss-Legendre rule over (tau[high], tau[low])."""
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    dat["lat"] = np.where(dat["ablat"] > 30, "high", "low")
    prior = pr.HalfNormal(0.5)
    spec = build_spec(dat, tau_by="lat", priors={"mu": pr.Normal(0, 1), "tau": prior})
    s = exact_posterior(spec).summary()
    y, v = dat["yi"].to_numpy(float), dat["vi"].to_numpy(float)
    high = (dat["lat"] == "high").to_numpy()

    def log_joint(a, b):  # a = tau[high], b = tau[low]; mu ~ N(0, 1) integrated via the marginal of y
        d = v[None] + np.where(high[None], a[:, None] ** 2, b[:, None] ** 2)
        cov = d[:, :, None] * np.eye(len(y)) + 1.0
        return _mvn_logpdf(y, 0.0, cov) + prior.logpdf_tau(a) + prior.logpdf_tau(b)

    x, w = _gl_rule(0.0, 2.5)
    L = _grid_logdens(log_joint, x, x)
    c = L.max()
    F = np.exp(L - c) * w[:, None] * w[None, :]
    Z = F.sum()
    assert s.loc["tau[high]", "mean"] == pytest.approx((F.sum(1) @ x) / Z, rel=RTOL)
    assert s.loc["tau[low]", "mean"] == pytest.approx((F.sum(0) @ x) / Z, rel=RTOL)
    sd_low = math.sqrt((F.sum(0) @ x**2) / Z - ((F.sum(0) @ x) / Z) ** 2)
    assert s.loc["tau[low]", "sd"] == pytest.approx(sd_low, rel=RTOL)
    assert marginal_likelihood(spec) == pytest.approx(math.log(Z) + c, abs=1e-6)
    # cdf of tau[high] at the exact 97.5% quantile
    q = s.loc["tau[high]", "eti_upper"]
    xq, wq = _gl_rule(0.0, q)
    Fq = np.exp(_grid_logdens(log_joint, xq, x) - c) * wq[:, None] * w[None, :]
    assert Fq.sum() / Z == pytest.approx(0.975, abs=3e-6)

    # mu: E[mu | taus, y] per node
    T1, T2 = np.meshgrid(x, x, indexing="ij")
    wts = 1 / (v[None] + np.where(high[None], T1.ravel()[:, None] ** 2, T2.ravel()[:, None] ** 2))
    mu_hat = (wts @ y) / (wts.sum(1) + 1.0)
    assert s.loc["mu", "mean"] == pytest.approx((F.ravel() @ mu_hat) / Z, rel=RTOL)


def test_three_level_matches_dense_quadrature():
    k = bm.load_dataset("dat.konstantopoulos2011")
    k = k[k["district"].isin(k["district"].unique()[:4])].reset_index(drop=True)
    p_tau, p_w = pr.HalfNormal(0.5), pr.HalfCauchy(0.25)
    spec = build_spec(k, cluster="district", labels="study",
                      priors={"mu": pr.Normal(0, 1), "tau": p_tau, "tau_within": p_w})
    s = exact_posterior(spec).summary()
    y, v = k["yi"].to_numpy(float), k["vi"].to_numpy(float)
    same = (k["district"].to_numpy()[:, None] == k["district"].to_numpy()[None, :]).astype(float)

    def log_joint(t, tw):
        cov = (t[:, None, None] ** 2 * same + (v[None] + tw[:, None] ** 2)[:, :, None] * np.eye(len(y)) + 1.0)
        return _mvn_logpdf(y, 0.0, cov) + p_tau.logpdf_tau(t) + p_w.logpdf_tau(tw)

    x1, w1 = _gl_rule(0.0, 3.0, panels=80)
    x2, w2 = _gl_rule(0.0, 1.5, panels=80)
    L = _grid_logdens(log_joint, x1, x2)
    c = L.max()
    F = np.exp(L - c) * w1[:, None] * w2[None, :]
    Z = F.sum()
    m_t = (F.sum(1) @ x1) / Z
    m_w = (F.sum(0) @ x2) / Z
    assert s.loc["tau", "mean"] == pytest.approx(m_t, rel=RTOL)
    assert s.loc["tau_within", "mean"] == pytest.approx(m_w, rel=RTOL)
    assert s.loc["tau_within", "sd"] == pytest.approx(math.sqrt((F.sum(0) @ x2**2) / Z - m_w**2), rel=RTOL)
    assert marginal_likelihood(spec) == pytest.approx(math.log(Z) + c, abs=1e-6)


def test_three_level_theta_against_dense_algebra():
    """Per-effect posteriors from Sherman-Morrison equal those from the dense k x k covariance."""
    k = bm.load_dataset("dat.konstantopoulos2011")
    spec = build_spec(k, cluster="district", labels="study",
                      priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})
    ep = exact_posterior(spec)
    y, v = spec.yi, spec.vi
    same = (spec.cluster_index[:, None] == spec.cluster_index[None, :]).astype(float)
    t, tw = np.array([0.3]), np.array([0.15])
    b, V = bV_at(ep, t, tw)
    m, s2 = theta_cluster(ep, t, tw, b, V)
    Sigma = t[0] ** 2 * same + np.diag(v + tw[0] ** 2)
    Sinv = np.linalg.inv(Sigma)
    X = np.ones((len(y), 1))
    P = X.T @ Sinv @ X + 1.0
    bd = np.linalg.solve(P, X.T @ Sinv @ y)
    np.testing.assert_allclose(b[0], bd, rtol=1e-10)
    Stot_inv = Sinv - Sinv @ X @ np.linalg.inv(P) @ X.T @ Sinv
    np.testing.assert_allclose(m[:, 0], y - v * (Sinv @ (y - X @ bd)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s2[:, 0], v - v**2 * np.diag(Stot_inv), rtol=1e-9)


# ---------------------------------------------------------------------------
# limiting cases and Bayes factors
# ---------------------------------------------------------------------------


def test_common_effect_is_the_conjugate_normal():
    y, v = _bcg()
    spec = build_spec(None, y, v, model="common", priors={"mu": pr.Normal(0.2, 2.0)})
    s = exact_posterior(spec).summary()
    prec = np.sum(1 / v) + 1 / 4.0
    mean = (np.sum(y / v) + 0.2 / 4.0) / prec
    sd = 1 / math.sqrt(prec)
    assert s.loc["mu", "mean"] == pytest.approx(mean, rel=1e-12)
    assert s.loc["mu", "sd"] == pytest.approx(sd, rel=1e-12)
    assert s.loc["mu", "eti_lower"] == pytest.approx(mean - 1.959963984540054 * sd, rel=1e-10)
    assert "tau" not in s.index
    # its marginal likelihood: y ~ N(m0 1, diag(v) + s0^2 11')
    lml = stats.multivariate_normal(np.full(len(y), 0.2), np.diag(v) + 4.0).logpdf(y)
    assert marginal_likelihood(spec) == pytest.approx(lml, abs=1e-9)


def test_tiny_tau_prior_approaches_common_effect():
    y, v = _bcg()
    re = exact_posterior(_spec(y, v, pr.HalfNormal(1e-7))).summary()
    ce = exact_posterior(build_spec(None, y, v, model="common", priors={"mu": pr.Normal(0, 1)})).summary()
    assert re.loc["mu", "mean"] == pytest.approx(ce.loc["mu", "mean"], rel=1e-6)
    assert re.loc["mu", "sd"] == pytest.approx(ce.loc["mu", "sd"], rel=1e-6)


def test_bf_heterogeneity_is_savage_dickey():
    y, v = _bcg()
    for sub in (slice(None), slice(0, 3)):
        prior = pr.HalfNormal(0.5)
        bf = BruteForce(y[sub], v[sub], prior)
        post_at_0 = bf.dens(0.0) / bf.Z
        prior_at_0 = math.exp(prior.logpdf_tau(0.0))
        bf01 = post_at_0 / prior_at_0
        spec = _spec(y[sub], v[sub], prior)
        assert 1.0 / bayes_factor_heterogeneity(spec) == pytest.approx(bf01, rel=1e-6)
        ep = exact_posterior(spec)
        assert ep.savage_dickey("tau") == pytest.approx(bf01, rel=1e-6)


def test_bf_effect_marginal_likelihoods_and_savage_dickey_agree():
    y, v = _bcg()
    for sub in (slice(None), slice(0, 3)):
        prior = pr.HalfCauchy(0.5)
        spec = _spec(y[sub], v[sub], prior)
        bf10 = bayes_factor_effect(spec)
        bf = BruteForce(y[sub], v[sub], prior)
        # Savage-Dickey: p(mu = 0 | y) / p(mu = 0), p(mu = 0 | y) by quad over tau
        post0 = bf._quad(lambda t: stats.norm.pdf(0, bf.cond(t)[0], math.sqrt(bf.cond(t)[1]))) / bf.Z
        sd01 = post0 / stats.norm.pdf(0, 0, 1)
        assert 1.0 / bf10 == pytest.approx(sd01, rel=1e-6)
        assert exact_posterior(spec).savage_dickey("mu") == pytest.approx(sd01, rel=1e-6)


def test_model_probabilities_and_bayes_factor_table():
    y, v = _bcg()
    spec = _spec(y, v, pr.HalfNormal(0.5))
    mp = model_probabilities(spec)
    bf10 = bayes_factor_heterogeneity(spec)
    assert mp["posterior_prob"].sum() == pytest.approx(1.0)
    assert mp.loc["random", "posterior_prob"] == pytest.approx(bf10 / (1 + bf10))
    mp2 = model_probabilities(spec, prior_prob_random=0.2)
    odds = mp2.loc["random", "posterior_prob"] / mp2.loc["common", "posterior_prob"]
    assert odds == pytest.approx(bf10 * 0.25)
    tab = bayes_factors(spec)
    assert list(tab.index) == ["effect", "heterogeneity"]
    assert tab.loc["heterogeneity", "BF10"] == pytest.approx(bf10)
    assert tab.loc["effect", "BF10"] > 10  # BCG: a clear effect


# ---------------------------------------------------------------------------
# fit_exact, draws, errors
# ---------------------------------------------------------------------------


def test_fit_exact_metaposterior_and_draws():
    y, v = _bcg()
    model = bm.MetaAnalysis(yi=y, vi=v, priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})
    post = model.fit(engine="exact", draws=2000, chains=4, seed=3)
    s = post.summary()
    assert s.loc["tau", "r_hat"] != s.loc["tau", "r_hat"]  # NaN for the exact engine
    ex = post.exact.summary()
    assert list(ex.index[:2]) == ["mu", "tau"] and ex.index[-1] == "theta_new"
    assert set(post.idata.posterior.data_vars) >= {"mu", "tau", "theta", "theta_new"}
    assert post.idata.posterior["theta"].dims == ("chain", "draw", "study")
    n = 8000
    for name in ("mu", "tau", "theta_new"):
        d = post.draws(name)
        assert d.size == n
        assert abs(d.mean() - ex.loc[name, "mean"]) < 4.5 * ex.loc[name, "sd"] / math.sqrt(n)
    th = post.draws("theta")
    se = ex.loc[[f"theta[{i + 1}]" for i in range(len(y))], "sd"].to_numpy() / math.sqrt(n)
    z = (th.mean(0) - ex.loc[[f"theta[{i + 1}]" for i in range(len(y))], "mean"].to_numpy()) / se
    assert np.all(np.abs(z) < 4.5)
    again = model.fit(engine="exact", draws=2000, chains=4, seed=3)
    np.testing.assert_array_equal(again.draws("theta"), th)
    np.testing.assert_array_equal(again.draws("tau"), post.draws("tau"))
    assert post.exact.kind == "random"


def test_draws_follow_the_exact_distribution():
    y, v = _bcg()
    ep = exact_posterior(_spec(y[:4], v[:4], pr.HalfNormal(0.5)))
    d = ep.draws(20000, np.random.default_rng(1))
    s = ep.summary()
    from scipy.stats import kstest

    # tau draws against the exact cdf of tau
    cdf = lambda x: np.array([float(ep.grid.tau_cdf(float(xi))[0]) for xi in np.atleast_1d(x)])  # noqa: E731
    assert kstest(d["tau"], cdf).pvalue > 1e-3
    assert np.quantile(d["mu"], 0.975) == pytest.approx(s.loc["mu", "eti_upper"], abs=0.03)


def test_two_dimensional_fits_and_draws():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    dat["lat"] = np.where(dat["ablat"] > 30, "high", "low")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(dat, tau_by="lat", priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)}).fit(
            engine="exact", draws=1000, chains=2, seed=1)
    ex = post.exact.summary()
    assert {"tau[high]", "tau[low]", "theta_new[high]", "theta_new[low]"} <= set(ex.index)
    assert post.idata.posterior["tau"].dims == ("chain", "draw", "subgroup")
    d = post.draws("tau", "high")
    assert abs(d.mean() - ex.loc["tau[high]", "mean"]) < 5 * ex.loc["tau[high]", "sd"] / math.sqrt(2000)
    k = bm.load_dataset("dat.konstantopoulos2011")
    post3 = bm.MetaAnalysis(k, cluster="district", labels="study",
                            priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)}).fit(
        engine="exact", draws=1000, chains=2, seed=1)
    ex3 = post3.exact.summary()
    for name in ("tau", "tau_within", "mu"):
        d = post3.draws(name)
        assert abs(d.mean() - ex3.loc[name, "mean"]) < 5 * ex3.loc[name, "sd"] / math.sqrt(2000)
    th = post3.draws("theta")
    rows = [f"theta[{lab}]" for lab in post3.spec.labels]
    z = (th.mean(0) - ex3.loc[rows, "mean"].to_numpy()) / (ex3.loc[rows, "sd"].to_numpy() / math.sqrt(2000))
    assert np.abs(z).max() < 5


def test_unsupported_models_point_to_nuts():
    y, v = _bcg()
    with pytest.raises(ValueError, match="nuts"):
        exact_posterior(build_spec(None, y, v, likelihood="student_t", priors={"mu": pr.Normal(0, 1)}))
    with pytest.raises(ValueError, match="nuts"):
        exact_posterior(_spec(y, v, pr.HalfNormal(0.5), mu_prior=pr.Cauchy(0, 1)))
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    with pytest.raises(ValueError, match="nuts"):
        exact_posterior(build_spec(dat, tau_by="alloc", priors={"mu": pr.Normal(0, 1)}))


def test_fast_prior_densities_equal_the_prior_objects():
    t = np.geomspace(1e-6, 50, 200)
    for prior in (pr.HalfNormal(0.7), pr.HalfCauchy(0.2), pr.HalfStudentT(3, 0.4), pr.Exponential(2.0),
                  pr.Uniform(0.1, 1.5), pr.LogNormal(-2.5, 1.3), pr.LogStudentT(5, -3.44, 2.59),
                  pr.InverseGamma(1.5, 0.2)):
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(_logpdf_tau_fn(prior)(t), prior.logpdf_tau(t), rtol=1e-10, atol=1e-12,
                                       err_msg=repr(prior))


def test_batch_summaries_equal_single_fits():
    rng = np.random.default_rng(4)
    y = rng.normal(0.2, 0.3, size=(6, 4))
    v = rng.uniform(0.01, 0.1, size=(6, 4))
    out = batch_summaries(y, v, pr.Normal(0, 1), pr.HalfNormal(0.5), bf=True)
    for i in (0, 5):
        s = exact_posterior(_spec(y[i], v[i], pr.HalfNormal(0.5))).summary()
        assert out["mu_mean"][i] == pytest.approx(s.loc["mu", "mean"], rel=1e-10)
        assert out["mu_upper"][i] == pytest.approx(s.loc["mu", "eti_upper"], rel=1e-9)
        assert out["tau_median"][i] == pytest.approx(s.loc["tau", "median"], rel=1e-9)
        assert out["new_lower"][i] == pytest.approx(s.loc["theta_new", "eti_lower"], rel=1e-9)
        assert out["log_bf_effect"][i] == pytest.approx(bayes_factor_effect(_spec(y[i], v[i], pr.HalfNormal(0.5)),
                                                                            log=True), abs=1e-9)


def test_large_k_is_sane():
    # the time it takes is measured by benchmarks/bench_exact.py (no timing asserts in tests: CI machines differ)
    rng = np.random.default_rng(2)
    k = 20000
    v = rng.uniform(0.005, 0.05, k)
    y = rng.normal(0.3, np.sqrt(v + 0.04))
    spec = _spec(y, v, pr.HalfNormal(0.5))
    s = exact_posterior(spec).summary()
    assert s.loc["tau", "mean"] == pytest.approx(0.2, abs=0.01)
    assert s.loc["mu", "mean"] == pytest.approx(0.3, abs=0.01)


# ---------------------------------------------------------------------------
# NUTS against exact (the PyMC engine); slow
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_nuts_agrees_with_exact():
    y, v = _bcg()
    model = bm.MetaAnalysis(yi=y, vi=v, priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})
    ex = model.fit(engine="exact", seed=1).exact.summary()
    nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=1).summary()
    for name in ("mu", "tau", "theta_new", "theta[5]"):
        assert abs(nuts.loc[name, "mean"] - ex.loc[name, "mean"]) < 0.1 * ex.loc[name, "sd"], name
        assert nuts.loc[name, "sd"] == pytest.approx(ex.loc[name, "sd"], rel=0.1), name


def test_bayes_factors_reachable_from_the_fit():
    y, v = _bcg()
    model = bm.MetaAnalysis(yi=y, vi=v, priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})
    post = model.fit(engine="exact", draws=10, chains=1, seed=1)
    tab = post.exact.bayes_factors()
    assert tab.loc["heterogeneity", "BF10"] == pytest.approx(bayes_factor_heterogeneity(model.spec))
    assert post.exact.model_probabilities()["posterior_prob"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="exact_posterior"):
        fit_exact(model.spec, draws=0)


def test_tau_by_theta_new_is_a_new_study_of_each_subgroup():
    # With mods="~ g" and tau_by="g", theta_new[g] predicts a new study of subgroup g:
    # mean x_g' beta (x_g: that subgroup's moderator row), variance Var(x_g' beta) + E[tau_g^2].
    import pandas as pd

    df = pd.DataFrame({
        "yi": [0.10, 0.35, 0.22, 0.51, 0.80, 0.62, 0.95, 0.70],
        "vi": [0.02, 0.03, 0.025, 0.04, 0.03, 0.02, 0.05, 0.03],
        "g": ["a", "a", "a", "a", "b", "b", "b", "b"],
    })
    model = bm.MetaAnalysis(df, yi="yi", vi="vi", mods="~ g", tau_by="g",
                            priors={"mu": bm.priors.Normal(0, 10), "tau": bm.priors.HalfNormal(0.5)})
    post = model.fit(engine="exact", draws=20000, chains=1, seed=3)
    s = post.summary()
    beta = post.idata.posterior["beta"].values.reshape(-1, 2)
    tau = post.idata.posterior["tau"].values.reshape(-1, 2)
    for j, (name, row) in enumerate((("a", np.array([1.0, 0.0])), ("b", np.array([1.0, 1.0])))):
        xb = beta @ row
        exact_mean = s.loc["beta[intrcpt]", "mean"] + (s.loc["beta[gb]", "mean"] if name == "b" else 0.0)
        assert s.loc[f"theta_new[{name}]", "mean"] == pytest.approx(exact_mean, abs=1e-8)
        expected_sd = np.sqrt(xb.var() + np.mean(tau[:, j] ** 2))
        assert s.loc[f"theta_new[{name}]", "sd"] == pytest.approx(expected_sd, rel=0.02)


def test_model_probabilities_need_a_random_effects_model():
    from bayesma.exact import model_probabilities

    common = bm.MetaAnalysis(None, yi=[0.1, 0.3, 0.5], vi=[0.01, 0.02, 0.03], model="common",
                             priors={"mu": bm.priors.Normal(0, 1)})
    with pytest.raises(ValueError, match="random-effects model"):
        model_probabilities(common.spec)
