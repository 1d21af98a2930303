"""Measures of change in one group measured twice (pre-post, matched designs;
``m1i, m2i, sd1i, sd2i, ni, ri``).

* ``MC`` (mean change), ``SMCC`` (standardized mean change, change-score standardization),
  ``SMCR`` / ``SMCRH`` (raw-score standardization; SMCR needs only ``sd1i``), ``ROMC`` (log
  ratio of means);
* variability: ``CVRC``, ``VRC`` (log ratios of CVs and of SDs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.effects._common import (
    _hedges_correction,
    _nan,
    _needs,
)

__all__ = ["TABLE"]

PREPOST = ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri")


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


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    **{m: (PREPOST, ("LS",), prepost, _needs(PREPOST)) for m in ("MC", "SMCRH", "ROMC")},
    "SMCC": (PREPOST, ("LS", "LS2"), prepost, _needs(PREPOST)),
    "SMCR": (("m1i", "m2i", "sd1i", "ni", "ri"), ("LS", "LS2"), prepost, _needs_smcr),
    "CVRC": (PREPOST, ("LS",), prepost_variability, _needs(PREPOST)),
    "VRC": (("sd1i", "sd2i", "ni", "ri"), ("LS",), prepost_variability, _needs(("sd1i", "sd2i", "ni", "ri"))),
}
