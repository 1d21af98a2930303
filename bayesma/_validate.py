"""Small input checks shared by the modules: numeric columns, study names in messages."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd


def study_name(labels: Sequence[Any] | None, i: int) -> str:
    """How a message refers to study *i*: its label when there is one, else its row number (1-based)."""
    if labels is not None:
        return f"study {labels[i]!r} (row {i + 1})"
    return f"study in row {i + 1}"


def as_numeric(values: Any, column: str, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Convert *values* to a float array, naming the first offending study on failure.

    Raises TypeError for values that are not numbers (strings, objects).
    Missing values become NaN; callers decide what to do with them.
    """
    if isinstance(values, (pd.Series, pd.Index)):
        raw = values.to_numpy()
    else:
        raw = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    raw = np.atleast_1d(raw)
    if raw.ndim != 1:
        raise ValueError(f"column {column!r} must be one-dimensional, got shape {raw.shape}")
    if raw.dtype.kind in "fiub":
        return raw.astype(float)
    out = np.empty(raw.shape[0], dtype=float)
    for i, value in enumerate(raw):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out[i] = np.nan
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(
                f"column {column!r}: {study_name(labels, i)} has a non-numeric value {value!r}"
            )
        out[i] = float(value)
    return out


def column(data: pd.DataFrame | None, spec: Any, name: str) -> Any:
    """Resolve *spec*: a column name of *data*, or the values themselves."""
    if isinstance(spec, str):
        if data is None:
            raise TypeError(f"{name}={spec!r} is a column name, but no data= was given")
        if spec not in data.columns:
            raise ValueError(
                f"column {spec!r} (for {name}) is not in the data; columns are {list(data.columns)}"
            )
        return data[spec]
    return spec
