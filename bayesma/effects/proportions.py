"""Measures of single proportions (``xi, ni`` or ``xi, mi``): ``PR`` (raw), ``PLO`` (logit),
``PLN`` (log), ``PAS`` (arcsine square root), ``PFT`` (Freeman-Tukey double arcsine).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.effects._common import (
    PROP,
    _cells_correction,
    _nan,
    _wmean,
    needs_proportion,
)

__all__ = ["ADD_ZERO", "TABLE", "proportion_counts"]

#: measures whose default ``add`` is 0 (metafor)
ADD_ZERO = frozenset({"PAS", "PFT"})


def proportion_counts(x, ctx) -> tuple[np.ndarray, np.ndarray]:
    """Events ``xi`` and non-events ``mi`` of a single proportion (``mi = ni - xi`` where only *ni* is
    given), after the checks every proportion measure shares: no negative counts, ``xi <= ni``,
    ``ni == xi + mi`` when both are given, a positive sample size."""
    xi = x["xi"]
    mi, ni = x.get("mi"), x.get("ni")
    ctx.fail(xi < 0, "xi", "has a negative count", xi)
    if mi is not None:
        ctx.fail(mi < 0, "mi", "has a negative count", mi)
    if ni is not None:
        ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
        ctx.fail(xi > ni, ("xi", "ni"), "has more events than its sample size", xi)
        if mi is not None:
            ctx.fail(
                np.abs(xi + mi - ni) > 1e-8 * np.maximum(1.0, np.abs(ni)),
                ("ni", "xi"), "has ni different from xi + mi", ni,
            )
            mi = np.where(np.isnan(mi), ni - xi, mi)
        else:
            mi = ni - xi
    else:
        ctx.fail(xi + mi <= 0, ("xi", "mi"), "has a sample size xi + mi <= 0", xi + mi)
    return xi, mi


def proportion(measure, x, ctx, add, to, vtype):
    xi, mi = proportion_counts(x, ctx)
    missing = _nan(xi, mi)
    a, b = _cells_correction([xi, mi], add, to)
    n = a + b
    p = a / n
    if measure == "PR":
        yi = p
        if vtype == "LS":
            vi = p * (1 - p) / n
        elif vtype == "UB":
            vi = p * (1 - p) / (n - 1)
        else:
            q = _wmean(p, n)
            vi = q * (1 - q) / n
    else:  # PLO
        yi = np.log(p / (1 - p))
        if vtype == "LS":
            vi = 1 / a + 1 / b
        else:
            q = _wmean(p, n)
            vi = 1 / (q * n) + 1 / ((1 - q) * n)
    na_v = _nan(n) if vtype == "AV" else missing.copy()
    return yi, vi, missing, na_v


def proportion_more(measure, x, ctx, add, to, vtype):
    xi, mi = proportion_counts(x, ctx)
    missing = _nan(xi, mi)
    a, b = _cells_correction([xi, mi], add, to)
    n = a + b
    if measure == "PAS":
        return np.arcsin(np.sqrt(a / n)), 1 / (4 * n), missing, _nan(n)
    yi = 0.5 * (np.arcsin(np.sqrt(a / (n + 1))) + np.arcsin(np.sqrt((a + 1) / (n + 1))))
    return yi, 1 / (4 * n + 2), missing, _nan(n)


def log_proportion(measure, x, ctx, add, to, vtype):
    xi, mi = proportion_counts(x, ctx)
    missing = _nan(xi, mi)
    a, b = _cells_correction([xi, mi], add, to)
    n = a + b
    p = a / n
    yi = np.log(p)
    if vtype == "LS":
        return yi, 1 / a - 1 / n, missing, missing.copy()
    q = _wmean(p, n)
    return yi, 1 / (q * n) - 1 / n, missing, _nan(n)


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    "PR": (PROP, ("LS", "UB", "AV"), proportion, needs_proportion),
    "PLO": (PROP, ("LS", "AV"), proportion, needs_proportion),
    **{m: (PROP, ("LS",), proportion_more, needs_proportion) for m in ("PAS", "PFT")},
    "PLN": (PROP, ("LS", "AV"), log_proportion, needs_proportion),
}
