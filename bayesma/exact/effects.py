"""The study effects theta_i and a new study's effect theta_new of an exact posterior.

Given the heterogeneity, each is normal; over the quadrature nodes, a mixture of normals.
These functions build those mixtures (all nodes, or a compressed Gauss rule for very large
k) and the summaries of the study effects; they take an :class:`ExactPosterior`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .likelihood import _finish, _loglik_beta, _sq
from .quadrature import _CHUNK, _Q, _gauss_compress, _mixture_moments, _mixture_quantiles

__all__ = ["theta_nodes", "bV_at", "theta_summary", "theta_mixture", "theta_cluster", "theta_new_mixture"]


def theta_nodes(ep: Any, compressed: bool = False):
    """Weights, tau values and (b, V) at the nodes for the study effects.

    ``compressed=False``: all quadrature nodes (negligible weights pruned).
    ``compressed=True``: a Gauss rule for the posterior of the heterogeneity built
    from the nodes (Lanczos; 48 nodes in 1-D, 32 x 32 nested in 2-D). Its mixture
    quantiles are within about 1e-4 posterior sd; :meth:`summary` polishes them with
    Newton steps on the full rule unless k is very large.
    """
    key = "theta_c" if compressed else "theta"
    if key in ep._nodes:
        return ep._nodes[key]
    w, b, V, taus = ep._mixture_nodes()
    spec = ep.spec
    g = ep.grid
    if ep.kind in ("tau_by", "cluster"):
        keep = w > 1e-13 * w.max()
        w = w[keep] / w[keep].sum()
        b, V = b[keep], V[keep]
        taus = {name: val[keep] for name, val in taus.items()}
    if compressed and ep.kind == "random":
        x, wc = _gauss_compress(g.u[0].reshape(-1), g.weights[0], 48)
        tau = np.exp(x)
        _, bc, Vc = _loglik_beta((tau * tau)[None], spec.yi[None], spec.vi[None], spec.X, ep.loc)
        w = np.concatenate([wc, g.atom])
        b = np.concatenate([bc[0], g.b0])
        V = np.concatenate([Vc[0], g.V0])
        taus = {"tau": np.concatenate([tau, [0.0]])}
    elif compressed and ep.kind in ("tau_by", "cluster"):
        u1, u2, w = g.compressed(32, 32)
        t1, t2 = np.exp(u1), np.exp(u2)
        b, V = bV_at(ep, t1, t2)
        taus = {ep.tau_names[0]: t1, ep.tau_names[1]: t2}
    ep._nodes[key] = (w, b, V, taus)
    return ep._nodes[key]


def bV_at(ep: Any, t1: np.ndarray, t2: np.ndarray, chunk: int | None = None):
    """beta | (tau_1, tau_2), y at paired values (2-D models): b (N, p), V (N, p, p)."""
    spec, loc = ep.spec, ep.loc
    N = t1.size
    b = np.empty((N, loc.p))
    V = np.empty((N, loc.p, loc.p))
    if ep.kind == "tau_by":
        g = spec.group_index
        for s0 in range(0, N, 256):
            sl = slice(s0, s0 + 256)
            t2i = np.where(g[None, :] == 0, t1[sl, None] ** 2, t2[sl, None] ** 2)
            d = spec.vi[None, :] + t2i
            w = 1.0 / d
            A = (w @ (spec.X[:, :, None] * spec.X[:, None, :]).reshape(spec.k, -1)).reshape(-1, loc.p, loc.p)
            h = w @ (spec.yi[:, None] * spec.X)
            _, b[sl], V[sl] = _finish(np.zeros(A.shape[0]), A, h, spec.k, loc)
    else:
        cl = ep.grid_clusters
        X = cl.X
        step = max(1, int(_CHUNK // max(cl.y.size * loc.p, 1)))
        for s0 in range(0, N, step):
            sl = slice(s0, s0 + step)
            d = cl.v[None] + t2[sl, None] ** 2  # (n, k)
            w = 1.0 / d
            s, r, a = cl.block_sums(w)  # (n, J), (n, J), (n, J, p)
            c = _sq(t1[sl, None]) / (1.0 + _sq(t1[sl, None]) * s)
            A = np.einsum("nk,kp,kq->npq", w, X, X) - np.einsum("nj,njp,njq->npq", c, a, a)
            h = w @ (cl.y[:, None] * X) - np.einsum("nj,njp,nj->np", c, a, r)
            _, b[sl], V[sl] = _finish(np.zeros(A.shape[0]), A, h, spec.k, loc)
    return b, V


def theta_summary(ep: Any, small: float = 3e6, large: float = 3e7, qs: tuple[float, ...] = _Q):
    """Quantiles (k, 3), means and sds of the study effects.

    k x nodes <= *small*: root-finding on the full mixture. Otherwise quantiles start
    from the compressed rule and take Newton steps on the full mixture while
    k x nodes <= *large*; beyond that the compressed rule alone (large k).
    """
    spec = ep.spec
    if ep.kind == "common":
        tw, tm, ts = theta_mixture(ep)
        return _mixture_quantiles(tw[None], tm, ts, qs), *_mixture_moments(tw[None], tm, ts)
    if ep.kind == "cluster" and ep.grid_clusters.Q is not None:  # CHE: a small nested Gauss rule (exact/che.py)
        from .che import theta_summary_rotated

        return theta_summary_rotated(ep, qs, bV_at)
    G = theta_nodes(ep)[0].size
    if G * spec.k <= small:
        tw, tm, ts = theta_mixture(ep)
        return _mixture_quantiles(tw[None], tm, ts, qs), *_mixture_moments(tw[None], tm, ts)
    q0, mean0, sd0 = _by_blocks(ep, qs, compressed=True)
    if G * spec.k > large or _compressed_is_converged(ep, q0, mean0, sd0, qs):
        return q0, mean0, sd0
    return _by_blocks(ep, qs, compressed=False, x0=q0)


def _by_blocks(ep: Any, qs, compressed: bool, x0: np.ndarray | None = None, block: int = 1024):
    """Quantiles and moments of the study effects' mixtures, *block* studies at a time (each
    study's mixture is its own: the same numbers as one (k, nodes) array, whose temporaries
    leave the CPU cache at large k: half the CPU time at k = 100,000). *x0*: starting quantiles,
    polished with three Newton steps."""
    k = ep.spec.k
    whole = ep.kind == "cluster" or k <= block  # three-level mixtures are computed for all studies at once
    parts = []
    for start in range(0, k, k if whole else block):
        rows = None if whole else np.arange(start, min(start + block, k))
        tw, tm, ts = theta_mixture(ep, compressed, rows=rows)
        if x0 is None:
            q = _mixture_quantiles(tw[None], tm, ts, qs)
        else:
            q = _mixture_quantiles(tw[None], tm, ts, qs, x0=x0 if rows is None else x0[rows], max_iter=3)
        parts.append((q, *_mixture_moments(tw[None], tm, ts)))
    return tuple(np.concatenate(p) for p in zip(*parts))


def _compressed_is_converged(ep: Any, q0, mean0, sd0, qs, n_check: int = 200, tol: float = 1e-9) -> bool:
    """Whether the compressed rule's summaries of theta equal the full rule's (within *tol* posterior
    sd) on a sample of studies: the extremes of v and of y and an even spread of the rest. The
    mixtures of all studies share the nodes in tau and vary smoothly with (y_i, v_i), so when the
    sampled ones agree the full polish (O(k x nodes) several times) changes nothing."""
    spec = ep.spec
    k = spec.k
    picks = [np.argmin(spec.vi), np.argmax(spec.vi), np.argmin(spec.yi), np.argmax(spec.yi)]
    rows = np.unique(np.r_[picks, np.linspace(0, k - 1, min(k, n_check)).astype(int)])
    tw, tm, ts = theta_mixture(ep, rows=rows)
    q = _mixture_quantiles(tw[None], tm, ts, qs, x0=q0[rows], max_iter=3)
    mean, sd = _mixture_moments(tw[None], tm, ts)
    err = max(np.max(np.abs(q - q0[rows]) / sd[:, None]), np.max(np.abs(mean - mean0[rows]) / sd),
              np.max(np.abs(sd - sd0[rows]) / sd))
    return bool(err < tol)


def theta_mixture(ep: Any, compressed: bool = False,
                   rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """theta_i | y as mixtures: weights (G,), means and sds (k, G) (only the studies *rows*, when given)."""
    spec = ep.spec
    y, v, X = spec.yi, spec.vi, spec.X
    group = spec.group_index
    if rows is not None and ep.kind != "cluster":
        y, v, X = y[rows], v[rows], X[rows]
        group = None if group is None else group[rows]
    if ep.kind == "common":
        w, b, V, _ = ep._mixture_nodes()
        m = (X @ b[0])[:, None]
        s = np.sqrt(np.einsum("kp,pq,kq->k", X, V[0], X))[:, None]
        return w, m, s
    w, b, V, taus = theta_nodes(ep, compressed)
    xb = X @ b.T  # (k, G)
    xVx = np.einsum("kp,gpq,kq->kg", X, V, X)
    if ep.kind == "cluster":
        m, s2 = theta_cluster(ep, taus["tau"], taus["tau_within"], b, V)
        if rows is not None:
            m, s2 = m[rows], s2[rows]
        return w, m, np.sqrt(np.maximum(s2, 1e-300))
    if ep.kind == "tau_by":
        t1, t2 = taus[ep.tau_names[0]], taus[ep.tau_names[1]]
        tau2 = np.where(group[:, None] == 0, t1[None] ** 2, t2[None] ** 2)
    else:
        tau2 = taus["tau"][None] ** 2
    Bs = v[:, None] / (v[:, None] + tau2)
    m = y[:, None] - Bs * (y[:, None] - xb)
    s2 = v[:, None] * (1.0 - Bs) + Bs**2 * xVx
    return w, m, np.sqrt(np.maximum(s2, 1e-300))


def theta_cluster(ep: Any, tau, tau_w, b, V):
    """Mean and variance of theta | tau, tau_within, y for three-level models: (k, G) in spec order.

    With Sigma^-1 of each cluster from Sherman-Morrison:
    E[theta | .] = y - v * Sigma^-1 (y - X b) and
    Var[theta_i | .] = v_i - v_i^2 ([Sigma^-1]_ii - (Sigma^-1 X)_i V (Sigma^-1 X)_i').
    """
    cl = ep.grid_clusters
    if cl.Q is not None:  # correlated sampling errors: the rotated algebra (exact/che.py)
        from .che import theta_rotated

        return theta_rotated(cl, _sq(tau), tau_w**2, b, V)
    G = tau.size
    k = cl.y.size
    m = np.empty((k, G))
    s2 = np.empty((k, G))
    step = max(1, int(_CHUNK // (8 * k * max(cl.X.shape[1], 1))))
    for s0 in range(0, G, step):
        sl = slice(s0, s0 + step)
        d = cl.v[None] + tau_w[sl, None] ** 2  # (g, k)
        r = cl.y[None] - b[sl] @ cl.X.T
        s = np.add.reduceat(1.0 / d, cl.starts, axis=1)  # (g, J)
        c = tau[sl, None] ** 2 / (1.0 + tau[sl, None] ** 2 * s)
        R = np.add.reduceat(r / d, cl.starts, axis=1)
        a = np.add.reduceat(cl.X[None] / d[..., None], cl.starts, axis=1)  # (g, J, p)
        cj = c[:, cl.index]
        Sinv_r = r / d - cj * R[:, cl.index] / d
        Sinv_X = cl.X[None] / d[..., None] - (cj / d)[..., None] * a[:, cl.index]
        Sinv_ii = 1.0 / d - cj / d**2
        diag = Sinv_ii - np.einsum("gkp,gpq,gkq->gk", Sinv_X, V[sl], Sinv_X)
        m[cl.order, sl] = (cl.y[None] - cl.v[None] * Sinv_r).T
        s2[cl.order, sl] = (cl.v[None] - cl.v[None] ** 2 * diag).T
    return m, s2


def theta_new_mixture(ep: Any) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    spec = ep.spec
    w, b, V, taus = ep._mixture_nodes()
    x = spec.x_new
    mean = b @ x
    var0 = np.einsum("p,gpq,q->g", x, V, x)
    if ep.kind == "common":
        return {"theta_new": (w, mean, np.sqrt(var0))}
    if ep.kind == "random":
        return {"theta_new": (w, mean, np.sqrt(var0 + taus["tau"] ** 2))}
    if ep.kind == "cluster":
        return {"theta_new": (w, mean, np.sqrt(var0 + taus["tau"] ** 2 + taus["tau_within"] ** 2))}
    out = {}
    for g, (gname, name) in enumerate(zip(spec.group_names, ep.tau_names)):
        xg = spec.x_new_groups[g]
        var_g = np.einsum("p,gpq,q->g", xg, V, xg)
        out[f"theta_new[{gname}]"] = (w, b @ xg, np.sqrt(var_g + taus[name] ** 2))
    return out
