"""``bayesma robma``: robust Bayesian meta-analysis (RoBMA-PSMA) of a file: tables, plots, report."""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import pandas as pd

from bayesma.cli.console import Progress, print_table, say
from bayesma.cli.errors import EXIT_OK, InputError, about
from bayesma.cli.inputs import check_columns, read_table
from bayesma.cli.options import add_subset_option, apply_subset, load_yi_vi
from bayesma.cli.outputs import staged_dir, writing

__all__ = ["add_parser", "run", "report_paragraph"]

_SYMBOL = {"d": "d", "r": "r", "z": "z", "logOR": "log OR", "OR": "OR", "y": "y"}
_EFFECT_FLAGS = (("d", "Cohen's d"), ("r", "correlations"), ("z", "Fisher's z"), ("logOR", "log odds ratios"),
                 ("OR", "odds ratios (--se: of log OR)"), ("y", "unstandardized effects"))


def add_parser(sub, formatter_class) -> None:
    """Register ``bayesma robma`` on the subparsers *sub*."""
    p = sub.add_parser("robma", help="robust Bayesian meta-analysis: publication-bias models averaged (RoBMA-PSMA)",
                       formatter_class=formatter_class,
                       description="Fit the RoBMA-PSMA ensemble (effect or none x heterogeneity or none x no bias, "
                                   "six selection models, PET, PEESE) to FILE; print the inclusion Bayes factors, "
                                   "model-averaged estimates and the priors used; write robma_models.csv, "
                                   "robma_summary.csv, robma_mu.png, robma_weightfunction.png and report.md into --out.")
    p.add_argument("file", metavar="FILE", help="CSV (comma, semicolon or tab separated) or Excel (.xlsx) file")
    eff = p.add_mutually_exclusive_group()
    eff.add_argument("--yi", metavar="COL", help="column with the effect sizes of --measure")
    for flag, what in _EFFECT_FLAGS:
        eff.add_argument(f"--{flag}", metavar="COL", dest=f"eff_{flag}", help=f"column with {what} (RoBMA's {flag}=)")
    var = p.add_mutually_exclusive_group()
    var.add_argument("--vi", metavar="COL", help="column with the sampling variances")
    var.add_argument("--sei", "--se", metavar="COL", help="column with the standard errors (instead of --vi)")
    var.add_argument("--n", metavar="COL", dest="n_col", help="column with total sample sizes (for d, r, z; n > 3)")
    var.add_argument("--t", metavar="COL", dest="t_col", help="column with test statistics (RoBMA's t=)")
    p.add_argument("--labels", metavar="COL", help="column with study labels (used in messages)")
    p.add_argument("--measure", default="SMD", choices=("SMD", "COR", "ZCOR", "OR", "GEN", "MD"),
                   help="what --yi holds: SMD (Cohen's d), COR (r), ZCOR (Fisher's z), OR (log odds ratios), "
                        "GEN or MD (unstandardized, fitted as given); standardized effects are fitted on Fisher's z "
                        "with RoBMA's priors on Cohen's d")
    p.add_argument("--output-scale", choices=("d", "r", "z", "logOR", "OR", "y", "input"),
                   help="scale of the reported mu, tau and PEESE (default RoBMA's: Cohen's d, or y)")
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
    std = fit.prior_scale != "y"
    prior_scale = "Cohen's d" if std else "the scale of the effects"
    fitted = (f"the data were analysed on Fisher's z scale and summarised on {_SYMBOL[fit.output_scale]}" if std
              else "the unstandardized effects were analysed on their own scale")
    sym = _SYMBOL[fit.output_scale]
    return (
        f"We fitted a robust Bayesian meta-analysis (RoBMA-PSMA; Maier, Bartoš & Wagenmakers, 2023; Bartoš et al., "
        f"2023) to the k = {fit.y.size} effect sizes in {source} with bayesma: an ensemble of {n} models crossing the "
        "presence or absence of an effect, of heterogeneity and of publication bias (six step-function selection "
        f"models on one-sided p-values, PET and PEESE), with RoBMA's default priors on {prior_scale} (effect "
        "Normal(0, 1), heterogeneity InvGamma(1, 0.15) on tau, cumulative-Dirichlet weights, PET Cauchy(0, 1)[0, Inf], "
        f"PEESE Cauchy(0, 5)[0, Inf]); {fitted}. Marginal "
        "likelihoods were computed by adaptive importance sampling (largest Monte Carlo error of a log marginal "
        f"likelihood {fit.models['log_ml_se'].max():.3f}). "
        f"The inclusion Bayes factor for an effect was BF = {_bf(comp.loc['Effect', 'inclusion_BF'])} "
        f"(posterior probability {comp.loc['Effect', 'post_prob']:.3f}), for heterogeneity "
        f"BF = {_bf(comp.loc['Heterogeneity', 'inclusion_BF'])} and for publication bias "
        f"BF = {_bf(comp.loc['Bias', 'inclusion_BF'])} (posterior probability {comp.loc['Bias', 'post_prob']:.3f}). "
        f"The model-averaged mean effect was {sym} = {mu['mean']:.3f} (median {mu['median']:.3f}, 95% credible interval "
        f"{mu['0.025']:.3f} to {mu['0.975']:.3f}) and the heterogeneity tau = {tau['mean']:.3f} "
        f"({tau['0.025']:.3f} to {tau['0.975']:.3f})."
    )


