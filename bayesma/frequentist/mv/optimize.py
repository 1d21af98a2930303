"""Maximise the (restricted) likelihood of :func:`~bayesma.frequentist.mv.rma_mv` over the
variance and correlation components, so that the global maximum is found.

From several starting points (the variance split evenly, or put on one component at a time),
Newton steps climb the likelihood: with the observed information (exact for models whose
covariance is linear in the components, e.g. every ``~ 1 | f`` model) or Fisher scoring steps
(structured models), halved until the likelihood does not fall, projected on the bounds
(variances >= 0, correlations in [-1, 1]; fixed components held). The best end point of a
structured model is polished by Newton steps with a Hessian from central differences of the
analytic gradient. Components on a
bound stay there only when the gradient points out of the region (the Kuhn-Tucker condition),
so a variance component of 0 is never an artefact of where the search began.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from bayesma.errors import ConvergenceWarning, InputError
from bayesma.frequentist.mv.likelihood import Evaluation, Layout

__all__ = ["Params", "maximize"]


@dataclass
class Params:
    """The parameter vector: which entries are variances, which are fixed (and at what)."""

    names: list[str]
    is_var: np.ndarray      # bool (n,)
    fixed: np.ndarray       # float (n,), NaN = estimated

    @property
    def free(self) -> np.ndarray:
        """Indices of the estimated parameters."""
        return np.flatnonzero(np.isnan(self.fixed))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of every parameter."""
        lo = np.where(self.is_var, 0.0, -1.0)
        hi = np.where(self.is_var, np.inf, 1.0)
        return lo, hi


def _starts(params: Params, scale: float) -> list[np.ndarray]:
    n = len(params.names)
    var = np.flatnonzero(params.is_var & np.isnan(params.fixed))
    base = np.where(params.is_var, 0.5 * scale / max(len(var), 1), 0.5)
    starts = [base]
    for j in var if len(var) > 1 else []:
        s = np.where(params.is_var, 0.02 * scale, 0.5)
        s[j] = 0.8 * scale
        starts.append(s)
    if len(var) <= 2:
        starts.append(np.where(params.is_var, 0.01 * scale, 0.0))
    out = []
    for s in starts:
        s = s.copy()
        s[~np.isnan(params.fixed)] = params.fixed[~np.isnan(params.fixed)]
        out.append(s[:n])
    return out


def _climb(layout: Layout, reml: bool, params: Params, theta0: np.ndarray, scale: np.ndarray,
           newton: bool, maxiter: int = 300) -> tuple[np.ndarray, Evaluation] | None:
    """Newton steps (observed information, for a model linear in theta) or Fisher scoring steps
    (expected information) on the parameters not held at a bound, with step halving."""
    lo, hi = params.bounds()
    theta = np.clip(theta0, lo, hi)
    ev = layout.evaluate(theta, reml)
    if ev is None:
        return None
    layout.derivatives(theta, ev, reml)
    for _ in range(maxiter):
        assert ev.grad is not None and ev.info is not None and ev.quad is not None  # set by derivatives()
        act = np.flatnonzero(_active(theta, ev.grad, params))
        if not len(act):
            break
        g = ev.grad[act]
        info = ev.info[np.ix_(act, act)]
        J = (ev.quad - ev.info)[np.ix_(act, act)] if newton else info
        if newton and not np.all(np.linalg.eigvalsh(J) > 1e-12 * max(1.0, np.abs(J).max())):
            J = info
        step = np.linalg.pinv(J, rcond=1e-13, hermitian=True) @ g
        if not newton and float(g @ step) < 1e-10:
            break  # Fisher scoring converges linearly: stop when the predicted gain is tiny (then polish)
        lam, new = 1.0, None
        for _ in range(40):
            cand = theta.copy()
            cand[act] = np.clip(theta[act] + lam * step, lo[act], hi[act])
            cand[act] = np.where(params.is_var[act] & (cand[act] < 1e-14 * scale[act]), 0.0, cand[act])
            trial = layout.evaluate(cand, reml)
            if trial is not None and trial.ll >= ev.ll - 1e-13 * max(1.0, abs(ev.ll)):
                new = trial
                break
            lam /= 2.0
        if new is None:
            break
        change = np.abs(cand - theta)
        gain = new.ll - ev.ll
        theta, ev = cand, new
        layout.derivatives(theta, ev, reml)
        if np.all(change <= 1e-10 * np.maximum(np.abs(theta), 1e-6 * scale)) or \
                (gain <= 1e-14 * max(1.0, abs(ev.ll)) and np.all(change <= 1e-7 * np.maximum(np.abs(theta), scale))):
            break
    return theta, ev


def _active(theta: np.ndarray, grad: np.ndarray, params: Params) -> np.ndarray:
    """Free parameters not held at a bound by a gradient pointing outward."""
    lo, hi = params.bounds()
    free = np.zeros(len(theta), dtype=bool)
    free[params.free] = True
    at_lo = (theta <= lo) & (grad <= 0)
    at_hi = (theta >= hi) & (grad >= 0)
    return free & ~at_lo & ~at_hi


