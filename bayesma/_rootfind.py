"""Brent's root finder, step for step as R's ``uniroot()`` runs it.

metafor finds the Paule-Mandel estimate and the Q-profile confidence bounds
with ``uniroot(tol = .Machine$double.eps^0.25)``. That tolerance is coarse
(1.2e-4), so the value R reports depends on the exact sequence of Brent steps.
To reproduce metafor's numbers to the last digit we take the same steps:
the classical algorithm of Brent (1973, *Algorithms for Minimization without
Derivatives*, ch. 4) with R's conventions (start from the interval ends,
return the best point ``b``, absolute tolerance ``2 eps |b| + tol / 2``).
"""

from __future__ import annotations

import sys
from typing import Callable

R_UNIROOT_TOL = sys.float_info.epsilon**0.25
_EPS = sys.float_info.epsilon


def uniroot(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> float:
    """Root of *f* in [lower, upper] by Brent's method, as R's ``uniroot``.

    Raises ValueError when f(lower) and f(upper) have the same sign, and
    RuntimeError when *maxiter* iterations are not enough.
    """
    a, b = float(lower), float(upper)
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("f() values at the end points are not of opposite sign")
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant (linear interpolation)
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise RuntimeError(f"root finding did not converge in {maxiter} iterations")
