"""Profile-likelihood confidence intervals of variance components (metafor's
``confint.rma.mv``).

For each variance component sigma²_j of a three-level fit, the interval holds the values v
at which the likelihood-ratio statistic ``2 (ll_max - max_{other} ll(sigma²_j = v))``
stays below the chi-square(1) quantile at *level*: the other component is re-estimated at
every v (the profile). A lower bound at 0 means the profile never crosses the
critical value below the estimate; an upper bound at the end of metafor's search range
(``max(10, 100 sigma²_j)``) is reported with ``ub_reached=True`` (metafor prints ``>``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from bayesma._validate import check_level
from bayesma.errors import ArgumentTypeError

__all__ = ["confint_sigma2", "profile_loglik"]


def profile_loglik(res: Any, j: int, value: float) -> float:
    """The log likelihood of *res* maximised over the other variance component, with
    sigma²_j fixed at *value* (the profile likelihood of metafor's ``profile.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv` (its ``loglik_at(sigma2)`` gives the (restricted)
        log likelihood at given variance components).
    j : int
        0 (between clusters) or 1 (within clusters).
    value : float
        The fixed value of sigma²_j (>= 0).

    Returns
    -------
    float
    """
    other = 1 - j
    sig = np.array(res.sigma2, dtype=float)

    def ll(s: float) -> float:
        theta = sig.copy()
        theta[j], theta[other] = value, max(s, 0.0)
        return res.loglik_at(theta)

    scale = max(float(sig[other]), 1e-8)
    upper = 4.0 * max(scale, float(value), 1e-4)
    for _ in range(20):  # widen the bracket until the optimum is inside it
        best = optimize.minimize_scalar(lambda s: -ll(s), bounds=(0.0, upper), method="bounded",
                                        options={"xatol": 1e-11 * scale, "maxiter": 1000})
        if best.x < 0.9 * upper:
            break
        upper *= 10.0
    return float(max(-best.fun, ll(0.0)))


def confint_sigma2(res: Any, level: float | None = None) -> pd.DataFrame:
    """Profile-likelihood intervals of each variance component of a three-level fit
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
        Rows ``sigma^2.1`` (between clusters), ``sigma^2.2`` (within), ``sigma.1``,
        ``sigma.2``; columns ``estimate, ci_lb, ci_ub``, and ``ub_reached`` (True when
        the upper bound is the end of the search range, metafor's ``>``).

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
    if not hasattr(res, "loglik_at") or not hasattr(res, "sigma2"):
        raise ArgumentTypeError(f"profile intervals need a fit of bayesma.rma_mv (got {type(res).__name__})")
    level = check_level(res.level if level is None else level)
    crit = float(stats.chi2.ppf(level, 1))
    sig = np.array(res.sigma2, dtype=float)
    ll_max = res.loglik_at(sig)
    rows = []
    reached = []
    for j in range(len(sig)):
        est = float(sig[j])
        f = lambda v, j=j: 2.0 * (ll_max - profile_loglik(res, j, v)) - crit  # noqa: E731
        vmax = 10.0 if est <= np.sqrt(np.finfo(float).eps) else max(10.0, 100.0 * est)
        if f(0.0) < 0:
            lb = 0.0
        else:
            lb = optimize.brentq(f, 0.0, est, xtol=1e-14, rtol=1e-12, maxiter=500)
        if f(vmax) < 0:
            ub, hit = vmax, True
        else:
            ub, hit = optimize.brentq(f, est, vmax, xtol=1e-14, rtol=1e-12, maxiter=500), False
        rows.append((est, lb, ub))
        reached.append(hit)
    table = pd.DataFrame(rows, columns=["estimate", "ci_lb", "ci_ub"],
                         index=[f"sigma^2.{j + 1}" for j in range(len(sig))])
    roots = np.sqrt(table.clip(lower=0))
    roots.index = [f"sigma.{j + 1}" for j in range(len(sig))]
    out = pd.concat([table, roots])
    out["ub_reached"] = reached + reached
    return out
