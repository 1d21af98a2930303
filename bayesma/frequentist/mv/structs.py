"""Variance structures of an ``~ inner | outer`` random term (metafor's ``struct``).

For an inner factor with q levels (sorted, as R's ``factor``), the q x q matrix G of the true
effects of one outer level (e.g. one study) and its parameters, in metafor's names and order:

======  ==========================================  =========================
struct  G[l, m]                                     parameters
======  ==========================================  =========================
CS      tau2 (l = m), tau2 * rho                    tau2, rho
HCS     tau2_l (l = m), sqrt(tau2_l tau2_m) rho     tau2 (q), rho
UN      tau2_l (l = m), sqrt(tau2_l tau2_m) rho_lm  tau2 (q), rho (q(q-1)/2)
DIAG    tau2_l (l = m), 0                           tau2 (q)
ID      tau2 (l = m), 0                             tau2
AR      tau2 rho^|l - m|                            tau2, rho
HAR     sqrt(tau2_l tau2_m) rho^|l - m|             tau2 (q), rho
======  ==========================================  =========================

UN's correlations are listed as R's ``lower.tri`` (column by column: rho_21, rho_31, ..., rho_32, ...).
AR and HAR use the positions of the sorted inner levels (equally spaced time points).
"""

from __future__ import annotations

import numpy as np

from bayesma.errors import InputError

__all__ = ["STRUCTS", "Struct"]

STRUCTS = ("CS", "HCS", "UN", "DIAG", "ID", "AR", "HAR")


class Struct:
    """G(tau2, rho) of one struct over q inner levels and its derivatives."""

    def __init__(self, name: str, q: int):
        name = str(name).upper()
        if name not in STRUCTS:
            raise InputError(f"struct must be one of {STRUCTS}, got {name!r}")
        self.name, self.q = name, int(q)
        self.n_tau2 = q if name in ("HCS", "UN", "DIAG", "HAR") else 1
        self.n_rho = {"CS": 1, "HCS": 1, "AR": 1, "HAR": 1, "UN": q * (q - 1) // 2}.get(name, 0)
        lag = np.abs(np.subtract.outer(np.arange(q), np.arange(q)))
        self._lag = lag
        low = np.tril_indices(q, -1)
        order = np.lexsort((low[0], low[1]))  # column-major lower triangle, as R's lower.tri
        self._un = (low[0][order], low[1][order])  # UN's correlations: (row, column) of each

    def _corr(self, rho: np.ndarray) -> np.ndarray:
        q = self.q
        if self.name in ("DIAG", "ID"):
            return np.eye(q)
        if self.name in ("CS", "HCS"):
            R = np.full((q, q), float(rho[0]))
        elif self.name in ("AR", "HAR"):
            R = np.where(self._lag == 0, 1.0, float(rho[0]) ** np.maximum(self._lag, 1))
        else:  # UN
            R = np.eye(q)
            R[self._un] = rho
            R[self._un[1], self._un[0]] = rho
        np.fill_diagonal(R, 1.0)
        return R

    def _sd(self, tau2: np.ndarray) -> np.ndarray:
        return np.sqrt(np.broadcast_to(np.maximum(tau2, 0.0), (self.q,)))

    def G(self, tau2: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """The q x q covariance matrix."""
        sd = self._sd(np.asarray(tau2, dtype=float))
        out = sd[:, None] * self._corr(np.asarray(rho, dtype=float)) * sd[None, :]
        np.fill_diagonal(out, np.broadcast_to(tau2, (self.q,)))
        return out

    @property
    def sd_scale(self) -> bool:
        """Whether the variances are estimated on the standard-deviation scale: HCS, UN and HAR,
        whose covariances ``sqrt(tau2_l tau2_m) rho`` have an infinite derivative in tau2_l at 0."""
        return self.name in ("HCS", "UN", "HAR") and self.n_tau2 > 1

    def derivatives(self, tau2: np.ndarray, rho: np.ndarray) -> list[np.ndarray]:
        """dG/dtau2_j for each tau2 (dG/dtau_j, tau = sqrt(tau2), where :attr:`sd_scale`), then
        dG/drho_j for each rho (each q x q)."""
        tau2 = np.asarray(tau2, dtype=float)
        rho = np.asarray(rho, dtype=float)
        q = self.q
        R = self._corr(rho)
        sd = self._sd(tau2)
        out = []
        for j in range(self.n_tau2):
            if self.n_tau2 == 1:
                out.append(R.copy())
                continue
            D = np.zeros((q, q))
            if self.sd_scale:
                D[j, :] = R[j] * sd
                D[:, j] = R[:, j] * sd
                D[j, j] = 2.0 * sd[j]
            else:
                D[j, j] = 1.0
            out.append(D)
        for j in range(self.n_rho):
            if self.name in ("CS", "HCS"):
                dR = np.ones((q, q))
            elif self.name in ("AR", "HAR"):
                r = float(rho[0])
                dR = self._lag * np.where(self._lag >= 1, r ** np.maximum(self._lag - 1, 0), 0.0)
            else:
                dR = np.zeros((q, q))
                a, b = self._un[0][j], self._un[1][j]
                dR[a, b] = dR[b, a] = 1.0
            np.fill_diagonal(dR, 0.0)
            out.append(sd[:, None] * dR * sd[None, :])
        return out
