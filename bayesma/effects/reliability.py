"""Measures of reliability and of genetic association from counts.

* Cronbach's alpha (``ai`` = alpha, ``mi`` items, ``ni`` subjects): ``ARAW``, ``AHW``, ``ABT``
  (Bonett 2002; Hakstian & Whalen 1976);
* ``REH`` (relative excess heterozygosity; Ziegler et al. 2011) from genotype counts ``ai,
  bi, ci``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.effects._common import (
    _nan,
    _needs,
)

__all__ = ["TABLE"]


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


#: name -> (arguments, variance types, compute, needs): this module's rows of escalc's measure table
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any, Any]] = {
    **{m: (("ai", "mi", "ni"), ("LS",), alpha, _needs(("ai", "mi", "ni"))) for m in ("ARAW", "AHW", "ABT")},
    "REH": (("ai", "bi", "ci"), ("LS",), reh, _needs(("ai", "bi", "ci"))),
}
