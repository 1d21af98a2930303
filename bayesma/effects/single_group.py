"""Measures of one group (``mi, sdi, ni``): ``MN`` (mean), ``MNLN`` (log mean), ``CVLN`` (log
coefficient of variation), ``SDLN`` (log standard deviation), ``SMN`` (standardized mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.effects._common import (
    _hedges_correction,
    _nan,
)

__all__ = ["TABLE"]

ONE = ("mi", "sdi", "ni")


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


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    **{m: (ONE, ("LS",), one_group, _needs_one) for m in ("MN", "MNLN", "CVLN", "SMN")},
    "SDLN": (("sdi", "ni"), ("LS",), one_group, _needs_sdln),
}
