"""The tau² estimators, Cochran's Q and the Q-profile interval, as ``metafor::rma.uni``.

FE, DL, HE, HS, SJ, ML, REML, EB (Fisher scoring from the HE estimate, stopping
when the change is below 1e-5, as metafor) and PM (Brent's root finder with R's
tolerance) for one data set with any design matrix, and the same estimators
vectorised over a batch of intercept-only data sets (used by the small-k simulation).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats

from bayesma._rootfind import R_UNIROOT_TOL, uniroot
from bayesma._validate import check_level
from bayesma.frequentist._common import _Projection

THRESHOLD = 1e-5  # metafor's convergence threshold for Fisher scoring


MAXITER = 100  # metafor's default maxiter


def estimate_tau2(method: str, yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> tuple[float, int, dict]:
    k, p = X.shape
    y = centered(yi, X)
    aux: dict[str, Any] = {}
    iterations = 0
    if method == "HS":
        wi = 1.0 / vi
        rss = _Projection(X, wi).quad(y)
        tau2 = (rss - k) / wi.sum()
    elif method == "DL":
        P = _Projection(X, 1.0 / vi)
        tau2 = (P.quad(y) - (k - p)) / P.trace()
    elif method == "SJ":
        tau2_0 = float(np.var(y, ddof=1) * (k - 1) / k)
        rss = _Projection(X, 1.0 / (vi + tau2_0)).quad(y)
        tau2 = tau2_0 * rss / (k - p)
        aux["tau2_0"] = tau2_0
    elif method == "PM":
        tau2 = paule_mandel(y, vi, X)
    else:  # HE, and the starting value of ML / REML / EB
        ols = _Projection(X, np.ones(k))
        rss = ols.quad(y)
        hat = np.einsum("ij,jk,ik->i", X, ols.A_inv, X)
        trPV = float(np.sum(vi) - np.sum(hat * vi))
        tau2 = (rss - trPV) / (k - p)
        if method in ("ML", "REML", "EB"):
            tau2, iterations = fisher_scoring(method, y, yi, vi, X, max(0.0, tau2))
    return max(0.0, float(tau2)), iterations, aux


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


def paule_mandel(y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Root of the generalized Q statistic at k - p, as metafor: ``uniroot`` on [0, tau2.max]
    with tau2.max = :func:`tau2_max` (yi), 0 when Q(0) < k - p.

    Raises
    ------
    ValueError
        When the root lies above tau2.max (metafor stops there too: "Value of 'tau2.max' too low").
    """
    k, p = X.shape
    upper = float(tau2_max(y))
    qfun = lambda t: q_general(y, vi, X, t) - (k - p)  # noqa: E731
    if qfun(0.0) < 0:
        return 0.0
    if qfun(upper) > 0:
        raise ValueError(
            f"the Paule-Mandel root of Q(tau²) = k - p lies above the search limit tau2_max = {upper:.6g} "
            "(metafor's max(100, 10 mad(yi)²); metafor stops here too: \"Value of 'tau2.max' too low\"); "
            "a few extreme effects dominate: check them, or use method='REML' or 'DL'")
    return uniroot(qfun, 0.0, upper, tol=R_UNIROOT_TOL, maxiter=MAXITER)


