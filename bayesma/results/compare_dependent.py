"""The multilevel/multivariate frequentist fit beside a dependent-effects posterior.

A CHE model (``cluster=`` with ``rho=`` or ``V=``) is compared with
``rma_mv(yi, V, random="~ 1 | cluster/obs")`` (``tau^2`` is ``sigma2[0]``,
``tau_within^2`` is ``sigma2[1]``); a multivariate model across outcomes with
``rma_mv(yi, V, mods="~ outcome - 1", random="~ outcome | cluster", struct=...)`` (with moderators
the model's own ``mods=``, e.g. ``"~ 0 + outcome + x"``).
Both use the same ``V`` as the posterior, fitted by ML and REML, plus the CR2
cluster-robust interval (clubSandwich's small-sample correction) of the REML
mean(s). The engine of the posterior does not matter here.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView

__all__ = ["compare_dependent"]


def _robust_ci(res: Any, spec: Any) -> tuple[np.ndarray, np.ndarray]:
    from bayesma.frequentist.rve import robust

    cl = np.asarray(spec.cluster_names, dtype=object)[np.asarray(spec.cluster_index)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rob = robust(res, cluster=cl, clubSandwich=True)
    return np.asarray(rob.ci_lb, dtype=float), np.asarray(rob.ci_ub, dtype=float)


def _freq_rows(spec: Any, names: list[str], level: float) -> list[tuple[tuple[str, str], dict]]:
    from bayesma.report.fits import fit_counterpart

    dep = spec.dependence
    rows = []
    for method in ("ML", "REML"):
        res = fit_counterpart(spec, method, level)
        if dep.multivariate:
            extra = {"tau": float(np.sqrt(res.tau2[0])), "rho": float(res.rho[0]) if len(res.rho) else np.nan}
        else:
            extra = {"tau": float(np.sqrt(res.sigma2[0])), "tau_within": float(np.sqrt(res.sigma2[1]))}
        for j, name in enumerate(names):
            rows.append(((method, name), {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]),
                                          "ci_ub": float(res.ci_ub[j]), **extra}))
        if method == "REML":
            lo, hi = _robust_ci(res, spec)  # at the fit's level
            for j, name in enumerate(names):
                rows.append((("REML+CR2", name), {"estimate": float(res.beta[j]), "ci_lb": float(lo[j]),
                                                  "ci_ub": float(hi[j]), **extra}))
    return rows


def compare_dependent(post: FitView, level: float = 0.95) -> pd.DataFrame:
    """``rma_mv`` (ML, REML, REML with the CR2 interval) beside a dependent-effects posterior.

    Parameters
    ----------
    post : MetaPosterior
        A fit of a CHE or multivariate model (``post.spec.dependence`` not None).
    level : float
        Interval level in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Index ``(method, parameter)``: methods ``ML``, ``REML``, ``REML+CR2`` and
        ``Bayesian (<engine>)``; parameters ``mu`` (CHE), the coefficients (CHE
        meta-regression), ``mu[<outcome>]`` (multivariate) or ``beta[<name>]`` (multivariate
        with moderators). Columns ``estimate,
        ci_lb, ci_ub`` and the SD-scale heterogeneity: ``tau, tau_within`` (CHE) or
        ``tau, rho`` (multivariate; repeated within a method). The Bayesian row gives
        posterior medians and equal-tailed intervals; the frequentist rows give
        Wald (z) intervals, and ``REML+CR2`` the cluster-robust t interval
        (clubSandwich's CR2 with Satterthwaite df).

    Examples
    --------
    >>> compare_dependent(post).loc[("REML", "mu"), "estimate"]         # doctest: +SKIP
    """
    spec = post.spec
    dep: Any = getattr(spec, "dependence")  # a dependent-effects spec (models/dependence.py) carries it
    if spec.is_regression:
        names = [f"beta[{c}]" for c in spec.coef_names]
    else:
        names = [f"mu[{o}]" for o in dep.outcome_names] if dep.multivariate else ["mu"]
    het = ["tau", "rho"] if dep.multivariate else ["tau", "tau_within"]
    rows = _freq_rows(spec, names, level)
    summ = post.summary(prob=level)

    def med(row: str) -> float:
        return float(summ.loc[row, "median"]) if row in summ.index else float("nan")

    extra = {h: med(h) for h in het}
    bname = f"Bayesian ({post.engine})"
    for name in names:
        r = summ.loc[name]
        rows.append(((bname, name), {"estimate": float(r["median"]), "ci_lb": float(r["eti_lower"]),
                                     "ci_ub": float(r["eti_upper"]), **extra}))
    index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["method", "parameter"])
    return pd.DataFrame([r[1] for r in rows], index=index, columns=["estimate", "ci_lb", "ci_ub", *het])
