"""The likelihood and optimiser of the selection models (used by :mod:`.selection`).

Everything here follows ``metafor::selmodel.rma.uni`` 3.8-1 step for step: the weight
functions and their bounds, the closed-form step-function normaliser, R's adaptive
quadrature (QUADPACK, the algorithm of R's ``integrate``) for the smooth types, R's BFGS
(``optim``'s variable-metric method with its finite-difference gradient) and numDeriv's
Richardson-extrapolated Hessian. With the same steps and tolerances the estimates and
standard errors agree with metafor's to about 1e-10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special

from bayesma.errors import ConvergenceError, InputError
from bayesma.frequentist.bias import _selection_integrand

_EPS = np.finfo(float).eps
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_Z_MAX = 10.0  # the normal density beyond 10 sd is below 1e-22
METAFOR_REL_TOL = _EPS**0.25  # R's integrate() default, used by metafor
#: metafor's "2" variants: w = (delta1 + w_base(p; delta2)) / (1 + delta1), base type by name
TWO_PARAMETER_TYPES = {"halfnorm2": "halfnorm", "negexp2": "negexp", "logistic2": "logistic", "power2": "power"}


@dataclass(frozen=True)
class _Spec:
    """What metafor fixes for one type: bounds, start, null value of delta."""

    n_delta: int
    delta_lb: float  # natural bound (for CIs)
    delta_min: np.ndarray
    delta_max: np.ndarray
    delta_init: np.ndarray
    h0: float
    pval_min: float


def _spec(type: str, n_steps: int) -> _Spec:
    if type == "stepfun":
        n = n_steps
        return _Spec(n, 0.0, np.zeros(n), np.full(n, 100.0), np.ones(n), 1.0, 0.0)
    if type == "beta":
        return _Spec(2, 0.0, np.full(2, 1e-5), np.full(2, 100.0), np.ones(2), 1.0, 1e-5)
    if type == "negexppow":
        return _Spec(2, 0.0, np.zeros(2), np.full(2, 100.0), np.ones(2), 0.0, 0.0)
    if type in TWO_PARAMETER_TYPES:
        return _Spec(2, 0.0, np.zeros(2), np.full(2, 100.0), np.array([1.0, 0.25]), 0.0, 0.0)
    return _Spec(1, 0.0, np.zeros(1), np.full(1, 100.0), np.ones(1), 0.0, 1e-5 if type == "power" else 0.0)


def weight_function(type: str, p: np.ndarray, delta: np.ndarray, steps: np.ndarray | None) -> np.ndarray:
    """The selection function w(p) of a selmodel type, as metafor defines it.

    Parameters
    ----------
    type : str
        One of :data:`SELMODEL_TYPES`.
    p : array_like
        One-sided p-values.
    delta : array_like
        Selection parameters (for ``"stepfun"`` one weight per interval).
    steps : array_like or None
        Interval bounds of a step function (ending at 1); for the smooth types
        ``steps[0]`` is the p-value below which w = 1 (0 when not given).

    Returns
    -------
    numpy.ndarray
        Relative likelihood of selection, same shape as *p*.
    """
    p = np.asarray(p, dtype=float)
    d = np.asarray(delta, dtype=float)
    if type == "stepfun":
        idx = np.searchsorted(np.asarray(steps, float), p, side="left")
        return d[np.minimum(idx, d.size - 1)]
    if type == "beta":
        with np.errstate(divide="ignore"):
            return p ** (d[0] - 1.0) * (1.0 - p) ** (d[1] - 1.0)
    s = 0.0 if steps is None else float(steps[0])
    if type in TWO_PARAMETER_TYPES:
        base = weight_function(TWO_PARAMETER_TYPES[type], p, d[1:], steps)
        return np.where(p <= s, 1.0, (d[0] + base) / (1.0 + d[0]))
    d0 = float(d[0])
    if type == "halfnorm":
        w = np.exp(-d0 * (p**2 - s**2))
    elif type == "negexp":
        w = np.exp(-d0 * (p - s))
    elif type == "logistic":
        w = (np.exp(-d0 * p) / (1 + np.exp(-d0 * p))) / (np.exp(-d0 * s) / (1 + np.exp(-d0 * s)))
    elif type == "power":
        with np.errstate(divide="ignore", invalid="ignore"):
            w = (1.0 - p) ** d0 / (1.0 - s) ** d0
    elif type == "negexppow":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            w = np.exp(-d0 * (p ** (1.0 / d[1]) - s ** (1.0 / d[1])))
    else:  # pragma: no cover - checked by selmodel
        raise InputError(f"unknown selection model type {type!r}")
    return np.where(p <= s, 1.0, w)


def _scalar_weight(type: str, delta: np.ndarray, steps: np.ndarray | None, pval_min: float):
    """w(p) for one float p, written as metafor's ``wi.fun`` (for the adaptive quadrature)."""
    lo, hi = pval_min, 1.0 - pval_min
    s = 0.0 if steps is None else float(steps[0])
    d = [float(v) for v in delta]
    if type in TWO_PARAMETER_TYPES:
        inner = _scalar_weight(TWO_PARAMETER_TYPES[type], np.asarray(d[1:]), steps, pval_min)
        return lambda p: 1.0 if min(max(p, lo), hi) <= s else (d[0] + inner(p)) / (1.0 + d[0])
    if type == "negexppow":
        e = 1.0 / d[1] if d[1] > 0 else math.inf
        den = s**e if s > 0 else 0.0

        def negexppow(p):
            p = min(max(p, lo), hi)
            return 1.0 if p <= s else math.exp(-d[0] * (p**e - den))
        return negexppow
    if type == "beta":
        return lambda p: min(max(p, lo), hi) ** (d[0] - 1.0) * (1.0 - min(max(p, lo), hi)) ** (d[1] - 1.0)
    if type == "halfnorm":
        den = math.exp(-d[0] * s * s)
        return lambda p: 1.0 if min(max(p, lo), hi) <= s else math.exp(-d[0] * min(max(p, lo), hi) ** 2) / den
    if type == "negexp":
        den = math.exp(-d[0] * s)
        return lambda p: 1.0 if min(max(p, lo), hi) <= s else math.exp(-d[0] * min(max(p, lo), hi)) / den
    if type == "logistic":
        den = 2 * math.exp(-d[0] * s) / (1 + math.exp(-d[0] * s))

        def logistic(p):
            p = min(max(p, lo), hi)
            return 1.0 if p <= s else (2 * math.exp(-d[0] * p) / (1 + math.exp(-d[0] * p))) / den
        return logistic
    den = (1.0 - s) ** d[0]
    return lambda p: 1.0 if min(max(p, lo), hi) <= s else (1.0 - min(max(p, lo), hi)) ** d[0] / den


