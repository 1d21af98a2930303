"""Adaptive quadrature grids over log tau: one dimension (one tau) and two (two subgroup taus, three levels)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.errors import InputError

from .che import rotated_clusters
from .likelihood import (
    _check_supported,
    _Clusters,
    _ll_cluster,
    _ll_tau_by,
    _location_prior,
    _loglik_beta,
    _loglik_re,
    _logpdf_tau_fn,
    _Normal,
    _scale,
)
from .quadrature import (
    _LEVELS_1D,
    _LEVELS_2D,
    _N_GL_1D,
    _N_GL_2D,
    _THRESHOLD,
    LazyDensity,
    _gauss_compress,
    _gauss_legendre,
    _invert_panels,
    _lagrange_weights,
    _legval,
)

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

# ---------------------------------------------------------------------------
# adaptive grids
# ---------------------------------------------------------------------------


def _box(u: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the range of u where f > max - threshold, widened by one grid step,
    and whether the region touches the lower / upper end of the grid."""
    G = u.shape[-1]
    fm = np.max(f, axis=-1, keepdims=True)
    above = f > fm - _THRESHOLD
    first = np.argmax(above, axis=-1)
    last = G - 1 - np.argmax(above[..., ::-1], axis=-1)
    rows = np.arange(u.shape[0])
    i0 = np.maximum(first - 1, 0)
    i1 = np.minimum(last + 1, G - 1)
    return u[rows, i0], u[rows, i1], first == 0, last == G - 1


