"""metafor's ``transf=`` argument: estimates and interval bounds on a back-transformed scale.

A transformation applies to an estimate and the bounds of its interval (never to a
standard error, which becomes NaN, as in metafor); a decreasing transformation swaps the
bounds back into order (metafor's ``.psort``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from bayesma.errors import ArgumentTypeError

__all__ = ["apply_transf", "psort", "transform_table"]

Transf = Callable[[np.ndarray], np.ndarray]


def apply_transf(transf: Transf | None, *arrays: np.ndarray) -> list[np.ndarray]:
    """*transf* applied elementwise to each array (unchanged copies when *transf* is None).

    Parameters
    ----------
    transf : callable or None
        A function of one number or of an array, e.g. ``numpy.exp`` or ``numpy.tanh``.
    *arrays : array_like

    Returns
    -------
    list of numpy.ndarray
        One float array per input; NaN stays NaN.

    Raises
    ------
    TypeError
        *transf* is not callable.

    Examples
    --------
    >>> [a.round(3).tolist() for a in apply_transf(np.exp, [0.0, 1.0])]
    [[1.0, 2.718]]
    """
    if transf is None:
        return [np.array(a, dtype=float) for a in arrays]
    if not callable(transf):
        raise ArgumentTypeError(f"transf must be a function such as numpy.exp, got {transf!r}")
    out = []
    for a in arrays:
        a = np.atleast_1d(np.asarray(a, dtype=float))
        vals = np.full(a.shape, np.nan)
        ok = ~np.isnan(a)
        with np.errstate(over="ignore"):  # exp of a huge log ratio is inf, as R's exp(800)
            vals[ok] = [float(transf(np.asarray(v))) for v in a[ok]]
        out.append(vals)
    return out


def psort(lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds sorted pairwise (lower first), as metafor's ``.psort``; NaN pairs stay as given."""
    lb, ub = np.asarray(lb, dtype=float), np.asarray(ub, dtype=float)
    lo, hi = np.fmin(lb, ub), np.fmax(lb, ub)
    nan = np.isnan(lb) | np.isnan(ub)
    lo[nan], hi[nan] = lb[nan], ub[nan]
    return lo, hi


def transform_table(table: pd.DataFrame, transf: Transf | None, estimate: str,
                    pairs: tuple[tuple[str, str], ...], se: str | None = "se") -> pd.DataFrame:
    """A copy of *table* with column *estimate* and the bound *pairs* transformed and *se* NaN."""
    out = table.copy()
    if transf is None:
        return out
    cols = [estimate] + [c for pair in pairs for c in pair if c in out.columns]
    for c, v in zip(cols, apply_transf(transf, *(out[c].to_numpy() for c in cols))):
        out[c] = v
    for lo, hi in pairs:
        if lo in out.columns and hi in out.columns:
            out[lo], out[hi] = psort(out[lo].to_numpy(), out[hi].to_numpy())
    if se is not None and se in out.columns:
        out[se] = np.nan
    return out