def fisher_scoring(method: str, y, yi, vi, X, tau2: float) -> tuple[float, int]:
    k, p = X.shape
    change = THRESHOLD + 1
    iteration = 0
    while change > THRESHOLD:
        iteration += 1
        old = tau2
        wi = 1.0 / (vi + tau2)
        P = _Projection(X, wi)
        if method == "ML":
            Py = P.apply(y)
            adj = (Py @ Py - wi.sum()) / np.sum(wi**2)
        elif method == "REML":
            Py = P.apply(y)
            adj = (Py @ Py - P.trace()) / P.trace_dpp()
        else:  # EB
            adj = (P.quad(y) * k / (k - p) - k) / wi.sum()
        while tau2 + adj < 0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iteration > MAXITER:
            # metafor stops with an error here. EB's fixed point is the root of Q(tau²) = k - p,
            # which root finding gets directly; ML / REML maximize the likelihood directly.
            if method == "EB":
                warnings.warn(f"the empirical Bayes iterations did not converge in {MAXITER} steps "
                              "(metafor stops here); tau² is the root of Q(tau²) = k - p instead",
                              stacklevel=4)
                return paule_mandel(y, vi, X), iteration
            warnings.warn(
                f"Fisher scoring did not converge in {MAXITER} iterations (metafor stops here); "
                f"tau² was found by direct maximization of the {method} likelihood",
                stacklevel=4,
            )
            return maximize_loglik(method, yi, vi, X), iteration
    if method in ("ML", "REML"):
        # metafor's check: is tau² = 0 better than the point reached?
        ll0 = loglik(method, yi, vi, X, 0.0)
        ll1 = loglik(method, yi, vi, X, tau2)
        if ll0 - ll1 > R_UNIROOT_TOL and tau2 > THRESHOLD:
            warnings.warn("Fisher scoring may have stopped at a local maximum; setting tau² = 0", stacklevel=4)
            tau2 = 0.0
    return tau2, iteration


def maximize_loglik(method: str, yi, vi, X) -> float:
    """tau² maximizing the (restricted) likelihood, by bounded Brent search on log(tau² + c)."""
    from scipy.optimize import minimize_scalar

    scale = float(np.var(yi) + np.mean(vi))
    upper = 100.0 * scale
    res = minimize_scalar(lambda t: -loglik(method, yi, vi, X, t), bounds=(0.0, upper),
                          method="bounded", options={"xatol": 1e-12 * scale, "maxiter": 500})
    tau2 = float(res.x)
    if loglik(method, yi, vi, X, 0.0) >= loglik(method, yi, vi, X, tau2):
        return 0.0
    return tau2


def se_tau2(method, yi, vi, X, tau2, k, p, aux=None) -> float | None:
    t = max(tau2, 0.0)
    if method == "HS":
        wi = 1.0 / vi
        P = _Projection(X, wi)
        return float(np.sqrt((2 * (k - p) + 4 * t * P.trace() + 2 * t**2 * P.trace_dpp()) / wi.sum() ** 2))
    if method == "HE":
        ols = _Projection(X, np.ones(k))
        hat = np.einsum("ij,jk,ik->i", X, ols.A_inv, X)
        trPV = float(np.sum(vi) - np.sum(hat * vi))
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
    if method == "ML":
        return float(np.sqrt(2.0 / np.sum(wi**2)))
    if method == "REML":
        return float(np.sqrt(2.0 / _Projection(X, wi).trace_dpp()))
    if method in ("EB", "PM"):
        return float(np.sqrt(2.0 * k**2 / (k - p) / wi.sum() ** 2))
    return None


