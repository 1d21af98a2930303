"""Influence and outlier diagnostics of :func:`~bayesma.frequentist.mv.rma_mv` fits, as metafor's
``cooks.distance``, ``dfbetas``, ``hatvalues``, ``rstandard`` and ``rstudent`` methods for
``rma.mv`` objects (metafor 3.8-1).

Each case-deletion diagnostic deletes one *cluster* at a time (``cluster=``: a column or one value
per effect; default: every effect on its own): all its effects leave the data, with their rows
and columns of ``V`` and their levels of the random factors. The model is then refitted: the
variance components are re-estimated starting at the full fit's estimates (``reestimate=True``,
metafor's default) or held at them (``reestimate=False``). Every refit is one block-wise likelihood
maximisation on the remaining rows, so it costs time linear in the number of effects. The refits
are kept while the fit lives (:func:`~bayesma.frequentist.mv.deletion.deletions`): ``cooks_distance``,
``dfbetas`` and ``rstudent`` of one fit, one ``cluster=`` and one ``reestimate=`` share them.

A deletion that leaves a coefficient inestimable (the design loses full column rank), a random
term without one of its inner levels, or a model that cannot be fitted gives NaN for that cluster,
as metafor's ``NA``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma.coefs import resolve_btt
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist.mv.deletion import _BlockIndex, _Clusters, _clusters, deletions
from bayesma.frequentist.mv.result import RMAMVResult

__all__ = ["MVResiduals", "cooks_distance", "dfbetas", "hatvalues", "rstandard", "rstudent"]

_EPS = np.finfo(float).eps


def _check(res: Any, what: str) -> RMAMVResult:
    if not isinstance(res, RMAMVResult):
        uni = {"cooks_distance": "the cook_d column", "dfbetas": ".dfbetas", "hatvalues": "the hat column",
               "rstudent": "the rstudent column", "rstandard": "the rstudent column"}.get(what, "its table")
        raise ArgumentTypeError(f"bm.{what} takes a fit of bm.rma_mv (metafor's {what.replace('_', '.')}.rma.mv); "
                                f"for a fit of bm.rma use bm.influence(res) ({uni}); got {type(res).__name__}")
    return res


def _flag(value: Any, what: str) -> bool:
    """reestimate= as a bool: anything else (a string "no" is true in Python) is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{what}: reestimate= is True (re-estimate the variance components without each "
                                f"cluster, metafor's default) or False (hold them); got {value!r}")
    return bool(value)


def _index(clusters: _Clusters, res: RMAMVResult) -> pd.Index:
    return pd.Index(list(clusters.ids), name=clusters.name or "label")


# ---------------------------------------------------------------------------------------------
# public


def cooks_distance(res: RMAMVResult, cluster: Any = None, *, reestimate: bool = True,
                   btt: Any = None) -> pd.Series:
    """Cook's distances of the effects, or of clusters of effects, of an ``rma_mv`` fit
    (metafor's ``cooks.distance.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    cluster : str or array_like, optional
        A column of the fitted data, or one value per row of the data passed to ``rma_mv`` (as
        metafor; rows dropped there for missing values are left out) or per fitted effect: each
        cluster is deleted as a whole. Default: each effect on its own.
    reestimate : bool
        Re-estimate the variance components without each cluster (starting at the full fit's
        estimates; metafor's default), or hold them at the full fit's values.
    btt : int, str or sequence, optional
        The coefficients in the distance (1-based numbers as metafor, or names); default all.

    Returns
    -------
    pandas.Series
        ``(beta - beta_(-c))' Var(beta)^-1 (beta - beta_(-c))`` for each cluster c (index: the
        clusters, sorted, or the effect labels in the fit's order); NaN where the model cannot be
        fitted without the cluster.

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv` (for :func:`bayesma.rma`, see
        :func:`bayesma.influence`); *cluster* is neither a column name nor one value per effect
        (a table, a mapping, a single value); *reestimate* is not a bool.
    InputError
        *cluster* is not a column, has the wrong length or a missing value, or puts every effect
        in one cluster; a bad *btt*.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. Research Synthesis Methods, 1(2), 112-125. metafor 3.8-1,
    ``cooks.distance.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> cd = bm.cooks_distance(res, cluster="district")
    >>> len(cd), int(cd.idxmax()), round(float(cd.max()), 4)
    (11, 71, 0.5585)
    """
    res = _check(res, "cooks_distance")
    reestimate = _flag(reestimate, "cooks_distance")
    cl = _clusters(res, cluster, "cooks_distance")
    bt = list(range(res.p)) if btt is None else resolve_btt(btt, list(res.coef_names))
    svb = np.linalg.inv(res.vb[np.ix_(bt, bt)])
    dels = deletions(res, cl, reestimate)
    out = np.full(len(cl.ids), np.nan)
    for i, fit in enumerate(dels.fits):
        if fit is not None:
            d = (res.beta - fit.beta)[bt]
            out[i] = float(d @ svb @ d)
    return pd.Series(out, index=_index(cl, res), name="cooks_distance")


