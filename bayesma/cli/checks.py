"""Checking every row of the user's file at once, so one run reports all its problems.

The library (:class:`bayesma.MetaData`) stops at the first problem; on the
command line a user fixing a spreadsheet wants the whole list, in one line::

    2 problems: study 'S5' (row 5) column 'v': negative variance -0.02; study 'S9' (row 9) column 'z': missing

Rows are the file's data rows, numbered from 1 (the header is not a row; see
:mod:`bayesma.cli.rows`). What
this module does not catch is left to the library, which names the study too.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import value_problems
from bayesma.cli.errors import InputError
from bayesma.cli.inputs import formula_columns
from bayesma.cli.rows import file_row

__all__ = ["check_rows", "label_column", "duplicate_label_advice"]

#: columns MetaData takes as labels when --labels is not given (in this order)
DEFAULT_LABEL_COLUMNS = ("study", "label", "author", "trial")


def label_column(df: pd.DataFrame, labels: str | None) -> str | None:
    """The column naming the studies in messages: --labels, else the first of study/label/author/trial."""
    if labels is not None:
        return labels
    return next((c for c in DEFAULT_LABEL_COLUMNS if c in df.columns), None)


def _who(df: pd.DataFrame, label_col: str | None, i: int) -> str:
    if label_col is not None:
        value = df[label_col].iloc[i]
        if not (value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA):
            return f"study {str(value)!r} (row {file_row(df, i)})"
    return f"row {file_row(df, i)}"


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return repr(value)


def _numeric_problems(series: pd.Series, kind: str | None) -> list[tuple[int, str]]:
    """(row, problem) for the cells of a column that must hold numbers; *kind*: variance, standard error or None."""
    out: list[tuple[int, str]] = []
    if pd.api.types.is_bool_dtype(series):
        return [(i, f"a true/false value {v!r}, not a number") for i, v in enumerate(series) if not pd.isna(v)]
    numbers = pd.to_numeric(series, errors="coerce")
    codes = value_problems(numbers, kind)  # the rule shared with MetaData.create
    for i, (raw, x) in enumerate(zip(series, numbers)):
        if raw is None or raw is pd.NA or (isinstance(raw, float) and np.isnan(raw)) or (
                isinstance(raw, str) and not raw.strip()):
            out.append((i, "missing"))
        elif isinstance(raw, (bool, np.bool_)):
            out.append((i, f"a true/false value {raw!r}, not a number"))
        elif pd.isna(x):
            out.append((i, f"non-numeric value {raw!r}"))
        elif codes[i] == "non-finite":
            out.append((i, f"non-finite value {_fmt(x)}"))
        elif codes[i] == "negative":
            out.append((i, f"negative {kind} {_fmt(x)}"))
        elif codes[i] == "zero":
            out.append((i, f"{kind} of 0 (a sampling {kind} must be positive)"))
        elif codes[i] == "tiny":
            out.append((i, f"{kind} of {_fmt(x)}, too small to compute with"))
    return out


def _mostly_numeric_problems(series: pd.Series) -> list[tuple[int, str]]:
    """The text cells of a moderator column that is mostly numbers ("<20" among ages): a numeric
    moderator with a few stray cells would silently become a factor with one level per value."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return []
    present = [(i, v) for i, v in enumerate(series) if not pd.isna(v)]
    numbers = pd.to_numeric(pd.Series([v for _, v in present], dtype=object), errors="coerce")
    n_num = int(numbers.notna().sum())
    if not present or n_num < len(present) / 2 or n_num == len(present):
        return []
    return [(i, f"non-numeric value {v!r} in a column of numbers (a moderator)")
            for (i, v), x in zip(present, numbers) if pd.isna(x)]


