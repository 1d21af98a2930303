"""Frequentist fixed- and random-effects meta-analysis with metafor's numbers.

:func:`rma` follows ``metafor::rma.uni`` (version 3.8-1) in its estimators,
tests and intervals, down to the iteration schemes, so that results agree
with R to the last printed digit:

* tau² estimators FE, DL, HE, HS, SJ, ML, REML, EB (Fisher scoring from the
  HE estimate, stopping when the change is below 1e-5, as metafor) and PM
  (Brent's root finder with R's tolerance);
* Wald-type z tests, Knapp-Hartung t tests (``test="knha"``) and the modified
  Knapp-Hartung method that never narrows the interval (``test="adhoc"``);
* Cochran's Q, I², H², the standard error of tau², Q-profile confidence
  intervals for tau², I² and H² (Viechtbauer 2007), prediction intervals,
  the omnibus test of moderators QM and the pseudo R².
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._rootfind import R_UNIROOT_TOL, uniroot
from bayesma.data import MetaData
from bayesma.design import design_matrix, required_columns

__all__ = ["rma", "RMAResult", "subgroup", "SubgroupResult", "METHODS", "TESTS"]

METHODS = ("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
TESTS = ("z", "knha", "adhoc")
_THRESHOLD = 1e-5  # metafor's convergence threshold for Fisher scoring
_MAXITER = 100  # metafor's default maxiter


@dataclass
class RMAResult:
    """A fitted (mixed-effects) meta-analysis, with metafor's names.

    Attributes follow ``metafor::rma.uni``: ``beta``, ``se``, ``stat``,
    ``pval``, ``ci_lb``, ``ci_ub`` (one per coefficient, in ``coef_names``),
    ``tau2``, ``se_tau2``, ``tau2_ci``, ``I2``, ``I2_ci``, ``H2``, ``H2_ci``,
    ``QE``, ``QEp``, ``QM``, ``QMp``, ``R2``, ``pi_lb``, ``pi_ub``, ``k``,
    ``p``, ``dfs`` (t degrees of freedom for knha/adhoc, else None).
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    coef_names: list[str]
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
    R2: float | None
    dfs: int | None
    s2w: float
    tau2_ci: tuple[float, float] | None = None
    I2_ci: tuple[float, float] | None = None
    H2_ci: tuple[float, float] | None = None
    pi_lb: float | None = None
    pi_ub: float | None = None
    loglik: float | None = None
    iterations: int = 0
    data: MetaData | None = field(default=None, repr=False)
    X: np.ndarray | None = field(default=None, repr=False)
    btt: list[int] = field(default_factory=list)

    # ---- convenience -------------------------------------------------
    @property
    def tau(self) -> float:
        """Square root of tau²."""
        return float(np.sqrt(self.tau2))

    @property
    def yi(self) -> np.ndarray:
        return self.data.yi

    @property
    def vi(self) -> np.ndarray:
        return self.data.vi

    @property
    def estimate(self) -> float:
        """The pooled estimate (intercept) of an intercept-only model."""
        return float(self.beta[0])

    @property
    def weights(self) -> np.ndarray:
        """Percentage weight of each study (inverse-variance, as metafor's ``weights()``)."""
        w = 1.0 / (self.data.vi + self.tau2)
        return 100.0 * w / w.sum()

    def summary(self) -> pd.DataFrame:
        """Coefficient table: estimate, se, statistic, p-value, interval."""
        stat = "tval" if self.dfs is not None else "zval"
        return pd.DataFrame(
            {
                "estimate": self.beta,
                "se": self.se,
                stat: self.stat,
                "pval": self.pval,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
            },
            index=pd.Index(self.coef_names, name="coef"),
        )

    def heterogeneity(self) -> pd.DataFrame:
        """tau², tau, I², H² with their Q-profile confidence intervals."""
        rows = {"tau2": (self.tau2, self.tau2_ci), "tau": (self.tau, _sqrt_ci(self.tau2_ci)),
                "I2": (self.I2, self.I2_ci), "H2": (self.H2, self.H2_ci)}
        return pd.DataFrame(
            [
                {"estimate": est, "ci_lb": ci[0] if ci else np.nan, "ci_ub": ci[1] if ci else np.nan}
                for est, ci in rows.values()
            ],
            index=pd.Index(list(rows), name="parameter"),
        )

    def predict(self, newmods: Any = None, level: float | None = None) -> pd.DataFrame:
        """Predicted (average) effects with confidence and prediction intervals.

        Parameters
        ----------
        newmods : array_like, optional
            Moderator values (without the intercept column), one row per
            prediction. Default: the intercept-only prediction, or the fitted
            values of a meta-regression.
        """
        level = _level(level if level is not None else self.level)
        if newmods is None:
            Xnew = np.ones((1, 1)) if self.p == 1 and self.coef_names == ["intrcpt"] else self.X
        else:
            Xnew = np.atleast_2d(np.asarray(newmods, dtype=float))
            if self.p == 1 and Xnew.shape[1] != 1:
                Xnew = Xnew.T
            if Xnew.shape[1] == self.p - 1 and self.coef_names[0] == "intrcpt":
                Xnew = np.column_stack([np.ones(Xnew.shape[0]), Xnew])
            if Xnew.shape[1] != self.p:
                raise ValueError(f"newmods must have {self.p - 1} columns (one per moderator)")
        pred = Xnew @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xnew, self.vb, Xnew))
        crit = _crit(level, self.dfs)
        pi_se = np.sqrt(se**2 + self.tau2)
        return pd.DataFrame(
            {
                "pred": pred,
                "se": se,
                "ci_lb": pred - crit * se,
                "ci_ub": pred + crit * se,
                "pi_lb": pred - crit * pi_se,
                "pi_ub": pred + crit * pi_se,
            }
        )

    def funnel(self, **kwargs: Any):
        """Funnel plot of this (intercept-only) fit; see :func:`bayesma.plots.funnel_plot`."""
        from bayesma.plots import funnel_plot

        return funnel_plot(self, **kwargs)

    def __repr__(self) -> str:
        return format_rma(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + format_rma(self).replace("<", "&lt;") + "</pre>"


def rma(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    mods: Any = None,
    level: float = 0.95,
    labels: Any = None,
    cluster: Any = None,
    missing: str = "raise",
    tau2: float | None = None,
) -> RMAResult:
    """Fit a fixed-, random- or mixed-effects meta-analysis (metafor's ``rma``).

    Parameters
    ----------
    yi : str or array_like
        Observed effects, or a column name of *data*.
    vi : str or array_like, optional
        Sampling variances (or give *sei*, standard errors).
    data : pandas.DataFrame, optional
        Table with the named columns and the moderators.
    method : str
        "FE" (common effect) or a tau² estimator: "DL", "REML", "ML", "PM",
        "HS", "SJ", "HE", "EB".
    test : {"z", "knha", "adhoc"}
        Wald-type z tests, Knapp-Hartung t tests, or the modified
        Knapp-Hartung method (scaling factor at least 1).
    mods : str, array_like or DataFrame, optional
        Moderators: a formula such as ``"~ ablat + year"`` (strings and
        ``factor(x)`` are factors, treatment coding) or a matrix.
    level : float
        Confidence level, 0.95 or 95.
    labels : str or array_like, optional
        Study labels.
    cluster : str or array_like, optional
        Cluster ids: effects nested in studies are fitted with a three-level
        model (see :func:`bayesma.rma_mv`).
    missing : {"raise", "drop"}
        How to treat studies with missing values.
    tau2 : float, optional
        Fix tau² at this value instead of estimating it.

    Returns
    -------
    RMAResult

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> round(float(res.beta[0]), 4)
    0.1869
    """
    if cluster is not None:
        from bayesma.multilevel import rma_mv

        return rma_mv(yi, vi, sei=sei, data=data, cluster=cluster, mods=mods, level=level,
                      test=test, labels=labels, missing=missing)
    method = _check_method(method)
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    level = _level(level)
    md = yi if isinstance(yi, MetaData) else MetaData.create(
        yi, vi, sei=sei, data=data, labels=labels, missing=missing, require=required_columns(mods, data),
    )
    X, names = design_matrix(mods, md.data, md.k, md.labels)
    return fit_rma(md, X, names, method=method, test=test, level=level, tau2_fixed=tau2)


def fit_rma(
    md: MetaData,
    X: np.ndarray,
    coef_names: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2_fixed: float | None = None,
    skip_r2: bool = False,
) -> RMAResult:
    """Fit the model on validated data and a design matrix (the engine of :func:`rma`)."""
    yi, vi = md.yi, md.vi
    k, p = X.shape
    if k < p:
        raise ValueError(f"too few studies (k = {k}) for {p} coefficients")
    single = k == 1 and method != "FE" and tau2_fixed is None
    if single:
        # metafor: one study carries no information on tau²; it is set to 0 (no SE, no CI)
        warnings.warn("k = 1: tau² cannot be estimated from a single study and is set to 0", stacklevel=3)
    elif method != "FE" and k - p < 1 and tau2_fixed is None:
        raise ValueError(f"cannot estimate tau² with k = {k} studies and {p} coefficients; use method='FE'")

    se_tau2: float | None = None
    iterations = 0
    if method == "FE" or single:
        tau2 = 0.0
    elif tau2_fixed is not None:
        tau2 = float(tau2_fixed)
        se_tau2 = _se_tau2(method, yi, vi, X, tau2, k, p)
    else:
        tau2, iterations, aux = _estimate_tau2(method, yi, vi, X)
        se_tau2 = _se_tau2(method, yi, vi, X, tau2, k, p, aux)

    # fixed effects
    wi = 1.0 / (vi + tau2)
    XtW = X.T * wi
    vb = np.linalg.inv(XtW @ X)
    beta = vb @ (XtW @ yi)
    rss = float(np.sum(wi * (yi - X @ beta) ** 2))
    s2w = 1.0
    if test in ("knha", "adhoc"):
        if method == "FE":
            warnings.warn("the Knapp-Hartung method is meant for random/mixed-effects models, not 'FE'", stacklevel=3)
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(s2w, 1.0)
    vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    dfs = k - p if test in ("knha", "adhoc") else None

    has_intercept = bool(np.allclose(X[:, 0], 1.0)) and coef_names[0] == "intrcpt"
    btt, QM, QMp, pval = wald_tests(beta, vb, has_intercept, dfs)
    m = len(btt)
    crit = _crit(level, dfs)
    ci_lb, ci_ub = beta - crit * se, beta + crit * se

    # heterogeneity: always with the inverse-variance FE weights
    if k > p:
        QE, P_fe = _q_fe(yi, vi, X)
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

    loglik = _loglik(method, yi, vi, X, tau2, beta)

    res = RMAResult(
        method=method, test=test, level=level, k=k, p=p, coef_names=list(coef_names),
        beta=beta, se=se, vb=vb, stat=stat, pval=np.asarray(pval, dtype=float), ci_lb=ci_lb, ci_ub=ci_ub,
        tau2=float(tau2), se_tau2=se_tau2, QE=float(QE), QEp=QEp, QM=QM, QMp=QMp, QMdf=(m, dfs),
        I2=float(I2), H2=float(H2), vt=float(vt), R2=None, dfs=dfs, s2w=s2w, loglik=loglik,
        iterations=iterations, data=md, X=X, btt=btt,
    )

    # pseudo R² for models with moderators and an intercept
    if not skip_r2 and p > 1 and has_intercept:
        if method == "FE":
            res.R2 = _r2_fixed(yi, X, wi)
        else:
            # tau² of the intercept-only model (the estimate alone: no refit with intervals)
            tau2_re = _estimate_tau2(method, yi, vi, np.ones((k, 1)))[0]
            res.R2 = 0.0 if tau2_re == 0 else max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)

    # Q-profile intervals for tau², I², H² and the prediction interval
    if method != "FE" and k > p:
        res.tau2_ci = q_profile_ci(yi, vi, X, level=level, tau2=tau2)
        res.I2_ci = tuple(100.0 * t / (vt + t) for t in res.tau2_ci)
        res.H2_ci = tuple(t / vt + 1.0 for t in res.tau2_ci)
    if p == 1:
        pi_se = np.sqrt(se[0] ** 2 + tau2)
        res.pi_lb = float(beta[0] - crit * pi_se)
        res.pi_ub = float(beta[0] + crit * pi_se)
    return res


