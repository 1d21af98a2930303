"""``bayesma demo``: the whole workflow on a bundled forensic data set."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bayesma._format import format_p
from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK, PROG
from bayesma.cli.options import tune_steps
from bayesma.cli.outputs import staged_dir, writing
from bayesma.cli.pipeline import prob_greater, run_fit
from bayesma.datasets import dataset_info, load_dataset
from bayesma.effects import escalc
from bayesma.frequentist import rma, subgroup
from bayesma.models import MetaAnalysis
from bayesma.report import location_rows, prob_rel, summary_rows

DEMO_DATASET = "dat.landenberger2005"


def demo_data() -> pd.DataFrame:
    """dat.landenberger2005 with log odds ratios (positive: fewer recidivists after CBT) and unique labels."""
    dat = load_dataset(DEMO_DATASET)
    dup = dat.groupby("study").cumcount()
    many = dat["study"].duplicated(keep=False)
    dat.insert(0, "label", [f"{s} {'abcdefgh'[i]}" if m else s for s, i, m in zip(dat["study"], dup, many)])
    es = escalc("OR", ai="n.cbt.non", bi="n.cbt.rec", ci="n.ctrl.non", di="n.ctrl.rec", data=dat, slab="label")
    return es


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    with staged_dir(out) as work:
        files = _run(args, out, work)
    say(f"\nDone. The files are in {out.resolve()}:")
    for name in files:
        say(f"  {out / name}")
    say(f"\nRead {out / 'report.md'} for a paragraph to adapt for a paper, and open {out / 'forest.png'}.")
    say(f"Your own data: {PROG} fit studies.csv --yi yi --vi vi --labels study --measure SMD")
    return EXIT_OK


def _run(args: argparse.Namespace, out: Path, work: Path) -> list[str]:
    """The demo's steps, writing into *work* (moved to *out* when all succeed); returns the file names."""
    info = dataset_info(DEMO_DATASET)
    say(f"bayesma demo: {info['title']}")
    say_wrapped(f"Data: {info['citation']}")
    say("Effect: log odds ratio of NOT reoffending, CBT vs control (> 0 means CBT reduces recidivism).\n")
    progress = Progress(6)
    with progress.step("computing log odds ratios with escalc('OR', ...)"):
        es = demo_data()
        with writing(out / "landenberger2005_effects.csv"):
            es.to_csv(work / "landenberger2005_effects.csv", index=False)
    say(f"k = {len(es)} studies; effects written to {out / 'landenberger2005_effects.csv'}\n")

    with progress.step("frequentist random-effects model (REML) and subgroups by setting"):
        res = rma("yi", "vi", data=es, labels="label")
        sg = subgroup("yi", "vi", by="setting", data=es, labels="label")
    say(f"REML: estimate {res.beta[0]:.3f} (95% CI {res.ci_lb[0]:.3f} to {res.ci_ub[0]:.3f}), "
        f"tau = {res.tau:.3f}, Q({res.k - 1}) = {res.QE:.1f}, p {format_p(res.QEp, relation=True)}, "
        f"I² = {res.I2:.1f}%")
    print_table(sg.table[["k", "estimate", "se", "ci_lb", "ci_ub", "tau2", "I2"]],
                title="Subgroups by treatment setting (REML within each)")
    say(f"Test for subgroup differences: Q = {sg.Q_between:.2f}, df = {sg.Q_between_df}, "
        f"p {format_p(sg.Q_between_p, relation=True)}\n")
    with writing(out / "subgroups_frequentist.csv"):
        sg.table.to_csv(work / "subgroups_frequentist.csv")

    spec = {"yi": "yi", "vi": "vi", "labels": "label", "measure": "OR", "missing": "raise"}
    model = MetaAnalysis(es, yi="yi", vi="vi", labels="label", measure="OR")
    fit_progress = Progress(6)
    fit_progress.i = progress.i
    run_fit(model, es, spec, out, engine=args.engine, draws=args.draws, tune=tune_steps(args, args.engine),
                    chains=args.chains, seed=args.seed, source=DEMO_DATASET,
                    progress=fit_progress, show_studies=False, workdir=work,
                    title="CBT for offenders: Bayesian re-analysis of Landenberger & Lipsey (2005)",
                    extra_files=("landenberger2005_effects.csv", "subgroups_frequentist.csv",
                                 "metaregression_setting.csv"))
    progress.i = fit_progress.i

    with progress.step("Bayesian meta-regression on setting (community vs prison)"):
        reg = MetaAnalysis(es, yi="yi", vi="vi", labels="label", mods="~ setting", measure="OR")
        post_reg = reg.fit(engine=args.engine, draws=args.draws, chains=args.chains, seed=args.seed,
                           **({"tune": tune_steps(args, "nuts")} if args.engine == "nuts" else {}))
        reg_sum = post_reg.summary()
    rows = location_rows(reg_sum) + summary_rows(reg_sum, "tau")
    print_table(reg_sum.loc[rows, ["mean", "median", "eti_lower", "eti_upper"]],
                title="Bayesian meta-regression: yi ~ setting")
    slope = [r for r in location_rows(reg_sum) if "prison" in r]
    if slope:
        p = prob_greater(post_reg, slope[0], 0.0)
        say(f"P(prison programmes have a larger effect than community ones) {prob_rel(p)}")
    with writing(out / "metaregression_setting.csv"):
        reg_sum.to_csv(work / "metaregression_setting.csv", index_label="parameter")
    return sorted(p.name for p in work.iterdir() if p.is_file())
