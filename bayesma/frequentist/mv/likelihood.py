"""The (restricted) log likelihood of :func:`~bayesma.frequentist.mv.rma_mv` and its gradient,
block by block.

The marginal covariance ``M = V + sum_t sigma2_t Z_t Z_t' + sum_s Z_s (I (x) G_s) Z_s'`` is block
diagonal over the connected groups of rows: rows joined by a block of V, a level of any
``~ 1 | f`` term or an outer level of any ``~ inner | outer`` term (for a CHE model, the
studies). :class:`Layout` finds the groups once and stacks them by size; every evaluation then
runs vectorised over all groups of one size (batched Cholesky and inverse), so nothing k x k is
ever formed. With ``P = M^-1 - M^-1 X (X'M^-1 X)^-1 X'M^-1`` and ``D_j = dM/dtheta_j``:

    ll_ML   = -1/2 (k log 2 pi + log|M| + r'M^-1 r)
    ll_REML = -1/2 ((k - p) log 2 pi - log|X'X| + log|M| + log|X'M^-1 X| + r'M^-1 r)
    d ll / d theta_j = -1/2 tr(P D_j) + 1/2 y'P D_j P y   (M^-1 for P under ML)

(metafor's constants, ``REMLf = TRUE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from bayesma.frequentist.mv.blocks import BlockDiag, SizeGroup
from bayesma.frequentist.mv.random import SigmaTerm, StructTerm
from bayesma.frequentist.mv.vcalc import cluster_groups

__all__ = ["Layout", "Evaluation"]

_LOG2PI = float(np.log(2 * np.pi))
_CUSTOM_MAX = 8  # blocks up to this size use the batched Cholesky written here


def _components(k: int, groupings: list[np.ndarray]) -> np.ndarray:
    """Connected groups of rows: rows sharing a code in any grouping are joined."""
    r, c = [], []
    for codes in groupings:
        order = np.argsort(codes, kind="stable")
        same = codes[order][1:] == codes[order][:-1]
        r.append(order[:-1][same])
        c.append(order[1:][same])
    rr = np.concatenate(r) if r else np.zeros(0, np.intp)
    cc = np.concatenate(c) if c else np.zeros(0, np.intp)
    graph = sparse.coo_matrix((np.ones(len(rr)), (rr, cc)), shape=(k, k))
    _, labels = csgraph.connected_components(graph, directed=False)
    # renumber by first appearance
    _, first = np.unique(labels, return_index=True)
    rank = np.empty(len(first), np.intp)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[labels]


@dataclass
class _Group:
    rows: np.ndarray          # (n, s)
    order: np.ndarray         # (n,) component ids
    V: np.ndarray             # (n, s, s)
    y: np.ndarray             # (n, s)
    X: np.ndarray             # (n, s, p)
    E: list[Any]              # per sigma term: (n, s, s) indicators, or "eye" / "ones"
    S: list[tuple[np.ndarray, np.ndarray]]  # per struct term: outer mask (n, s, s), inner codes (n, s)


@dataclass
class Evaluation:
    """The likelihood pieces at one theta (``grad`` only when asked for)."""

    ll: float
    ll_ml: float
    ll_reml: float
    beta: np.ndarray
    vb: np.ndarray
    rss: float
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per group: M^-1, M^-1 X, P y
    grad: np.ndarray | None = None
    info: np.ndarray | None = None
    quad: np.ndarray | None = None


class Layout:
    """The block structure of one model: rows grouped into independent blocks, stacked by size."""

    def __init__(self, y: np.ndarray, X: np.ndarray, V: BlockDiag, sigmas: list[SigmaTerm],
                 structs: list[StructTerm]):
        k, p = X.shape
        self.k, self.p = k, p
        self.sigmas, self.structs = sigmas, structs
        groupings = [V.block_of_row()] + [t.codes for t in sigmas] + [t.outer_codes for t in structs]
        comp = _components(k, groupings)
        self.component = comp
        self.n_components = int(comp.max()) + 1 if k else 0
        gs = cluster_groups(comp, self.n_components)
        # where each component sits: (group index, index within group), and each row's local position
        where_g = np.empty(self.n_components, np.intp)
        where_i = np.empty(self.n_components, np.intp)
        local = np.empty(k, np.intp)
        for gi, (order, rows) in enumerate(gs):
            where_g[order], where_i[order] = gi, np.arange(len(order))
            local[rows] = np.arange(rows.shape[1])[None, :]
        Vm = [np.zeros((len(o), r.shape[1], r.shape[1])) for o, r in gs]
        for vg in V.groups():
            comp_b = comp[vg.rows[:, 0]]
            gi, ii = where_g[comp_b], where_i[comp_b]
            la = local[vg.rows]
            for g in np.unique(gi):
                sel = gi == g
                Vm[g][ii[sel][:, None, None], la[sel][:, :, None], la[sel][:, None, :]] = vg.mats[sel]
        self.groups = []
        for (order, rows), Vg in zip(gs, Vm):
            eq = lambda c: (c[rows][:, :, None] == c[rows][:, None, :]).astype(float)  # noqa: E731
            self.groups.append(_Group(rows, order, Vg, y[rows], X[rows], [_kind(eq(t.codes)) for t in sigmas],
                                      [(eq(t.outer_codes), t.inner_codes[rows]) for t in structs]))
        sign, logdet_xtx = np.linalg.slogdet(X.T @ X)
        self.logdet_xtx = float(logdet_xtx)
        sd = [np.zeros(len(sigmas), bool)]
        for t in structs:
            sd += [np.full(t.struct.n_tau2, t.struct.sd_scale), np.zeros(t.struct.n_rho, bool)]
        self.sd_mask = np.concatenate(sd)

    # -- parameters: theta (internal; standard deviations where sd_mask) and metafor's values ---

    def public(self, theta: np.ndarray) -> np.ndarray:
        """Internal parameters -> metafor's (variances, correlations)."""
        out = np.array(theta, dtype=float)
        out[self.sd_mask] = out[self.sd_mask] ** 2
        return out

    def internal(self, values: np.ndarray) -> np.ndarray:
        """metafor's values -> internal parameters."""
        out = np.array(values, dtype=float)
        out[self.sd_mask] = np.sqrt(out[self.sd_mask])
        return out

    # -- theta -> M ---------------------------------------------------------------------------

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Internal theta -> (sigma2, [(tau2, rho) per struct term])."""
        theta = self.public(theta)
        ns = len(self.sigmas)
        sig, pos, out = theta[:ns], ns, []
        for t in self.structs:
            st = t.struct
            out.append((theta[pos:pos + st.n_tau2], theta[pos + st.n_tau2:pos + st.n_tau2 + st.n_rho]))
            pos += st.n_tau2 + st.n_rho
        return sig, out

    def n_params(self) -> int:
        """Length of theta."""
        return len(self.sigmas) + sum(t.struct.n_tau2 + t.struct.n_rho for t in self.structs)

    def _M(self, g: _Group, sig: np.ndarray, Gs: list[np.ndarray]) -> np.ndarray:
        M = g.V.copy()
        for s2, E in zip(sig, g.E):
            if s2 == 0:
                continue
            if isinstance(E, str):
                if E == "ones":
                    M += s2
                else:
                    idx = np.arange(M.shape[1])
                    M[:, idx, idx] += s2
            else:
                M += s2 * E
        for G, (mask, ic) in zip(Gs, g.S):
            M += mask * G[ic[:, :, None], ic[:, None, :]]
        return M

    def marginal(self, theta: np.ndarray) -> BlockDiag:
        """M at (internal) theta as a BlockDiag over the independent groups (rows in the data's order)."""
        sig, st = self.split(np.asarray(theta, dtype=float))
        Gs = [t.struct.G(tau2, rho) for t, (tau2, rho) in zip(self.structs, st)]
        groups = [SizeGroup(g.rows, self._M(g, sig, Gs), g.order) for g in self.groups]
        return BlockDiag.from_groups(groups, self.k, list(range(self.n_components)))

    # -- likelihood ---------------------------------------------------------------------------

    def evaluate(self, theta: Any, reml: bool, grad: bool = False) -> Evaluation | None:
        """The log likelihood at (internal) theta (None where M is not positive definite)."""
        theta = np.asarray(theta, dtype=float)
        sig, st = self.split(theta)
        Gs = [t.struct.G(tau2, rho) for t, (tau2, rho) in zip(self.structs, st)]
        p = self.p
        logdet, XtMX, XtMy, parts = 0.0, np.zeros((p, p)), np.zeros(p), []
        for g in self.groups:
            got = _chol_inv(self._M(g, sig, Gs))
            if got is None:
                return None
            logdet += got[0]
            Mi = got[1]
            MiX = Mi @ g.X
            Miy = np.einsum("nab,nb->na", Mi, g.y)
            XtMX += _tdot(g.X.reshape(-1, p), MiX.reshape(-1, p))
            XtMy += _tdot(MiX.reshape(-1, p), g.y.reshape(-1, 1))[:, 0]
            parts.append((Mi, MiX, Miy))
        try:
            C = np.linalg.cholesky(XtMX)
        except np.linalg.LinAlgError:
            return None
        vb = np.linalg.inv(XtMX)
        vb = 0.5 * (vb + vb.T)
        beta = np.linalg.solve(XtMX, XtMy)
        rss = 0.0
        out = []
        for g, (Mi, MiX, Miy) in zip(self.groups, parts):
            Py = Miy - MiX @ beta
            rss += float(np.sum((g.y - g.X @ beta) * Py))
            out.append((Mi, MiX, Py))
        k = self.k
        ll_ml = -0.5 * (k * _LOG2PI + logdet + rss)
        ll_reml = -0.5 * ((k - p) * _LOG2PI - self.logdet_xtx + logdet
                          + 2.0 * float(np.sum(np.log(np.diag(C)))) + rss)
        ev = Evaluation(ll_reml if reml else ll_ml, ll_ml, ll_reml, beta, vb, rss, out)
        if grad:
            self.derivatives(theta, ev, reml, info=False)
        return ev

    def derivative_blocks(self, theta: np.ndarray) -> list[list[Any]]:
        """dM/dtheta_j per group: ``out[group][j]``, an (n, s, s) array, or "eye" / "ones" for the
        identity and the all-ones block (the two ``~ 1 | f`` cases of a nested model)."""
        sig, st = self.split(theta)
        dGs = [t.struct.derivatives(tau2, rho) for t, (tau2, rho) in zip(self.structs, st)]
        out = []
        for g in self.groups:
            Ds = list(g.E)
            for dG, (mask, ic) in zip(dGs, g.S):
                Ds += [mask * d[ic[:, :, None], ic[:, None, :]] for d in dG]
            out.append(Ds)
        return out

    def derivatives(self, theta: np.ndarray, ev: Evaluation, reml: bool, info: bool = True) -> None:
        """Add to *ev* the gradient, and with *info* the expected information
        ``1/2 tr(P D_i P D_j)`` and ``quad = (D_i P y)' P (D_j P y)`` (for a model linear in theta
        the observed information is ``quad - info``)."""
        n, p, H = self.n_params(), self.p, ev.vb
        grad, trM = np.zeros(n), np.zeros(n)
        K = [np.zeros((p, p)) for _ in range(n)]        # X'M^-1 D_j M^-1 X
        I, Q = np.zeros((n, n)), np.zeros((n, n))
        L = np.zeros((n, n))                            # X'M^-1 D_i M^-1 D_j M^-1 X against H
        XMu = [np.zeros(p) for _ in range(n)]           # X'M^-1 D_j P y
        for Ds, (Mi, MiX, Py) in zip(self.derivative_blocks(theta), ev.parts):
            DMi = [_left(D, Mi) for D in Ds]
            DX = [_left(D, MiX) for D in Ds]
            u = [_left(D, Py[:, :, None])[:, :, 0] for D in Ds]
            flatX = MiX.reshape(-1, p)
            for j in range(n):
                trM[j] += float(np.trace(DMi[j], axis1=1, axis2=2).sum())
                K[j] += _tdot(flatX, DX[j].reshape(-1, p))
                grad[j] += 0.5 * float(np.sum(Py * u[j]))
            if not info:
                continue
            Mu = [np.einsum("nab,nb->na", Mi, uj) for uj in u]
            CX = [(Mi @ b).reshape(-1, p) for b in DX] if reml else []
            for j in range(n):
                XMu[j] += _tdot(flatX, u[j].reshape(-1, 1))[:, 0]
            for i in range(n):
                for j in range(i + 1):
                    I[i, j] += 0.5 * float(np.sum(DMi[i] * np.swapaxes(DMi[j], 1, 2)))
                    Q[i, j] += float(np.sum(u[i] * Mu[j]))
                    if reml:
                        L[i, j] += float(np.sum(H * _tdot(DX[i].reshape(-1, p), CX[j])))
        for j in range(n):
            grad[j] -= 0.5 * (trM[j] - (float(np.sum(H * K[j])) if reml else 0.0))
        ev.grad = grad
        if not info:
            return
        HK = [H @ k for k in K]
        for i in range(n):
            for j in range(i + 1):
                if reml:
                    I[i, j] += -L[i, j] + 0.5 * float(np.sum(HK[i] * HK[j].T))
                Q[i, j] -= float(XMu[i] @ H @ XMu[j])
        ev.info = np.tril(I) + np.tril(I, -1).T
        ev.quad = np.tril(Q) + np.tril(Q, -1).T


def _chol_inv(M: np.ndarray) -> tuple[float, np.ndarray] | None:
    """log det and inverse of each positive definite block of M (n, s, s), or None if one is not.

    Small blocks use a Cholesky factorisation written over the batch (a loop over the s columns,
    each step vectorised over all n blocks), which avoids LAPACK's per-matrix overhead."""
    n, s, _ = M.shape
    if s > _CUSTOM_MAX or n < 64:  # LAPACK per matrix: large blocks, or few of them
        try:
            L = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            return None
        return 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)))), np.linalg.inv(M)
    L = np.zeros_like(M)
    for j in range(s):
        d = M[:, j, j] - np.einsum("nk,nk->n", L[:, j, :j], L[:, j, :j])
        if not np.all(d > 0):
            return None
        L[:, j, j] = np.sqrt(d)
        if j + 1 < s:
            off = M[:, j + 1:, j] - np.einsum("nik,nk->ni", L[:, j + 1:, :j], L[:, j, :j])
            L[:, j + 1:, j] = off / L[:, j, j][:, None]
    Li = np.zeros_like(M)  # L^-1 by forward substitution, one row at a time over all blocks
    for i in range(s):
        row = -np.einsum("nk,nkj->nj", L[:, i, :i], Li[:, :i, :])
        row[:, i] += 1.0
        Li[:, i, :] = row / L[:, i, i][:, None]
    logdet = 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
    return logdet, np.swapaxes(Li, 1, 2) @ Li


def _tdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a' b for tall, thin a (N, p) and b (N, q), without BLAS (whose threads stall on a loaded machine)."""
    return np.einsum("ij,ik->jk", a, b)


def _kind(E: np.ndarray) -> Any:
    """"eye" or "ones" when the indicator block is the identity or all ones in every block."""
    s = E.shape[1]
    if np.all(E == 1.0):
        return "ones"
    if np.array_equal(E, np.broadcast_to(np.eye(s), E.shape)):
        return "eye"
    return E


def _left(D: Any, Y: np.ndarray) -> np.ndarray:
    """D @ Y for a derivative block D (array, "eye" or "ones") and Y (n, s, q)."""
    if isinstance(D, str):
        if D == "eye":
            return Y
        return np.broadcast_to(Y.sum(axis=1, keepdims=True), Y.shape)
    return D @ Y
