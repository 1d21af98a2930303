"""Location-scale meta-analysis: heterogeneity that depends on moderators (metafor's ``rma.ls``).

The model (Viechtbauer & López-López 2022) is

    y_i ~ N(x_i' beta, v_i + tau2_i),   tau2_i = exp(z_i' alpha)   (link "log")
                                        tau2_i = z_i' alpha        (link "identity")

The scale coefficients alpha maximise the ML or REML log-likelihood with beta profiled out
(beta is the weighted least-squares estimate for the tau2_i of alpha), as metafor 3.8-1's
``rma(..., scale = ~ z)``. bayesma maximises it with a trust-region Newton method on the
analytic gradient and Hessian (metafor uses ``nlminb`` with numerical derivatives); the
standard errors of alpha come from the inverse of the analytic Hessian of the profiled
log-likelihood (metafor: ``numDeriv::hessian`` of the same function). The location part is then
metafor's weighted least squares with the fitted tau2_i: Wald z tests, or Knapp-Hartung
t tests (``test="knha"``/``"adhoc"``) or unscaled t tests (``test="t"``), which also turn the
scale tests into t / F tests with k - q degrees of freedom.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from bayesma.data import MetaData
from bayesma.design import design_matrix, formula_variables, required_columns
from bayesma.errors import ConvergenceWarning, InputError
from bayesma.frequentist._common import _aligned_mods, _level
from bayesma.frequentist._printing import _btt_text, _p_text, coef_table
from bayesma.frequentist.inference import T_TESTS, TESTS, check_test, critical_value, wald_tests

__all__ = ["LocationScaleResult", "fit_location_scale", "location_scale_rma", "LINKS", "LS_TESTS"]

LINKS = ("log", "identity")
LS_TESTS = TESTS  # as rma.uni; the t tests use k - p (location) and k - q (scale) df
_T_TESTS = T_TESTS


@dataclass(frozen=True)
class LocationScaleResult:  # numpydoc ignore=PR01
    """A fitted location-scale meta-analysis, with metafor's (``rma.ls``) names.

    Location part (one entry per column of the design X, names in ``coef_names``): ``beta``,
    ``se``, ``stat`` (``zval``; a t statistic for t/knha/adhoc), ``pval``, ``ci_lb``, ``ci_ub``,
    ``vb``, the omnibus test of the moderators ``QM``, ``QMp``, ``QMdf``. Scale part (one entry
    per column of Z, names in ``scale_names``): ``alpha``, ``se_alpha``, ``zval_alpha``,
    ``pval_alpha``, ``ci_lb_alpha``, ``ci_ub_alpha``, ``va`` and the Wald test of the scale
    coefficients other than the intercept ``QS``, ``QSp``, ``QSdf``. ``tau2`` is each study's
    tau² (array of length k), ``loglik`` the maximised (restricted) log-likelihood, ``QE``/``QEp``
    the test for residual heterogeneity, ``link`` "log" or "identity".

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bangertdrowns2004")
    >>> import numpy as np
    >>> dat["logni"] = np.log(dat["ni"])
    >>> res = bm.rma("yi", "vi", scale="~ logni", data=dat)
    >>> res.alpha.round(4).tolist()
    [1.5141, -0.9659]
    """

    method: str
    test: str
    link: str
    level: float
    k: int
    p: int
    q: int
    coef_names: list[str]
    scale_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    btt: list[int]
    alpha: np.ndarray
    se_alpha: np.ndarray
    va: np.ndarray
    zval_alpha: np.ndarray
    pval_alpha: np.ndarray
    ci_lb_alpha: np.ndarray
    ci_ub_alpha: np.ndarray
    QS: float
    QSp: float
    QSdf: tuple[int, int | None]
    att: list[int]
    tau2: np.ndarray
    QE: float
    QEp: float
    loglik: float
    dfs: int | None
    ddf_alpha: int | None
    converged: bool
    data: MetaData = field(repr=False)
    X: np.ndarray = field(repr=False)
    Z: np.ndarray = field(repr=False)

    @property
    def zval(self) -> np.ndarray:
        """The test statistics of the location coefficients (metafor's ``zval``)."""
        return self.stat

    @property
    def logLik(self) -> float:  # noqa: N802 - metafor's name
        """The maximised log-likelihood (restricted for REML), as metafor's ``logLik()``."""
        return self.loglik

    def summary(self) -> pd.DataFrame:
        """Coefficient table of both parts: location (beta) and scale (alpha) coefficients.

        Returns
        -------
        pandas.DataFrame
            Index ``(part, coef)`` with part "location" or "scale"; columns ``estimate``,
            ``se``, ``zval`` (``tval`` for Knapp-Hartung tests), ``pval``, ``ci_lb``, ``ci_ub``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.bangertdrowns2004")
        >>> res = bm.rma("yi", "vi", mods="~ length", scale="~ meta", data=dat, missing="drop")
        >>> round(float(res.summary().loc[("scale", "meta"), "estimate"]), 4)
        1.4833
        """
        stat = "tval" if self.dfs is not None else "zval"
        parts = [("location", self.coef_names, self.beta, self.se, self.stat, self.pval, self.ci_lb, self.ci_ub),
                 ("scale", self.scale_names, self.alpha, self.se_alpha, self.zval_alpha, self.pval_alpha,
                  self.ci_lb_alpha, self.ci_ub_alpha)]
        rows, index = [], []
        for part, names, est, se, st, pv, lb, ub in parts:
            for j, name in enumerate(names):
                index.append((part, name))
                rows.append({"estimate": est[j], "se": se[j], stat: st[j], "pval": pv[j],
                             "ci_lb": lb[j], "ci_ub": ub[j]})
        return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["part", "coef"]))

    def fitstats(self) -> pd.DataFrame:
        """logLik, deviance, AIC, BIC and AICc, as metafor's ``fitstats()`` (p + q parameters).

        Returns
        -------
        pandas.DataFrame
            One column (``ML`` or ``REML``), rows ``logLik``, ``deviance``, ``AIC``, ``BIC``, ``AICc``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.bangertdrowns2004")
        >>> res = bm.rma("yi", "vi", mods="~ length", scale="~ meta", data=dat, missing="drop")
        >>> round(float(res.fitstats().loc["AIC", "REML"]), 3)
        34.139
        """
        k, parms = self.k, self.p + self.q
        ll = self.loglik
        if self.method == "ML":
            sat = float(np.sum(stats.norm.logpdf(self.data.yi, self.data.yi, np.sqrt(self.data.vi))))
            dev, n = (-2.0 * (ll - sat) if k > self.p else 0.0), k
        else:
            dev, n = -2.0 * ll, k - self.p
        aicc_n = max(n, parms + 2)
        values = [ll, dev, -2 * ll + 2 * parms, -2 * ll + parms * np.log(n),
                  -2 * ll + 2 * parms * aicc_n / (aicc_n - parms - 1)]
        return pd.DataFrame({self.method: values},
                            index=pd.Index(["logLik", "deviance", "AIC", "BIC", "AICc"], name="statistic"))

    def predict(self, newmods: Any = None, newscale: Any = None, level: float | None = None,
                transf: Any = None) -> pd.DataFrame:
        """Predicted effects (with prediction intervals from the predicted tau²), or the predicted
        heterogeneity with *newscale* alone, as metafor's ``predict.rma.ls``.

        Parameters
        ----------
        newmods : array_like, optional
            Location moderator values without the intercept; default the studies' fitted values.
        newscale : array_like, optional
            Scale variable values without the intercept.
        level : float, optional
            Confidence level; default the fit's.
        transf : callable, optional
            Applied to the predictions and bounds (``np.exp`` gives tau² from a log-link scale).

        Returns
        -------
        pandas.DataFrame
            See :func:`bayesma.frequentist.location_scale_predict.predict_location_scale`.

        Examples
        --------
        >>> import numpy as np
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.bangertdrowns2004")
        >>> dat["logni"] = np.log(dat["ni"])
        >>> res = bm.rma("yi", "vi", scale="~ logni", data=dat)
        >>> res.predict(newscale=[3, 5], transf=np.exp)["pred"].round(4).tolist()
        [0.2507, 0.0363]
        """
        from bayesma.frequentist.location_scale_predict import predict_location_scale

        return predict_location_scale(self, newmods=newmods, newscale=newscale, level=level, transf=transf)

    def __repr__(self) -> str:
        return format_location_scale(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + format_location_scale(self).replace("<", "&lt;") + "</pre>"


# ---------------------------------------------------------------- the profiled likelihood
def _tau2(alpha: np.ndarray, Z: np.ndarray, link: str) -> np.ndarray:
    eta = Z @ alpha
    return np.exp(eta) if link == "log" else eta


def _profile(alpha: np.ndarray, yi: np.ndarray, vi: np.ndarray, X: np.ndarray, Z: np.ndarray,
             reml: bool, link: str, derivs: bool = True):
    """-log-likelihood of alpha with beta profiled out, its gradient and Hessian (or inf outside
    the parameter space: a negative tau² under the identity link).

    With V = diag(v + tau2), W = V^-1 and P = W - W X (X'WX)^-1 X'W, the ML log-likelihood is
    -1/2 [k log 2pi + log|V| + y'Py] and the REML one -1/2 [(k-p) log 2pi - log|X'X| + log|V|
    + log|X'WX| + y'Py] (metafor's, with its REMLf term). Its derivatives in tau2_i are
    g_i = -1/2 A_ii + 1/2 (Py)_i² and H_ij = 1/2 A_ij² [REML; ML: on the diagonal only] -
    (Py)_i P_ij (Py)_j, with A = P (REML) or W (ML); the chain rule through tau2 = exp(Z alpha)
    or Z alpha gives those in alpha.
    """
    k, p = X.shape
    tau2 = _tau2(alpha, Z, link)
    if not np.all(np.isfinite(tau2)) or np.any(tau2 < 0):
        return (np.inf, None, None) if derivs else np.inf
    w = 1.0 / (vi + tau2)
    xtwx = (X.T * w) @ X
    try:
        chol = np.linalg.cholesky(xtwx)
    except np.linalg.LinAlgError:
        return (np.inf, None, None) if derivs else np.inf
    sw = np.sqrt(w)
    Q = np.linalg.qr(X * sw[:, None])[0]  # P = W^1/2 (I - QQ') W^1/2, never formed (k x k)
    e = sw * yi
    Py = sw * (e - Q @ (Q.T @ e))
    ll = -0.5 * (np.sum(np.log(vi + tau2)) + yi @ Py)
    if reml:
        ll += -0.5 * (k - p) * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(X.T @ X)[1]
        ll -= np.sum(np.log(np.diag(chol)))
    else:
        ll += -0.5 * k * np.log(2 * np.pi)
    if not derivs:
        return -ll
    h = np.einsum("ij,ij->i", Q, Q)  # leverages: P_ii = w_i (1 - h_i)
    g_t = -0.5 * (w * (1 - h) if reml else w) + 0.5 * Py**2
    Zt = Z * tau2[:, None] if link == "log" else Z
    # Zt' H_t Zt in O(k q p²): -(Py Py')∘P = -diag(Py) P diag(Py); for REML P∘P = diag(w²(1 - 2h))
    # + R∘R, R = W^1/2 QQ' W^1/2, R∘R = W G G' W with G's rows vec(q_i q_i')
    SU = Zt * (Py * sw)[:, None]
    QSU = Q.T @ SU
    H = QSU.T @ QSU - SU.T @ SU
    if reml:
        GZ = (Q[:, :, None] * Q[:, None, :]).reshape(k, p * p).T @ (Zt * w[:, None])
        H += 0.5 * ((Zt.T * (w**2 * (1 - 2 * h))) @ Zt + GZ.T @ GZ)
    else:
        H += 0.5 * (Zt.T * w**2) @ Zt
    g = Zt.T @ g_t
    if link == "log":
        H += (Z * (g_t * tau2)[:, None]).T @ Z
    return -ll, -g, -H


def _start(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, Z: np.ndarray, link: str) -> np.ndarray:
    """Starting values: a constant tau² (the Hedges estimate of the location model, at least
    0.01), expressed through Z by least squares."""
    k, p = X.shape
    beta_ols = np.linalg.lstsq(X, yi, rcond=None)[0]
    rss = float(np.sum((yi - X @ beta_ols) ** 2))
    tr = np.sum(vi) - np.trace(np.linalg.solve(X.T @ X, (X.T * vi) @ X)) if k > p else 0.0
    tau2_0 = max(0.01, (rss - tr) / max(k - p, 1))
    target = np.full(k, np.log(tau2_0) if link == "log" else tau2_0)
    alpha0 = np.linalg.lstsq(Z, target, rcond=None)[0]
    if link == "identity" and np.any(Z @ alpha0 <= 0):
        raise InputError("the scale design has no intercept (or its span lacks the constant), so no starting "
                         "values give every study a positive tau^2 under link='identity'")
    return alpha0


def _standardise(Z: np.ndarray) -> np.ndarray:
    """metafor's rescaling of the scale design for the optimiser (intercept kept, non-dummy
    columns centred and scaled): returns the matrix M with Z_std = Z M^-1... i.e. alpha = M alpha_std."""
    q = Z.shape[1]
    M = np.eye(q)
    if q == 1 or not np.allclose(Z[:, 0], 1.0):
        return M
    for j in range(1, q):
        col = Z[:, j]
        if np.all(np.isin(col, (0.0, 1.0))):
            continue
        m, s = col.mean(), col.std(ddof=1)
        M[j, j] = 1.0 / s
        M[0, j] = -m / s
    return M


def _maximise(yi, vi, X, Z, reml: bool, link: str) -> tuple[np.ndarray, bool]:
    """alpha maximising the profiled log-likelihood: trust-region Newton steps on the
    analytic gradient and Hessian, in metafor's rescaled parameterisation (log link)."""
    M = _standardise(Z) if link == "log" else np.eye(Z.shape[1])
    Zs = Z @ np.linalg.inv(M)  # Zs @ (M alpha) = Z alpha
    a0 = M @ _start(yi, vi, X, Z, link)
    cache: dict[bytes, Any] = {}

    def parts(a):
        key = a.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = _profile(a, yi, vi, X, Zs, reml, link)
        return cache[key]

    if link == "log":
        res = optimize.minimize(lambda a: parts(a)[0], a0, jac=lambda a: parts(a)[1], hess=lambda a: parts(a)[2],
                                method="trust-exact", options={"gtol": 1e-10, "maxiter": 500})
        x = res.x
    else:
        x = _newton(parts, a0)
    alpha = np.linalg.solve(M, x)
    grad = _profile(alpha, yi, vi, X, Z, reml, link)[1]
    converged = bool(grad is not None and np.max(np.abs(grad)) < 1e-5)
    return alpha, converged


def _newton(parts: Any, a: np.ndarray, maxiter: int = 200) -> np.ndarray:
    """Damped Newton steps that stay inside the parameter space (every tau² >= 0 under the
    identity link): the Hessian is made positive definite by flooring its eigenvalues, and a
    step is halved until the objective (inf outside the space) decreases."""
    f, g, H = parts(a)
    for _ in range(maxiter):
        vals, vecs = np.linalg.eigh(H)
        vals = np.maximum(np.abs(vals), 1e-8 * max(1.0, float(np.max(np.abs(vals)))))
        step = -vecs @ ((vecs.T @ g) / vals)
        t = 1.0
        while t > 1e-12:
            cand = a + t * step
            f_new = parts(cand)[0]
            if f_new <= f:
                break
            t /= 2.0
        else:
            break
        a = cand
        f_old, (f, g, H) = f, parts(a)
        if np.max(np.abs(g)) < 1e-10 or f_old - f < 1e-14 * max(1.0, abs(f)):
            break
    return a


# ---------------------------------------------------------------- the fit
def fit_location_scale(md: MetaData, X: np.ndarray, coef_names: list[str], Z: np.ndarray,
                       scale_names: list[str], *, method: str = "REML", test: str = "z",
                       level: float = 0.95, link: str = "log") -> LocationScaleResult:
    """Fit a location-scale model on validated data and designs (the engine of ``rma(scale=)``).

    Parameters
    ----------
    md : MetaData
        The studies (``yi``, ``vi``), k of them.
    X : numpy.ndarray, shape (k, p)
        Location design.
    coef_names : list of str
        Names of the columns of *X*.
    Z : numpy.ndarray, shape (k, q)
        Scale design (intercept column first where there is one).
    scale_names : list of str
        Names of the columns of *Z*.
    method : {"REML", "ML"}
        Restricted or full maximum likelihood.
    test : {"z", "t", "knha", "adhoc"}
        Wald z tests, t tests (``"t"``), or Knapp-Hartung t tests (modified: ``"adhoc"``).
    level : float
        Confidence level (fraction).
    link : {"log", "identity"}
        tau2_i = exp(z_i' alpha) or z_i' alpha.

    Returns
    -------
    LocationScaleResult
        The fitted model.

    Raises
    ------
    InputError
        Fewer studies than location and scale coefficients together.

    References
    ----------
    Viechtbauer, W., & López-López, J. A. (2022). Location-scale models for meta-analysis.
    *Research Synthesis Methods*, 13(6), 697-715. metafor 3.8-1, ``rma(..., scale=)``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bangertdrowns2004")
    >>> res = bm.rma("yi", "vi", scale="~ meta", data=dat, link="identity", missing="drop")
    >>> res.alpha.round(4).tolist()
    [0.0131, 0.1178]
    """
    yi, vi = md.yi, md.vi
    Z, scale_names = _intercept_first(np.asarray(Z, dtype=float), list(scale_names))
    k, p = X.shape
    q = Z.shape[1]
    if k < p + q:
        raise InputError(f"a location-scale model with {p} location and {q} scale coefficients needs at least "
                         f"{p + q} studies; there are {k}")
    reml = method == "REML"
    alpha, converged = _maximise(yi, vi, X, Z, reml, link)
    negll, _, negH = _profile(alpha, yi, vi, X, Z, reml, link)
    if not converged:
        warnings.warn("the location-scale optimisation did not converge (the gradient is not zero): an alpha "
                      "may be running off to -inf (a tau^2 near 0); treat the results with caution",
                      ConvergenceWarning, stacklevel=3)
    va = _invert(negH, q)
    tau2 = _tau2(alpha, Z, link)
    if converged and link == "log":
        _warn_boundary(tau2, vi, np.sqrt(np.diag(va)), md.labels)
    loc = _location(yi, vi, X, tau2, test, level)
    scale = _scale_tests(alpha, va, Z, k, test, level)
    QE, QEp = _qe(yi, vi, X)
    return LocationScaleResult(
        method=method, test=test, link=link, level=level, k=k, p=p, q=q, coef_names=list(coef_names),
        scale_names=list(scale_names), tau2=tau2, QE=QE, QEp=QEp, loglik=float(-negll), converged=converged,
        data=md, X=X, Z=Z, **loc, **scale,
    )


def _warn_boundary(tau2: np.ndarray, vi: np.ndarray, se_alpha: np.ndarray, labels: Any) -> None:
    """Warn where the maximum lies on the boundary: some studies' tau² is negligible next to their
    sampling variance and log tau² runs off to -inf along a flat direction (a standard error of a
    scale coefficient above 1000, or none), so the scale coefficients that carry it are not
    identified and their standard errors, tests and intervals say nothing (the optimiser's stopping
    point decides them; metafor prints them without a warning). A tiny tau² reached with finite,
    well-determined coefficients (a steep continuous scale moderator) is not a boundary."""
    tiny = tau2 < 1e-6 * vi
    if np.any(tiny) and not np.all(np.isfinite(se_alpha) & (se_alpha < 1e3)):
        names = ", ".join(str(x) for x in np.asarray(labels)[tiny][:5]) + (", ..." if tiny.sum() > 5 else "")
        warnings.warn(f"the tau^2 of {int(tiny.sum())} of {tau2.size} studies (studies {names}) is on the boundary (near 0, "
                      "log tau^2 -> -inf): the scale coefficients that carry it are not identified and their "
                      "standard errors, tests and intervals are not informative; the fitted tau^2, the location "
                      "part and the log-likelihood are not affected", ConvergenceWarning, stacklevel=4)


def _intercept_first(Z: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """As metafor: a column of ones anywhere in the scale design becomes the first column,
    named ``intrcpt`` (duplicates dropped)."""
    ones = [j for j in range(Z.shape[1]) if np.all(Z[:, j] == 1.0)]
    if not ones:
        return Z, names
    rest = [j for j in range(Z.shape[1]) if j not in ones]
    return np.column_stack([np.ones(Z.shape[0]), Z[:, rest]]), ["intrcpt"] + [names[j] for j in rest]


def _invert(negH: np.ndarray | None, q: int) -> np.ndarray:
    """Covariance of alpha: the inverse of the negative Hessian (NaN, with a warning, when it
    is not positive definite, as metafor's "Error when trying to invert the Hessian")."""
    if negH is not None:
        try:
            L = np.linalg.cholesky(negH)
            Linv = np.linalg.inv(L)
            return Linv.T @ Linv
        except np.linalg.LinAlgError:
            pass
    warnings.warn("the Hessian of the location-scale log-likelihood is not positive definite: no standard "
                  "errors for the scale coefficients (as metafor's 'Error when trying to invert the Hessian')",
                  ConvergenceWarning, stacklevel=4)
    return np.full((q, q), np.nan)


def _location(yi, vi, X, tau2, test: str, level: float) -> dict[str, Any]:
    """Weighted least squares with the fitted tau2_i, metafor's tests and intervals."""
    k, p = X.shape
    w = 1.0 / (vi + tau2)
    xtwx = (X.T * w) @ X
    vb = np.linalg.inv(xtwx)
    beta = vb @ ((X.T * w) @ yi)
    dfs = k - p if test in _T_TESTS else None
    if test in ("knha", "adhoc"):
        rss = float(np.sum(w * (yi - X @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(s2w, 1.0)
        vb = s2w * vb
    has_intercept = bool(np.allclose(X[:, 0], 1.0))
    btt, QM, QMp, pval = wald_tests(beta, vb, has_intercept, dfs)
    se = np.sqrt(np.diag(vb))
    crit = critical_value(level, dfs)
    return {"beta": beta, "se": se, "vb": vb, "stat": beta / se, "pval": pval, "ci_lb": beta - crit * se,
            "ci_ub": beta + crit * se, "QM": QM, "QMp": QMp, "QMdf": (len(btt), dfs), "btt": btt, "dfs": dfs}


def _scale_tests(alpha, va, Z, k: int, test: str, level: float) -> dict[str, Any]:
    """Wald tests of the scale coefficients: z and chi-square, or t and F with k - q df."""
    q = alpha.shape[0]
    ddf = k - q if test in _T_TESTS else None
    has_intercept = bool(np.allclose(Z[:, 0], 1.0))
    att, QS, QSp, pval = wald_tests(alpha, va, has_intercept, ddf)
    se = np.sqrt(np.diag(va))
    crit = critical_value(level, ddf)
    return {"alpha": alpha, "se_alpha": se, "va": va, "zval_alpha": alpha / se, "pval_alpha": pval,
            "ci_lb_alpha": alpha - crit * se, "ci_ub_alpha": alpha + crit * se, "QS": QS, "QSp": QSp,
            "QSdf": (len(att), ddf), "att": att, "ddf_alpha": ddf}


def _qe(yi, vi, X) -> tuple[float, float]:
    """The test for residual heterogeneity with the sampling variances alone (as metafor)."""
    k, p = X.shape
    if k <= p:
        return 0.0, 1.0
    w = 1.0 / vi
    beta = np.linalg.solve((X.T * w) @ X, (X.T * w) @ yi)
    QE = max(0.0, float(np.sum(w * (yi - X @ beta) ** 2)))
    return QE, float(stats.chi2.sf(QE, k - p))


# ---------------------------------------------------------------- printout
def _omnibus(label: str, stat_name: str, value: float, pval: float, df: tuple, idx: list[int]) -> list[str]:
    head = f"Test of {label} Coefficients ({_btt_text(idx)}):"
    if df[1] is not None:
        return [head, f"F(df1 = {df[0]}, df2 = {df[1]}) = {value:.4f}, p-val {_p_text(pval)}"]
    return [head, f"{stat_name}(df = {df[0]}) = {value:.4f}, p-val {_p_text(pval)}"]


def format_location_scale(res: LocationScaleResult) -> str:
    """A printout in the style of metafor's ``print.rma.uni`` for location-scale models."""
    mods = res.p > 1 or res.coef_names != ["intrcpt"]
    lines = [f"Location-Scale Model (k = {res.k}; tau^2 estimator: {res.method})", ""]  # no link, as metafor
    label = "Test for Residual Heterogeneity" if mods else "Test for Heterogeneity"
    lines += [f"{label}:", f"Q{'E' if mods else ''}(df = {res.k - res.p}) = {res.QE:.4f}, p-val {_p_text(res.QEp)}", ""]
    if res.p > 1 and np.isfinite(res.QM):
        lines += _omnibus("Location", "QM", res.QM, res.QMp, res.QMdf, res.btt) + [""]
    lines += ["Model Results (Location):", ""]
    lines += coef_table(res.coef_names, res.beta, res.se, res.stat, res.pval, res.ci_lb, res.ci_ub, res.dfs)
    lines.append("")
    if res.q > 1 and np.isfinite(res.QS):
        lines += _omnibus("Scale", "QS", res.QS, res.QSp, res.QSdf, res.att) + [""]
    lines += ["Model Results (Scale):", ""]
    lines += coef_table(res.scale_names, res.alpha, res.se_alpha, res.zval_alpha, res.pval_alpha, res.ci_lb_alpha,
                    res.ci_ub_alpha, res.ddf_alpha)
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    return "\n".join(lines)


def location_scale_rma(yi: Any, vi: Any, *, sei: Any, data: pd.DataFrame | None, method: str, test: str, mods: Any,
                    level: float, labels: Any, cluster: Any, missing: str, tau2: float | None, scale: Any,
                    link: str | None) -> LocationScaleResult:
    """``rma(scale=)``: check what a location-scale model can use, build X and Z, fit (the engine of
    :func:`bayesma.rma` with *scale*)."""
    if scale is None:
        raise InputError(f"link={link!r} applies to the scale model of a location-scale fit: give scale= too")
    link = "log" if link is None else link
    if link not in LINKS:
        raise InputError(f"link must be one of {LINKS}, got {link!r}")
    if cluster is not None or tau2 is not None:
        raise InputError(f"{'cluster=' if cluster is not None else 'tau2='} cannot be used with scale=: a "
                         "location-scale model estimates each study's tau² from the scale moderators")
    if not isinstance(method, str) or method.upper() not in ("REML", "ML"):
        raise InputError(f"method={method!r} cannot fit a location-scale model: use 'REML' or 'ML' "
                         "(as metafor: 'Location-scale models can only be fitted with ML or REML estimation')")
    check_test(test, LS_TESTS, "rma")
    level = _level(level)
    mods = _aligned_mods(mods, data, yi)
    scale = _aligned_mods(scale, data, yi)
    extra = formula_variables(scale) if isinstance(scale, str) else []
    md = yi if isinstance(yi, MetaData) else MetaData.create(
        yi, vi, sei=sei, data=data, labels=labels, missing=missing, require=required_columns(mods, data, *extra),
    )
    X, names = design_matrix(mods, md.data, md.k, md.labels)
    Z, z_names = design_matrix(scale, md.data, md.k, md.labels, intercept=False)
    return fit_location_scale(md, X, names, Z, z_names, method=method.upper(), test=test, level=level, link=link)
