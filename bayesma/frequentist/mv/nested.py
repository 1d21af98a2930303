"""The two-level nested model's likelihood in closed form (Sherman-Morrison), an independent
check of :mod:`~bayesma.frequentist.mv.likelihood`.

For ``V = diag(v + sigma2[1]) + sigma2[0] Z Z'`` (effects nested in clusters) every quantity of
the (restricted) likelihood, its gradient and the observed and expected information is computed
per cluster with the Sherman-Morrison formula, in O(k p^2). The fit itself runs through the
general block engine; tests compare the two.
"""

from __future__ import annotations

import numpy as np

__all__ = ["_State"]

_LOG2PI = float(np.log(2 * np.pi))


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
