"""metafor's ``subset=`` of ``rma`` and ``rma.mv``: the studies a fit uses, chosen before fitting.

A subset is a boolean mask aligned to the data (an array, or a pandas Series paired with *data* by its index),
the name of a boolean column of *data*, or integer positions (0-based, Python's convention; metafor's are
1-based). Every per-study argument (the effects, variances, labels, clusters, a moderator matrix, a k x k
``V``) is cut to those rows, so the fit, its printout (``k``) and its results are those of the subset alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["subset_positions", "take_rows"]


def _n_rows(data: pd.DataFrame | None, yi: Any) -> int:
    if data is not None:
        return len(data)
    if isinstance(yi, str) or np.ndim(yi) == 0:
        raise InputError("subset= needs the studies' rows: give data= (or yi as an array)", column="subset")
    return len(yi)


def subset_positions(subset: Any, data: pd.DataFrame | None, yi: Any) -> np.ndarray | None:
    """The 0-based row positions that *subset* selects (None: no subset).

    Raises
    ------
    InputError
        An unknown column, a mask of the wrong length or with missing values, a Series whose index is not
        the data's, positions out of range or repeated, or a subset that selects no study.
    ArgumentTypeError
        A subset that is neither booleans nor integer positions.
    """
    if subset is None:
        return None
    n = _n_rows(data, yi)
    if isinstance(subset, str):
        if data is None or subset not in data.columns:
            raise InputError(f"subset={subset!r} is not a column of data", column=subset)
        subset = data[subset]
    if isinstance(subset, pd.Series) and data is not None:
        if not subset.index.equals(data.index):
            if len(subset.index) != len(data.index) or not subset.index.sort_values().equals(
                    data.index.sort_values()):
                raise InputError("subset=: the Series' index is not the index of data (a mask pairs with "
                                 "the rows of data by its index)", column="subset")
            subset = subset.reindex(data.index)
    values = np.asarray(subset)
    if values.dtype == object and len(values) and all(isinstance(v, (bool, np.bool_)) for v in values):
        values = values.astype(bool)
    if values.dtype == bool:
        if values.ndim != 1 or values.size != n:
            raise InputError(f"subset= is a mask of {values.size} values but there are {n} studies",
                             column="subset")
        idx = np.flatnonzero(values)
    elif values.dtype.kind in "iu":
        idx = values.astype(np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise InputError(f"subset= positions must be in 0..{n - 1} (0-based row positions; metafor's "
                             "1-based indices minus 1)", column="subset")
        if np.unique(idx).size != idx.size:
            raise InputError("subset= repeats a position: each study can be selected once", column="subset")
    else:
        raise ArgumentTypeError("subset= must be booleans (a mask or a boolean column of data) or integer "
                                f"row positions, got values of type {values.dtype}")
    if idx.size == 0:
        raise InputError("subset= selects no study", column="subset")
    return idx


def take_rows(value: Any, idx: np.ndarray | None, n: int, *, square: bool = False) -> Any:
    """*value* cut to the rows *idx* when it holds one entry per study (length *n*); a column name, a formula,
    a scalar or None as it is. *square*: a k x k matrix (``V``) is cut in rows and columns.

    Raises
    ------
    InputError
        A per-study argument that cannot be cut (``V`` as blocks, a BlockDiag): pass ``data=dat[mask]``.
    """
    if idx is None or value is None or isinstance(value, str) or np.ndim(value) == 0 and not hasattr(value, "shape"):
        return value
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.iloc[idx] if len(value) == n else value
    if hasattr(value, "tocsr"):  # a scipy.sparse V
        return value.tocsr()[idx][:, idx] if square and value.shape == (n, n) else value
    if isinstance(value, (list, tuple)) and len(value) != n or not hasattr(value, "__len__"):
        raise InputError("subset= cannot cut this argument (V given as blocks or a BlockDiag): select the "
                         "studies first, data=dat[mask], and build V on them", column="subset")
    arr = np.asarray(value, dtype=object if isinstance(value, (list, tuple)) else None)
    if square and arr.ndim == 2 and arr.shape == (n, n):
        return arr[np.ix_(idx, idx)]
    if arr.shape[:1] == (n,):
        out = arr[idx]
        return out.tolist() if isinstance(value, (list, tuple)) else out
    return value


def apply_subset(subset: Any, data: pd.DataFrame | None, yi: Any, **per_study: Any) -> tuple[Any, ...]:
    """``(data, yi, *per_study values)`` cut to the studies *subset* selects (unchanged without a subset);
    ``V=`` in *per_study* is cut in rows and columns."""
    if subset is None:
        return (data, yi, *per_study.values())
    idx = subset_positions(subset, data, yi)
    n = _n_rows(data, yi)
    cut = [take_rows(v, idx, n, square=name == "V") for name, v in per_study.items()]
    return (None if data is None else data.iloc[idx], take_rows(yi, idx, n), *cut)
