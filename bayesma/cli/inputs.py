"""Reading the user's data file: CSV (comma, semicolon or tab separated) or Excel."""

from __future__ import annotations

import difflib
import importlib.util
import os
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma.cli.errors import InputError, one_line
from bayesma.design import formula_variables

__all__ = ["EXCEL_SUFFIXES", "check_columns", "formula_columns", "read_table"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def _numeric_comma_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Columns written with a decimal comma ("0,25") become numbers."""
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        text = s.dropna().astype(str).str.strip()
        if text.empty or not text.str.fullmatch(r"[-+]?\d*,?\d+([eE][-+]?\d+)?").all():
            continue
        df[col] = pd.to_numeric(s.astype(str).str.strip().str.replace(",", ".", regex=False).where(s.notna()))
    return df


def read_table(path: str | os.PathLike, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV (comma, semicolon or tab separated) or Excel file into a DataFrame.

    Column names are stripped of surrounding spaces; rows that are entirely
    empty (common at the end of spreadsheets) are left out.

    Raises
    ------
    FileNotFoundError, InputError
        The file does not exist, is not readable, is empty, or is an Excel
        file and ``openpyxl`` is not installed.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "no such file", str(p))
    if p.is_dir():
        raise IsADirectoryError(21, "is a directory", str(p))
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        engine = "xlrd" if suffix == ".xls" else "openpyxl"
        if importlib.util.find_spec(engine) is None:
            extra = ' (or: pip install "bayesma[excel]")' if engine == "openpyxl" else ""
            raise InputError(
                f"reading Excel files ({suffix}) needs the package {engine!r}, which is not installed: "
                f"pip install {engine}{extra}; or save the sheet as CSV"
            )
        try:
            df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, engine=engine)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise InputError(f"not a readable Excel file ({one_line(exc)})") from exc
    else:
        sep = "\t" if suffix in (".tsv", ".tab") else ","
        try:
            df = pd.read_csv(p, sep=sep)
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty") from None
        except pd.errors.ParserError as exc:
            raise InputError(f"not a readable CSV file: {one_line(exc)}") from None
        if df.shape[1] == 1 and sep == ",":
            head = str(df.columns[0])
            for alt in (";", "\t"):
                if alt in head:
                    df = _numeric_comma_columns(pd.read_csv(p, sep=alt)) if alt == ";" else pd.read_csv(p, sep=alt)
                    break
    df.columns = [str(c).strip() for c in df.columns]
    df = df.dropna(how="all").reset_index(drop=True)
    if df.empty:
        raise InputError("the file has no data rows")
    return df


def check_columns(df: pd.DataFrame, wanted: dict[str, Any]) -> None:
    """Every option that names a column must name one of *df*; else say which option and suggest."""
    for option, col in wanted.items():
        if col is None or col in df.columns:
            continue
        close = difflib.get_close_matches(str(col), [str(c) for c in df.columns], n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"no column {col!r} (given to {option}){hint}; the columns are: "
            + ", ".join(str(c) for c in df.columns)
        )


def formula_columns(formula: str | None) -> list[str]:
    if not formula:
        return []
    return list(formula_variables(formula))
