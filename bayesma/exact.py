"""Exact posterior of normal-normal meta-analysis models by quadrature over the heterogeneity.

For a normal likelihood with known sampling variances and normal priors on the
effect (or the regression coefficients), the coefficients integrate out in
closed form given the heterogeneity: ``beta | tau, y`` is normal and the
marginal likelihood ``p(y | tau)`` is a Gaussian density. What remains is a
one-dimensional integral over ``tau`` (the approach of R's ``bayesmeta``), or
a two-dimensional one over ``(tau_1, tau_2)`` for two subgroups with their own
heterogeneity (``tau_by=``) and over ``(tau, tau_within)`` for three-level
models (``cluster=``), where the block-diagonal covariance is handled with the
Sherman-Morrison formula cluster by cluster (linear in k).

The integral is computed on ``u = log(tau)`` with an adaptive rule:

1. a coarse grid over a wide range (the data's scale and the prior's quantiles)
   locates the region where the log posterior is within 32 units of its
   maximum (extending the range until it is bracketed);
2. the region is zoomed into until the grid resolves it;
3. panel edges are placed at fixed levels of the posterior cdf on that grid
   (from 1e-10 to 1 - 1e-10; no panel holds more than 10% of the mass), and
   each panel gets a Gauss-Legendre rule: 26 panels of 12 nodes in 1-D; in 2-D
   a tensor rule with 16 panels of 7 nodes per axis, placed by the marginal cdfs.

The posterior mass below the smallest grid value of tau (23 log units below the
data's scale, where the likelihood is flat in tau) is added as an atom at
tau = 0 with mass ``p(y | tau=0) * P_prior(tau < tau_min)``, so priors with
heavy tails on ``log tau`` (log-t priors on tau^2) are integrated in full
(1-D models; the 2-D rule neglects that mass).

Accuracy: summaries agree with independent adaptive quadrature to about 1e-9
of a posterior sd in 1-D and 1e-7 in 2-D (tests: 1e-4 relative); marginal
likelihoods to 1e-8 in log. For very large k the study effects use a compressed
Gauss rule for the heterogeneity (see :meth:`ExactPosterior._theta_summary`).

Supported: common and random effects, meta-regression, ``tau_by=`` with two
subgroups, three-level models; normal priors on mu and the coefficients, any
heterogeneity prior of :mod:`bayesma.priors`. Not supported (``ValueError``
pointing to ``engine="nuts"``): Student-t random effects, Student-t or Cauchy
priors on the coefficients, ``tau_by=`` with more than two subgroups.

Everything else follows from the per-node normal conditionals: the posterior of
each coefficient, of each study's true effect ``theta_i`` and of a new study's
effect ``theta_new`` is a mixture of normals over the nodes (quantiles by
root-finding the mixture cdf); tau's cdf is the integral of the panel-wise
Legendre interpolant of its density (quantiles and draws by inverting it).
Independent posterior draws (tau by inverse cdf, then ``beta | tau``,
``theta | beta, tau``) fill ``.idata`` so every plot works; the same seed gives
the same numbers.

Examples
--------
>>> import bayesma as bm
>>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
>>> model = bm.MetaAnalysis(dat, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
>>> post = model.fit(engine="exact", seed=1)                               # doctest: +SKIP
>>> bm.exact.bayes_factor_heterogeneity(model.spec)                        # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

__all__ = [
    "fit_exact",
    "ExactPosterior",
    "exact_posterior",
    "marginal_likelihood",
    "bayes_factor_effect",
    "bayes_factor_heterogeneity",
    "bayes_factors",
    "model_probabilities",
]

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


# ---------------------------------------------------------------------------
# quadrature helpers
# ---------------------------------------------------------------------------


@lru_cache(maxsize=None)
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


@lru_cache(maxsize=None)
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


# ---------------------------------------------------------------------------
# prior densities of tau without scipy's per-call overhead
# ---------------------------------------------------------------------------


def _t_logpdf(x: np.ndarray, nu: float, mu: float, sigma: float) -> np.ndarray:
    z = (x - mu) / sigma
    return (special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
            - math.log(sigma) - (nu + 1) / 2 * np.log1p(z * z / nu))


def _logpdf_tau_fn(prior: Any):
    """A fast log density of tau (positive arguments) for the families of bayesma.priors.

    Closed forms of the same densities as ``prior.logpdf_tau`` (scipy's frozen
    distributions cost about a millisecond per call); other priors use
    ``prior.logpdf_tau`` itself. The tests check the two agree.
    """
    fam, p = getattr(prior, "family", None), dict(getattr(prior, "params", {}))
    L2 = math.log(2.0)
    if fam == "HalfNormal":
        s = p["sigma"]
        c = L2 - 0.5 * _LOG2PI - math.log(s)
        return lambda t: c - 0.5 * (t / s) ** 2
    if fam == "HalfCauchy":
        b = p["beta"]
        c = math.log(2.0 / (math.pi * b))
        return lambda t: c - np.log1p((t / b) ** 2)
    if fam == "HalfStudentT":
        return lambda t: L2 + _t_logpdf(t, p["nu"], 0.0, p["sigma"])
    if fam == "Exponential":
        lam = p["lam"]
        return lambda t: math.log(lam) - lam * t
    if fam == "Uniform":
        lo, hi = p["lower"], p["upper"]
        c = -math.log(hi - lo)
        return lambda t: np.where((t >= lo) & (t <= hi), c, -np.inf)
    if fam == "LogNormal":
        m, s = p["mu"], p["sigma"]
        # x = t^2: log f(x) + log(2t) = -log(x s sqrt(2 pi)) - (log x - m)^2 / (2 s^2) + log 2 + log t
        return lambda t: (L2 - np.log(t) - math.log(s) - 0.5 * _LOG2PI
                          - (2.0 * np.log(t) - m) ** 2 / (2.0 * s * s))
    if fam == "LogStudentT":
        return lambda t: _t_logpdf(2.0 * np.log(t), p["nu"], p["mu"], p["sigma"]) + L2 - np.log(t)
    if fam == "InverseGamma":
        a, b = p["alpha"], p["beta"]
        c = a * math.log(b) - special.gammaln(a) + L2
        return lambda t: c - (2.0 * a + 1.0) * np.log(t) - b / (t * t)

    def generic(t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(prior.logpdf_tau(t), dtype=float)

    return generic


# ---------------------------------------------------------------------------
# marginal likelihood given the variance components
# ---------------------------------------------------------------------------


@dataclass
class _Normal:
    """Normal prior on the coefficients: mean m0 and precision p0 (diagonal), p = len(m0)."""

    m0: np.ndarray
    p0: np.ndarray

    @property
    def p(self) -> int:
        return self.m0.size

    @property
    def const(self) -> float:
        return float((self.m0**2 * self.p0).sum() - np.log(self.p0).sum()) if self.p else 0.0


def _finish(ll_part: np.ndarray, A: np.ndarray | None, h: np.ndarray | None, k: int,
            prior: _Normal) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Add the coefficient part: ll_part = log|Sigma| + y'Sigma^-1 y (shape S);
    A (S, p, p) = X'Sigma^-1 X, h (S, p) = X'Sigma^-1 y. Returns ll, b, V."""
    p = prior.p
    if p == 0:
        return -0.5 * (k * _LOG2PI + ll_part), None, None
    P = A + np.diag(prior.p0)
    hh = h + prior.m0 * prior.p0
    if p == 1:
        V = 1.0 / P
        b = V[..., 0] * hh
        logdetP = np.log(P[..., 0, 0])
    else:
        V = np.linalg.inv(P)
        b = np.einsum("...ij,...j->...i", V, hh)
        logdetP = np.linalg.slogdet(P)[1]
    ll = -0.5 * (k * _LOG2PI + ll_part + prior.const - (hh * b).sum(-1) + logdetP)
    return ll, b, V