def wald_tests(beta: np.ndarray, vb: np.ndarray, has_intercept: bool, dfs: int | None):
    """Tests of the coefficients, as metafor: the omnibus test of the moderators
    (all coefficients but the intercept, or all when there is none) and a p-value per
    coefficient; z / chi-square tests, or t / F tests with *dfs* degrees of freedom.

    Returns ``(btt, QM, QMp, pval)``; QM is the F statistic (QM / m) for t tests.
    """
    p = beta.shape[0]
    btt = list(range(1, p)) if (has_intercept and p > 1) else list(range(p))
    m = len(btt)
    bb = beta[btt]
    try:
        QM = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb))
    except np.linalg.LinAlgError:  # e.g. Knapp-Hartung with k = 1: metafor reports NA
        QM = np.nan
    stat = beta / np.sqrt(np.diag(vb))
    if dfs is not None:
        QM = QM / m
        QMp = float(stats.f.sf(QM, m, dfs)) if dfs > 0 and np.isfinite(QM) else np.nan
        pval = 2.0 * stats.t.sf(np.abs(stat), dfs) if dfs > 0 else np.full(p, np.nan)
    else:
        QMp = float(stats.chi2.sf(QM, m))
        pval = 2.0 * stats.norm.sf(np.abs(stat))
    return btt, QM, QMp, pval


