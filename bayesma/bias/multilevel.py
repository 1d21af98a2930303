"""Multilevel (clustered) likelihoods of the RoBMA ensemble: several estimates per study.

The model of RoBMA 4's ``RoBMA(cluster=)`` (Bartoš, Maier, Stanley & Wagenmakers,
2025, "Robust Bayesian multilevel meta-analysis"): estimate ``i`` of cluster ``g``

    y_gi = m_gi + gamma_g + e_gi + eps_gi,   gamma_g ~ N(0, tau_b^2),  e_gi ~ N(0, tau_w^2),
    eps_gi ~ N(0, se_gi^2),   tau_b = tau sqrt(rho),  tau_w = tau sqrt(1 - rho),

with ``rho`` (the share of the heterogeneity variance between clusters) ~ Beta(1, 1).

- Without selection (no bias, PET, PEESE) a cluster's estimates are jointly normal with
  compound-symmetric covariance ``D + tau_b^2 11'`` (``D = diag(se^2 + tau_w^2)``); its
  log density is closed form (matrix determinant lemma and Sherman-Morrison).
- With a step weight function each estimate is selected on its own p-value given the
  cluster effect (RoBMA 4's conditional selection likelihood): given ``gamma_g`` the
  estimates are independent weighted normals, each with its own normalising constant
  ``A_i(gamma_g)``, and ``gamma_g`` is integrated out, one 1-D integral per cluster.
  The normal part integrates in closed form; what is left is the expectation of
  ``prod_i 1 / A_i(gamma_g)`` (a smooth function bounded by the weights) over the normal
  posterior of ``gamma_g`` given the cluster's estimates, computed by Gauss-Hermite
  quadrature on that posterior (adaptive: centred and scaled per cluster and draw).
  Seven nodes (the default) give each cluster's log-likelihood to ~1e-4 under strong selection
  and large between-cluster heterogeneity (fifteen: ~1e-7);
  ``tests/bias/test_robma_multilevel.py`` checks it against a direct numerical
  integral of the full integrand written in the test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from bayesma._validate import study_name
from bayesma.bias.likelihood import interval_index
from bayesma.errors import InputError

__all__ = ["Clusters", "Allocation", "cluster_loglik", "make_clusters"]

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Allocation:
    """Beta prior of rho, the share of heterogeneity between clusters (RoBMA's default Beta(1, 1))."""

    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self):
        if not (self.alpha > 0 and self.beta > 0):
            raise InputError(f"the Beta prior of rho needs positive parameters, got ({self.alpha}, {self.beta})")

    @property
    def label(self) -> str:
        return f"Beta({self.alpha:g}, {self.beta:g})"

    def logpdf(self, rho: np.ndarray) -> np.ndarray:
        a, b = self.alpha, self.beta
        return (special.xlogy(a - 1, rho) + special.xlog1py(b - 1, -rho)
                - (special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)))


@dataclass
class Clusters:
    """Estimates grouped by cluster: the data are sorted so that each cluster is contiguous.

    Attributes
    ----------
    order : numpy.ndarray of shape (k,)
        Row order that sorts the estimates by cluster (stable).
    starts : numpy.ndarray of shape (g,)
        First position of each cluster in the sorted order.
    member : numpy.ndarray of shape (k,)
        Cluster index of each sorted estimate.
    names : list
        Cluster labels in that order.
    """

    order: np.ndarray
    starts: np.ndarray
    member: np.ndarray
    names: list
    n_nodes: int = 7

    @property
    def g(self) -> int:
        return int(self.starts.size)

    def sums(self, x: np.ndarray) -> np.ndarray:
        """Sums over the estimates of each cluster: ``(n, k) -> (n, g)`` (sorted data)."""
        return np.add.reduceat(x, self.starts, axis=-1)