def run(args: argparse.Namespace) -> int:
    from bayesma.bias.ensemble import robma  # scipy.stats: loaded when the command runs, not for --help
    from bayesma.bias.scales import SCALE_NAMES

    effects = {flag: getattr(args, f"eff_{flag}") for flag, _ in _EFFECT_FLAGS}
    if args.yi is None and all(v is None for v in effects.values()) and not (args.t_col and args.n_col):
        raise InputError("give the effect sizes: --yi COL (with --measure), or --d, --r, --z, --logOR, --OR, --y COL")
    if args.vi is None and args.sei is None and args.n_col is None and args.t_col is None:
        raise InputError("give the precision: --vi COL, --sei/--se COL, --n COL (sample sizes) or --t COL")
    cols = [c for c in (args.yi, *effects.values(), args.vi, args.sei, args.n_col, args.t_col) if c is not None]
    if args.yi is not None and (args.vi is not None or args.sei is not None):
        df = load_yi_vi(args)
    else:
        with about(args.file):
            df = read_table(args.file, args.sheet)
            check_columns(df, {"column": c for c in cols} | {"--labels": args.labels})
            df = apply_subset(df, args.subset)
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
        fit = robma(df, yi=args.yi, sei=args.sei, vi=args.vi, n=args.n_col, t=args.t_col, measure=args.measure,
                    ensemble=args.ensemble, effect_direction=args.effect_direction, slab=args.labels, seed=args.seed,
                    output_scale=args.output_scale, **effects)
    scale = SCALE_NAMES[fit.output_scale]
    print_table(fit.priors().set_index("component"),
                title=f"Priors (on {SCALE_NAMES[fit.prior_scale]}) and prior probabilities")
    comp = fit.components()
    print_table(comp.assign(inclusion_BF=comp["inclusion_BF"].map(_bf)).round(4), title="Components")
    est = fit.estimates().round(4)
    print_table(est, title=f"Model-averaged estimates ({scale})")
    print_table(fit.estimates(conditional=True).round(4), title="Conditional estimates (models with the component)")
    print_table(fit.summary(type="heterogeneity").round(4),
                title="Heterogeneity (I2 in %) and the prediction interval of a new study's effect")
    if args.ensemble != "none":
        print_table(fit.bias_classes().round(4), title="Bias classes")
    say(f"({len(fit.models)} models fitted in {fit.elapsed:.1f} s; every model: {out / 'robma_models.csv'})")
    written = ["robma_models.csv", "robma_summary.csv", "robma_mu.png", "robma_weightfunction.png", "report.md"]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / written[0]):
            fit.summary(type="models").to_csv(work / written[0])
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
