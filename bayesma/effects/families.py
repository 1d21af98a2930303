"""The effect-size computations of :func:`bayesma.effects.escalc`, one function per family of measures.

Each ``compute`` function takes ``(measure, x, ctx, add, to, vtype)``: the measure
name, the numeric inputs by argument name, the error context (``ctx.fail(mask,
column, what, values)``), the zero-cell correction and the variance type; it
returns ``(yi, vi, na_y, na_v)`` where ``na_y``/``na_v`` mark values missing
because an input was missing. Each ``needs`` function returns ``(missing
arguments, how to give them)``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import gammaln

from bayesma._validate import study_name
from bayesma.errors import MissingDataWarning

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


def means(measure, x, ctx, add, to, vtype):
    m1, s1, n1, m2, s2, n2 = (x[a] for a in MEANS)
    for name in ("sd1i", "sd2i"):
        if measure == "ROM":  # a ratio of means needs both groups' SDs (its variance is per-group)
            ctx.fail(x[name] <= 0, name, "has a standard deviation <= 0", x[name])
        else:  # MD, SMD: valid whenever the pooled SD is positive (as metafor)
            ctx.fail(x[name] < 0, name, "has a negative standard deviation", x[name])
    if measure != "ROM":
        ctx.fail((s1 == 0) & (s2 == 0), ("sd1i", "sd2i"),
                 "has a standard deviation of 0 in both groups, so the pooled SD is 0", s1)
    for name in ("n1i", "n2i"):
        ctx.fail(x[name] <= 1, name, "has a group size <= 1", x[name])
    m = n1 + n2 - 2
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
    if measure == "MD":
        yi = m1 - m2
        if vtype == "HO":
            vi = sdp**2 * (1 / n1 + 1 / n2)
        else:  # LS and UB are the same estimator
            vi = s1**2 / n1 + s2**2 / n2
        return yi, vi, _nan(m1, m2), _nan(s1, s2, n1, n2)
    if measure == "SMD":
        d = (m1 - m2) / sdp
        cm = _hedges_correction(m)
        yi = cm * d
        if vtype == "LS":
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
        elif vtype == "LS2":
            vi = cm**2 * (1 / n1 + 1 / n2 + d**2 / (2 * (n1 + n2)))
        elif vtype == "UB":
            vi = 1 / n1 + 1 / n2 + (1 - (m - 2) / (m * cm**2)) * yi**2
        else:  # AV
            vi = 1 / n1 + 1 / n2 + _wmean(yi, n1 + n2) ** 2 / (2 * (n1 + n2))
        missing = _nan(m1, s1, n1, m2, s2, n2)
        if vtype == "AV":
            return yi, vi, missing, _nan(n1, n2)
        return yi, vi, missing, missing.copy()
    # ROM
    yi = np.log(m1 / m2)
    if vtype == "LS":
        vi = s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
        na_v = _nan(s1, n1, m1, s2, n2, m2)
    elif vtype == "HO":
        vi = sdp**2 / (n1 * m1**2) + sdp**2 / (n2 * m2**2)
        na_v = _nan(s1, n1, m1, s2, n2, m2)
    else:
        cv1, cv2 = s1 / m1, s2 / m2
        if vtype == "AV":
            vi = _wmean(cv1, n1) ** 2 / n1 + _wmean(cv2, n2) ** 2 / n2
        else:  # AVHO: weighted mean of both groups' CVs
            ok = ~_nan(n1, n2, cv1, cv2)
            cv = (np.sum(n1[ok] * cv1[ok]) + np.sum(n2[ok] * cv2[ok])) / np.sum((n1 + n2)[ok])
            vi = cv**2 * (1 / n1 + 1 / n2)
        na_v = _nan(n1, n2)
    return yi, vi, _nan(m1, m2), na_v


def _hedges_correction(m: np.ndarray) -> np.ndarray:
    """Exact bias correction c(m) of the standardized mean difference (Hedges 1981)."""
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def correlation(measure, x, ctx, add, to, vtype):
    r, n = x["ri"], x["ni"]
    ctx.fail(np.abs(r) > 1, "ri", "has a correlation outside [-1, 1]", r)
    ctx.fail(n <= 1, "ni", "has a sample size <= 1", n)
    small = n <= 3
    if np.any(small):
        i = np.flatnonzero(small)
        warnings.warn(
            f"column {ctx.names['ni']!r}: the sampling variance cannot be estimated when ni <= 3; "
            f"vi is NaN for {', '.join(study_name(ctx.labels, j) for j in i)}",
            MissingDataWarning,
            stacklevel=3,
        )
    if measure == "COR":
        yi = r.copy()
        if vtype == "LS":
            vi = (1 - yi**2) ** 2 / (n - 1)
            na_v = _nan(r, n)
        else:  # AV
            vi = (1 - _wmean(yi, n) ** 2) ** 2 / (n - 1)
            na_v = _nan(n)
    else:  # ZCOR
        yi = np.arctanh(r)
        vi = 1 / (n - 3)
        na_v = _nan(n)
    vi = np.where(small, np.nan, vi)
    return yi, vi, _nan(r), na_v | small


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
