"""Errors of the ``bayesma`` command: input problems in one line, with the file they concern."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator

PROG = "bayesma"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2

#: what an input problem looks like: reported in one line, exit code 2
INPUT_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError, OSError)


class InputError(ValueError):
    """A problem with the user's input, reported as one line with exit code 2."""


@contextlib.contextmanager
def about(source: str | os.PathLike | None) -> Iterator[None]:
    """Attach *source* (a file name, or an option such as ``--tau-prior``) to input errors raised inside."""
    try:
        yield
    except INPUT_ERRORS as exc:
        if source is not None and getattr(exc, "bayesma_source", None) is None:
            try:
                exc.bayesma_source = str(source)  # type: ignore[attr-defined]
            except AttributeError:  # pragma: no cover - exotic exception types
                pass
        raise


def one_line(exc: BaseException) -> str:
    """The message of *exc* as a single line (no traceback), with CLI-style hints."""
    if isinstance(exc, KeyError) and exc.args:
        msg = str(exc.args[0])
    elif isinstance(exc, UnicodeDecodeError):
        msg = (f"cannot read the file as text ({exc.encoding} decoding failed at byte {exc.start}); "
               "save it as CSV (UTF-8) or as an Excel .xlsx file")
    elif isinstance(exc, FileNotFoundError):
        msg = "no such file" + (f" {exc.filename!r}" if exc.filename and not getattr(exc, "bayesma_source", None) else "")
    elif isinstance(exc, IsADirectoryError):
        msg = "is a directory, not a data file"
    elif isinstance(exc, PermissionError):
        msg = "permission denied" + (f" ({exc.filename})" if exc.filename else "")
    elif isinstance(exc, OSError) and exc.strerror:
        msg = exc.strerror + (f" ({exc.filename})" if exc.filename else "")
    else:
        msg = str(exc) or type(exc).__name__
    # the Python API suggests missing='drop'; on the command line that is --missing drop
    msg = msg.replace("missing='drop'", "--missing drop")
    lines = [line.strip() for line in msg.splitlines() if line.strip()]
    msg = "; ".join(lines)
    msg = re.sub(r";\s*;", ";", msg).replace(":;", ":")
    source = getattr(exc, "bayesma_source", None)
    return f"{source}: {msg}" if source else msg


def error(message: str) -> None:
    """Print ``bayesma: error: message`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