def dfbetas(res: RMAMVResult, cluster: Any = None, *, reestimate: bool = True) -> pd.DataFrame:
    """DFBETAS of the effects, or of clusters of effects, of an ``rma_mv`` fit (metafor's
    ``dfbetas.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    cluster : str or array_like, optional
        As :func:`cooks_distance`.
    reestimate : bool
        As :func:`cooks_distance`.

    Returns
    -------
    pandas.DataFrame
        ``(beta - beta_(-c)) / sqrt(diag(Var_c(beta)))`` with ``Var_c(beta)`` the variance of the
        coefficients of the model on *all* effects at the components estimated without cluster c;
        one row per cluster, one column per coefficient.

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv`; a bad *cluster* or *reestimate* (as
        :func:`cooks_distance`).
    InputError
        A bad *cluster* (as :func:`cooks_distance`).

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Research Synthesis Methods, 1(2), 112-125.
    metafor 3.8-1, ``dfbetas.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> bm.dfbetas(res, cluster="district").shape
    (11, 1)
    """
    res = _check(res, "dfbetas")
    reestimate = _flag(reestimate, "dfbetas")
    cl = _clusters(res, cluster, "dfbetas")
    dels = deletions(res, cl, reestimate)
    out = np.full((len(cl.ids), res.p), np.nan)
    for i, fit in enumerate(dels.fits):
        if fit is not None:
            out[i] = (res.beta - fit.beta) / np.sqrt(np.diag(dels.vb_full(i)))
    return pd.DataFrame(out, index=_index(cl, res), columns=list(res.coef_names))


def hatvalues(res: RMAMVResult, type: str = "diagonal") -> pd.Series | pd.DataFrame:
    """Leverages of the effects of an ``rma_mv`` fit: the hat matrix ``H = X (X'WX)^-1 X'W``
    with ``W = M^-1`` (``M`` the fitted marginal covariance), or its diagonal (metafor's
    ``hatvalues.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    type : {"diagonal", "matrix"}
        The diagonal of ``H`` (the leverages) or the whole k x k matrix (as metafor's ``type=``).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        ``"diagonal"``: one value per effect (index: the effect labels, the fit's order), 1 where
        it exceeds 1 - 10 eps. ``"matrix"``: ``H`` (k x k; rows and columns the effect labels; not
        symmetric: ``H[i, j]`` is the weight of effect j in the fitted value of effect i, so each
        row of an intercept-only model sums to 1).

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv`, or *type* is not ``"diagonal"`` or
        ``"matrix"``.

    References
    ----------
    metafor 3.8-1, ``hatvalues.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> round(float(bm.hatvalues(res).sum()), 6)
    1.0
    >>> H = bm.hatvalues(res, type="matrix")
    >>> H.shape, round(float(H.sum(axis=1).max()), 6)
    ((56, 56), 1.0)
    """
    res = _check(res, "hatvalues")
    if not isinstance(type, str) or type not in ("diagonal", "matrix"):
        raise ArgumentTypeError(f"hatvalues: type= is 'diagonal' (the leverages) or 'matrix' (the k x k hat "
                                f"matrix), as metafor's; got {type!r}")
    ev = res.layout.evaluate(res.layout.internal(res.theta), res.method == "REML")
    if ev is None:  # pragma: no cover - the fitted components give a positive definite M
        raise InputError("hatvalues: the marginal covariance is not positive definite at the estimates")
    labels = pd.Index(list(res.data.labels), name="label")
    if type == "matrix":
        MiX = np.empty((res.k, res.p))  # M^-1 X, block by block
        for g, (_, part, _) in zip(res.layout.groups, ev.parts):
            MiX[g.rows] = part
        return pd.DataFrame(res.X @ ev.vb @ MiX.T, index=labels, columns=labels.rename(None))
    h = np.empty(res.k)
    for g, (_, MiX, _) in zip(res.layout.groups, ev.parts):
        h[g.rows] = np.einsum("nsp,pq,nsq->ns", g.X, ev.vb, MiX)
    h[h > 1 - 10 * _EPS] = 1.0
    return pd.Series(h, index=labels, name="hat")


