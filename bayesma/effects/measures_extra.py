"""Further measures of :func:`bayesma.escalc` with metafor's formulas (``escalc``, metafor 3.8-1):
the rest of metafor's list short of the tetrachoric correlation.

* two groups' means: ``SMDH`` (standardized mean difference with heteroscedastic
  variances; Bonett 2009), ``SMD1`` / ``SMD1H`` (standardized by the SD of group 2; Glass's
  Delta);
* correlations: ``UCOR`` (unbiased estimate of r; Olkin & Pratt 1958);
* single proportions: ``PLN`` (log proportion);
* single incidence rates (``xi, ti``): ``IR``, ``IRLN``, ``IRS``, ``IRFT``;
* pre-post variability: ``CVRC``, ``VRC`` (log ratios of CVs and of SDs in matched groups);
* paired (matched) 2x2 tables: ``MPRD``, ``MPRR``, ``MPOR``, ``MPORC``, ``MPPETO``;
* reliability (``ai`` = Cronbach's alpha, ``mi`` items, ``ni`` subjects): ``ARAW``, ``AHW``,
  ``ABT`` (Bonett 2002; Hakstian & Whalen 1976);
* ``REH`` (relative excess heterozygosity; Ziegler et al. 2011) from genotype counts ``ai,
  bi, ci``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import hyp2f1

from bayesma.effects.families import (
    PROP,
    TWO_BY_TWO,
    _cells_correction,
    _hedges_correction,
    _nan,
    _wmean,
    complete_tables,
    needs_proportion,
    needs_two_by_two,
    proportion_counts,
)
from bayesma.errors import MissingDataWarning

__all__ = ["ADD_ZERO_EXTRA", "EXTRA"]

#: measures whose default ``add`` is 0 (metafor: IRS, IRFT)
ADD_ZERO_EXTRA = frozenset({"IRS", "IRFT"})

MEANS2 = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


def _needs(args: tuple[str, ...]):
    def needs(given: dict[str, Any]) -> tuple[list[str], str]:
        return [a for a in args if a not in given], ", ".join(args)
    return needs


def glass_hetero(measure, x, ctx, add, to, vtype):
    m1, m2, n1, n2, s2 = x["m1i"], x["m2i"], x["n1i"], x["n2i"], x["sd2i"]
    s1 = x.get("sd1i")
    for name in ("sd1i", "sd2i"):
        if name in x:
            ctx.fail(x[name] < 0, name, "has a negative standard deviation", x[name])
    for name in ("n1i", "n2i"):
        ctx.fail(x[name] <= 0, name, "has a group size <= 0", x[name])
    n = n1 + n2
    if measure == "SMDH":
        cm = _hedges_correction(n - 2)
        v1, v2 = s1**2, s2**2
        yi = cm * (m1 - m2) / np.sqrt((v1 + v2) / 2)
        if vtype == "LS":
            vi = cm**2 * (yi**2 * (s1**4 / (n1 - 1) + s2**4 / (n2 - 1)) / (2 * (v1 + v2) ** 2)
                          + (v1 / (n1 - 1) + v2 / (n2 - 1)) / ((v1 + v2) / 2))
        else:  # LS2
            vi = (yi**2 * v1 / (2 * n1 * (v1 + v2) ** 2) + yi**2 * v2 / (2 * n2 * (v1 + v2) ** 2)
                  + 2 * v1 / (n1 * (v1 + v2)) + 2 * v2 / (n2 * (v1 + v2)))
        miss = _nan(m1, m2, s1, s2, n1, n2)
        return yi, vi, miss, miss.copy()
    cm = _hedges_correction(n2 - 1)
    d = (m1 - m2) / s2
    yi = cm * d
    if measure == "SMD1H":
        vi = (s1**2 / s2**2) / n1 + 1 / n2 + yi**2 / (2 * n2)
        miss = _nan(m1, m2, s1, s2, n1, n2)
        return yi, vi, miss, miss.copy()
    # SMD1
    miss = _nan(m1, m2, s2, n1, n2)
    if vtype == "LS":
        vi = 1 / n1 + 1 / n2 + yi**2 / (2 * n2)
    elif vtype == "LS2":
        vi = cm**2 * (1 / n1 + 1 / n2 + d**2 / (2 * n2))
    elif vtype == "UB":
        m = n2 - 1
        vi = 1 / n1 + 1 / n2 + (1 - (m - 2) / (m * cm**2)) * yi**2
    else:  # AV
        vi = 1 / n1 + 1 / n2 + _wmean(yi, n) ** 2 / (2 * n2)
        return yi, vi, miss, _nan(n1, n2)
    return yi, vi, miss, miss.copy()


def _hyp2f1(a: float, b: float, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Gauss's hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 (metafor's ``.Fcalc``: NaN
    unless c > a + b). SciPy's value, or the power series where SciPy returns NaN (large c
    with z near 1, where the series converges in a few terms)."""
    c, z = np.broadcast_arrays(np.asarray(c, dtype=float), np.asarray(z, dtype=float))
    out = np.full(c.shape, np.nan)
    ok = (c > a + b) & np.isfinite(z)
    out[ok] = hyp2f1(a, b, c[ok], z[ok])
    for i in np.flatnonzero(ok & ~np.isfinite(out)):
        total, term, k = 1.0, 1.0, 0
        while k < 100_000:
            term *= (a + k) * (b + k) / ((c[i] + k) * (k + 1)) * z[i]
            total += term
            k += 1
            if abs(term) < 1e-17 * abs(total):
                break
        out[i] = total
    return out


