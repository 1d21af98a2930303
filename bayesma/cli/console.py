"""Console output of the ``bayesma`` command: progress lines, warnings, tables."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from bayesma._format import WIDTH as FORMAT_WIDTH
from bayesma._format import wrap_text
from bayesma.cli.errors import PROG
from bayesma.report import table_rows

#: the width of the console: prose is wrapped and tables are split to fit a terminal of 100 columns
WIDTH = FORMAT_WIDTH


class Progress:
    """Step messages on stderr: ``[2/5] fitting the Bayesian model ... done (0.1 s)``."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.i = 0
        self.quiet = quiet
        self._t0 = time.perf_counter()

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        self.i += 1
        t0 = time.perf_counter()
        if not self.quiet:
            print(f"[{self.i}/{self.total}] {text} ...", file=sys.stderr, flush=True)
        yield
        if not self.quiet:
            print(f"      done ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)


@contextlib.contextmanager
def user_warnings(debug: bool = False) -> Iterator[None]:
    """Show warnings as ``bayesma: warning: ...`` lines on stderr (once each)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        ours = category.__module__.startswith("bayesma") or "bayesma" in str(filename)
        if not debug and not (ours and issubclass(category, (UserWarning, RuntimeWarning))):
            return  # other libraries' chatter (PyTensor's BLAS notice, ...) only with --debug
        text = " ".join(str(message).split())
        if text in seen:
            return
        seen.add(text)
        print(f"{PROG}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for cat in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
            if not debug:
                warnings.simplefilter("ignore", cat)
        # MetaAnalysis's repeated-study warning (bayesma.spec): the command has checked the file itself and said
        # it in command-line words (bayesma.cli.checks), so the API's version would only repeat it
        warnings.filterwarnings("ignore", message=r"column 'study' repeats .*, so it does not label the studies")
        old = warnings.showwarning
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = old


def isatty(stream: Any) -> bool:
    """Whether *stream* is a terminal (False for anything that cannot tell)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _use_rich() -> bool:
    if os.environ.get("BAYESMA_PLAIN") or not isatty(sys.stdout):
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _key_columns(df: pd.DataFrame, index: bool) -> int:
    """How many leading columns name a row (the index levels, else the first text column): repeated in each
    part of a table split to fit the console."""
    if index:
        return df.index.nlevels
    return 1 if df.shape[1] and not pd.api.types.is_numeric_dtype(df.iloc[:, 0]) else 0


def _greedy_blocks(widths: Sequence[int], keys: int, width: int, gap: int) -> list[list[int]]:
    key_width = sum(widths[:keys]) + gap * max(keys - 1, 0)
    blocks: list[list[int]] = []
    current, used = list(range(keys)), key_width
    for j in range(keys, len(widths)):
        extra = widths[j] + (gap if current else 0)
        if used + extra > width and len(current) > keys:
            blocks.append(current)
            current, used = list(range(keys)), key_width
            extra = widths[j] + (gap if current else 0)
        current.append(j)
        used += extra
    blocks.append(current)
    return blocks


def column_blocks(widths: Sequence[int], keys: int, width: int = WIDTH, gap: int = 2) -> list[list[int]]:
    """Split the columns of a table (their *widths*) into parts no wider than *width*: each part the first
    *keys* columns (the row names) and the next columns in their order; as few parts as fit, as even in width
    as they can be.

    Examples
    --------
    >>> column_blocks([10, 30, 30, 30], keys=1, width=80)
    [[0, 1, 2], [0, 3]]
    >>> column_blocks([10, 30, 30], keys=1, width=80)
    [[0, 1, 2]]
    """
    n = len(_greedy_blocks(widths, keys, width, gap))
    lo, hi = 1, width  # the narrowest limit that still needs no more than n parts
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_greedy_blocks(widths, keys, mid, gap)) <= n:
            hi = mid
        else:
            lo = mid + 1
    return _greedy_blocks(widths, keys, lo, gap)


def print_table(df: pd.DataFrame, title: str | None = None, index: bool = True) -> None:
    """Print a DataFrame as an aligned table: a rich table on a terminal, plain text otherwise.

    The printout fits :data:`WIDTH` columns: a column with no number at all (all NaN) is left out of it, and a
    table still wider is printed in parts, each starting with the columns that name the rows (the DataFrame
    and the files written from it keep every column)."""
    shown = df.loc[:, [not df.iloc[:, j].isna().all() for j in range(df.shape[1])]] if len(df) else df
    header, rows, numeric = table_rows(shown, index=index)
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]
    rich = _use_rich()
    # a rich table: a border and a space either side of each cell
    blocks = column_blocks([w + 3 for w in widths] if rich else widths, _key_columns(shown, index),
                           width=WIDTH - 1 if rich else WIDTH, gap=0 if rich else 2)
    for b, cols in enumerate(blocks):
        part = title if b == 0 or not title else f"{title} (continued)" if len(title) <= WIDTH - 12 else "(continued)"
        _print_block([header[j] for j in cols], [[r[j] for j in cols] for r in rows], [numeric[j] for j in cols],
                     [widths[j] for j in cols], part, rich)


def _print_block(header: list[str], rows: list[list[str]], numeric: list[bool], widths: list[int],
                 title: str | None, rich: bool) -> None:
    if rich:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left", title_style="bold")
        for name, num in zip(header, numeric):
            table.add_column(name, justify="right" if num else "left")
        for cells in rows:
            table.add_row(*cells)
        Console(file=sys.stdout).print(table)
        return

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    if title:
        print(wrapped(title))
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for cells in rows:
        print(fmt(cells))
    print()


def say(text: str = "") -> None:
    """Print a line on stdout."""
    print(text, flush=True)


def wrapped(text: str, width: int = WIDTH, indent: str = "  ") -> str:
    """Prose for the console: each line of *text* longer than *width* broken at spaces, the continuation lines
    indented by *indent* (two spaces: a test line, a note under a table). Words are never split, so a column
    name or a quoted value stays whole (:func:`bayesma._format.wrap_text`).

    Examples
    --------
    >>> print(wrapped("Test of subgroup differences: " + "word " * 20, width=40))
    Test of subgroup differences: word word
      word word word word word word word
      word word word word word word word
      word word word word
    """
    return wrap_text(text, width, indent)


def say_wrapped(text: str = "") -> None:
    """Print prose on stdout, wrapped at :data:`WIDTH` columns (:func:`wrapped`)."""
    say(wrapped(text))