def _loglik_re(t2: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray | None,
               prior: _Normal) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """log p(y | tau^2) with the coefficients integrated out, and beta | tau^2, y ~ N(b, V).

    t2 (B, G); y, v (B, k); X (k, p) or None (p = 0: effect fixed at 0).
    Returns ll (B, G), b (B, G, p), V (B, G, p, p).
    """
    B, G = t2.shape
    k = y.shape[1]
    p = prior.p
    ll = np.empty((B, G))
    b = np.empty((B, G, p)) if p else None
    V = np.empty((B, G, p, p)) if p else None
    if p:
        XX = (X[:, :, None] * X[:, None, :]).reshape(k, p * p)
        yX = y[:, :, None] * X[None, :, :]
    y2 = (y * y)[:, :, None]
    step = max(1, int(_CHUNK // max(B * k, 1)))
    for s0 in range(0, G, step):
        sl = slice(s0, s0 + step)
        d = v[:, None, :] + t2[:, sl, None]
        w = 1.0 / d
        part = np.log(d).sum(-1) + np.matmul(w, y2)[..., 0]
        if p:
            A = np.matmul(w, XX).reshape(B, -1, p, p)
            h = np.matmul(w, yX)
            ll[:, sl], b[:, sl], V[:, sl] = _finish(part, A, h, k, prior)
        else:
            ll[:, sl] = _finish(part, None, None, k, prior)[0]
    return ll, b, V


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
    ls = np.log(scale)
    with np.errstate(divide="ignore"):
        plo, phi = (float(np.log(q)) for q in prior.ppf_tau([1e-8, 1.0 - 1e-8]))
    floor = ls - 23.0
    ceil = np.maximum(ls + 23.0, phi if np.isfinite(phi) else -np.inf)
    lo = np.minimum(ls - 10.0, plo if np.isfinite(plo) else -np.inf)
    hi = np.maximum(ls + 4.0, phi if np.isfinite(phi) else -np.inf)
    slo, shi = prior.support()
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
    if not np.all(np.isfinite(np.max(f, axis=-1))):
        raise ValueError(f"the posterior density of {what} is zero everywhere on the grid; "
                         "check the prior (its support) and the data")


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
        return _invert_panels(np.array(q), self.atom, mass, coef, self.edges)

    def tau_quantiles(self, q: Sequence[float]) -> np.ndarray:
        return np.exp(self.u_quantiles(np.asarray(q)))

    def tau_moments(self) -> tuple[np.ndarray, np.ndarray]:
        w, t = self.weights, self.tau
        mean = (w * t).sum(-1)
        var = (w * (t - mean[:, None]) ** 2).sum(-1) + self.atom * mean**2
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


def _location_prior(spec) -> _Normal:
    m0, p0 = [], []
    for j, name in enumerate(spec.coef_names):
        prior = spec.location_prior(j)
        if prior.family != "Normal":
            raise ValueError(
                f"engine='exact' integrates the coefficients analytically and needs Normal priors on "
                f"them; the prior of {name!r} is {prior!r}. {_NUTS_HINT}, or give a Normal prior."
            )
        m0.append(prior.params["mu"])
        p0.append(1.0 / prior.params["sigma"] ** 2)
    return _Normal(np.array(m0, dtype=float), np.array(p0, dtype=float))


def _scale(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    var = np.var(y, axis=-1) if y.shape[-1] > 1 else np.zeros(y.shape[:-1])
    return np.sqrt(np.maximum(var + np.median(v, axis=-1), 1e-300))


_LEVELS_FAST = np.array([1e-7, 1e-4, 1e-3, 0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 0.999,
                         1 - 1e-4, 1 - 1e-7])


def _grid_1d(y: np.ndarray, v: np.ndarray, X: np.ndarray | None, loc: _Normal, tau_prior: Any,
             n: int = _N_GL_1D, levels: np.ndarray = _LEVELS_1D) -> _Grid1D:
    """Adaptive quadrature of the random-effects posterior over u = log(tau) for B data sets."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    B = y.shape[0]

    lpdf = _logpdf_tau_fn(tau_prior)

    def logf(u, full=False):
        t = np.exp(u)
        ll, b, V = _loglik_re(t * t, y, v, X, loc)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp = lpdf(t)
        f = np.where(np.isfinite(lp), ll + lp + u, -np.inf)
        return (f, b, V) if full else f

    lo, hi, floor, ceil = _prior_range(tau_prior, _scale(y, v))
    u2, f2 = _locate_1d(logf, lo, hi, floor, ceil)
    edges = _cdf_edges(u2, f2, levels)
    U, WQ = _panel_nodes(edges, n)
    P = edges.shape[1] - 1
    f, b, V = logf(U.reshape(B, -1), full=True)
    ll0, b0, V0 = _loglik_re(np.zeros((B, 1)), y, v, X, loc)
    fmax = np.max(f, axis=-1)
    with np.errstate(divide="ignore"):
        prior_below = np.asarray(tau_prior.cdf_tau(np.exp(edges[:, 0])), dtype=float)
    atom_raw = np.exp(ll0[:, 0] - fmax) * prior_below
    dens = np.exp(f - fmax[:, None]).reshape(B, P, n)
    Z = (WQ * dens).sum((-1, -2)) + atom_raw
    return _Grid1D(
        u=U, wq=WQ, dens=dens / Z[:, None, None], edges=edges, atom=atom_raw / Z,
        logml=fmax + np.log(Z), b=b, V=V,
        b0=None if b0 is None else b0[:, 0], V0=None if V0 is None else V0[:, 0], n=n,
    )


# ---------------------------------------------------------------------------
# two-dimensional posteriors: two subgroup taus, three levels
# ---------------------------------------------------------------------------


def _ll_tau_by(t2a: np.ndarray, t2b: np.ndarray, y, v, X, g, loc: _Normal):
    """Log likelihood on the tensor grid t2a (n1) x t2b (n2): subgroup 0 has tau_a, 1 has tau_b.

    The sums over studies separate by subgroup, so the cost is O((n1 + n2) k + n1 n2 p^3).
    """
    k = y.size
    parts = []
    for grp, t2 in ((0, t2a), (1, t2b)):
        sel = g == grp
        ys, vs = y[sel], v[sel]
        d = vs[None, :] + t2[:, None]
        w = 1.0 / d
        part = np.log(d).sum(-1) + w @ (ys * ys)
        if loc.p:
            Xs = X[sel]
            A = (w @ (Xs[:, :, None] * Xs[:, None, :]).reshape(-1, loc.p**2)).reshape(-1, loc.p, loc.p)
            h = w @ (ys[:, None] * Xs)
        else:
            A = h = None
        parts.append((part, A, h))
    (pa, Aa, ha), (pb, Ab, hb) = parts
    part = pa[:, None] + pb[None, :]
    if loc.p:
        A = Aa[:, None] + Ab[None, :]
        h = ha[:, None] + hb[None, :]
        return _finish(part, A, h, k, loc)
    return _finish(part, None, None, k, loc)


@dataclass
class _Clusters:
    """Effects sorted by cluster, for the Sherman-Morrison algebra of three-level models."""

    order: np.ndarray
    starts: np.ndarray
    index: np.ndarray  # cluster code of each (sorted) effect
    y: np.ndarray
    v: np.ndarray
    X: np.ndarray | None

    @classmethod
    def create(cls, y, v, X, cluster_index) -> "_Clusters":
        order = np.argsort(cluster_index, kind="stable")
        ci = cluster_index[order]
        starts = np.flatnonzero(np.r_[True, ci[1:] != ci[:-1]])
        codes = np.cumsum(np.r_[True, ci[1:] != ci[:-1]]) - 1
        return cls(order, starts, codes, y[order], v[order], None if X is None else X[order])

    @property
    def J(self) -> int:
        return self.starts.size

    def sums(self, t2w: np.ndarray) -> dict[str, np.ndarray]:
        """Per-cluster sums given tau_within^2 (n2,): d = v + t2w."""
        d = self.v[None, :] + t2w[:, None]
        w = 1.0 / d
        red = lambda a: np.add.reduceat(a, self.starts, axis=1)  # noqa: E731
        out = {
            "logdet": np.log(d).sum(-1),
            "yDy": w @ (self.y * self.y),
            "s": red(w),
            "r": red(w * self.y),
        }
        if self.X is not None:
            p = self.X.shape[1]
            out["a"] = np.stack([red(w * self.X[:, j]) for j in range(p)], axis=-1)  # (n2, J, p)
            out["A"] = (w @ (self.X[:, :, None] * self.X[:, None, :]).reshape(-1, p * p)).reshape(-1, p, p)
            out["h"] = w @ (self.y[:, None] * self.X)
        return out


def _ll_cluster(t2: np.ndarray, t2w: np.ndarray, cl: _Clusters, loc: _Normal):
    """Log likelihood on the grid t2 (n1) x t2w (n2) of a three-level model.

    Cluster j has covariance D_j + tau^2 11' with D_j = diag(v + tau_within^2):
    Sherman-Morrison gives its inverse and determinant from per-cluster sums, so one
    grid point costs O(J p^2) after O(k) sums per tau_within value.
    """
    k = cl.y.size
    S = cl.sums(t2w)
    n1, n2 = t2.size, t2w.size
    p = loc.p
    ll = np.empty((n1, n2))
    b = np.empty((n1, n2, p)) if p else None
    V = np.empty((n1, n2, p, p)) if p else None
    step = max(1, int(_CHUNK // max(n1 * cl.J * max(p, 1), 1)))
    for s0 in range(0, n2, step):
        sl = slice(s0, s0 + step)
        s = S["s"][sl][None]  # (1, m, J)
        c = t2[:, None, None] / (1.0 + t2[:, None, None] * s)  # (n1, m, J)
        part = (S["logdet"][sl][None] + np.log1p(t2[:, None, None] * s).sum(-1)
                + S["yDy"][sl][None] - (c * S["r"][sl][None] ** 2).sum(-1))
        if p:
            a = S["a"][sl][None]  # (1, m, J, p)
            ca = c[..., None] * a
            A = S["A"][sl][None] - np.einsum("xmjp,xmjq->xmpq", ca, np.broadcast_to(a, ca.shape))
            h = S["h"][sl][None] - np.einsum("xmjp,xmj->xmp", ca, np.broadcast_to(S["r"][sl][None], c.shape))
            ll[:, sl], b[:, sl], V[:, sl] = _finish(part, A, h, k, loc)
        else:
            ll[:, sl] = _finish(part, None, None, k, loc)[0]
    return ll, b, V


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
        W = np.concatenate(W)
        return np.concatenate(U1), np.concatenate(U2), W / W.sum()


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


# ---------------------------------------------------------------------------
# the exact posterior of one model
# ---------------------------------------------------------------------------


def _check_supported(spec) -> None:
    if spec.likelihood != "normal":
        raise ValueError(
            f"engine='exact' handles normal random effects only; likelihood={spec.likelihood!r} has "
            f"no closed-form conditional posterior. {_NUTS_HINT}."
        )
    if spec.tau_by is not None and len(spec.group_names) > 2:
        raise ValueError(
            f"engine='exact' handles tau_by= with two subgroups (a two-dimensional integral); "
            f"{spec.tau_by!r} has {len(spec.group_names)} ({', '.join(spec.group_names)}). {_NUTS_HINT}."
        )
    for key in ("tau", "tau_within"):
        prior = spec.priors.get(key)
        if prior is not None and not hasattr(prior, "logpdf_tau"):
            raise ValueError(f"priors[{key!r}] = {prior!r} has no density of tau. {_NUTS_HINT}.")


def _as_spec(obj: Any):
    return getattr(obj, "spec", obj)


@dataclass
class ExactPosterior:
    """The exact posterior of a normal-normal model: quadrature grid and summaries.

    Built by :func:`exact_posterior` (and by ``MetaAnalysis.fit(engine="exact")``).
    ``kind`` is ``"common"``, ``"random"``, ``"tau_by"`` or ``"cluster"``.

    Attributes
    ----------
    spec : ModelSpec
    kind : str
    log_marginal_likelihood : float
        ``log p(y)`` under the model and its priors.
    """

    spec: Any
    kind: str
    log_marginal_likelihood: float
    grid: Any = None
    loc: _Normal | None = None
    grid_clusters: Any = None
    _nodes: dict = field(default_factory=dict, repr=False)

    # -- nodes: (weights, tau values per parameter, b, V) ------------------
    def _mixture_nodes(self):
        """Posterior weights and the conditional normal of beta at each node (atom included)."""
        if "beta" in self._nodes:
            return self._nodes["beta"]
        g = self.grid
        if self.kind == "common":
            out = (np.ones(1), g["b"][None], g["V"][None], {})
        elif self.kind == "random":
            w = np.concatenate([g.weights[0], g.atom])
            b = np.concatenate([g.b[0], g.b0])
            V = np.concatenate([g.V[0], g.V0])
            out = (w, b, V, {"tau": np.concatenate([g.tau[0], [0.0]])})
        else:
            W = g.weights
            keep = W > W.max() * 1e-16
            i1, i2 = np.nonzero(keep)
            taus = {self.tau_names[0]: np.exp(g.u1.reshape(-1)[i1]), self.tau_names[1]: np.exp(g.u2.reshape(-1)[i2])}
            w = W[keep]
            out = (w / w.sum(), g.b[keep], g.V[keep], taus)
        self._nodes["beta"] = out
        return out

    @property
    def tau_names(self) -> list[str]:
        if self.kind == "random":
            return ["tau"]
        if self.kind == "tau_by":
            return [f"tau[{n}]" for n in self.spec.group_names]
        if self.kind == "cluster":
            return ["tau", "tau_within"]
        return []

    def _theta_nodes(self, compressed: bool = False):
        """Weights, tau values and (b, V) at the nodes for the study effects.

        ``compressed=False``: all quadrature nodes (negligible weights pruned).
        ``compressed=True``: a Gauss rule for the posterior of the heterogeneity built
        from the nodes (Lanczos; 48 nodes in 1-D, 32 x 32 nested in 2-D). Its mixture
        quantiles are within about 1e-4 posterior sd; :meth:`summary` polishes them with
        Newton steps on the full rule unless k is very large.
        """
        key = "theta_c" if compressed else "theta"
        if key in self._nodes:
            return self._nodes[key]
        w, b, V, taus = self._mixture_nodes()
        spec = self.spec
        g = self.grid
        if self.kind in ("tau_by", "cluster"):
            keep = w > 1e-13 * w.max()
            w = w[keep] / w[keep].sum()
            b, V = b[keep], V[keep]
            taus = {name: val[keep] for name, val in taus.items()}
        if compressed and self.kind == "random":
            x, wc = _gauss_compress(g.u[0].reshape(-1), g.weights[0], 48)
            tau = np.exp(x)
            _, bc, Vc = _loglik_re((tau * tau)[None], spec.yi[None], spec.vi[None], spec.X, self.loc)
            w = np.concatenate([wc, g.atom])
            b = np.concatenate([bc[0], g.b0])
            V = np.concatenate([Vc[0], g.V0])
            taus = {"tau": np.concatenate([tau, [0.0]])}
        elif compressed and self.kind in ("tau_by", "cluster"):
            u1, u2, w = g.compressed(32, 32)
            t1, t2 = np.exp(u1), np.exp(u2)
            b, V = self._bV_at(t1, t2)
            taus = {self.tau_names[0]: t1, self.tau_names[1]: t2}
        self._nodes[key] = (w, b, V, taus)
        return self._nodes[key]

    def _bV_at(self, t1: np.ndarray, t2: np.ndarray, chunk: int | None = None):
        """beta | (tau_1, tau_2), y at paired values (2-D models): b (N, p), V (N, p, p)."""
        spec, loc = self.spec, self.loc
        N = t1.size
        b = np.empty((N, loc.p))
        V = np.empty((N, loc.p, loc.p))
        if self.kind == "tau_by":
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
            cl = self.grid_clusters
            X = cl.X
            step = max(1, int(_CHUNK // max(cl.y.size * loc.p, 1)))
            for s0 in range(0, N, step):
                sl = slice(s0, s0 + step)
                d = cl.v[None] + t2[sl, None] ** 2  # (n, k)
                w = 1.0 / d
                s = np.add.reduceat(w, cl.starts, axis=1)  # (n, J)
                c = t1[sl, None] ** 2 / (1.0 + t1[sl, None] ** 2 * s)
                r = np.add.reduceat(w * cl.y, cl.starts, axis=1)
                a = np.add.reduceat(w[..., None] * X[None], cl.starts, axis=1)  # (n, J, p)
                A = np.einsum("nk,kp,kq->npq", w, X, X) - np.einsum("nj,njp,njq->npq", c, a, a)
                h = w @ (cl.y[:, None] * X) - np.einsum("nj,njp,nj->np", c, a, r)
                _, b[sl], V[sl] = _finish(np.zeros(A.shape[0]), A, h, spec.k, loc)
        return b, V

    # -- summaries -----------------------------------------------------------
    def summary(self, theta: bool = True) -> pd.DataFrame:
        """Exact posterior summaries: mean, sd, median, eti_lower, eti_upper (95%).

        Parameters
        ----------
        theta : bool
            Include the rows ``theta[<label>]`` (the study effects); without them
            the summary is faster (prior comparisons, simulations).
        """
        key = "summary" if theta else "summary_no_theta"
        if key in self._nodes:
            return self._nodes[key].copy()
        if not theta and "summary" in self._nodes:
            full = self._nodes["summary"]
            return full.loc[[r for r in full.index if not r.startswith("theta[")]].copy()
        spec = self.spec
        rows: dict[str, tuple] = {}
        w, b, V, taus = self._mixture_nodes()
        sd = np.sqrt(np.einsum("gjj->gj", V))  # (G, p)
        names = ["mu"] if not spec.is_regression else [f"beta[{c}]" for c in spec.coef_names]
        qs = _mixture_quantiles(w[None], b.T, sd.T)
        mean, sdev = _mixture_moments(w[None], b.T, sd.T)
        for j, name in enumerate(names):
            rows[name] = (mean[j], sdev[j], qs[j, 1], qs[j, 0], qs[j, 2])
        # heterogeneity
        if self.kind == "random":
            g = self.grid
            m, s = g.tau_moments()
            q = g.tau_quantiles(_Q)[0]
            rows["tau"] = (m[0], s[0], q[1], q[0], q[2])
        elif self.kind in ("tau_by", "cluster"):
            g = self.grid
            for axis, name in enumerate(self.tau_names):
                u, wq, d, _ = g.marginal(axis)
                pw = (wq * d).reshape(-1)
                t = np.exp(u.reshape(-1))
                m = float(pw @ t)
                s = float(np.sqrt(pw @ (t - m) ** 2))
                q = g.tau_quantiles(axis, _Q)
                rows[name] = (m, s, q[1], q[0], q[2])
        # study effects
        if theta:
            qs, mean, sdev = self._theta_summary()
            for i, lab in enumerate(spec.labels):
                rows[f"theta[{lab}]"] = (mean[i], sdev[i], qs[i, 1], qs[i, 0], qs[i, 2])
        for name, (nw, nm, ns) in self._theta_new_mixture().items():
            qn = _mixture_quantiles(nw, nm, ns)
            mn, sn = _mixture_moments(nw, nm, ns)
            rows[name] = (float(mn), float(sn), qn[1], qn[0], qn[2])
        out = pd.DataFrame.from_dict(rows, orient="index",
                                     columns=["mean", "sd", "median", "eti_lower", "eti_upper"]).astype(float)
        self._nodes[key] = out
        return out.copy()

    def _theta_summary(self, small: float = 3e6, large: float = 3e7):
        """Quantiles (k, 3), means and sds of the study effects.

        k x nodes <= *small*: root-finding on the full mixture. Otherwise quantiles start
        from the compressed rule and take Newton steps on the full mixture while
        k x nodes <= *large*; beyond that the compressed rule alone (large k).
        """
        spec = self.spec
        if self.kind == "common":
            tw, tm, ts = self._theta_mixture()
            return _mixture_quantiles(tw[None], tm, ts), *_mixture_moments(tw[None], tm, ts)
        G = self._theta_nodes()[0].size
        if G * spec.k <= small:
            tw, tm, ts = self._theta_mixture()
            return _mixture_quantiles(tw[None], tm, ts), *_mixture_moments(tw[None], tm, ts)
        cw, cm, cs = self._theta_mixture(compressed=True)
        q0 = _mixture_quantiles(cw[None], cm, cs)
        if G * spec.k > large:
            return q0, *_mixture_moments(cw[None], cm, cs)
        tw, tm, ts = self._theta_mixture()
        q = _mixture_quantiles(tw[None], tm, ts, x0=q0, max_iter=3)
        return q, *_mixture_moments(tw[None], tm, ts)

    def _theta_mixture(self, compressed: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """theta_i | y as mixtures: weights (G,), means and sds (k, G)."""
        spec = self.spec
        y, v, X = spec.yi, spec.vi, spec.X
        if self.kind == "common":
            w, b, V, _ = self._mixture_nodes()
            m = (X @ b[0])[:, None]
            s = np.sqrt(np.einsum("kp,pq,kq->k", X, V[0], X))[:, None]
            return w, m, s
        w, b, V, taus = self._theta_nodes(compressed)
        xb = X @ b.T  # (k, G)
        xVx = np.einsum("kp,gpq,kq->kg", X, V, X)
        if self.kind == "cluster":
            m, s2 = self._theta_cluster(taus["tau"], taus["tau_within"], b, V)
            return w, m, np.sqrt(np.maximum(s2, 1e-300))
        if self.kind == "tau_by":
            t1, t2 = taus[self.tau_names[0]], taus[self.tau_names[1]]
            tau2 = np.where(spec.group_index[:, None] == 0, t1[None] ** 2, t2[None] ** 2)
        else:
            tau2 = taus["tau"][None] ** 2
        Bs = v[:, None] / (v[:, None] + tau2)
        m = y[:, None] - Bs * (y[:, None] - xb)
        s2 = v[:, None] * (1.0 - Bs) + Bs**2 * xVx
        return w, m, np.sqrt(np.maximum(s2, 1e-300))

    def _theta_cluster(self, tau, tau_w, b, V):
        """Mean and variance of theta | tau, tau_within, y for three-level models: (k, G) in spec order.

        With Sigma^-1 of each cluster from Sherman-Morrison:
        E[theta | .] = y - v * Sigma^-1 (y - X b) and
        Var[theta_i | .] = v_i - v_i^2 ([Sigma^-1]_ii - (Sigma^-1 X)_i V (Sigma^-1 X)_i').
        """
        cl = self.grid_clusters
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

    def _theta_new_mixture(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        spec = self.spec
        w, b, V, taus = self._mixture_nodes()
        x = spec.x_new
        mean = b @ x
        var0 = np.einsum("p,gpq,q->g", x, V, x)
        if self.kind == "common":
            return {"theta_new": (w, mean, np.sqrt(var0))}
        if self.kind == "random":
            return {"theta_new": (w, mean, np.sqrt(var0 + taus["tau"] ** 2))}
        if self.kind == "cluster":
            return {"theta_new": (w, mean, np.sqrt(var0 + taus["tau"] ** 2 + taus["tau_within"] ** 2))}
        out = {}
        for g, (gname, name) in enumerate(zip(spec.group_names, self.tau_names)):
            xg = spec.x_new_groups[g]
            var_g = np.einsum("p,gpq,q->g", xg, V, xg)
            out[f"theta_new[{gname}]"] = (w, b @ xg, np.sqrt(var_g + taus[name] ** 2))
        return out

    # -- densities -------------------------------------------------------------
    def density(self, name: str, x: Any) -> np.ndarray:
        """Posterior density of ``mu``/``beta[<coef>]``, ``theta_new`` or ``tau`` at *x*.

        For tau the density of tau (not of log tau); at tau = 0 the limit
        ``p(y | tau=0) p_prior(0) / p(y)`` (the Savage-Dickey numerator).
        """
        x = np.asarray(x, dtype=float)
        spec = self.spec
        if name in ("mu",) or name.startswith("beta["):
            j = 0 if name == "mu" else spec.coef_names.index(name[5:-1])
            w, b, V, _ = self._mixture_nodes()
            return _mixture_pdf(x, w, b[:, j], np.sqrt(V[:, j, j]))
        if name.startswith("theta_new"):
            nw, nm, ns = self._theta_new_mixture()[name]
            return _mixture_pdf(x, nw, nm, ns)
        if name == "tau" and self.kind == "random":
            prior = spec.priors["tau"]
            t = np.maximum(x, 0.0)
            ll, _, _ = _loglik_re((t * t).reshape(1, -1), spec.yi[None], spec.vi[None], spec.X, self.loc)
            with np.errstate(divide="ignore"):
                lp = np.asarray(prior.logpdf_tau(t.reshape(-1)), dtype=float)
            out = np.exp(ll[0] + lp - self.log_marginal_likelihood)
            return np.where(x < 0, 0.0, out).reshape(x.shape)
        if self.kind in ("tau_by", "cluster") and name in self.tau_names:
            axis = self.tau_names.index(name)
            g = self.grid
            u, wq, d, e = g.marginal(axis)
            ux = np.log(np.maximum(x, 1e-300)).reshape(-1)
            P = u.shape[0]
            j = np.clip(np.searchsorted(e, ux, side="right") - 1, 0, P - 1)
            h = (e[j + 1] - e[j]) / 2.0
            t = (ux - e[j]) / np.where(h > 0, h, 1.0) - 1.0
            L = _lagrange_weights(np.clip(t, -1, 1), g.n)
            val = np.maximum((L * d[j]).sum(-1), 0.0) / np.maximum(x.reshape(-1), 1e-300)
            inside = (ux >= e[0]) & (ux <= e[-1])
            return np.where(inside, val, 0.0).reshape(x.shape)
        raise KeyError(f"no density for {name!r}")

    def prob(self, name: str = "mu", threshold: float = 0.0) -> float:
        """Posterior probability that the parameter exceeds *threshold* (mu, beta[...], theta_new)."""
        spec = self.spec
        if name == "mu" or name.startswith("beta["):
            j = 0 if name == "mu" else spec.coef_names.index(name[5:-1])
            w, b, V, _ = self._mixture_nodes()
            return float(1.0 - _mixture_cdf(threshold, w, b[:, j], np.sqrt(V[:, j, j])))
        if name.startswith("theta_new"):
            nw, nm, ns = self._theta_new_mixture()[name]
            return float(1.0 - _mixture_cdf(threshold, nw, nm, ns))
        if name == "tau" and self.kind == "random":
            return float(1.0 - self.grid.tau_cdf(threshold)[0])
        raise KeyError(f"no probability for {name!r}")

    # -- draws -----------------------------------------------------------------
    def draws(self, n: int, rng: np.random.Generator, theta: bool = True) -> dict[str, np.ndarray]:
        """n independent draws from the posterior: a dict name -> array (n, ...)."""
        spec, loc = self.spec, self.loc
        k, p = spec.k, loc.p
        out: dict[str, np.ndarray] = {}
        u01 = rng.random(n)
        if self.kind == "common":
            g = self.grid
            b, V = np.broadcast_to(g["b"], (n, p)), np.broadcast_to(g["V"], (n, p, p))
        elif self.kind == "random":
            g = self.grid
            tau = np.exp(g.u_quantiles(u01[None])[0])
            tau = np.where(np.isfinite(tau), tau, 0.0)
            _, b, V = _loglik_re((tau * tau)[None], spec.yi[None], spec.vi[None], spec.X, loc)
            b, V = b[0], V[0]
            out["tau"] = tau
        else:
            g = self.grid
            u2s = g.u_quantiles(1, u01)
            _, _, _, anti = _gauss_legendre(g.n)
            cond = g.conditional_on_u2(u2s)  # (n, n1)
            P1 = g.u1.shape[0]
            cond = cond.reshape(n, P1, g.n)
            mass = (g.w1[None] * cond).sum(-1)
            tot = mass.sum(-1)
            coef1 = np.einsum("li,bpi->bpl", anti, cond / tot[:, None, None])
            u1s = _invert_panels(rng.random(n)[:, None], np.zeros(n), mass / tot[:, None], coef1,
                                 np.broadcast_to(g.e1, (n, g.e1.size)))[:, 0]
            t1, t2 = np.exp(u1s), np.exp(u2s)
            b, V = self._bV_at(t1, t2)
            if self.kind == "tau_by":
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
            if self.kind == "common":
                out["theta"] = xb
            elif self.kind == "cluster":
                out["theta"] = self._draw_theta_cluster(out["tau"], out["tau_within"], xb, rng)
            else:
                if self.kind == "tau_by":
                    tau2 = np.where(spec.group_index[None] == 0, out["tau"][:, :1] ** 2, out["tau"][:, 1:] ** 2)
                else:
                    tau2 = out["tau"][:, None] ** 2
                Bs = v / (v + tau2)
                mean = y - Bs * (y - xb)
                out["theta"] = mean + np.sqrt(v * (1.0 - Bs)) * rng.standard_normal((n, k))
        z_new = rng.standard_normal(n if self.kind != "tau_by" else (n, 2))
        if self.kind == "common":
            out["theta_new"] = xb_new
        elif self.kind == "random":
            out["theta_new"] = xb_new + out["tau"] * z_new
        elif self.kind == "tau_by":
            out["theta_new"] = beta @ spec.x_new_groups.T + out["tau"] * z_new
        else:
            z2 = rng.standard_normal(n)
            out["theta_new"] = xb_new + out["tau"] * z_new + out["tau_within"] * z2
        return out

    def _draw_theta_cluster(self, tau, tau_w, xb, rng):
        cl = self.grid_clusters
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


def exact_posterior(spec: Any, grid: int | Mapping[str, Any] | None = None) -> ExactPosterior:
    """Integrate the posterior of a normal-normal model (no draws).

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model (:class:`bayesma.models.spec.ModelSpec`).
    grid : int or dict, optional
        Gauss-Legendre nodes per panel (``{"n": 16}`` or ``16``); default 12 in
        one dimension, 8 per axis in two.

    Returns
    -------
    ExactPosterior

    Raises
    ------
    ValueError
        For models the exact engine does not handle (Student-t random effects,
        more than two subgroups with ``tau_by``, non-normal priors on the
        coefficients): use ``engine="nuts"``.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})  # doctest: +SKIP
    >>> ep = bm.exact.exact_posterior(m.spec)                                          # doctest: +SKIP
    >>> ep.summary().loc["tau", "median"]                                              # doctest: +SKIP
    """
    spec = _as_spec(spec)
    _check_supported(spec)
    n = grid.get("n") if isinstance(grid, Mapping) else grid
    loc = _location_prior(spec)
    y, v, X = spec.yi, spec.vi, spec.X
    if spec.model == "common":
        ll, b, V = _loglik_re(np.zeros((1, 1)), y[None], v[None], X, loc)
        return ExactPosterior(spec, "common", float(ll[0, 0]), {"b": b[0, 0], "V": V[0, 0]}, loc)
    if spec.tau_by is not None:
        g = spec.group_index
        tau_prior = spec.priors["tau"]
        lpdf = _logpdf_tau_fn(tau_prior)
        logf2 = _log_post_2d(lambda t2a, t2b: _ll_tau_by(t2a, t2b, y, v, X, g, loc), lpdf, lpdf)
        scales = tuple(float(_scale(y[g == j], v[g == j])) for j in (0, 1))
        gr = _grid_2d(logf2, (tau_prior, tau_prior), scales, n=n or _N_GL_2D)
        return ExactPosterior(spec, "tau_by", gr.logml, gr, loc)
    if spec.cluster_index is not None:
        cl = _Clusters.create(y, v, X, spec.cluster_index)
        p_tau, p_w = spec.priors["tau"], spec.priors.get("tau_within", spec.priors["tau"])
        logf2 = _log_post_2d(lambda t2, t2w: _ll_cluster(t2, t2w, cl, loc), _logpdf_tau_fn(p_tau), _logpdf_tau_fn(p_w))
        sc = float(_scale(y, v))
        gr = _grid_2d(logf2, (p_tau, p_w), (sc, sc), n=n or (_N_GL_2D if cl.J < 5000 else 6))
        ep = ExactPosterior(spec, "cluster", gr.logml, gr, loc)
        ep.grid_clusters = cl
        return ep
    gr = _grid_1d(y[None], v[None], X, loc, spec.priors["tau"], n=n or _N_GL_1D)
    return ExactPosterior(spec, "random", float(gr.logml[0]), gr, loc)


# ---------------------------------------------------------------------------
# fit_exact: the engine behind MetaAnalysis.fit(engine="exact")
# ---------------------------------------------------------------------------


def _to_idata(spec, draws: dict[str, np.ndarray], chains: int, n_draws: int):
    import arviz as az

    coords = spec.coords()
    coords.pop("cluster", None)
    dims = {"theta": ["study"], "beta": ["coef"]}
    if spec.tau_by is not None:
        dims["tau"] = ["subgroup"]
        dims["theta_new"] = ["subgroup"]
    post = {}
    for name, arr in draws.items():
        post[name] = np.asarray(arr).reshape((chains, n_draws) + np.shape(arr)[1:])
    used_dims = {k: v for k, v in dims.items() if k in post}
    return az.from_dict(
        posterior=post,
        observed_data={"yi": spec.yi},
        constant_data={"vi": spec.vi},
        coords=coords,
        dims={**used_dims, "yi": ["study"], "vi": ["study"]},
    )


def fit_exact(
    spec: Any,
    draws: int = 1000,
    chains: int = 4,
    seed: int | np.random.Generator | None = None,
    grid: int | Mapping[str, Any] | None = None,
    theta_draws: bool = True,
    **kwargs: Any,
):
    """Exact posterior of a normal-normal meta-analysis model, with independent draws.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model; the engine behind ``MetaAnalysis.fit(engine="exact")``.
    draws, chains : int
        ``draws * chains`` independent posterior draws fill ``.idata``,
        arranged as *chains* chains (they are independent, so r_hat is 1 by
        construction).
    seed : int or numpy.random.Generator, optional
        The same seed gives the same draws.
    grid : int or dict, optional
        Gauss-Legendre nodes per panel (see :func:`exact_posterior`).
    theta_draws : bool
        Draw the study effects ``theta`` (k values per draw). For very large k
        set it to False (the summaries of theta are exact either way).
    **kwargs
        NUTS-only options (``tune``, ``target_accept``, ``progressbar``...) are
        accepted and ignored.

    Returns
    -------
    bayesma.MetaPosterior
        With ``exact_summary`` (mean, sd, median, 2.5% and 97.5% quantiles,
        computed by quadrature) and ``.idata`` holding the draws; the
        :class:`ExactPosterior` is available as ``post.exact``.

    Examples
    --------
    >>> import bayesma as bm
    >>> from bayesma.exact import fit_exact
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04], measure="SMD")  # doctest: +SKIP
    >>> post = fit_exact(m.spec, draws=500, chains=2, seed=1)                                   # doctest: +SKIP
    >>> post.summary().loc[["mu", "tau"], ["mean", "eti_lower", "eti_upper"]]                     # doctest: +SKIP
    """
    unknown = set(kwargs) - {"tune", "target_accept", "progressbar", "sampler", "prior_draws", "cores",
                             "init", "nuts_sampler", "compute_convergence_checks", "idata_kwargs"}
    if unknown:
        raise TypeError(f"fit_exact() got unexpected keyword arguments {sorted(unknown)}")
    start = time.perf_counter()
    spec = _as_spec(spec)
    ep = exact_posterior(spec, grid=grid)
    summary = ep.summary()
    n = int(draws) * int(chains)
    if theta_draws and n * spec.k > 2e8:
        raise ValueError(
            f"{n} draws of {spec.k} study effects need {n * spec.k * 8 / 1e9:.1f} GB; use fewer draws or "
            "theta_draws=False (the exact summaries of theta do not need the draws)"
        )
    if n < 1:
        raise ValueError("fit_exact() needs draws >= 1 and chains >= 1 (the result holds draws); for the "
                         "exact summaries alone use bayesma.exact.exact_posterior(spec).summary()")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sample = ep.draws(n, rng, theta=theta_draws)
    idata = _to_idata(spec, sample, int(chains), int(draws))
    seconds = time.perf_counter() - start
    from bayesma.results import MetaPosterior

    post = MetaPosterior(idata, spec, "exact", exact_summary=summary, fit_seconds=seconds)
    try:
        post.exact = ep
    except AttributeError:  # pragma: no cover - a slotted result class
        pass
    return post


# ---------------------------------------------------------------------------
# marginal likelihoods and Bayes factors
# ---------------------------------------------------------------------------


def marginal_likelihood(spec: Any, log: bool = True) -> float:
    """Marginal likelihood ``p(y)`` of the model under its priors (log by default).

    The coefficients are integrated analytically, the heterogeneity by quadrature.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})  # doctest: +SKIP
    >>> bm.exact.marginal_likelihood(m)                                               # doctest: +SKIP
    """
    value = exact_posterior(_as_spec(spec)).log_marginal_likelihood
    return value if log else math.exp(value)


def _log_ml_null_effect(spec) -> float:
    """log p(y) with mu fixed at 0 (intercept-only models)."""
    y, v = spec.yi, spec.vi
    none = _Normal(np.zeros(0), np.zeros(0))
    if spec.model == "common":
        ll, _, _ = _loglik_re(np.zeros((1, 1)), y[None], v[None], None, none)
        return float(ll[0, 0])
    if spec.tau_by is not None or spec.cluster_index is not None:
        raise ValueError("bayes_factor_effect() is implemented for the common and the simple random-effects model")
    gr = _grid_1d(y[None], v[None], None, none, spec.priors["tau"])
    return float(gr.logml[0])


def bayes_factor_effect(spec: Any, log: bool = False) -> float:
    """Bayes factor BF10 for an effect: mu ~ its prior (H1) against mu = 0 (H0).

    Both models share the heterogeneity prior; it is the ratio of their marginal
    likelihoods (equal, by the Savage-Dickey identity, to prior density over
    posterior density of mu at 0). Intercept-only models.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
    log : bool
        Return log BF10.

    Returns
    -------
    float
        BF10 > 1 favours an effect; 1 / BF10 is BF01.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.3, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})  # doctest: +SKIP
    >>> bm.exact.bayes_factor_effect(m) > 1                                           # doctest: +SKIP
    True
    """
    spec = _as_spec(spec)
    if spec.is_regression:
        raise ValueError("bayes_factor_effect() tests mu = 0 in an intercept-only model; for a coefficient of a "
                         "meta-regression use ExactPosterior.savage_dickey('beta[<coef>]')")
    lbf = _log_bf_effect(spec, marginal_likelihood(spec))
    return lbf if log else math.exp(lbf)


def _log_bf_effect(spec, log_ml: float) -> float:
    return log_ml - _log_ml_null_effect(spec)


def _log_bf_heterogeneity(spec, log_ml: float) -> float:
    return log_ml - marginal_likelihood(replace(spec, model="common"))


def bayes_factor_heterogeneity(spec: Any, log: bool = False) -> float:
    """Bayes factor BF10 for heterogeneity: tau ~ its prior (random effects, H1) against tau = 0
    (common effect, H0), with the same prior on mu.

    Equals ``p_prior(tau = 0) / p_post(tau = 0)`` (Savage-Dickey) when the prior has a
    positive density at 0.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.6, -0.2], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})  # doctest: +SKIP
    >>> bm.exact.bayes_factor_heterogeneity(m) > 1                                    # doctest: +SKIP
    True
    """
    spec = _as_spec(spec)
    if spec.model != "random" or spec.tau_by is not None or spec.cluster_index is not None:
        raise ValueError("bayes_factor_heterogeneity() compares the random-effects model (one tau) with the "
                         "common-effect model; give a random-effects model without tau_by= / cluster=")
    lbf = _log_bf_heterogeneity(spec, marginal_likelihood(spec))
    return lbf if log else math.exp(lbf)


def model_probabilities(spec: Any, prior_prob_random: float = 0.5) -> pd.DataFrame:
    """Posterior probabilities of the common-effect and random-effects models.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        A random-effects model; the common-effect model uses the same priors
        on mu / the coefficients.
    prior_prob_random : float
        Prior probability of the random-effects model (0.5: equal prior odds).

    Returns
    -------
    pandas.DataFrame
        Rows ``common``, ``random``; columns ``log_marginal_likelihood``,
        ``prior_prob``, ``posterior_prob``.
    """
    return _model_probabilities(_as_spec(spec), prior_prob_random)


def _model_probabilities(spec, prior_prob_random: float, log_ml: float | None = None) -> pd.DataFrame:
    """:func:`model_probabilities`, reusing *log_ml*, the marginal likelihood of *spec* itself, when given."""
    if not 0 < prior_prob_random < 1:
        raise ValueError("prior_prob_random must be strictly between 0 and 1")
    if "tau" not in spec.priors:
        raise ValueError("model probabilities compare common and random effects and need the prior on tau: "
                         "give a random-effects model (model='random')")
    lml = {}
    for model in ("random", "common"):
        lml[model] = (log_ml if log_ml is not None and spec.model == model
                      else marginal_likelihood(replace(spec, model=model)))
    lre, lce = lml["random"], lml["common"]
    prior = np.array([1.0 - prior_prob_random, prior_prob_random])
    logs = np.array([lce, lre]) + np.log(prior)
    post = np.exp(logs - np.logaddexp.reduce(logs))
    return pd.DataFrame({"log_marginal_likelihood": [lce, lre], "prior_prob": prior, "posterior_prob": post},
                        index=pd.Index(["common", "random"], name="model"))


def bayes_factors(spec: Any) -> pd.DataFrame:
    """Bayes factors of an intercept-only model: the effect and the heterogeneity.

    Returns
    -------
    pandas.DataFrame
        Rows ``effect`` (mu != 0 vs mu = 0) and ``heterogeneity`` (tau > 0 vs
        tau = 0); columns ``BF10``, ``BF01``, ``log_BF10``.
    """
    return _bayes_factor_table(_as_spec(spec))


def _bayes_factor_table(spec, log_ml: float | None = None) -> pd.DataFrame:
    """:func:`bayes_factors`, with the model's marginal likelihood computed once (or *log_ml*, when given)."""
    effect = not spec.is_regression
    heterogeneity = spec.model == "random" and spec.tau_by is None and spec.cluster_index is None
    if (effect or heterogeneity) and log_ml is None:
        log_ml = marginal_likelihood(spec)
    rows = {}
    if effect:
        rows["effect"] = _log_bf_effect(spec, log_ml)
    if heterogeneity:
        rows["heterogeneity"] = _log_bf_heterogeneity(spec, log_ml)
    lbf = pd.Series(rows, dtype=float)
    return pd.DataFrame({"BF10": np.exp(lbf), "BF01": np.exp(-lbf), "log_BF10": lbf})


