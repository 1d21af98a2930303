"""Small input checks shared by the modules: numeric columns, study names in messages."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import ArgumentTypeError, InputError


def study_name(labels: Sequence[Any] | None, i: int) -> str:
    """How a message refers to study *i*: its label when there is one, else its row number (1-based)."""
    if labels is not None:
        return f"study {labels[i]!r} (row {i + 1})"
    return f"study in row {i + 1}"


def unique_labels(labels: Sequence[str]) -> list[str]:
    """metafor's rule for repeated study labels (``.make.unique``, used by ``rma.glmm``, ``rma.mh``,
    ``rma.peto`` and ``escalc``; bayesma's :func:`bayesma.rma` refuses repeated labels instead):
    every label that occurs more than once gets ``.1``, ``.2``, ... in order of appearance; the labels are taken one distinct
    value at a time (in order of first appearance), so a label made this way that meets an
    existing one is numbered again (``["a", "a", "a.1"]`` -> ``["a.1.1", "a.2", "a.1.2"]``).

    Examples
    --------
    >>> unique_labels(["Smith", "Jones", "Smith"])
    ['Smith.1', 'Jones', 'Smith.2']
    """
    out = list(labels)
    for value in dict.fromkeys(labels):
        idx = [i for i, v in enumerate(out) if v == value]
        if len(idx) > 1:
            for n, i in enumerate(idx, start=1):
                out[i] = f"{value}.{n}"
    return out


def as_numeric(values: Any, column: str, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Convert *values* to a float array, naming every offending study on failure.

    Numbers, and text cells that read as numbers (``"7.5 "``), are accepted; missing values
    (None, NaN, pd.NA) become NaN and callers decide what to do with them.

    Raises
    ------
    TypeError
        For booleans (True / False are not effects, variances or counts) and for cells that
        are not numbers (``"<20"``, ``"NA "``): the message names each such study (label and
        row) and the column.
    """
    if isinstance(values, (pd.Series, pd.Index)):
        raw = values.to_numpy()
    else:
        raw = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    raw = np.atleast_1d(raw)
    if raw.ndim != 1:
        raise InputError(f"column {column!r} must be one-dimensional, got shape {raw.shape}")
    if raw.dtype.kind == "b":
        raise ArgumentTypeError(f"column {column!r} holds booleans (True/False), not numbers")
    if raw.dtype.kind in "fiu":
        return raw.astype(float)
    out = np.empty(raw.shape[0], dtype=float)
    bad: list[int] = []
    booleans: list[int] = []
    for i, value in enumerate(raw):
        if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
            out[i] = np.nan
        elif isinstance(value, (bool, np.bool_)):
            booleans.append(i)
        elif isinstance(value, (int, float, np.number)):
            out[i] = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                bad.append(i)
                continue
            if not np.isfinite(number) and value.strip().lower() in ("nan", "inf", "-inf", "infinity"):
                bad.append(i)  # text "nan" / "inf" is a marker, not a number
                continue
            out[i] = number
        else:
            bad.append(i)
    if booleans:
        raise ArgumentTypeError(f"column {column!r} holds booleans (True/False), not numbers: "
                        + "; ".join(study_name(labels, i) for i in booleans[:10]))
    if bad:
        cells = "; ".join(f"{study_name(labels, i)} has a non-numeric value {raw[i]!r}" for i in bad[:10])
        more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
        raise ArgumentTypeError(f"column {column!r}: {cells}{more}")
    return out


def value_problems(values: Any, kind: str | None = None) -> np.ndarray:
    """The one rule for values that are present: what is wrong with each, as a code.

    ``"non-finite"`` (inf, or NaN where the caller has not already handled missing values);
    for a sampling variance or standard error (*kind* given) also ``"negative"`` and
    ``"zero"`` (it must be positive) and ``"tiny"`` (below 1e-150 for a variance, 1e-75 for a
    standard error: the weights would overflow); ``""`` where the value is fine. Used by
    :meth:`bayesma.MetaData.create` and by the command line's whole-file check, which word
    the problems for their readers.

    Examples
    --------
    >>> value_problems([0.1, -0.2, 0.0, float("inf")], "variance").tolist()
    ['', 'negative', 'zero', 'non-finite']
    """
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, "", dtype=object)
    finite = np.isfinite(x)
    out[~finite] = "non-finite"
    if kind is not None:
        out[finite & (x < 0)] = "negative"
        out[finite & (x == 0)] = "zero"
        # weights 1/vi and their squares overflow below this (a variance of 1e-320 is no measurement)
        tiny = TINY_VARIANCE if kind == "variance" else TINY_VARIANCE**0.5
        out[finite & (x > 0) & (x < tiny)] = "tiny"
    return out


