"""Profile-likelihood confidence intervals of variance components (metafor's
``confint.rma.mv``).

For each estimated component theta_j of an ``rma_mv`` fit (variances sigma², tau², gamma² and
correlations rho, phi), the interval holds the values v at which the likelihood-ratio statistic
``2 (ll_max - max_{others} ll(theta_j = v))`` stays below the chi-square(1) quantile at
*level*: the other components are re-estimated at every v (the profile). A lower bound at 0 means the profile never crosses the
critical value below the estimate; an upper bound at the end of metafor's search range
(``max(10, 100 sigma²_j)`` for a variance, 1 for a correlation) is reported with ``ub_reached=True`` (metafor prints ``>``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from bayesma._validate import check_level
from bayesma.errors import ArgumentTypeError
from bayesma.frequentist.mv.optimize import Params, maximize

__all__ = ["confint_sigma2", "profile_loglik"]


def profile_loglik(res: Any, j: int, value: float) -> float:
    """The log likelihood of *res* maximised over the other components, with component *j*
    fixed at *value* (the profile likelihood of metafor's ``profile.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    j : int
        Index of the component in metafor's order (``res.params.names``: sigma2, tau2, rho, ...).
    value : float
        The fixed value (>= 0 for a variance, in [-1, 1] for a correlation).

    Returns
    -------
    float
    """
    params = res.params
    fixed = params.fixed.copy()
    fixed[j] = value
    start = np.array(res.theta, dtype=float)
    start[j] = value
    sub = Params(params.names, params.is_var, fixed)
    if not len(sub.free):
        return res.loglik_at(fixed)
    try:
        _, ev = maximize(res.layout, res.method == "REML", sub, res.scale, start=start)
    except ValueError:  # the marginal covariance is not positive definite at this value
        return -np.inf
    return float(ev.ll)


def confint_sigma2(res: Any, level: float | None = None) -> pd.DataFrame:
    """Profile-likelihood intervals of each estimated variance and correlation component
    (metafor's ``confint(rma.mv)``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    level : float, optional
        Confidence level (default: the fit's).

    Returns
    -------
    pandas.DataFrame
        One row per estimated component in metafor's order (``sigma^2.1``, ..., ``tau^2``,
        ``rho``, ...), then the square roots of the variances (``sigma.1``, ``tau``, ...);
        columns ``estimate, ci_lb, ci_ub``, and ``ub_reached`` (True when the upper bound is the
        end of the search range, metafor's ``>``).

    References
    ----------
    metafor 3.8-1, ``confint.rma.mv`` and ``profile.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> from bayesma.frequentist.mv.profile import confint_sigma2
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> fit = bm.rma_mv("yi", "vi", data=dat, cluster="district")
    >>> confint_sigma2(fit).loc["sigma^2.1", ["estimate", "ci_lb", "ci_ub"]].round(4).tolist()
    [0.0651, 0.0222, 0.2072]
    """
    if not hasattr(res, "loglik_at") or getattr(res, "params", None) is None:
        raise ArgumentTypeError(f"profile intervals need a fit of bayesma.rma_mv (got {type(res).__name__})")
    level = check_level(res.level if level is None else level)
    crit = float(stats.chi2.ppf(level, 1))
    theta = np.array(res.theta, dtype=float)
    ll_max = res.loglik_at(theta)
    rows, reached, names, roots = [], [], [], []
    for j in res.params.free:
        est = float(theta[j])
        f = lambda v, j=j: min(2.0 * (ll_max - profile_loglik(res, j, v)) - crit, 1e12)  # noqa: E731
        if res.params.is_var[j]:
            lo_end = 0.0
            hi_end = 10.0 if est <= np.sqrt(np.finfo(float).eps) else max(10.0, 100.0 * est)
        else:
            lo_end, hi_end = -1.0, 1.0
        lb = lo_end if f(lo_end) < 0 else optimize.brentq(f, lo_end, est, xtol=1e-14, rtol=1e-12, maxiter=500)
        if f(hi_end) < 0:
            ub, hit = hi_end, True
        else:
            ub, hit = optimize.brentq(f, est, hi_end, xtol=1e-14, rtol=1e-12, maxiter=500), False
        rows.append((est, lb, ub))
        reached.append(hit)
        names.append(res.params.names[j])
        if res.params.is_var[j]:
            roots.append(len(rows) - 1)
    table = pd.DataFrame(rows, columns=["estimate", "ci_lb", "ci_ub"], index=names)
    root = np.sqrt(table.iloc[roots].clip(lower=0))
    root.index = [n.replace("^2", "") for n in root.index]
    out = pd.concat([table, root])
    out["ub_reached"] = reached + [reached[i] for i in roots]
    return out