def savage_dickey(ep: ExactPosterior, name: str = "mu", value: float = 0.0) -> float:
    """Savage-Dickey BF01 = posterior density / prior density at *value* (mu, beta[...], tau)."""
    spec = ep.spec
    post = float(ep.density(name, np.array([value]))[0])
    if name == "tau":
        prior = float(np.exp(spec.priors["tau"].logpdf_tau(value)))
    else:
        j = 0 if name == "mu" else spec.coef_names.index(name[5:-1])
        prior = float(np.exp(spec.location_prior(j).logpdf(value)))
    return post / prior


ExactPosterior.savage_dickey = savage_dickey  # type: ignore[attr-defined]


def _ep_bayes_factors(self: ExactPosterior) -> pd.DataFrame:
    """Bayes factors for the effect and the heterogeneity of this model (see :func:`bayes_factors`)."""
    return _bayes_factor_table(self.spec, self.log_marginal_likelihood)


def _ep_model_probabilities(self: ExactPosterior, prior_prob_random: float = 0.5) -> pd.DataFrame:
    """Posterior probabilities of the common-effect and random-effects models (see :func:`model_probabilities`)."""
    return _model_probabilities(self.spec, prior_prob_random, self.log_marginal_likelihood)


ExactPosterior.bayes_factors = _ep_bayes_factors  # type: ignore[attr-defined]
ExactPosterior.model_probabilities = _ep_model_probabilities  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# batched summaries for sensitivity analyses and simulations
# ---------------------------------------------------------------------------