TINY_VARIANCE = 1e-150  # smallest sampling variance bayesma computes with (1/vi² stays finite)


def align(values: Any, index: pd.Index | None, name: str) -> Any:
    """A pandas Series / DataFrame argument put in the order of *index* (the data's rows).

    Values without an index (lists, arrays) are returned unchanged: they pair with the rows
    by position. A Series whose index holds the same labels as *index* is reordered to it;
    one whose labels differ is refused, never paired by position.

    Raises
    ------
    ValueError
        When the index of *values* does not hold the same labels as *index*.
    """
    if index is None or not isinstance(values, (pd.Series, pd.DataFrame)):
        return values
    if values.index.equals(index):
        return values
    if len(values) == len(index) and index.is_unique and values.index.is_unique \
            and set(values.index) == set(index):
        return values.reindex(index)
    raise InputError(
        f"{name} is a pandas {type(values).__name__} whose index does not match the rows of data "
        f"(or of yi): values are paired by index, so the labels must be the same; "
        f"use .to_numpy() to pair by position, or reset the index of both")


def columns(data: pd.DataFrame | None, specs: dict[str, Any]) -> dict[str, Any]:
    """Resolve several column arguments at once, the one rule of every public entry point: names are
    columns of *data*; pandas Series pair by index with the rows of *data* or, without *data*, with
    the first Series given (never by position); lists and arrays pair by position. ``None`` stays.

    Raises
    ------
    ValueError
        A name that is not a column, or a Series whose index does not hold the same labels.
    """
    ref = data.index if data is not None else next(
        (v.index for v in specs.values() if isinstance(v, pd.Series)), None)
    return {name: None if spec is None else align(column(data, spec, name), ref, name) for name, spec in specs.items()}


def align_to_studies(values: Any, index: pd.Index, name: str) -> Any:
    """*values* (a Series) in the order of a fit's studies *index*: its index must hold every
    study's label (it may hold more: rows a ``missing="drop"`` fit left out); else :func:`align`."""
    if isinstance(values, pd.Series) and values.index.is_unique and index.isin(values.index).all():
        return values.reindex(index)
    return align(values, index, name)


def study_index(meta: Any) -> pd.Index:
    """The index labels of a fit's studies (its data's rows, or its yi Series'), for aligning a Series
    given later (``cumul(res, order=series)``); 0..k-1 when the fit was given plain arrays."""
    index = getattr(meta, "row_index", None)
    return pd.RangeIndex(meta.k) if index is None else index


def column(data: pd.DataFrame | None, spec: Any, name: str) -> Any:
    """Resolve *spec*: a column name of *data*, or the values themselves (a pandas Series
    is aligned with the rows of *data* by its index, see :func:`align`)."""
    if isinstance(spec, str):
        if data is None:
            raise ArgumentTypeError(f"{name}={spec!r} is a column name, but no data= was given")
        if spec not in data.columns:
            raise InputError(
                f"column {spec!r} (for {name}) is not in the data; columns are {list(data.columns)}"
            )
        return data[spec]
    return align(spec, None if data is None else data.index, name)


def check_level(level: Any, name: str = "level") -> float:
    """A confidence (or credible) level as a fraction: 0.95 and 95 (percent) both mean 95%.

    Raises ValueError for anything else: a level must be a fraction in (0, 1) or a percentage
    in [50, 100); values from 1 to 50 (``level=1.5``) are ambiguous and refused.
    """
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name} must be a number such as 0.95 or 95, got {level!r}")
    value = float(level)
    if 0 < value < 1:
        return value
    if 50 <= value < 100:
        return value / 100.0
    raise InputError(f"{name}={level!r} is not a confidence level: give a fraction in (0, 1) such as 0.95, "
                     "or a percentage in [50, 100) such as 95")


