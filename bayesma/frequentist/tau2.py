"""The tau² estimators, Cochran's Q and the Q-profile interval, as ``metafor::rma.uni``.

One implementation, on a batch: every function takes effects ``y`` and sampling variances
``v`` of shape (B, k) (B data sets sharing the design matrix X, k x p) and returns arrays of
shape (B,). :func:`rma` fits a batch of one (:func:`estimate_tau2`, :func:`q_profile_ci`);
the small-k simulation fits thousands of intercept-only data sets at once
(:func:`tau2_batch`), with the same arithmetic, iterations and root finder, so both give the
same numbers.

* FE, DL, HE, HS, HSk, SJ, GENQ: closed forms (metafor's formulas, on the projection
  P = W - W X (X'WX)^-1 X'W computed from a QR decomposition); HSk is HS with its Q scaled by
  k / (k - p); GENQ the method-of-moments estimator of the generalized Q statistic with user
  weights (:mod:`bayesma.frequentist.genq`, which also holds its median-unbiased GENQM);
* ML, REML, EB: Fisher scoring from the HE estimate, step halving, stopping when the change
  is below 1e-5 (metafor's ``threshold``), then metafor's check that tau² = 0 is not better;
* PM (Q(tau²) = k - p), PMM (Q(tau²) = the median of chi²(k - p)) and the Q-profile bounds:
  R's ``uniroot`` (Brent) step for step, on metafor's search
  ranges (``tau2.max = max(100, 10 mad(yi)^2)`` for PM; ``max(100, 10 tau2)`` for the
  Q-profile).

References
----------
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *Journal of Educational and Behavioral Statistics*, 30, 261-293.
Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in
meta-analysis. *Statistics in Medicine*, 26, 37-52.
metafor 3.8-1: ``rma.uni``, ``confint.rma.uni``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats

from bayesma._rootfind import R_UNIROOT_TOL, uniroot_batch
from bayesma._validate import check_level
from bayesma.errors import ConvergenceWarning, InputError
from bayesma.frequentist._common import _BatchProjection, _Projection
from bayesma.frequentist.genq import genq_ci, genq_median

__all__ = [
    "METHODS_TAU2", "WEIGHTED_METHODS", "THRESHOLD", "MAXITER", "VI_REFERENCE", "scale_factor", "estimate_tau2", "estimate_tau2_batch", "tau2_batch",
    "q_profile_ci", "tau2_interval", "q_profile_batch", "q_general", "q_general_batch", "q_fe", "se_tau2", "loglik",
    "loglik_batch", "maximize_loglik", "paule_mandel", "tau2_max", "mad", "centered",
]

METHODS_TAU2 = ("FE", "DL", "REML", "ML", "PM", "PMM", "HS", "HSk", "SJ", "HE", "EB", "GENQ", "GENQM")
WEIGHTED_METHODS = ("GENQ", "GENQM")  # tau² estimators that use the user weights (weights=)
THRESHOLD = 1e-5  # metafor's convergence threshold for Fisher scoring
MAXITER = 100  # metafor's default maxiter
VI_REFERENCE = 1e-3  # median sampling variance at and above which metafor's tolerances are kept


def scale_factor(v: np.ndarray) -> np.ndarray:
    """Per data set (B,): 1 where the median sampling variance is at least 0.001, else
    ``0.001 * median(vi) / 0.001``: the factor applied to metafor's absolute tolerances (1e-5
    for Fisher scoring, eps^0.25 for ``uniroot``).

    metafor's tolerances are absolute, so its estimates depend on the units of the data: with
    variances 10,000 times smaller its Paule-Mandel tau² is 2.8 times too large and its REML
    iterations stop before they converge. Where the median sampling variance is at least
    0.001 (log ratios, SMDs, Fisher z with n up to 1,000, ...) the tolerances, and so the
    numbers, are metafor's; below it they are tied to the scale of the data (a thousandth of
    metafor's relative precision at that threshold), so results no longer depend on the units
    (docs/metafor.rst, "Where bayesma differs").
    """
    med = np.median(np.atleast_2d(v), axis=-1)
    return np.where(med >= VI_REFERENCE, 1.0, 1e-3 * med / VI_REFERENCE)
_LOG2PI = float(np.log(2 * np.pi))


# ---------------------------------------------------------------------------
# the batch implementation


def _as_batch(y: Any, v: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    if y.shape != v.shape:
        raise InputError(f"y and v must have the same shape, got {y.shape} and {v.shape}")
    return y, v


def _spans_constant(X: np.ndarray) -> bool:
    ones = np.ones(X.shape[0])
    coef, *_ = np.linalg.lstsq(X, ones, rcond=None)
    return bool(np.allclose(X @ coef, ones, rtol=0, atol=1e-10))


def centered(yi: np.ndarray, X: np.ndarray) -> np.ndarray:
    """yi minus its mean when the model has an intercept, else yi itself (last axis).

    metafor centres yi before its tau² and Q computations, for numerical stability;
    that changes nothing when the columns of X span the constant, but for a model
    without an intercept (regression through the origin) it changes the model and
    gives a wrong QE and tau². bayesma centres only where it is harmless.
    """
    if _spans_constant(X):
        return yi - yi.mean(axis=-1, keepdims=True)
    return yi


def mad(x: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """R's ``mad()``: 1.4826 times the median absolute deviation from the median."""
    x = np.asarray(x, dtype=float)
    med = np.median(x, axis=axis, keepdims=True)
    return 1.4826 * np.median(np.abs(x - med), axis=axis)


