"""Correlated sampling errors in the exact engine: the CHE model by rotating each cluster.

The correlated-and-hierarchical-effects (CHE) model has, in cluster j,

    y_j ~ N(X_j beta, V_j + tau_within^2 I + tau^2 1 1')

with V_j the known sampling covariance of the cluster's effects. Write
``V_j = Q_j diag(L_j) Q_j'`` (its eigendecomposition). In the rotated coordinates
``Q_j' y_j`` the covariance is ``diag(L_j + tau_within^2) + tau^2 a_j a_j'`` with
``a_j = Q_j' 1``: a diagonal matrix plus a rank-one term, exactly the three-level
algebra of :func:`bayesma.exact.likelihood._ll_cluster` with a loading ``a`` on the
cluster effect. The log determinant and every quadratic form are unchanged by the
rotation, so the marginal likelihood, ``beta | tau, tau_within, y`` and the 2-D
quadrature over ``(tau, tau_within)`` are those of the three-level model, linear in
the number of clusters. The eigendecompositions are computed once, batched over
clusters of equal size.

The study effects are rotated back with the block-diagonal ``Q`` (a sparse matrix):
their conditional means and variances (:func:`theta_rotated`) and their draws
(:func:`draw_theta_rotated`, by Matheron's rule: a prior draw corrected by the
data, which needs only the square root of the prior covariance of the true effects,
``tau_within I + gamma a a'``). Both accept a *negative* between-cluster variance
component (compound symmetry across outcomes with rho < 0,
:mod:`bayesma.exact.multivariate`), as long as the covariance is positive definite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .likelihood import _Clusters
from .quadrature import _CHUNK, _mixture_moments, _mixture_quantiles

__all__ = ["rotated_clusters", "theta_rotated", "draw_theta_rotated", "theta_summary_rotated"]


def rotated_clusters(y: np.ndarray, X: np.ndarray | None, cluster_index: np.ndarray,
                     blocks: tuple[np.ndarray, ...]) -> _Clusters:
    """The effects sorted by cluster and rotated by the eigenvectors of each cluster's V block.

    Parameters
    ----------
    y : numpy.ndarray
        Effects (k,), in the data's order.
    X : numpy.ndarray or None
        Design matrix (k, p).
    cluster_index : numpy.ndarray
        Cluster code (0..J-1) of each effect.
    blocks : tuple of numpy.ndarray
        ``blocks[j]``: the sampling covariance of cluster j's effects, rows in the data's order.

    Returns
    -------
    _Clusters
        With ``v`` the eigenvalues, ``y``/``X`` rotated, ``a = Q'1`` and ``Q`` the sparse
        block-diagonal rotation (sorted order: ``theta_sorted = Q @ theta_rotated``).
    """
    cl = _Clusters.create(y, np.ones(y.size), X, cluster_index)
    k = y.size
    sizes = np.diff(np.r_[cl.starts, k])
    L, yt, a = np.empty(k), np.empty(k), np.empty(k)
    Xt = None if X is None else np.empty_like(cl.X)
    rows, cols, vals = [], [], []
    for n in np.unique(sizes):
        js = np.flatnonzero(sizes == n)
        B = np.stack([np.asarray(blocks[j], dtype=float) for j in js])  # (m, n, n)
        lam, Qb = np.linalg.eigh(B)
        idx = cl.starts[js][:, None] + np.arange(n)  # (m, n) sorted positions
        L[idx] = np.maximum(lam, 1e-12 * np.maximum(lam.max(axis=1, keepdims=True), 1e-300))
        yt[idx] = np.einsum("mil,mi->ml", Qb, cl.y[idx])
        a[idx] = Qb.sum(axis=1)
        if Xt is not None and cl.X is not None:
            Xt[idx] = np.einsum("mil,mip->mlp", Qb, cl.X[idx])
        rows.append(np.broadcast_to(idx[:, :, None], Qb.shape).reshape(-1))
        cols.append(np.broadcast_to(idx[:, None, :], Qb.shape).reshape(-1))
        vals.append(Qb.reshape(-1))
    Q = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(k, k))
    return _Clusters(cl.order, cl.starts, cl.index, yt, L, Xt, a=a, Q=Q)


def _back(cl: _Clusters, x: np.ndarray, Q: Any = None) -> np.ndarray:
    """Q @ x for rows of x (n, k): rotated -> sorted order."""
    Q = cl.Q if Q is None else Q
    return np.asarray(Q @ x.T).T


def theta_rotated(cl: _Clusters, t2b: np.ndarray, t2w: np.ndarray, b: np.ndarray, V: np.ndarray):
    """Mean and variance of theta | (tau^2, tau_within^2), y at G nodes: (k, G) each, data order.

    Parameters
    ----------
    cl : _Clusters
        From :func:`rotated_clusters`.
    t2b, t2w : numpy.ndarray
        Between-cluster variance component (may be negative) and within variance, (G,).
    b, V : numpy.ndarray
        beta | variances, y: means (G, p) and covariances (G, p, p).

    Returns
    -------
    tuple of numpy.ndarray
        Means and variances (k, G).
    """
    G, k = t2b.size, cl.y.size
    X = np.zeros((k, 0)) if cl.X is None else cl.X  # no coefficients: an empty design
    assert cl.a is not None  # rotated clusters carry their loadings
    p = X.shape[1]
    Q2 = cl.Q.multiply(cl.Q).tocsr()
    m = np.empty((k, G))
    s2 = np.empty((k, G))
    step = max(1, int(_CHUNK // (8 * k * max(p, 1))))
    idx = cl.index
    for s0 in range(0, G, step):
        sl = slice(s0, s0 + step)
        w = 1.0 / (cl.v[None] + t2w[sl, None])  # (g, k)
        r = cl.y[None] - (b[sl] @ X.T if p else 0.0)
        s, _, ax = cl.block_sums(w)
        c = (t2b[sl, None] / (1.0 + t2b[sl, None] * s))[:, idx]  # (g, k)
        wa = w * cl.a
        R = np.add.reduceat(wa * r, cl.starts, axis=1)[:, idx]
        mt = cl.y[None] - cl.v[None] * (w * r - c * wa * R)
        var = _back(cl, cl.v[None] - cl.v[None] ** 2 * w, Q2) + c * _back(cl, cl.v[None] * wa) ** 2
        if p and ax is not None:
            H = cl.v[None, :, None] * (w[..., None] * X[None] - (c * wa)[..., None] * ax[:, idx])
            QH = np.stack([_back(cl, H[..., j]) for j in range(p)], axis=-1)
            var = var + np.einsum("gkp,gpq,gkq->gk", QH, V[sl], QH)
        m[cl.order, sl] = _back(cl, mt).T
        s2[cl.order, sl] = var.T
    return m, s2


STEP_ELEMENTS = _CHUNK


def draw_theta_rotated(cl: _Clusters, t2b: np.ndarray, t2w: np.ndarray, xb: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """Draws of theta | beta, variances, y (n, k) in data order, by Matheron's rule.

    A draw ``theta*`` from the prior of the true effects and ``y* = theta* + e*`` from the
    sampling model give ``theta = theta* + G Sigma^-1 (y - y*)``, an exact posterior draw;
    in the rotated coordinates ``G Sigma^-1 = I - diag(L) Sigma^-1``.

    Parameters
    ----------
    cl : _Clusters
        From :func:`rotated_clusters`.
    t2b, t2w : numpy.ndarray
        Variance components of each draw (n,) (t2b may be negative).
    xb : numpy.ndarray
        ``X beta`` of each draw (n, k), data order.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray
        (n, k), data order.
    """
    n, k = xb.shape
    idx = cl.index
    assert cl.a is not None  # rotated clusters carry their loadings
    # everything in the (k, draws) layout: the block sums add contiguous rows, Q multiplies columns
    sizes = np.diff(np.r_[cl.starts, k]).astype(float)[:, None]
    z1 = rng.standard_normal((n, k)).T
    z2 = rng.standard_normal((n, k)).T
    out = np.empty((n, k))
    QT = cl.Q.T.tocsr()
    a, v = cl.a[:, None], cl.v[:, None]
    sv, y = np.sqrt(v), cl.y[:, None]
    red = lambda z: np.add.reduceat(z, cl.starts, axis=0)  # noqa: E731
    step = int(min(512, max(8, STEP_ELEMENTS // k)))  # draws per block: temporaries of cache size
    for s0 in range(0, n, step):
        sl = slice(s0, s0 + step)
        b2, w2 = t2b[None, sl], t2w[None, sl]
        xbt = QT @ xb[sl][:, cl.order].T  # rotated X beta (k, g)
        tw = np.sqrt(w2)
        gam = (np.sqrt(np.maximum(w2 + sizes * b2, 0.0)) - tw) / sizes  # (J, g)
        eta = tw * z1[:, sl] + a * (gam * red(a * z1[:, sl]))[idx]
        rp = y - xbt - eta - sv * z2[:, sl]
        w = 1.0 / (v + w2)
        wa = w * a
        c = b2 / (1.0 + b2 * red(wa * a))  # (J, g)
        sinv = w * rp - wa * (c * red(wa * rp))[idx]
        out[sl, cl.order] = (cl.Q @ (xbt + eta + rp - v * sinv)).T
    return out


#: Sizes m of the nested m x m Gauss rules tried for the study effects (coarse to fine).
RULE_SIZES = (8, 16, 24, 32, 48)


def _sample_clusters(ep: Any, n_clusters: int = 48) -> _Clusters:
    """The rotated clusters of a sample of clusters (all of them when there are few): those of the
    smallest and largest effect and sampling variance, and an even spread of the rest."""
    cl, spec = ep.grid_clusters, ep.spec
    J = cl.J
    if J <= n_clusters:
        return cl
    ci = spec.cluster_index
    picks = ci[[np.argmin(spec.vi), np.argmax(spec.vi), np.argmin(spec.yi), np.argmax(spec.yi)]]
    keep = np.unique(np.r_[picks, np.linspace(0, J - 1, n_clusters).astype(int)])
    sel = np.flatnonzero(np.isin(ci, keep))
    codes = np.searchsorted(keep, ci[sel])
    X = None if cl.X is None else spec.X[sel]
    return rotated_clusters(spec.yi[sel], X, codes, tuple(spec.dependence.blocks[j] for j in keep))


def theta_summary_rotated(ep: Any, qs: tuple[float, ...], bV_at: Any, exact_tol: float = 1e-9, tol: float = 1e-4):
    """Quantiles (k, len(qs)), means and sds of the CHE study effects, data order.

    theta | y is a mixture over (tau, tau_within) of normals (:func:`theta_rotated`), here taken
    over the nested m x m Gauss rule compressed from the quadrature grid (``grid.compressed``)
    for m in :data:`RULE_SIZES`, coarse to fine, compared on a sample of clusters: when two
    successive rules agree within *exact_tol* posterior sd the coarser one is used (many clusters
    concentrate the posterior of the variances: 8 x 8 nodes are then exact to rounding); when they
    agree within *tol* the finer one is (the rules converge geometrically, so its error is far
    below their difference: dat.assink2016 takes 32 x 32 nodes, within 1e-6 sd of 48 x 48). The
    full grid (about 10^4 nodes) is never needed. ``bV_at(ep, tau, tau_within)`` gives the
    coefficients' conditional means and covariances at the nodes (:func:`bayesma.exact.effects.bV_at`).
    """
    g = ep.grid
    rules: dict[int, tuple] = {}

    def rule(m: int):
        if m not in rules:
            u1, u2, w = g.compressed(m, m)
            t1, t2 = np.exp(u1), np.exp(u2)
            b, V = bV_at(ep, t1, t2)
            rules[m] = (w, t1 * t1, t2 * t2, b, V)
        return rules[m]

    def summ(cl: _Clusters, m: int):
        w, s1, s2, b, V = rule(m)
        mean, var = theta_rotated(cl, s1, s2, b, V)
        sd = np.sqrt(np.maximum(var, 1e-300))
        return _mixture_quantiles(w[None], mean, sd, qs), *_mixture_moments(w[None], mean, sd)

    sample = _sample_clusters(ep)
    results: dict[int, tuple] = {}
    chosen = RULE_SIZES[-1]
    for coarse, fine in zip(RULE_SIZES[:-1], RULE_SIZES[1:]):
        a = results.setdefault(coarse, summ(sample, coarse))
        b = results.setdefault(fine, summ(sample, fine))
        sd = b[2]
        err = max(np.max(np.abs(a[0] - b[0]) / sd[:, None]), np.max(np.abs(a[1] - b[1]) / sd),
                  np.max(np.abs(a[2] - b[2]) / sd))
        if err < tol:
            chosen = coarse if err < exact_tol else fine
            break
    return results[chosen] if sample is ep.grid_clusters else summ(ep.grid_clusters, chosen)
