"""The integrand of a smooth selection model's normaliser as a compiled C callback.

:meth:`bayesma.frequentist.bias._selection_fit._Model._quadpack` integrates, per study,
``w(p(y)) * N(y; mu, sd)`` over the real line with QUADPACK (R's ``integrate``, as metafor
does). QUADPACK calls the integrand some 25,000 times per study and likelihood evaluation;
as a Python function that call dominates the fit (seconds per ``selmodel``). Here the same
arithmetic, operation for operation (the weight functions of metafor's ``wi.fun``, written
in :func:`~bayesma.frequentist.bias._selection_fit._scalar_weight` as Python closures), is
compiled once by numba into a ``double f(int n, double *xx)`` callback that
:class:`scipy.LowLevelCallable` hands to QUADPACK without entering Python. Without numba
(:func:`integrand` returns None) the Python closures are used.

The callback's arguments after ``y`` (``xx[1:]``): mu, sd, sei * sqrt(2), the type's code
(:data:`CODES`), the step s (0 without one), the p-value bounds lo and hi, the mixing weight
delta1 of a "2" variant (-1 for the one-part types) and the base type's delta (two values).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

#: base weight function -> its code in the callback
CODES = {"beta": 1.0, "halfnorm": 2.0, "negexp": 3.0, "logistic": 4.0, "power": 5.0, "negexppow": 6.0}


_C0 = 1.0 / math.sqrt(2.0 * math.pi)


def _density(y: float, mu: float, sd: float, scale: float, code: float, s: float, lo: float, hi: float,
             mix: float, d0: float, d1: float) -> float:
    """w(p(y)) N(y; mu, sd^2) for one study (compiled by :func:`integrand`)."""
    pc = min(max(0.5 * math.erfc(y / scale), lo), hi)
    if code != 1.0 and pc <= s:
        w = 1.0
    else:
        if code == 1.0:  # beta: no step
            b = pc ** (d0 - 1.0) * (1.0 - pc) ** (d1 - 1.0)
        elif code == 2.0:
            b = math.exp(-d0 * pc**2) / math.exp(-d0 * s * s)
        elif code == 3.0:
            b = math.exp(-d0 * pc) / math.exp(-d0 * s)
        elif code == 4.0:
            b = (2 * math.exp(-d0 * pc) / (1 + math.exp(-d0 * pc))) / (2 * math.exp(-d0 * s) / (1 + math.exp(-d0 * s)))
        elif code == 5.0:
            b = (1.0 - pc) ** d0 / (1.0 - s) ** d0
        else:  # negexppow
            e = 1.0 / d1 if d1 > 0 else math.inf
            b = math.exp(-d0 * (pc**e - (s**e if s > 0 else 0.0)))
        w = b if mix < 0 else (mix + b) / (1.0 + mix)
    z = (y - mu) / sd
    return w * _C0 * math.exp(-0.5 * z * z) / sd


@lru_cache(maxsize=1)
def integrand() -> Any:
    """The compiled callback as a :class:`scipy.LowLevelCallable` (None without numba)."""
    try:
        import numba
        from numba import types
    except ImportError:  # pragma: no cover - numba comes with the Bayesian stack
        return None
    from scipy import LowLevelCallable

    density = numba.njit(cache=True)(_density)

    @numba.cfunc(types.float64(types.intc, types.CPointer(types.float64)), cache=True)
    def callback(n, xx):  # pragma: no cover - runs compiled
        return density(xx[0], xx[1], xx[2], xx[3], xx[4], xx[5], xx[6], xx[7], xx[8], xx[9], xx[10])

    return LowLevelCallable(callback.ctypes)


def arguments(type: str, two_part: dict[str, str], delta, steps, pval_min: float) -> tuple[float, ...]:
    """The callback's arguments after mu, sd and the scale: code, s, lo, hi, mix, d0, d1."""
    d = [float(v) for v in delta]
    mix = -1.0
    if type in two_part:
        type, mix, d = two_part[type], d[0], d[1:]
    d = (d + [1.0, 1.0])[:2]
    s = 0.0 if steps is None else float(steps[0])
    return (CODES[type], s, float(pval_min), 1.0 - float(pval_min), mix, d[0], d[1])
