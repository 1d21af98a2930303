"""The ``bayesma`` command: a Bayesian meta-analysis of a CSV or Excel file.

Subcommands::

    bayesma fit FILE --yi COL (--vi COL | --sei COL) [...]   posterior, frequentist check, files
    bayesma fit FILE ... --by outcome [--html]               one analysis per value, one combined table
    bayesma escalc MEASURE FILE --ai COL ... [--out FILE]    add effect sizes yi, vi (--also: mixed inputs)
    bayesma rma FILE --yi COL --vi COL [--mods F] [--by COL] frequentist FE, DL, REML, Knapp-Hartung
    bayesma subgroup FILE --yi COL --vi COL --by COL         moderator table with Q-between (FE and RE)
    bayesma mv FILE --yi COL --vi COL --cluster COL --outcome COL [--che]  dependent effects, CR2 intervals
    bayesma priors FILE --yi COL --vi COL --tau-prior SPEC ... compare heterogeneity priors
    bayesma smallk FILE --yi COL --vi COL [...]              leave-one-out, small-k simulation
    bayesma demo [--out DIR]                                 the whole workflow on bundled data
    bayesma warmup [--families ...] [--where] [--clear]      compile the NUTS model families once

Input problems (a missing value, a negative variance, an unknown column, an
unreadable file: :class:`bayesma.InputError` and the other typed errors of
:mod:`bayesma.errors`, and ``OSError``) end with exit code 2 and one line on
stderr; any other exception is a bug, reported in one line with exit code 1::

    bayesma: error: studies.csv: column 'vi': study 'Smith 2004' (row 5) has a variance of -0.01; ...

``--debug`` shows the traceback instead.

Modules: :mod:`~bayesma.cli.parser` (the options), :mod:`~bayesma.cli.errors`,
:mod:`~bayesma.cli.console` (printing), :mod:`~bayesma.cli.inputs` (reading
files), :mod:`~bayesma.cli.options` (options -> data, model, priors),
:mod:`~bayesma.cli.pipeline` (the fit shared by ``fit`` and ``demo``) and one
module per command, imported only when that command runs, so ``bayesma --help``
is fast. The report text is :mod:`bayesma.report`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from bayesma.cli.console import user_warnings
from bayesma.cli.errors import (
    EXIT_INPUT,
    EXIT_OK,
    UsageError,
    error,
    exit_line,
)
from bayesma.cli.inputs import read_table
from bayesma.cli.parser import build_parser

__all__ = ["build_parser", "main", "read_table"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bayesma`` command; returns the exit code (0 ok, 2 bad input, 1 other failure)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:  # one line: the problem and where to read about the options
        error(f"{exc} (see '{exc.prog} --help')")
        return EXIT_INPUT
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_INPUT
    debug = bool(getattr(args, "debug", False))
    if getattr(args, "command_module", None) is None:
        parser.print_help()
        return EXIT_INPUT
    try:
        with user_warnings(debug):
            command = importlib.import_module(f"bayesma.cli.{args.command_module}")
            return int(command.run(args) or 0)
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        code, line = exit_line(exc)  # by the exception's type: bad input 2, anything else 1
        error(line)
        return code
