"""``bayesma priors``: the fit under several heterogeneity priors, as a table and a plot."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayesma import priors as pr
from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK
from bayesma.cli.options import build_model, labelled_priors, load_for_model
from bayesma.cli.outputs import staged_dir, writing
from bayesma.cli.pipeline import save_fig
from bayesma.sensitivity import compare_priors


def run(args: argparse.Namespace) -> int:
    tau_priors = labelled_priors(args.tau_prior, "--tau-prior", ("tau", "tau2"))
    mu_priors = labelled_priors(args.mu_prior, "--mu-prior", ("location",))
    df, spec = load_for_model(args)
    model = build_model(df, spec, {}, args.file)  # validates the data, names bad studies
    if tau_priors is None:
        tau_priors = pr.sensitivity_tau_priors(spec["measure"], yi=model.spec.yi, vi=model.spec.vi)
        say("No --tau-prior given: comparing a standard set of heterogeneity priors.")
    out = Path(args.out)
    progress = Progress(2)
    n_models = len(tau_priors) * len(mu_priors or {0: 0})
    with progress.step(f"fitting {n_models} models ({args.engine} engine)"):
        cmp = compare_priors(
            data=model.spec.meta.data, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
            tau_priors=tau_priors, mu_priors=mu_priors, engine=args.engine, measure=spec["measure"],
            seed=args.seed, mods=spec["mods"],
        )
    table = cmp.table
    shown = table.drop(columns=[c for c in ("mu_prior", "tau_prior") if c in table and table[c].nunique() <= 1
                                or (c == "tau_prior" and (table.index == table[c]).all())])
    print_table(shown, title=f"Prior comparison (k = {model.k}; 95% intervals; full table in priors.csv)")
    if cmp.bayes_factor_note():
        say_wrapped(cmp.bayes_factor_note())  # the mu prior every bf10_effect depends on
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / "priors.csv"):
            table.to_csv(work / "priors.csv")
        fig = cmp.plot()
        with writing(out / "priors.png"):
            save_fig(fig, work / "priors.png")
    say_wrapped(f"\nWrote priors.csv, priors.png to {out}/")
    return EXIT_OK