# ---------------------------------------------------------------------------
# tau² estimators


class _Projection:
    """P = W - W X (X'WX)^-1 X'W for diagonal weights w, without forming the k x k matrix.

    Every quantity metafor computes from P (quadratic forms, traces of P, P², PV...)
    reduces to p x p algebra, so rma() costs O(k p²) and works for k = 100,000.
    """

    def __init__(self, X: np.ndarray, w: np.ndarray):
        self.X, self.w = X, w
        self.A_inv = np.linalg.inv((X.T * w) @ X)

    def _xdx(self, d: np.ndarray) -> np.ndarray:
        return (self.X.T * d) @ self.X

    def apply(self, y: np.ndarray) -> np.ndarray:
        """P y."""
        return self.w * (y - self.X @ (self.A_inv @ ((self.X.T * self.w) @ y)))

    def quad(self, y: np.ndarray) -> float:
        """y' P y."""
        b = (self.X.T * self.w) @ y
        return float(np.sum(self.w * y * y) - b @ self.A_inv @ b)

    def trace(self) -> float:
        """tr(P)."""
        return float(np.sum(self.w) - np.sum(self.A_inv * self._xdx(self.w**2)))

    def trace_dpp(self, d: np.ndarray | None = None) -> float:
        """tr(D P P) for diagonal D (identity by default): sum(P * P) when D = I."""
        w, Ai = self.w, self.A_inv
        d = np.ones_like(w) if d is None else d
        B = self._xdx(w**2)
        C = self._xdx(d * w**2)
        return float(np.sum(d * w**2) - 2 * np.sum(Ai * self._xdx(d * w**3)) + np.sum((Ai @ C) * (Ai @ B).T))

    def trace_pdpd(self, d: np.ndarray) -> float:
        """tr(P D P D) for diagonal D: sum(PV * t(PV)) with D = V."""
        w, Ai = self.w, self.A_inv
        C = self._xdx(w**2 * d)
        return float(np.sum(w**2 * d**2) - 2 * np.sum(Ai * self._xdx(w**3 * d**2)) + np.sum((Ai @ C) * (Ai @ C).T))


