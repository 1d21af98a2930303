"""Gauss-Legendre rules, panel-wise cdf inversion and normal mixtures (quantiles, cdf, moments)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from scipy import special

_LOG2PI = math.log(2.0 * math.pi)
_THRESHOLD = 32.0  # log-density drop bounding the integration region
_LEVELS_1D = np.array([
    1e-10, 1e-7, 1e-5, 1e-4, 1e-3, 0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5,
    0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995, 0.999, 1 - 1e-4, 1 - 1e-5, 1 - 1e-7, 1 - 1e-10,
])
_LEVELS_2D = np.array([
    1e-8, 1e-5, 1e-3, 0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 0.999, 1 - 1e-5, 1 - 1e-8,
])
_N_GL_1D = 12
_N_GL_2D = 7
_CHUNK = 262_144  # elements per temporary array (cache-sized blocks)
_BATCH = 4_000_000  # data sets x nodes x k per block of batch_summaries
_Q = (0.025, 0.5, 0.975)
_NUTS_HINT = 'use engine="nuts" for this model'


class LazyDensity:
    """A log density built on first call by a module-level *factory* from picklable *args*.

    An exact posterior keeps its joint density of (log tau_1, log tau_2) to refine draws; a
    closure cannot be pickled, so the posterior pickles this recipe and rebuilds the closure
    after loading (the same numbers as before pickling)."""

    def __init__(self, factory: Callable[..., Callable[..., object]], *args: object) -> None:
        self.factory, self.args = factory, args
        self._fn: Callable[..., object] | None = None

    def __call__(self, *args: object) -> object:
        fn = self._fn
        if fn is None:
            fn = self._fn = self.factory(*self.args)
        return fn(*args)

    def __getstate__(self) -> dict[str, object]:
        return {"factory": self.factory, "args": self.args, "_fn": None}


# ---------------------------------------------------------------------------
# quadrature helpers
# ---------------------------------------------------------------------------


@cache
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes t, weights w on [-1, 1]; the map from node values to Legendre coefficients
    of the interpolant; the map from node values to coefficients of its antiderivative
    from -1."""
    leg = np.polynomial.legendre
    t, w = leg.leggauss(n)
    V = leg.legvander(t, n - 1)  # V[i, l] = P_l(t_i)
    proj = (V * w[:, None]).T * ((2.0 * np.arange(n) + 1.0) / 2.0)[:, None]  # (l, i)
    anti = leg.legint(np.eye(n), lbnd=-1, axis=0) @ proj  # (n + 1, i)
    return t, w, proj, anti


