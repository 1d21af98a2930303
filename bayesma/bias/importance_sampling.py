"""Marginal likelihoods and posterior draws of one model by adaptive importance sampling.

Method (documented in docs/robma.rst):

1. The parameters are mapped to an unconstrained space: ``mu``, ``log tau``,
   ``log b`` (PET/PEESE coefficient with a positive prior) and the additive
   log-ratios of the Dirichlet increments of the weights (``J - 1`` numbers).
   Every model of the ensemble has at most 5 such dimensions.
2. The posterior mode is found (BFGS) and the Hessian there by central differences:
   the Laplace approximation.
3. Stage 1: 4096 draws from a multivariate t (4 df) at the mode with the Laplace
   covariance inflated by 1.5^2 give importance-weighted moments of the posterior.
4. Stage 2: a defensive mixture of two multivariate t's (4 df) at the weighted mean
   with the weighted covariance, and with 9 times that covariance (4:1). Draws are
   randomised quasi-Monte Carlo (scrambled Sobol points pushed through the t
   transform), ``replicates`` independent scrambles; the marginal likelihood is the
   mean importance weight (deterministic-mixture estimator, unbiased), its Monte
   Carlo error the spread of the replicate means. The weighted draws are the
   posterior sample used for every summary.

The effective sample size of the weights is reported with each model; it is
typically above half of the draws because the proposal matches the posterior.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats
from scipy.stats import qmc

__all__ = ["ModelFit", "importance_sample", "weighted_quantile"]

_DF = 4.0


@dataclass
class ModelFit:
    """Result of :func:`importance_sample` for one model.

    Attributes
    ----------
    log_ml, log_ml_se : float
        Log marginal likelihood and its Monte Carlo standard error.
    draws : dict[str, numpy.ndarray]
        Parameter draws (constrained scale), each of shape (n,) or (n, J).
    weights : numpy.ndarray of shape (n,)
        Normalised importance weights of the draws.
    ess : float
        Effective sample size of the weights (Kish).
    """

    log_ml: float
    log_ml_se: float
    draws: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray = field(default_factory=lambda: np.ones(1))
    ess: float = math.inf
    mode: np.ndarray | None = None


def _mvt_logpdf(u, loc, chol, df=_DF):
    d = u.shape[1]
    z = np.linalg.solve(chol, (u - loc).T).T
    maha = np.sum(z**2, axis=1)
    logdet = np.sum(np.log(np.diag(chol)))
    return (special.gammaln((df + d) / 2) - special.gammaln(df / 2) - 0.5 * d * np.log(df * np.pi)
            - logdet - 0.5 * (df + d) * np.log1p(maha / df))


def _mvt_draws(n, loc, chol, rng, df=_DF, sobol=True):
    d = loc.size
    if sobol:
        uni = qmc.Sobol(d + 1, scramble=True, seed=rng).random(n)
    else:
        uni = rng.random((n, d + 1))
    uni = np.clip(uni, 1e-12, 1 - 1e-12)
    z = special.ndtri(uni[:, :d])
    w = stats.chi2.ppf(uni[:, d], df) / df
    return loc + (z @ chol.T) / np.sqrt(w)[:, None]


def _hessian(f, x, h=1e-4):
    d = x.size
    H = np.empty((d, d))
    steps = h * np.maximum(1.0, np.abs(x))
    pts, idx = [], []
    for i in range(d):
        for j in range(i, d):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = x.copy()
                e[i] += si * steps[i]
                e[j] += sj * steps[j]
                pts.append(e)
            idx.append((i, j))
    vals = f(np.array(pts)).reshape(-1, 4)
    for (i, j), v in zip(idx, vals):
        H[i, j] = H[j, i] = (v[0] - v[1] - v[2] + v[3]) / (4 * steps[i] * steps[j])
    return H


def _safe_chol(cov):
    cov = 0.5 * (cov + cov.T)
    w, v = np.linalg.eigh(cov)
    w = np.clip(w, 1e-10 * max(w.max(), 1e-12), None)
    return np.linalg.cholesky((v * w) @ v.T)


def _weighted_moments(u, logw):
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = w @ u
    cov = ((u - mean) * w[:, None]).T @ (u - mean)
    ess = 1.0 / np.sum(w**2)
    return mean, cov, ess


def importance_sample(logpost: Callable[[np.ndarray], np.ndarray], start: np.ndarray, *,
                      n: int = 2048, replicates: int = 8, seed: int | None = 0,
                      pilot: int = 4096) -> tuple[float, float, np.ndarray, np.ndarray, float, np.ndarray]:
    """Integrate ``exp(logpost(u))`` over the unconstrained space.

    Parameters
    ----------
    logpost : callable
        Vectorised log of the unnormalised posterior, ``(m, d) -> (m,)``
        (likelihood x prior x Jacobian).
    start : array of shape (d,)
        Starting point of the mode search.
    n : int
        Draws per replicate from the main t (a power of 2, for the Sobol points); another
        ``n // 4`` come from the wide t.
    replicates : int
        Independent scrambles; the error estimate uses their spread.
    seed : int or None
    pilot : int
        Draws of stage 1 (the moments of the proposal).

    Returns
    -------
    log_ml, log_ml_se, u, weights, ess, mode
    """
    rng = np.random.default_rng(seed)
    d = start.size

    def neg(x):
        # value and central-difference gradient in one batched call (2d + 1 points)
        h = 1e-5 * np.maximum(1.0, np.abs(x))
        pts = np.concatenate([x[None, :], x + np.diag(h), x - np.diag(h)])
        v = logpost(pts)
        if not np.isfinite(v[0]):
            return 1e300, np.zeros(d)
        grad = (v[1:d + 1] - v[d + 1:]) / (2.0 * h)
        return -v[0], np.where(np.isfinite(grad), -grad, 0.0)

    res = optimize.minimize(neg, start, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 500})
    mode = res.x
    try:
        H = -_hessian(logpost, mode)
        cov = np.linalg.inv(H)
        chol = _safe_chol(cov * 1.5**2)
    except (np.linalg.LinAlgError, ValueError):
        chol = np.eye(d)
    # stage 1: moments
    u1 = _mvt_draws(pilot, mode, chol, rng)
    lq1 = _mvt_logpdf(u1, mode, chol)
    lp1 = logpost(u1)
    ok = np.isfinite(lp1)
    mean, cov, ess1 = _weighted_moments(u1[ok], lp1[ok] - lq1[ok])
    if ess1 > 50 * d:
        loc, chol_a = mean, _safe_chol(cov * 1.1**2)
    else:
        loc, chol_a = mode, chol
    chol_b = 3.0 * chol_a
    n_a = n
    n_b = max(n // 4, 1)
    pa, pb = n_a / (n_a + n_b), n_b / (n_a + n_b)
    us, lws, means = [], [], []
    for _ in range(replicates):
        u = np.concatenate([_mvt_draws(n_a, loc, chol_a, rng), _mvt_draws(n_b, loc, chol_b, rng)])
        lq = np.logaddexp(np.log(pa) + _mvt_logpdf(u, loc, chol_a), np.log(pb) + _mvt_logpdf(u, loc, chol_b))
        lp = logpost(u)
        lw = np.where(np.isfinite(lp), lp - lq, -np.inf)
        us.append(u)
        lws.append(lw)
        means.append(special.logsumexp(lw) - math.log(lw.size))
    means = np.array(means)
    log_ml = float(special.logsumexp(means) - math.log(replicates))
    rel = np.exp(means - log_ml)
    log_ml_se = float(np.std(rel, ddof=1) / math.sqrt(replicates)) if replicates > 1 else math.nan
    u = np.concatenate(us)
    lw = np.concatenate(lws)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    return log_ml, log_ml_se, u, w, float(1.0 / np.sum(w**2)), mode


def weighted_quantile(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Quantiles of a weighted sample (atoms allowed): the smallest x with cdf >= q."""
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    # ties (the atoms of null models) hold one value, so their order cannot change the
    # quantile: numpy's fast unstable sort instead of a stable one (5x at 700,000 draws)
    order = np.argsort(x)
    xs, cw = x[order], np.cumsum(w[order])
    cw /= cw[-1]
    q = np.atleast_1d(np.asarray(q, float))
    idx = np.searchsorted(cw, q - 1e-12, side="left")
    return xs[np.clip(idx, 0, xs.size - 1)]
