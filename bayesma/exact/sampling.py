"""Independent draws from an exact posterior (they fill ``.idata`` so every plot works)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .effects import bV_at
from .likelihood import _loglik_beta, _sq
from .quadrature import _gauss_legendre

__all__ = ["draw_posterior"]


#: Draws x studies above which beta | tau is interpolated between the grid's nodes instead of
#: computed from all k studies at every drawn tau (O(draws x k)): within 1e-9 of it.
_EXACT_BV = 4e6


def _barycentric(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [-1, 1] and their barycentric interpolation weights."""
    t = _gauss_legendre(n)[0]
    diff = t[:, None] - t[None, :]
    np.fill_diagonal(diff, 1.0)
    return t, 1.0 / diff.prod(axis=1)


def _bV_interpolated(g: Any, u01: np.ndarray, tau: np.ndarray, spec: Any, loc: Any):
    """beta | tau, y ~ N(b, V) at the drawn tau: Lagrange interpolation in u = log(tau) through the n
    Gauss-Legendre nodes of the panel each draw falls in (b and V are smooth in u); exact at tau = 0
    and for draws beyond the last panel. O(draws x nodes) instead of O(draws x k)."""
    n_nodes = g.n
    edges, P = g.edges[0], g.edges.shape[1] - 1
    p = g.b.shape[-1]
    bn = g.b[0].reshape(P, n_nodes, p)
    Vn = g.V[0].reshape(P, n_nodes, p * p)
    b = np.empty((tau.size, p))
    V = np.empty((tau.size, p, p))
    with np.errstate(divide="ignore"):
        u = np.log(tau)
    zero = tau <= 0
    b[zero], V[zero] = g.b0[0], g.V0[0]
    inside = ~zero & (u >= edges[0]) & (u <= edges[-1])
    if inside.any():
        j = np.clip(np.searchsorted(edges, u[inside], side="right") - 1, 0, P - 1)
        t = 2.0 * (u[inside] - edges[j]) / (edges[j + 1] - edges[j]) - 1.0  # on [-1, 1]
        nodes, bw = _barycentric(n_nodes)
        d = t[:, None] - nodes[None, :]
        hit = d == 0.0
        d[hit] = 1.0
        c = bw[None, :] / d
        c[hit.any(1)] = hit[hit.any(1)]  # a draw on a node takes the node's value
        c /= c.sum(1, keepdims=True)
        b[inside] = np.einsum("ni,nip->np", c, bn[j])
        V[inside] = np.einsum("ni,nip->np", c, Vn[j]).reshape(-1, p, p)
    rest = ~zero & ~inside
    if rest.any():
        _, br, Vr = _loglik_beta((tau[rest] ** 2)[None], spec.yi[None], spec.vi[None], spec.X, loc)
        b[rest], V[rest] = br[0], Vr[0]
    return b, V


def draw_posterior(ep: Any, n: int, rng: np.random.Generator, theta: bool = True) -> dict[str, np.ndarray]:
    """n independent draws from an :class:`ExactPosterior`: a dict name -> array (n, ...).

    tau by inverting its exact cdf (2-D: the marginal of the second SD, then the first
    given it), beta | tau from its normal conditional, theta | beta, tau, y and a new
    study's effect from theirs; the same generator state gives the same draws."""
    spec, loc = ep.spec, ep.loc
    k, p = spec.k, loc.p
    out: dict[str, np.ndarray] = {}
    u01 = rng.random(n)
    if ep.kind == "common":
        g = ep.grid
        b, V = np.broadcast_to(g["b"], (n, p)), np.broadcast_to(g["V"], (n, p, p))
    elif ep.kind == "random":
        g = ep.grid
        tau = np.exp(g.u_quantiles(u01[None])[0])
        tau = np.where(np.isfinite(tau), tau, 0.0)
        if n * k > _EXACT_BV:
            b, V = _bV_interpolated(g, u01, tau, spec, loc)
        else:
            _, b, V = _loglik_beta((tau * tau)[None], spec.yi[None], spec.vi[None], spec.X, loc)
            b, V = b[0], V[0]
        out["tau"] = tau
    else:
        g = ep.grid
        u1s, u2s = g.draw(u01, rng)
        t1, t2 = np.exp(u1s), np.exp(u2s)
        b, V = bV_at(ep, t1, t2)
        if ep.kind == "tau_by":
            out["tau"] = np.stack([t1, t2], axis=1)
        else:
            out["tau"], out["tau_within"] = t1, t2
    L = np.linalg.cholesky(V)
    beta = b + np.einsum("npq,nq->np", L, rng.standard_normal((n, p)))
    if spec.is_regression:
        out["beta"] = beta
    else:
        out["mu"] = beta[:, 0]
    xb_new = beta @ spec.x_new
    if theta:
        xb = beta @ spec.X.T  # (n, k)
        y, v = spec.yi[None], spec.vi[None]
        if ep.kind == "common":
            out["theta"] = xb
        elif ep.kind == "cluster":
            out["theta"] = _draw_theta_cluster(ep, out["tau"], out["tau_within"], xb, rng)
        else:
            if ep.kind == "tau_by":
                tau2 = np.where(spec.group_index[None] == 0, out["tau"][:, :1] ** 2, out["tau"][:, 1:] ** 2)
            else:
                tau2 = out["tau"][:, None] ** 2
            Bs = v / (v + tau2)
            mean = y - Bs * (y - xb)
            out["theta"] = mean + np.sqrt(v * (1.0 - Bs)) * rng.standard_normal((n, k))
    z_new = rng.standard_normal(n if ep.kind != "tau_by" else (n, 2))
    if ep.kind == "common":
        out["theta_new"] = xb_new
    elif ep.kind == "random":
        out["theta_new"] = xb_new + out["tau"] * z_new
    elif ep.kind == "tau_by":
        out["theta_new"] = beta @ spec.x_new_groups.T + out["tau"] * z_new
    else:
        z2 = rng.standard_normal(n)
        out["theta_new"] = xb_new + out["tau"] * z_new + out["tau_within"] * z2
    return out

def _draw_theta_cluster(ep: Any, tau, tau_w, xb, rng):
    cl = ep.grid_clusters
    if cl.Q is not None:  # correlated sampling errors: the rotated algebra (exact/che.py)
        from .che import draw_theta_rotated

        return draw_theta_rotated(cl, _sq(tau), tau_w**2, xb, rng)
    n, k = xb.shape
    zu = rng.standard_normal((n, cl.J))
    zw = rng.standard_normal((n, k))
    out = np.empty((n, k))
    xb_s = xb[:, cl.order]
    for s0 in range(0, n, 512):
        sl = slice(s0, s0 + 512)
        t2, tw2 = tau[sl, None] ** 2, tau_w[sl, None] ** 2
        r = cl.y[None] - xb_s[sl]
        d = cl.v[None] + tw2
        s = np.add.reduceat(1.0 / d, cl.starts, axis=1)
        R = np.add.reduceat(r / d, cl.starts, axis=1)
        um = t2 * R / (1.0 + t2 * s)
        uv = t2 / (1.0 + t2 * s)
        u = um + np.sqrt(uv) * zu[sl]
        ue = u[:, cl.index]
        wm = tw2 * (r - ue) / (cl.v[None] + tw2)
        wv = tw2 * cl.v[None] / (cl.v[None] + tw2)
        th = xb_s[sl] + ue + wm + np.sqrt(wv) * zw[sl]
        out[sl][:, cl.order] = th
    return out
