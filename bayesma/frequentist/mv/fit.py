"""Three-level meta-analysis: effects nested in clusters (metafor's ``rma.mv``).

:func:`rma_mv` fits the model that metafor fits with
``rma.mv(yi, vi, mods, random = ~ 1 | cluster/id)``::

    y_ij = x_ij' beta + u_j + w_ij + e_ij,
    u_j ~ N(0, sigma2[0])  (between clusters),  w_ij ~ N(0, sigma2[1])  (within clusters),
    e_ij ~ N(0, v_ij)      (known sampling variances),

so the marginal covariance matrix is block diagonal: one block per cluster,
``diag(v_ij + sigma2[1]) + sigma2[0] * 1 1'``. Every quantity of the
(restricted) likelihood, its gradient and both the observed and the expected
information is computed block by block with the Sherman-Morrison formula, in
O(k p²) time and memory: a model with k = 100,000 effects fits in well under a
second. The variance components are found by Newton-Raphson steps (Fisher
scoring where the observed information is not positive definite) with step
halving and the bounds sigma2 >= 0, iterated to machine precision; metafor
stops its ``nlminb`` search earlier, and the two agree to about 1e-8 relative
on the reference data.

The log likelihoods have metafor's constants (``REMLf = TRUE``): the restricted
log likelihood includes ``+ 1/2 log|X'X|``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._validate import column
from bayesma.data import MetaData
from bayesma.design import design_matrix, required_columns
from bayesma.errors import ConvergenceWarning, DataWarning, InputError
from bayesma.frequentist._common import _aligned_mods, _crit, _level, _Projection, coef_table, wald_tests, warn_vi_ratio
from bayesma.frequentist._printing import _fmt_p, _stars, heterogeneity_test_lines
from bayesma.frequentist.mv import predict as _mv_predict
from bayesma.frequentist.mv.blocks import BlockDiag, SizeGroup
from bayesma.frequentist.mv.profile import confint_sigma2
from bayesma.frequentist.mv.vcalc import cluster_groups

__all__ = ["rma_mv", "RMAMVResult"]

_METHODS = ("REML", "ML")
_TESTS = ("z", "t")
_LOG2PI = float(np.log(2 * np.pi))
_ZERO = np.finfo(float).eps * 10  # metafor treats smaller variance components as 0


@dataclass
class RMAMVResult:
    """A fitted three-level meta-analysis, with metafor's (``rma.mv``) names.

    Attributes
    ----------
    beta, se, stat, pval, ci_lb, ci_ub : numpy.ndarray
        Fixed effects with standard errors, z (or t) statistics, p-values and
        confidence interval bounds, one per coefficient in ``coef_names``.
    vb : numpy.ndarray
        Variance-covariance matrix of ``beta``.
    sigma2 : numpy.ndarray
        Variance components ``[between clusters, within clusters]``.
    QE, QEp : float
        Test for (residual) heterogeneity with k - p degrees of freedom.
    QM, QMp, QMdf : float, float, tuple
        Omnibus test of the moderators (an F statistic for ``test="t"``).
    k, p, n_clusters : int
        Number of effects, coefficients and clusters.
    logLik : float
        Restricted (REML) or full (ML) log likelihood at the estimates.
    fit_stats : pandas.DataFrame
        ll, dev, AIC, BIC, AICc under ML and REML, as metafor's ``fitstats``.
    I2_levels : pandas.Series
        Multilevel I² (%): the share of the total variance due to each level,
        with the typical sampling variance of the model (Cheung 2014; metafor
        FAQ). Index ``total``, ``between`` (clusters) and ``within``.
    dfs : int or None
        t degrees of freedom (k - p) for ``test="t"``, else None.
    pi_lb, pi_ub : float or None
        Prediction interval of an intercept-only model (uses sum(sigma2)).
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    n_clusters: int
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    sigma2: np.ndarray
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    dfs: int | None
    logLik: float
    fit_stats: pd.DataFrame
    I2_levels: pd.Series
    s_names: tuple[str, str]
    s_nlevels: tuple[int, int]
    iterations: int
    pi_lb: float | None = None
    pi_ub: float | None = None
    data: MetaData | None = field(default=None, repr=False)
    X: np.ndarray | None = field(default=None, repr=False)
    btt: list[int] = field(default_factory=list)

    @property
    def sigma(self) -> np.ndarray:
        """Square roots of the variance components."""
        return np.sqrt(self.sigma2)

    @property
    def loglik(self) -> float:
        """Alias of ``logLik`` (the name :class:`RMAResult` uses)."""
        return self.logLik

    @property
    def I2(self) -> float:
        """Total multilevel I² (%)."""
        return float(self.I2_levels["total"])

    @property
    def estimate(self) -> float:
        """The pooled estimate (intercept) of an intercept-only model."""
        return float(self.beta[0])

    def summary(self) -> pd.DataFrame:
        """Coefficient table: estimate, se, statistic, p-value, interval (as :meth:`RMAResult.summary`)."""
        return coef_table(self)  # the same coefficient table (estimate, se, statistic, p-value, interval)

    def loglik_at(self, sigma2: Any) -> float:
        """The log likelihood (restricted for a REML fit; metafor's constants) at the variance
        components *sigma2* = ``[between, within]``, maximised over the fixed effects."""
        _, cid = np.unique(np.asarray(self.data.cluster), return_inverse=True)
        logdet_xtx = float(np.linalg.slogdet(self.X.T @ self.X)[1])
        theta = np.asarray(sigma2, dtype=float)
        return _State(self.data.yi, self.data.vi, self.X, cid.astype(np.intp), self.n_clusters, theta,
                      self.method == "REML", logdet_xtx, False).ll

    def confint(self, level: float | None = None) -> pd.DataFrame:
        """Profile-likelihood intervals of the variance components; see
        :func:`bayesma.frequentist.mv.profile.confint_sigma2` (metafor's ``confint.rma.mv``)."""
        return confint_sigma2(self, level)

    def predict(self, newmods: Any = None, level: float | None = None, transf: Any = None) -> pd.DataFrame:
        """Predicted average effects with confidence and prediction intervals; see
        :func:`bayesma.frequentist.mv.predict.predict_mv` (metafor's ``predict.rma.mv``)."""
        return _mv_predict.predict_mv(self, newmods, level, transf)

    def ranef(self, level: float | None = None, transf: Any = None) -> dict[str, pd.DataFrame]:
        """Predicted cluster effects and effects within clusters; see
        :func:`bayesma.frequentist.mv.predict.ranef_mv` (metafor's ``ranef.rma.mv``)."""
        return _mv_predict.ranef_mv(self, level, transf)

    @property
    def cluster_ids(self) -> np.ndarray:
        """The outermost random factor's level of each effect (rows in the fit's order): effects
        with different values are independent in the marginal model."""
        return np.asarray(self.data.cluster, dtype=object)

    def marginal_vcov(self) -> BlockDiag:
        """The fitted marginal covariance of ``yi``: V + Z G Z', one block per cluster
        (:class:`~bayesma.frequentist.mv.blocks.BlockDiag`, rows in the fit's order)."""
        s1, s2 = (float(v) for v in self.sigma2)
        codes, labels = pd.factorize(pd.Series(self.cluster_ids, dtype=object), sort=False)
        vi = np.asarray(self.data.vi, dtype=float)
        groups = []
        for order, rows in cluster_groups(codes, len(labels)):
            s = rows.shape[1]
            mats = s1 * np.ones((len(order), s, s)) + np.eye(s) * (vi[rows] + s2)[:, :, None]
            groups.append(SizeGroup(rows, mats, order))
        return BlockDiag.from_groups(groups, len(vi), list(labels))

    def variance_components(self) -> pd.DataFrame:
        """The variance components table of metafor's printout."""
        return pd.DataFrame(
            {"estim": self.sigma2, "sqrt": np.sqrt(self.sigma2), "nlvls": list(self.s_nlevels),
             "fixed": ["no", "no"], "factor": list(self.s_names)},
            index=pd.Index(["sigma^2.1", "sigma^2.2"]),
        )

    def __repr__(self) -> str:
        return _format(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + _format(self).replace("<", "&lt;") + "</pre>"


def rma_mv(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    cluster: Any,
    mods: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Any = None,
    missing: str = "raise",
) -> RMAMVResult:
    """Fit a three-level meta-analysis: effects nested in clusters.

    The model of metafor's ``rma.mv(yi, vi, mods, random = ~ 1 | cluster/id)``
    with one row per effect: a variance component between clusters
    (``sigma2[0]``) and one between effects within a cluster (``sigma2[1]``),
    estimated by REML (or ML).

    Parameters
    ----------
    yi : str or array_like
        Observed effects, or a column name of *data*.
    vi : str or array_like, optional
        Sampling variances (or give *sei*, standard errors).
    sei : str or array_like, optional
        Standard errors, instead of *vi* (``vi = sei**2``); give one of the two.
    data : pandas.DataFrame, optional
        Table with the named columns and the moderators.
    cluster : str or array_like
        Cluster (study) of each effect; effects of one cluster share the
        between-cluster random effect.
    mods : str, array_like or DataFrame, optional
        Moderators, as in :func:`bayesma.rma` (e.g. ``"~ year"``).
    method : {"REML", "ML"}
        Restricted or full maximum likelihood.
    test : {"z", "t"}
        Wald z tests, or t tests (and an F test of the moderators) with
        k - p degrees of freedom, as metafor's ``test="t"``. ``"knha"`` is
        accepted as ``"t"`` with a warning: metafor's ``rma.mv`` has no
        Knapp-Hartung rescaling of the variances.
    level : float
        Confidence level, 0.95 or 95.
    labels : str or array_like, optional
        Effect labels; when they repeat across clusters (e.g. school numbers
        within districts) they are made unique as ``"cluster/label"``.
    missing : {"raise", "drop"}
        How to treat effects with missing values (including a missing cluster).

    Returns
    -------
    RMAMVResult

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> res.sigma2.round(4).tolist()
    [0.0651, 0.0327]
    >>> round(float(res.beta[0]), 4)
    0.1847
    """
    method = str(method).upper()
    if method not in _METHODS:
        raise InputError(f"method must be one of {_METHODS} for a three-level model, got {method!r}")
    if test == "knha":
        warnings.warn(
            "rma_mv: test='knha' gives t tests with k - p degrees of freedom without the Knapp-Hartung "
            "rescaling (metafor's rma.mv(test='t')); use test='t' to silence this warning",
            stacklevel=2,
        )
        test = "t"
    if test not in _TESTS:
        raise InputError(f"test must be 'z' or 't' for a three-level model, got {test!r}")
    level = _level(level)
    if cluster is None:
        raise InputError("cluster= is required: the cluster (study) of each effect")

    inner_name = labels if isinstance(labels, str) else "id"
    cluster_name = cluster if isinstance(cluster, str) else "cluster"
    labels = _nested_labels(data, labels, cluster)
    mods = _aligned_mods(mods, data, yi)
    md = yi if isinstance(yi, MetaData) else MetaData.create(
        yi, vi, sei=sei, data=data, labels=labels, cluster=cluster, missing=missing,
        require=required_columns(mods, data),
    )
    if md.cluster is None:
        raise InputError("cluster= is required: the cluster (study) of each effect")
    X, names = design_matrix(mods, md.data, md.k, md.labels)
    return fit_rma_mv(md, X, names, method=method, test=test, level=level,
                      s_names=(cluster_name, f"{cluster_name}/{inner_name}"))


def _nested_labels(data: pd.DataFrame | None, labels: Any, cluster: Any) -> Any:
    """Labels unique per effect: repeated labels are prefixed with their cluster."""
    if labels is None:
        return None
    values = list(np.asarray(column(data, labels, "labels"), dtype=object))
    text = [str(v) for v in values]
    if len(set(text)) == len(text):
        return labels
    clusters = list(np.asarray(column(data, cluster, "cluster"), dtype=object))
    if len(clusters) != len(text):
        return labels  # MetaData.create reports the length mismatch
    combined = [f"{c}/{t}" for c, t in zip(clusters, text)]
    seen: dict[str, int] = {}
    name = labels if isinstance(labels, str) else "labels"
    for i, lab in enumerate(combined):
        if lab in seen:
            raise InputError(
                f"column {name!r}: effect label {text[i]!r} appears twice in cluster {clusters[i]!r} "
                f"(rows {seen[lab] + 1} and {i + 1}); labels must be unique within a cluster"
            )
        seen[lab] = i
    return combined


# ---------------------------------------------------------------------------
# block-diagonal algebra


class _Blocks:
    """V = diag(vi + s2) + s1 Z Z' and its inverse, block by block (Sherman-Morrison)."""

    def __init__(self, vi: np.ndarray, cid: np.ndarray, m: int, s1: float, s2: float):
        self.cid, self.m = cid, m
        a = vi + s2
        self.w = 1.0 / a
        self.S = np.bincount(cid, weights=self.w, minlength=m)  # 1' A^-1 1 per cluster
        self.c = s1 / (1.0 + s1 * self.S)
        self.cw = self.c[cid] * self.w
        self.u = self.w / (1.0 + s1 * self.S)[cid]  # V^-1 Z, one nonzero per row
        self.logdet = float(np.sum(np.log(a)) + np.sum(np.log1p(s1 * self.S)))

    def csum(self, M: np.ndarray) -> np.ndarray:
        """Z' M: sums of the rows of M per cluster."""
        if M.ndim == 1:
            return np.bincount(self.cid, weights=M, minlength=self.m)
        return np.column_stack([np.bincount(self.cid, weights=M[:, j], minlength=self.m)
                                for j in range(M.shape[1])])

    def solve(self, M: np.ndarray) -> np.ndarray:
        """V^-1 M."""
        wM = self.w * M if M.ndim == 1 else self.w[:, None] * M
        sums = self.csum(wM)[self.cid]
        return wM - (self.cw * sums if M.ndim == 1 else self.cw[:, None] * sums)


class _State:
    """Likelihood, gradient and information at (s1, s2)."""

    def __init__(self, y, vi, X, cid, m, theta, reml, logdet_xtx, derivs=True):
        s1, s2 = float(theta[0]), float(theta[1])
        k, p = X.shape
        B = self.blocks = _Blocks(vi, cid, m, s1, s2)
        Q = B.solve(X)  # V^-1 X
        XtVX = X.T @ Q
        XtVy = Q.T @ y
        L = np.linalg.cholesky(XtVX)
        beta = np.linalg.solve(XtVX, XtVy)
        H = np.linalg.inv(XtVX)
        r = B.solve(y) - Q @ beta  # V^-1 (y - X beta) = P y
        e = y - X @ beta
        rss = float(e @ r)
        logdet_xvx = 2.0 * float(np.sum(np.log(np.diag(L))))
        self.beta, self.H, self.rss = beta, H, rss
        self.ll_ml = -0.5 * k * _LOG2PI - 0.5 * B.logdet - 0.5 * rss
        self.ll_reml = (-0.5 * (k - p) * _LOG2PI + 0.5 * logdet_xtx - 0.5 * B.logdet
                        - 0.5 * logdet_xvx - 0.5 * rss)
        self.ll = self.ll_reml if reml else self.ll_ml
        self._parts = (cid, m, reml, Q, r)
        if derivs:
            self.derivatives()

    def derivatives(self) -> _State:
        """Add the gradient (``grad``) and the expected (``info``) and observed (``obs``) information."""
        cid, m, reml, Q, r = self._parts
        B, H = self.blocks, self.H
        w, c, cw, u, S = B.w, B.c, B.cw, B.u, B.S
        g = S - c * S**2  # diag of Z' V^-1 Z
        trVi = float(np.sum(w - cw * w))
        Bm = B.csum(Q)  # Z' V^-1 X
        QtQ = Q.T @ Q
        HQtQ = H @ QtQ
        HBtB = H @ (Bm.T @ Bm)
        rz = B.csum(r)
        Zr = rz[cid]
        # first derivatives: -1/2 tr(P D) + 1/2 r' D r  (P -> V^-1 for ML)
        if reml:
            tr1 = float(np.sum(g) - np.trace(HBtB))
            tr2 = trVi - float(np.trace(HQtQ))
        else:
            tr1, tr2 = float(np.sum(g)), trVi
        self.grad = np.array([-0.5 * tr1 + 0.5 * float(rz @ rz), -0.5 * tr2 + 0.5 * float(r @ r)])
        # expected information 1/2 tr(P D_r P D_s)
        wsq = np.bincount(cid, weights=w**2, minlength=m)
        wcu = np.bincount(cid, weights=w**3, minlength=m)
        fro_vi = float(np.sum(wsq - 2 * c * wcu + c**2 * wsq**2))
        fro_vz = float(np.sum(u**2))
        if reml:
            QtViQ = Q.T @ B.solve(Q)
            C = B.csum(u[:, None] * Q)  # Z' V^-1 V^-1 X
            BHBt_diag = np.einsum("ij,jk,ik->i", Bm, H, Bm)
            i11 = float(np.sum(g**2) - 2 * np.sum(g * BHBt_diag) + np.sum(HBtB * HBtB.T))
            i12 = float(fro_vz - 2 * np.trace(H @ Bm.T @ C) + np.sum(HQtQ * HBtB.T))
            i22 = float(fro_vi - 2 * np.trace(H @ QtViQ) + np.sum(HQtQ * HQtQ.T))
        else:
            i11, i12, i22 = float(np.sum(g**2)), fro_vz, fro_vi
        self.info = 0.5 * np.array([[i11, i12], [i12, i22]])
        # observed information: r' D_r P D_s r - 1/2 tr(P D_r P D_s) [the trace term with V^-1 for ML]
        P = lambda v: B.solve(v) - Q @ (H @ (Q.T @ v))  # noqa: E731
        PZr, Pr = P(Zr), P(r)
        quad = np.array([[Zr @ PZr, Zr @ Pr], [r @ PZr, r @ Pr]])
        quad = 0.5 * (quad + quad.T)
        self.obs = quad - self.info
        return self


def _maximize(y, vi, X, cid, m, reml, theta0, maxiter=500):
    """Maximize the (restricted) log likelihood over sigma2 >= 0."""
    logdet_xtx = float(np.linalg.slogdet(X.T @ X)[1])
    make = lambda th, d=True: _State(y, vi, X, cid, m, th, reml, logdet_xtx, d)  # noqa: E731
    theta = np.maximum(np.asarray(theta0, dtype=float), 0.0)
    st = make(theta)
    it = 0
    for it in range(1, maxiter + 1):
        g = st.grad
        free = ~((theta <= 0) & (g <= 0))  # at the bound and pushing outward: fix at 0
        if not free.any():
            break
        idx = np.flatnonzero(free)
        step = np.zeros(2)
        J = st.obs[np.ix_(idx, idx)]
        use_newton = np.all(np.linalg.eigvalsh(J) > 1e-12 * max(1.0, np.abs(J).max()))
        I = J if use_newton else st.info[np.ix_(idx, idx)]
        step[idx] = np.linalg.pinv(I, rcond=1e-13, hermitian=True) @ g[idx]
        lam = 1.0
        accepted = False
        for _ in range(60):
            cand = np.maximum(theta + lam * step, 0.0)
            cand[cand <= _ZERO] = 0.0
            new = make(cand, False)
            if new.ll >= st.ll - 1e-13 * max(1.0, abs(st.ll)):
                accepted = True
                break
            lam /= 2.0
        if not accepted:
            break
        change = np.abs(cand - theta)
        theta = cand
        st = new.derivatives()
        # Newton converges quadratically: after a step of relative size 1e-10 the estimates are
        # exact to rounding error (smaller criteria would chase floating-point noise)
        if np.all(change <= 1e-10 * np.maximum(theta, 1e-8)):
            break
    else:
        warnings.warn("rma_mv: the variance components did not converge in "
                      f"{maxiter} iterations", ConvergenceWarning, stacklevel=3)
    return theta, st, it


# ---------------------------------------------------------------------------
# the fit


def fit_rma_mv(
    md: MetaData,
    X: np.ndarray,
    coef_names: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    s_names: tuple[str, str] = ("cluster", "cluster/id"),
    sigma2_init: Any = None,
) -> RMAMVResult:
    """Fit the three-level model on validated data and a design matrix (the engine of :func:`rma_mv`)."""
    y, vi = md.yi, md.vi
    k, p = X.shape
    warn_vi_ratio(vi)
    levels, cid = np.unique(np.asarray(md.cluster), return_inverse=True)
    cid = cid.astype(np.intp)
    m = len(levels)
    if k - p < 1:
        raise InputError(f"too few effects (k = {k}) for {p} coefficients and two variance components")
    if m < 2:
        raise InputError(
            f"all {k} effects are in one cluster ({str(levels[0])!r}); a three-level model needs at least two clusters"
        )
    if m == k:
        warnings.warn(
            "every cluster has a single effect: the two variance components are not separately "
            "identifiable (only their sum is); consider rma()", DataWarning, stacklevel=3,
        )

    # fixed-effect fit with the sampling variances only: QE and starting values
    w = 1.0 / vi
    XtW = X.T * w
    beta_fe = np.linalg.solve(XtW @ X, XtW @ y)
    e_fe = y - X @ beta_fe
    QE = float(np.sum(w * e_fe**2))
    if sigma2_init is None:
        total = max(0.002, float(np.var(e_fe, ddof=1)) - 1.0 / float(np.mean(w)))
        sigma2_init = [total / 2, total / 2]
    theta, st, iterations = _maximize(y, vi, X, cid, m, method == "REML", sigma2_init)

    beta, vb = st.beta, st.H
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    dfs = k - p if test == "t" else None
    has_intercept = bool(np.allclose(X[:, 0], 1.0)) and coef_names[0] == "intrcpt"
    btt, QM, QMp, pval = wald_tests(beta, vb, has_intercept, dfs)
    nb = len(btt)
    crit = _crit(level, dfs)
    QEp = float(stats.chi2.sf(QE, k - p))

    # multilevel I² with the typical sampling variance (k - p) / tr(P), P with W = diag(1 / vi)
    vt = (k - p) / _Projection(X, w).trace()
    tot = float(np.sum(theta))
    I2_levels = pd.Series(
        [100.0 * tot / (tot + vt), 100.0 * theta[0] / (tot + vt), 100.0 * theta[1] / (tot + vt)],
        index=["total", "between", "within"], name="I2",
    )

    # fit statistics, metafor's definitions (two estimated variance components)
    parms = p + 2
    ll_ml, ll_reml = st.ll_ml, st.ll_reml
    ll_qe = -0.5 * k * _LOG2PI - 0.5 * float(np.sum(np.log(vi)))
    n_ml, n_reml = k, k - p
    fit_stats = pd.DataFrame(
        {
            "ML": [ll_ml, -2 * (ll_ml - ll_qe), -2 * ll_ml + 2 * parms, -2 * ll_ml + parms * np.log(n_ml),
                   -2 * ll_ml + 2 * parms * max(n_ml, parms + 2) / (max(n_ml, parms + 2) - parms - 1)],
            "REML": [ll_reml, -2 * ll_reml, -2 * ll_reml + 2 * parms, -2 * ll_reml + parms * np.log(n_reml),
                     -2 * ll_reml + 2 * parms * max(n_reml, parms + 2) / (max(n_reml, parms + 2) - parms - 1)],
        },
        index=["ll", "dev", "AIC", "BIC", "AICc"],
    )

    pi_lb = pi_ub = None
    if p == 1:
        pi_se = float(np.sqrt(se[0] ** 2 + tot))
        pi_lb, pi_ub = float(beta[0] - crit * pi_se), float(beta[0] + crit * pi_se)

    return RMAMVResult(
        method=method, test=test, level=level, k=k, p=p, n_clusters=m, coef_names=list(coef_names),
        beta=beta, se=se, vb=vb, stat=stat, pval=np.asarray(pval, dtype=float),
        ci_lb=beta - crit * se, ci_ub=beta + crit * se, sigma2=theta.copy(),
        QE=QE, QEp=QEp, QM=QM, QMp=QMp, QMdf=(nb, dfs), dfs=dfs,
        logLik=float(ll_reml if method == "REML" else ll_ml), fit_stats=fit_stats, I2_levels=I2_levels,
        s_names=tuple(s_names), s_nlevels=(m, k), iterations=iterations, pi_lb=pi_lb, pi_ub=pi_ub,
        data=md, X=X, btt=btt,
    )


# ---------------------------------------------------------------------------
# printing


def _format(res: RMAMVResult) -> str:
    mods = res.p > 1 or res.coef_names != ["intrcpt"]
    lines = [f"Multivariate Meta-Analysis Model (k = {res.k}; method: {res.method})", "", "Variance Components:", ""]
    vc = res.variance_components()
    vc["estim"] = [f"{v:.4f}" for v in vc["estim"]]
    vc["sqrt"] = [f"{v:.4f}" for v in vc["sqrt"]]
    lines.append(vc.to_string())
    lines.append("")
    lines.append(
        "Multilevel I^2: total {:.2f}%, between clusters {:.2f}%, within clusters {:.2f}%".format(
            *res.I2_levels[["total", "between", "within"]])
    )
    lines.append("")
    lines.extend(heterogeneity_test_lines(res, mods))
    lines += ["", "Model Results:", ""]
    table = res.summary()
    if res.dfs is not None:
        table.insert(3, "df", res.dfs)
    table.index = list(table.index) if mods else [""]
    formatted = table.copy()
    formatted["pval"] = [_fmt_p(p) for p in table["pval"]]
    text = formatted.to_string(float_format=lambda v: f"{v:.4f}")
    stars = [_stars(p) for p in table["pval"]]
    if any(stars):
        text = "\n".join(f"{row} {s}".rstrip() for row, s in zip(text.splitlines(), [""] + stars))
    lines.append(text)
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    return "\n".join(lines)