def _legval(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Legendre series with per-element coefficients: coef (..., m), x (...)."""
    return np.polynomial.legendre.legval(x, np.moveaxis(coef, -1, 0), tensor=False)


def _lagrange_weights(t: np.ndarray, n: int) -> np.ndarray:
    """Weights l_i(t) of the interpolant through the n Gauss-Legendre nodes, t in [-1, 1]."""
    _, _, proj, _ = _gauss_legendre(n)
    return np.polynomial.legendre.legvander(np.asarray(t, dtype=float), n - 1) @ proj


def _invert_panels(q: np.ndarray, atom: np.ndarray, mass: np.ndarray, anti: np.ndarray,
                   edges: np.ndarray) -> np.ndarray:
    """Solve F(u) = q for a density given panel-wise by Legendre antiderivatives.

    q (B, Q); atom (B,) mass at u = -inf; mass (B, P); anti (B, P, n+1) antiderivative
    coefficients in the Legendre basis of the panel variable t in [-1, 1] (so that
    h * anti(1) = mass, h the half-width); edges (B, P+1).
    Returns u (B, Q), -inf inside the atom. Newton's method on the polynomial
    (power basis, Horner), safeguarded by bisection.
    """
    B, P = mass.shape
    cum = atom[:, None] + np.cumsum(mass, axis=1)
    j = np.minimum((cum[:, None, :] < q[:, :, None]).sum(-1), P - 1)  # (B, Q)
    rows = np.arange(B)[:, None]
    before = cum[rows, j] - mass[rows, j]
    h = (edges[:, 1:] - edges[:, :-1]) / 2.0
    hj = h[rows, j]
    m = anti.shape[-1]
    c2p = _leg2pow(m)
    pw = np.einsum("lm,...m->...l", c2p, anti[rows, j]) * hj[..., None]  # power coefficients, (B, Q, m)
    dpw = pw[..., 1:] * np.arange(1, m)
    r = q - before
    mj = mass[rows, j]
    lo = np.full(q.shape, -1.0)
    hi = np.full(q.shape, 1.0)
    t = np.clip(2.0 * r / np.where(mj > 0, mj, 1.0) - 1.0, -1.0, 1.0)
    for _ in range(60):
        F = pw[..., -1]
        for i in range(m - 2, -1, -1):
            F = F * t + pw[..., i]
        dF = dpw[..., -1]
        for i in range(m - 3, -1, -1):
            dF = dF * t + dpw[..., i]
        F = F - r
        lo = np.where(F < 0, t, lo)
        hi = np.where(F > 0, t, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = F / dF
        new = t - step
        done = np.abs(step) < 1e-10
        bad = ~done & (~np.isfinite(new) | (new < lo) | (new > hi))
        t = np.where(bad, 0.5 * (lo + hi), np.where(done, t, new))
        if done.all():
            break
    u = edges[rows, j] + hj * (t + 1.0)
    return np.where(q <= atom[:, None], -np.inf, u)


@cache
def _leg2pow(m: int) -> np.ndarray:
    """Matrix taking Legendre coefficients (m) to power-basis coefficients (m)."""
    out = np.zeros((m, m))
    for i in range(m):
        col = np.polynomial.legendre.leg2poly(np.eye(m)[i])
        out[: col.size, i] = col
    return out


def _gauss_compress(x: np.ndarray, w: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """An m-point Gauss rule for the discrete measure sum_i w_i delta(x_i) (Lanczos, reorthogonalized)."""
    keep = w > 0
    x, w = x[keep], w[keep]
    m = min(m, x.size)
    tot = w.sum()
    c = float((x * w).sum() / tot)
    sc = float(np.sqrt(((x - c) ** 2 * w).sum() / tot)) or 1.0
    z = (x - c) / sc
    Q = np.zeros((m, z.size))
    alpha = np.zeros(m)
    beta = np.zeros(m)
    q = np.sqrt(w / tot)
    q_prev = np.zeros_like(q)
    b_prev = 0.0
    size = m
    for j in range(m):
        Q[j] = q
        r = z * q - b_prev * q_prev
        alpha[j] = q @ r
        r = r - alpha[j] * q
        for _ in range(2):
            r = r - Q[: j + 1].T @ (Q[: j + 1] @ r)
        beta[j] = np.linalg.norm(r)
        if j < m - 1 and beta[j] < 1e-12:
            size = j + 1
            break
        q_prev, q, b_prev = q, r / max(beta[j], 1e-300), beta[j]
    J = np.diag(alpha[:size]) + np.diag(beta[: size - 1], 1) + np.diag(beta[: size - 1], -1)
    ev, vec = np.linalg.eigh(J)
    return c + sc * ev, tot * vec[0] ** 2


def _mixture_quantiles(w: np.ndarray, m: np.ndarray, s: np.ndarray, qs: Sequence[float] = _Q,
                       tol: float = 1e-11, x0: np.ndarray | None = None, max_iter: int = 60) -> np.ndarray:
    """Quantiles of mixtures of normals.

    w, m, s broadcast to (..., G) (weights summing to one over G); returns (..., len(qs)).
    Newton's method from the normal approximation (or *x0*), safeguarded by bisection;
    only the mixtures not yet converged are iterated.
    """
    w, m, s = np.broadcast_arrays(w, m, s)
    if w.ndim <= 2 and w.shape[-1] > 8:
        wmax = w.max(-1, keepdims=True)
        keep = np.any(w > 1e-15 * wmax, axis=tuple(range(w.ndim - 1)))
        if keep.sum() < keep.size:
            w, m, s = w[..., keep], m[..., keep], s[..., keep]
            w = w / w.sum(-1, keepdims=True)
    lead = w.shape[:-1]
    G = w.shape[-1]
    w, m, s = (a.reshape(-1, G) for a in (w, m, s))
    nq = len(qs)
    rows = max(1, int(262_144 // (G * nq)))  # keep temporaries in cache: blocks of rows
    if w.shape[0] > rows:
        x0b = None if x0 is None else np.broadcast_to(x0, lead + (nq,)).reshape(-1, nq)
        out = np.concatenate([
            _mixture_quantiles(w[i:i + rows], m[i:i + rows], s[i:i + rows], qs, tol,
                               None if x0b is None else x0b[i:i + rows], max_iter)
            for i in range(0, w.shape[0], rows)])
        return out.reshape(lead + (nq,))
    mean = (w * m).sum(-1)
    sd = np.sqrt(np.maximum((w * (s**2 + (m - mean[:, None]) ** 2)).sum(-1), 1e-300))
    # the scale of the step tolerance and of the start: the sd, or, when heavy tails (components
    # with huge s and tiny weight) inflate it, the geometric mean of the components' variances
    with np.errstate(divide="ignore"):
        robust = np.sqrt(np.exp((w * np.log(np.maximum(s, 1e-300) ** 2)).sum(-1))
                         + (w * (m - mean[:, None]) ** 2).sum(-1))
    sd = np.minimum(sd, np.maximum(robust, 1e-300))
    qs_arr = np.asarray(qs, dtype=float)
    if x0 is None:
        x = mean[:, None] + special.ndtri(qs_arr) * sd[:, None]
    else:
        x = np.array(np.broadcast_to(x0, lead + (qs_arr.size,)), dtype=float).reshape(-1, qs_arr.size)
    lo = np.repeat((m - 40.0 * s).min(-1)[:, None], qs_arr.size, axis=1)
    hi = np.repeat((m + 40.0 * s).max(-1)[:, None], qs_arr.size, axis=1)
    act = np.arange(x.shape[0])
    inv_s = 1.0 / s
    w_pdf = w * inv_s / math.sqrt(2.0 * math.pi)
    full = True
    for _ in range(max_iter):
        xa = x[act]
        if full:
            wa, ma, ia, pa = w, m, inv_s, w_pdf
        else:
            wa, ma, ia, pa = w[act], m[act], inv_s[act], w_pdf[act]
        z = xa[..., None] - ma[:, None, :]
        z *= ia[:, None, :]
        F = np.einsum("aqg,ag->aq", special.ndtr(z), wa) - qs_arr
        z *= z
        z *= -0.5
        np.exp(z, out=z)
        f = np.einsum("aqg,ag->aq", z, pa)
        la = np.where(F < 0, xa, lo[act])
        ha = np.where(F > 0, xa, hi[act])
        lo[act], hi[act] = la, ha
        with np.errstate(divide="ignore", invalid="ignore"):
            step = F / f
        new = xa - step
        # Newton converges quadratically: a step below sqrt(tol) leaves an error of order tol
        bad = ~np.isfinite(new) | (new < la) | (new > ha)
        done = ~bad & (np.abs(step) <= math.sqrt(tol) * sd[act, None])
        x[act] = np.where(bad, 0.5 * (la + ha), new)
        act = act[~done.all(-1)]
        full = False
        if act.size == 0:
            break
    return x.reshape(lead + (qs_arr.size,))


def _mixture_cdf(x: float | np.ndarray, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    return (w * special.ndtr((np.asarray(x)[..., None] - m) / s)).sum(-1)


def _mixture_pdf(x: float | np.ndarray, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    z = (np.asarray(x)[..., None] - m) / s
    return (w * np.exp(-0.5 * z * z) / s).sum(-1) / math.sqrt(2.0 * math.pi)


def _mixture_moments(w: np.ndarray, m: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = (w * m).sum(-1)
    var = (w * (s**2 + (m - mean[..., None]) ** 2)).sum(-1)
    return mean, np.sqrt(np.maximum(var, 0.0))


def hdi_from_quantiles(quantiles: Callable[[np.ndarray], np.ndarray], prob: float) -> tuple[float, float]:
    """The shortest ``[Q(p), Q(p + prob)]`` over p, on a grid refined three times (unimodal marginals).

    *quantiles* maps an array of probabilities to quantiles.
    """
    p = np.linspace(0.0, 1.0 - prob, 101)[1:-1]
    best = (float("nan"), float("nan"))
    for _ in range(3):
        lo = np.asarray(quantiles(p), dtype=np.float64)
        hi = np.asarray(quantiles(p + prob), dtype=np.float64)
        i = int(np.argmin(hi - lo))
        step = p[1] - p[0]
        best = (float(lo[i]), float(hi[i]))
        p = np.linspace(max(p[i] - step, 1e-12), min(p[i] + step, 1.0 - prob - 1e-12), 41)
    return best
