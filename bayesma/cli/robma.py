"""``bayesma robma``: robust Bayesian meta-analysis (RoBMA-PSMA) of a file: tables, plots, report."""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import pandas as pd

from bayesma.cli.console import Progress, print_table, say
from bayesma.cli.errors import EXIT_OK, InputError
from bayesma.cli.options import add_subset_option, load_yi_vi
from bayesma.cli.outputs import staged_dir, writing

__all__ = ["add_parser", "run", "report_paragraph"]


def add_parser(sub, formatter_class) -> None:
    """Register ``bayesma robma`` on the subparsers *sub*."""
    p = sub.add_parser("robma", help="robust Bayesian meta-analysis: publication-bias models averaged (RoBMA-PSMA)",
                       formatter_class=formatter_class,
                       description="Fit the RoBMA-PSMA ensemble (effect or none x heterogeneity or none x no bias, "
                                   "six selection models, PET, PEESE) to FILE; print the inclusion Bayes factors, "
                                   "model-averaged estimates and the priors used; write robma_models.csv, "
                                   "robma_summary.csv, robma_mu.png, robma_weightfunction.png and report.md into --out.")
    p.add_argument("file", metavar="FILE", help="CSV (comma, semicolon or tab separated) or Excel (.xlsx) file")
    p.add_argument("--yi", required=True, metavar="COL", help="column with the effect sizes (Cohen's d or Fisher's z)")
    var = p.add_mutually_exclusive_group(required=True)
    var.add_argument("--vi", metavar="COL", help="column with the sampling variances")
    var.add_argument("--sei", metavar="COL", help="column with the standard errors (instead of --vi)")
    p.add_argument("--labels", metavar="COL", help="column with study labels (used in messages)")
    p.add_argument("--measure", default="SMD", choices=("SMD", "ZCOR"),
                   help="SMD (Cohen's d, fitted on Fisher's z as RoBMA) or ZCOR; priors are on Cohen's d")
    p.add_argument("--ensemble", default="PSMA", choices=("PSMA", "6w", "PP", "none"),
                   help="bias components: all of RoBMA-PSMA, the six weight functions, PET and PEESE, or none")
    p.add_argument("--effect-direction", default="positive", choices=("positive", "negative"),
                   help="direction of selection for significance and of PET/PEESE bias (RoBMA's effect_direction)")
    add_subset_option(p)
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--missing", choices=("raise", "drop"), default="raise",
                   help="studies with a missing value: an error, or left out with a warning")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
    p.set_defaults(command_module="robma")


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


def _bf(x: float) -> str:
    return f"{x:.3g}" if 1e-3 <= x <= 1e4 else f"{x:.2e}"


def report_paragraph(fit, source: str) -> str:
    """A methods-and-results paragraph for a paper (Markdown)."""
    comp = fit.components()
    est = fit.estimates()
    mu, tau = est.loc["mu"], est.loc["tau"]
    n = len(fit.models)
    return (
        f"We fitted a robust Bayesian meta-analysis (RoBMA-PSMA; Maier, Bartoš & Wagenmakers, 2023; Bartoš et al., "
        f"2023) to the k = {fit.y.size} effect sizes in {source} with bayesma: an ensemble of {n} models crossing the "
        "presence or absence of an effect, of heterogeneity and of publication bias (six step-function selection "
        "models on one-sided p-values, PET and PEESE), with RoBMA's default priors on Cohen's d (effect Normal(0, 1), "
        "heterogeneity InvGamma(1, 0.15) on tau, cumulative-Dirichlet weights, PET Cauchy(0, 1)[0, Inf], "
        "PEESE Cauchy(0, 5)[0, Inf]); the data were analysed on Fisher's z scale and summarised on d. Marginal "
        "likelihoods were computed by adaptive importance sampling (largest Monte Carlo error of a log marginal "
        f"likelihood {fit.models['log_ml_se'].max():.3f}). "
        f"The inclusion Bayes factor for an effect was BF = {_bf(comp.loc['Effect', 'inclusion_BF'])} "
        f"(posterior probability {comp.loc['Effect', 'post_prob']:.3f}), for heterogeneity "
        f"BF = {_bf(comp.loc['Heterogeneity', 'inclusion_BF'])} and for publication bias "
        f"BF = {_bf(comp.loc['Bias', 'inclusion_BF'])} (posterior probability {comp.loc['Bias', 'post_prob']:.3f}). "
        f"The model-averaged mean effect was d = {mu['mean']:.3f} (median {mu['median']:.3f}, 95% credible interval "
        f"{mu['0.025']:.3f} to {mu['0.975']:.3f}) and the heterogeneity tau = {tau['mean']:.3f} "
        f"({tau['0.025']:.3f} to {tau['0.975']:.3f})."
    )


def run(args: argparse.Namespace) -> int:
    from bayesma.bias.ensemble import robma  # scipy.stats: loaded when the command runs, not for --help

    df = load_yi_vi(args)
    cols = [c for c in (args.yi, args.vi, args.sei) if c is not None]
    if args.missing == "drop":
        bad = df[cols].isna().any(axis=1)
        if bad.any():
            rows = ", ".join(str(i + 1) for i in df.index[bad][:10].map(df.index.get_loc))
            warnings.warn(f"{int(bad.sum())} studies with a missing value left out (rows {rows})", UserWarning,
                          stacklevel=1)
            df = df.loc[~bad].reset_index(drop=True)
    if len(df) < 2:
        raise InputError(f"{args.file}: robma needs at least 2 studies, found {len(df)}")
    out = Path(args.out)
    progress = Progress(2)
    with progress.step(f"fitting the {args.ensemble} ensemble to k = {len(df)} studies (importance sampling)"):
        fit = robma(df, yi=args.yi, sei=args.sei, vi=args.vi, measure=args.measure, ensemble=args.ensemble,
                    effect_direction=args.effect_direction, slab=args.labels, seed=args.seed)
    print_table(fit.priors().set_index("component"), title="Priors (Cohen's d scale) and prior probabilities")
    comp = fit.components()
    print_table(comp.assign(inclusion_BF=comp["inclusion_BF"].map(_bf)).round(4), title="Components")
    est = fit.estimates().round(4)
    print_table(est, title="Model-averaged estimates (Cohen's d)")
    print_table(fit.estimates(conditional=True).round(4), title="Conditional estimates (models with the component)")
    if args.ensemble != "none":
        print_table(fit.bias_classes().round(4), title="Bias classes")
    say(f"({len(fit.models)} models fitted in {fit.elapsed:.1f} s; every model: {out / 'robma_models.csv'})")
    written = ["robma_models.csv", "robma_summary.csv", "robma_mu.png", "robma_weightfunction.png", "report.md"]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / written[0]):
            fit.models.to_csv(work / written[0])
        with writing(out / written[1]):
            pd.concat({"averaged": fit.estimates(), "conditional": fit.estimates(conditional=True)}).to_csv(
                work / written[1])
        with writing(out / written[2]):
            _save(fit.plot_mu(), work / written[2])
        if any(i.startswith("omega[") for i in est.index):
            with writing(out / written[3]):
                _save(fit.plot_weightfunction(), work / written[3])
        else:
            written.remove(written[3])
        with writing(out / "report.md"):
            (work / "report.md").write_text("# Robust Bayesian meta-analysis\n\n"
                                            + report_paragraph(fit, Path(args.file).name) + "\n")
    say(f"\nWrote {', '.join(written)} to {out}/")
    if not math.isfinite(float(comp["log_BF"].abs().max())):
        say("note: a Bayes factor is infinite on this data (a component has posterior probability 0 or 1)")
    return EXIT_OK
