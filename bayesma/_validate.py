"""Small input checks shared by the modules: numeric columns, study names in messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def check_level(level: Any, name: str = "level") -> float:
    """A confidence (or credible) level as a fraction: 0.95 and 95 (percent) both mean 95%.

    Raises ValueError for anything else: a level must be a fraction in (0, 1) or a percentage
    in [50, 100); values from 1 to 50 (``level=1.5``) are ambiguous and refused.
    """
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number such as 0.95 or 95, got {level!r}")
    value = float(level)
    if 0 < value < 1:
        return value
    if 50 <= value < 100:
        return value / 100.0
    raise ValueError(f"{name}={level!r} is not a confidence level: give a fraction in (0, 1) such as 0.95, "
                     "or a percentage in [50, 100) such as 95")


def check_tau2(tau2: Any, name: str = "tau2") -> float | None:
    """A fixed tau² (None: estimate it): a finite number >= 0, else ValueError / TypeError naming *name*."""
    if tau2 is None:
        return None
    if isinstance(tau2, (bool, np.bool_)) or not isinstance(tau2, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (a fixed tau² >= 0) or None, got {tau2!r}")
    value = float(tau2)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (a fixed tau²), got {tau2!r}")
    return value


def check_seed(seed: Any, name: str = "seed", allow_none: bool = True) -> int | None:
    """A random seed: an integer >= 0 (numpy integers too), or None when *allow_none*.

    Floats (``1.5``, even ``1.0``), strings and booleans are refused with a TypeError naming
    *name*; negative integers with a ValueError (numpy's generators need seeds >= 0).
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        what = "an integer >= 0 or None" if allow_none else "an integer >= 0"
        raise TypeError(f"{name} must be {what}, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)
