"""Helpers shared by the modules of :mod:`bayesma.effects`.

The measure modules (:mod:`~bayesma.effects.two_by_two`, :mod:`~bayesma.effects.means`,
:mod:`~bayesma.effects.single_group`, :mod:`~bayesma.effects.change`,
:mod:`~bayesma.effects.correlations`, :mod:`~bayesma.effects.proportions`,
:mod:`~bayesma.effects.rates`, :mod:`~bayesma.effects.reliability`) each hold a ``TABLE`` of
their measures: name -> (arguments, variance types, ``compute``, ``needs``). Each
``compute`` function takes ``(measure, x, ctx, add, to, vtype)``: the measure name, the
numeric inputs by argument name, the error context (``ctx.fail(mask, column, what,
values)``), the zero-cell correction and the variance type; it returns ``(yi, vi, na_y,
na_v)`` where ``na_y``/``na_v`` mark values missing because an input was missing. Each
``needs`` function returns ``(missing arguments, how to give them)``. Names, labels and
scales of the measures are in the one registry, :mod:`bayesma.measures`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

ArrayLike = Any


def _fmt(value: float) -> str:
    return f"{value:g}"


#: the arguments of each input type (metafor's names)
TWO_BY_TWO = ("ai", "bi", "ci", "di", "n1i", "n2i")
MEANS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
CORR = ("ri", "ni")
PROP = ("xi", "mi", "ni")


def needs_two_by_two(given: dict[str, Any]) -> tuple[list[str], str]:
    missing = [need for need in ("ai", "ci") if need not in given]
    if "bi" not in given and "n1i" not in given:
        missing.append("bi or n1i")
    if "di" not in given and "n2i" not in given:
        missing.append("di or n2i")
    return missing, "ai, bi, ci, di (or ai, n1i, ci, n2i)"


def needs_means(given: dict[str, Any]) -> tuple[list[str], str]:
    return [a for a in MEANS if a not in given], ", ".join(MEANS)


def needs_correlation(given: dict[str, Any]) -> tuple[list[str], str]:
    return [a for a in CORR if a not in given], "ri, ni"


def needs_proportion(given: dict[str, Any]) -> tuple[list[str], str]:
    missing = [] if "xi" in given else ["xi"]
    if "ni" not in given and "mi" not in given:
        missing.append("ni or mi")
    return missing, "xi, ni (or xi, mi)"


def _needs(args: tuple[str, ...]):
    def needs(given: dict[str, Any]) -> tuple[list[str], str]:
        return [a for a in args if a not in given], ", ".join(args)
    return needs


def _nan(*arrays: np.ndarray) -> np.ndarray:
    """Rows where any of the arrays is missing."""
    out = np.zeros(arrays[0].shape, dtype=bool)
    for a in arrays:
        out |= np.isnan(a)
    return out


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean over the rows where both are present (metafor's .wmean, na.rm=TRUE)."""
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok]))


def _cells_correction(cells: list[np.ndarray], add: float, to: str) -> list[np.ndarray]:
    """Add *add* to the cells of the studies chosen by *to* (metafor's rule)."""
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [c + add for c in cells]
    zero = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        zero |= c == 0  # NaN compares False, like R's NA handled by id0[is.na(id0)] <- FALSE
    if to == "only0":
        return [np.where(zero, c + add, c) for c in cells]
    # if0all
    if np.any(zero):
        return [c + add for c in cells]
    return cells


def _hedges_correction(m: np.ndarray) -> np.ndarray:
    """Exact bias correction c(m) of the standardized mean difference (Hedges 1981)."""
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)