def tau2_max(yi: np.ndarray) -> np.ndarray | float:
    """metafor's upper end of the tau² search (``rma.uni``'s ``control(tau2.max)``):
    ``max(100, 10 * mad(yi)^2)``, so that it grows with the spread of the effects (raw units).

    Works on one vector of effects or on a batch, shape (B, k) -> (B,).
    """
    return np.maximum(100.0, 10.0 * mad(yi) ** 2)


def q_general_batch(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Generalized Q statistic (B,) with weights 1 / (v + tau2)."""
    return _BatchProjection(X, 1.0 / (v + np.asarray(tau2, dtype=float)[:, None])).quad(y)


def loglik_batch(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Log likelihood (REML for method REML, else ML) at tau2 (B,), metafor's constants."""
    k, p = X.shape
    vt = v + np.asarray(tau2, dtype=float)[:, None]
    P = _BatchProjection(X, 1.0 / vt)
    rss = P.quad(y)
    if method == "REML":
        return (-0.5 * (k - p) * _LOG2PI + 0.5 * np.linalg.slogdet(X.T @ X)[1]
                - 0.5 * np.log(vt).sum(-1) - 0.5 * P.logdet_xtwx() - 0.5 * rss)
    return -0.5 * k * _LOG2PI - 0.5 * np.log(vt).sum(-1) - 0.5 * rss


def _he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Hedges' (HE) estimate, unclipped (the start of ML / REML / EB)."""
    k, p = X.shape
    ols = _BatchProjection(X, np.ones_like(v))
    trPV = (v * (1.0 - ols.h)).sum(-1)
    return (ols.quad(y) - trPV) / (k - p)


def _fisher_scoring(method: str, yc: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray,
                    tau2: np.ndarray, warn: bool) -> tuple[np.ndarray, np.ndarray]:
    """metafor's Fisher scoring for ML / REML / EB on a batch; (tau2, iterations) (B,) each."""
    k, p = X.shape
    B = yc.shape[0]
    tau2 = tau2.astype(float).copy()
    threshold = THRESHOLD * scale_factor(v)
    iterations = np.zeros(B, dtype=int)
    active = np.ones(B, dtype=bool)
    failed = np.zeros(B, dtype=bool)
    for iteration in range(1, MAXITER + 2):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        t, ya, va = tau2[idx], yc[idx], v[idx]
        w = 1.0 / (va + t[:, None])
        P = _BatchProjection(X, w)
        if method == "ML":
            Py = P.apply(ya)
            adj = ((Py * Py).sum(-1) - w.sum(-1)) / (w * w).sum(-1)
        elif method == "REML":
            Py = P.apply(ya)
            adj = ((Py * Py).sum(-1) - P.trace()) / P.trace_dpp()
        else:  # EB
            adj = (P.quad(ya) * k / (k - p) - k) / w.sum(-1)
        for _ in range(1100):  # metafor halves until tau2 + adj >= 0 (adj may underflow to 0)
            neg = t + adj < 0
            if not neg.any():
                break
            adj = np.where(neg, adj / 2.0, adj)
        new = t + adj
        tau2[idx] = new
        iterations[idx] = iteration
        done = np.abs(new - t) <= threshold[idx]
        if iteration > MAXITER:
            # metafor stops with an error here
            failed[idx] = True
            active[idx] = False
        else:
            active[idx[done]] = False
    for i in np.flatnonzero(failed):
        # EB's fixed point is the root of Q(tau²) = k - p, which root finding gets directly;
        # ML / REML maximize the likelihood directly
        if method == "EB":
            if warn:
                warnings.warn(f"the empirical Bayes iterations did not converge in {MAXITER} steps "
                              "(metafor stops here); tau² is the root of Q(tau²) = k - p instead", ConvergenceWarning, stacklevel=5)
            tau2[i] = paule_mandel(yc[i], v[i], X)
        else:
            if warn:
                warnings.warn(f"Fisher scoring did not converge in {MAXITER} iterations (metafor stops here); "
                              f"tau² was found by direct maximization of the {method} likelihood", ConvergenceWarning, stacklevel=5)
            tau2[i] = maximize_loglik(method, y[i], v[i], X)
    if method in ("ML", "REML"):
        # metafor's check: is tau² = 0 better than the point reached?
        ok = ~failed
        ll0 = loglik_batch(method, y, v, X, np.zeros(B))
        ll1 = loglik_batch(method, y, v, X, tau2)
        worse = ok & (ll0 - ll1 > R_UNIROOT_TOL) & (tau2 > THRESHOLD)
        if worse.any() and warn:
            warnings.warn("Fisher scoring may have stopped at a local maximum; setting tau² = 0", ConvergenceWarning, stacklevel=5)
        tau2 = np.where(worse, 0.0, tau2)
    return tau2, iterations


def _paule_mandel_batch(yc: np.ndarray, v: np.ndarray, X: np.ndarray, beyond: str,
                        median: bool = False) -> np.ndarray:
    """Root of Q(tau²) = k - p on [0, tau2.max], 0 where Q(0) < k - p (metafor's rule); with
    *median* (PMM) the target is the median of chi²(k - p) instead of its mean k - p.

    Where the root lies above tau2.max, ``beyond="raise"`` stops as metafor does;
    ``beyond="extend"`` doubles the upper end until it brackets the root (simulations).
    """
    B = yc.shape[0]
    k, p = X.shape
    target = float(stats.chi2.ppf(0.5, k - p)) if median else k - p
    upper = np.asarray(tau2_max(yc), dtype=float).reshape(B).copy()
    q0 = q_general_batch(yc, v, X, np.zeros(B))
    need = q0 >= target
    out = np.zeros(B)
    if not need.any():
        return out
    idx = np.flatnonzero(need)
    hi = upper[idx]
    above = q_general_batch(yc[idx], v[idx], X, hi) > target
    if above.any():
        if beyond == "raise":
            raise InputError(
                f"the Paule-Mandel root of Q(tau²) = {'median' if median else 'k - p'} lies above the search limit tau2_max = "
                f"{hi[above][0]:.6g} (metafor's max(100, 10 mad(yi)²); metafor stops here too: \"Value of "
                "'tau2.max' too low\"); a few extreme effects dominate: check them, or use method='REML' or 'DL'")
        for _ in range(200):
            hi = np.where(above, 2.0 * hi, hi)
            above = q_general_batch(yc[idx], v[idx], X, hi) > target
            if not above.any():
                break

    def f(t: np.ndarray, sub: np.ndarray) -> np.ndarray:
        j = idx[sub]
        return q_general_batch(yc[j], v[j], X, t) - target

    out[idx] = uniroot_batch(f, np.zeros(len(idx)), hi, tol=R_UNIROOT_TOL * scale_factor(v[idx]), maxiter=MAXITER)
    return out


def estimate_tau2_batch(method: str, y: Any, v: Any, X: np.ndarray | None = None, *, warn: bool = False,
                        beyond: str = "extend", weights: Any = None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """tau² of B data sets sharing the design matrix X (default: intercept only).

    Parameters
    ----------
    method : {"FE", "DL", "REML", "ML", "PM", "PMM", "HS", "HSk", "SJ", "HE", "EB", "GENQ", "GENQM"}
    y, v : array_like, shape (B, k)
        Effects and sampling variances.
    X : numpy.ndarray, shape (k, p), optional
    warn : bool
        Warn when Fisher scoring fails or stops at a local maximum (as :func:`rma`).
    beyond : {"extend", "raise"}
        PM / PMM / EB root above metafor's search limit: extend the search, or raise as metafor
        (GENQM always raises).
    weights : array_like, shape (k,) or (B, k), optional
        The user weights of GENQ / GENQM (required there, as in metafor; no other estimator uses them).

    Returns
    -------
    tau2 : numpy.ndarray, shape (B,), >= 0
    iterations : numpy.ndarray of int, shape (B,)
    aux : dict
        ``tau2_0`` (B,) for SJ (its starting value, used by its standard error).

    Examples
    --------
    >>> import numpy as np
    >>> t, _, _ = estimate_tau2_batch("DL", [[0.1, 0.3, 0.35, -0.05]], [[0.01, 0.02, 0.015, 0.03]])
    >>> round(float(t[0]), 5)
    0.01147
    """
    y, v = _as_batch(y, v)
    B, k = y.shape
    X = np.ones((k, 1)) if X is None else X
    p = X.shape[1]
    yc = centered(y, X)
    aux: dict[str, np.ndarray] = {}
    if method in WEIGHTED_METHODS:
        if weights is None:
            raise InputError(f"method={method!r} needs weights= (the weights of its generalized Q statistic; "
                             f"metafor: \"Must specify 'weights' when method='{method}'\")", column="weights")
        weights = np.broadcast_to(np.asarray(weights, dtype=float), y.shape)
    iterations = np.zeros(B, dtype=int)
    if method == "FE":
        tau2 = np.zeros(B)
    elif method in ("HS", "HSk"):
        w = 1.0 / v
        rss = _BatchProjection(X, w).quad(yc)
        tau2 = ((k / (k - p) * rss if method == "HSk" else rss) - k) / w.sum(-1)
    elif method == "DL":
        P = _BatchProjection(X, 1.0 / v)
        tau2 = (P.quad(yc) - (k - p)) / P.trace()
    elif method == "SJ":
        tau2_0 = np.var(yc, axis=-1, ddof=1) * (k - 1) / k
        tau2 = tau2_0 * _BatchProjection(X, 1.0 / (v + tau2_0[:, None])).quad(yc) / (k - p)
        aux["tau2_0"] = tau2_0
    elif method in ("PM", "PMM"):
        tau2 = _paule_mandel_batch(yc, v, X, beyond, median=method == "PMM")
    elif method == "GENQ":
        P = _BatchProjection(X, weights)
        diag = P.w * (1.0 - P.h)  # the diagonal of P_a
        tau2 = (P.quad(yc) - (diag * v).sum(-1)) / diag.sum(-1)
    elif method == "GENQM":
        upper = np.asarray(tau2_max(yc), dtype=float).reshape(B)
        tol = R_UNIROOT_TOL * scale_factor(v)
        tau2 = np.array([genq_median(yc[b], v[b], X, weights[b], float(upper[b]), float(tol[b])) for b in range(B)])
    elif method in ("HE", "ML", "REML", "EB"):
        tau2 = _he(yc, v, X)
        if method != "HE":
            tau2, iterations = _fisher_scoring(method, yc, y, v, X, np.maximum(0.0, tau2), warn)
    else:
        raise InputError(f"unknown tau² estimator {method!r}; use one of {METHODS_TAU2}")
    return np.maximum(0.0, tau2), iterations, aux


def q_profile_batch(y: Any, v: Any, X: np.ndarray | None, level: float, tau2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Q-profile confidence bounds for tau² (Viechtbauer 2007) of B data sets, as metafor's ``confint``.

    Bounds are where the generalized Q statistic equals the chi-square quantiles with k - p
    degrees of freedom, searched by ``uniroot`` on [min(0, tau2), max(100, 10 tau2)]; an upper
    bound beyond the search limit is reported as the limit (metafor prints it with ">"), a bound
    below zero is zero.

    Returns
    -------
    lower, upper : numpy.ndarray, shape (B,)
    """
    level = check_level(level)
    y, v = _as_batch(y, v)
    B, k = y.shape
    X = np.ones((k, 1)) if X is None else X
    p = X.shape[1]
    tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), (B,))
    alpha = 1.0 - level
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    t_min = np.minimum(0.0, tau2)
    t_max = np.maximum.reduce([np.full(B, 100.0), tau2 * 10, t_min * 10])
    q_min = q_general_batch(y, v, X, t_min)
    q_max = q_general_batch(y, v, X, t_max)

    def root(crit: float, mask: np.ndarray) -> np.ndarray:
        out = np.full(B, np.nan)
        idx = np.flatnonzero(mask)
        if len(idx):
            def f(t: np.ndarray, sub: np.ndarray) -> np.ndarray:
                j = idx[sub]
                return q_general_batch(y[j], v[j], X, t) - crit
            # a search range up to 10 tau² (metafor's) can span 300 orders of magnitude for an absurd
            # fixed tau²: Brent then needs more than R's 1000 bisections
            out[idx] = uniroot_batch(f, t_min[idx], t_max[idx], tol=R_UNIROOT_TOL * scale_factor(v[idx]),
                                     maxiter=5000)
        return out

    none = q_min < crit_l
    ub = np.where(q_max > crit_l, t_max, root(crit_l, ~none & ~(q_max > crit_l)))
    lb = np.where(q_max > crit_u, t_max,
                  np.where(q_min < crit_u, t_min, root(crit_u, ~none & ~(q_max > crit_u) & ~(q_min < crit_u))))
    lb = np.where(none, t_min, lb)
    ub = np.where(none, t_min, ub)
    return np.maximum(0.0, lb), np.maximum(0.0, ub)


def tau2_batch(y: Any, v: Any, method: str, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tau² and its Q-profile interval (B,) each for B intercept-only data sets (the simulation's
    estimator; the same numbers as :func:`bayesma.rma` on each data set).

    A PM root above metafor's search limit is found by extending the search (metafor stops).

    Examples
    --------
    >>> t, lo, hi = tau2_batch([[0.1, 0.3, 0.35, -0.05]], [[0.01, 0.02, 0.015, 0.03]], "DL", 0.95)
    >>> round(float(t[0]), 5), round(float(lo[0]), 5)
    (0.01147, 0.0)
    """
    level = check_level(level)
    y, v = _as_batch(y, v)
    B = y.shape[0]
    if method not in METHODS_TAU2 or method in WEIGHTED_METHODS:
        raise InputError(f"method must be one of {tuple(m for m in METHODS_TAU2 if m not in WEIGHTED_METHODS)} "
                         f"(GENQ and GENQM need user weights), got {method!r}")
    tau2 = estimate_tau2_batch(method, y, v)[0]
    if method == "FE":
        return tau2, np.zeros(B), np.zeros(B)
    lo, hi = q_profile_batch(y, v, None, level, tau2)
    return tau2, lo, hi


# ---------------------------------------------------------------------------
# one data set (rma): a batch of one


def estimate_tau2(method: str, yi: np.ndarray, vi: np.ndarray, X: np.ndarray,
                  weights: np.ndarray | None = None) -> tuple[float, int, dict]:
    """tau² of one data set as :func:`rma` computes it (a batch of one of :func:`estimate_tau2_batch`):
    ``(tau2, iterations, aux)``; a PM / EB root above metafor's search limit is an error, as in metafor."""
    tau2, iterations, aux = estimate_tau2_batch(method, yi[None], vi[None], X, warn=True, beyond="raise",
                                                weights=weights)
    return float(tau2[0]), int(iterations[0]), {key: float(val[0]) for key, val in aux.items()}


def paule_mandel(y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Root of the generalized Q statistic at k - p, as metafor: ``uniroot`` on [0, tau2.max]
    with tau2.max = :func:`tau2_max` (yi), 0 when Q(0) < k - p.

    Raises
    ------
    ValueError
        When the root lies above tau2.max (metafor stops there too: "Value of 'tau2.max' too low").
    """
    return float(_paule_mandel_batch(np.asarray(y, dtype=float)[None], np.asarray(vi, dtype=float)[None], X,
                                     "raise")[0])


def tau2_interval(method: str, yi: np.ndarray, vi: np.ndarray, X: np.ndarray, level: float, tau2: float,
                  weights: np.ndarray | None) -> tuple[float, float, tuple[str, str]]:
    """The interval for tau² that metafor's ``confint`` gives by default: the generalized Q interval
    for GENQ / GENQM, the Q-profile interval (Viechtbauer 2007) for the other estimators.

    Returns
    -------
    lower, upper : float
    signs : tuple of str
        ">" where a bound lies beyond the search limit max(100, 10 tau²) and is reported as it.
    """
    if method in WEIGHTED_METHODS:
        assert weights is not None  # fit_rma refuses GENQ / GENQM without weights
        return genq_ci(centered(yi, X), vi, X, weights, level, tau2, tol=float(R_UNIROOT_TOL * scale_factor(vi)[0]))
    lo, hi = q_profile_ci(yi, vi, X, level=level, tau2=tau2)
    limit = max(100.0, 10.0 * tau2)
    return lo, hi, (">" if lo >= limit else "", ">" if hi >= limit else "")


def q_general(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalized Q statistic with weights 1 / (vi + tau2)."""
    return float(q_general_batch(y[None], vi[None], X, np.array([tau2]))[0])


def q_fe(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> tuple[float, _Projection]:
    """Cochran's Q of the fixed-effects fit (QE) and its projection (for vt = (k - p) / tr P)."""
    P = _Projection(X, 1.0 / vi)
    return max(0.0, P.quad(centered(yi, X))), P


def q_profile_ci(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, level: float = 0.95,
                 tau2: float = 0.0) -> tuple[float, float]:
    """Q-profile confidence interval for tau² (Viechtbauer 2007), as metafor's ``confint``
    (a batch of one of :func:`q_profile_batch`)."""
    lo, hi = q_profile_batch(yi[None], vi[None], X, level, np.array([tau2]))
    return float(lo[0]), float(hi[0])


def loglik(method: str, yi, vi, X, tau2: float, beta: np.ndarray | None = None) -> float:
    """Log likelihood (REML for method REML, else ML) at tau2, metafor's constants.

    With *beta* the residuals are taken at those coefficients (else at the WLS estimate).
    """
    if beta is None:
        return float(loglik_batch(method, yi[None], vi[None], X, np.array([tau2]))[0])
    k, p = X.shape
    vt = vi + tau2
    rss = float(np.sum((yi - X @ beta) ** 2 / vt))
    if method == "REML":
        P = _Projection(X, 1.0 / vt)
        return float(-0.5 * (k - p) * _LOG2PI + 0.5 * np.linalg.slogdet(X.T @ X)[1]
                     - 0.5 * np.sum(np.log(vt)) - 0.5 * P.logdet_xtwx() - 0.5 * rss)
    return float(-0.5 * k * _LOG2PI - 0.5 * np.sum(np.log(vt)) - 0.5 * rss)


def maximize_loglik(method: str, yi, vi, X) -> float:
    """tau² maximizing the (restricted) likelihood, by bounded Brent search on [0, 100 (var(yi) + mean(vi))]."""
    from scipy.optimize import minimize_scalar

    scale = float(np.var(yi) + np.mean(vi))
    upper = 100.0 * scale
    res = minimize_scalar(lambda t: -loglik(method, yi, vi, X, t), bounds=(0.0, upper),
                          method="bounded", options={"xatol": 1e-12 * scale, "maxiter": 500})
    tau2 = float(res.x)
    if loglik(method, yi, vi, X, 0.0) >= loglik(method, yi, vi, X, tau2):
        return 0.0
    return tau2


def se_tau2(method, yi, vi, X, tau2, k, p, aux=None, weights=None) -> float | None:
    """Standard error of tau² (metafor's ``se.tau2``) for the estimator *method* (*weights*: GENQ / GENQM)."""
    t = max(tau2, 0.0)
    if method in ("HS", "HSk"):
        wi = 1.0 / vi
        P = _Projection(X, wi)
        se = float(np.sqrt((2 * (k - p) + 4 * t * P.trace() + 2 * t**2 * P.trace_dpp()) / wi.sum() ** 2))
        return k / (k - p) * se if method == "HSk" else se
    if method in WEIGHTED_METHODS:
        P = _Projection(X, np.asarray(weights, dtype=float))
        return float(np.sqrt((2 * P.trace_pdpd(vi) + 4 * t * P.trace_dpp(vi) + 2 * t**2 * P.trace_dpp())
                             / P.trace() ** 2))
    if method == "HE":
        ols = _Projection(X, np.ones(k))
        trPV = float(np.sum(vi * (1.0 - ols.h)))
        return float(np.sqrt((2 * ols.trace_pdpd(vi) + 4 * t * trPV + 2 * t**2 * (k - p)) / (k - p) ** 2))
    if method == "DL":
        P = _Projection(X, 1.0 / vi)
        trP = P.trace()
        return float(np.sqrt((2 * (k - p) + 4 * t * trP + 2 * t**2 * P.trace_dpp()) / trP**2))
    if method == "SJ":
        tau2_0 = (aux or {}).get("tau2_0", float(np.var(yi, ddof=1) * (k - 1) / k))
        P = _Projection(X, 1.0 / (vi + tau2_0))
        return float(np.sqrt(tau2_0**2 / (k - p) ** 2
                             * (2 * P.trace_pdpd(vi) + 4 * t * P.trace_dpp(vi) + 2 * t**2 * P.trace_dpp())))
    wi = 1.0 / (vi + tau2)
    with np.errstate(divide="ignore", over="ignore"):  # tau² so large that the weights underflow: SE inf
        if method == "ML":
            return float(np.sqrt(np.float64(2.0) / np.sum(wi**2)))
        if method == "REML":
            return float(np.sqrt(np.float64(2.0) / np.float64(_Projection(X, wi).trace_dpp())))
        if method in ("EB", "PM", "PMM"):
            return float(np.sqrt(np.float64(2.0 * k**2 / (k - p)) / wi.sum() ** 2))
    return None
