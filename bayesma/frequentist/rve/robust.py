"""metafor's ``robust()``: cluster-robust tests and intervals for an ``rma`` or ``rma_mv`` fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.errors import InputError
from bayesma.frequentist._printing import _btt_text, _fmt_p, _p_text, _stars
from bayesma.frequentist.rve.sandwich import VCOV_TYPES, hotelling, sandwich
from bayesma.frequentist.rve.working import working_model

__all__ = ["robust", "RobustResult"]


@dataclass(frozen=True)
class RobustResult:  # numpydoc ignore=PR01
    """Cluster-robust inference for a fitted meta-analysis, with metafor's names.

    Attributes
    ----------
    beta : numpy.ndarray, shape (p,)
        The fit's estimates (unchanged).
    se, tval, df, pval, ci_lb, ci_ub : numpy.ndarray, shape (p,)
        Robust standard errors, t statistics, degrees of freedom (J - p for metafor's
        CR1; Satterthwaite's per coefficient with ``clubSandwich=True``), p-values and
        confidence bounds.
    vb : numpy.ndarray, shape (p, p)
        The cluster-robust variance-covariance matrix of ``beta``.
    QM, QMp : float
        Omnibus test of the coefficients ``btt`` (an F statistic; HTZ with clubSandwich).
    QMdf : tuple of float
        Its numerator and denominator degrees of freedom.
    vbest : str
        The estimator: "CR0", "CR1" (metafor's J / (J - p) factor) or clubSandwich's type.
    n_clusters : int
        Number of clusters J; ``cluster_sizes`` the number of effects in each.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> rob = bm.robust(res, cluster="district")
    >>> rob.vbest, rob.n_clusters, rob.df.tolist()
    ('CR1', 11, [10.0])
    """

    beta: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    QM: float
    QMp: float
    QMdf: tuple[float, float]
    coef_names: list[str]
    btt: list[int]
    vbest: str
    clubSandwich: bool
    n_clusters: int
    cluster_sizes: pd.Series
    k: int
    level: float
    fit: Any = field(default=None, repr=False)

    @property
    def stat(self) -> np.ndarray:
        """Alias of ``tval`` (the name the other results use)."""
        return self.tval

    @property
    def p(self) -> int:
        return len(self.beta)

    def summary(self) -> pd.DataFrame:
        """Coefficient table with the robust inference.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient (index ``coef``): ``estimate``, ``se``, ``tval``, ``df``,
            ``pval``, ``ci_lb``, ``ci_ub``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.konstantopoulos2011")
        >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
        >>> bm.robust(res, cluster="district").summary().round(4).columns.tolist()
        ['estimate', 'se', 'tval', 'df', 'pval', 'ci_lb', 'ci_ub']
        """
        return pd.DataFrame(
            {"estimate": self.beta, "se": self.se, "tval": self.tval, "df": self.df, "pval": self.pval,
             "ci_lb": self.ci_lb, "ci_ub": self.ci_ub},
            index=pd.Index(self.coef_names, name="coef"),
        )

    def __repr__(self) -> str:
        return _format(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + _format(self).replace("<", "&lt;") + "</pre>"


def robust(
    res: Any,
    cluster: Any = None,
    adjust: bool = True,
    clubSandwich: bool = False,
    vcov: str = "CR2",
) -> RobustResult:
    """Cluster-robust tests and confidence intervals for a fitted meta-analysis (metafor's ``robust()``).

    Without *clubSandwich*, the sandwich estimator of metafor's ``robust()``:
    ``vb = (X'WX)^-1 [sum_j X_j'W_j e_j e_j'W_j X_j] (X'WX)^-1`` with the fit's weights
    ``W`` (the inverse of its marginal covariance), multiplied by J / (J - p) when
    *adjust* (the CR1 factor of Hedges, Tipton & Johnson 2010), with t and F tests on
    J - p degrees of freedom. With ``clubSandwich=True``, clubSandwich's bias-reduced
    CR2 estimator (Pustejovsky & Tipton 2018) with Satterthwaite degrees of freedom
    per coefficient and the HTZ test of the moderators, as
    ``robust(res, cluster, clubSandwich = TRUE)`` in metafor.

    Parameters
    ----------
    res : RMAResult or RMAMVResult
        A fit of :func:`bayesma.rma` or :func:`bayesma.rma_mv`.
    cluster : str or array_like, optional
        Cluster of each effect: a column name of the fit's data, or one value per
        effect of the fit. Required for an ``rma`` fit; for an ``rma_mv`` fit the
        default is the outermost grouping of its random effects. The model's
        random effects (and ``V``) must be nested in the clusters.
    adjust : bool
        Apply the J / (J - p) small-sample factor (metafor's default).
    clubSandwich : bool
        Use clubSandwich's estimator (*vcov*, default CR2) and small-sample tests.
    vcov : {"CR2", "CR0", "CR1", "CR1p", "CR1S", "CR3"}
        The estimator with ``clubSandwich=True`` (clubSandwich's names).

    Returns
    -------
    RobustResult
        ``beta, se, tval, df, pval, ci_lb, ci_ub, QM, QMp, QMdf, vb`` and a printout.

    Raises
    ------
    ValueError
        When there are no more clusters than coefficients, for a cluster variable with
        missing values or of the wrong length, and for a cluster variable that is not
        constant within a cluster of the model (naming the effects).

    See Also
    --------
    bayesma.coef_test, bayesma.wald_test

    Notes
    -----
    For an ``rma`` fit with ``test="knha"`` metafor reuses the Knapp-Hartung-scaled
    ``vb`` as bread; here the bread is always ``(X'WX)^-1`` (the sandwich replaces the
    model-based variance), as clubSandwich.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> rob = bm.robust(res, cluster="district", clubSandwich=True)
    >>> round(float(rob.se[0]), 4), round(float(rob.df[0]), 2)
    (0.0845, 9.86)
    """
    if vcov not in VCOV_TYPES:
        raise InputError(f"vcov must be one of {VCOV_TYPES}, got {vcov!r}")
    wm = working_model(res, cluster)
    J, p = wm.J, wm.p
    if J - p <= 0:
        raise InputError(f"the number of clusters ({J}) must be larger than the number of coefficients ({p})")
    level = wm.level
    alpha = 1 - level
    btt = wm.btt
    if clubSandwich:
        sw = sandwich(wm, vcov)
        se = sw.se
        df = sw.satterthwaite()
        tval = wm.beta / se
        pval = 2.0 * stats.t.sf(np.abs(tval), df)
        crit = stats.t.isf(alpha / 2, df)
        if p == 1 and wm.coef_names == ["intrcpt"]:
            QM, QMdf, QMp = float(tval[0] ** 2), (1.0, float(df[0])), float(pval[0])
        else:
            C = np.zeros((len(btt), p))
            C[np.arange(len(btt)), btt] = 1.0
            Q = float(wm.beta[btt] @ np.linalg.solve(sw.vcov[np.ix_(btt, btt)], wm.beta[btt]))
            F, _, df2, QMp = hotelling(Q, len(btt), sw.htz_nu(C))
            QM, QMdf = max(0.0, F), (float(len(btt)), max(0.0, df2))
        vbest, vb = vcov, sw.vcov
    else:
        sw = sandwich(wm, "CR1p" if adjust else "CR0")
        vb, se = sw.vcov, sw.se
        df = np.full(p, float(J - p))
        tval = wm.beta / se
        pval = 2.0 * stats.t.sf(np.abs(tval), J - p)
        crit = np.full(p, stats.t.isf(alpha / 2, J - p))
        bb = wm.beta[btt]
        QM = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb)) / len(btt)
        QMdf = (float(len(btt)), float(J - p))
        QMp = float(stats.f.sf(QM, len(btt), J - p))
        vbest = "CR1" if adjust else "CR0"
    return RobustResult(
        beta=wm.beta, se=se, tval=tval, df=np.asarray(df, dtype=float), pval=pval, ci_lb=wm.beta - crit * se,
        ci_ub=wm.beta + crit * se, vb=vb, QM=QM, QMp=QMp, QMdf=QMdf, coef_names=wm.coef_names, btt=btt,
        vbest=vbest, clubSandwich=bool(clubSandwich), n_clusters=J,
        cluster_sizes=pd.Series(wm.sizes(), index=pd.Index(wm.levels, name="cluster"), name="k"),
        k=wm.k, level=level, fit=res,
    )


def _model_part(fit: Any) -> list[str]:
    """The fit's printout up to its tests of moderators / model results: the model, its variance components
    and heterogeneity statistics and the (residual) heterogeneity test, which robust inference leaves as they
    are (metafor's print of a robust fit shows them too)."""
    if fit is None:
        return ["Meta-Analysis Model", ""]
    lines = []
    for line in repr(fit).splitlines():
        if line.startswith(("Test of Moderators", "Model Results")):
            break
        lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines + [""]


def _format(r: RobustResult) -> str:
    n = r.cluster_sizes.to_numpy()
    per = (f"{n.min()}" if n.min() == n.max()
           else f"{n.min()}-{n.max()} (mean: {n.mean():.2f}, median: {np.median(n):g})")
    lines = _model_part(r.fit) + [
        f"Number of estimates:   {r.k}",
        f"Number of clusters:    {r.n_clusters}",
        f"Estimates per cluster: {per}", ""]
    mods = r.p > 1 or r.coef_names != ["intrcpt"]
    if mods:
        df2 = f"{r.QMdf[1]:.2f}" if r.clubSandwich else f"{int(r.QMdf[1])}"
        lines += [f"Test of Moderators ({_btt_text(r.btt)}):",
                  f"F(df1 = {int(r.QMdf[0])}, df2 = {df2}) = {r.QM:.4f}, p-val {_p_text(r.QMp)}", ""]
    lines += ["Model Results:", ""]
    table = r.summary()
    table.index = list(table.index) if mods else [""]
    shown = table.copy().astype(object)
    for col in ("estimate", "se", "tval", "ci_lb", "ci_ub"):
        shown[col] = [f"{v:.4f}" for v in table[col]]
    shown["df"] = [f"{v:.2f}" if r.clubSandwich else f"{v:g}" for v in table["df"]]
    shown["pval"] = [_fmt_p(v) for v in table["pval"]]
    text = shown.to_string()
    stars = [_stars(v) for v in table["pval"]]
    text = "\n".join(f"{row} {s}".rstrip() for row, s in zip(text.splitlines(), [""] + stars))
    lines += [text, "", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", ""]
    tests = "t/F-tests and confidence intervals" if mods else "t-test and confidence interval"
    how = (f"approx. {tests}, df: Satterthwaite approx." + (" (F: Hotelling's T^2 approx.)" if mods else "")
           if r.clubSandwich else f"approx. {tests}, df: residual method")
    lines.append(f"Results based on cluster-robust inference (var-cov estimator: {r.vbest}, {how})")
    return "\n".join(lines)
