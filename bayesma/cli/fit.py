"""``bayesma fit``: a Bayesian meta-analysis of a file, with the frequentist check and the report.

With ``--by COL`` one analysis per value of COL (e.g. outcome), fitted together by
:func:`bayesma.fit_many` (so the numbers equal the Python API's), and one combined table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bayesma.cli.console import Progress, say_wrapped
from bayesma.cli.errors import EXIT_OK
from bayesma.cli.extras import run_extras
from bayesma.cli.options import build_model, load_for_model, priors_from_args, tune_steps
from bayesma.cli.outputs import staged_dir
from bayesma.cli.pipeline import run_fit
from bayesma.exact.capability import choose_engine


def run(args: argparse.Namespace) -> int:
    priors = priors_from_args(args)
    df, spec = load_for_model(args)
    if args.by:
        from bayesma.cli.fit_by import run_by

        return run_by(args, df, spec, priors)
    model = build_model(df, spec, priors, args.file)
    engine, note = choose_engine(args.engine, model.spec, option="--engine ")
    tune = tune_steps(args, engine)
    out = Path(args.out)
    extras = run_extras(df, spec, args)  # --subgroups, --bias: frequentist, before the fit prints
    with staged_dir(out) as work:
        paths = run_fit(model, df, spec, out, engine=engine, draws=args.draws, tune=tune,
                        chains=args.chains, seed=args.seed, source=Path(args.file).name, progress=Progress(3),
                        workdir=work, title=args.title, html=args.html, engine_note=note, extras=extras)
    say_wrapped(f"\nWrote {', '.join([*(p.name for p in paths.values()), *extras.files])} to {out}/")
    return EXIT_OK