def stripped_ids(values: Any, name: str, stacklevel: int = 4) -> np.ndarray:
    """Cluster / group ids with surrounding spaces removed, as moderator levels: ``"11"`` and
    ``"11 "`` are one cluster, with a :class:`~bayesma.errors.DataWarning` naming the merged ids.

    Parameters
    ----------
    values : array_like or pandas.Series
        One id per row (text, numbers, ...); only text ids are stripped.
    name : str
        The column or argument, for the warning.
    stacklevel : int
        Passed to :func:`warnings.warn`.

    Returns
    -------
    numpy.ndarray of object
    """
    import warnings

    from bayesma.errors import DataWarning

    raw = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values, dtype=object).ravel()
    padded = sorted({v for v in raw if isinstance(v, str) and v != v.strip()})
    if not padded:
        return raw
    out = np.array([v.strip() if isinstance(v, str) else v for v in raw], dtype=object)
    merged = [v for v in padded if v.strip() in set(x for x in raw if isinstance(x, str) and x == x.strip())
              or sum(1 for x in padded if x.strip() == v.strip()) > 1]
    if merged:
        warnings.warn(f"{name}: ids that differ only by surrounding spaces were merged, as moderator levels are "
                      f"({', '.join(repr(v) for v in merged)} -> {', '.join(repr(v.strip()) for v in merged)})",
                      DataWarning, stacklevel=stacklevel)
    return out


def finite_number(value: Any) -> bool:
    """Whether *value* is one finite real number (not a bool, a string, NaN or inf)."""
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
            and bool(np.isfinite(value)))


def check_tau2(tau2: Any, name: str = "tau2") -> float | None:
    """A fixed tau² (None: estimate it): a finite number >= 0, else ValueError / TypeError naming *name*."""
    if tau2 is None:
        return None
    if isinstance(tau2, (bool, np.bool_)) or not isinstance(tau2, (int, float, np.integer, np.floating)):
        raise ArgumentTypeError(f"{name} must be a number (a fixed tau² >= 0) or None, got {tau2!r}")
    value = float(tau2)
    if not np.isfinite(value) or value < 0:
        raise InputError(f"{name} must be a finite number >= 0 (a fixed tau²), got {tau2!r}")
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
        raise ArgumentTypeError(f"{name} must be {what}, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise InputError(f"{name} must be an integer >= 0, got {seed!r}")
    return int(seed)


def keyword_only_hint(func: Callable, sig: inspect.Signature, n_positional: int) -> str | None:
    """The message for a call with too many positional arguments to a function whose later arguments are
    keyword-only (sample sizes and variances, see docs/conventions.rst), or None for any other wrong call.

    Examples
    --------
    >>> def convert(r, *, n=None, var_r=None):
    ...     return r
    >>> print(keyword_only_hint(convert, inspect.signature(convert), 2))
    convert() takes 1 positional argument (r), got 2; give the others by name: n=, var_r=
    """
    params = list(sig.parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    if n_positional <= len(positional) or not keyword or any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    plural = "" if len(positional) == 1 else "s"
    return (f"{func.__name__}() takes {len(positional)} positional argument{plural} ({', '.join(positional)}), "
            f"got {n_positional}; give the others by name: {', '.join(k + '=' for k in keyword)}")


def series_by_index(func: Callable) -> Callable:
    """Pair the pandas Series arguments of an elementwise function by index, never by position:
    each Series is put in the order of the first Series given (:func:`columns`), and a Series whose
    index holds other labels is an error. Other arguments pass unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> @series_by_index
    ... def ratio(a, b):
    ...     return (a.to_numpy() / b.to_numpy()).tolist()
    >>> ratio(pd.Series([1.0, 4.0], index=["x", "y"]), pd.Series([2.0, 1.0], index=["y", "x"]))
    [1.0, 2.0]
    """
    sig = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            hint = keyword_only_hint(func, sig, len(args))
            if hint:
                raise ArgumentTypeError(hint) from None
            return func(*args, **kwargs)  # the function's own message for a wrong call
        series = {k: v for k, v in bound.arguments.items() if isinstance(v, pd.Series)}
        if len(series) < 2:
            return func(*args, **kwargs)
        bound.arguments.update(columns(None, series))
        return func(*bound.args, **bound.kwargs)

    return wrapper


def label_alias(func: Callable) -> Callable:
    """Accept metafor's ``slab=`` for ``labels=`` (and ``labels=`` where a function keeps metafor's ``slab``).

    The study labels have one name in bayesma, ``labels``; metafor's users write ``slab``.
    The decorated function takes either (never both) and keeps its signature and docs.

    Examples
    --------
    >>> @label_alias
    ... def f(yi, labels=None):
    ...     return labels
    >>> f([0.1], slab=["A"])
    ['A']
    """
    params = inspect.signature(func).parameters
    real, alias = ("labels", "slab") if "labels" in params else ("slab", "labels")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if alias in kwargs:
            value = kwargs.pop(alias)
            if kwargs.get(real) is not None:
                raise ArgumentTypeError(f"give the study labels as {real}= or as {alias}= (its alias), not both")
            kwargs[real] = value
        return func(*args, **kwargs)

    return wrapper
