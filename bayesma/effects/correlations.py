"""Measures from correlations and regression results.

* ``COR``, ``ZCOR`` (raw and Fisher-z correlations; ``ri, ni``), ``UCOR`` (unbiased estimate
  of r; Olkin & Pratt 1958);
* ``PCOR`` / ``ZPCOR`` (partial correlation, raw and Fisher-z; ``ti, ni, mi``), ``SPCOR``
  (semi-partial correlation; with ``r2i``);
* ``R2D``: a point-biserial correlation ``ri`` with ``ni`` or the group sizes ``n1i, n2i``
  converted to d (Borenstein et al. 2009, eqs. 7.5-7.8, as :func:`bayesma.convert_r_to_d`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import hyp2f1

from bayesma._validate import study_name
from bayesma.effects._common import (
    CORR,
    _nan,
    _needs,
    _wmean,
    needs_correlation,
)
from bayesma.effects.convert import convert_r_to_d
from bayesma.errors import MissingDataWarning

__all__ = ["TABLE"]

PARTIAL = ("ti", "ni", "mi", "r2i")
R2D_ARGS = ("ri", "ni", "n1i", "n2i")


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


def partial(measure, x, ctx, add, to, vtype):
    ti, ni, mi = x["ti"], x["ni"], x["mi"]
    ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
    ctx.fail(mi < 0, "mi", "has a negative number of predictors", mi)
    ctx.fail(ni - mi - 1 <= 0, ("ni", "mi"), "has ni - mi - 1 <= 0 degrees of freedom", ni)
    df = ni - mi - 1
    if measure == "SPCOR":
        r2 = x["r2i"]
        ctx.fail((r2 < 0) | (r2 > 1), "r2i", "has an R² outside [0, 1]", r2)
        yi = ti * np.sqrt(1 - r2) / np.sqrt(df)
        miss = _nan(ti, ni, mi, r2)
        y = yi if vtype == "LS" else np.full_like(yi, _wmean(yi, ni))
        vi = (r2**2 - 2 * r2 + (r2 - y**2) + 1 - (r2 - y**2) ** 2) / ni
        return yi, vi, miss, (miss if vtype == "LS" else _nan(ni, r2))
    r = ti / np.sqrt(ti**2 + df)
    miss = _nan(ti, ni, mi)
    if measure == "ZPCOR":
        return np.arctanh(r), 1 / df, miss, _nan(ni, mi)
    if vtype == "LS":
        return r, (1 - r**2) ** 2 / df, miss, miss.copy()
    return r, (1 - _wmean(r, ni) ** 2) ** 2 / df, miss, _nan(ni, mi)


def _needs_pcor(given: dict[str, Any]) -> tuple[list[str], str]:
    return [a for a in ("ti", "ni", "mi") if a not in given], "ti, ni, mi"


def r_to_d(measure, x, ctx, add, to, vtype):
    r = x["ri"]
    ctx.fail(np.abs(r) >= 1, "ri", "has a correlation outside (-1, 1)", r)
    n1, n2, n = x.get("n1i"), x.get("n2i"), x.get("ni")
    if n is not None:
        ctx.fail(n <= 1, "ni", "has a sample size <= 1", n)
    miss = _nan(r, *(v for v in (n, n1, n2) if v is not None))
    ok = ~miss
    yi, vi = np.full(r.shape, np.nan), np.full(r.shape, np.nan)
    if np.any(ok):
        sub = (lambda v: None if v is None else v[ok])  # noqa: E731
        d, v = convert_r_to_d(r[ok], n=sub(n), n1=sub(n1), n2=sub(n2))
        yi[ok], vi[ok] = d, v
    return yi, vi, miss, miss.copy()


def _needs_r2d(given: dict[str, Any]) -> tuple[list[str], str]:
    missing = [] if "ri" in given else ["ri"]
    if "ni" not in given and not ("n1i" in given and "n2i" in given):
        missing.append("ni (or n1i and n2i)")
    if ("n1i" in given) != ("n2i" in given):
        missing.append("n2i" if "n1i" in given else "n1i")
    return missing, "ri with ni, or ri with the group sizes n1i, n2i"


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    "COR": (CORR, ("LS", "AV"), correlation, needs_correlation),
    "ZCOR": (CORR, ("LS",), correlation, needs_correlation),
    "UCOR": (CORR, ("LS", "UB", "AV"), ucor, _needs(CORR)),
    "PCOR": (("ti", "ni", "mi"), ("LS", "AV"), partial, _needs_pcor),
    "ZPCOR": (("ti", "ni", "mi"), ("LS",), partial, _needs_pcor),
    "SPCOR": (PARTIAL, ("LS", "AV"), partial, _needs(PARTIAL)),
    "R2D": (R2D_ARGS, ("LS",), r_to_d, _needs_r2d),
}
