"""``bayesma escalc``: effect sizes and sampling variances of a file (metafor's escalc)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bayesma import measures
from bayesma.cli.console import say
from bayesma.cli.errors import EXIT_OK, PROG, InputError, about
from bayesma.cli.inputs import EXCEL_SUFFIXES, check_columns, read_table
from bayesma.cli.outputs import staged_file, writing
from bayesma.cli.parser import ESCALC_ARGS
from bayesma.effects import escalc


def run(args: argparse.Namespace) -> int:
    measure = args.measure.strip().upper()
    given = {name: getattr(args, name) for name in ESCALC_ARGS if getattr(args, name) is not None}
    if not given:
        raise InputError(f"name the columns that hold the study data, e.g. --ai COL --bi COL --ci COL --di COL "
                         f"for measure {measure}")
    with about(args.file):
        df = read_table(args.file, sheet=args.sheet)
        check_columns(df, {f"--{k}": v for k, v in {**given, "slab": args.slab}.items()})
        es = escalc(measure, data=df, slab=args.slab, add=args.add, to=args.to, vtype=args.vtype,
                       var_names=(args.yi_name, args.vi_name), **given)
    what = measures.get(measure).plural
    if args.out in (None, "-"):
        es.to_csv(sys.stdout, index=False)
        print(f"{PROG}: added {args.yi_name} and {args.vi_name} ({what}) "
              f"for {len(es)} studies", file=sys.stderr)
        return EXIT_OK
    out = Path(args.out)
    with staged_file(out) as tmp, writing(out):
        if out.suffix.lower() in EXCEL_SUFFIXES:
            es.to_excel(tmp, index=False)
        else:
            es.to_csv(tmp, index=False)
    n_missing = int(es[args.yi_name].isna().sum())
    say(f"Added {args.yi_name} and {args.vi_name} ({what}) for {len(es)} studies "
        f"to {out}" + (f"; {n_missing} studies have no effect size (see the warnings)" if n_missing else ""))
    say(f"Next: {PROG} fit {out} --yi {args.yi_name} --vi {args.vi_name} --measure {measure}"
        + (f" --labels {args.slab}" if args.slab else ""))
    return EXIT_OK
