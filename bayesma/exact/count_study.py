"""One study of a binomial- or Poisson-normal model as a function of its effect: ``log g_i(theta)``.

``g_i(theta) = p(counts_i | theta)``: for single-group measures (PLO, IRLN) the binomial or
Poisson probability of the study's events in closed form; for two-group measures (OR, IRR)
with fixed baselines, ``g_i(theta) = int p(e1 | alpha + theta/2) p(e2 | alpha - theta/2)
p(alpha) dalpha`` with the study's own Normal baseline prior, computed for each theta on a
window around the mode in alpha (Newton's method: the integrand is log-concave) by the
trapezoid rule in ``s``, ``alpha = mode + sd sinh(s)`` (fine near the mode, coarse in the flat
tail of a wide baseline prior), between the points where the integrand has fallen by
``exp(-40)`` (spectrally accurate for smooth integrands that vanish at both ends). ``log g_i`` is computed once per study
on a sinh-spaced grid of 241 values ``theta = c_i + A_i sinh(t)`` (dense near the study's
estimate, out to 15 log units or 40 standard errors) and interpolated by a cubic spline in
``t``, linearly beyond (``log g_i`` is concave: Prékopa's theorem, the likelihood being
log-concave in ``(alpha, theta)``). Every number includes the constants (binomial coefficients,
factorials), so the marginal likelihood is that of the counts.

:func:`log_marginal` integrates ``g_i(theta) N(theta; mu, tau^2)`` over theta by adaptive
Gauss-Hermite quadrature (as lme4's ``nAGQ``): centred at the mode of the integrand (Newton's
method on the spline) and scaled by its curvature there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import interpolate, special

__all__ = ["StudyCurves", "study_curves", "log_marginal", "GH_NODES"]

_T = 6.0  # the t-grid covers [-T, T]: theta out to A * sinh(6) = 201.7 A from the centre
_M = 241  # spline nodes per study
_N_ALPHA = 241  # trapezoid nodes over the baseline window
_DROP = 40.0  # the baseline window ends where the integrand has fallen by exp(-40)
GH_NODES = 16  # adaptive Gauss-Hermite nodes over theta (16 to 32: the same posterior to 1e-8 sd)


@dataclass(frozen=True)
class StudyCurves:
    """``log g_i(theta)`` of k studies, with its first two derivatives in theta.

    ``kind`` is the :class:`bayesma.models.counts.Counts` kind; single-group kinds are evaluated
    in closed form (``e``, ``n``), two-group kinds from the splines (``centre``, ``A``, ``coef``).
    ``mode`` and ``curv`` locate each study's ``log g_i`` (its maximum and the curvature there).
    """

    kind: str
    mode: np.ndarray
    curv: np.ndarray
    e: np.ndarray | None = None
    n: np.ndarray | None = None
    const: np.ndarray | None = None
    centre: np.ndarray | None = None
    A: np.ndarray | None = None
    coef: np.ndarray | None = None  # (k, M - 1, 4) cubic coefficients in t

    @property
    def k(self) -> int:
        return int(self.mode.size)

    def __call__(self, i: Any, theta: np.ndarray, deriv: bool = False):
        """``log g`` at *theta* for the studies *i* (an index broadcasting with theta); with
        *deriv*, also the first and second derivatives in theta."""
        theta = np.asarray(theta, dtype=float)
        if self.coef is None:
            assert self.e is not None and self.n is not None and self.const is not None  # single-group kinds
            return _closed_form(self.kind, self.e[i], self.n[i], self.const[i], theta, deriv)
        return _spline(self, i, theta, deriv)


def _closed_form(kind: str, e, n, const, theta, deriv: bool):
    if kind == "binomial1":
        val = e * theta - n * np.logaddexp(0.0, theta) + const  # e log p + (n - e) log(1 - p)
        if not deriv:
            return val
        p = special.expit(theta)
        return val, e - n * p, -n * p * (1.0 - p)
    with np.errstate(over="ignore"):
        rate = n * np.exp(theta)
    val = e * theta - rate + const
    return (val, e - rate, -rate) if deriv else val


def _spline(c: StudyCurves, i: Any, theta: np.ndarray, deriv: bool):
    assert c.centre is not None and c.A is not None and c.coef is not None
    h = 2.0 * _T / (_M - 1)
    A = c.A[i]
    x = (theta - c.centre[i]) / A
    t = np.arcsinh(x)
    tc = np.clip(t, -_T, _T)
    j = np.clip(np.floor((tc + _T) / h).astype(np.int64), 0, _M - 2)
    s = tc - (-_T + j * h)
    if np.ndim(i) == 0:  # one study: one gather of its (M - 1, 4) rows
        cj = c.coef[int(i)][j]
        c0, c1, c2, c3 = cj[..., 0], cj[..., 1], cj[..., 2], cj[..., 3]
    else:
        c0, c1, c2, c3 = (c.coef[i, j, m] for m in range(4))
    val = ((c0 * s + c1) * s + c2) * s + c3
    dt = (3.0 * c0 * s + 2.0 * c1) * s + c2
    ch = np.cosh(tc)
    d1 = dt / (A * ch)  # d log g / d theta
    out = t != tc  # beyond the grid: linear in theta with the end slope
    val = np.where(out, val + d1 * (theta - (c.centre[i] + A * np.sinh(tc))), val)
    if not deriv:
        return val
    d2 = ((6.0 * c0 * s + 2.0 * c1) - np.tanh(tc) * dt) / (A * ch) ** 2
    return val, d1, np.where(out, 0.0, d2)


# ---------------------------------------------------------------------------
# two-group studies: the baseline integrated out
# ---------------------------------------------------------------------------


def _arm_terms(family: str, e, n, eta):
    """Log probability of one arm (no constant), its first and second derivatives in eta."""
    if family == "binomial":
        p = special.expit(eta)
        return e * eta - n * np.logaddexp(0.0, eta), e - n * p, -n * p * (1.0 - p)
    with np.errstate(over="ignore"):
        rate = n * np.exp(eta)
    return e * eta - rate, e - rate, -rate


def _log_integrand(family: str, cnt: tuple, theta, alpha, ma: float, sa: float, deriv: bool = False):
    e1, n1, e2, n2 = cnt
    a1 = _arm_terms(family, e1, n1, alpha + theta / 2.0)
    a2 = _arm_terms(family, e2, n2, alpha - theta / 2.0)
    val = a1[0] + a2[0] - 0.5 * ((alpha - ma) / sa) ** 2
    if not deriv:
        return val
    return val, a1[1] + a2[1] - (alpha - ma) / sa**2, a1[2] + a2[2] - 1.0 / sa**2


def _log_g_two_group(family: str, cnt: tuple, theta: np.ndarray, ma: float, sa: float) -> np.ndarray:
    """log int p(e1, e2 | alpha, theta) N(alpha; ma, sa) dalpha (no constant) at each theta (k, M)."""
    e1, n1, e2, n2 = cnt
    if family == "binomial":
        start = special.logit((e1 + e2 + 0.5) / (n1 + n2 + 1.0))
    else:
        start = np.log((e1 + e2 + 0.5) / (n1 + n2))
    alpha = np.broadcast_to(start, theta.shape).copy()
    for _ in range(60):  # Newton's method on a strictly concave function, steps capped
        _, d1, d2 = _log_integrand(family, cnt, theta, alpha, ma, sa, deriv=True)
        step = np.clip(-d1 / d2, -4.0, 4.0)
        alpha = alpha + step
        if np.all(np.abs(step) < 1e-10):
            break
    top, _, d2 = _log_integrand(family, cnt, theta, alpha, ma, sa, deriv=True)
    sd = 1.0 / np.sqrt(-d2)
    ends = []
    for sign in (-1.0, 1.0):
        dist = 9.0 * sd
        for _ in range(40):  # widen until the integrand has fallen by exp(-DROP) (log-concave: stays down)
            low = _log_integrand(family, cnt, theta, alpha + sign * dist, ma, sa) < top - _DROP
            if low.all():
                break
            dist = np.where(low, dist, 1.6 * dist)
        ends.append(alpha + sign * dist)
    # alpha = mode + sd sinh(s), s uniform: fine near the mode, coarse in a wide prior's flat tail
    s_lo, s_hi = np.arcsinh((ends[0] - alpha) / sd), np.arcsinh((ends[1] - alpha) / sd)
    lin = np.linspace(0.0, 1.0, _N_ALPHA)
    s = s_lo[..., None] + (s_hi - s_lo)[..., None] * lin
    a = alpha[..., None] + sd[..., None] * np.sinh(s)
    f = _log_integrand(family, tuple(np.asarray(v)[..., None] for v in cnt), theta[..., None], a, ma, sa)
    w = np.ones(_N_ALPHA)
    w[[0, -1]] = 0.5
    f = f + np.log(w) + np.log(np.cosh(s))  # trapezoid weights and d alpha / d s (up to sd * step)
    step = sd * (s_hi - s_lo) / (_N_ALPHA - 1)
    return special.logsumexp(f, axis=-1) + np.log(step) - 0.5 * math.log(2.0 * math.pi) - math.log(sa)


def _constants(c: Any) -> np.ndarray:
    """log binomial coefficients (binomial) or log(n^e / e!) (Poisson) of all arms of each study."""
    def one(e, n):
        if c.family == "binomial":
            return special.gammaln(n + 1.0) - special.gammaln(e + 1.0) - special.gammaln(n - e + 1.0)
        return e * np.log(n) - special.gammaln(e + 1.0)

    out = one(np.asarray(c.e1, float), np.asarray(c.n1, float))
    if c.two_group:
        out = out + one(np.asarray(c.e2, float), np.asarray(c.n2, float))
    return out


def study_curves(counts: Any, yi: np.ndarray, vi: np.ndarray, baseline_prior: Any = None) -> StudyCurves:
    """``log g_i`` of every study of *counts* (:class:`bayesma.models.counts.Counts`).

    *yi, vi* (``escalc``'s values) centre and scale each study's grid; *baseline_prior* is the
    Normal prior of the fixed baselines (two-group kinds).
    """
    const = _constants(counts)
    e1, n1 = np.asarray(counts.e1, float), np.asarray(counts.n1, float)
    if not counts.two_group:
        # mode and curvature of the closed form (a zero count: the mode is far out, the curvature small)
        if counts.kind == "binomial1":
            mode = special.logit(np.clip(e1, 0.5, n1 - 0.5) / n1)
            p = special.expit(mode)
            curv = n1 * p * (1.0 - p)
        else:
            mode = np.log(np.maximum(e1, 0.5) / n1)
            curv = n1 * np.exp(mode)
        return StudyCurves(counts.kind, mode, curv, e=e1, n=n1, const=const)
    ma, sa = float(baseline_prior.params["mu"]), float(baseline_prior.params["sigma"])
    cnt = (e1, n1, np.asarray(counts.e2, float), np.asarray(counts.n2, float))
    centre = np.where(np.isfinite(yi), yi, 0.0)
    se = np.clip(np.sqrt(np.where(np.isfinite(vi), vi, 4.0)), 1e-3, 3.0)
    A = np.maximum(40.0 * se, 15.0) / math.sinh(_T)
    t = np.linspace(-_T, _T, _M)
    theta = centre[:, None] + A[:, None] * np.sinh(t)  # (k, M)
    logg = _log_g_two_group(counts.family, tuple(v[:, None] for v in cnt), theta, ma, sa) + const[:, None]
    spl = interpolate.CubicSpline(t, logg.T, axis=0)
    coef = np.ascontiguousarray(np.transpose(spl.c, (2, 1, 0)))  # (k, M - 1, 4)
    top = np.argmax(logg, axis=1)
    curves = StudyCurves(counts.kind, np.zeros(len(centre)), np.ones(len(centre)), centre=centre, A=A, coef=coef,
                         const=const)
    rows = np.arange(len(centre))
    mode = theta[rows, top]
    for _ in range(30):  # Newton on the spline from the best grid value (concave)
        _, d1, d2 = curves(rows, mode, deriv=True)
        step = np.clip(-d1 / np.minimum(d2, -1e-12), -1.0, 1.0)
        mode = mode + step
        if np.all(np.abs(step) < 1e-12):
            break
    _, _, d2 = curves(rows, mode, deriv=True)
    return StudyCurves(counts.kind, mode, np.maximum(-d2, 1e-8), centre=centre, A=A, coef=coef, const=const)


# ---------------------------------------------------------------------------
# integral against N(mu, tau^2): adaptive Gauss-Hermite
# ---------------------------------------------------------------------------


def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, np.log(w / w.sum())


def centring(curves: StudyCurves, i: int, mu: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mode of ``log g_i(theta) - (theta - mu)^2 / (2 tau^2)`` as an offset ``delta`` from mu,
    and the curvature ``P`` there (Newton's method from the normal approximation of ``g_i``)."""
    ptau = 1.0 / (tau * tau)
    m, c = curves.mode[i], curves.curv[i]
    delta = c * (m - mu) / (c + ptau)
    for _ in range(3):  # the curvature of the last step scales the rule (any nearby scale is exact enough)
        _, d1, d2 = curves(i, mu + delta, deriv=True)
        hess = np.minimum(d2, 0.0) - ptau
        delta = delta - np.clip((d1 - delta * ptau) / hess, -2.0, 2.0)
    return delta, -hess


def log_marginal(curves: StudyCurves, i: int, mu: np.ndarray, tau: np.ndarray, n: int | None = None,
                 nodes: bool = False):
    """``log int g_i(theta) N(theta; mu, tau^2) dtheta`` at arrays *mu*, *tau* (same shape S).

    With *nodes*, also ``(delta, sd, z, log r)``: the conditional density of theta given
    (mu, tau) and the study is ``phi(z) r(z) / sum_k w_k r(z_k)`` with ``theta = mu + delta + sd z``.
    """
    z, lw = _hermite(n or GH_NODES)
    delta, P = centring(curves, i, mu, tau)
    sd = 1.0 / np.sqrt(P)
    off = delta[..., None] + sd[..., None] * z  # theta - mu at the nodes
    lr = curves(i, mu[..., None] + off) - 0.5 * (off / tau[..., None]) ** 2 + 0.5 * z * z
    out = special.logsumexp(lr + lw, axis=-1) + np.log(sd) - np.log(tau)
    if nodes:
        return out, (delta, sd, z, lr)
    return out
