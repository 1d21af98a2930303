"""Measures from two groups' means, standard deviations and sizes (``m1i, sd1i, n1i, m2i, sd2i, n2i``).

* ``SMD`` (Hedges' g, exact bias correction), ``MD``, ``ROM`` (log ratio of means);
* ``SMDH`` (heteroscedastic variances; Bonett 2009), ``SMD1`` / ``SMD1H`` (standardized by
  the SD of group 2; Glass's Delta);
* ``RPB`` / ``RBIS`` (point-biserial and biserial correlation), ``D2ORN`` / ``D2ORL`` (the
  standardized mean difference converted to a log odds ratio; ``D2OR`` = ``D2ORL``);
* ``CVR`` (log ratio of coefficients of variation), ``VR`` (log ratio of standard deviations).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from bayesma.effects._common import (
    MEANS,
    _hedges_correction,
    _nan,
    _needs,
    _wmean,
    needs_means,
)

__all__ = ["TABLE"]


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


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    "SMD": (MEANS, ("LS", "LS2", "UB", "AV"), means, needs_means),
    "MD": (MEANS, ("LS", "UB", "HO"), means, needs_means),
    "ROM": (MEANS, ("LS", "HO", "AV", "AVHO"), means, needs_means),
    "RPB": (MEANS, ("ST", "LS", "CS"), means_more, _needs(MEANS)),
    **{m: (MEANS, ("LS",), means_more, _needs(MEANS)) for m in ("RBIS", "D2ORN", "D2ORL", "CVR")},
    "VR": (("sd1i", "n1i", "sd2i", "n2i"), ("LS",), means_more, _needs(("sd1i", "n1i", "sd2i", "n2i"))),
    "SMDH": (MEANS, ("LS", "LS2"), glass_hetero, _needs(MEANS)),
    "SMD1": (("m1i", "n1i", "m2i", "sd2i", "n2i"), ("LS", "LS2", "UB", "AV"), glass_hetero,
             _needs(("m1i", "n1i", "m2i", "sd2i", "n2i"))),
    "SMD1H": (MEANS, ("LS",), glass_hetero, _needs(MEANS)),
}
TABLE["D2OR"] = TABLE["D2ORL"]  # metafor's alias