def q_general(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalized Q statistic with weights 1 / (vi + tau2)."""
    return _Projection(X, 1.0 / (vi + tau2)).quad(y)


def q_fe(yi, vi, X):
    P = _Projection(X, 1.0 / vi)
    return max(0.0, P.quad(centered(yi, X))), P


def centered(yi: np.ndarray, X: np.ndarray) -> np.ndarray:
    """yi minus its mean when the model has an intercept, else yi itself.

    metafor centres yi before its tau² and Q computations, for numerical stability;
    that changes nothing when the columns of X span the constant, but for a model
    without an intercept (regression through the origin) it changes the model and
    gives a wrong QE and tau². bayesma centres only where it is harmless.
    """
    ones = np.ones(X.shape[0])
    coef, *_ = np.linalg.lstsq(X, ones, rcond=None)
    if np.allclose(X @ coef, ones, rtol=0, atol=1e-10):
        return yi - yi.mean()
    return yi


def q_profile_ci(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, level: float = 0.95, tau2: float = 0.0
) -> tuple[float, float]:
    """Q-profile confidence interval for tau² (Viechtbauer 2007), as metafor's ``confint``.

    Bounds are found where the generalized Q statistic equals the chi-square
    quantiles with k - p degrees of freedom; a bound below zero is zero.
    """
    level = check_level(level)
    k, p = X.shape
    alpha = 1.0 - level
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    t_min = min(0.0, tau2)
    t_max = max(100.0, tau2 * 10, t_min * 10)
    q = lambda t: q_general(yi, vi, X, t)  # noqa: E731
    q_min, q_max = q(t_min), q(t_max)
    # upper bound
    if q_min < crit_l:
        return (t_min, t_min)
    if q_max > crit_l:
        ub = t_max  # metafor reports the search limit (printed as ">")
    else:
        ub = uniroot(lambda t: q(t) - crit_l, t_min, t_max, tol=R_UNIROOT_TOL, maxiter=1000)
    # lower bound
    if q_max > crit_u:
        lb = t_max
    elif q_min < crit_u:
        lb = t_min
    else:
        lb = uniroot(lambda t: q(t) - crit_u, t_min, t_max, tol=R_UNIROOT_TOL, maxiter=1000)
    return (max(0.0, float(lb)), max(0.0, float(ub)))


def loglik(method: str, yi, vi, X, tau2: float, beta: np.ndarray | None = None) -> float:
    """Log likelihood (REML for method REML, else ML) at tau2, metafor's constants."""
    k, p = X.shape
    wi = 1.0 / (vi + tau2)
    XtWX = (X.T * wi) @ X
    if beta is None:
        beta = np.linalg.solve(XtWX, (X.T * wi) @ yi)
    rss = float(np.sum(wi * (yi - X @ beta) ** 2))
    if method == "REML":
        return float(
            -0.5 * (k - p) * np.log(2 * np.pi)
            + 0.5 * np.linalg.slogdet(X.T @ X)[1]
            - 0.5 * np.sum(np.log(vi + tau2))
            - 0.5 * np.linalg.slogdet(XtWX)[1]
            - 0.5 * rss
        )
    return float(-0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss)



# ---------------------------------------------------------------------------
# the same estimators vectorised over a batch of intercept-only data sets, shape (B, k)


def _fe_parts(y: np.ndarray, w: np.ndarray):
    sw = w.sum(-1)
    mu = (w * y).sum(-1) / sw
    return sw, mu


def q_general_batch(y: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    w = 1.0 / (v + tau2[..., None])
    sw, mu = _fe_parts(y, w)
    return (w * (y - mu[..., None]) ** 2).sum(-1)


def tau2_dl_batch(y, v):
    k = y.shape[-1]
    w = 1.0 / v
    sw, mu = _fe_parts(y, w)
    Q = (w * (y - mu[..., None]) ** 2).sum(-1)
    return np.maximum(0.0, (Q - (k - 1)) / (sw - (w * w).sum(-1) / sw))


def _reml_ll_batch(y, v, tau2):
    w = 1.0 / (v + tau2[..., None])
    sw, mu = _fe_parts(y, w)
    return -0.5 * (np.log(v + tau2[..., None]).sum(-1) + np.log(sw) + (w * (y - mu[..., None]) ** 2).sum(-1))


def tau2_reml_batch(y, v):
    """REML by metafor's Fisher scoring (start: the HE estimate; step halving; |change| < 1e-5)."""
    B, k = y.shape
    yc = y - y.mean(-1, keepdims=True)
    rss = (yc * yc).sum(-1)
    tau2 = np.maximum(0.0, (rss - v.sum(-1) * (k - 1) / k) / (k - 1))
    active = np.ones(B, dtype=bool)
    for _ in range(MAXITER + 1):
        if not active.any():
            break
        t = tau2[active]
        ya, va = y[active], v[active]
        w = 1.0 / (va + t[:, None])
        sw, mu = _fe_parts(ya, w)
        Py = w * (ya - mu[:, None])
        trP = sw - (w * w).sum(-1) / sw
        PP = (w * w).sum(-1) - 2.0 * (w**3).sum(-1) / sw + ((w * w).sum(-1) / sw) ** 2
        adj = ((Py * Py).sum(-1) - trP) / PP
        for _ in range(60):
            neg = t + adj < 0
            if not neg.any():
                break
            adj = np.where(neg, adj / 2.0, adj)
        # metafor halves until tau2 + adj >= 0; from tau2 = 0 that ends with adj underflowing to 0
        new = np.where(t + adj < 0, t, t + adj)
        idx = np.flatnonzero(active)
        tau2[idx] = new
        active[idx[np.abs(new - t) <= THRESHOLD]] = False
    if active.any():  # metafor stops with an error; maximize directly, as fit_rma() does
        ones = np.ones((k, 1))
        for i in np.flatnonzero(active):
            tau2[i] = maximize_loglik("REML", y[i], v[i], ones)
    # metafor's check: is tau2 = 0 better than the point reached?
    worse = (_reml_ll_batch(y, v, np.zeros(B)) - _reml_ll_batch(y, v, tau2) > R_UNIROOT_TOL) & (tau2 > THRESHOLD)
    return np.where(worse, 0.0, tau2)


def _root_decreasing(fn, target, lo, hi, iters: int = 64):
    """Vectorized bisection for a decreasing fn(t) = target on [lo, hi]."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        above = fn(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def tau2_pm_batch(y, v):
    """Paule-Mandel: generalized Q(tau2) = k - 1, 0 if Q(0) < k - 1, solved by bisection on
    [0, tau2.max] with metafor's tau2.max = :func:`tau2_max` (y). Where the root lies above
    tau2.max (metafor stops with an error), the bracket is doubled until it holds the root, so
    that a simulation gets the estimator's value."""
    B, k = y.shape
    target = k - 1
    q0 = q_general_batch(y, v, np.zeros(B))
    hi = np.asarray(tau2_max(y), dtype=float).copy()
    for _ in range(200):
        above = q_general_batch(y, v, hi) > target
        if not above.any():
            break
        hi = np.where(above, 2.0 * hi, hi)
    root = _root_decreasing(lambda t: q_general_batch(y, v, t), target, np.zeros(B), hi)
    return np.where(q0 < target, 0.0, root)


def q_profile_batch(y, v, level: float, tau2: np.ndarray):
    """Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's confint():
    searched on [0, max(100, 10 tau2)], an unbounded upper limit reported as that limit."""
    B, k = y.shape
    alpha = 1.0 - level
    crit_u = stats.chi2.isf(alpha / 2, k - 1)
    crit_l = stats.chi2.ppf(alpha / 2, k - 1)
    q0 = q_general_batch(y, v, np.zeros(B))
    t_max = np.maximum(100.0, 10.0 * tau2)
    q_max = q_general_batch(y, v, t_max)
    fn = lambda t: q_general_batch(y, v, t)  # noqa: E731
    ub = _root_decreasing(fn, crit_l, np.zeros(B), t_max)
    ub = np.where(q_max > crit_l, t_max, ub)
    lb = _root_decreasing(fn, crit_u, np.zeros(B), t_max)
    lb = np.where(q_max > crit_u, t_max, np.where(q0 < crit_u, 0.0, lb))
    none = q0 < crit_l
    return np.where(none, 0.0, lb), np.where(none, 0.0, ub)


def tau2_batch(y, v, method: str, level: float):
    """tau2 and its Q-profile interval (B,) each: the part of :func:`frequentist_batch` every test shares."""
    level = check_level(level)
    B = y.shape[0]
    if method == "DL":
        tau2 = tau2_dl_batch(y, v)
    elif method == "REML":
        tau2 = tau2_reml_batch(y, v)
    elif method == "PM":
        tau2 = tau2_pm_batch(y, v)
    elif method == "FE":
        tau2 = np.zeros(B)
    else:
        raise ValueError(f"method must be 'DL', 'REML', 'PM' or 'FE', got {method!r}")
    lo, hi = q_profile_batch(y, v, level, tau2) if method != "FE" else (np.zeros(B), np.zeros(B))
    return tau2, lo, hi
