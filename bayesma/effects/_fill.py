"""Writing computed columns into a table that may already hold them (metafor's ``replace=``).

metafor's ``escalc(..., replace=FALSE)`` and ``conv.*(..., replace="ifna")`` keep the values a
table already has and fill only the missing ones; ``replace=TRUE`` / ``"all"`` overwrites every
value for which the new inputs give one. :func:`fill_columns` does both for any pair of columns
and says what it kept and what it replaced: the note is stored in ``out.attrs["fill_note"]`` and,
when existing values were kept over different new ones or overwritten, issued as a
:class:`~bayesma.errors.DataWarning` naming the studies.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import study_name
from bayesma.errors import ArgumentTypeError, DataWarning, InputError

__all__ = ["check_replace", "fill_columns"]


def check_replace(replace: Any) -> str:
    """metafor's *replace*: ``"ifna"`` (or False) keeps existing values, ``"all"`` (or True) overwrites."""
    if isinstance(replace, (bool, np.bool_)):
        return "all" if replace else "ifna"
    if not isinstance(replace, str):
        raise ArgumentTypeError(f"replace must be 'ifna', 'all', True or False, got {replace!r}")
    if replace not in ("ifna", "all"):
        raise InputError(f"replace={replace!r} is not known; choose 'ifna' (keep existing values) or 'all'")
    return replace


def _names(labels: Sequence[Any] | None, rows: np.ndarray) -> str:
    shown = ", ".join(study_name(labels, int(i)) for i in rows[:8])
    return shown + (f" and {rows.size - 8} more" if rows.size > 8 else "")


def fill_columns(data: pd.DataFrame | None, new: dict[str, np.ndarray], replace: str,
                 labels: Sequence[Any] | None, source: str, stacklevel: int = 3, warn: bool = True) -> pd.DataFrame:
    """*data* (copied) with the columns of *new* written in according to *replace*.

    Parameters
    ----------
    data : DataFrame or None
        The table; None gives a new table of the *new* columns.
    new : dict of str to ndarray
        Column name -> the computed values (NaN where the inputs give none), one per row.
    replace : {"ifna", "all"}
        Keep the existing non-missing values, or overwrite them where a new value exists.
    labels : sequence or None
        Study labels for the note.
    source : str
        What computed the values (for the note), e.g. ``"conv_wald"``.
    stacklevel : int
        Passed to :func:`warnings.warn`.
    warn : bool
        Issue the warning (False: the caller combines notes and warns once).

    Returns
    -------
    DataFrame
        With ``attrs["fill_note"]`` saying how many studies were filled, kept and replaced.
    """
    if data is None:
        out = pd.DataFrame({name: np.asarray(values, dtype=float) for name, values in new.items()})
        out.attrs["fill_note"] = f"{source}: computed {', '.join(new)} for {len(out)} studies"
        out.attrs["fill_conflict"] = False
        return out
    out = data.copy()
    k = len(out)
    have = np.zeros(k, dtype=bool)
    filled = np.zeros(k, dtype=bool)
    kept = np.zeros(k, dtype=bool)
    replaced = np.zeros(k, dtype=bool)
    for name, values in new.items():
        values = np.asarray(values, dtype=float)
        old = (pd.to_numeric(out[name], errors="coerce").to_numpy(dtype=float) if name in out.columns
               else np.full(k, np.nan))
        has_new = ~np.isnan(values)
        has_old = ~np.isnan(old)
        have |= has_old
        differs = has_new & has_old & ~np.isclose(values, old, rtol=1e-10, atol=0)
        if replace == "all":
            result = np.where(has_new, values, old)
            replaced |= differs
        else:
            result = np.where(has_old, old, values)
            kept |= differs
        filled |= has_new & ~has_old
        out[name] = result
    cols = "/".join(new)
    parts = [f"{source}: filled {cols} of {int(filled.sum())} stud{'y' if filled.sum() == 1 else 'ies'}"
             f"{' (' + _names(labels, np.flatnonzero(filled)) + ')' if filled.any() else ''}"]
    if kept.any():
        parts.append(f"kept the existing {cols} of {_names(labels, np.flatnonzero(kept))}, where the new "
                     "inputs give other values (replace='all' overwrites them)")
    if replaced.any():
        parts.append(f"replaced the existing {cols} of {_names(labels, np.flatnonzero(replaced))} "
                     "(replace='ifna' keeps them)")
    note = "; ".join(parts)
    out.attrs["fill_note"] = note
    out.attrs["fill_conflict"] = bool(kept.any() or replaced.any())
    if warn and out.attrs["fill_conflict"]:
        warnings.warn(note, DataWarning, stacklevel=stacklevel)
    return out
