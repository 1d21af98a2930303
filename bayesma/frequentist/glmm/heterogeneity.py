"""Tests for heterogeneity of a GLMM meta-analysis and its I² (metafor's ``rma.glmm``).

Both tests compare the fixed-effects model with the saturated one (one effect per study):

- ``QE_LRT = -2 (ll_FE - ll_saturated)``, a likelihood-ratio test;
- ``QE_Wld``, the Wald test that the saturated model's study effects ``theta_i`` lie in the
  span of the moderators: ``theta' (V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1) theta`` with ``V``
  their covariance matrix (invariant to how the saturated model is parametrised; metafor
  tests its study-by-group interactions).

Both have ``k - p`` degrees of freedom. For every model except UM.RS the saturated model
fits each study on its own, so its effects and information are closed forms (the observed
log odds ratios and ``1/a + 1/b + 1/c + 1/d``, ...); a study whose estimate is infinite (a zero
cell) has no information and adds nothing to ``QE_Wld``. UM.RS's saturated model shares a
random intercept across studies and is fitted (Laplace approximation, as lme4).

I² follows metafor: ``100 tau^2 / (tau^2 + vt)`` with the typical within-study variance
``vt = (k - p) / tr(P)``, ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(1/vi)`` from the
``escalc`` variances of the study estimates; ``H² = tau^2 / vt + 1``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, xlogy

from bayesma.frequentist.glmm.hypergeometric import nch_logpmf, nch_mle
from bayesma.frequentist.glmm.models import Counts, saturated_um_rs
from bayesma.frequentist.glmm.newton import LocalProblem, covariance, maximize

__all__ = ["saturated", "saturated_observations", "wald_qe", "typical_variance"]


def _binom_sat(y: np.ndarray, n: np.ndarray) -> float:
    return float(np.sum(gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1) + xlogy(y, y / np.where(n > 0, n, 1))
                        + xlogy(n - y, (n - y) / np.where(n > 0, n, 1))))


def _pois_sat(y: np.ndarray) -> float:
    return float(np.sum(xlogy(y, y) - y - gammaln(y + 1)))


def saturated_observations(cnt: Counts) -> float:
    """Log-likelihood of the counts at their observed proportions (rates): every group fitted exactly."""
    return _binom_sat(cnt.y, cnt.sizes) if cnt.family != "poisson" else _pois_sat(cnt.y)


def saturated(model: str, cnt: Counts, n_nodes: int) -> tuple[float, np.ndarray, np.ndarray]:
    """The saturated model: its log-likelihood, each study's effect and their covariance (or
    information) in the form :func:`wald_qe` takes.

    Returns
    -------
    ll : float
    theta : numpy.ndarray, shape (k,)
        Study effects (0 where infinite).
    info : numpy.ndarray, shape (k,) or (k, k)
        Information of each effect (0 where infinite), or for UM.RS the inverse of their
        covariance matrix.
    """
    if cnt.family == "nch":
        t = cnt.nch
        lp, info = nch_mle(t)
        fin = np.isfinite(lp)
        ll = float(np.sum(np.where(fin, nch_logpmf(t, np.where(fin, lp, 0.0)), 0.0)))
        return ll, np.where(fin, lp, 0.0), info
    y, size, off = cnt.y, cnt.sizes, cnt.offset
    if model == "UM.RS":
        return _saturated_um_rs(cnt, n_nodes)
    if cnt.family == "binomial_log":  # log risk ratios: var = 1/a - 1/n1 + 1/c - 1/n2
        ll = _binom_sat(y, size)
        ok = np.all(y > 0, axis=1)
        yy = np.where(ok[:, None], y, 1.0)
        var = np.sum(1.0 / yy - 1.0 / size, axis=1)
        ok &= var > 0
        theta = np.log(yy[:, 0] / size[:, 0]) - np.log(yy[:, 1] / size[:, 1])
        info = np.where(ok, 1.0 / np.where(ok, var, 1.0), 0.0)
        return ll, np.where(ok, theta, 0.0), info
    if cnt.family == "binomial":
        ll = _binom_sat(y, size)
        if y.shape[1] == 2:
            cells = np.stack([y[:, 0], size[:, 0] - y[:, 0], y[:, 1], size[:, 1] - y[:, 1]])
            ok = np.all(cells > 0, axis=0)
            c = np.where(ok, cells, 1.0)
            theta = np.log(c[0] / c[1]) - np.log(c[2] / c[3])
        else:
            cells = np.stack([y[:, 0], size[:, 0] - y[:, 0]])
            ok = np.all(cells > 0, axis=0)
            c = np.where(ok, cells, 1.0)
            theta = np.log(c[0] / c[1]) - off[:, 0]
    else:
        ll = _pois_sat(y)
        cells = y.T
        ok = np.all(cells > 0, axis=0)
        c = np.where(ok, cells, 1.0)
        theta = np.log(c[0]) - off[:, 0] - (np.log(c[1]) - off[:, 1] if y.shape[1] == 2 else 0.0)
    info = np.where(ok, 1.0 / np.sum(1.0 / c, axis=0), 0.0)
    return ll, np.where(ok, theta, 0.0), info


def _saturated_um_rs(cnt: Counts, n_nodes: int) -> tuple[float, np.ndarray, np.ndarray]:
    """UM.RS's saturated model. A study whose group 1 has no events (or only events) has an
    infinite effect: its group 1 is then fitted exactly (log-likelihood 0) whatever the rest, so the
    supremum drops that group and the study's effect (which adds nothing to ``QE_Wld``, as in the
    other models); lme4 stops somewhere on the way to infinity (metafor's QE_Wld agrees to ~3e-4)."""
    y, size, off = cnt.y, cnt.sizes, cnt.offset
    k = y.shape[0]
    binom = cnt.family in ("binomial", "binomial_log")
    inf = (y[:, 0] == 0) | ((cnt.family == "binomial") & (y[:, 0] == size[:, 0]))  # a log risk of 0 is finite
    if np.any(inf):  # group 1 of those studies: no events among none (binomial), a rate ~0 with none (Poisson)
        y = np.column_stack([np.where(inf, 0.0, y[:, 0]), y[:, 1]])
        off = np.column_stack([np.where(inf & ~binom, -700.0, off[:, 0]), off[:, 1]])
        cnt = Counts(cnt.family, y, np.column_stack([np.where(inf, 0.0, size[:, 0]), size[:, 1]]) if binom else None,
                     off)
    sizes = cnt.sizes
    link = _link(cnt.family)
    emp = link(y[:, 0], sizes[:, 0], off[:, 0]) - link(y[:, 1], sizes[:, 1], off[:, 1])
    base = float(link(y[:, 1].sum(), sizes[:, 1].sum(), np.log(np.exp(off[:, 1]).sum())))
    full = saturated_um_rs(cnt, n_nodes)
    keep = np.r_[np.flatnonzero(~inf), k, k + 1]
    kf = int(np.sum(~inf))
    prob = LocalProblem(full.A[:, :, keep], full.f, [full.names[j] for j in keep], own=np.arange(kf))
    theta, ll, H = maximize(prob, np.concatenate([emp[~inf], [base, np.log(0.5)]]), floor={kf + 1: -12.0})
    info = np.zeros((k, k))
    info[np.ix_(~inf, ~inf)] = np.linalg.inv(covariance(H, prob.own)[:kf, :kf])
    effects = np.zeros(k)
    effects[~inf] = theta[:kf]
    return ll, effects, info


def _link(family: str):
    """Empirical linear predictor of events *y* among *n* (or in exposure ``exp(off)``), 1/2 added:
    logit (binomial), log risk (binomial_log), log rate (poisson); for starting values."""
    if family == "binomial":
        return lambda y, n, off: np.log((y + 0.5) / (n - y + 0.5))
    if family == "binomial_log":
        return lambda y, n, off: np.log((y + 0.5) / (n + 1.0))
    return lambda y, n, off: np.log(y + 0.5) - off


def wald_qe(theta: np.ndarray, info: np.ndarray, X: np.ndarray) -> float:
    """Wald statistic that *theta* (with information *info*: a vector for independent
    effects or a matrix) lies in the column space of *X*."""
    Winv = np.diag(info) if info.ndim == 1 else info
    WX = Winv @ X
    M = X.T @ WX
    r = X.T @ (Winv @ theta)
    q = float(theta @ Winv @ theta - r @ np.linalg.lstsq(M, r, rcond=None)[0])
    return max(q, 0.0)


def typical_variance(vi: np.ndarray, X: np.ndarray) -> float:
    """metafor's typical within-study variance ``(k - p) / tr(P)`` (NaN when k = p)."""
    if X.shape[0] <= X.shape[1]:
        return float("nan")
    w = 1.0 / vi
    WX = w[:, None] * X
    P_tr = float(np.sum(w) - np.trace(np.linalg.solve(X.T @ WX, WX.T @ WX)))
    return (X.shape[0] - X.shape[1]) / P_tr

