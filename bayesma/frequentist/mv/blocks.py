"""A symmetric block-diagonal matrix that never materialises k x k.

:class:`BlockDiag` holds one dense block per cluster and the rows each block covers. The rows
stay in the data's order (a cluster's rows need not be contiguous); the blocks are listed in the
order in which their clusters first appear in the data (R's ``unique()``, metafor's order).
Internally the blocks are stacked by size, so the algebra of :mod:`~bayesma.frequentist.mv`
runs vectorised over all clusters of one size at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["BlockDiag", "SizeGroup"]


class SizeGroup:
    """All blocks of one size *s*: ``rows`` (n, s) row positions, ``mats`` (n, s, s) blocks and
    ``order`` (n,) the position of each block in the cluster order."""

    __slots__ = ("rows", "mats", "order")

    def __init__(self, rows: np.ndarray, mats: np.ndarray, order: np.ndarray):
        self.rows, self.mats, self.order = rows, mats, order

    @property
    def size(self) -> int:
        """Rows per block."""
        return int(self.rows.shape[1])


class BlockDiag:
    """A symmetric block-diagonal matrix stored block by block.

    Parameters
    ----------
    blocks : sequence of array_like
        One square block per cluster, in the cluster order.
    rows : sequence of array_like of int
        For each block, the (0-based) row positions it covers, in the data's order; every row
        0..n-1 belongs to exactly one block.
    clusters : sequence, optional
        Cluster labels, one per block (default 0, 1, ...).

    Attributes
    ----------
    shape : tuple of int
        (n, n).
    clusters : numpy.ndarray
        The cluster label of each block, in the order of first appearance in the data.

    Examples
    --------
    >>> from bayesma.frequentist.mv.blocks import BlockDiag
    >>> V = BlockDiag([[[2.0, 1.0], [1.0, 2.0]], [[3.0]]], rows=[[0, 2], [1]], clusters=["a", "b"])
    >>> V.toarray().tolist()
    [[2.0, 0.0, 1.0], [0.0, 3.0, 0.0], [1.0, 0.0, 2.0]]
    >>> V.diagonal().tolist()
    [2.0, 3.0, 2.0]
    """

    __array_priority__ = 20

    def __init__(self, blocks: Sequence[Any], rows: Sequence[Any], clusters: Sequence[Any] | None = None):
        mats = [np.atleast_2d(np.asarray(b, dtype=float)) for b in blocks]
        idx = [np.asarray(r, dtype=np.intp).ravel() for r in rows]
        if len(mats) != len(idx):
            raise ValueError(f"{len(mats)} blocks but {len(idx)} row sets")
        for j, (b, r) in enumerate(zip(mats, idx)):
            if b.shape != (len(r), len(r)):
                raise ValueError(f"block {j} has shape {b.shape} but covers {len(r)} rows")
        n = int(sum(len(r) for r in idx))
        allrows = np.concatenate(idx) if idx else np.zeros(0, np.intp)
        if n and not np.array_equal(np.sort(allrows), np.arange(n)):
            raise ValueError("the blocks' rows must cover 0..n-1, each row once")
        sizes = np.array([len(r) for r in idx], dtype=np.intp)
        groups = []
        for s in np.unique(sizes):
            sel = np.flatnonzero(sizes == s)
            groups.append(SizeGroup(np.stack([idx[j] for j in sel]), np.stack([mats[j] for j in sel]), sel))
        labels = np.arange(len(mats)) if clusters is None else np.asarray(list(clusters), dtype=object)
        self._init(groups, n, labels)

    def _init(self, groups: list[SizeGroup], n: int, clusters: np.ndarray) -> None:
        self._groups = groups
        self._n = n
        self.clusters = clusters

    @classmethod
    def from_groups(cls, groups: list[SizeGroup], n: int, clusters: Sequence[Any] | np.ndarray) -> BlockDiag:
        """Build from blocks already stacked by size (no copies, no checks)."""
        obj = cls.__new__(cls)
        obj._init(list(groups), int(n), np.asarray(clusters, dtype=object))
        return obj

    # -- structure ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """(n, n)."""
        return (self._n, self._n)

    @property
    def n_blocks(self) -> int:
        """The number of blocks (clusters)."""
        return int(sum(len(g.order) for g in self._groups))

    def groups(self) -> Iterator[SizeGroup]:
        """The blocks stacked by size (the form the vectorised algebra uses)."""
        return iter(self._groups)

    @property
    def blocks(self) -> list[np.ndarray]:
        """The blocks as a list of dense arrays, in the cluster order."""
        out: list[Any] = [None] * self.n_blocks
        for g in self._groups:
            for j, pos in enumerate(g.order):
                out[pos] = g.mats[j]
        return out

    @property
    def rows(self) -> list[np.ndarray]:
        """The row positions of each block, in the cluster order."""
        out: list[Any] = [None] * self.n_blocks
        for g in self._groups:
            for j, pos in enumerate(g.order):
                out[pos] = g.rows[j]
        return out

    def block_of_row(self) -> np.ndarray:
        """For each row, the position of its block in the cluster order, shape (n,)."""
        out = np.empty(self._n, dtype=np.intp)
        for g in self._groups:
            out[g.rows] = g.order[:, None]
        return out

    # -- conversions -------------------------------------------------------------------------

    def diagonal(self) -> np.ndarray:
        """The diagonal, shape (n,), in the data's order."""
        out = np.empty(self._n)
        for g in self._groups:
            out[g.rows] = np.diagonal(g.mats, axis1=1, axis2=2)
        return out

    def tocoo(self) -> sparse.coo_matrix:
        """As a scipy.sparse COO matrix (every entry of every block is stored)."""
        r, c, v = [], [], []
        for g in self._groups:
            s = g.size
            r.append(np.repeat(g.rows, s, axis=1).ravel())
            c.append(np.tile(g.rows, (1, s)).ravel())
            v.append(g.mats.reshape(len(g.order), -1).ravel())
        cat = (lambda a, t: np.concatenate(a) if a else np.zeros(0, t))  # noqa: E731
        return sparse.coo_matrix((cat(v, float), (cat(r, np.intp), cat(c, np.intp))), shape=self.shape)

    def tocsr(self) -> sparse.csr_matrix:
        """As a scipy.sparse CSR matrix."""
        return self.tocoo().tocsr()

    def toarray(self) -> np.ndarray:
        """As a dense (n, n) array (only for small n)."""
        out = np.zeros(self.shape)
        for g in self._groups:
            out[g.rows[:, :, None], g.rows[:, None, :]] = g.mats
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.toarray()
        return dense if dtype is None else dense.astype(dtype)

    # -- algebra ----------------------------------------------------------------------------

    def __matmul__(self, other: Any) -> np.ndarray:
        M = np.asarray(other, dtype=float)
        if M.shape[0] != self._n:
            raise ValueError(f"shapes {self.shape} and {M.shape} do not align")
        out = np.zeros_like(M, dtype=float)
        for g in self._groups:
            if M.ndim == 1:
                out[g.rows] = np.einsum("nij,nj->ni", g.mats, M[g.rows])
            else:
                out[g.rows] = np.einsum("nij,njp->nip", g.mats, M[g.rows])
        return out

    def map_blocks(self, fun: Any) -> BlockDiag:
        """A new BlockDiag with ``fun`` applied to each stack of same-size blocks (n, s, s)."""
        groups = [SizeGroup(g.rows, fun(g.mats), g.order) for g in self._groups]
        return BlockDiag.from_groups(groups, self._n, self.clusters)

    def subset(self, keep: Any) -> BlockDiag:
        """The rows and columns where *keep* (bool, shape (n,)) is True, renumbered 0..m-1;
        clusters left empty are dropped."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self._n,):
            raise ValueError(f"keep must have shape ({self._n},)")
        new_index = np.cumsum(keep) - 1
        kept = np.zeros(self.n_blocks, dtype=bool)
        for g in self._groups:
            kept[g.order] = keep[g.rows].any(axis=1)
        new_pos = np.cumsum(kept) - 1
        parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        for g in self._groups:  # whole blocks stay stacked: O(n) vectorised, not a loop per block
            sel = keep[g.rows]
            count = sel.sum(axis=1)
            whole = count == g.size
            if whole.any():
                parts.setdefault(g.size, []).append(
                    (new_index[g.rows[whole]], g.mats[whole], new_pos[g.order[whole]]))
            for j in np.flatnonzero((count > 0) & ~whole):
                sj = sel[j]
                parts.setdefault(int(count[j]), []).append(
                    (new_index[g.rows[j][sj]][None], g.mats[j][np.ix_(sj, sj)][None], new_pos[g.order[j : j + 1]]))
        groups = []
        for size in sorted(parts):
            rows, mats, order = (np.concatenate(a) for a in zip(*parts[size]))
            srt = np.argsort(order, kind="stable")
            groups.append(SizeGroup(rows[srt], mats[srt], order[srt]))
        return BlockDiag.from_groups(groups, int(keep.sum()), self.clusters[kept])

    def __repr__(self) -> str:
        sizes = [g.size for g in self._groups for _ in g.order]
        lo, hi = (min(sizes), max(sizes)) if sizes else (0, 0)
        return (f"BlockDiag(shape={self.shape}, blocks={self.n_blocks}, block sizes {lo}-{hi}; "
                "rows in the data's order, blocks in the order clusters first appear)")
