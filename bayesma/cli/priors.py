"""``bayesma priors``: the fit under several heterogeneity priors, as a table and a plot."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma import priors as pr
from bayesma._format import format_bf
from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK
from bayesma.cli.options import build_model, labelled_priors, load_for_model
from bayesma.cli.outputs import staged_dir, writing
from bayesma.cli.pipeline import save_fig
from bayesma.report.tables import fmt_prob, num
from bayesma.sensitivity import compare_priors


def mu_medians(cmp: Any) -> list[float] | None:
    """The posterior median of mu under each prior, from the comparison's own posteriors (the estimate
    ``bayesma fit`` and its report give: the table of ``compare_priors`` has mu's mean); None when the
    posteriors do not line up with the table or have no ``mu``."""
    posts = list(getattr(cmp, "posteriors", {}).values())
    if len(posts) != len(cmp.table):
        return None
    out = []
    for post in posts:
        summary = post.summary()
        if "mu" not in summary.index:
            return None
        out.append(float(summary.loc["mu", "median"]))
    return out


def compact_table(table: pd.DataFrame, named: bool = True, medians: list[float] | None = None) -> pd.DataFrame:
    """The prior comparison as the console shows it: one row per prior, each estimate with its interval in
    one cell (``-0.36 [-0.98, 0.26]``), P(mu > 0) and BF10 as the report writes them -- the eleven numeric
    columns of ``priors.csv`` made a table 220 columns wide. The prior's specification is shown when the
    user labelled it (*named*) and the label is not the specification itself."""
    def cell(est: float, lo: float, hi: float) -> str:
        return f"{num(est)} [{num(lo)}, {num(hi)}]"

    shown = pd.DataFrame(index=table.index)
    for col, head in (("mu_prior", "mu prior"), ("tau_prior", "tau prior")):
        if col in table and table[col].nunique() > 1 and (col == "mu_prior" or named) \
                and not (table.index == table[col]).all():
            shown[head] = table[col]
    centre = table["mu_mean"].to_numpy() if medians is None else medians
    shown["mu [95% CrI]" if medians is not None else "mu mean [95% CrI]"] = [
        cell(c, lo, hi) for c, lo, hi in zip(centre, table["mu_lower"], table["mu_upper"])]
    shown["tau [95% CrI]"] = [cell(*r) for r in table[["tau_median", "tau_lower", "tau_upper"]].to_numpy()]
    if {"new_lower", "new_upper"} <= set(table.columns):
        shown["95% PI"] = [f"[{num(lo)}, {num(hi)}]" for lo, hi in table[["new_lower", "new_upper"]].to_numpy()]
    shown["P(mu > 0)"] = [fmt_prob(p).replace("= ", "") for p in table["p_mu_positive"]]
    if "bf10_effect" in table.columns:
        shown["bf10_effect"] = [format_bf(b) for b in table["bf10_effect"]]
    return shown


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
    print_table(compact_table(table, named=args.tau_prior is not None, medians=mu_medians(cmp)),
                title=f"Prior comparison (k = {model.k}; posterior medians with 95% credible intervals; full table "
                      "in priors.csv)")
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
