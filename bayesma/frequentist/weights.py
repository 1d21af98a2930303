"""metafor's ``weights=`` of ``rma``: user weights, read and checked as the other per-study columns.

The weights are a column of *data* or one value per study (a pandas Series pairs with the rows of
*data* by its index; a single number is every study's, as metafor recycles it). They go through the
same missing-value rule as the effects (``missing="drop"`` drops a study without a weight), and a
negative or infinite weight is an error naming the study, as metafor refuses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import align, as_numeric
from bayesma.data import MetaData
from bayesma.errors import InputError, UnsupportedModelError, study_error

__all__ = ["weights_column", "check_weights", "refuse_user_weights"]


def weights_column(weights: Any, data: pd.DataFrame | None, yi: Any) -> tuple[pd.DataFrame | None, str | None]:
    """*data* holding the weights as a column, and that column's name (None without weights).

    A column name is used as it is; values are added to a copy of *data* (or to a table of their
    own when the effects are given as arrays) under a name not yet taken.

    Raises
    ------
    InputError
        A name that is not a column of *data*, or values not one per study.
    """
    if weights is None or isinstance(yi, MetaData):
        return data, None
    if isinstance(weights, str):
        if data is None or weights not in data.columns:
            raise InputError(f"weights={weights!r} is not a column of data", column=weights)
        return data, weights
    if data is not None:
        index = data.index
    elif isinstance(yi, pd.Series):
        index = yi.index
    else:
        index = pd.RangeIndex(len(np.atleast_1d(np.asarray(yi, dtype=object))))
    values = align(weights, index, "weights")
    values = np.repeat(values, len(index)) if np.ndim(values) == 0 else np.asarray(values, dtype=object)
    if values.ndim != 1 or len(values) != len(index):
        raise InputError(f"weights= has {np.size(values)} values but there are {len(index)} studies "
                         "(give one weight per study, or one for all)", column="weights")
    frame = data.copy() if data is not None else pd.DataFrame(index=index)
    name = "weights"
    while name in frame.columns:
        name = "_" + name
    frame[name] = values
    return frame, name


def check_weights(md: MetaData, name: str | None, explicit: Any = None) -> np.ndarray | None:
    """The user weights of the studies of *md* (k,) as floats, from its column *name* (or *explicit*
    values when the effects came as a :class:`~bayesma.data.MetaData`); None without weights.

    Raises
    ------
    InputError
        A non-finite or negative weight (naming the study), or weights that are all zero.
    TypeError
        A weight that is not a number.
    """
    if name is None and explicit is None:
        return None
    raw = md.data[name] if name is not None else explicit
    if np.ndim(raw) == 0:
        raw = np.repeat(raw, md.k)
    column = "weights" if name is None or name.lstrip("_") == "weights" else name
    w = as_numeric(np.asarray(raw, dtype=object), column, md.labels)
    if w.shape != (md.k,):
        raise InputError(f"weights= has {w.size} values but there are {md.k} studies", column=column)
    for i in range(md.k):
        if not np.isfinite(w[i]):
            raise study_error(f"has a non-finite weight {w[i]} (metafor: weights must be finite)", md.labels, i, column)
        if w[i] < 0:
            raise study_error(f"has a negative weight {w[i]:g} (metafor: \"Negative weights not allowed.\")",
                              md.labels, i, column)
    if not w.any():
        raise InputError("all weights are zero: at least one study needs a positive weight", column=column)
    return w


def refuse_user_weights(res: Any, what: str) -> None:
    """Raise when *res* was fitted with user weights and *what* (a diagnostic written for
    inverse-variance weights) would silently ignore them.

    Raises
    ------
    UnsupportedModelError
        For a fit of ``rma(..., weights=)``.
    """
    if getattr(res, "user_weights", None) is not None:
        raise UnsupportedModelError(
            f"{what} is not implemented for a fit with user weights (weights=): it assumes inverse-variance "
            "weights; refit without weights= (the GENQ / GENQM estimators need them: use another method)")
