"""Maximise a sum of per-study log-likelihoods that depend on a few linear "local" scalars.

Every model of :func:`bayesma.rma_glmm` has this shape: study ``i`` contributes
``f_i(s_i)`` where ``s_i = A_i @ theta`` is a short vector (2 to 4 numbers: its fixed
linear predictor, its intercept, log standard deviations) that is linear in the global
parameters ``theta``. The gradient and Hessian of the total are then assembled from each
study's local ones (``sum A_i' g_i`` and ``sum A_i' H_i A_i``), which are computed by
central finite differences on the local scalars: a few vectorised evaluations per Newton
step whatever the number of parameters (metafor's UM.FS model has one intercept per study).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayesma.errors import ConvergenceError

__all__ = ["LocalProblem", "maximize", "local_derivatives", "covariance"]


@dataclass(frozen=True)
class LocalProblem:
    """``loglik(theta) = sum_i f(A @ theta)[i]``.

    Attributes
    ----------
    A : numpy.ndarray, shape (k, r, P)
        Maps the P global parameters to each study's r local scalars.
    f : callable
        ``f(S)`` with S of shape (k, r) returns the k study log-likelihoods.
    names : list of str
        Names of the global parameters.
    own : numpy.ndarray or None
        Indices of parameters that belong to one study each (UM.FS's study intercepts): their
        block of the Hessian is diagonal, and the Newton step eliminates it (Schur complement)
        instead of factorising a dense matrix of order k.
    """

    A: np.ndarray
    f: Callable[[np.ndarray], np.ndarray]
    names: list[str]
    own: np.ndarray | None = None

    def loglik(self, theta: np.ndarray) -> float:
        """Total log-likelihood at *theta*."""
        return float(np.sum(self.f(self.A @ theta)))


def local_derivatives(f: Callable[[np.ndarray], np.ndarray], S: np.ndarray, h: float = 1e-4):
    """Value, gradient (k, r) and Hessian (k, r, r) of *f* at the local scalars *S* (central differences)."""
    k, r = S.shape
    f0 = f(S)
    g = np.empty((k, r))
    H = np.empty((k, r, r))
    fp, fm = [], []
    for a in range(r):
        e = np.zeros(r)
        e[a] = h
        fp.append(f(S + e))
        fm.append(f(S - e))
        g[:, a] = (fp[a] - fm[a]) / (2 * h)
        H[:, a, a] = (fp[a] - 2 * f0 + fm[a]) / h**2
    for a in range(r):
        for b in range(a + 1, r):
            e = np.zeros(r)
            e[a] = h
            e[b] = h
            fpp = f(S + e)
            fmm = f(S - e)
            H[:, a, b] = H[:, b, a] = (fpp - fp[a] - fp[b] + 2 * f0 - fm[a] - fm[b] + fmm) / (2 * h**2)
    return f0, g, H


def derivatives(prob: LocalProblem, theta: np.ndarray, h: float = 1e-4):
    """Total log-likelihood, gradient (P,) and Hessian (P, P) at *theta*."""
    S = prob.A @ theta
    f0, g, H = local_derivatives(prob.f, S, h)
    k, r, P = prob.A.shape
    G = g.reshape(k * r) @ prob.A.reshape(k * r, P)
    B = np.einsum("krs,ksQ->krQ", H, prob.A)
    HH = prob.A.reshape(k * r, P).T @ B.reshape(k * r, P)  # sum_i A_i' H_i A_i as one matrix product
    return float(np.sum(f0)), G, HH


def maximize(prob: LocalProblem, theta0: np.ndarray, max_iter: int = 200, tol: float = 1e-12,
             floor: dict[int, float] | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Newton-Raphson with step halving (and a Levenberg shift where the Hessian is not
    negative definite).

    Parameters
    ----------
    prob : LocalProblem
    theta0 : numpy.ndarray, shape (P,)
        Starting values.
    max_iter : int
    tol : float
        Stop when the Newton decrement ``g' (-H)^-1 g`` is below *tol*.
    floor : dict, optional
        Parameters (index -> lowest value) where the search stops going lower (a log
        standard deviation heading to minus infinity: the variance is at its bound 0).

    Returns
    -------
    theta : numpy.ndarray
    loglik : float
    hessian : numpy.ndarray, shape (P, P)
        Of the log-likelihood at *theta*.

    Raises
    ------
    ConvergenceError
        No convergence in *max_iter* steps.
    """
    theta = np.array(theta0, dtype=float)
    floor = floor or {}
    ll, g, H = derivatives(prob, theta)
    for _ in range(max_iter):
        free = np.ones(theta.size, dtype=bool)
        for j, lo in floor.items():
            if theta[j] <= lo and g[j] < 0:
                free[j] = False
        step_f = _newton_step(-H[np.ix_(free, free)], g[free], _own_mask(prob.own, free))
        decrement = float(g[free] @ step_f)
        if decrement < tol:
            return theta, ll, H
        step = np.zeros(theta.size)
        step[free] = step_f
        big = float(np.max(np.abs(step)))
        if big > 2.0:
            step *= 2.0 / big
        t = 1.0
        while t > 1e-10:
            cand = theta + t * step
            for j, lo in floor.items():
                cand[j] = max(cand[j], lo)
            ll_new = prob.loglik(cand)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12:
                break
            t /= 2
        else:
            return theta, ll, H
        theta = cand
        ll, g, H = derivatives(prob, theta)
    raise ConvergenceError(f"the Newton iterations did not converge in {max_iter} steps")


def _own_mask(own: np.ndarray | None, free: np.ndarray) -> np.ndarray | None:
    if own is None:
        return None
    mask = np.zeros(free.size, dtype=bool)
    mask[own] = True
    return mask[free]


def _dense_step(N: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        L = np.linalg.cholesky(N)
    except np.linalg.LinAlgError:  # not positive definite: shift by the most negative eigenvalue
        ev = np.linalg.eigvalsh(N)
        scale = max(1.0, float(np.max(np.abs(ev))))
        L = np.linalg.cholesky(N + (1e-6 * scale - min(float(ev[0]), 0.0)) * np.eye(N.shape[0]))
    return np.linalg.solve(L.T, np.linalg.solve(L, g))


def _newton_step(N: np.ndarray, g: np.ndarray, own: np.ndarray | None) -> np.ndarray:
    """Solve ``N x = g`` (N the negative Hessian); with per-study parameters *own* (a mask) by
    eliminating their diagonal block, falling back to the dense solve when N is not positive
    definite there."""
    if own is None or not np.any(own):
        return _dense_step(N, g)
    d, s = own, ~own
    nd = np.diag(N)[d]
    Nds = N[np.ix_(d, s)]
    if np.any(nd <= 0):
        return _dense_step(N, g)
    S = N[np.ix_(s, s)] - (Nds / nd[:, None]).T @ Nds
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return _dense_step(N, g)
    gd = g[d] / nd
    xs = np.linalg.solve(L.T, np.linalg.solve(L, g[s] - Nds.T @ gd))
    x = np.empty(g.size)
    x[s] = xs
    x[d] = gd - (Nds @ xs) / nd
    return x


def covariance(H: np.ndarray, own: np.ndarray | None = None) -> np.ndarray:
    """The inverse of the negative Hessian *H* (the covariance of the estimates), through the
    Schur complement of the per-study parameters *own* when given."""
    N = -H
    if own is None or own.size == 0:
        return np.linalg.inv(N)
    d = np.zeros(N.shape[0], dtype=bool)
    d[own] = True
    s = ~d
    nd = np.diag(N)[d]
    Nds = N[np.ix_(d, s)]
    Vss = np.linalg.inv(N[np.ix_(s, s)] - (Nds / nd[:, None]).T @ Nds)
    W = Nds / nd[:, None]                       # D^-1 N_ds
    V = np.empty_like(N)
    V[np.ix_(s, s)] = Vss
    V[np.ix_(d, s)] = -W @ Vss
    V[np.ix_(s, d)] = V[np.ix_(d, s)].T
    V[np.ix_(d, d)] = np.diag(1.0 / nd) + W @ Vss @ W.T
    return V
