"""The numbers of one univariate fit on plain arrays (the arithmetic of ``metafor::rma.uni``):
shared by :func:`bayesma.frequentist.uni.fit_rma`, which wraps them in an ``RMAResult``, and
by the case-deletion refits of ``influence``, ``leave1out`` and ``cumul``, which need only the
numbers (building a full result per refit, with a data table and Q-profile intervals nobody
reports, made those diagnostics several times slower)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bayesma.errors import InputError
from bayesma.frequentist import tau2 as _tau2
from bayesma.frequentist._common import _Projection, warn_vi_ratio
from bayesma.frequentist.inference import KNHA_TESTS, check_test, critical_value, knha_factor, t_dfs, wald_tests
from bayesma.frequentist.tau2 import estimate_tau2, q_fe

__all__ = ["refit_numbers", "r2_fixed"]


@dataclass(frozen=True)
class _Numbers:
    """The numbers of one fit on plain arrays: what :func:`fit_rma` reports and what each
    case-deletion refit of ``influence``, ``leave1out`` and ``cumul`` needs (no data
    table, no intervals for tau², no R²)."""

    method: str
    test: str
    k: int
    p: int
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2: float
    se_tau2: float | None
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    I2: float
    H2: float
    vt: float
    dfs: int | None
    s2w: float
    crit: float
    loglik: float | None
    iterations: int
    btt: list[int]
    has_intercept: bool
    wi: np.ndarray


def _fit_numbers(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, coef_names: list[str], *, method: str,
                 test: str, level: float, tau2_fixed: float | None, weights: np.ndarray | None = None) -> _Numbers:
    """Estimate tau², the coefficients, their tests and the heterogeneity statistics.

    With user *weights* (metafor's ``weights=``) the coefficients are their weighted least-squares
    estimates, with the sandwich variance (X'AX)^-1 X'A M A X (X'AX)^-1, M = diag(vi + tau²); the
    Knapp-Hartung factor stays that of the inverse-variance fit (as metafor). GENQ / GENQM also
    estimate tau² with them."""
    k, p = X.shape
    check_test(test)
    if k < p:
        raise InputError(f"too few studies (k = {k}) for {p} coefficients")
    if k == 1 and test != "z":
        warnings.warn(f"k = 1: test='z' is used instead of test={test!r} (as metafor: "
                      "'Setting argument test=\"z\" since k=1.')", stacklevel=4)
        test = "z"
    warn_vi_ratio(vi)
    single = k == 1 and method != "FE" and tau2_fixed is None
    if single:
        # metafor: one study carries no information on tau²; it is set to 0 (no SE, no CI)
        warnings.warn("k = 1: tau² cannot be estimated from a single study and is set to 0", stacklevel=4)
    elif method != "FE" and k - p < 1 and tau2_fixed is None:
        raise InputError(f"cannot estimate tau² with k = {k} studies and {p} coefficients; use method='FE'")

    if weights is None and method in _tau2.WEIGHTED_METHODS:
        raise InputError(f"method={method!r} needs weights= (the weights of its generalized Q statistic; metafor: "
                         f"\"Must specify 'weights' when method='{method}'\")", column="weights")
    se_tau2: float | None = None
    iterations = 0
    if method == "FE" or single:
        tau2 = 0.0
    elif tau2_fixed is not None:
        tau2 = float(tau2_fixed)
        # no standard error without residual degrees of freedom (metafor: k = 1 with a fixed tau²)
        se_tau2 = _tau2.se_tau2(method, yi, vi, X, tau2, k, p, weights=weights) if k > p else None
    else:
        tau2, iterations, aux = estimate_tau2(method, yi, vi, X, weights=weights)
        se_tau2 = _tau2.se_tau2(method, yi, vi, X, tau2, k, p, aux, weights=weights)

    # fixed effects
    wi = 1.0 / (vi + tau2)
    proj = _Projection(X, wi)
    rss = proj.quad(yi)  # of the inverse-variance fit: the Knapp-Hartung factor's, also with user weights
    if weights is None:
        beta, vb = proj.coef(yi), proj.A_inv
    else:
        user = _Projection(X, weights)
        beta = user.coef(yi)
        bread = user.A_inv @ (X.T * weights)
        vb = (bread * (vi + tau2)) @ bread.T
    if test in KNHA_TESTS and method == "FE":
        warnings.warn("the Knapp-Hartung method is meant for random/mixed-effects models, not 'FE'", stacklevel=4)
    s2w = knha_factor(rss, k - p, test)
    vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0 (knha with RSS = 0): metafor's Inf / NaN
        stat = beta / se
    dfs = t_dfs(test, k, p)  # "t": t and F tests with k - p df, the variances unscaled (s2w = 1)

    has_intercept = bool(np.allclose(X[:, 0], 1.0)) and coef_names[0] == "intrcpt"
    btt, QM, QMp, pval = wald_tests(beta, vb, has_intercept, dfs)
    crit = critical_value(level, dfs)

    # heterogeneity: always with the inverse-variance FE weights
    if k > p:
        QE, P_fe = q_fe(yi, vi, X)
        QEp = float(stats.chi2.sf(QE, k - p))
        vt = (k - p) / P_fe.trace()
        if method == "FE":
            I2 = max(0.0, 100.0 * (QE - (k - p)) / QE) if QE > 0 else 0.0
            H2 = QE / (k - p)
        else:
            I2 = 100.0 * tau2 / (vt + tau2)
            H2 = tau2 / vt + 1.0
    else:
        QE, QEp, I2, H2, vt = 0.0, 1.0, 0.0, 1.0, 0.0

    return _Numbers(
        method=method, test=test, k=k, p=p, beta=beta, se=se, vb=vb, stat=stat,
        pval=np.asarray(pval, dtype=float), ci_lb=beta - crit * se, ci_ub=beta + crit * se,
        tau2=float(tau2), se_tau2=se_tau2, QE=float(QE), QEp=QEp, QM=QM, QMp=QMp, QMdf=(len(btt), dfs),
        I2=float(I2), H2=float(H2), vt=float(vt), dfs=dfs, s2w=s2w, crit=crit,
        loglik=_tau2.loglik(method, yi, vi, X, tau2, beta), iterations=iterations, btt=btt,
        has_intercept=has_intercept, wi=wi,
    )


def refit_numbers(res: Any, keep: np.ndarray) -> _Numbers:
    """The numbers of *res* refitted to the studies in the boolean mask *keep* (same method,
    test, level and fixed tau²): the case-deletion refit, on arrays, without building a result."""
    md = res.data
    user = getattr(res, "user_weights", None)
    return _fit_numbers(md.yi[keep], md.vi[keep], res.X[keep], res.coef_names, method=res.method, test=res.test,
                        level=res.level, tau2_fixed=res.tau2 if res.tau2_fix else None,
                        weights=None if user is None else user[keep])


def r2_fixed(yi: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    """Adjusted R² (%) of the weighted least squares fit, as metafor for FE models."""
    k, p = X.shape
    if np.var(yi) == 0 or k == p:  # k = p: the adjustment (k - 1) / (k - p) sends it to 0
        return 0.0
    beta = np.linalg.solve((X.T * w) @ X, (X.T * w) @ yi)
    fitted = X @ beta
    resid = yi - fitted
    mean_fit = np.sum(w * fitted) / w.sum()
    mss = np.sum(w * (fitted - mean_fit) ** 2)
    rss = np.sum(w * resid**2)
    r2 = mss / (mss + rss)
    adj = 1 - (1 - r2) * (k - 1) / (k - p)
    return float(max(0.0, 100.0 * adj))