def _prune_rows(w: np.ndarray, *arrays: np.ndarray, mass: float = 1e-10):
    """Per row, keep the heaviest mixture components holding all but *mass* of the weight
    (the same number of columns in every row), renormalized."""
    order = np.argsort(-w, axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    cum = np.cumsum(ws, axis=1)
    K = int(min(w.shape[1], (cum < (1.0 - mass) * cum[:, -1:]).sum(1).max() + 1))
    ws = ws[:, :K]
    ws = ws / ws.sum(1, keepdims=True)
    return (ws,) + tuple(np.take_along_axis(a, order[:, :K], axis=1) for a in arrays)


def batch_summaries(
    y: np.ndarray,
    v: np.ndarray,
    mu_prior: Any,
    tau_prior: Any | None,
    *,
    n: int = _N_GL_1D,
    chunk: int | None = None,
    bf: bool = False,
    new: bool = True,
    level: float = 0.95,
    fast: bool = False,
) -> dict[str, np.ndarray]:
    """Exact posterior summaries of the intercept-only random-effects model for many data sets at once.

    Parameters
    ----------
    y, v : array_like, shape (B, k)
        Effects and sampling variances, one row per data set (same k).
    mu_prior : Normal prior object
    tau_prior : heterogeneity prior, or None for the common-effect model
    bf : bool
        Also compute log BF10 for the effect (mu ~ prior vs mu = 0).
    new : bool
        Compute the interval for a new study's effect (``new_lower``, ``new_upper``);
        False skips it (a third of the time, for simulations that do not use it).
    level : float
        Probability of the equal-tailed intervals (``*_lower``, ``*_upper``).
    fast : bool
        A coarser rule (15 panels of 8 nodes instead of 26 of 12) for simulations:
        summaries within about 1e-6 of a posterior sd instead of 1e-9.

    Returns
    -------
    dict of arrays (B,)
        ``mu_mean, mu_sd, mu_lower, mu_median, mu_upper, mu_p_positive,
        tau_mean, tau_lower, tau_median, tau_upper, new_lower, new_upper,
        log_ml`` (``new_*`` only with *new*; and ``log_bf_effect`` with *bf*).

    Examples
    --------
    >>> import numpy as np
    >>> from bayesma import priors
    >>> from bayesma.exact import batch_summaries
    >>> out = batch_summaries(np.array([[0.1, 0.3, 0.2]]), np.full((1, 3), 0.02),
    ...                       priors.Normal(0, 1), priors.HalfNormal(0.5))
    >>> bool(out["mu_lower"][0] < out["mu_mean"][0] < out["mu_upper"][0])
    True
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    B, k = y.shape
    alpha = (1.0 - level) / 2.0
    qs3 = (alpha, 0.5, 1.0 - alpha)
    if mu_prior.family != "Normal":
        raise ValueError(f"the exact engine needs a Normal prior on mu, got {mu_prior!r}; {_NUTS_HINT}")
    loc = _Normal(np.array([mu_prior.params["mu"]]), np.array([1.0 / mu_prior.params["sigma"] ** 2]))
    X = np.ones((k, 1))
    keys = ["mu_mean", "mu_sd", "mu_lower", "mu_median", "mu_upper", "mu_p_positive", "tau_mean",
            "tau_lower", "tau_median", "tau_upper", "new_lower", "new_upper", "log_ml"]
    if not new:
        keys = [key for key in keys if not key.startswith("new_")]
    if bf:
        keys.append("log_bf_effect")
    out = {key: np.empty(B) for key in keys}
    size = chunk or max(1, int(_BATCH // ((130 if fast else 320) * k)))
    none = _Normal(np.zeros(0), np.zeros(0))
    for s0 in range(0, B, size):
        sl = slice(s0, min(B, s0 + size))
        yb, vb = y[sl], v[sl]
        if tau_prior is None:
            ll, b, V = _loglik_re(np.zeros((yb.shape[0], 1)), yb, vb, X, loc)
            w = np.ones((yb.shape[0], 1))
            m, s = b[:, :, 0], np.sqrt(V[:, :, 0, 0])
            out["log_ml"][sl] = ll[:, 0]
            for key in ("tau_mean", "tau_lower", "tau_median", "tau_upper"):
                out[key][sl] = 0.0
            sn = s
            if bf:
                ll0, _, _ = _loglik_re(np.zeros((yb.shape[0], 1)), yb, vb, None, none)
                out["log_bf_effect"][sl] = ll[:, 0] - ll0[:, 0]
        else:
            g = _grid_1d(yb, vb, X, loc, tau_prior, n=8 if fast else n, levels=_LEVELS_FAST if fast else _LEVELS_1D)
            w = np.concatenate([g.weights, g.atom[:, None]], axis=1)
            m = np.concatenate([g.b[..., 0], g.b0], axis=1)
            s = np.sqrt(np.concatenate([g.V[..., 0, 0], g.V0[..., 0]], axis=1))
            t = np.concatenate([g.tau, np.zeros((yb.shape[0], 1))], axis=1)
            sn = np.sqrt(s**2 + t**2)
            out["log_ml"][sl] = g.logml
            out["tau_mean"][sl] = g.tau_moments()[0]
            tq = g.tau_quantiles(qs3)
            out["tau_lower"][sl], out["tau_median"][sl], out["tau_upper"][sl] = tq[:, 0], tq[:, 1], tq[:, 2]
            if bf:
                g0 = _grid_1d(yb, vb, None, none, tau_prior, n=8 if fast else n,
                              levels=_LEVELS_FAST if fast else _LEVELS_1D)
                out["log_bf_effect"][sl] = g.logml - g0.logml
        mean, sd = _mixture_moments(w, m, s)
        if new:
            w, m, s, sn = _prune_rows(w, m, s, sn)
        else:
            w, m, s = _prune_rows(w, m, s)
        q = _mixture_quantiles(w, m, s, qs3)
        out["mu_mean"][sl], out["mu_sd"][sl] = mean, sd
        out["mu_lower"][sl], out["mu_median"][sl], out["mu_upper"][sl] = q[:, 0], q[:, 1], q[:, 2]
        out["mu_p_positive"][sl] = 1.0 - _mixture_cdf(np.zeros(mean.shape), w, m, s)
        if new:
            qn = _mixture_quantiles(w, m, sn, (alpha, 1.0 - alpha))
            out["new_lower"][sl], out["new_upper"][sl] = qn[:, 0], qn[:, 1]
    return out
