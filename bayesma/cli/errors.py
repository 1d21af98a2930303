"""Errors of the ``bayesma`` command: input problems in one line, with the file they concern."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator

from bayesma.errors import ArgumentTypeError, BayesmaError, ConvergenceError, InputError, UnsupportedModelError

PROG = "bayesma"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2


class UsageError(Exception):
    """A command line argparse cannot read (unknown option, missing argument): one line, exit code 2."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


#: what an input problem looks like, by type: reported in one line, exit code 2
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    InputError, ArgumentTypeError, UnsupportedModelError, OSError, UnicodeDecodeError)


def is_input_error(exc: BaseException) -> bool:
    """Whether *exc* reports a problem with the user's input (exit 2) rather than a bug (exit 1), by its type.

    Input errors are bayesma's typed errors about the input (:class:`~bayesma.errors.InputError`,
    :class:`~bayesma.errors.ArgumentTypeError`, :class:`~bayesma.errors.UnsupportedModelError`) and
    file-system errors (``OSError``, and ``UnicodeDecodeError`` for a file that is not text). A plain ``ValueError``, ``TypeError`` or ``KeyError`` did not come
    from one of bayesma's checks, so it is a bug and never reported as bad input;
    :class:`~bayesma.errors.ConvergenceError` is neither (see :func:`exit_line`).
    """
    return isinstance(exc, INPUT_ERRORS)


@contextlib.contextmanager
def about(source: str | os.PathLike | None) -> Iterator[None]:
    """Attach *source* (a file name, or an option such as ``--tau-prior``) to errors raised inside.

    Only the message changes (``source: message``); the exit code depends on the error's type alone.
    """
    try:
        yield
    except (BayesmaError, *INPUT_ERRORS) as exc:
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


def convergence_error_line(exc: BaseException) -> str:
    """The one line shown when a computation on valid input did not converge (exit code 1)."""
    return (f"{one_line(exc)} (the computation did not converge on these data; try another method or "
            "estimator, or run again with --debug for the details)")


def exit_line(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception, chosen by its type alone."""
    if is_input_error(exc):
        return EXIT_INPUT, one_line(exc)
    if isinstance(exc, ConvergenceError):
        return EXIT_FAILURE, convergence_error_line(exc)
    return EXIT_FAILURE, internal_error_line(exc)


def error(message: str) -> None:
    """Print ``bayesma: error: message`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
