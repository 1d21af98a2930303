"""An independent posterior of the models with two variance parameters (CHE, compound symmetry across
outcomes), for tests: the dense covariance of every cluster (``numpy.linalg``), the coefficients
integrated by generalized least squares under a normal prior, a tensor Gauss-Legendre rule over the two
variance parameters on a box. Nothing of bayesma is used; the box must hold the posterior (``edge`` is
the mass of the last nodes of each axis, to check that where the box cuts the support).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats


def gauss_legendre(lo: float, hi: float, panels: int, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of a composite n-point Gauss-Legendre rule on [lo, hi]."""
    t, w = np.polynomial.legendre.leggauss(n)
    edges = np.linspace(lo, hi, panels + 1)
    h = np.diff(edges)[:, None] / 2
    return (edges[:-1, None] + h * (t + 1)).ravel(), (h * w).ravel()


def che_covariance(tau: np.ndarray, tau_within: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """tau_within^2 I + tau^2 11' for the effects *rows* of one cluster, at every node: (N, n, n)."""
    n = rows.size
    return tau_within[:, None, None] ** 2 * np.eye(n) + tau[:, None, None] ** 2 * np.ones((n, n))


def cs_covariance(tau: np.ndarray, rho: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """tau^2 [(1 - rho) I + rho 11'] for one study's effects (one per outcome), at every node: (N, n, n)."""
    n = rows.size
    return tau[:, None, None] ** 2 * ((1 - rho)[:, None, None] * np.eye(n) + rho[:, None, None] * np.ones((n, n)))


def posterior(y: np.ndarray, V: np.ndarray, cluster: np.ndarray, X: np.ndarray, prior_sd: float,
              covariance: Callable, axis1: tuple, axis2: tuple, log_prior: Callable) -> dict:
    """Posterior of ``y_c ~ N(X_c beta, V_c + covariance(a, b, rows_c))``, ``beta ~ N(0, prior_sd^2 I)``.

    Returns a dict: ``w`` (normalised node weights), ``a``, ``b`` (the nodes), ``beta`` (N, p) and
    ``beta_cov`` (N, p, p) given the node, ``theta_mean``, ``theta_var`` (N, k) given the node, ``edge``.
    """
    k, p = X.shape
    A, B = (g.ravel() for g in np.meshgrid(axis1[0], axis2[0], indexing="ij"))
    N = A.size
    logdet, yy = np.zeros(N), np.zeros(N)
    XX, Xy = np.zeros((N, p, p)), np.zeros((N, p))
    parts = []
    for c in np.unique(cluster):
        rows = np.flatnonzero(cluster == c)
        G = covariance(A, B, rows)
        Si = np.linalg.inv(V[np.ix_(rows, rows)][None] + G)
        Xc, yc = X[rows], y[rows]
        logdet -= np.linalg.slogdet(Si)[1]
        yy += np.einsum("i,nil,l->n", yc, Si, yc)
        XX += np.einsum("ip,nil,lq->npq", Xc, Si, Xc)
        Xy += np.einsum("ip,nil,l->np", Xc, Si, yc)
        parts.append((rows, G, Si))
    P = XX + np.eye(p) / prior_sd**2
    Vb = np.linalg.inv(P)
    b = np.einsum("npq,nq->np", Vb, Xy)
    logf = -0.5 * (logdet + np.linalg.slogdet(P)[1] + yy - (Xy * b).sum(-1)) + log_prior(A, B)
    w = np.exp(logf - logf.max()) * np.outer(axis1[1], axis2[1]).ravel()
    w /= w.sum()
    thm, thv = np.zeros((N, k)), np.zeros((N, k))
    for rows, G, Si in parts:
        Xc = X[rows]
        GSi = G @ Si
        thm[:, rows] = b @ Xc.T + np.einsum("nil,nl->ni", GSi, y[rows][None] - b @ Xc.T)
        H = Xc[None] - GSi @ Xc
        thv[:, rows] = np.einsum("nii->ni", G - GSi @ G) + np.einsum("nip,npq,niq->ni", H, Vb, H)
    grid = w.reshape(axis1[0].size, axis2[0].size)
    return {"w": w, "a": A, "b": B, "beta": b, "beta_cov": Vb, "theta_mean": thm, "theta_var": thv,
            "edge": (grid[-1].sum(), grid[:, -1].sum())}


def moments(w: np.ndarray, mean: np.ndarray, var: np.ndarray | float = 0.0) -> tuple[float, float]:
    """Mean and sd of the mixture sum_n w_n N(mean_n, var_n)."""
    m = float(w @ mean)
    return m, float(np.sqrt(w @ (var + mean**2) - m * m))


def mixture_quantile(w: np.ndarray, mean: np.ndarray, sd: np.ndarray, q: float) -> float:
    """The q quantile of sum_n w_n N(mean_n, sd_n^2), by bisection on its cdf."""
    lo, hi = float((mean - 12 * sd).min()), float((mean + 12 * sd).max())
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if w @ stats.norm.cdf((mid - mean) / sd) < q else (lo, mid)
    return 0.5 * (lo + hi)


def constant_rho_V(vi: np.ndarray, cluster: np.ndarray, rho: float) -> np.ndarray:
    """The k x k sampling covariance with correlation rho within a cluster (metafor's vcalc, obs = row)."""
    s = np.sqrt(vi)
    same = cluster[:, None] == cluster[None, :]
    return np.where(same, rho * np.outer(s, s), 0.0) + np.diag(vi * (1 - rho))