def ucor(measure, x, ctx, add, to, vtype):
    r, n = x["ri"], x["ni"]
    ctx.fail(np.abs(r) > 1, "ri", "has a correlation outside [-1, 1]", r)
    ctx.fail(n <= 0, "ni", "has a sample size <= 0", n)
    small = n <= 4
    if np.any(small):
        warnings.warn("UCOR: the bias-corrected correlation cannot be computed when ni <= 4 (as metafor); "
                      f"NaN for {int(np.sum(small))} stud{'y' if np.sum(small) == 1 else 'ies'}",
                      MissingDataWarning, stacklevel=4)
    yi = r * _hyp2f1(0.5, 0.5, (n - 2) / 2, 1 - r**2)
    if vtype == "UB":
        f2 = _hyp2f1(1.0, 1.0, n / 2, 1 - r**2)
        vi = yi**2 - (1 - (n - 3) / (n - 2) * (1 - r**2) * f2)
    elif vtype == "LS":
        vi = (1 - yi**2) ** 2 / (n - 1)
    else:  # AV
        vi = (1 - _wmean(yi, n) ** 2) ** 2 / (n - 1)
    vi = np.where(n <= 3, np.nan, vi)
    miss = _nan(r, n)
    return yi, vi, miss | small, miss | (n <= 3)


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


def prepost_variability(measure, x, ctx, add, to, vtype):
    s1, s2, ni, ri = x["sd1i"], x["sd2i"], x["ni"], x["ri"]
    for name in ("sd1i", "sd2i"):
        ctx.fail(x[name] < 0, name, "has a negative standard deviation", x[name])
    ctx.fail(np.abs(ri) > 1, "ri", "has a correlation outside [-1, 1]", ri)
    ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
    if measure == "VRC":
        return np.log(s1 / s2), (1 - ri**2) / (ni - 1), _nan(s1, s2), _nan(ni, ri)
    m1, m2 = x["m1i"], x["m2i"]
    yi = np.log(s1 / m1) - np.log(s2 / m2)
    vi = (1 - ri**2) / (ni - 1) + (m1**2 * s2**2 + m2**2 * s1**2 - 2 * m1 * m2 * ri * s1 * s2) / (m1**2 * m2**2 * ni)
    miss = _nan(m1, m2, s1, s2, ni, ri)
    return yi, vi, _nan(m1, m2, s1, s2), miss


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


def alpha(measure, x, ctx, add, to, vtype):
    ai, mi, ni = x["ai"], x["mi"], x["ni"]
    ctx.fail(ai > 1, "ai", "has a Cronbach's alpha above 1", ai)
    ctx.fail(mi < 2, "mi", "has fewer than 2 items", mi)
    ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
    if measure == "ARAW":
        yi, vi = ai, 2 * mi * (1 - ai) ** 2 / ((mi - 1) * (ni - 2))
    elif measure == "AHW":
        yi = 1 - (1 - ai) ** (1 / 3)
        vi = 18 * mi * (ni - 1) * (1 - ai) ** (2 / 3) / ((mi - 1) * (9 * ni - 11) ** 2)
    else:  # ABT
        yi, vi = -np.log(1 - ai), 2 * mi / ((mi - 1) * (ni - 2))
    miss = _nan(ai, mi, ni)
    return yi, vi, _nan(ai) if measure == "ARAW" else miss, miss


def reh(measure, x, ctx, add, to, vtype):
    a, b, c = x["ai"], x["bi"], x["ci"]
    for name in ("ai", "bi", "ci"):
        ctx.fail(x[name] < 0, name, "has a negative count", x[name])
    n = a + b + c
    p0, p1, p2 = a / n, b / n, c / n
    yi = np.log(p1) - np.log(2 * np.sqrt(p0 * p2))
    vi = ((1 - p1) / (4 * p0 * p2) + 1 / p1) / n
    miss = _nan(a, b, c)
    return yi, vi, miss, miss.copy()


#: name -> (arguments, variance types, compute, needs) for escalc's measure table
EXTRA: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    "SMDH": (MEANS2, ("LS", "LS2"), glass_hetero, _needs(MEANS2)),
    "SMD1": (("m1i", "n1i", "m2i", "sd2i", "n2i"), ("LS", "LS2", "UB", "AV"), glass_hetero,
             _needs(("m1i", "n1i", "m2i", "sd2i", "n2i"))),
    "SMD1H": (MEANS2, ("LS",), glass_hetero, _needs(MEANS2)),
    "UCOR": (("ri", "ni"), ("LS", "UB", "AV"), ucor, _needs(("ri", "ni"))),
    "PLN": (PROP, ("LS", "AV"), log_proportion, needs_proportion),
    **{m: (("xi", "ti"), ("LS",), single_rate, _needs(("xi", "ti"))) for m in ("IR", "IRLN", "IRS", "IRFT")},
    "CVRC": (("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"), ("LS",), prepost_variability,
             _needs(("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"))),
    "VRC": (("sd1i", "sd2i", "ni", "ri"), ("LS",), prepost_variability, _needs(("sd1i", "sd2i", "ni", "ri"))),
    **{m: (TWO_BY_TWO, ("LS",), paired_tables, needs_two_by_two)
       for m in ("MPRD", "MPRR", "MPOR", "MPORC", "MPPETO")},
    **{m: (("ai", "mi", "ni"), ("LS",), alpha, _needs(("ai", "mi", "ni"))) for m in ("ARAW", "AHW", "ABT")},
    "REH": (("ai", "bi", "ci"), ("LS",), reh, _needs(("ai", "bi", "ci"))),
}