def check_rows(df: pd.DataFrame, spec: dict[str, Any], *, by_option: bool | str = False) -> None:
    """Raise one :class:`~bayesma.cli.errors.InputError` listing every bad cell the model would refuse.

    Parameters
    ----------
    df : pandas.DataFrame
        The file as read.
    spec : dict
        The column options (``yi``, ``vi``/``sei``, ``labels``, ``cluster``,
        ``tau_by``, ``mods``) and ``missing`` (``"raise"`` or ``"drop"``).
    by_option : bool or str
        Whether the command has ``--by`` (named in the advice for duplicate labels), or the
        name of its option that splits the file (``"--per"``).

    Raises
    ------
    InputError
        ``"N problems: study 'S5' (row 5) column 'v': negative variance -0.02; ..."``.
    """
    drop = spec.get("missing") == "drop"
    label_col = label_column(df, spec.get("labels"))
    problems: list[tuple[int, str, str]] = []  # (row, column, problem)

    checks: list[tuple[str, str | None]] = [(spec["yi"], None)]
    if spec.get("vi") is not None:
        checks.append((spec["vi"], "variance"))
    if spec.get("sei") is not None:
        checks.append((spec["sei"], "standard error"))
    for col, kind in checks:
        for i, what in _numeric_problems(df[col], kind):
            if not (drop and what == "missing"):
                problems.append((i, col, what))
    required = [spec.get("cluster"), spec.get("tau_by"), spec.get("outcome"), *formula_columns(spec.get("mods"))]
    if not drop:
        for col in dict.fromkeys(c for c in required if c is not None and c in df.columns):
            for i in np.flatnonzero(df[col].isna().to_numpy()):
                problems.append((int(i), col, "missing"))
    for col in dict.fromkeys(c for c in formula_columns(spec.get("mods")) if c in df.columns):
        problems += [(i, col, what) for i, what in _mostly_numeric_problems(df[col])]
    if spec.get("labels") is not None:
        col = spec["labels"]
        for i in np.flatnonzero(df[col].isna().to_numpy()):
            problems.append((int(i), col, "missing label"))
    if problems:
        problems.sort(key=lambda p: p[0])
        n = len(problems)
        text = "; ".join(f"{_who(df, label_col, i)} column {col!r}: {what}" for i, col, what in problems)
        hint = ""
        if any(what == "missing" for _, _, what in problems):
            hint = " (--missing drop leaves studies with a missing value out)"

        raise InputError(f"{n} problem{'s' if n > 1 else ''}: {text}{hint}")
    if spec.get("labels") is not None:
        _check_unique_labels(df, spec["labels"], spec, by_option)
        return
    used = {spec.get("cluster"), spec.get("tau_by"), spec.get("outcome"), *formula_columns(spec.get("mods"))}
    outcome = outcome_column(df, exclude=used)
    dup = _first_duplicate(df[label_col]) if label_col is not None and spec.get("cluster") is None else None
    if dup is not None:
        value, rows = dup
        n_rep = int(df[label_col].astype(str).duplicated(keep=False).sum())
        sep, moderator = _split_advice_column(df, label_col, spec)
        advice = duplicate_label_advice(label_col, by_option, sep, spec.get("cluster_option", True), moderator)
        if sep is not None and sep == outcome:  # one row per study and outcome: pooling counts studies twice
            values = ", ".join(str(v) for v in sorted(df[sep].astype(str).unique()))
            raise InputError(
                f"column {label_col!r} repeats {value!r} (rows {file_row(df, rows[0])} and {file_row(df, rows[1])}; {n_rep} rows share "
                f"a study) across the values of {sep!r} ({values}): pooling the whole file would mix these "
                f"outcomes and count those studies more than once; {advice}; or pool all outcomes in one model "
                f"that keeps their dependence: 'bayesma mv FILE --cluster {label_col} --outcome {sep}'")
        warnings.warn(
            f"column {label_col!r} repeats {value!r} (rows {file_row(df, rows[0])} and {file_row(df, rows[1])}; {n_rep} of the {len(df)} "
            f"rows share a study), so the rows are numbered instead and ALL {len(df)} rows are pooled as "
            f"independent studies; {advice}",
            UserWarning, stacklevel=2,
        )
    elif outcome is not None and spec.get("cluster") is None:
        counts = df[outcome].astype(str).value_counts(sort=False)
        values = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
        warnings.warn(
            f"column {outcome!r} splits the file into {len(counts)} outcomes ({values}), yet ALL {len(df)} rows are "
            f"pooled as ONE meta-analysis of independent studies; if a study reports several of them it is counted "
            f"more than once. Analyse one {outcome} at a time (--subset \"{outcome} == '...'\""
            + (f" or {by_option if isinstance(by_option, str) else '--by'} {outcome}" if by_option else "")
            + "), or give study labels (--labels COL) and "
            + ("keep a study's rows together with --cluster COL (a three-level model)"
               if spec.get("cluster_option", True) else "keep a study's rows together in a three-level model "
               "('bayesma fit --cluster COL')"),
            UserWarning, stacklevel=2,
        )


#: column names that usually hold the outcome (or effect measure) of a row
OUTCOME_COLUMNS = ("outcome", "outcomes", "outcome_type", "endpoint", "measure", "construct", "domain")


def outcome_column(df: pd.DataFrame, exclude: set[Any] = frozenset()) -> str | None:
    """A text column named like an outcome (``outcome``, ``measure``, ...) with several values, or None."""
    for c in df.columns:
        if c in exclude or str(c).strip().lower() not in OUTCOME_COLUMNS or pd.api.types.is_numeric_dtype(df[c]):
            continue
        if df[c].dropna().nunique() > 1:
            return str(c)
    return None