@dataclass(frozen=True)
class MVResiduals:  # numpydoc ignore=PR01
    """Standardized residuals of an ``rma_mv`` fit, per effect and per cluster (metafor's
    ``rstandard.rma.mv`` / ``rstudent.rma.mv``).

    Attributes
    ----------
    obs : pandas.DataFrame
        One row per effect (index: effect labels, the fit's order): ``resid``, ``se``, ``z``
        and, with ``cluster=``, the ``cluster`` of the effect.
    cluster : pandas.DataFrame or None
        With ``cluster=``: one row per cluster (sorted): ``X2``, the quadratic form of the
        cluster's residuals in the inverse of their covariance (roughly chi-square with ``k``
        degrees of freedom when the model holds), and ``k``, its number of effects.
    kind : str
        ``"rstandard"`` (internally standardized: residuals of the full fit) or ``"rstudent"``
        (externally standardized: each cluster against the fit without it).
    reestimate : bool or None
        For ``rstudent``: whether the components were re-estimated without each cluster.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> r = bm.rstandard(res, cluster="district")
    >>> r.obs.columns.tolist(), r.cluster.columns.tolist()
    (['resid', 'se', 'z', 'cluster'], ['X2', 'k'])
    """

    obs: pd.DataFrame
    cluster: pd.DataFrame | None
    kind: str
    reestimate: bool | None = None

    def summary(self) -> pd.DataFrame:
        """The per-cluster table with ``cluster=`` (else the per-effect table).

        Returns
        -------
        pandas.DataFrame
            ``.cluster`` when it exists, else ``.obs``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.konstantopoulos2011")
        >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
        >>> bm.rstandard(res).summary().shape
        (56, 3)
        """
        return self.obs if self.cluster is None else self.cluster

    def __repr__(self) -> str:
        how = "" if self.reestimate is None else f"; components {'re-estimated' if self.reestimate else 'held'}"
        head = f"{self.kind} of an rma_mv fit (k = {len(self.obs)}{how}; metafor's {self.kind}.rma.mv)\n"
        fmt = lambda v: f"{v:.4f}"  # noqa: E731
        body = self.obs.to_string(float_format=fmt, max_rows=30)
        if self.cluster is not None:  # the per-cluster test first: the table one reads
            body = ("By cluster:\n" + self.cluster.to_string(float_format=fmt, max_rows=30)
                    + f"\n\nBy effect (.obs, {len(self.obs)} rows):\n" + body)
        return head + body


def _x2(resid: np.ndarray, S: np.ndarray, check_eigen: bool) -> float:
    if check_eigen and np.any(np.linalg.eigvalsh(S) <= _EPS):
        return np.nan
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return np.nan
    u = np.linalg.solve(L, resid)
    return float(u @ u)


def _residuals(res: RMAMVResult, cl: _Clusters, resid: np.ndarray, se: np.ndarray, x2: np.ndarray | None,
               kind: str, reestimate: bool | None) -> MVResiduals:
    resid = resid.copy()
    resid[np.abs(resid) < 100 * _EPS] = 0.0
    obs = pd.DataFrame({"resid": resid, "se": se, "z": resid / se},
                       index=pd.Index(list(res.data.labels), name="label"))
    table = None
    if cl.of_row is not None:
        obs["cluster"] = cl.of_row
        table = pd.DataFrame({"X2": x2, "k": [len(r) for r in cl.rows]}, index=_index(cl, res))
    return MVResiduals(obs, table, kind, reestimate)


