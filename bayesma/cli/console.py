"""Console output of the ``bayesma`` command: progress lines, warnings, tables."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from bayesma.cli.errors import PROG
from bayesma.report import table_rows


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


def print_table(df: pd.DataFrame, title: str | None = None, index: bool = True) -> None:
    """Print a DataFrame as an aligned table: a rich table on a terminal, plain text otherwise."""
    header, rows, numeric = table_rows(df, index=index)
    if _use_rich():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left", title_style="bold")
        for name, num in zip(header, numeric):
            table.add_column(name, justify="right" if num else "left")
        for cells in rows:
            table.add_row(*cells)
        Console(file=sys.stdout).print(table)
        return
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]

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


#: the width of the console's prose (a terminal of 100 columns; tables are as wide as their columns)
WIDTH = 100


def wrapped(text: str, width: int = WIDTH) -> str:
    """Prose for the console: each line of *text* longer than *width* broken at spaces, the continuation lines
    indented by two spaces (a test line, a note under a table). Words are never split, so a column name or a
    quoted value stays whole.

    Examples
    --------
    >>> print(wrapped("Test of subgroup differences: " + "word " * 20, width=40))
    Test of subgroup differences: word word
      word word word word word word word
      word word word word word word word
      word word word word
    """
    import textwrap

    def fill(line: str) -> str:  # a relation stays on one line: "rho = 0.5", "p < .001"
        glued = re.sub(r" ([=<>]) ", "\x00\\1\x00", line)
        return textwrap.fill(glued, width, subsequent_indent="  ", break_long_words=False,
                             break_on_hyphens=False).replace("\x00", " ")

    return "\n".join(fill(line) if len(line) > width else line for line in text.split("\n"))


def say_wrapped(text: str = "") -> None:
    """Print prose on stdout, wrapped at :data:`WIDTH` columns (:func:`wrapped`)."""
    say(wrapped(text))
