"""More effect-size measures of :func:`bayesma.escalc`, with metafor's formulas (``escalc``,
metafor 3.8-1), registered in escalc's measure table.

Families (arguments under metafor's names):

* 2x2 tables (``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``): ``PETO`` (Peto's log odds ratio),
  ``PHI`` (phi coefficient), ``YUQ`` / ``YUY`` (Yule's Q and Y), ``AS`` (arcsine square-root
  risk difference), ``PBIT`` (probit difference), ``OR2DN`` / ``OR2DL`` (the log odds ratio
  converted to a standardized mean difference, normal / logistic distribution);
* two groups' means (``m1i, sd1i, n1i, m2i, sd2i, n2i``): ``RPB`` / ``RBIS`` (point-biserial
  and biserial correlation), ``D2ORN`` / ``D2ORL`` (the standardized mean difference converted
  to a log odds ratio), ``CVR`` (log ratio of coefficients of variation), ``VR`` (log ratio
  of standard deviations);
* one group (``mi, sdi, ni``): ``MN`` (mean), ``MNLN`` (log mean), ``CVLN`` (log coefficient
  of variation), ``SDLN`` (log standard deviation), ``SMN`` (standardized mean);
* pre-post / matched designs (``m1i, m2i, sd1i, sd2i, ni, ri``): ``MC`` (mean change),
  ``SMCC`` (standardized mean change, change-score standardization), ``SMCR`` / ``SMCRH``
  (raw-score standardization; SMCR needs only ``sd1i``), ``ROMC`` (log ratio of means);
* regression results (``ti, ni, mi`` and ``r2i``): ``PCOR`` / ``ZPCOR`` (partial correlation,
  raw and Fisher-z), ``SPCOR`` (semi-partial correlation);
* incidence rates (``x1i, t1i, x2i, t2i``): ``IRR`` (log rate ratio), ``IRD`` (rate
  difference), ``IRSD`` (square-root rate difference);
* single proportions (``xi, ni`` or ``xi, mi``): ``PAS`` (arcsine), ``PFT`` (Freeman-Tukey);
* conversions of reported statistics to d: ``R2D`` (a point-biserial correlation ``ri`` with
  ``ni`` or the group sizes ``n1i, n2i``, Borenstein et al. 2009, eqs. 7.5-7.8, as
  :func:`bayesma.convert_r_to_d`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from bayesma.effects.convert import convert_r_to_d
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
from bayesma.effects.measures_extra import _needs

__all__ = ["ADD_ZERO", "MORE"]

MEANS2 = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
ONE = ("mi", "sdi", "ni")
PREPOST = ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri")
PARTIAL = ("ti", "ni", "mi", "r2i")
RATES = ("x1i", "t1i", "x2i", "t2i")
R2D_ARGS = ("ri", "ni", "n1i", "n2i")

#: measures whose default ``add`` is 0 (metafor: AS, PHI, RTET, IRSD, PAS, PFT, IRS, IRFT)
ADD_ZERO = frozenset({"AS", "PHI", "IRSD", "PAS", "PFT"})


# ---------------------------------------------------------------------------
# 2x2 tables


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


# ---------------------------------------------------------------------------
# two groups' means


def means_more(measure, x, ctx, add, to, vtype):
    n1, n2 = x["n1i"], x["n2i"]
    s1, s2 = x["sd1i"], x["sd2i"]
    for name in ("sd1i", "sd2i"):
        ctx.fail(x[name] < 0, name, "has a negative standard deviation", x[name])
    for name in ("n1i", "n2i"):
        ctx.fail(x[name] <= 0, name, "has a group size <= 0", x[name])
    if measure == "VR":
        yi = np.log(s1 / s2) + 1 / (2 * (n1 - 1)) - 1 / (2 * (n2 - 1))
        vi = 1 / (2 * (n1 - 1)) + 1 / (2 * (n2 - 1))
        miss = _nan(s1, s2, n1, n2)
        return yi, vi, miss, _nan(n1, n2)
    m1, m2 = x["m1i"], x["m2i"]
    miss = _nan(m1, m2, s1, s2, n1, n2)
    if measure == "CVR":
        yi = np.log(s1 / m1) + 1 / (2 * (n1 - 1)) - np.log(s2 / m2) - 1 / (2 * (n2 - 1))
        vi = 1 / (2 * (n1 - 1)) + s1**2 / (n1 * m1**2) + 1 / (2 * (n2 - 1)) + s2**2 / (n2 * m2**2)
        return yi, vi, miss, miss.copy()
    n = n1 + n2
    m = n - 2
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
    di = (m1 - m2) / sdp
    if measure in ("RPB", "RBIS"):
        h = m / n1 + m / n2
        yi = di / np.sqrt(di**2 + h)
        if measure == "RPB":
            if vtype in ("ST", "LS"):
                vi = h**2 / (h + di**2) ** 3 * (1 / n1 + 1 / n2 + di**2 / (2 * n))
            else:  # CS
                vi = (1 - yi**2) ** 2 * (n * yi**2 / (4 * n1 * n2) + (2 - 3 * yi**2) / (2 * n))
        else:
            p1, p2 = n1 / n, n2 / n
            z = stats.norm.isf(p1)
            fz = stats.norm.pdf(z)
            yi = np.sqrt(p1 * p2) / fz * yi
            yt = np.where(np.abs(yi) > 1, np.sign(yi), yi)
            vi = 1 / (n - 1) * (p1 * p2 / fz**2 - (1.5 + (1 - p1 * z / fz) * (1 + p2 * z / fz)) * yt**2 + yt**4)
        return yi, vi, miss, miss.copy()
    base = 1 / n1 + 1 / n2 + di**2 / (2 * n)
    if measure in ("D2ORL", "D2OR"):
        return np.pi / np.sqrt(3) * di, np.pi**2 / 3 * base, miss, miss.copy()
    return 1.65 * di, 1.65**2 * base, miss, miss.copy()  # D2ORN


# ---------------------------------------------------------------------------
# one group


def one_group(measure, x, ctx, add, to, vtype):
    mi, sdi, ni = x.get("mi"), x["sdi"], x["ni"]
    ctx.fail(sdi < 0, "sdi", "has a negative standard deviation", sdi)
    ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
    if measure in ("MNLN", "CVLN"):
        ctx.fail(mi < 0, "mi", "has a negative mean (its log is undefined)", mi)
    if measure == "SDLN":
        miss = _nan(sdi, ni)
        return np.log(sdi) + 1 / (2 * (ni - 1)), 1 / (2 * (ni - 1)), miss, _nan(ni)
    miss = _nan(mi, sdi, ni)
    if measure == "MN":
        yi, vi = mi, sdi**2 / ni
    elif measure == "MNLN":
        yi, vi = np.log(mi), sdi**2 / (ni * mi**2)
    elif measure == "CVLN":
        yi = np.log(sdi / mi) + 1 / (2 * (ni - 1))
        vi = 1 / (2 * (ni - 1)) + sdi**2 / (ni * mi**2)
    else:  # SMN
        cm = _hedges_correction(ni - 1)
        yi = cm * mi / sdi
        vi = 1 / ni + yi**2 / (2 * ni)
    return yi, vi, miss, miss.copy()


def _needs_one(given: dict[str, Any]) -> tuple[list[str], str]:
    return [a for a in ONE if a not in given], "mi, sdi, ni"


def _needs_sdln(given: dict[str, Any]) -> tuple[list[str], str]:
    return [a for a in ("sdi", "ni") if a not in given], "sdi, ni"


# ---------------------------------------------------------------------------
# pre-post


def prepost(measure, x, ctx, add, to, vtype):
    m1, m2, s1, ni, ri = x["m1i"], x["m2i"], x["sd1i"], x["ni"], x["ri"]
    s2 = x.get("sd2i")
    ctx.fail(s1 < 0, "sd1i", "has a negative standard deviation", s1)
    if s2 is not None:
        ctx.fail(s2 < 0, "sd2i", "has a negative standard deviation", s2)
    ctx.fail(np.abs(ri) > 1, "ri", "has a correlation outside [-1, 1]", ri)
    ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
    cm = _hedges_correction(ni - 1)
    if measure == "SMCR":
        miss = _nan(m1, m2, s1, ni, ri)
        d = (m1 - m2) / s1
        yi = cm * d
        if vtype == "LS":
            vi = 2 * (1 - ri) / ni + yi**2 / (2 * ni)
        else:  # LS2
            vi = cm**2 * (2 * (1 - ri) / ni + d**2 / (2 * ni))
        return yi, vi, _nan(m1, m2, s1, ni), miss
    miss = _nan(m1, m2, s1, s2, ni, ri)
    var_diff = s1**2 + s2**2 - 2 * ri * s1 * s2
    if measure == "MC":
        return m1 - m2, var_diff / ni, _nan(m1, m2), miss
    if measure == "SMCC":
        d = (m1 - m2) / np.sqrt(var_diff)
        yi = cm * d
        vi = 1 / ni + yi**2 / (2 * ni) if vtype == "LS" else cm**2 * (1 / ni + d**2 / (2 * ni))
        return yi, vi, miss, miss.copy()
    if measure == "SMCRH":
        yi = cm * (m1 - m2) / s1
        vi = cm**2 * (var_diff / (s1**2 * (ni - 1)) + yi**2 / (2 * (ni - 1)))
        return yi, vi, _nan(m1, m2, s1, ni), miss
    # ROMC
    yi = np.log(m1 / m2)
    vi = s1**2 / (ni * m1**2) + s2**2 / (ni * m2**2) - 2 * ri * s1 * s2 / (m1 * m2 * ni)
    return yi, vi, _nan(m1, m2), miss


def _needs_smcr(given: dict[str, Any]) -> tuple[list[str], str]:
    args = ("m1i", "m2i", "sd1i", "ni", "ri")
    return [a for a in args if a not in given], ", ".join(args)


# ---------------------------------------------------------------------------
# partial and semi-partial correlations


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


# ---------------------------------------------------------------------------
# incidence rates


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


# ---------------------------------------------------------------------------
# single proportions


def proportion_more(measure, x, ctx, add, to, vtype):
    xi, mi = proportion_counts(x, ctx)
    missing = _nan(xi, mi)
    a, b = _cells_correction([xi, mi], add, to)
    n = a + b
    if measure == "PAS":
        return np.arcsin(np.sqrt(a / n)), 1 / (4 * n), missing, _nan(n)
    yi = 0.5 * (np.arcsin(np.sqrt(a / (n + 1))) + np.arcsin(np.sqrt((a + 1) / (n + 1))))
    return yi, 1 / (4 * n + 2), missing, _nan(n)


# ---------------------------------------------------------------------------
# reported correlations to d


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


#: name -> (arguments, variance types, compute, needs) for escalc's measure table
MORE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    **{m: (TWO_BY_TWO, ("LS",), tables_more, needs_two_by_two)
       for m in ("PETO", "YUQ", "YUY", "AS", "PBIT", "OR2DN", "OR2DL")},
    "PHI": (TWO_BY_TWO, ("ST", "LS", "CS"), tables_more, needs_two_by_two),
    "RPB": (MEANS2, ("ST", "LS", "CS"), means_more, _needs(MEANS2)),
    **{m: (MEANS2, ("LS",), means_more, _needs(MEANS2)) for m in ("RBIS", "D2ORN", "D2ORL", "CVR")},
    "VR": (("sd1i", "n1i", "sd2i", "n2i"), ("LS",), means_more, _needs(("sd1i", "n1i", "sd2i", "n2i"))),
    **{m: (ONE, ("LS",), one_group, _needs_one) for m in ("MN", "MNLN", "CVLN", "SMN")},
    "SDLN": (("sdi", "ni"), ("LS",), one_group, _needs_sdln),
    **{m: (PREPOST, ("LS",), prepost, _needs(PREPOST)) for m in ("MC", "SMCRH", "ROMC")},
    "SMCC": (PREPOST, ("LS", "LS2"), prepost, _needs(PREPOST)),
    "SMCR": (("m1i", "m2i", "sd1i", "ni", "ri"), ("LS", "LS2"), prepost, _needs_smcr),
    "PCOR": (("ti", "ni", "mi"), ("LS", "AV"), partial, _needs_pcor),
    "ZPCOR": (("ti", "ni", "mi"), ("LS",), partial, _needs_pcor),
    "SPCOR": (PARTIAL, ("LS", "AV"), partial, _needs(PARTIAL)),
    **{m: (RATES, ("LS",), rates, _needs(RATES)) for m in ("IRR", "IRD", "IRSD")},
    **{m: (PROP, ("LS",), proportion_more, needs_proportion) for m in ("PAS", "PFT")},
    "R2D": (R2D_ARGS, ("LS",), r_to_d, _needs_r2d),
}
MORE["OR2D"] = MORE["OR2DL"]  # metafor's aliases
MORE["D2OR"] = MORE["D2ORL"]