def rstandard(res: RMAMVResult, cluster: Any = None) -> MVResiduals:
    """Internally standardized residuals of an ``rma_mv`` fit (metafor's ``rstandard.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    cluster : str or array_like, optional
        As :func:`cooks_distance`: adds a test per cluster, ``X2 = e_c' Var(e_c)^-1 e_c``.

    Returns
    -------
    MVResiduals
        ``.obs``: ``resid = y - X beta``, ``se`` from ``Var(e) = M - X Var(beta) X'`` and ``z``;
        ``.cluster`` (with *cluster*): ``X2`` and ``k`` per cluster.

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv`; a bad *cluster* (as :func:`cooks_distance`).
    InputError
        A bad *cluster* (as :func:`cooks_distance`; one cluster of every effect is allowed: nothing
        is deleted).

    References
    ----------
    metafor 3.8-1, ``rstandard.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> r = bm.rstandard(res, cluster="district")
    >>> len(r.obs), len(r.cluster)
    (56, 11)
    """
    res = _check(res, "rstandard")
    cl = _clusters(res, cluster, "rstandard", deletes=False)
    e = res.yi - res.X @ res.beta
    M = res.marginal_vcov()
    XV = res.X @ res.vb
    se = np.sqrt(M.diagonal() - np.einsum("ip,ip->i", XV, res.X))
    x2 = None
    if cl.of_row is not None:
        x2 = np.full(len(cl.ids), np.nan)
        index = _BlockIndex(M)
        for i, rows in enumerate(cl.rows):
            Xc = res.X[rows]
            x2[i] = _x2(np.where(np.abs(e[rows]) < 100 * _EPS, 0.0, e[rows]),
                        index.sub(rows) - Xc @ res.vb @ Xc.T, check_eigen=True)
    return _residuals(res, cl, e, se, x2, "rstandard", None)


def rstudent(res: RMAMVResult, cluster: Any = None, *, reestimate: bool = True) -> MVResiduals:
    """Externally standardized (deleted) residuals of an ``rma_mv`` fit, per effect or per
    cluster (metafor's ``rstudent.rma.mv``).

    Each cluster is deleted and the model refitted (:func:`cooks_distance`); its effects are
    then compared with the prediction of that fit.

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    cluster : str or array_like, optional
        As :func:`cooks_distance`; adds a test per cluster.
    reestimate : bool
        As :func:`cooks_distance`.

    Returns
    -------
    MVResiduals
        ``.obs``: ``resid = y_c - X_c beta_(-c)``, ``se`` from ``S_c = M_c + X_c Var(beta_(-c))
        X_c'`` (``M_c`` the marginal covariance of the cluster's effects at the components
        estimated without it) and ``z``; ``.cluster`` (with *cluster*): ``X2 = resid' S_c^-1
        resid`` and ``k``.

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv`; a bad *cluster* or *reestimate* (as
        :func:`cooks_distance`).
    InputError
        A bad *cluster* (as :func:`cooks_distance`).

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Research Synthesis Methods, 1(2), 112-125.
    metafor 3.8-1, ``rstudent.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> r = bm.rstudent(res, cluster="district")
    >>> int(r.cluster["k"].sum()), int(r.cluster["X2"].idxmax())
    (56, 71)
    """
    res = _check(res, "rstudent")
    reestimate = _flag(reestimate, "rstudent")
    cl = _clusters(res, cluster, "rstudent")
    dels = deletions(res, cl, reestimate)
    resid, se = np.full(res.k, np.nan), np.full(res.k, np.nan)
    x2 = np.full(len(cl.ids), np.nan)
    for i, (rows, fit) in enumerate(zip(cl.rows, dels.fits)):
        if fit is None:
            continue
        Xc = res.X[rows]
        r = res.yi[rows] - Xc @ fit.beta
        S = dels.marginal_block(i) + Xc @ fit.vb @ Xc.T
        resid[rows], se[rows] = r, np.sqrt(np.diag(S))
        x2[i] = _x2(r, S, check_eigen=False)
    return _residuals(res, cl, resid, se, x2, "rstudent", bool(reestimate))