def _prior_range(prior: Any, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Initial range, floor and ceiling of u = log(tau), per row (scale: the data's scale)."""
    with np.errstate(divide="ignore"):
        plo, phi = (float(np.log(q)) for q in prior.ppf_tau([1e-8, 1.0 - 1e-8]))
    return search_range(plo, phi, prior.support(), scale)


def search_range(plo: Any, phi: Any, support: tuple[float, float],
                 scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_prior_range` from the log of the prior's 1e-8 and 1 - 1e-8 quantiles of tau (numbers, or one
    per row) and its support."""
    ls = np.log(scale)
    floor = ls - 23.0
    ceil = np.maximum(ls + 23.0, np.where(np.isfinite(phi), phi, -np.inf))
    lo = np.minimum(ls - 10.0, np.where(np.isfinite(plo), plo, -np.inf))
    hi = np.maximum(ls + 4.0, np.where(np.isfinite(phi), phi, -np.inf))
    slo, shi = support
    if slo > 0:
        floor = np.maximum(floor, math.log(slo))
        lo = np.maximum(lo, math.log(slo))
    if np.isfinite(shi):
        ceil = np.minimum(ceil, math.log(shi))
        hi = np.minimum(hi, math.log(shi))
    lo = np.clip(lo, floor, ceil)
    hi = np.clip(hi, floor, ceil)
    hi = np.maximum(hi, lo + 1e-6)
    return lo, hi, floor, ceil


def _check_finite(f: np.ndarray, what: str) -> None:
    top = np.max(f, axis=-1)
    if not np.all(np.isfinite(top)):
        rows = np.flatnonzero(~np.isfinite(np.atleast_1d(top)))
        cause = ("NaN: a non-finite effect or variance, or a prior density that is NaN" if np.isnan(top).any()
                 else "-inf: the prior gives no mass where the data put the likelihood, or the likelihood underflows")
        where = f" (data set(s) {rows[:10].tolist()})" if np.ndim(top) else ""
        raise InputError(f"the log posterior density of {what} is {cause}, everywhere on the integration grid"
                         f"{where}; check the data for non-finite values and the prior's support")


def _locate_1d(logf, lo, hi, floor, ceil, n1: int = 64, n2: int = 128):
    """Coarse search and zoom; returns the last grid (u, f) (B, n2) covering the mass."""
    lin1 = np.linspace(0.0, 1.0, n1)
    for _ in range(6):
        u = lo[:, None] + (hi - lo)[:, None] * lin1
        f = logf(u)
        _check_finite(f, "tau")
        a, b, touch_lo, touch_hi = _box(u, f)
        ext_lo = touch_lo & (lo > floor + 1e-9)
        ext_hi = touch_hi & (hi < ceil - 1e-9)
        if not (ext_lo.any() or ext_hi.any()):
            break
        width = hi - lo
        lo = np.where(ext_lo, np.maximum(floor, lo - 2.0 * width), lo)
        hi = np.where(ext_hi, np.minimum(ceil, hi + 2.0 * width), hi)
    lin2 = np.linspace(0.0, 1.0, n2)
    for _ in range(5):
        u = a[:, None] + (b - a)[:, None] * lin2
        f = logf(u)
        a2, b2, _, _ = _box(u, f)
        if np.all((b2 - a2) > 0.4 * (b - a)):
            break
        a, b = a2, b2
    return u, f


def _cdf_edges(u: np.ndarray, f: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Panel edges at the given posterior cdf levels, from a uniform grid (B, G)."""
    e = np.exp(f - f.max(-1, keepdims=True))
    cdf = np.concatenate([np.zeros((u.shape[0], 1)),
                          np.cumsum(0.5 * (e[:, 1:] + e[:, :-1]) * np.diff(u, axis=-1), axis=-1)], axis=-1)
    cdf /= cdf[:, -1:]
    G = u.shape[1]
    rows = np.arange(u.shape[0])[:, None]
    j = np.clip((cdf[:, None, :] < levels[None, :, None]).sum(-1), 1, G - 1)  # (B, L)
    c0, c1 = cdf[rows, j - 1], cdf[rows, j]
    u0, u1 = u[rows, j - 1], u[rows, j]
    frac = np.where(c1 > c0, (levels[None, :] - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0)
    inner = u0 + np.clip(frac, 0.0, 1.0) * (u1 - u0)
    edges = np.concatenate([u[:, :1], inner, u[:, -1:]], axis=1)
    return np.maximum.accumulate(edges, axis=1)


def _panel_nodes(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights in each panel: (..., P, n)."""
    t, w, _, _ = _gauss_legendre(n)
    a = edges[..., :-1, None]
    h = (edges[..., 1:, None] - a) / 2.0
    return a + h * (t + 1.0), h * w


# ---------------------------------------------------------------------------
# the one-dimensional posterior (random effects, common variance)
# ---------------------------------------------------------------------------


@dataclass
class _Grid1D:
    """Posterior over u = log(tau) for B data sets (random-effects model)."""

    u: np.ndarray  # (B, P, n)
    wq: np.ndarray  # quadrature weights (B, P, n)
    dens: np.ndarray  # normalized posterior density of u at the nodes (B, P, n)
    edges: np.ndarray  # (B, P + 1)
    atom: np.ndarray  # posterior mass at tau = 0 (B,)
    logml: np.ndarray  # log marginal likelihood (B,)
    b: np.ndarray | None  # (B, P*n, p)
    V: np.ndarray | None  # (B, P*n, p, p)
    b0: np.ndarray | None  # at tau = 0: (B, p)
    V0: np.ndarray | None  # (B, p, p)
    n: int
    # the analytic upper tail beyond the last edge U: density f(u) = tail_f * exp(-tail_r (u - U))
    tail_f: np.ndarray | None = None  # normalized density of u at U (B,)
    tail_r: np.ndarray | None = None  # decay rate of log f in u beyond U (B,)

    @property
    def tail_mass(self) -> np.ndarray:
        """Posterior mass beyond the last edge (B,), integrated analytically."""
        if self.tail_f is None:
            return np.zeros(self.u.shape[0])
        return self.tail_f / self.tail_r

    def tail_moment(self, m: float) -> np.ndarray:
        """Contribution of the tail beyond the last edge to E[tau^m] (B,): inf when it diverges."""
        f, r = self.tail_f, self.tail_r
        if f is None or r is None:
            return np.zeros(self.u.shape[0])
        U = self.edges[:, -1]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            out = np.where(r > m, f * np.exp(m * U) / np.where(r > m, r - m, 1.0), np.inf)
        return np.where(f > 0, out, 0.0)

    @property
    def weights(self) -> np.ndarray:
        """Posterior probability of each node, (B, G)."""
        return (self.wq * self.dens).reshape(self.u.shape[0], -1)

    @property
    def tau(self) -> np.ndarray:
        return np.exp(self.u).reshape(self.u.shape[0], -1)

    def _anti(self) -> tuple[np.ndarray, np.ndarray]:
        _, _, _, anti = _gauss_legendre(self.n)
        coef = np.einsum("li,bpi->bpl", anti, self.dens)
        mass = (self.wq * self.dens).sum(-1)
        return coef, mass

    def u_quantiles(self, q: np.ndarray) -> np.ndarray:
        coef, mass = self._anti()
        q = np.broadcast_to(np.atleast_2d(np.asarray(q, dtype=float)), (self.u.shape[0], np.size(q)))
        out = _invert_panels(np.array(q), self.atom, mass, coef, self.edges)
        tail = self.tail_mass[:, None]
        beyond = q > 1.0 - tail  # a quantile in the analytic tail
        if beyond.any():
            assert self.tail_r is not None  # a tail with mass has a decay rate
            r = self.tail_r[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                ut = self.edges[:, -1:] + np.log(tail / np.maximum(1.0 - q, 1e-300)) / r
            out = np.where(beyond, ut, out)
        return out

    def tau_quantiles(self, q: Sequence[float]) -> np.ndarray:
        return np.exp(self.u_quantiles(np.asarray(q)))

    def tau_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of tau (B,), the analytic tail included (inf where a moment diverges)."""
        w, t = self.weights, self.tau
        t0, t1, t2 = self.tail_mass, self.tail_moment(1.0), self.tail_moment(2.0)
        with np.errstate(invalid="ignore", over="ignore"):
            mean = (w * t).sum(-1) + t1
            var = (w * (t - mean[:, None]) ** 2).sum(-1) + self.atom * mean**2 + (t2 - 2 * mean * t1 + mean**2 * t0)
        var = np.where(np.isfinite(t2), var, np.inf)
        return mean, np.sqrt(var)

    def tau_cdf(self, x: float) -> np.ndarray:
        """P(tau <= x) (B,)."""
        if x <= 0:
            return self.atom.copy()
        ux = math.log(x)
        coef, mass = self._anti()
        a, b = self.edges[:, :-1], self.edges[:, 1:]
        full = np.where(b <= ux, mass, 0.0).sum(-1)
        inside = (a < ux) & (ux < b)
        h = (b - a) / 2.0
        t = np.where(inside, (ux - a) / np.where(h > 0, h, 1.0) - 1.0, 0.0)
        part = np.where(inside, h * _legval(t, coef), 0.0).sum(-1)
        return self.atom + full + part




_LEVELS_FAST = np.array([1e-7, 1e-4, 1e-3, 0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 0.999,
                         1 - 1e-4, 1 - 1e-7])


def _grid_1d(y: np.ndarray, v: np.ndarray, X: np.ndarray | None, loc: _Normal, tau_prior: Any,
             n: int = _N_GL_1D, levels: np.ndarray = _LEVELS_1D) -> _Grid1D:
    """Adaptive quadrature of the random-effects posterior over u = log(tau) for B data sets."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    return grid_log_tau(lambda t2: _loglik_re(t2, y, v, X, loc), _prior_range(tau_prior, _scale(y, v)), tau_prior,
                        _logpdf_tau_fn(tau_prior), lambda t: np.asarray(tau_prior.cdf_tau(t), dtype=float),
                        n=n, levels=levels)


def grid_log_tau(loglik: Any, bounds: tuple, tau_prior: Any, lpdf: Any, cdf: Any, n: int = _N_GL_1D,
                 levels: np.ndarray = _LEVELS_1D) -> _Grid1D:
    """The quadrature of :func:`_grid_1d` for any likelihood of tau² with the location integrated out:
    ``loglik(t2) -> (log-likelihood, b, V)`` for t2 of shape (B, n); ``bounds`` the search range of
    :func:`_prior_range`; ``lpdf``/``cdf`` the tau prior's log density and distribution function (one
    prior, or one per data set: :mod:`.regression_batch`)."""

    def logf(u, full=False):
        t = np.exp(u)
        ll, b, V = loglik(t * t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp = lpdf(t)
        f = np.where(np.isfinite(lp), ll + lp + u, -np.inf)
        return (f, b, V) if full else f

    u2, f2 = _locate_1d(logf, *bounds)
    edges = _cdf_edges(u2, f2, levels)
    U, WQ = _panel_nodes(edges, n)
    B, P = edges.shape[0], edges.shape[1] - 1
    f, b, V = logf(U.reshape(B, -1), full=True)
    ll0, b0, V0 = loglik(np.zeros((B, 1)))
    fmax = np.max(f, axis=-1)
    with np.errstate(divide="ignore"):
        prior_below = cdf(np.exp(edges[:, 0]))
    atom_raw = np.exp(ll0[:, 0] - fmax) * prior_below
    dens = np.exp(f - fmax[:, None]).reshape(B, P, n)
    tail_raw, tail_r = _upper_tail(logf, edges[:, -1], fmax, tau_prior)
    Z = (WQ * dens).sum((-1, -2)) + atom_raw + tail_raw / tail_r
    return _Grid1D(
        u=U, wq=WQ, dens=dens / Z[:, None, None], edges=edges, atom=atom_raw / Z,
        logml=fmax + np.log(Z), b=b, V=V,
        b0=None if b0 is None else b0[:, 0], V0=None if V0 is None else V0[:, 0], n=n,
        tail_f=tail_raw / Z, tail_r=tail_r,
    )


def _upper_tail(logf, U: np.ndarray, fmax: np.ndarray, tau_prior: Any) -> tuple[np.ndarray, np.ndarray]:
    """The density of u = log(tau) at the last edge U (relative to the maximum) and its decay rate beyond.

    Beyond the grid the log density is taken as linear in u, with the slope measured over one
    unit of u (a factor e in tau) past U: exact for the power-law tails of heavy-tailed priors
    (density ~ tau^-a, slope a - 1 in u), whose mass and moments beyond U are then integrated in
    closed form; for light tails the slope is steep and the tail negligible. A bounded prior
    (uniform) has no tail.
    """
    B = U.shape[0]
    hi = tau_prior.support()[1] if hasattr(tau_prior, "support") else np.inf
    if np.isfinite(hi) and np.all(U >= math.log(hi) - 1e-9):
        return np.zeros(B), np.ones(B)
    pair = np.stack([U, U + 1.0], axis=1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fu = logf(pair)
        slope = fu[:, 0] - fu[:, 1]
        raw = np.exp(fu[:, 0] - fmax)
    ok = np.isfinite(slope) & (slope > 0) & np.isfinite(raw)
    return np.where(ok, raw, 0.0), np.where(ok, slope, 1.0)



@dataclass
class _Grid2D:
    """Posterior over (u1, u2) = (log tau_1, log tau_2) on a tensor Gauss-Legendre grid."""

    u1: np.ndarray  # (P1, n)
    u2: np.ndarray  # (P2, n)
    w1: np.ndarray
    w2: np.ndarray
    e1: np.ndarray  # edges (P1 + 1,)
    e2: np.ndarray
    dens: np.ndarray  # normalized density on (n1, n2) = (P1*n, P2*n)
    logml: float
    b: np.ndarray | None  # (n1, n2, p)
    V: np.ndarray | None
    n: int
    logf2: Any = None

    @property
    def weights(self) -> np.ndarray:
        return self.w1.reshape(-1)[:, None] * self.w2.reshape(-1)[None, :] * self.dens

    def marginal(self, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Marginal density of u_axis at its nodes: (u (P, n), w (P, n), dens (P, n), edges)."""
        if axis == 0:
            d = self.dens @ self.w2.reshape(-1)
            return self.u1, self.w1, d.reshape(self.u1.shape), self.e1
        d = self.w1.reshape(-1) @ self.dens
        return self.u2, self.w2, d.reshape(self.u2.shape), self.e2

    def u_quantiles(self, axis: int, q: Sequence[float] | np.ndarray) -> np.ndarray:
        """Quantiles of the marginal of u_axis = log(tau_axis)."""
        u, w, d, e = self.marginal(axis)
        _, _, _, anti = _gauss_legendre(self.n)
        coef = np.einsum("li,pi->pl", anti, d)[None]
        mass = (w * d).sum(-1)[None]
        return _invert_panels(np.atleast_2d(np.asarray(q, float)), np.zeros(1), mass, coef, e[None])[0]

    def tau_quantiles(self, axis: int, q: Sequence[float]) -> np.ndarray:
        return np.exp(self.u_quantiles(axis, q))

    def tau_cdf(self, axis: int, x: float) -> float:
        """P(tau_axis <= x): the integral of the same panel-wise interpolant :meth:`u_quantiles` inverts."""
        if x <= 0:
            return 0.0
        ux = math.log(x)
        u, w, d, e = self.marginal(axis)
        _, _, _, anti = _gauss_legendre(self.n)
        coef = np.einsum("li,pi->pl", anti, d)
        mass = (w * d).sum(-1)
        a, b = e[:-1], e[1:]
        inside = (a < ux) & (ux < b)
        h = (b - a) / 2.0
        t = np.where(inside, (ux - a) / np.where(h > 0, h, 1.0) - 1.0, 0.0)
        part = np.where(inside, h * _legval(t, coef), 0.0).sum()
        return float(min(1.0, (mass[b <= ux].sum() + part) / mass.sum()))

    def conditional_on_u2(self, u2s: np.ndarray) -> np.ndarray:
        """Density of u1 at its nodes given u2 = each of u2s (interpolated in u2): (N, n1)."""
        P2 = self.u2.shape[0]
        j = np.clip(np.searchsorted(self.e2, u2s, side="right") - 1, 0, P2 - 1)
        h = (self.e2[j + 1] - self.e2[j]) / 2.0
        t = np.clip((u2s - self.e2[j]) / np.where(h > 0, h, 1.0) - 1.0, -1.0, 1.0)
        L = _lagrange_weights(t, self.n)  # (N, n)
        D = self.dens.reshape(self.dens.shape[0], P2, self.n)  # (n1, P2, n)
        out = np.einsum("ai,aki->ak", L, D[:, j, :].transpose(1, 0, 2))
        return np.maximum(out, 0.0)

    def draw(self, u2_uniform: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Independent draws of (u1, u2): u2 by inverting its marginal cdf at *u2_uniform* (N,), then u1
        from its conditional density given each u2 (interpolated in u2), inverted panel by panel."""
        n = u2_uniform.size
        u2s = self.u_quantiles(1, u2_uniform)
        _, _, _, anti = _gauss_legendre(self.n)
        cond = self.conditional_on_u2(u2s).reshape(n, self.u1.shape[0], self.n)
        mass = (self.w1[None] * cond).sum(-1)
        tot = mass.sum(-1)
        coef1 = np.einsum("li,bpi->bpl", anti, cond / tot[:, None, None])
        u1s = _invert_panels(rng.random(n)[:, None], np.zeros(n), mass / tot[:, None], coef1,
                             np.broadcast_to(self.e1, (n, self.e1.size)))[:, 0]
        return u1s, u2s

    def compressed(self, m1: int = 10, m2: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A nested Gauss rule (m2 nodes in u2, m1 in u1 given each): (u1, u2, weight) arrays."""
        u, w, d, _ = self.marginal(1)
        x2, w2 = _gauss_compress(u.reshape(-1), (w * d).reshape(-1), m2)
        if self.logf2 is not None:  # the joint density at (u1 nodes, x2), evaluated exactly
            f = self.logf2(self.u1.reshape(-1), x2, False).T
            cond = np.exp(f - f.max(axis=1, keepdims=True))
        else:
            cond = self.conditional_on_u2(x2)  # (m2, n1), interpolated
        U1, U2, W = [], [], []
        wq1 = self.w1.reshape(-1)
        for i in range(x2.size):
            pw = wq1 * cond[i]
            if pw.sum() <= 0:
                continue
            x1, w1 = _gauss_compress(self.u1.reshape(-1), pw / pw.sum(), m1)
            U1.append(x1)
            U2.append(np.full(x1.size, x2[i]))
            W.append(w1 * w2[i])
        w = np.concatenate(W)
        return np.concatenate(U1), np.concatenate(U2), w / w.sum()


def _log_post_2d(loglik, lpdf1, lpdf2):
    """logf2(u1 (n1,), u2 (n2,), full) -> log posterior density of (log tau_1, log tau_2) (n1, n2)
    [, b, V], from loglik(tau_1^2 (n1,), tau_2^2 (n2,)) -> (ll, b, V) and the two prior log densities."""

    def logf2(u1, u2, full):
        t1, t2 = np.exp(u1), np.exp(u2)
        ll, b, V = loglik(t1 * t1, t2 * t2)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp = lpdf1(t1)[:, None] + lpdf2(t2)[None]
        f = np.where(np.isfinite(lp), ll + lp + u1[:, None] + u2[None, :], -np.inf)
        return (f, b, V) if full else f

    return logf2


def _tau_by_density(y, v, X, g, loc, tau_prior):
    lpdf = _logpdf_tau_fn(tau_prior)
    return _log_post_2d(lambda t2a, t2b: _ll_tau_by(t2a, t2b, y, v, X, g, loc), lpdf, lpdf)


def _cluster_density(cl, loc, p_tau, p_w):
    return _log_post_2d(lambda t2, t2w: _ll_cluster(t2, t2w, cl, loc), _logpdf_tau_fn(p_tau), _logpdf_tau_fn(p_w))


def _grid_2d(logf2, priors: tuple[Any, Any], scales: tuple[float, float], n: int = _N_GL_2D,
             n_coarse: int = 40, n_zoom: int = 48) -> _Grid2D:
    """Adaptive tensor-product quadrature over (log tau_1, log tau_2).

    logf2(u1 (n1,), u2 (n2,), full) -> f (n1, n2) [, b, V].
    """
    rng_ = [list(_prior_range(pr, np.array([sc]))) for pr, sc in zip(priors, scales)]
    lo = np.array([r[0][0] for r in rng_])
    hi = np.array([r[1][0] for r in rng_])
    floor = np.array([float(np.asarray(r[2]).reshape(-1)[0]) for r in rng_])
    ceil = np.array([float(np.asarray(r[3]).reshape(-1)[0]) for r in rng_])
    lin = np.linspace(0.0, 1.0, n_coarse)

    def bounds(ua, ub, f):
        out = []
        for axis, uu in ((0, ua), (1, ub)):
            prof = f.max(axis=1 - axis)[None]
            a, b, tl, th = _box(uu[None], prof)
            out.append((a[0], b[0], tl[0], th[0]))
        return out

    for _ in range(6):
        ua, ub = lo[0] + (hi[0] - lo[0]) * lin, lo[1] + (hi[1] - lo[1]) * lin
        f = logf2(ua, ub, False)
        _check_finite(f.reshape(1, -1), "the heterogeneity parameters")
        bx = bounds(ua, ub, f)
        changed = False
        for ax in range(2):
            width = hi[ax] - lo[ax]
            if bx[ax][2] and lo[ax] > floor[ax] + 1e-9:
                lo[ax] = max(floor[ax], lo[ax] - 2.0 * width)
                changed = True
            if bx[ax][3] and hi[ax] < ceil[ax] - 1e-9:
                hi[ax] = min(ceil[ax], hi[ax] + 2.0 * width)
                changed = True
        if not changed:
            break
    box = np.array([[bx[0][0], bx[0][1]], [bx[1][0], bx[1][1]]])
    linz = np.linspace(0.0, 1.0, n_zoom)
    for _ in range(5):
        ua, ub = box[0, 0] + (box[0, 1] - box[0, 0]) * linz, box[1, 0] + (box[1, 1] - box[1, 0]) * linz
        f = logf2(ua, ub, False)
        bx = bounds(ua, ub, f)
        new = np.array([[bx[0][0], bx[0][1]], [bx[1][0], bx[1][1]]])
        if np.all((new[:, 1] - new[:, 0]) > 0.4 * (box[:, 1] - box[:, 0])):
            break
        box = new
    e = np.exp(f - f.max())
    m1 = np.log(np.maximum(e.sum(1), 1e-300))[None]
    m2 = np.log(np.maximum(e.sum(0), 1e-300))[None]
    e1 = _cdf_edges(ua[None], m1, _LEVELS_2D)[0]
    e2 = _cdf_edges(ub[None], m2, _LEVELS_2D)[0]
    U1, W1 = _panel_nodes(e1, n)
    U2, W2 = _panel_nodes(e2, n)
    f, b, V = logf2(U1.reshape(-1), U2.reshape(-1), True)
    fmax = f.max()
    dens = np.exp(f - fmax)
    Z = float(W1.reshape(-1) @ dens @ W2.reshape(-1))
    return _Grid2D(U1, U2, W1, W2, e1, e2, dens / Z, float(fmax + math.log(Z)), b, V, n, logf2)


@dataclass(frozen=True)
class Integral:
    """The integrated posterior of one model: its kind, log p(y), grid, location prior and clusters."""

    kind: str
    log_marginal_likelihood: float
    grid: Any
    loc: _Normal
    clusters: _Clusters | None = None


def integrate(spec: ModelSpec, n: int | None = None) -> Integral:
    """Integrate the posterior of a normal-normal model over its heterogeneity (no summaries).

    Parameters
    ----------
    spec : ModelSpec
        The model.
    n : int, optional
        Gauss-Legendre nodes per panel (default 12 in 1-D, 7 per axis in 2-D).

    Returns
    -------
    Integral
        ``kind`` (``"common"``: closed form; ``"random"``: 1-D grid; ``"tau_by"``,
        ``"cluster"``: 2-D grids), ``log_marginal_likelihood``, the grid, the normal
        prior of the coefficients and the cluster structure (three levels).

    Raises
    ------
    ValueError
        For models the exact engine does not handle (use ``engine="nuts"``).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})  # doctest: +SKIP
    >>> bm.exact.integrate(m.spec).log_marginal_likelihood                            # doctest: +SKIP
    """
    _check_supported(spec)
    if getattr(spec, "counts", None) is not None:
        raise InputError("integrate() integrates normal likelihoods; the posterior of a count model is "
                         "bayesma.exact.exact_posterior(spec) (bayesma.exact.counts)")
    loc = _location_prior(spec)
    y, v, X = spec.yi, spec.vi, spec.X
    if spec.model == "common":
        ll, b, V = _loglik_beta(np.zeros((1, 1)), y[None], v[None], X, loc)
        return Integral("common", float(ll[0, 0]), {"b": b[0, 0], "V": V[0, 0]}, loc)
    if spec.tau_by is not None:
        g = spec.group_index
        tau_prior = spec.priors["tau"]
        logf2 = LazyDensity(_tau_by_density, y, v, X, g, loc, tau_prior)
        scales = (float(_scale(y[g == 0], v[g == 0])), float(_scale(y[g == 1], v[g == 1])))
        gr = _grid_2d(logf2, (tau_prior, tau_prior), scales, n=n or _N_GL_2D)
        return Integral("tau_by", gr.logml, gr, loc)
    if spec.cluster_index is not None:
        dep = getattr(spec, "dependence", None)  # correlated sampling errors (CHE): exact/che.py
        cl = (_Clusters.create(y, v, X, spec.cluster_index) if dep is None
              else rotated_clusters(y, X, spec.cluster_index, dep.blocks))
        p_tau, p_w = spec.priors["tau"], spec.priors.get("tau_within", spec.priors["tau"])
        logf2 = LazyDensity(_cluster_density, cl, loc, p_tau, p_w)
        sc = float(_scale(y, v))
        gr = _grid_2d(logf2, (p_tau, p_w), (sc, sc), n=n or (_N_GL_2D if cl.J < 5000 else 6))
        return Integral("cluster", gr.logml, gr, loc, cl)
    g1 = _grid_1d(y[None], v[None], X, loc, spec.priors["tau"], n=n or _N_GL_1D)
    return Integral("random", float(g1.logml[0]), g1, loc)
