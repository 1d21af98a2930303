"""Brent's root finder, step for step as R's ``uniroot()`` runs it.

metafor finds the Paule-Mandel estimate and the Q-profile confidence bounds
with ``uniroot(tol = .Machine$double.eps^0.25)``. That tolerance is coarse
(1.2e-4), so the value R reports depends on the exact sequence of Brent steps.
To reproduce metafor's numbers to the last digit we take the same steps:
the classical algorithm of Brent (1973, *Algorithms for Minimization without
Derivatives*, ch. 4) with R's conventions (start from the interval ends,
return the best point ``b``, absolute tolerance ``2 eps |b| + tol / 2``).

:func:`uniroot_batch` runs the same steps for many functions at once (the tau² estimators
of a batch of data sets); :func:`uniroot` is a batch of one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from bayesma.errors import ConvergenceError, InputError

R_UNIROOT_TOL = sys.float_info.epsilon**0.25
_EPS = sys.float_info.epsilon


def uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> float:
    """Root of *f* in [lower, upper] by Brent's method, as R's ``uniroot``
    (one element of :func:`uniroot_batch`).

    Raises ValueError when f(lower) and f(upper) have the same sign, and
    RuntimeError when *maxiter* iterations are not enough.

    Examples
    --------
    >>> round(uniroot(lambda x: x * x - 2, 0, 2, tol=1e-10), 8)
    1.41421356
    """
    def fb(t: np.ndarray, sub: np.ndarray) -> np.ndarray:
        return np.array([f(float(t[0]))], dtype=float)

    return float(uniroot_batch(fb, np.array([lower], dtype=float), np.array([upper], dtype=float),
                               tol=tol, maxiter=maxiter)[0])


def uniroot_batch(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    tol: float | np.ndarray = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> np.ndarray:
    """Roots of n functions at once by Brent's method, each element taking exactly the steps of
    R's ``uniroot`` (the same arithmetic, element by element).

    Parameters
    ----------
    f : callable
        ``f(t, idx)`` returns the values, shape (m,), of the functions numbered *idx* (indices
        into 0..n-1, shape (m,)) at the points *t* (m,).
    lower, upper : numpy.ndarray, shape (n,)
        Brackets: f must change sign on each.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError
        When f has the same sign at both ends of a bracket.
    RuntimeError
        When *maxiter* iterations are not enough.
    """
    a = np.array(lower, dtype=float).reshape(-1)
    b = np.array(upper, dtype=float).reshape(-1)
    n = a.size
    everyone = np.arange(n)
    fa = np.asarray(f(a, everyone), dtype=float)
    fb = np.asarray(f(b, everyone), dtype=float)
    out = np.full(n, np.nan)
    done = fa == 0.0
    out[done] = a[done]
    at_b = ~done & (fb == 0.0)
    out[at_b] = b[at_b]
    done |= at_b
    if np.any(~done & ((fa > 0) == (fb > 0))):
        raise InputError("f() values at the end points are not of opposite sign")
    c, fc = a.copy(), fa.copy()
    for _ in range(maxiter + 1):
        act = ~done
        if not act.any():
            break
        prev_step = b - a
        swap = act & (np.abs(fc) < np.abs(fb))
        a, b, c = np.where(swap, b, a), np.where(swap, c, b), np.where(swap, b, c)
        fa, fb, fc = np.where(swap, fb, fa), np.where(swap, fc, fb), np.where(swap, fb, fc)
        tol_act = 2.0 * _EPS * np.abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        conv = act & ((np.abs(new_step) <= tol_act) | (fb == 0.0))
        out[conv] = b[conv]
        done |= conv
        act = ~done
        if not act.any():
            break
        interp = act & (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
        cb = c - b
        with np.errstate(all="ignore"):
            t1s = fb / fa  # secant (linear interpolation) where a == c
            q0, t1, t2 = fa / fc, fb / fc, fb / fa  # inverse quadratic interpolation
            p = np.where(a == c, cb * t1s, t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0)))
            q = np.where(a == c, 1.0 - t1s, (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0))
            q = np.where(p > 0, -q, q)
            p = np.where(p > 0, p, -p)
            accept = interp & (p < (0.75 * cb * q - np.abs(tol_act * q) / 2.0)) & (p < np.abs(prev_step * q / 2.0))
            new_step = np.where(accept, p / q, new_step)
        new_step = np.where(np.abs(new_step) < tol_act, np.where(new_step > 0, tol_act, -tol_act), new_step)
        a, fa = np.where(act, b, a), np.where(act, fb, fa)
        b = np.where(act, b + new_step, b)
        idx = np.flatnonzero(act)
        fb = fb.copy()
        fb[idx] = f(b[idx], idx)
        flip = act & (((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0)))
        c, fc = np.where(flip, a, c), np.where(flip, fa, fc)
    if not done.all():
        raise ConvergenceError(f"root finding did not converge in {maxiter} iterations")
    return out
