"""Row numbers as the user's file has them, in every message of the command line.

The file's data rows are numbered from 1 (the header is not a row; a blank row keeps its
number). :func:`bayesma.cli.inputs.read_table` keeps that number in the DataFrame's index
(0-based), and ``--subset``, ``--by`` and the split of mixed ``escalc`` inputs keep the index,
so a message about the third row of a subset names the row of the file. The library counts
rows from 1 over the frame it was given: :func:`in_file_rows` translates its messages.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pandas as pd

from bayesma.errors import InputError

__all__ = ["file_row", "in_file_rows"]


def file_row(df: pd.DataFrame, i: int) -> int:
    """The file's row number (from 1) of the row at position *i* of *df*."""
    label = df.index[int(i)]
    try:
        return int(label) + 1
    except (TypeError, ValueError):  # a frame not read by read_table: positions
        return int(i) + 1


@contextlib.contextmanager
def in_file_rows(df: pd.DataFrame) -> Iterator[None]:
    """Translate the row of an :class:`~bayesma.errors.InputError` raised inside (counted over *df*'s rows)
    into the row of the file, in its ``row`` attribute and its message."""
    try:
        yield
    except InputError as exc:
        row = getattr(exc, "row", None)
        found = set(re.findall(r"\(row (\d+)\)", str(exc)))
        if len(found) > 1:  # several studies named ("3 problems: study 'A' (row 4) ...; study 'B' (row 9) ...")
            def moved(m: re.Match) -> str:
                n = int(m.group(1))
                return f"(row {file_row(df, n - 1) if 1 <= n <= len(df) else n})"

            text = re.sub(r"\(row (\d+)\)", moved, str(exc))
            new = file_row(df, row - 1) if row is not None and 1 <= row <= len(df) else row
            err = InputError(text, study=exc.study, row=new, column=exc.column)
            raise err.with_traceback(exc.__traceback__) from exc.__cause__
        if row is None:  # a message in the library's words, "study 'X' (row N)", without the attribute
            row = int(found.pop()) if len(found) == 1 else None
        if row is None or not 1 <= row <= len(df) or file_row(df, row - 1) == row:
            raise
        new = file_row(df, row - 1)
        text = re.sub(rf"\brow {row}\b", f"row {new}", str(exc))
        err = InputError(text, study=exc.study, row=new, column=exc.column)
        raise err.with_traceback(exc.__traceback__) from exc.__cause__
