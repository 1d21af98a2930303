"""The working model of a fitted meta-analysis, cut into blocks by cluster.

Cluster-robust (sandwich) variances need, from a fit: the design matrix ``X``,
the effects ``yi``, the estimates ``beta`` and the fitted marginal covariance
of the effects, ``V + Z G Z'``, which is the working model whose inverse
weighted the estimates (clubSandwich's ``targetVariance``). For an ``rma`` fit
it is ``diag(vi + tau2)``; for an ``rma_mv`` fit it is block diagonal and comes
from ``res.marginal_vcov()`` (a block-diagonal or ``scipy.sparse`` matrix).

:func:`working_model` gathers these once and splits the covariance into one
dense block per cluster, stored as stacked arrays for all clusters of the same
size, so that every later step is a batched numpy operation over clusters: no
k x k matrix and no Python loop over clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from bayesma._validate import column, stripped_ids
from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["Group", "WorkingModel", "working_model", "cluster_codes"]


@dataclass(frozen=True)
class Group:
    """All clusters with ``s`` effects: their codes, row indices (c, s) and covariance blocks (c, s, s)."""

    clusters: np.ndarray
    rows: np.ndarray
    theta: np.ndarray


@dataclass(frozen=True)
class WorkingModel:
    """What a sandwich estimator needs from a fit, blocked by cluster."""

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    coef_names: list[str]
    levels: np.ndarray
    groups: list[Group]
    btt: list[int]
    level: float

    @property
    def k(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def J(self) -> int:
        """Number of clusters."""
        return len(self.levels)

    @property
    def resid(self) -> np.ndarray:
        return self.y - self.X @ self.beta

    def sizes(self) -> np.ndarray:
        """Number of effects in each cluster, in the order of ``levels``."""
        n = np.zeros(self.J, dtype=int)
        for g in self.groups:
            n[g.clusters] = g.rows.shape[1]
        return n


def _fit_arrays(res: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = getattr(res, "X", None)
    md = getattr(res, "data", None)
    y = getattr(res, "yi", None)
    if y is None and md is not None:
        y = md.yi
    if X is None or y is None or getattr(res, "beta", None) is None:
        raise ArgumentTypeError(
            f"cluster-robust inference needs a fitted rma or rma_mv result (with X, yi and beta), "
            f"got {type(res).__name__}"
        )
    return np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(res.beta, dtype=float).ravel()


def marginal_covariance(res: Any) -> sparse.coo_matrix:
    """The fitted marginal covariance of the effects as a sparse k x k matrix (never dense).

    ``res.marginal_vcov()`` when the fit has it (``rma_mv``: V + Z G Z'); ``diag(vi + tau2)`` for an
    ``rma`` fit (clubSandwich's working model for ``rma.uni``).
    """
    if hasattr(res, "marginal_vcov"):
        M = res.marginal_vcov()
        if sparse.issparse(M) or hasattr(M, "tocoo"):  # scipy.sparse, or a block-diagonal object
            return M.tocoo()
        return sparse.coo_matrix(np.asarray(M, dtype=float))
    md = res.data
    if hasattr(res, "tau2") and np.ndim(res.tau2) == 0:
        return sparse.coo_matrix(sparse.diags(np.asarray(md.vi, dtype=float) + float(res.tau2)))
    raise ArgumentTypeError(f"cannot find the fitted marginal covariance of a {type(res).__name__}")


def model_cluster(res: Any) -> np.ndarray | None:
    """The outermost grouping factor of the model's random effects, when the fit records it."""
    outer = getattr(res, "cluster_ids", None)
    if outer is not None:
        return np.asarray(outer, dtype=object)
    md = getattr(res, "data", None)
    cl = getattr(md, "cluster", None)
    return None if cl is None else np.asarray(cl, dtype=object)


def cluster_codes(res: Any, cluster: Any, k: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Cluster of each effect: (levels, codes 0..J-1, name) from a column name of the fit's data or an array."""
    if cluster is None:
        values = model_cluster(res)
        if values is None:
            raise InputError(
                "give cluster= (a column name of the data or an array with one value per effect): "
                "the clusters (studies) whose effects may be correlated"
            )
        name = "cluster"
    else:
        md = getattr(res, "data", None)
        frame = getattr(md, "data", None)
        if isinstance(cluster, str):
            if frame is None or cluster not in frame.columns:
                cols = [] if frame is None else list(frame.columns)
                raise InputError(f"cluster column {cluster!r} is not in the data of the fit; columns are {cols}")
            values = frame[cluster].to_numpy()
        else:
            values = np.asarray(column(None, cluster, "cluster"), dtype=object).ravel()
        name = cluster if isinstance(cluster, str) else "cluster"
    if len(values) != k:
        raise InputError(
            f"cluster {name!r} has {len(values)} values but the model has {k} effects (after leaving out "
            "rows with missing values); give a column name of the data, or one value per effect of the fit"
        )
    missing = pd.isna(pd.Series(values))
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(f"cluster {name!r}: row {i + 1} of the fit has a missing cluster", row=i + 1, column=name)
    values = stripped_ids(values, f"cluster {name!r}", stacklevel=5)
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # mixed types: sort by their text
        codes, uniques = pd.factorize(np.asarray([str(v) for v in values]), sort=True)
    text = [str(u) for u in uniques]
    if len(set(text)) < len(text):  # e.g. 1 and "1": one cluster, as R's factor() would make it
        codes, uniques = pd.factorize(np.asarray(text)[codes], sort=True)
        text = [str(u) for u in uniques]
    return np.asarray(text, dtype=object), codes.astype(np.intp), name


def _label(res: Any, i: int) -> str:
    labels = getattr(getattr(res, "data", None), "labels", None)
    if labels is not None and len(labels) > i:
        return f"effect {labels[i]!r} (row {i + 1})"
    return f"row {i + 1}"


def _check_nested(res: Any, codes: np.ndarray, levels: np.ndarray, name: str) -> None:
    """Each independent group of the model (e.g. a study) must lie in one cluster: checked on the model's
    structure, so that a variance component estimated at 0 does not hide a split study."""
    outer = model_cluster(res)
    if outer is None or len(outer) != len(codes):
        return
    groups, gid = np.unique(np.asarray([str(v) for v in outer]), return_inverse=True)
    first = np.full(len(groups), -1, dtype=np.intp)
    first[gid[::-1]] = np.arange(len(gid))[::-1]  # the first row of each group
    split = np.flatnonzero(codes != codes[first[gid]])
    if len(split):
        i = int(split[0])
        j = int(first[gid[i]])
        raise InputError(
            f"cluster {name!r} is not constant within study {str(groups[gid[i]])!r} of the model: {_label(res, j)} is in "
            f"cluster {levels[codes[j]]!r} and {_label(res, i)} in {levels[codes[i]]!r}; the model's random effects "
            "must be nested within the clusters of the robust variance",
            study=str(groups[gid[i]]), row=i + 1, column=name,
        )


def _blocks(res: Any, M: sparse.coo_matrix, codes: np.ndarray, levels: np.ndarray, name: str) -> list[Group]:
    """Split M into dense per-cluster blocks, stacked by cluster size (one scatter, no loop over clusters)."""
    k = len(codes)
    J = len(levels)
    size = np.bincount(codes, minlength=J)
    # clusters ordered by (size, code); rows ordered by their cluster's place, then by row
    corder = np.lexsort((np.arange(J), size))
    rank = np.empty(J, dtype=np.intp)
    rank[corder] = np.arange(J)
    rorder = np.lexsort((np.arange(k), rank[codes]))
    start = np.zeros(J, dtype=np.intp)
    start[corder] = np.concatenate(([0], np.cumsum(size[corder])[:-1]))
    pos = np.empty(k, dtype=np.intp)
    pos[rorder] = np.arange(k) - start[codes[rorder]]
    # flat storage of all blocks: cluster c's block begins at off[c]
    off = np.zeros(J, dtype=np.intp)
    off[corder] = np.concatenate(([0], np.cumsum(size[corder] ** 2)[:-1]))
    i, j, v = M.row, M.col, M.data
    nz = v != 0
    i, j, v = i[nz], j[nz], v[nz]
    cross = codes[i] != codes[j]
    if cross.any():
        lo, hi = np.minimum(i[cross], j[cross]), np.maximum(i[cross], j[cross])
        first = np.lexsort((hi, lo))[0]  # the first offending pair of rows
        r1, r2 = int(lo[first]), int(hi[first])
        raise InputError(
            f"cluster {name!r} is not constant within a cluster of the model: {_label(res, r1)} and "
            f"{_label(res, r2)} are correlated in the model (same study of its random effects or of V) but "
            f"are in clusters {levels[codes[r1]]!r} and {levels[codes[r2]]!r}; the model's random effects "
            "must be nested within the clusters of the robust variance"
        )
    ci = codes[i]
    flat = np.bincount(off[ci] + pos[i] * size[ci] + pos[j], weights=v, minlength=int(np.sum(size.astype(np.int64) ** 2)))
    groups = []
    for s in np.unique(size):
        cl = corder[size[corder] == s]
        c = len(cl)
        theta = flat[off[cl[0]]: off[cl[0]] + c * s * s].reshape(c, s, s)
        rows = rorder[start[cl[0]]: start[cl[0]] + c * s].reshape(c, s)
        groups.append(Group(clusters=cl, rows=rows, theta=theta))
    return groups


def working_model(res: Any, cluster: Any = None) -> WorkingModel:
    """Gather X, y, beta and the per-cluster blocks of the fitted marginal covariance of *res*.

    Raises
    ------
    ValueError
        For a cluster variable of the wrong length, with missing values, with fewer than two
        clusters, or not constant within a cluster of the model's random effects.
    TypeError
        For an object that is not a fitted rma or rma_mv result.
    """
    X, y, beta = _fit_arrays(res)
    k = X.shape[0]
    levels, codes, name = cluster_codes(res, cluster, k)
    if len(levels) < 2:
        raise InputError(
            f"cluster {name!r} has a single cluster ({levels[0]!r}): cluster-robust inference needs at least two"
        )
    if cluster is not None:
        _check_nested(res, codes, levels, name)
    M = marginal_covariance(res)
    if M.shape != (k, k):
        raise InputError(f"the marginal covariance has shape {M.shape}, expected ({k}, {k})")
    groups = _blocks(res, M, codes, levels, name)
    btt = list(getattr(res, "btt", None) or range(X.shape[1]))
    return WorkingModel(X=X, y=y, beta=beta, coef_names=list(res.coef_names), levels=levels, groups=groups,
                        btt=btt, level=float(getattr(res, "level", 0.95)))