def _first_duplicate(values: pd.Series) -> tuple[str, tuple[int, int]] | None:
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        key = str(v)
        if key in seen:
            return key, (seen[key], i)
        seen[key] = i
    return None


def separating_column(df: pd.DataFrame, label_col: str, exclude: Collection[Any] = ()) -> str | None:
    """A text column (not in *exclude*) within whose values the labels are unique (e.g. ``outcome``), or None."""
    for c in df.columns:
        if c == label_col or c in exclude or pd.api.types.is_numeric_dtype(df[c]) or df[c].isna().any():
            continue
        n = df[c].nunique()
        if 1 < n <= min(20, len(df) // 2) and not df.duplicated([c, label_col]).any():
            return str(c)
    return None


def moderator_columns(spec: dict[str, Any]) -> list[str]:
    """The columns the model uses as moderators: ``--mods`` terms, ``--tau-by`` and ``spec["moderators"]``
    (the subgroup variable of ``subgroup --by``)."""
    cols = [*formula_columns(spec.get("mods")), spec.get("tau_by"), *spec.get("moderators", ())]
    return [c for c in dict.fromkeys(cols) if c is not None]


def _split_advice_column(df: pd.DataFrame, label_col: str, spec: dict[str, Any]) -> tuple[str | None, str | None]:
    """(column to split the analysis by, moderator that separates the rows): never a moderator of the call
    as the column to split by (one analysis per value of a moderator leaves nothing to moderate)."""
    mods = moderator_columns(spec)
    sep = separating_column(df, label_col, exclude=mods)
    if sep is not None or not mods:
        return sep, None
    return None, separating_column(df, label_col, exclude=[c for c in df.columns if c not in mods])


def duplicate_label_advice(label_col: str, by_option: bool | str, by_col: str | None = None,
                           cluster_option: bool = True, moderator: str | None = None) -> str:
    """What to do when one study has several rows, in command-line words (``--cluster`` if the command has it;
    *by_option* the option that splits the file, ``"--by"`` when True, ``"--per"`` for ``subgroup``; *moderator*
    a moderator of the call whose values separate a study's rows: never advised as the column to split by)."""
    if moderator is not None and by_col is None:
        why = (f"if a study has several rows (here one per value of the moderator {moderator!r}; splitting the "
               f"file by {moderator!r} would leave nothing to moderate), keep them together")
        if not cluster_option:
            return f"{why} in a three-level model ('bayesma fit --cluster {label_col}')"
        return f"{why} with --cluster {label_col} (a three-level model) and unique row labels from --labels COL"
    col = by_col or "COL"
    opt = by_option if isinstance(by_option, str) else "--by"
    if by_col is not None:
        one = (f"analyse one {by_col} at a time ({opt} {by_col}: one analysis per value; "
               f"or --subset \"{by_col} == '...'\")")
        if not by_option:
            one = f"analyse one {by_col} at a time (--subset \"{by_col} == '...'\")"
    elif by_option:
        one = f"analyse one outcome at a time ({opt} {col} for one analysis per value of a column)"
    else:
        one = "analyse one outcome at a time (--subset \"outcome == '...'\", or one file per outcome)"
    if not cluster_option:
        return (f"if a study has several rows (several outcomes or effects), {one}; a three-level model that keeps "
                f"them together is 'bayesma fit --cluster {label_col}'")
    return (f"if a study has several rows (several outcomes or effects), {one}, or keep them together with "
            f"--cluster {label_col} (a three-level model) and unique row labels from --labels COL")


def _check_unique_labels(df: pd.DataFrame, col: str, spec: dict[str, Any], by_option: bool | str) -> None:
    dup = _first_duplicate(df[col])
    if dup is None:
        return
    value, rows = dup
    n_dup = int(df[col].astype(str).duplicated().sum())
    more = f" ({n_dup} repeated labels in all)" if n_dup > 1 else ""
    sep, moderator = _split_advice_column(df, col, spec)
    advice = duplicate_label_advice(col, by_option, sep, spec.get("cluster_option", True), moderator)
    if spec.get("cluster") is not None:
        advice = "give each row (effect) its own label with --labels COL; --cluster names the study"
    raise InputError(
        f"column {col!r} (--labels): {value!r} appears in rows {file_row(df, rows[0])} and {file_row(df, rows[1])}{more}, "
        f"but labels must be unique; {advice}"
    )


def has_option(args: argparse.Namespace, name: str) -> bool:
    """Whether the command was built with option *name* (e.g. ``by``)."""
    return hasattr(args, name)
