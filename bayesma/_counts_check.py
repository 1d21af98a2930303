"""The one check of count inputs (2x2 tables, events and person-times, proportions), shared by the
frequentist GLMMs (:func:`bayesma.rma_glmm`) and the Bayesian count models
(:class:`bayesma.MetaAnalysis` with ``likelihood="binomial"`` / ``"poisson"``), and the
Mantel-Haenszel and Peto methods (:func:`bayesma.rma_mh`, :func:`bayesma.rma_peto`; cells need not
be whole numbers there).

Every problem raises an :class:`~bayesma.InputError` worded one way,
``"column 'tpos': study 'Smith' (row 3) has a negative count (-1)"``, with ``.study``, ``.row``
(1-based) and ``.column`` set. The column is the one the user named (the data column, or the
argument when values were given). Cells that are text, not numbers, are refused earlier by
:func:`bayesma._validate.as_numeric`, in the same form. Missing values (NaN) pass: the callers
drop or refuse them by their own rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayesma.errors import study_error

__all__ = ["check_counts", "COUNT_COLUMNS", "TIME_COLUMNS"]

#: arguments holding counts (whole numbers >= 0): events, non-events, group sizes
COUNT_COLUMNS = ("ai", "bi", "ci", "di", "n1i", "n2i", "x1i", "x2i", "xi", "mi", "ni")
#: arguments holding person-times (> 0)
TIME_COLUMNS = ("t1i", "t2i", "ti")
#: (events, group size) pairs: the events cannot exceed the size
_WITHIN = (("ai", "n1i"), ("ci", "n2i"), ("xi", "ni"))


def _first(bad: np.ndarray) -> int | None:
    idx = np.flatnonzero(bad)
    return int(idx[0]) if idx.size else None


def check_counts(values: Mapping[str, Any], labels: Sequence[Any] | None = None,
                 shown: Mapping[str, str] | None = None, whole: bool = True) -> None:
    """Refuse impossible counts, naming the first offending study (label and row) and column.

    Parameters
    ----------
    values : mapping of str to array_like
        The inputs as given, by argument name (``ai, bi, ci, di, n1i, n2i, x1i, x2i, t1i,
        t2i, xi, mi, ni, ti``; others are ignored), each of length k (NaN where missing).
    labels : sequence of str, optional
        Study labels (else rows are named by number).
    shown : mapping of str to str, optional
        The name to show for an argument (the data column it came from).
    whole : bool
        Refuse counts that are not whole numbers (the binomial and Poisson likelihoods); False
        for the Mantel-Haenszel and Peto methods, which, as metafor, take any cells >= 0.

    Raises
    ------
    InputError
        A negative count, a count that is not a whole number, a person-time that is not
        positive, a proportion's size ``ni`` of 0, or more events than the group size
        (``ai > n1i``, ``ci > n2i``, ``xi > ni``); checked in that order, column by column.

    Examples
    --------
    >>> check_counts({"ai": [3, 1], "n1i": [10, 12]}, ["A", "B"])
    >>> try:
    ...     check_counts({"ai": [3, -1], "n1i": [10, 12]}, ["A", "B"], {"ai": "tpos"})
    ... except ValueError as err:
    ...     print(err)
    column 'tpos': study 'B' (row 2) has a negative count (-1)
    """
    shown = dict(shown or {})
    arr = {n: np.asarray(v, dtype=float) for n, v in values.items() if n in COUNT_COLUMNS + TIME_COLUMNS}
    for name, v in arr.items():
        col = shown.get(name, name)
        ok = ~np.isnan(v)
        if name in TIME_COLUMNS:
            i = _first(ok & (v <= 0))
            if i is not None:
                raise study_error(f"has a person-time of {v[i]:g}; it must be positive", labels, i, col)
            continue
        i = _first(ok & (v < 0))
        if i is not None:
            raise study_error(f"has a negative count ({v[i]:g})", labels, i, col)
        i = _first(ok & (v != np.round(v))) if whole else None
        if i is not None:
            raise study_error(f"has a count that is not a whole number ({v[i]:g}); the binomial and Poisson "
                              "likelihoods need counts", labels, i, col)
    if "ni" in arr and "xi" in arr and "ti" not in arr:
        i = _first(arr["ni"] == 0)
        if i is not None:
            raise study_error("has a size of 0; a proportion needs at least one observation", labels, i,
                              shown.get("ni", "ni"))
    for events, size in _WITHIN:
        if events in arr and size in arr:
            e, n = arr[events], arr[size]
            i = _first(~np.isnan(e) & ~np.isnan(n) & (e > n))
            if i is not None:
                raise study_error(f"has more events ({e[i]:g}) than its group size ({n[i]:g}, "
                                  f"column {shown.get(size, size)!r})", labels, i, shown.get(events, events))
