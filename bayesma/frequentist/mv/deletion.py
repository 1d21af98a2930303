"""Refits of an :func:`~bayesma.frequentist.mv.rma_mv` model without one cluster of effects at a time,
the machinery behind :mod:`bayesma.frequentist.mv.influence` (metafor's ``*.rma.mv`` influence methods).

A cluster (``cluster=``: a column or one value per effect; default every effect on its own) leaves
with its rows and columns of ``V`` and its levels of the random factors. :func:`refit_without`
re-maximises the likelihood on the remaining rows starting at the full fit's estimates (linear in
their number); with the components held, :class:`_Deletions` needs no refit: deleting a cluster
removes its blocks' contributions to ``X'M^-1 X`` and ``X'M^-1 y`` (all deletions linear in k).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import align_to_studies
from bayesma.errors import ArgumentTypeError, BayesmaError, InputError
from bayesma.frequentist.mv.blocks import BlockDiag
from bayesma.frequentist.mv.likelihood import Layout
from bayesma.frequentist.mv.optimize import Params, maximize
from bayesma.frequentist.mv.random import SigmaTerm, StructTerm
from bayesma.frequentist.mv.result import RMAMVResult
from bayesma.frequentist.mv.structs import Struct

__all__ = ["deletions", "refit_without"]


# ---------------------------------------------------------------------------------------------
# clusters


@dataclass(frozen=True)
class _Clusters:
    """The clusters to delete: their labels (sorted as R's ``order(ids)``) and rows (of the fit)."""

    name: str | None            # the column's name (None: every effect its own cluster)
    ids: list[Any]              # sorted labels
    rows: list[np.ndarray]      # row positions of each, in the fit's order
    of_row: np.ndarray | None   # the cluster label of each row (None without cluster=)


def _sort_key(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _clusters(res: RMAMVResult, cluster: Any, what: str, deletes: bool = True) -> _Clusters:
    """The partition of the fitted effects by *cluster* (None: each effect its own); *deletes*: the
    clusters are to be deleted, so one cluster holding every effect is refused."""
    k = res.k
    if cluster is None:
        return _Clusters(None, list(res.data.labels), [np.array([i]) for i in range(k)], None)
    frame = res.data.data
    cols = [] if frame is None else [str(c) for c in frame.columns]
    _check_cluster_kind(cluster, cols, what)
    if isinstance(cluster, str):
        if cluster not in cols:
            where = (f"columns are {cols}" if cols else "the model was fitted without data=, so give the "
                     "cluster of each effect as values (one per effect)")
            raise InputError(f"{what}: cluster={cluster!r} is not a column of the data the model was fitted to; "
                             f"{where}", column=cluster)
        values, name = frame[cluster].to_numpy(dtype=object), cluster
    elif isinstance(cluster, pd.Series) and getattr(res.data, "row_index", None) is not None:
        # a Series pairs with the fitted rows by its index (it may hold the dropped rows too), never by position
        name = cluster.name or "cluster"
        values = np.asarray(align_to_studies(cluster, res.data.row_index, str(name)), dtype=object).ravel()
    else:
        values = np.asarray(cluster.to_numpy() if isinstance(cluster, pd.Series) else cluster, dtype=object).ravel()
        name = getattr(cluster, "name", None) or "cluster"
        values = _fitted_rows(res, values, str(name), what)
    missing = pd.isna(pd.Series(values, dtype=object)).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(f"{what}: the cluster of effect {res.data.labels[i]!r} (row {i + 1} of the fit) is missing",
                         study=str(res.data.labels[i]), row=i + 1, column=str(name))
    values = np.array([v.item() if isinstance(v, np.generic) else v for v in values], dtype=object)
    codes, levels = pd.factorize(pd.Series(values, dtype=object), sort=False)
    if deletes and len(levels) < 2:
        raise InputError(f"{what}: cluster= puts all {k} effects in one cluster ({levels[0]!r}); deleting it leaves "
                         "no data to refit: give a column whose values group the effects into several clusters "
                         "(e.g. the study)", column=str(name))
    ids = _sort_key(list(levels))
    position = {v: j for j, v in enumerate(levels)}
    rows = [np.flatnonzero(codes == position[v]) for v in ids]
    return _Clusters(str(name), ids, rows, values)


def _check_cluster_kind(cluster: Any, cols: list[str], what: str) -> None:
    """cluster= is a column name or one value per effect (1-d): a table, a mapping or a single value is
    an :class:`~bayesma.errors.ArgumentTypeError` naming it."""
    if isinstance(cluster, str):
        return
    hint = "cluster= takes a column name of the data or one cluster value per effect (a 1-d array or Series)"
    if isinstance(cluster, pd.DataFrame):
        raise ArgumentTypeError(f"{what}: {hint}; got a DataFrame with {cluster.shape[1]} columns: pass one column, "
                                f"e.g. cluster={str(cluster.columns[0])!r}")
    if isinstance(cluster, (dict, set)) or np.ndim(cluster) != 1:
        got = f"a {np.ndim(cluster)}-d array" if isinstance(cluster, np.ndarray) else f"{type(cluster).__name__} {cluster!r:.60}"
        raise ArgumentTypeError(f"{what}: {hint}; got {got}")
    if len(cluster) == 1 and isinstance(list(cluster)[0], str) and list(cluster)[0] in cols:
        raise ArgumentTypeError(f"{what}: {hint}; got a list of one column name: write cluster={list(cluster)[0]!r}")


def _fitted_rows(res: RMAMVResult, values: np.ndarray, name: str, what: str) -> np.ndarray:
    """The cluster values of the fitted effects: *values* has one per row of the data passed to
    ``rma_mv`` (as metafor's ``cluster=``; the rows dropped for missing values are left out, and
    none may be missing, as in metafor) or one per fitted effect."""
    k, not_na = res.k, res.not_na
    if values.shape[0] == k:
        return values
    if not_na is not None and values.shape[0] == not_na.shape[0]:
        missing = np.flatnonzero(pd.isna(pd.Series(values, dtype=object)).to_numpy())
        if missing.size:
            i = int(missing[0])
            raise InputError(f"{what}: the cluster of row {i + 1} of the data is missing (metafor refuses a missing "
                             "cluster value also on a row dropped from the fit)", row=i + 1, column=name)
        return values[not_na]
    rows = "" if not_na is None else f" or one per row of the data ({not_na.shape[0]})"
    raise InputError(f"{what}: cluster= has {values.shape[0]} values but the model has {k} effects (one value per "
                     f"fitted effect{rows})", column=name)


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


class _Deletions:
    """The fits without each cluster, computed once per fit and partition and shared by the diagnostics
    (:func:`deletions` keeps them while the fit lives).

    With the components re-estimated, each is a likelihood maximisation on the remaining rows
    (linear in their number). With the components held, no refit is needed: the marginal
    covariance is block diagonal, so deleting a cluster removes the contributions of its blocks to
    ``X'M^-1 X`` and ``X'M^-1 y`` and adds back those of the blocks' remaining rows -- the cost of a
    deletion is that of its own blocks, and all deletions together take time linear in k. What the
    diagnostics derive from a deleted fit (the full model's ``Var(beta)`` and the cluster's block of
    ``M`` at its components) is computed on first use and kept too."""

    def __init__(self, res: RMAMVResult, clusters: _Clusters, reestimate: bool):
        self._res = weakref.ref(res)  # kept beside the fit (deletions()): no reference back to it
        self.clusters, self.reestimate = clusters, bool(reestimate)
        self._M: BlockDiag | None = None
        self._vb: dict[int, np.ndarray] = {}
        self._Mc: dict[int, np.ndarray] = {}
        self._held: _BlockIndex | None = None
        if self.reestimate:
            self.fits: list[_Refit | None] = []
            for rows in clusters.rows:
                keep = np.ones(res.k, dtype=bool)
                keep[rows] = False
                self.fits.append(refit_without(res, keep, True))
        else:
            self.fits = _downdated(res, clusters.rows, self.marginal)

    @property
    def res(self) -> RMAMVResult:
        """The full fit (alive while a diagnostic uses these deletions)."""
        res = self._res()
        assert res is not None, "the fit of these deletions is gone"
        return res

    def marginal(self) -> BlockDiag:
        """M of the full fit (computed once)."""
        if self._M is None:
            self._M = self.res.marginal_vcov()
        return self._M

    def vb_full(self, i: int) -> np.ndarray:
        """vb of the model on all effects at the components of deleted fit *i* (metafor's ``tmp``)."""
        if i not in self._vb:
            res, fit = self.res, self.fits[i]
            if not self.reestimate or fit is None:
                self._vb[i] = res.vb
            else:
                ev = res.layout.evaluate(res.layout.internal(fit.theta), res.method == "REML")
                self._vb[i] = ev.vb if ev is not None else np.full_like(res.vb, np.nan)
        return self._vb[i]

    def marginal_block(self, i: int) -> np.ndarray:
        """M[rows, rows] of cluster *i* at the components of deleted fit *i* (the full fit's when held)."""
        if i not in self._Mc:
            res, fit, rows = self.res, self.fits[i], self.clusters.rows[i]
            if not self.reestimate or fit is None:
                if self._held is None:
                    self._held = _BlockIndex(self.marginal())
                self._Mc[i] = self._held.sub(rows)
            else:
                self._Mc[i] = _BlockIndex(res.layout.marginal(res.layout.internal(fit.theta))).sub(rows)
        return self._Mc[i]


# the deletions of each live fit, by partition and reestimate= (results are immutable once built)
_CACHE: dict[int, tuple[weakref.ref, tuple[int, ...], dict[Any, _Deletions]]] = {}


def _fingerprint(res: RMAMVResult) -> tuple[int, ...]:
    """The identities of what a refit reads: a fit whose fields were reassigned is not served stale refits."""
    return tuple(id(getattr(res, a)) for a in ("yi", "X", "V", "theta", "params", "layout", "vb", "beta"))


def _partition_key(clusters: _Clusters, reestimate: bool) -> Any:
    ids = tuple((type(v).__name__, v) for v in clusters.ids)
    return bool(reestimate), ids, tuple(r.tobytes() for r in clusters.rows)


def deletions(res: RMAMVResult, clusters: _Clusters, reestimate: bool) -> _Deletions:
    """The fits of *res* without each of *clusters*, computed once per (fit, partition, reestimate)
    and shared by :func:`~bayesma.cooks_distance`, :func:`~bayesma.dfbetas` and
    :func:`~bayesma.rstudent` for as long as *res* lives."""
    try:
        key = _partition_key(clusters, reestimate)
        hash(key)
    except TypeError:  # pragma: no cover - ids that cannot be hashed: no sharing
        return _Deletions(res, clusters, reestimate)
    entry = _CACHE.get(id(res))
    if entry is None or entry[0]() is not res or entry[1] != _fingerprint(res):
        def forget(ref: weakref.ref, i: int = id(res), cache: dict = _CACHE) -> None:
            if cache.get(i, (None,))[0] is ref:  # (the module's globals may be gone at exit)
                del cache[i]
        entry = (weakref.ref(res, forget), _fingerprint(res), {})
        _CACHE[id(res)] = entry
    store = entry[2]
    if key not in store:
        store[key] = _Deletions(res, clusters, reestimate)
    return store[key]


def _clear_cache() -> None:
    """Forget every kept deletion (for benchmarks)."""
    _CACHE.clear()


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
