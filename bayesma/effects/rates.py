"""Measures of incidence rates (events ``x`` in person-time ``t``).

* two groups (``x1i, t1i, x2i, t2i``): ``IRR`` (log rate ratio), ``IRD`` (rate difference),
  ``IRSD`` (square-root rate difference);
* one group (``xi, ti``): ``IR``, ``IRLN`` (log), ``IRS`` (square root), ``IRFT``
  (Freeman-Tukey).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.effects._common import (
    _cells_correction,
    _nan,
    _needs,
)

__all__ = ["ADD_ZERO", "TABLE"]

#: measures whose default ``add`` is 0 (metafor)
ADD_ZERO = frozenset({"IRSD", "IRS", "IRFT"})

RATES = ("x1i", "t1i", "x2i", "t2i")


def rates(measure, x, ctx, add, to, vtype):
    x1, t1, x2, t2 = (x[a] for a in RATES)
    for name in ("x1i", "x2i"):
        ctx.fail(x[name] < 0, name, "has a negative count", x[name])
    for name in ("t1i", "t2i"):
        ctx.fail(x[name] <= 0, name, "has a person-time <= 0", x[name])
    if getattr(ctx, "drop00", False):
        both = (x1 == 0) & (x2 == 0)
        x1, x2 = np.where(both, np.nan, x1), np.where(both, np.nan, x2)
    missing = _nan(x1, x2, t1, t2)
    a, b = _cells_correction([x1, x2], add, to)
    ir1, ir2 = a / t1, b / t2
    if measure == "IRR":
        yi, vi = np.log(ir1) - np.log(ir2), 1 / a + 1 / b
    elif measure == "IRD":
        yi, vi = ir1 - ir2, ir1 / t1 + ir2 / t2
    else:  # IRSD
        yi, vi = np.sqrt(ir1) - np.sqrt(ir2), 1 / (4 * t1) + 1 / (4 * t2)
        return yi, vi, missing, _nan(t1, t2)
    return yi, vi, missing, missing.copy()


def single_rate(measure, x, ctx, add, to, vtype):
    xi, ti = x["xi"], x["ti"]
    ctx.fail(xi < 0, "xi", "has a negative count", xi)
    ctx.fail(ti <= 0, "ti", "has a person-time <= 0", ti)
    missing = _nan(xi, ti)
    (a,) = _cells_correction([xi], add, to)
    ir = a / ti
    if measure == "IR":
        return ir, ir / ti, missing, missing.copy()
    if measure == "IRLN":
        return np.log(ir), 1 / a, missing, missing.copy()
    if measure == "IRS":
        return np.sqrt(ir), 1 / (4 * ti), missing, _nan(ti)
    return 0.5 * (np.sqrt(ir) + np.sqrt(ir + 1 / ti)), 1 / (4 * ti), missing, _nan(ti)  # IRFT


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    **{m: (RATES, ("LS",), rates, _needs(RATES)) for m in ("IRR", "IRD", "IRSD")},
    **{m: (("xi", "ti"), ("LS",), single_rate, _needs(("xi", "ti"))) for m in ("IR", "IRLN", "IRS", "IRFT")},
}
