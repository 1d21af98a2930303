"""Errors of the ``bayesma`` command: input problems in one line, with the file they concern."""

from __future__ import annotations

import contextlib
import dis
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

PROG = "bayesma"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2

#: what an input problem looks like: reported in one line, exit code 2
INPUT_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError, OSError)


class InputError(ValueError):
    """A problem with the user's input, reported as one line with exit code 2."""


class UsageError(Exception):
    """A command line argparse cannot read (unknown option, missing argument): one line, exit code 2."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def _raised_at(exc: BaseException) -> tuple[str, bool] | None:
    """(file, whether the failing instruction is a ``raise``) of the innermost frame of *exc*."""
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    try:
        op = code.co_code[tb.tb_lasti]
    except IndexError:  # pragma: no cover
        return code.co_filename, False
    return code.co_filename, op in _RAISE_OPS


_RAISE_OPS = {dis.opmap[name] for name in ("RAISE_VARARGS", "RERAISE") if name in dis.opmap}


def is_input_error(exc: BaseException) -> bool:
    """Whether *exc* reports a problem with the user's input (exit 2) rather than a bug (exit 1).

    Input errors: :class:`InputError`; file-system errors (``OSError``); a
    ``ValueError``, ``TypeError`` or ``KeyError`` that bayesma raised on
    purpose (a ``raise`` statement in bayesma's code: its input checks); a
    ``ValueError`` from another library while reading or checking the user's
    data (tagged by :func:`about`, e.g. a file that is not text). Anything
    else (a ``TypeError`` or ``KeyError`` from inside an expression,
    ``AttributeError``, ``IndexError``, ...) is a bug and is never reported as
    bad input.
    """
    if isinstance(exc, (InputError, OSError)):
        return True
    if not isinstance(exc, (ValueError, TypeError, KeyError)):
        return False
    where = _raised_at(exc)
    if where is None:
        return isinstance(exc, ValueError)
    filename, deliberate = where
    if str(Path(filename).resolve()).startswith(_PACKAGE_DIR):
        return deliberate
    return isinstance(exc, ValueError) and getattr(exc, "bayesma_source", None) is not None


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


#: a cell quoted in a "non-numeric value '...'" message, and a number written with a decimal comma
_NON_NUMERIC = re.compile(r"non-numeric value '([^']*)'")
_COMMA_NUMBER = re.compile(r"\s*[-+]?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+(?:[eE][-+]?\d+)?\s*")


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
    comma = next((m.group(1) for m in _NON_NUMERIC.finditer(msg) if _COMMA_NUMBER.fullmatch(m.group(1))), None)
    if comma is not None:  # "0,25" read as text: a decimal comma in a comma-separated file
        msg += (f"; numbers such as {comma!r} have a decimal comma: in a comma-separated file write them with a "
                f"decimal point ({comma.strip().replace('.', '').replace(',', '.')}), or save the file with "
                "semicolons between the columns, where decimal commas are read")
    lines = [line.strip() for line in msg.splitlines() if line.strip()]
    msg = "; ".join(lines)
    msg = re.sub(r";\s*;", ";", msg).replace(":;", ":")
    source = getattr(exc, "bayesma_source", None)
    return f"{source}: {msg}" if source else msg


def internal_error_line(exc: BaseException) -> str:
    """The one line shown for a bug: what failed, and that it is not the user's input."""
    return (f"internal error (a bug in bayesma, not a problem with your input): {type(exc).__name__}: "
            f"{one_line(exc)}; run again with --debug for the traceback and please report it")


def error(message: str) -> None:
    """Print ``bayesma: error: message`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
