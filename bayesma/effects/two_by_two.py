"""Measures from two-by-two tables (``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``), as metafor's ``escalc``.

* ``OR``, ``RR``, ``RD``: log odds ratio, log risk ratio, risk difference;
* ``PETO`` (Peto's log odds ratio), ``PHI`` (phi coefficient), ``YUQ`` / ``YUY`` (Yule's Q and
  Y), ``AS`` (arcsine square-root risk difference), ``PBIT`` (probit difference), ``OR2DN`` /
  ``OR2DL`` (the log odds ratio converted to a standardized mean difference, normal /
  logistic distribution; ``OR2D`` = ``OR2DL``);
* paired (matched) tables: ``MPRD``, ``MPRR``, ``MPOR``, ``MPORC``, ``MPPETO``.

Each ``compute`` function takes ``(measure, x, ctx, add, to, vtype)`` and returns
``(yi, vi, na_y, na_v)`` (see :mod:`bayesma.effects._common`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from bayesma.effects._common import (
    TWO_BY_TWO,
    _cells_correction,
    _nan,
    _wmean,
    needs_two_by_two,
)

__all__ = ["ADD_ZERO", "TABLE", "complete_tables"]

#: measures whose default ``add`` is 0 (metafor)
ADD_ZERO = frozenset({"AS", "PHI"})


def complete_tables(x, ctx):
    """The four cells of each 2x2 table, checked (ai, bi, ci, di; bi = n1i - ai where only n1i is
    given), with the tables of ``ctx.drop00`` set to NaN."""
    ai, ci = x["ai"], x["ci"]
    bi, di = x.get("bi"), x.get("di")
    n1i, n2i = x.get("n1i"), x.get("n2i")
    for name in ("ai", "bi", "ci", "di"):
        if name in x:
            ctx.fail(x[name] < 0, name, "has a negative count", x[name])
    for name in ("n1i", "n2i"):
        if name in x:
            ctx.fail(x[name] < 0, name, "has a negative group size", x[name])
    # complete the tables: bi = n1i - ai where bi is not given (or missing)
    for events, other, size, other_name, size_name, ev_name in (
        (ai, bi, n1i, "bi", "n1i", "ai"),
        (ci, di, n2i, "di", "n2i", "ci"),
    ):
        if size is not None:
            ctx.fail(events > size, (ev_name, size_name), "has more events than its group size", events)
            if other is not None:
                ctx.fail(
                    np.abs(events + other - size) > 1e-8 * np.maximum(1.0, np.abs(size)),
                    (size_name, ev_name),
                    f"has {size_name} different from {ev_name} + {other_name}",
                    size,
                )
    if bi is None:
        bi = n1i - ai
    elif n1i is not None:
        bi = np.where(np.isnan(bi), n1i - ai, bi)
    if di is None:
        di = n2i - ci
    elif n2i is not None:
        di = np.where(np.isnan(di), n2i - ci, di)
    if getattr(ctx, "drop00", False):
        # metafor's drop00: tables without events (or without non-events) in both groups are NA
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        ai, bi, ci, di = (np.where(both, np.nan, v) for v in (ai, bi, ci, di))
    return ai, bi, ci, di


def two_by_two(measure, x, ctx, add, to, vtype):
    ai, bi, ci, di = complete_tables(x, ctx)
    missing = _nan(ai, bi, ci, di)
    a, b, c, d = _cells_correction([ai, bi, ci, di], add, to)
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    if measure == "RR":
        yi = np.log(p1) - np.log(p2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif measure == "OR":
        yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:  # RD
        yi = p1 - p2
        if vtype == "LS":
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        elif vtype == "UB":
            vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
        else:  # AV
            q1, q2 = _wmean(p1, n1), _wmean(p2, n2)
            vi = q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2
    return yi, vi, missing, missing.copy()


def tables_more(measure, x, ctx, add, to, vtype):
    ai, bi, ci, di = complete_tables(x, ctx)
    missing = _nan(ai, bi, ci, di)
    a, b, c, d = _cells_correction([ai, bi, ci, di], add, to)
    n1, n2 = a + b, c + d
    n = n1 + n2
    p1, p2 = a / n1, c / n2
    if measure == "PETO":
        xt, yt = a + c, b + d
        E = xt * n1 / n
        V = xt * yt * (n1 / n) * (n2 / n) / (n - 1)
        yi, vi = (a - E) / V, 1 / V
    elif measure == "PHI":
        yi = (a * d - b * c) / np.sqrt((a + b) * (c + d) * (a + c) * (b + d))
        q1, q2 = 1 - p1, 1 - p2
        if vtype == "ST":
            vi = ((n1 + n2) ** 2 * (4 * n1**3 * p1**2 * p2 * q1**2 * q2 + 4 * n2**3 * p1 * p2**2 * q1 * q2**2
                                     + n1 * n2**2 * p2 * q2 * (p2 * q1 + p1 * q2) * (p2 * q1 + p1 * (4 * q1 + q2))
                                     + n1**2 * n2 * p1 * q1 * (p2 * q1 + p1 * q2) * (p1 * q2 + p2 * (q1 + 4 * q2)))
                  / (4 * (a + c) ** 3 * (b + d) ** 3))
        else:  # LS, CS (Yule 1912; Bishop, Fienberg & Holland 1975)
            r1, r2, c1, c2 = (a + b) / n, (c + d) / n, (a + c) / n, (b + d) / n
            vi = 1 / n * (1 - yi**2 + yi * (1 + yi**2 / 2) * (r1 - r2) * (c1 - c2) / np.sqrt(r1 * r2 * c1 * c2)
                          - 0.75 * yi**2 * ((r1 - r2) ** 2 / (r1 * r2) + (c1 - c2) ** 2 / (c1 * c2)))
    elif measure in ("YUQ", "YUY"):
        odds = (a / b) / (c / d)
        inv = 1 / a + 1 / b + 1 / c + 1 / d
        if measure == "YUQ":
            yi = (odds - 1) / (odds + 1)
            vi = 0.25 * (1 - yi**2) ** 2 * inv
        else:
            yi = (np.sqrt(odds) - 1) / (np.sqrt(odds) + 1)
            vi = (1 / 16) * (1 - yi**2) ** 2 * inv
    elif measure == "AS":
        yi = np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2))
        vi = 1 / (4 * n1) + 1 / (4 * n2)
    elif measure == "PBIT":
        z1, z2 = stats.norm.ppf(p1), stats.norm.ppf(p2)
        yi = z1 - z2
        vi = 2 * np.pi * p1 * (1 - p1) * np.exp(z1**2) / n1 + 2 * np.pi * p2 * (1 - p2) * np.exp(z2**2) / n2
    else:  # OR2DN, OR2DL (= OR2D): the log odds ratio rescaled to d
        lor = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        vlor = 1 / a + 1 / b + 1 / c + 1 / d
        if measure in ("OR2DL", "OR2D"):
            yi, vi = np.sqrt(3) / np.pi * lor, 3 / np.pi**2 * vlor
        else:
            yi, vi = lor / 1.65, vlor / 1.65**2
    return yi, vi, missing, missing.copy()


def paired_tables(measure, x, ctx, add, to, vtype):
    ai, bi, ci, di = complete_tables(x, ctx)
    missing = _nan(ai, bi, ci, di)
    a, b, c, d = _cells_correction([ai, bi, ci, di], add, to)
    n = a + b + c + d
    p12, p21 = b / n, c / n
    r1, c1 = (a + b) / n, (a + c) / n
    if measure == "MPRD":
        yi = r1 - c1
        vi = p12 * (1 - p12) / n + 2 * p12 * p21 / n + p21 * (1 - p21) / n
    elif measure == "MPRR":
        yi = np.log(r1) - np.log(c1)
        vi = (p12 + p21) / (n * r1 * c1)
    elif measure == "MPOR":
        yi = np.log(r1 / (1 - r1)) - np.log(c1 / (1 - c1))
        vi = (p12 * (1 - p12) + p21 * (1 - p21) + 2 * p12 * p21) / (n * r1 * (1 - r1) * c1 * (1 - c1))
    elif measure == "MPORC":
        yi, vi = np.log(b) - np.log(c), 1 / b + 1 / c
    else:  # MPPETO
        E, V = (b + c) / 2, (b + c) / 4
        yi, vi = (b - E) / V, 1 / V
    return yi, vi, missing, missing.copy()


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    "OR": (TWO_BY_TWO, ("LS",), two_by_two, needs_two_by_two),
    "RR": (TWO_BY_TWO, ("LS",), two_by_two, needs_two_by_two),
    "RD": (TWO_BY_TWO, ("LS", "UB", "AV"), two_by_two, needs_two_by_two),
    **{m: (TWO_BY_TWO, ("LS",), tables_more, needs_two_by_two)
       for m in ("PETO", "YUQ", "YUY", "AS", "PBIT", "OR2DN", "OR2DL")},
    "PHI": (TWO_BY_TWO, ("ST", "LS", "CS"), tables_more, needs_two_by_two),
    **{m: (TWO_BY_TWO, ("LS",), paired_tables, needs_two_by_two)
       for m in ("MPRD", "MPRR", "MPOR", "MPORC", "MPPETO")},
}
TABLE["OR2D"] = TABLE["OR2DL"]  # metafor's alias