def make_clusters(values, labels=None, column: str = "cluster", n_nodes: int = 7) -> Clusters:
    """Group estimates by the values of a cluster column (a missing value is an error naming the study).

    Examples
    --------
    >>> cl = make_clusters(["b", "a", "b", "c"])
    >>> cl.order.tolist(), cl.starts.tolist(), cl.names
    ([1, 0, 2, 3], [0, 1, 3], ['a', 'b', 'c'])
    """
    s = pd.Series(list(values))
    missing = np.flatnonzero(s.isna().to_numpy())
    if missing.size:
        i = int(missing[0])
        raise InputError(f"column {column!r}: {study_name(labels, i)} has no cluster (missing value); "
                         "every estimate needs the study it comes from", study=None if labels is None else labels[i],
                         row=i + 1, column=column)
    codes, names = pd.factorize(s.astype(str), sort=True)
    order = np.argsort(codes, kind="stable")
    member = codes[order]
    starts = np.flatnonzero(np.r_[True, member[1:] != member[:-1]])
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 3:
        raise InputError(f"the number of quadrature nodes must be an integer >= 3, got {n_nodes!r}")
    return Clusters(order, starts, member, list(names), int(n_nodes))


def _normal_cluster(y, se, m, tau_w, tau_b, cl: Clusters) -> np.ndarray:
    d = se[None, :] ** 2 + tau_w[:, None] ** 2
    r = y[None, :] - m
    a = cl.sums(1.0 / d)
    b = cl.sums(r / d)
    c = cl.sums(r * r / d)
    t2 = tau_b[:, None] ** 2
    one = 1.0 + t2 * a
    quad = c - t2 * b * b / one
    logdet = cl.sums(np.log(d)) + np.log(one)
    return -0.5 * (y.size * _LOG_2PI + (logdet + quad).sum(axis=1))


def _selection_cluster(y, se, m, tau_w, tau_b, cl: Clusters, omega, crit, sides) -> np.ndarray:
    # log L_g = log N(y_g; m_g, D + tau_b^2 11') + sum_i log omega(y_i) - ... + log E[prod_i 1 / A_i(gamma)],
    # the expectation over the normal posterior of gamma_g given the cluster's estimates (no selection)
    base = _normal_cluster(y, se, m, tau_w, tau_b, cl)
    d = se[None, :] ** 2 + tau_w[:, None] ** 2
    inv_s = 1.0 / np.sqrt(d)
    idx = interval_index(y, crit, sides)
    log_w_obs = np.log(omega[:, idx]).sum(axis=1)
    tb2 = np.maximum(tau_b, 1e-12)[:, None] ** 2
    v = 1.0 / (1.0 / tb2 + cl.sums(1.0 / d))
    centre = v * cl.sums((y[None, :] - m) / d)
    step = np.sqrt(2.0 * v)
    domega = np.diff(omega, axis=1)
    x, w = np.polynomial.hermite.hermgauss(cl.n_nodes)
    terms = []
    for xq, wq in zip(x, w):
        mean = m + (centre + step * xq)[:, cl.member]
        norm = np.broadcast_to(omega[:, -1:], mean.shape).copy()
        for j in range(crit.shape[1]):
            cdf = special.ndtr((crit[None, :, j] - mean) * inv_s)
            if sides == "two":
                cdf -= special.ndtr((-crit[None, :, j] - mean) * inv_s)
            norm -= cdf * domega[:, j:j + 1]
        terms.append(math.log(wq / math.sqrt(math.pi)) - cl.sums(np.log(norm)))
    return base + log_w_obs + special.logsumexp(np.stack(terms), axis=0).sum(axis=1)


def cluster_loglik(y: np.ndarray, se: np.ndarray, m: np.ndarray, tau_w: np.ndarray, tau_b: np.ndarray,
                   cl: Clusters, *, omega: np.ndarray | None = None, crit: np.ndarray | None = None,
                   sides: str = "one") -> np.ndarray:
    """Log-likelihood of draws of a multilevel model (data sorted by cluster).

    Parameters
    ----------
    y, se : array of shape (k,)
        Estimates and standard errors on the fitting scale, sorted as ``cl.order``.
    m : array of shape (n, k)
        Expected value of each estimate (mean effect, moderators, PET/PEESE term).
    tau_w, tau_b : array of shape (n,)
        Within- and between-cluster heterogeneity SDs.
    cl : Clusters
    omega, crit, sides
        Step weight function (see :func:`bayesma.bias.likelihood.loglik`); ``None``:
        no selection (closed form).

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    y = np.asarray(y, float)
    se = np.asarray(se, float)
    if omega is None:
        return _normal_cluster(y, se, m, tau_w, tau_b, cl)
    return _selection_cluster(y, se, m, tau_w, tau_b, cl, omega, crit, sides)
