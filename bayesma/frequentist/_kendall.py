"""The null distribution of Kendall's statistic without ties (R's ``pkendall``), for
:func:`bayesma.ranktest`: exact by convolution of the lower tail where that is cheap, by the
Edgeworth expansion elsewhere (the exact distribution costs O(n³) at the centre)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["kendall_lower_tail"]

_KENDALL_EXACT_WORK = 40_000_000  # n * q: the exact lower tail costs O(n q); Edgeworth beyond


def _kendall_exact_cdf(q: int, n: int) -> float:
    """P(T <= q) for T = the number of inversions of a random permutation of n (R's pkendall).

    T is a sum of independent uniforms on {0, ..., m - 1}, m = 1..n; only the lower tail
    T <= q is carried through the convolutions (each a running-sum difference), so the cost
    is O(n q), and q is always taken in the lower half by the caller.
    """
    if q < 0:
        return 0.0
    dist = np.zeros(q + 1)
    dist[0] = 1.0
    for m in range(2, n + 1):
        c = np.cumsum(dist)
        shifted = np.concatenate([np.zeros(m), c[: q + 1 - m]]) if m <= q else np.zeros(q + 1)
        dist = (c - shifted) / m
    return float(min(dist.sum(), 1.0))


def _kendall_edgeworth_cdf(q: int, n: int) -> float:
    """P(T <= q) for the inversion count T of a random permutation of n, by the normal
    approximation with continuity correction and the Edgeworth term of the fourth cumulant
    (T is symmetric: the third cumulant is 0). Used where the exact tail would cost more than
    ``_KENDALL_EXACT_WORK`` (n > 500 and q far from 0); the two agree to ~1e-8 absolute at
    n = 500."""
    m = np.arange(1, n + 1, dtype=float)
    mean = n * (n - 1) / 4.0
    k2 = float(np.sum((m**2 - 1) / 12.0))
    k4 = -float(np.sum((m**4 - 1) / 120.0))
    z = (q + 0.5 - mean) / math.sqrt(k2)
    base = stats.norm.cdf(z)
    corr = stats.norm.pdf(z) * k4 / (24.0 * k2**2) * (z**3 - 3 * z)
    if abs(corr) > 0.5 * min(base, 1.0 - base):
        return float(base)  # far tail: the expansion is no longer a small correction
    return float(base - corr)


def kendall_lower_tail(q: int, n: int) -> tuple[float, bool]:
    """P(T <= q) and whether it is exact: exact while it costs at most ``_KENDALL_EXACT_WORK``
    (every n <= 500, and far tails at any n), by the Edgeworth expansion otherwise."""
    if n * max(q, 1) <= _KENDALL_EXACT_WORK:
        return _kendall_exact_cdf(q, n), True
    return _kendall_edgeworth_cdf(q, n), False
