"""``bayesma smallk``: leave-one-out and a small-k simulation for the user's design."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesma.cli.console import Progress, isatty, print_table, say_wrapped
from bayesma.cli.errors import EXIT_OK
from bayesma.cli.options import (
    build_model,
    load_for_model,
    parse_list,
    priors_from_args,
)
from bayesma.cli.outputs import staged_dir, writing
from bayesma.cli.pipeline import save_fig
from bayesma.frequentist import rma
from bayesma.sensitivity import leave_one_out, small_k_simulation


def _design_taus(vi: Any) -> list[float]:
    """Heterogeneity values for the simulation: none, moderate and substantial relative to a typical study."""
    s = float(np.sqrt(np.median(np.asarray(vi, dtype=float))))
    return [0.0, float(f"{0.5 * s:.2g}"), float(f"{s:.2g}")]


def run(args: argparse.Namespace) -> int:
    priors = priors_from_args(args)
    df, spec = load_for_model(args)
    model = build_model(df, spec, priors, args.file)
    out = Path(args.out)
    ks = parse_list(args.k, "--k", int) or sorted({2, 3, 5, min(int(model.k), 10)})
    taus = parse_list(args.tau, "--tau", float) or _design_taus(model.spec.vi)
    progress = Progress(3)
    with progress.step(f"leave-one-out: {model.k} refits without one study each"):
        loo = leave_one_out(
            data=model.spec.meta.data, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
            priors=model.priors, engine="exact", measure=spec["measure"],
        )
    loo_table = loo.table
    print_table(loo_table, title="Leave-one-out (each row: the fit without that study)")
    mu = float(rma(model.spec.yi, model.spec.vi, method="REML").beta[0])
    executor = None
    if args.jobs and args.jobs > 1:
        executor = ProcessPoolExecutor(max_workers=args.jobs)
    try:
        with progress.step(
            f"simulating {args.n_sim} meta-analyses for each k in {ks} and tau in {taus} "
            f"(mu = {mu:.4f}, within-study variances resampled from the data)"
        ):
            sim = small_k_simulation(
                k=ks, tau=taus, mu=mu, n_sim=args.n_sim, seed=args.seed,
                priors={"tau": model.priors["tau"], "mu": model.priors["mu"]}, vi=np.asarray(model.spec.vi),
                executor=executor, progress=isatty(sys.stderr),
            )
    finally:
        if executor is not None:
            executor.shutdown()
    sim_table = sim.table
    for column, what in (("coverage_mu", "coverage of the 95% intervals for mu (nominal 0.95)"),
                         ("width_mu", "mean width of the 95% intervals for mu")):
        if column in sim_table.columns and isinstance(sim_table.index, pd.MultiIndex):
            wide = sim_table[column].unstack(level=-1)
            wide.columns.name = None
            print_table(wide, title=f"Small-k simulation: {what}")
    if not isinstance(sim_table.index, pd.MultiIndex):
        print_table(sim_table, title="Small-k simulation")
    say_wrapped(f"(bias, RMSE and the intervals for tau: {out / 'smallk_simulation.csv'})")
    written = ["leave_one_out.csv", "smallk_simulation.csv", "leave_one_out.png", "smallk_simulation.png"]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / written[0]):
            loo_table.to_csv(work / written[0])
        with writing(out / written[1]):
            sim_table.to_csv(work / written[1])
        for name, fig in ((written[2], loo.plot()), (written[3], sim.plot())):
            with writing(out / name):
                save_fig(fig, work / name)
    say_wrapped(f"\nWrote {', '.join(written)} to {out}/")
    return EXIT_OK
