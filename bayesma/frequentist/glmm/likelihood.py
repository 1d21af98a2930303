"""Marginal log-likelihoods of binomial-normal and Poisson-normal models, one study at a time.

Pure numpy, vectorised over studies, with no state: the building blocks of
:func:`bayesma.rma_glmm` (and reusable by a Bayesian model of counts).

A study ``i`` has ``J`` observations (groups) ``y[i, j]`` with a linear predictor

    eta[i, j] = fixed[i, j] + Z[j] @ u_i,        u_i ~ Normal(0, diag(sd**2)),

a logit link (binomial, ``size[i, j]`` trials) or a log link (Poisson, ``fixed`` holding
the log exposure as an offset). The study's marginal log-likelihood

    L_i = log  integral  prod_j p(y[i, j] | eta[i, j](u))  N(u; 0, diag(sd**2))  du

is computed by adaptive Gauss-Hermite quadrature (Pinheiro & Bates 1995; Liu & Pierce
1994): the integrand is centred at its mode and scaled by its curvature there, so one node
(``n_nodes=1``) is the Laplace approximation and more nodes converge to the integral.
Constants (binomial coefficients, ``log y!``) are included, so ``L_i`` is a log probability.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, overload

import numpy as np
from scipy.special import expit, gammaln, log_expit

__all__ = [
    "binomial_logpmf",
    "binomial_log_logpmf",
    "poisson_logpmf",
    "gauss_hermite",
    "marginal_loglik",
]

_LOG2PI = float(np.log(2 * np.pi))


@lru_cache(maxsize=64)
def gauss_hermite(n: int, dim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log weights for ``integral f(x) exp(-|x|^2) dx`` in *dim* dimensions.

    Parameters
    ----------
    n : int
        Nodes per dimension (1 is the Laplace approximation: the node 0 with weight sqrt(pi)).
    dim : int
        1 or 2 (a tensor product grid of ``n**dim`` nodes).

    Returns
    -------
    nodes : numpy.ndarray, shape (n**dim, dim)
    log_weights : numpy.ndarray, shape (n**dim,)
    """
    x, w = np.polynomial.hermite.hermgauss(int(n))
    if dim == 1:
        return x[:, None], np.log(w)
    grid = np.stack(np.meshgrid(*([x] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
    lw = np.sum(np.stack(np.meshgrid(*([np.log(w)] * dim), indexing="ij"), axis=-1).reshape(-1, dim), axis=1)
    return grid, lw


def binomial_logpmf(y: np.ndarray, size: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log Binomial(y; size, expit(eta)), broadcast over the arrays (logit link)."""
    return (gammaln(size + 1) - gammaln(y + 1) - gammaln(size - y + 1)
            + y * log_expit(eta) + (size - y) * log_expit(-eta))


def binomial_log_logpmf(y: np.ndarray, size: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log Binomial(y; size, exp(eta)) (log link, metafor's measure "RR"): -inf where ``eta > 0`` (a
    probability above 1), and where ``eta = 0`` unless every trial is an event."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log1mp = np.log(-np.expm1(np.minimum(eta, 0.0)))
        rest = np.where(size - y > 0, (size - y) * log1mp, 0.0)
        out = gammaln(size + 1) - gammaln(y + 1) - gammaln(size - y + 1) + y * eta + rest
    return np.where(eta > 0, -np.inf, out)


def poisson_logpmf(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log Poisson(y; exp(eta)), broadcast over the arrays (log link; eta holds the offset)."""
    return y * eta - np.exp(eta) - gammaln(y + 1)


def _moments(family: str, y: np.ndarray, size: np.ndarray | None, eta: np.ndarray):
    """Score and weight (expected information, lme4's working weight) of each observation with
    respect to its linear predictor."""
    if family == "binomial":
        p = expit(eta)
        return y - size * p, size * p * (1 - p)
    if family == "binomial_log":  # p = exp(eta): d log L / d eta = (y - n p) / (1 - p)
        p = np.exp(np.minimum(eta, -1e-10))
        return (y - size * p) / (1 - p), size * p / (1 - p)
    mu = np.exp(eta)
    return y - mu, mu


def _inv_small(H: np.ndarray) -> np.ndarray:
    """Inverses of a stack of 1x1 or 2x2 symmetric matrices (closed form: no LAPACK call per study)."""
    if H.shape[1] == 1:
        return 1.0 / H
    a, b, d = H[:, 0, 0], H[:, 0, 1], H[:, 1, 1]
    det = a * d - b * b
    return np.stack([np.stack([d, -b], axis=1), np.stack([-b, a], axis=1)], axis=1) / det[:, None, None]


def _chol_small(S: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of 1x1 or 2x2 positive definite matrices."""
    if S.shape[1] == 1:
        return np.sqrt(S)
    l11 = np.sqrt(S[:, 0, 0])
    l21 = S[:, 1, 0] / l11
    l22 = np.sqrt(S[:, 1, 1] - l21**2)
    zero = np.zeros_like(l11)
    return np.stack([np.stack([l11, zero], axis=1), np.stack([l21, l22], axis=1)], axis=1)


def _obs_loglik(family: str, y, size, eta) -> np.ndarray:
    if family == "binomial":
        return binomial_logpmf(y, size, eta)
    if family == "binomial_log":
        return binomial_log_logpmf(y, size, eta)
    return poisson_logpmf(y, eta)


@overload
def marginal_loglik(y: np.ndarray, fixed: np.ndarray, Z: np.ndarray, sd: np.ndarray, family: str = ...,
                    size: np.ndarray | None = ..., n_nodes: int = ..., return_modes: Literal[False] = ...
                    ) -> np.ndarray: ...


@overload
def marginal_loglik(y: np.ndarray, fixed: np.ndarray, Z: np.ndarray, sd: np.ndarray, family: str = ...,
                    size: np.ndarray | None = ..., n_nodes: int = ..., *, return_modes: Literal[True]
                    ) -> tuple[np.ndarray, np.ndarray]: ...


def marginal_loglik(
    y: np.ndarray,
    fixed: np.ndarray,
    Z: np.ndarray,
    sd: np.ndarray,
    family: str = "binomial",
    size: np.ndarray | None = None,
    n_nodes: int = 7,
    return_modes: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Each study's marginal log-likelihood over its normal random effects.

    Parameters
    ----------
    y : numpy.ndarray, shape (k, J)
        Counts (events) of each study's J groups.
    fixed : numpy.ndarray, shape (k, J)
        The fixed part of each linear predictor (log odds, or log rate plus log exposure).
    Z : numpy.ndarray, shape (J, q) or (k, J, q)
        How the q random effects (q = 1 or 2) enter each group's linear predictor (one
        matrix for every study, or one per study: correlated effects ``u = L z`` enter as
        ``Z L`` with independent ``z`` of sd 1).
    sd : array_like, shape (q,) or (k, q)
        Standard deviations of the random effects (> 0; a zero column is left out).
    family : {"binomial", "binomial_log", "poisson"}
        Logit link (binomial), log link (binomial_log: metafor's measure "RR"), log link
        (poisson).
    size : numpy.ndarray, shape (k, J), optional
        Binomial group sizes.
    n_nodes : int
        Gauss-Hermite nodes per dimension (1: Laplace approximation).
    return_modes : bool
        Also return the conditional modes of the random effects, shape (k, q).

    Returns
    -------
    numpy.ndarray, shape (k,)
        log p(y_i) for each study (and the modes when asked).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[4.0, 11.0]]); n = np.array([[123.0, 139.0]])
    >>> ll = marginal_loglik(y, np.array([[-3.0, -2.5]]), np.array([[0.5], [-0.5]]), np.array([0.5]), size=n)
    >>> ll.shape
    (1,)
    """
    y = np.asarray(y, dtype=float)
    fixed = np.asarray(fixed, dtype=float)
    k = y.shape[0]
    Z = np.asarray(Z, dtype=float)
    Z = np.broadcast_to(Z, (k, *Z.shape)) if Z.ndim == 2 else Z    # (k, J, q)
    sd = np.broadcast_to(np.asarray(sd, dtype=float), (k, Z.shape[2]))
    active = np.any(sd > 0, axis=0)
    if not np.any(active):
        ll = np.sum(_obs_loglik(family, y, size, fixed), axis=1)
        return (ll, np.zeros((k, Z.shape[2]))) if return_modes else ll
    Za, sda = Z[:, :, active], sd[:, active]
    q = Za.shape[2]
    prec = 1.0 / sda**2                                     # (k, q)
    u = np.zeros((k, q))
    for _ in range(100):
        eta = fixed + np.einsum("kq,kjq->kj", u, Za)        # (k, J)
        score, w = _moments(family, y, size, eta)
        grad = np.einsum("kj,kjq->kq", score, Za) - prec * u
        H = np.einsum("kj,kja,kjb->kab", w, Za, Za) + prec[:, :, None] * np.eye(q)
        step = np.clip(np.einsum("kab,kb->ka", _inv_small(H), grad), -3.0, 3.0)
        u = u + step
        if np.max(np.abs(step)) < 1e-11:
            break
    eta = fixed + np.einsum("kq,kjq->kj", u, Za)
    _, w = _moments(family, y, size, eta)
    H = np.einsum("kj,kja,kjb->kab", w, Za, Za) + prec[:, :, None] * np.eye(q)
    C = _chol_small(_inv_small(H))                          # (k, q, q): C C' = H^-1
    x, lw = gauss_hermite(int(n_nodes), q)                  # (Q, q), (Q,)
    nodes = u[:, None, :] + np.sqrt(2.0) * np.einsum("kab,Qb->kQa", C, x)   # (k, Q, q)
    eta_q = fixed[:, None, :] + np.einsum("kQq,kjq->kQj", nodes, Za)        # (k, Q, J)
    yq = y[:, None, :]
    sq = None if size is None else size[:, None, :]
    g = (np.sum(_obs_loglik(family, yq, sq, eta_q), axis=2)
         - 0.5 * np.sum(nodes**2 * prec[:, None, :], axis=2)
         - 0.5 * np.sum(np.log(sda**2), axis=1)[:, None] - 0.5 * q * _LOG2PI)
    terms = g + lw[None, :] + np.sum(x**2, axis=1)[None, :]
    m = np.max(terms, axis=1)
    ll = (m + np.log(np.sum(np.exp(terms - m[:, None]), axis=1))
          + 0.5 * q * np.log(2.0) + np.sum(np.log(np.diagonal(C, axis1=1, axis2=2)), axis=1))
    if return_modes:
        full = np.zeros((k, Z.shape[2]))
        full[:, active] = u
        return ll, full
    return ll
