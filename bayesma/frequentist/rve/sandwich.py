"""Cluster-robust (sandwich) variances CR0-CR3 and their small-sample degrees of freedom.

The estimators are those of clubSandwich (Pustejovsky & Tipton 2018, Journal of
Business & Economic Statistics 36:672-683; Tipton & Pustejovsky 2015, Journal of
Educational and Behavioral Statistics 40:604-634) for a model fitted by weighted
least squares with the inverse of its fitted marginal covariance ``Theta_j`` as
weights (``W_j = Theta_j^-1``, clubSandwich's ``inverse_var = TRUE``)::

    vcov = M [sum_j E_j e_j e_j' E_j'] M,   M = (sum_j X_j' W_j X_j)^-1,   E_j = X_j' W_j A_j

with ``A_j = I`` (CR0), ``c I`` (CR1: c² = J/(J-1); CR1p: J/(J-p); CR1S:
J(k-1)/((J-1)(k-p))), the bias-reduced linearisation adjustment
``A_j = L_j [L_j' (Theta_j - X_j M X_j') L_j]^(-1/2) L_j'`` with ``Theta_j = L_j L_j'`` (CR2),
or ``(I - X_j M X_j' W_j)^-1`` (CR3). Every step is batched over all clusters of
the same size.

The Satterthwaite degrees of freedom of a linear combination ``c'beta`` and the
Hotelling's T² approximation with Zhang's degrees of freedom (HTZ) of a Wald test
follow from the J x J matrices ``P = D - H'H`` of clubSandwich; their traces and
Frobenius norms reduce to sums over clusters of p x p matrices
(``D_j = M E_j Theta_j E_j' M`` and ``H_j = M E_j X_j chol(M)``), so no J x J
matrix is formed either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from bayesma.errors import InputError
from bayesma.frequentist.rve.working import WorkingModel

__all__ = ["VCOV_TYPES", "Sandwich", "sandwich", "psd_power"]

VCOV_TYPES = ("CR0", "CR1", "CR1p", "CR1S", "CR2", "CR3")
_T = np.swapaxes


def psd_power(A: np.ndarray, power: float, tol: float = 1e-12) -> np.ndarray:
    """A symmetric matrix (or a stack of them) to a power, eigenvalues <= tol set to 0 (clubSandwich's
    ``matrix_power``)."""
    w, U = np.linalg.eigh(A)
    keep = w > tol
    wp = np.where(keep, np.where(keep, w, 1.0) ** power, 0.0)
    return (U * wp[..., None, :]) @ _T(U, -1, -2)


def _chol(theta: np.ndarray, clusters: np.ndarray, levels: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(theta)
    except np.linalg.LinAlgError:
        for c, block in zip(clusters, theta):
            if np.linalg.eigvalsh(block)[0] <= 0:
                raise InputError(
                    f"the fitted covariance of cluster {levels[c]!r} is not positive definite; "
                    "cluster-robust inference needs the working model's inverse"
                ) from None
        raise


@dataclass(frozen=True)
class Sandwich:  # numpydoc ignore=PR01
    """A cluster-robust variance with what its degrees of freedom need.

    ``vcov`` is the p x p estimate; ``D`` (J, p, p) and ``H`` (J, p, p) the per-cluster
    pieces of clubSandwich's P arrays (Satterthwaite and HTZ).
    """

    type: str
    vcov: np.ndarray
    bread: np.ndarray
    D: np.ndarray
    H: np.ndarray
    J: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def satterthwaite(self) -> np.ndarray:
        """Satterthwaite degrees of freedom of each coefficient (clubSandwich's ``df_Satt``)."""
        a = np.einsum("jii->ji", self.D)  # (J, p)
        hn = np.einsum("jiu,jiu->ji", self.H, self.H)
        S = np.einsum("jiu,jiv->iuv", self.H, self.H)
        trace = a.sum(0) - hn.sum(0)
        fro2 = (a**2).sum(0) - 2.0 * (a * hn).sum(0) + np.einsum("iuv,iuv->i", S, S)
        return trace**2 / fro2

    def htz_nu(self, C: np.ndarray) -> float:
        """Zhang's degrees of freedom nu of the Hotelling T² test of ``C beta`` (clubSandwich's HTZ)."""
        q = C.shape[0]
        D = C @ self.D @ C.T
        Hc = C @ self.H
        omega = D.sum(0) - np.einsum("jau,jbu->ab", Hc, Hc)
        T = psd_power(omega, -0.5)
        Dt = T @ D @ T.T
        Ht = T @ Hc
        K = Ht @ _T(Ht, 1, 2)
        R = Dt - K
        S = np.einsum("jxu,jyv->xyuv", Ht, Ht)
        inner = (np.einsum("jab,jcd->abcd", R, R) - np.einsum("jab,jcd->abcd", K, K)
                 + np.einsum("cauv,bdvu->abcd", S, S))
        idx = np.arange(q)
        var = inner[idx[:, None], idx[None, :], idx[None, :], idx[:, None]] + \
            inner[idx[:, None], idx[:, None], idx[None, :], idx[None, :]]
        return float(q * (q + 1) / var.sum())


def _check_leverage(IH: np.ndarray, clusters: np.ndarray, levels: np.ndarray) -> None:
    """CR3 inverts I - H_jj: refuse a cluster where it is singular (a leverage of 1, e.g. the only
    cluster with some level of a moderator) instead of returning rounding error."""
    bad = np.linalg.cond(IH) > 1e12
    if bad.any():
        raise InputError(
            f"CR3 is undefined here: I - H_jj of cluster {levels[clusters[np.argmax(bad)]]!r} is singular "
            "(the cluster alone determines a coefficient); use vcov='CR2'"
        )


def _scale(type_: str, J: int, k: int, p: int) -> float:
    return {"CR0": 1.0, "CR1": J / (J - 1), "CR1p": J / (J - p),
            "CR1S": J * (k - 1) / ((J - 1) * (k - p))}.get(type_, 1.0)


def sandwich(wm: WorkingModel, type: str = "CR2") -> Sandwich:
    """The cluster-robust variance of ``wm.beta`` of clubSandwich's *type*, and its df pieces.

    Parameters
    ----------
    wm : WorkingModel
        The fit's design, effects, estimates and per-cluster covariance blocks.
    type : {"CR0", "CR1", "CR1p", "CR1S", "CR2", "CR3"}
        The estimator, as clubSandwich's ``vcovCR(type=)``.

    Returns
    -------
    Sandwich

    Raises
    ------
    ValueError
        For an unknown type, or a cluster whose fitted covariance is not positive definite.
    """
    if type not in VCOV_TYPES:
        raise InputError(f"vcov must be one of {VCOV_TYPES}, got {type!r}")
    X, e, p, J = wm.X, wm.resid, wm.p, wm.J
    if type == "CR1p" and J <= p:
        raise InputError(f"CR1p needs more clusters ({J}) than coefficients ({p})")
    parts = []
    XWX = np.zeros((p, p))
    for g in wm.groups:
        Xg = X[g.rows]  # (c, s, p)
        L = _chol(g.theta, g.clusters, wm.levels)
        WX = np.linalg.solve(g.theta, Xg)
        XWX += np.einsum("csp,csq->pq", Xg, WX)
        parts.append((g, Xg, L, WX))
    M = np.linalg.inv(XWX)
    M = 0.5 * (M + M.T)
    LM = np.linalg.cholesky(M)
    c2 = _scale(type, J, wm.k, p)
    meat = np.zeros((p, p))
    D = np.empty((J, p, p))
    H = np.empty((J, p, p))
    for g, Xg, L, WX in parts:
        E = _T(WX, 1, 2)  # X_j' W_j, (c, p, s)
        if type == "CR2":
            XMX = Xg @ M @ _T(Xg, 1, 2)
            G = _T(L, 1, 2) @ (g.theta - XMX) @ L
            E = E @ (L @ psd_power(G, -0.5) @ _T(L, 1, 2))
        elif type == "CR3":
            s = Xg.shape[1]
            IH = np.eye(s) - Xg @ M @ E
            _check_leverage(IH, g.clusters, wm.levels)
            E = _T(np.linalg.solve(_T(IH, 1, 2), WX), 1, 2)  # X'W (I - H)^-1
        else:
            E = np.sqrt(c2) * E
        u = np.einsum("cps,cs->cp", E, e[g.rows])
        meat += u.T @ u
        ME = M @ E
        D[g.clusters] = ME @ g.theta @ _T(ME, 1, 2)
        H[g.clusters] = ME @ Xg @ LM
    vcov = M @ meat @ M
    return Sandwich(type=type, vcov=0.5 * (vcov + vcov.T), bread=M, D=D, H=H, J=J)


def hotelling(Q: float, q: int, nu: float) -> tuple[float, float, float, float]:
    """Hotelling's T² approximation: (F, delta, df_denom, p) for the Wald statistic Q on q constraints."""
    delta = max((nu - q + 1) / nu, 0.0)
    df = nu - q + 1
    F = delta * Q / q
    p = float(stats.f.sf(F, q, df)) if df > 0 else np.nan
    return float(F), float(delta), float(df), p