def _estimate_tau2(method: str, yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> tuple[float, int, dict]:
    k, p = X.shape
    y = _centered(yi, X)
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
        tau2 = _paule_mandel(y, vi, X)
    else:  # HE, and the starting value of ML / REML / EB
        ols = _Projection(X, np.ones(k))
        rss = ols.quad(y)
        hat = np.einsum("ij,jk,ik->i", X, ols.A_inv, X)
        trPV = float(np.sum(vi) - np.sum(hat * vi))
        tau2 = (rss - trPV) / (k - p)
        if method in ("ML", "REML", "EB"):
            tau2, iterations = _fisher_scoring(method, y, yi, vi, X, max(0.0, tau2))
    return max(0.0, float(tau2)), iterations, aux


def _paule_mandel(y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Root of the generalized Q statistic at k - p (metafor's uniroot search on [0, 100])."""
    k, p = X.shape
    qfun = lambda t: _q_general(y, vi, X, t) - (k - p)  # noqa: E731
    if qfun(0.0) < 0:
        return 0.0
    if qfun(100.0) > 0:
        raise ValueError("the Paule-Mandel estimate of tau² exceeds 100; check the scale of yi and vi")
    return uniroot(qfun, 0.0, 100.0, tol=R_UNIROOT_TOL, maxiter=_MAXITER)


def _fisher_scoring(method: str, y, yi, vi, X, tau2: float) -> tuple[float, int]:
    k, p = X.shape
    change = _THRESHOLD + 1
    iteration = 0
    while change > _THRESHOLD:
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
        if iteration > _MAXITER:
            # metafor stops with an error here. EB's fixed point is the root of Q(tau²) = k - p,
            # which root finding gets directly; ML / REML maximize the likelihood directly.
            if method == "EB":
                warnings.warn(f"the empirical Bayes iterations did not converge in {_MAXITER} steps "
                              "(metafor stops here); tau² is the root of Q(tau²) = k - p instead",
                              stacklevel=4)
                return _paule_mandel(y, vi, X), iteration
            warnings.warn(
                f"Fisher scoring did not converge in {_MAXITER} iterations (metafor stops here); "
                f"tau² was found by direct maximization of the {method} likelihood",
                stacklevel=4,
            )
            return _maximize_loglik(method, yi, vi, X), iteration
    if method in ("ML", "REML"):
        # metafor's check: is tau² = 0 better than the point reached?
        ll0 = _loglik(method, yi, vi, X, 0.0)
        ll1 = _loglik(method, yi, vi, X, tau2)
        if ll0 - ll1 > R_UNIROOT_TOL and tau2 > _THRESHOLD:
            warnings.warn("Fisher scoring may have stopped at a local maximum; setting tau² = 0", stacklevel=4)
            tau2 = 0.0
    return tau2, iteration


def _maximize_loglik(method: str, yi, vi, X) -> float:
    """tau² maximizing the (restricted) likelihood, by bounded Brent search on log(tau² + c)."""
    from scipy.optimize import minimize_scalar

    scale = float(np.var(yi) + np.mean(vi))
    upper = 100.0 * scale
    res = minimize_scalar(lambda t: -_loglik(method, yi, vi, X, t), bounds=(0.0, upper),
                          method="bounded", options={"xatol": 1e-12 * scale, "maxiter": 500})
    tau2 = float(res.x)
    if _loglik(method, yi, vi, X, 0.0) >= _loglik(method, yi, vi, X, tau2):
        return 0.0
    return tau2


def _se_tau2(method, yi, vi, X, tau2, k, p, aux=None) -> float | None:
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


def _q_general(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalized Q statistic with weights 1 / (vi + tau2)."""
    return _Projection(X, 1.0 / (vi + tau2)).quad(y)


def _q_fe(yi, vi, X):
    P = _Projection(X, 1.0 / vi)
    return max(0.0, P.quad(_centered(yi, X))), P


def _centered(yi: np.ndarray, X: np.ndarray) -> np.ndarray:
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
    k, p = X.shape
    alpha = 1.0 - level
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    t_min = min(0.0, tau2)
    t_max = max(100.0, tau2 * 10, t_min * 10)
    q = lambda t: _q_general(yi, vi, X, t)  # noqa: E731
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


def _loglik(method: str, yi, vi, X, tau2: float, beta: np.ndarray | None = None) -> float:
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


def _r2_fixed(yi: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    """Adjusted R² (%) of the weighted least squares fit, as metafor for FE models."""
    k, p = X.shape
    if np.var(yi) == 0:
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


# ---------------------------------------------------------------------------
# subgroups


@dataclass
class SubgroupResult:
    """Subgroup analysis: a pooled estimate per level and the test of differences.

    Attributes
    ----------
    table : DataFrame
        One row per subgroup: k, estimate, se, ci_lb, ci_ub, pval, tau2, I2, QE, QEp.
    Q_between, Q_between_df, Q_between_p : float, int, float
        Test that the subgroup estimates are equal: a fixed-effect meta-analysis
        of the subgroup estimates (separate tau² per subgroup, as Borenstein
        et al. 2009 ch. 19).
    mixed : RMAResult
        The mixed-effects meta-regression with the subgroup as a factor
        (a common tau²); its ``QM`` is the moderator test metafor reports.
    fits : dict
        The per-subgroup :class:`RMAResult`.
    """

    moderator: str
    table: pd.DataFrame
    Q_between: float
    Q_between_df: int
    Q_between_p: float
    mixed: RMAResult
    fits: dict[str, RMAResult]

    def summary(self) -> pd.DataFrame:
        return self.table

    def __repr__(self) -> str:
        with pd.option_context("display.width", 120, "display.precision", 4):
            table = self.table.to_string()
        return (
            f"Subgroup analysis by {self.moderator!r} ({self.mixed.method})\n\n{table}\n\n"
            f"Test for subgroup differences (separate tau²): Q = {self.Q_between:.4f}, "
            f"df = {self.Q_between_df}, p = {_fmt_p(self.Q_between_p)}\n"
            f"Test of moderators (common tau², mixed-effects model): QM = {self.mixed.QM:.4f}, "
            f"df = {self.mixed.QMdf[0]}, p = {_fmt_p(self.mixed.QMp)}"
        )


def subgroup(
    yi: Any,
    vi: Any = None,
    *,
    by: str,
    data: pd.DataFrame,
    sei: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Any = None,
    missing: str = "raise",
) -> SubgroupResult:
    """Pooled effect per subgroup of a categorical moderator, and the Q-between test.

    Parameters
    ----------
    by : str
        Column of *data* holding the subgroup of each study (e.g. rater, setting).
    Other parameters as :func:`rma`.

    Examples
    --------
    >>> import pandas as pd, bayesma as bm
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.5, 0.6], "vi": [0.02] * 4, "rater": ["client", "client", "staff", "staff"]})
    >>> sg = bm.subgroup("yi", "vi", by="rater", data=df, method="FE")
    >>> sg.table["estimate"].round(2).tolist()
    [0.2, 0.55]
    """
    if by not in data.columns:
        raise ValueError(f"column {by!r} (for by=) is not in the data; columns are {list(data.columns)}")
    md = MetaData.create(yi, vi, sei=sei, data=data, labels=labels, missing=missing, require=[by])
    groups = md.data[by]
    if isinstance(groups.dtype, pd.CategoricalDtype):
        levels = [lv for lv in groups.cat.categories if (groups == lv).any()]
    else:
        levels = sorted(groups.unique(), key=lambda v: (isinstance(v, str), v))
    if len(levels) < 2:
        raise ValueError(f"column {by!r} has a single level; subgroups need at least two")
    fits: dict[str, RMAResult] = {}
    rows = []
    for lv in levels:
        mask = (groups == lv).to_numpy()
        sub = md.subset(mask)
        sub_method = method if (sub.k > 1 or method == "FE") else "FE"
        fit = fit_rma(sub, np.ones((sub.k, 1)), ["intrcpt"], method=sub_method, test=test, level=level)
        fits[str(lv)] = fit
        rows.append({by: str(lv), "k": sub.k, "estimate": fit.beta[0], "se": fit.se[0],
                     "ci_lb": fit.ci_lb[0], "ci_ub": fit.ci_ub[0], "pval": fit.pval[0],
                     "tau2": fit.tau2, "I2": fit.I2, "QE": fit.QE, "QEp": fit.QEp})
    table = pd.DataFrame(rows).set_index(by)
    est = table["estimate"].to_numpy()
    var = table["se"].to_numpy() ** 2
    w = 1 / var
    pooled = np.sum(w * est) / w.sum()
    qb = float(np.sum(w * (est - pooled) ** 2))
    dfb = len(levels) - 1
    X, names = design_matrix(f"~ factor({by})", md.data, md.k, md.labels)
    mixed = fit_rma(md, X, names, method=method, test=test, level=level)
    return SubgroupResult(by, table, qb, dfb, float(stats.chi2.sf(qb, dfb)), mixed, fits)


# ---------------------------------------------------------------------------
# helpers and printing


def _check_method(method: str) -> str:
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {METHODS}")
    m = method.upper()
    if m in ("EE", "CE"):
        m = "FE"
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    return m


def _level(level: float) -> float:
    level = float(level)
    if level > 1:
        level /= 100.0
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1) or (0, 100), got {level}")
    return level


def _crit(level: float, dfs: int | None) -> float:
    alpha = 1 - level
    if dfs is not None:
        return float(stats.t.isf(alpha / 2, dfs)) if dfs > 0 else np.nan
    return float(stats.norm.isf(alpha / 2))


def _sqrt_ci(ci):
    return None if ci is None else tuple(float(np.sqrt(c)) for c in ci)


def _fmt_p(p: float) -> str:
    if p is None or np.isnan(p):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


_NAMES = {
    "FE": "Fixed-Effects Model", "DL": "DerSimonian-Laird", "REML": "restricted maximum likelihood",
    "ML": "maximum likelihood", "PM": "Paule-Mandel", "HS": "Hunter-Schmidt", "SJ": "Sidik-Jonkman",
    "HE": "Hedges", "EB": "empirical Bayes",
}


def format_rma(res: RMAResult) -> str:
    """A printout in the style of metafor's ``print.rma.uni``."""
    lines = []
    mods = res.p > 1 or res.coef_names != ["intrcpt"]
    if res.method == "FE":
        lines.append(f"{'Fixed-Effects with Moderators' if mods else 'Fixed-Effects'} Model (k = {res.k})")
    else:
        kind = "Mixed-Effects Model" if mods else "Random-Effects Model"
        lines.append(f"{kind} (k = {res.k}; tau^2 estimator: {res.method})")
    lines.append("")
    if res.method != "FE":
        resid = "residual " if mods else ""
        se_t = f" (SE = {res.se_tau2:.4f})" if res.se_tau2 is not None else ""
        lines.append(f"tau^2 ({resid}heterogeneity): {res.tau2:.4f}{se_t}")
        lines.append(f"tau ({'square root of estimated tau^2 value'}): {res.tau:.4f}")
        lines.append(f"I^2 ({resid}heterogeneity / {'unaccounted variability' if mods else 'total variability'}): {res.I2:.2f}%")
        lines.append(f"H^2 ({'unaccounted variability / sampling variability' if mods else 'total variability / sampling variability'}): {res.H2:.2f}")
    else:
        lines.append(f"I^2 (total heterogeneity / total variability):  {res.I2:.2f}%")
        lines.append(f"H^2 (total variability / sampling variability): {res.H2:.2f}")
    if res.R2 is not None:
        lines.append(f"R^2 (amount of heterogeneity accounted for): {res.R2:.2f}%")
    if res.tau2_ci is not None:
        lines.append(
            f"{int(round(res.level * 100))}% CI (Q-profile): tau^2 [{res.tau2_ci[0]:.4f}, {res.tau2_ci[1]:.4f}], "
            f"I^2 [{res.I2_ci[0]:.2f}%, {res.I2_ci[1]:.2f}%]"
        )
    lines.append("")
    label = "Test for Residual Heterogeneity" if mods else "Test for Heterogeneity"
    lines.append(f"{label}:\nQ{'E' if mods else ''}(df = {res.k - res.p}) = {res.QE:.4f}, p-val {_p_text(res.QEp)}")
    if mods:
        lines.append("")
        lines.append(moderator_test_text(res))
    lines.append("")
    lines.append("Model Results:")
    lines.append("")
    lines.extend(_coef_table(res, mods))
    if res.pi_lb is not None and res.method != "FE":
        lines.append("")
        lines.append(f"Prediction interval: [{res.pi_lb:.4f}, {res.pi_ub:.4f}]")
    lines.append("")
    lines.append("---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    return "\n".join(lines)


def _coef_table(res: RMAResult, mods: bool) -> list[str]:
    """Rows of the coefficient table with significance stars, like metafor's printout."""
    stat = "tval" if res.dfs is not None else "zval"
    header = ["estimate", "se", stat, "pval", "ci_lb", "ci_ub"]
    names = res.coef_names if mods else [""]
    rows = []
    for j, name in enumerate(names):
        cells = [f"{res.beta[j]:.4f}", f"{res.se[j]:.4f}", f"{res.stat[j]:.4f}", _fmt_p(res.pval[j]),
                 f"{res.ci_lb[j]:.4f}", f"{res.ci_ub[j]:.4f}"]
        rows.append((name, cells, _stars(res.pval[j])))
    widths = [max(len(h), *(len(r[1][i]) for r in rows)) for i, h in enumerate(header)]
    name_width = max(len(n) for n in names)
    out = [" " * name_width + "  " + "  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for name, cells, star in rows:
        out.append((name.ljust(name_width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)) + " " + star).rstrip())
    return out


def _p_text(p: float) -> str:
    s = _fmt_p(p)
    return s if s.startswith("<") else f"= {s}"


def moderator_test_text(res: Any) -> str:
    """The "Test of Moderators" lines of a printout (rma and rma_mv results)."""
    statistic = (f"F(df1 = {res.QMdf[0]}, df2 = {res.dfs})" if res.dfs is not None
                 else f"QM(df = {res.QMdf[0]})")
    return (f"Test of Moderators ({_btt_text(res.btt)}):\n"
            f"{statistic} = {res.QM:.4f}, p-val {_p_text(res.QMp)}")


def _btt_text(btt: list[int]) -> str:
    """metafor's wording: "coefficient 2", "coefficients 2:3"."""
    idx = [b + 1 for b in btt]
    return f"coefficients {idx[0]}:{idx[-1]}" if len(idx) > 1 else f"coefficient {idx[0]}"


def _stars(p: float) -> str:
    if p is None or np.isnan(p):
        return ""
    for cut, s in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return s
    return ""