class _Model:
    """The selection-model log-likelihood of one data set (alternative folded into signs)."""

    def __init__(self, type, yi, vi, X, steps, spec, alternative, rel_tol=None):
        sign = 1.0 if alternative == "greater" else -1.0
        self.rel_tol = rel_tol
        self.type, self.spec, self.steps = type, spec, steps
        self.y, self.vi, self.X = sign * yi, vi, sign * X
        self.sei = np.sqrt(vi)
        self.k, self.p = X.shape
        pv = special.ndtr(-self.y / self.sei)
        self.pvals = np.clip(pv, spec.pval_min, 1.0 - spec.pval_min)
        if type == "stepfun":
            # y-thresholds c_ij with p <= steps_j  <=>  y >= c_ij  (one-sided "greater" scale)
            self.cut = self.sei[:, None] * special.ndtri(1.0 - np.asarray(steps, float))[None, :]
            self.group = np.searchsorted(steps, self.pvals, side="left")
        else:
            self._setup_quadrature()

    def _setup_quadrature(self) -> None:
        # panels in u = y / sei (where w varies) joined with panels in z (the density);
        # the kinks of w (clamped p-values, the step of a smooth type) are breakpoints.
        kinks = [8.5, -8.5]
        if self.spec.pval_min > 0:
            q = special.ndtri(1.0 - self.spec.pval_min)
            kinks += [q, -q]
        if self.steps is not None and self.steps[0] > 0:
            kinks.append(float(special.ndtri(1.0 - self.steps[0])))
        self.u_breaks = np.concatenate([np.linspace(-9.0, 9.0, 19), kinks])

    def normaliser(self, yhat: np.ndarray, tau2: float, delta: np.ndarray) -> np.ndarray:
        s = np.sqrt(self.vi + tau2)
        if self.type == "stepfun":
            # P(y >= c_j) under N(yhat, s^2); upper tail per interval
            # as metafor sums it: first interval, differences, and the lower tail for the last
            upper = special.ndtr((yhat[:, None] - self.cut) / s[:, None])
            A = upper[:, 0].copy()
            n = delta.size
            for j in range(1, n):
                if j < n - 1:
                    A += delta[j] * (upper[:, j] - upper[:, j - 1])
                else:
                    A += delta[j] * special.ndtr((self.cut[:, j - 1] - yhat) / s)
            return A
        if self.rel_tol is not None:
            return self._quadpack(yhat, s, delta)
        return self._composite(yhat, s, delta)

    def _composite(self, yhat: np.ndarray, s: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Composite Gauss-Legendre integration (about 1e-12 relative accuracy)."""
        zb = np.concatenate(
            [np.broadcast_to(np.linspace(-_Z_MAX, _Z_MAX, 21), (self.k, 21)),
             (self.sei[:, None] * self.u_breaks[None, :] - yhat[:, None]) / s[:, None]], axis=1)
        zb = np.sort(np.clip(zb, -_Z_MAX, _Z_MAX), axis=1)
        a, b = zb[:, :-1], zb[:, 1:]
        half, mid = (b - a) / 2.0, (b + a) / 2.0
        z = mid[:, :, None] + half[:, :, None] * _GL_X[None, None, :]
        y = yhat[:, None, None] + s[:, None, None] * z
        p = special.ndtr(-y / self.sei[:, None, None])
        p = np.clip(p, self.spec.pval_min, 1.0 - self.spec.pval_min)
        w = weight_function(self.type, p, delta, self.steps)
        f = w * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
        return np.einsum("ijk,k,ij->i", f, _GL_W, half)

    def _quadpack(self, yhat: np.ndarray, s: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Adaptive QUADPACK integration (R's ``integrate``, rel.tol = abs.tol, 100 subdivisions).

        Where QUADPACK reports a failure (R's ``integrate`` then stops, and metafor's fit with it;
        e.g. ``negexppow`` with a small delta2, a weight with a sharp drop near p = 1), that study's
        integral is taken from the composite rule instead, without a warning.
        """
        w = _scalar_weight(self.type, delta, self.steps, self.spec.pval_min)
        compiled = _selection_integrand.integrand()  # the same integrand in C (None without numba)
        more = _selection_integrand.arguments(self.type, TWO_PARAMETER_TYPES, delta, self.steps, self.spec.pval_min)
        out = np.empty(self.k)
        accurate = None
        c0 = 1.0 / np.sqrt(2.0 * np.pi)
        for i in range(self.k):
            sei, sd, mu = float(self.sei[i]), float(s[i]), float(yhat[i])
            scale = sei * np.sqrt(2.0)

            def f(y, sei=sei, sd=sd, mu=mu, scale=scale):
                z = (y - mu) / sd
                return w(0.5 * math.erfc(y / scale)) * c0 * math.exp(-0.5 * z * z) / sd

            res = integrate.quad(f if compiled is None else compiled, -np.inf, np.inf,
                                 args=() if compiled is None else (mu, sd, scale, *more),
                                 epsabs=self.rel_tol, epsrel=self.rel_tol, limit=100, full_output=1)
            if len(res) > 3:  # ier > 0: QUADPACK's message instead of a warning
                accurate = self._composite(yhat, s, delta) if accurate is None else accurate
                out[i] = accurate[i]
            else:
                out[i] = res[0]
        return out

    def loglik(self, beta: np.ndarray, tau2: float, delta: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return self._loglik(beta, tau2, delta)

    def _loglik(self, beta: np.ndarray, tau2: float, delta: np.ndarray) -> float:
        if tau2 < 10 * _EPS:
            tau2 = 0.0
        yhat = self.X @ beta
        A = self.normaliser(yhat, tau2, delta)
        if self.type == "stepfun":
            logw = np.log(delta[self.group])
        else:
            with np.errstate(divide="ignore"):
                logw = np.log(weight_function(self.type, self.pvals, delta, self.steps))
        s2 = self.vi + tau2
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = logw - 0.5 * (np.log(2 * np.pi * s2) + (self.y - yhat) ** 2 / s2) - np.log(A)
        return float(np.sum(ll))


def _to_delta(x: np.ndarray, spec: _Spec) -> np.ndarray:
    return spec.delta_min + (spec.delta_max - spec.delta_min) * special.expit(x)


def _from_delta(d: np.ndarray, spec: _Spec) -> np.ndarray:
    return np.log((d - spec.delta_min) / (spec.delta_max - d))


def _hessian(f, x: np.ndarray, d: float = 0.1, r: int = 6) -> np.ndarray:
    """Hessian by Richardson extrapolation of central differences (numDeriv's ``genD``)."""
    n = x.size
    h0 = np.abs(d * x) + 1e-4 * (np.abs(x) < np.sqrt(_EPS / 7e-7))
    f0 = f(x)
    H = np.zeros((n, n))

    def extrapolate(a: np.ndarray) -> float:
        a = a.copy()
        for m in range(1, r):
            a[: r - m] = (a[1 : r - m + 1] * 4.0**m - a[: r - m]) / (4.0**m - 1.0)
        return a[0]

    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        approx = np.empty(r)
        h = h0.copy()
        for j in range(r):
            approx[j] = (f(x + e * h) - 2 * f0 + f(x - e * h)) / h[i] ** 2
            h = h / 2.0
        H[i, i] = extrapolate(approx)
    for i in range(n):
        for jj in range(i):
            e = np.zeros(n)
            e[i] = e[jj] = 1.0
            approx = np.empty(r)
            h = h0.copy()
            for m in range(r):
                approx[m] = (f(x + e * h) - 2 * f0 + f(x - e * h) - H[i, i] * h[i] ** 2 - H[jj, jj] * h[jj] ** 2) / (
                    2 * h[i] * h[jj])
                h = h / 2.0
            H[i, jj] = H[jj, i] = extrapolate(approx)
    return H


def _optim_gradient(f, x: np.ndarray, ndeps: float = 1e-3) -> np.ndarray:
    """R's ``optim`` finite-difference gradient (central, absolute step ``ndeps``)."""
    g = np.empty_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += ndeps
        xm[i] -= ndeps
        g[i] = (f(xp) - f(xm)) / (2 * ndeps)
    return g


class _OptimFailure(RuntimeError):
    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.index = index


def _vmmin(f, x0: np.ndarray, maxit: int = 100, reltol: float = np.sqrt(_EPS), n_restart: int | None = None):
    """Variable-metric (BFGS) minimisation step for step as R's ``optim(method = "BFGS")``.

    Returns (x, f(x), converged). metafor fits selection models with this optimiser; taking
    the same steps makes the estimates agree with metafor's where the likelihood is flat.
    *n_restart* is the length of metafor's parameter vector, fixed parameters included
    (R restarts the metric every ``2 n`` gradients).
    """
    b = np.asarray(x0, float).copy()
    n = b.size
    n_restart = n if n_restart is None else n_restart

    def grad(x):
        g = _optim_gradient(f, x)
        bad = np.flatnonzero(~np.isfinite(g))
        if bad.size:
            raise _OptimFailure("non-finite finite-difference value", int(bad[0]))
        return g

    fmin = f(b)
    if not np.isfinite(fmin):
        raise _OptimFailure("initial value is not finite", -1)
    g = grad(b)
    it, gradcount, ilast = 1, 1, 1
    B = np.eye(n)
    while True:
        if ilast == gradcount:
            B = np.eye(n)
        X, c = b.copy(), g.copy()
        t = -B @ g
        gradproj = float(t @ g)
        count = 0
        if gradproj < 0.0:
            steplength, accpoint = 1.0, False
            fval = fmin
            while True:
                b = X + steplength * t
                count = int(np.sum(10.0 + X == 10.0 + b))
                if count < n:
                    fval = f(b)
                    accpoint = bool(np.isfinite(fval) and fval <= fmin + gradproj * steplength * 1e-4)
                    if not accpoint:
                        steplength *= 0.2
                if count == n or accpoint:
                    break
            enough = abs(fval - fmin) > reltol * (abs(fmin) + reltol)
            if not enough:
                count = n
                fmin = fval
            if count < n:
                fmin = fval
                g = grad(b)
                gradcount += 1
                it += 1
                t = steplength * t
                c = g - c
                D1 = float(t @ c)
                if D1 > 0:
                    Xc = B @ c
                    D2 = 1.0 + float(Xc @ c) / D1
                    B = B + (D2 * np.outer(t, t) - np.outer(Xc, t) - np.outer(t, Xc)) / D1
                else:
                    ilast = gradcount
            elif ilast < gradcount:
                count, ilast = 0, gradcount
        else:
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if it >= maxit:
            break
        if gradcount - ilast > 2 * n_restart:
            ilast = gradcount
        if count == n and ilast == gradcount:
            break
    return b, fmin, it < maxit


def _minimise(nll, x0: np.ndarray, names: list[str], n_restart: int | None = None):
    """R's BFGS from metafor's start; a clear error naming the parameter when it fails."""
    hint = ("The model may not be identified by these data: try fewer or other steps, "
            "a one-parameter type, or fix delta.")
    try:
        x, fval, ok = _vmmin(nll, x0, n_restart=n_restart)
    except _OptimFailure as err:
        where = f" in {names[err.index]}" if err.index >= 0 else ""
        raise ConvergenceError(f"selmodel: the optimiser failed ({err}{where}). {hint}") from None
    if not ok:
        g = _optim_gradient(nll, x)
        j = int(np.nanargmax(np.abs(np.where(np.isfinite(g), g, np.inf))))
        raise ConvergenceError(
            f"selmodel: the optimiser did not converge in 100 BFGS iterations (as metafor); the "
            f"log-likelihood is still changing in {names[j]} (gradient {g[j]:.3g} on the optimisation scale). "
            + hint)
    return x, fval
