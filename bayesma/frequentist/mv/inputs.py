"""The known sampling covariance ``V`` of :func:`~bayesma.frequentist.mv.rma_mv`: read it in any
of metafor's forms, drop the rows with missing values, and check it.

``V`` may be a column name or a vector of sampling variances (a diagonal V), a dense matrix
(numpy array or DataFrame), a scipy.sparse matrix, a :class:`~bayesma.frequentist.mv.blocks.BlockDiag`
(from :func:`~bayesma.frequentist.mv.vcalc`) or a list of blocks (stacked in order, as metafor's
``bldiag``). Dense and sparse matrices are split into the connected blocks of their non-zero pattern.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from bayesma._validate import column, study_name
from bayesma.errors import InputError
from bayesma.frequentist.mv.blocks import BlockDiag, SizeGroup
from bayesma.frequentist.mv.vcalc import cluster_groups

__all__ = ["as_blockdiag", "check_V", "diagonal_V"]


def diagonal_V(vi: np.ndarray) -> BlockDiag:
    """A diagonal V (independent sampling errors) as 1 x 1 blocks."""
    vi = np.asarray(vi, dtype=float)
    k = len(vi)
    return BlockDiag.from_groups([SizeGroup(np.arange(k)[:, None], vi[:, None, None], np.arange(k))],
                                 k, list(range(k)))


def _from_matrix(mat: sparse.spmatrix) -> BlockDiag:
    csr = sparse.csr_matrix(mat, dtype=float)
    k = csr.shape[0]
    pattern = (csr != 0).astype(float) + sparse.eye(k)
    n, comp = csgraph.connected_components(pattern, directed=False)
    _, first = np.unique(comp, return_index=True)
    rank = np.empty(n, np.intp)
    rank[np.argsort(first)] = np.arange(n)
    comp = rank[comp]
    groups = []
    for order, rows in cluster_groups(comp, n):
        s = rows.shape[1]
        sub = csr[rows.ravel()][:, rows.ravel()].toarray()  # (n s) x (n s), then the diagonal blocks
        idx = np.arange(len(order))[:, None] * s + np.arange(s)[None, :]
        groups.append(SizeGroup(rows, sub[idx[:, :, None], idx[:, None, :]], order))
    return BlockDiag.from_groups(groups, k, list(range(n)))


def as_blockdiag(V: Any, data: pd.DataFrame | None, k: int) -> tuple[BlockDiag, bool]:
    """*V* as a BlockDiag over k rows, and whether it was given as variances (a vector).

    Raises
    ------
    ValueError
        V has the wrong size or is not square.
    """
    if isinstance(V, BlockDiag):
        out, vector = V, False
    elif sparse.issparse(V):
        out, vector = _from_matrix(V), False
    elif isinstance(V, (list, tuple)) and len(V) and np.ndim(V[0]) == 2:
        sizes = [np.shape(b)[0] for b in V]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        if sum(sizes) != k:
            raise InputError(f"the blocks of V cover {sum(sizes)} rows but there are {k} effects")
        out, vector = BlockDiag(list(V), [np.arange(a, a + s) for a, s in zip(starts, sizes)]), False
    else:
        values = column(data, V, "V") if isinstance(V, str) else V
        arr = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.DataFrame)) else values, dtype=float)
        if arr.ndim <= 1:
            out, vector = diagonal_V(np.atleast_1d(arr)), True
        elif arr.ndim == 2:
            if arr.shape[0] != arr.shape[1]:
                raise InputError(f"V must be a square matrix, got {arr.shape[0]} x {arr.shape[1]}")
            out, vector = _from_matrix(sparse.csr_matrix(arr)), False
        else:
            raise InputError("V must be a vector of variances or a k x k matrix")
    if out.shape[0] != k:
        raise InputError(f"V is {out.shape[0]} x {out.shape[0]} but there are {k} effects (yi)")
    return out, vector


def check_V(V: BlockDiag, labels: Sequence[str] | None, vi: Any = None, vi_name: str = "vi") -> None:
    """Refuse a V that is not symmetric positive semi-definite, or whose diagonal differs from *vi*.

    Raises
    ------
    ValueError
        Naming the first offending study (label and row).
    """
    bad_rows: list[tuple[int, str]] = []
    for g in V.groups():
        M = g.mats
        scale = np.maximum(np.abs(M).max(axis=(1, 2)), np.finfo(float).tiny)
        diff = np.abs(M - np.swapaxes(M, 1, 2)) > 1e-10 * scale[:, None, None]
        asym = diff.any(axis=(1, 2))
        for j in np.flatnonzero(asym):
            local = np.flatnonzero(diff[j].any(axis=1))
            bad_rows.append((int(g.rows[j][local].min()), "V is not symmetric"))
        ok = ~asym & np.isfinite(M).all(axis=(1, 2))
        if ok.any():
            ev = np.linalg.eigvalsh(0.5 * (M[ok] + np.swapaxes(M[ok], 1, 2)))
            neg = ev.min(axis=1) < -1e-10 * scale[ok]
            for j in np.flatnonzero(ok)[neg]:
                bad_rows.append((int(g.rows[j].min()), "V is not positive semi-definite (its block of rows "
                                 f"{', '.join(str(int(r) + 1) for r in sorted(g.rows[j]))})"))
        for j in np.flatnonzero(~np.isfinite(M).all(axis=(1, 2))):
            bad_rows.append((int(g.rows[j].min()), "V has a non-finite value"))
    diag = V.diagonal()
    for i in np.flatnonzero(diag < 0):
        bad_rows.append((int(i), f"V has a negative variance {diag[i]:g} on its diagonal"))
    if vi is not None:
        vi = np.asarray(vi, dtype=float)
        if vi.shape != diag.shape:
            raise InputError(f"{vi_name} has {len(vi)} values but V is {len(diag)} x {len(diag)}")
        diff = np.abs(diag - vi) > 1e-8 * np.maximum(np.abs(vi), 1e-300)
        for i in np.flatnonzero(diff):
            bad_rows.append((int(i), f"the diagonal of V ({diag[i]:g}) differs from {vi_name} ({vi[i]:g})"))
    if bad_rows:
        row, what = min(bad_rows)
        names = list(labels) if labels is not None else None
        raise InputError(f"{what} at {study_name(names, row)}", study=None if names is None else str(names[row]),
                         row=row + 1, column="V")
