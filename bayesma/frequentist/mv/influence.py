"""Influence and outlier diagnostics of :func:`~bayesma.frequentist.mv.rma_mv` fits, as metafor's
``cooks.distance``, ``dfbetas``, ``hatvalues``, ``rstandard`` and ``rstudent`` methods for
``rma.mv`` objects (metafor 3.8-1).

Each case-deletion diagnostic deletes one *cluster* at a time (``cluster=``: a column or one value
per effect; default: every effect on its own): all its effects leave the data, with their rows
and columns of ``V`` and their levels of the random factors. The model is then refitted
(:class:`_Deletions`): the variance components are re-estimated starting at the full fit's
estimates (``reestimate=True``, metafor's default) or held at them (``reestimate=False``). Every
refit is one block-wise likelihood maximisation on the remaining rows, so it costs time linear in
the number of effects.

A deletion that leaves a coefficient inestimable (the design loses full column rank), a random
term without one of its inner levels, or a model that cannot be fitted gives NaN for that cluster,
as metafor's ``NA``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma.coefs import resolve_btt
from bayesma.errors import ArgumentTypeError, BayesmaError, InputError
from bayesma.frequentist.mv.blocks import BlockDiag
from bayesma.frequentist.mv.likelihood import Layout
from bayesma.frequentist.mv.optimize import Params, maximize
from bayesma.frequentist.mv.random import SigmaTerm, StructTerm
from bayesma.frequentist.mv.result import RMAMVResult
from bayesma.frequentist.mv.structs import Struct

__all__ = ["MVResiduals", "cooks_distance", "dfbetas", "hatvalues", "rstandard", "rstudent"]

_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------------------
# clusters


@dataclass(frozen=True)
class _Clusters:
    """The clusters to delete: their labels (sorted as R's ``order(ids)``) and rows."""

    name: str | None            # the column's name (None: every effect its own cluster)
    ids: list[Any]              # sorted labels
    rows: list[np.ndarray]      # row positions of each, in the fit's order
    of_row: np.ndarray | None   # the cluster label of each row (None without cluster=)


def _sort_key(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _clusters(res: RMAMVResult, cluster: Any, what: str) -> _Clusters:
    k = res.k
    if cluster is None:
        return _Clusters(None, list(res.data.labels), [np.array([i]) for i in range(k)], None)
    if isinstance(cluster, str):
        frame = res.data.data
        if frame is None or cluster not in frame.columns:
            cols = [] if frame is None else list(frame.columns)
            raise InputError(f"{what}: cluster={cluster!r} is not a column of the data the model was fitted to; "
                             f"columns are {cols}", column=cluster)
        values, name = frame[cluster].to_numpy(dtype=object), cluster
    else:
        values = np.asarray(cluster.to_numpy() if isinstance(cluster, pd.Series) else cluster, dtype=object).ravel()
        name = getattr(cluster, "name", None) or "cluster"
        if values.shape[0] != k:
            raise InputError(f"{what}: cluster= has {values.shape[0]} values but the model has {k} effects "
                             "(one value per effect, in the rows of the fit)", column="cluster")
    missing = pd.isna(pd.Series(values, dtype=object)).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(f"{what}: the cluster of effect {res.data.labels[i]!r} (row {i + 1}) is missing",
                         study=str(res.data.labels[i]), row=i + 1, column=str(name))
    values = np.array([v.item() if isinstance(v, np.generic) else v for v in values], dtype=object)
    codes, levels = pd.factorize(pd.Series(values, dtype=object), sort=False)
    ids = _sort_key(list(levels))
    position = {v: j for j, v in enumerate(levels)}
    rows = [np.flatnonzero(codes == position[v]) for v in ids]
    return _Clusters(str(name), ids, rows, values)


# ---------------------------------------------------------------------------------------------
# refits without one cluster


def _sub_terms(res: RMAMVResult, keep: np.ndarray) -> tuple[list[SigmaTerm], list[StructTerm]] | None:
    """The random terms on the kept rows (levels renumbered); None when a structured term loses an
    inner level and with it a parameter (metafor's refit fails there)."""
    sigmas = []
    for t in res.layout.sigmas:
        codes, uniq = pd.factorize(t.codes[keep], sort=False)
        sigmas.append(SigmaTerm(t.name, codes.astype(np.intp), len(uniq),
                                lambda t=t, u=uniq: [t.levels[int(c)] for c in u]))
    structs = []
    for u in res.layout.structs:
        inner = u.inner_codes[keep]
        present = np.unique(inner)
        st = u.struct
        if len(present) < len(u.inner_levels):
            st = Struct(u.struct.name, len(present))
            if (st.n_tau2, st.n_rho) != (u.struct.n_tau2, u.struct.n_rho):
                return None
            inner = np.searchsorted(present, inner).astype(np.intp)
        outer, uniq = pd.factorize(u.outer_codes[keep], sort=False)
        structs.append(StructTerm(u.inner_name, u.outer_name, st, inner,
                                  [u.inner_levels[int(c)] for c in present], outer.astype(np.intp),
                                  [u.outer_levels[int(c)] for c in uniq]))
    return sigmas, structs


@dataclass(frozen=True)
class _Refit:
    beta: np.ndarray
    vb: np.ndarray
    theta: np.ndarray   # the components in metafor's terms
    ll: float


def refit_without(res: RMAMVResult, keep: np.ndarray, reestimate: bool = True) -> _Refit | None:
    """The fit of *res*'s model to the rows where *keep* is True (None where it cannot be fitted).

    The components start at (``reestimate=True``) or stay at (``False``) the full fit's
    estimates; fixed components stay fixed; a ``~ 1 | f`` component whose factor has one level
    left is fixed at 0 (as metafor does)."""
    X = res.X[keep]
    if X.shape[0] <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    terms = _sub_terms(res, keep)
    if terms is None:
        return None
    sigmas, structs = terms
    theta0 = np.asarray(res.theta, dtype=float)
    fixed = res.params.fixed.copy() if reestimate else theta0.copy()
    for j, t in enumerate(sigmas):
        if t.n_levels == 1 and np.isnan(fixed[j]):
            fixed[j] = 0.0
    params = Params(res.params.names, res.params.is_var, fixed)
    layout = Layout(res.yi[keep], X, res.V.subset(keep), sigmas, structs)
    start = np.where(np.isnan(fixed), theta0, fixed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theta, ev = maximize(layout, res.method == "REML", params, res.scale, start=start)
    except (BayesmaError, np.linalg.LinAlgError, ValueError):
        return None
    return _Refit(ev.beta, ev.vb, np.asarray(theta, dtype=float), float(ev.ll))


def _check(res: Any, what: str) -> RMAMVResult:
    if not isinstance(res, RMAMVResult):
        uni = {"cooks_distance": "the cook_d column", "dfbetas": ".dfbetas", "hatvalues": "the hat column",
               "rstudent": "the rstudent column", "rstandard": "the rstudent column"}.get(what, "its table")
        raise ArgumentTypeError(f"bm.{what} takes a fit of bm.rma_mv (metafor's {what.replace('_', '.')}.rma.mv); "
                                f"for a fit of bm.rma use bm.influence(res) ({uni}); got {type(res).__name__}")
    return res


class _Deletions:
    """The fits without each cluster, computed once and shared by the diagnostics.

    With the components re-estimated, each is a likelihood maximisation on the remaining rows
    (linear in their number). With the components held, no refit is needed: the marginal
    covariance is block diagonal, so deleting a cluster removes the contributions of its blocks to
    ``X'M^-1 X`` and ``X'M^-1 y`` and adds back those of the blocks' remaining rows -- the cost of a
    deletion is that of its own blocks, and all deletions together take time linear in k."""

    def __init__(self, res: RMAMVResult, clusters: _Clusters, reestimate: bool):
        self.res, self.clusters, self.reestimate = res, clusters, bool(reestimate)
        self._M: BlockDiag | None = None
        if self.reestimate:
            self.fits: list[_Refit | None] = []
            for rows in clusters.rows:
                keep = np.ones(res.k, dtype=bool)
                keep[rows] = False
                self.fits.append(refit_without(res, keep, True))
        else:
            self.fits = _downdated(res, clusters.rows, self.marginal)

    def marginal(self) -> BlockDiag:
        """M of the full fit (computed once)."""
        if self._M is None:
            self._M = self.res.marginal_vcov()
        return self._M

    def full_at(self, fit: _Refit) -> tuple[np.ndarray, BlockDiag]:
        """vb and M of the model on all effects at the components of *fit* (metafor's ``tmp``)."""
        res = self.res
        if not self.reestimate:
            return res.vb, self.marginal()
        internal = res.layout.internal(fit.theta)
        ev = res.layout.evaluate(internal, res.method == "REML")
        vb = ev.vb if ev is not None else np.full_like(res.vb, np.nan)
        return vb, res.layout.marginal(internal)


def _struct_level_lost(res: RMAMVResult, rows: np.ndarray, counts: list[np.ndarray]) -> bool:
    """Does deleting *rows* leave a structured term whose parameters depend on its inner levels
    without one of them (metafor's refit fails there)?"""
    for t, n in zip(res.layout.structs, counts):
        if t.struct.n_tau2 > 1 or t.struct.n_rho > 1:
            gone = np.bincount(t.inner_codes[rows], minlength=len(n))
            if np.any(n - gone == 0):
                return True
    return False


def _downdated(res: RMAMVResult, clusters: list[np.ndarray], marginal: Any) -> list[_Refit | None]:
    """beta and vb without each cluster at the full fit's components, by removing blocks' contributions."""
    M = marginal()
    blocks, brow = M.blocks, M.rows
    comp = np.empty(res.k, np.intp)
    for b, r in enumerate(brow):
        comp[r] = b
    X, y = res.X, res.yi
    Minv = [np.linalg.inv(B) for B in blocks]
    A_b = [X[r].T @ Mi @ X[r] for r, Mi in zip(brow, Minv)]
    u_b = [X[r].T @ Mi @ y[r] for r, Mi in zip(brow, Minv)]
    A, u = np.sum(A_b, axis=0), np.sum(u_b, axis=0)
    counts = [np.bincount(t.inner_codes, minlength=len(t.inner_levels)) for t in res.layout.structs]
    theta = np.asarray(res.theta, dtype=float)
    out: list[_Refit | None] = []
    for rows in clusters:
        keep = np.ones(res.k, dtype=bool)
        keep[rows] = False
        if res.k - len(rows) <= res.p or _struct_level_lost(res, rows, counts):
            out.append(None)
            continue
        Ac, uc = A.copy(), u.copy()
        for b in np.unique(comp[rows]):
            r = brow[b]
            Ac -= A_b[b]
            uc -= u_b[b]
            left = keep[r]
            if left.any():
                Mi = np.linalg.inv(blocks[b][np.ix_(left, left)])
                Ac += X[r[left]].T @ Mi @ X[r[left]]
                uc += X[r[left]].T @ Mi @ y[r[left]]
        if not _full_rank(Ac, A):
            out.append(None)
            continue
        vb = np.linalg.inv(Ac)
        out.append(_Refit(vb @ uc, 0.5 * (vb + vb.T), theta, np.nan))
    return out


def _full_rank(Ac: np.ndarray, A: np.ndarray) -> bool:
    """Is ``X_(-c)' M^-1 X_(-c)`` (= *Ac*) of full rank, i.e. every coefficient still estimable? A
    column that lost (nearly) all its weight, or columns that became collinear (the smallest
    eigenvalue of the scaled matrix), say no."""
    d = np.diag(Ac)
    if np.any(d <= 1e-10 * np.diag(A)):
        return False
    s = 1.0 / np.sqrt(d)
    return bool(np.linalg.eigvalsh(Ac * s[:, None] * s[None, :])[0] > 1e-10)


class _BlockIndex:
    """Where each row of a block-diagonal M sits, to read dense submatrices M[rows, rows] quickly."""

    def __init__(self, M: BlockDiag):
        n = M.shape[0]
        self.groups = list(M.groups())
        self.gi, self.bj, self.loc = np.empty(n, np.intp), np.empty(n, np.intp), np.empty(n, np.intp)
        for g_index, g in enumerate(self.groups):
            self.gi[g.rows] = g_index
            self.bj[g.rows] = np.arange(g.rows.shape[0])[:, None]
            self.loc[g.rows] = np.arange(g.rows.shape[1])[None, :]
        self.n = n

    def sub(self, rows: np.ndarray) -> np.ndarray:
        """The dense submatrix M[rows, rows]."""
        out = np.zeros((len(rows), len(rows)))
        key = self.gi[rows] * (self.n + 1) + self.bj[rows]
        for kk in np.unique(key):
            sel = np.flatnonzero(key == kk)
            r0 = rows[sel[0]]
            loc = self.loc[rows[sel]]
            out[np.ix_(sel, sel)] = self.groups[self.gi[r0]].mats[self.bj[r0]][np.ix_(loc, loc)]
        return out


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
        A column of the fitted data, or one value per effect (rows of the fit): each cluster is
        deleted as a whole. Default: each effect on its own.
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
        :func:`bayesma.influence`).
    InputError
        *cluster* is not a column, has the wrong length or a missing value.

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
    cl = _clusters(res, cluster, "cooks_distance")
    bt = list(range(res.p)) if btt is None else resolve_btt(btt, list(res.coef_names))
    svb = np.linalg.inv(res.vb[np.ix_(bt, bt)])
    dels = _Deletions(res, cl, reestimate)
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
        *res* is not a fit of :func:`bayesma.rma_mv`.
    InputError
        A bad *cluster*.

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
    cl = _clusters(res, cluster, "dfbetas")
    dels = _Deletions(res, cl, reestimate)
    out = np.full((len(cl.ids), res.p), np.nan)
    for i, fit in enumerate(dels.fits):
        if fit is not None:
            vb, _ = dels.full_at(fit)
            out[i] = (res.beta - fit.beta) / np.sqrt(np.diag(vb))
    return pd.DataFrame(out, index=_index(cl, res), columns=list(res.coef_names))


def hatvalues(res: RMAMVResult) -> pd.Series:
    """Leverages of the effects of an ``rma_mv`` fit: the diagonal of
    ``H = X (X'WX)^-1 X'W`` with ``W = M^-1`` (metafor's ``hatvalues.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.

    Returns
    -------
    pandas.Series
        One value per effect (index: the effect labels), 1 where it exceeds 1 - 10 eps.

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv`.

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
    """
    res = _check(res, "hatvalues")
    ev = res.layout.evaluate(res.layout.internal(res.theta), res.method == "REML")
    if ev is None:  # pragma: no cover - the fitted components give a positive definite M
        raise InputError("hatvalues: the marginal covariance is not positive definite at the estimates")
    h = np.empty(res.k)
    for g, (_, MiX, _) in zip(res.layout.groups, ev.parts):
        h[g.rows] = np.einsum("nsp,pq,nsq->ns", g.X, ev.vb, MiX)
    h[h > 1 - 10 * _EPS] = 1.0
    return pd.Series(h, index=pd.Index(list(res.data.labels), name="label"), name="hat")


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
        if self.cluster is not None:
            body += "\n\nBy cluster:\n" + self.cluster.to_string(float_format=fmt, max_rows=30)
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
        A column of the fitted data, or one value per effect: adds a test per cluster, ``X2 =
        e_c' Var(e_c)^-1 e_c``.

    Returns
    -------
    MVResiduals
        ``.obs``: ``resid = y - X beta``, ``se`` from ``Var(e) = M - X Var(beta) X'`` and ``z``;
        ``.cluster`` (with *cluster*): ``X2`` and ``k`` per cluster.

    Raises
    ------
    ArgumentTypeError
        *res* is not a fit of :func:`bayesma.rma_mv`.
    InputError
        A bad *cluster*.

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
    cl = _clusters(res, cluster, "rstandard")
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
        *res* is not a fit of :func:`bayesma.rma_mv`.
    InputError
        A bad *cluster*.

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
    cl = _clusters(res, cluster, "rstudent")
    dels = _Deletions(res, cl, reestimate)
    resid, se = np.full(res.k, np.nan), np.full(res.k, np.nan)
    x2 = np.full(len(cl.ids), np.nan)
    held = None if reestimate else _BlockIndex(dels.marginal())
    for i, (rows, fit) in enumerate(zip(cl.rows, dels.fits)):
        if fit is None:
            continue
        index = held if held is not None else _BlockIndex(dels.full_at(fit)[1])
        Xc = res.X[rows]
        r = res.yi[rows] - Xc @ fit.beta
        S = index.sub(rows) + Xc @ fit.vb @ Xc.T
        resid[rows], se[rows] = r, np.sqrt(np.diag(S))
        x2[i] = _x2(r, S, check_eigen=False)
    return _residuals(res, cl, resid, se, x2, "rstudent", bool(reestimate))
