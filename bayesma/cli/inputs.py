"""Reading the user's data file: CSV (comma, semicolon or tab separated) or Excel."""

from __future__ import annotations

import codecs
import difflib
import importlib.util
import io
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma.cli.errors import InputError, one_line
from bayesma.design import formula_variables

__all__ = ["EXCEL_SUFFIXES", "check_columns", "formula_columns", "read_table"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


_CANDIDATE = re.compile(r"[-+]?[\d.,]*\d(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"[-+]?\d+")
_DECIMAL_COMMA = re.compile(r"[-+]?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+(?:[eE][-+]?\d+)?")
_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(?:\.\d{3})+")
_DECIMAL_POINT = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+(?:[eE][-+]?\d+)?")


def _cells(text: pd.Series) -> list[tuple[int, str]]:
    return [(i, str(v).strip()) for i, v in enumerate(text) if not pd.isna(v) and str(v).strip()]


def _european_numbers(text: pd.DataFrame, parsed: pd.DataFrame) -> pd.DataFrame:
    """Numbers of a semicolon- or tab-separated file, with decimal commas and thousands separators.

    *text* is the file read as strings, *parsed* as pandas reads it. A file
    with any decimal comma ("0,25", "1.200,5") is European: there a dot is a
    thousands separator ("1.200" = 1200), and a column whose numbers fit
    neither convention ("0.25" beside "0,5") is refused. In a file without
    decimal commas, a column whose dotted numbers all look like thousands
    ("1.200", "12.500") is refused as ambiguous (1200 or 1.2?).

    Raises
    ------
    InputError
        Naming the column, the rows and the cells that are ambiguous.
    """
    columns = {c: _cells(text[c]) for c in text.columns}
    numeric = {c: cells for c, cells in columns.items()
               if cells and all(_CANDIDATE.fullmatch(v) for _, v in cells)}
    european = any(_DECIMAL_COMMA.fullmatch(v) for cells in numeric.values() for _, v in cells)
    out = parsed.copy()
    problems = []
    for col, cells in numeric.items():
        if european:
            bad = [(i, v) for i, v in cells if not (_INTEGER.fullmatch(v) or _DECIMAL_COMMA.fullmatch(v)
                                                     or _THOUSANDS.fullmatch(v))]
            if bad:
                problems.append((col, bad, "do not fit the file's decimal commas (a dot there separates thousands)"))
                continue
            clean = text[col].astype("string").str.strip().str.replace(".", "", regex=False)
            out[col] = pd.to_numeric(clean.str.replace(",", ".", regex=False)).astype(float)
            continue
        dotted = [(i, v) for i, v in cells if "." in v]
        if dotted and all(_THOUSANDS.fullmatch(v) for _, v in dotted):
            problems.append((col, dotted, "could be numbers with a thousands separator (1.200 = 1200) or "
                                          "decimals (1.200 = 1.2)"))
        elif any(not (_DECIMAL_POINT.fullmatch(v)) for _, v in cells):
            bad = [(i, v) for i, v in cells if not _DECIMAL_POINT.fullmatch(v)]
            problems.append((col, bad, "are not numbers in one convention"))
    if problems:
        parts = []
        for col, bad, why in problems:
            shown = ", ".join(f"{v!r} (row {i + 1})" for i, v in bad[:5]) + (", ..." if len(bad) > 5 else "")
            parts.append(f"column {col!r}: {shown} {why}")
        raise InputError("ambiguous numbers: " + "; ".join(parts)
                         + "; write numbers without thousands separators, with one decimal mark throughout")
    return out


#: cells pandas reads as missing (its default list); matched after stripping surrounding spaces
_NA_MARKERS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                         "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def _strip_text_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose cells are numbers or missing-value markers once spaces are stripped become numbers.

    ``"7.5 "`` and ``"NA "`` (a marker with a trailing space, which pandas keeps as
    text) would otherwise turn a numeric column into text, and a message about it
    would name the first row rather than the one with the stray space.
    """
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        cells = [v for v in s if isinstance(v, str)]
        if not cells or len(cells) != int(s.notna().sum()):
            continue
        stripped = s.astype("string").str.strip()
        missing = stripped.isin(_NA_MARKERS) | stripped.isna()
        numbers = pd.to_numeric(stripped.where(~missing), errors="coerce")
        if bool((numbers.notna() | missing).all()) and bool(numbers.notna().any()):
            df[col] = numbers.astype(float)
    return df


def _read_text(path: Path) -> str:
    """The text of a CSV file: UTF-8 (with or without a byte-order mark), UTF-16 with its mark, else
    Windows-1252 / Latin-1 (what Excel writes as "CSV" on Windows) with a warning that names the first
    byte that is not UTF-8 (its position in the file and its line) and shows that line as read."""
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        pos = exc.start
    line_no = raw.count(b"\n", 0, pos) + 1
    for encoding, name in (("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        line = text.splitlines()[line_no - 1] if text.splitlines() else ""
        warnings.warn(
            f"the file is not UTF-8 (byte {pos + 1}, 0x{raw[pos]:02X}, in line {line_no}), so it is read as {name}: "
            f"line {line_no} reads {line.strip()!r}; if the accents look wrong, save the file as CSV UTF-8",
            UserWarning, stacklevel=3)
        return text
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _separator(text: str) -> str:
    """The field separator of a text file, from its header line: comma, semicolon or tab."""
    head = text.split("\n", 1)[0]
    counts = {sep: head.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else ","


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
        text = _read_text(p)
        sep = "\t" if suffix in (".tsv", ".tab") else _separator(text)
        try:
            df = pd.read_csv(io.StringIO(text), sep=sep, skip_blank_lines=False)  # a blank line keeps its number
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty") from None
        except pd.errors.ParserError as exc:
            raise InputError(f"not a readable CSV file: {one_line(exc)}") from None
        if sep != ",":
            df = _european_numbers(pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skip_blank_lines=False), df)
    df.columns = [str(c).strip() for c in df.columns]
    df = _strip_text_numbers(df)
    df = df.dropna(how="all")  # the index keeps each row's number in the file (bayesma.cli.rows)
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