def _newton(layout: Layout, reml: bool, params: Params, theta: np.ndarray, scale: np.ndarray,
            maxiter: int = 30) -> np.ndarray:
    lo, hi = params.bounds()
    ev = layout.evaluate(theta, reml, grad=True)
    if ev is None:
        return theta
    for _ in range(maxiter):
        assert ev.grad is not None  # evaluate(grad=True) fills it
        act = np.flatnonzero(_active(theta, ev.grad, params))
        if not len(act):
            break
        H = np.zeros((len(act), len(act)))
        for a, j in enumerate(act):
            h = 1e-5 * max(abs(theta[j]), 1e-3 * scale[j])
            tp, tm = theta.copy(), theta.copy()
            tp[j] += h
            tm[j] -= h
            ep, em = layout.evaluate(tp, reml, grad=True), layout.evaluate(tm, reml, grad=True)
            if ep is None or em is None or ep.grad is None or em.grad is None:
                return theta
            H[:, a] = (ep.grad[act] - em.grad[act]) / (2 * h)
        H = 0.5 * (H + H.T)
        if np.any(np.linalg.eigvalsh(H) >= 0):
            break  # not locally concave on the free set: keep the answer of the climb
        step = -np.linalg.solve(H, ev.grad[act])
        lam, moved = 1.0, False
        for _ in range(30):
            cand = theta.copy()
            cand[act] = np.clip(theta[act] + lam * step, lo[act], hi[act])
            new = layout.evaluate(cand, reml, grad=True)
            if new is not None and new.ll >= ev.ll:
                moved = True
                break
            lam /= 2
        if not moved:
            break
        assert new is not None  # moved: an evaluation at cand
        change = np.abs(cand - theta)
        theta, ev = cand, new
        if np.all(change <= 1e-12 * np.maximum(np.abs(theta), scale * 1e-6)):
            break
    return theta


def maximize(layout: Layout, reml: bool, params: Params, scale: float,
             max_starts: int | None = None, start: np.ndarray | None = None) -> tuple[np.ndarray, Evaluation]:
    """The maximum of the (restricted) log likelihood over the free parameters.

    Parameters
    ----------
    layout : Layout
        The model's block structure.
    reml : bool
        Restricted (True) or full likelihood.
    params : Params
        Which parameters are variances, which are fixed.
    scale : float
        A typical variance (e.g. of the residuals), for the starting values and scaling.
    max_starts : int, optional
        At most this many starting points (default: all for k <= 20,000, else one: large data
        sets have a sharply peaked likelihood, and the boundary check still applies).
    start : numpy.ndarray, optional
        A starting point in metafor's terms; then the only one (e.g. for a profile likelihood,
        which starts from the estimates).

    Returns
    -------
    theta : numpy.ndarray
        All parameters in metafor's terms (variances, correlations; fixed ones at their values).
    Evaluation
        The likelihood pieces at theta, with the gradient and information.
    """
    sd = layout.sd_mask
    scale_vec = np.where(params.is_var, np.where(sd, np.sqrt(scale), scale), 1.0)
    starts = [layout.internal(s) for s in ([start] if start is not None else _starts(params, scale))]
    params = Params(params.names, params.is_var, layout.internal(params.fixed))
    if not len(params.free):
        theta = params.fixed.copy()
        ev = layout.evaluate(theta, reml)
        if ev is None:
            raise InputError("the marginal covariance is not positive definite at the fixed components")
        layout.derivatives(theta, ev, reml)
        return layout.public(theta), ev
    linear = not layout.structs
    if max_starts is None:
        max_starts = len(starts) if layout.k <= 20_000 else 1
    best = None
    for start in starts[:max_starts]:
        found = _climb(layout, reml, params, start, scale_vec, newton=linear)
        if found is not None and (best is None or found[1].ll > best[1].ll):
            best = found
    if best is None:
        raise InputError("the marginal covariance is not positive definite at any starting value")
    theta, ev = best
    if not linear and layout.k <= 5000:
        polished = _newton(layout, reml, params, theta, scale_vec)
        ev2 = layout.evaluate(polished, reml)
        if ev2 is not None and ev2.ll >= ev.ll:
            theta, ev = polished, ev2
            layout.derivatives(theta, ev, reml)
    assert ev.grad is not None  # set by derivatives()
    act = _active(theta, ev.grad, params)
    gnorm = np.abs(ev.grad[act] * scale_vec[act])
    if len(gnorm) and np.max(gnorm) > 1e-3 * max(1.0, np.sqrt(layout.k)):
        warnings.warn("rma_mv: the optimizer may not have converged (gradient "
                      f"{np.max(gnorm):.2g} at the estimates)", ConvergenceWarning, stacklevel=3)
    return layout.public(theta), ev
