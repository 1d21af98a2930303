"""Published meta-analysis data sets, exported from R's ``metadat`` package.

Each data set is a CSV file in this directory with the column names, column
order and row order of the R data frame, written at full precision (every
number reads back to the identical double that R holds). ``catalog.json``
records, per data set, its title, citation, suggested effect measure, a
description, the meaning of each column and its R type, and at the top level
which R and metadat versions exported the files.

Types are restored from the catalog: R integers without missing values become
``int64``, R integers with missing values and all R doubles ``float64`` (NaN
for ``NA``), character and factor columns strings, logicals ``bool`` (pandas'
nullable ``boolean`` when there are missing values).

Examples
--------
>>> from bayesma.datasets import load_dataset, list_datasets
>>> bcg = load_dataset("bcg")
>>> bcg.shape
(13, 9)
>>> bcg.attrs["measure"]
'RR'
>>> "dat.konstantopoulos2011" in set(list_datasets()["name"])
True
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

import pandas as pd

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["load_dataset", "list_datasets", "dataset_info"]

_PREFIX = "dat."


@functools.lru_cache(maxsize=1)
def _catalog() -> dict[str, Any]:
    text = resources.files(__name__).joinpath("catalog.json").read_text(encoding="utf-8")
    return json.loads(text)


def _entries() -> dict[str, dict[str, Any]]:
    return _catalog()["datasets"]


def _resolve(name: str) -> str:
    """Return the catalog key (``"dat.xxx"``) for ``name`` or raise InputError."""
    if not isinstance(name, str):
        raise ArgumentTypeError(f"data set name must be a string, got {type(name).__name__}")
    entries = _entries()
    key = name.strip().lower()
    if not key.startswith(_PREFIX):
        key = _PREFIX + key
    if key not in entries:
        available = ", ".join(sorted(entries))
        raise InputError(f"unknown data set {name!r}; available data sets: {available}")
    return key


@functools.cache
def _read(key: str) -> pd.DataFrame:
    entry = _entries()[key]
    dtypes: dict[str, str] = entry["dtypes"]
    missing: dict[str, int] = entry.get("missing", {})
    read_as: dict[str, Any] = {}
    for col, rtype in dtypes.items():
        if rtype == "integer":
            read_as[col] = "float64" if missing.get(col) else "int64"
        elif rtype == "double":
            read_as[col] = "float64"
        else:  # character, factor, logical: read the text as it is
            read_as[col] = str
    path = resources.files(__name__).joinpath(entry["file"])
    with path.open("r", encoding="utf-8", newline="") as fh:
        df = pd.read_csv(fh, dtype=read_as, keep_default_na=False, na_values=[""])
    if list(df.columns) != list(dtypes):
        raise RuntimeError(f"{entry['file']}: columns differ from catalog.json")
    for col, rtype in dtypes.items():
        if rtype == "logical":
            values = df[col].map({"TRUE": True, "FALSE": False})
            df[col] = values.astype("boolean" if missing.get(col) else bool)
    return df


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled published data set.

    Parameters
    ----------
    name : str
        The R name, with or without its ``dat.`` prefix: ``"dat.bcg"`` or
        ``"bcg"`` (case-insensitive). :func:`list_datasets` lists them.

    Returns
    -------
    pandas.DataFrame
        A fresh copy (changing it does not affect later loads), with R's
        column names and row order and a default ``RangeIndex``.
        ``.attrs`` holds ``"name"``, ``"title"``, ``"citation"`` (the source
        publication), ``"measure"`` (the suggested effect measure, a metafor
        measure name such as ``"RR"``, ``"SMD"``, ``"ZCOR"``) and
        ``"description"``.

    Raises
    ------
    ValueError
        If no bundled data set has that name; the message lists the available ones.

    See Also
    --------
    list_datasets : The available data sets with their size and citation.
    dataset_info : The full catalog entry, including the meaning of each column.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> list(dat.columns)
    ['trial', 'author', 'year', 'tpos', 'tneg', 'cpos', 'cneg', 'ablat', 'alloc']
    >>> int(dat["tpos"].iloc[0]), dat.attrs["measure"]
    (4, 'RR')
    >>> bm.load_dataset("konstantopoulos2011").shape
    (56, 6)
    """
    key = _resolve(name)
    entry = _entries()[key]
    df = _read(key).copy(deep=True)
    df.attrs = {
        "name": key,
        "title": entry["title"],
        "citation": entry["citation"],
        "measure": entry["measure"],
        "description": entry["description"],
    }
    return df


def list_datasets() -> pd.DataFrame:
    """List the bundled data sets.

    Returns
    -------
    pandas.DataFrame
        One row per data set, sorted by name, with columns ``name`` (the R
        name, e.g. ``"dat.bcg"``), ``title``, ``k`` (number of rows, i.e.
        effect sizes or studies), ``measure`` (suggested effect measure) and
        ``citation``.

    Examples
    --------
    >>> from bayesma.datasets import list_datasets
    >>> tab = list_datasets()
    >>> list(tab.columns)
    ['name', 'title', 'k', 'measure', 'citation']
    >>> int(tab.set_index("name").loc["dat.bcg", "k"])
    13
    """
    rows = [
        {
            "name": key,
            "title": e["title"],
            "k": int(e["nrow"]),
            "measure": e["measure"],
            "citation": e["citation"],
        }
        for key, e in sorted(_entries().items())
    ]
    return pd.DataFrame(rows, columns=["name", "title", "k", "measure", "citation"])


def dataset_info(name: str) -> dict[str, Any]:
    """Return the catalog entry of a data set.

    Parameters
    ----------
    name : str
        As for :func:`load_dataset`.

    Returns
    -------
    dict
        A copy of the entry: ``name``, ``title``, ``citation``, ``measure``,
        ``description``, ``details``, ``references``, ``columns`` (column ->
        meaning, from the R help page), ``dtypes`` (column -> R type),
        ``nrow``, ``ncol``, and either ``escalc`` (the metafor arguments that
        compute the effect sizes from raw columns, e.g. ``{"measure": "RR",
        "ai": "tpos", ...}``) or ``effect_columns`` (the columns already
        holding ``yi`` and ``vi``).

    Examples
    --------
    >>> from bayesma.datasets import dataset_info
    >>> dataset_info("bcg")["columns"]["ablat"]
    'absolute latitude of the study location (in degrees)'
    >>> dataset_info("bcg")["escalc"]["ai"]
    'tpos'
    """
    return copy.deepcopy(_entries()[_resolve(name)])
