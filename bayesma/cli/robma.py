"""``bayesma robma``: robust Bayesian meta-analysis (RoBMA-PSMA) of a file: tables, plots, report."""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayesma._format import format_bf
from bayesma.cli.checks import check_rows
from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK, InputError, about
from bayesma.cli.inputs import check_columns, formula_columns, read_table
from bayesma.cli.options import add_subset_option, apply_subset, check_groups, groups_of
from bayesma.cli.outputs import safe_name, staged_dir, writing
from bayesma.cli.rows import file_row, in_file_rows

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
    p.add_argument("--lCI", metavar="COL", dest="lci_col", help="column with lower 95%% CI bounds (with --uCI)")
    p.add_argument("--uCI", metavar="COL", dest="uci_col", help="column with upper 95%% CI bounds (with --lCI)")
    p.add_argument("--labels", metavar="COL", help="column with study labels (used in messages)")
    p.add_argument("--measure", default=None, metavar="NAME",
                   help="what --yi holds: SMD (Cohen's d; R2D, d converted from a correlation, is the same scale), "
                        "COR (r), ZCOR (Fisher's z), OR (log odds ratios), GEN or MD (unstandardized, fitted as "
                        "given); standardized effects are fitted on Fisher's z with RoBMA's priors on Cohen's d")
    p.add_argument("--output-scale", choices=("d", "r", "z", "logOR", "OR", "y", "input"),
                   help="scale of the reported mu, tau and PEESE (default RoBMA's: Cohen's d, or y)")
    p.add_argument("--ensemble", default="PSMA", choices=("PSMA", "6w", "PP", "none"),
                   help="bias components: all of RoBMA-PSMA, the six weight functions, PET and PEESE, or none")
    p.add_argument("--effect-direction", default="positive", choices=("positive", "negative"),
                   help="direction of selection for significance and of PET/PEESE bias (RoBMA's effect_direction)")
    add_subset_option(p)
    p.add_argument("--mods", metavar="FORMULA",
                   help="moderators, e.g. \"~ rater + setting\" (RoBMA-reg: each in or out of the ensemble)")
    p.add_argument("--cluster", metavar="COL",
                   help="column with the study of each estimate: multilevel RoBMA (a random effect per cluster)")
    p.add_argument("--by", metavar="COL", help="one ensemble per value of COL (e.g. outcome), a report section each")
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
    return format_bf(x)  # the printout's Bayes factor (RoBMAResult's repr): 3 decimals


def _component(comp, name: str, text: str) -> str:
    if name not in comp.index:
        return ""
    return (f"{text} BF = {_bf(comp.loc[name, 'inclusion_BF'])} (posterior probability "
            f"{comp.loc[name, 'post_prob']:.3f})")


def report_paragraph(fit, source: str, ensemble: str = "PSMA") -> str:
    """A methods-and-results paragraph for a paper (Markdown); *ensemble* as ``--ensemble``."""
    comp = fit.components()
    est = fit.estimates()
    mu, tau = est.loc["mu"], est.loc["tau"]
    n = len(fit.models)
    std = fit.prior_scale != "y"
    prior_scale = "Cohen's d" if std else "the scale of the effects"
    fitted = (f"the data were analysed on Fisher's z scale and summarised on {_SYMBOL[fit.output_scale]}" if std
              else "the unstandardized effects were analysed on their own scale")
    sym = _SYMBOL[fit.output_scale]
    bias = {"PSMA": "six step-function selection models on one-sided p-values, PET and PEESE",
            "6w": "six step-function selection models on one-sided p-values",
            "PP": "PET and PEESE", "none": ""}.get(ensemble, str(ensemble))
    crossing = ("the presence or absence of an effect, of heterogeneity and of publication bias (" + bias + ")"
                if bias else "the presence or absence of an effect and of heterogeneity (no publication-bias models)")
    priors = ("effect Normal(0, 1), heterogeneity InvGamma(1, 0.15) on tau"
              + (", cumulative-Dirichlet weights" if ensemble in ("PSMA", "6w") else "")
              + (", PET Cauchy(0, 1)[0, Inf], PEESE Cauchy(0, 5)[0, Inf]" if ensemble in ("PSMA", "PP") else ""))
    parts = [_component(comp, "Effect", "The inclusion Bayes factor for an effect was"),
             _component(comp, "Heterogeneity", "for heterogeneity"), _component(comp, "Bias", "for publication bias")]
    name = "RoBMA-PSMA" if ensemble == "PSMA" else f"RoBMA, ensemble {ensemble}"
    return (
        f"We fitted a robust Bayesian meta-analysis ({name}; Maier, Bartoš & Wagenmakers, 2023; Bartoš et al., "
        f"2023) to the k = {fit.y.size} effect sizes in {source} with bayesma: an ensemble of {n} models crossing "
        f"{crossing}, with RoBMA's default priors on {prior_scale} ({priors}); {fitted}. Marginal likelihoods were "
        "computed by adaptive importance sampling (largest Monte Carlo error of a log marginal likelihood "
        f"{fit.models['log_ml_se'].max():.3f}). " + "; ".join(p for p in parts if p) + ". "
        f"The model-averaged mean effect was {sym} = {mu['mean']:.3f} (median {mu['median']:.3f}, 95% credible "
        f"interval {mu['0.025']:.3f} to {mu['0.975']:.3f}) and the heterogeneity tau = {tau['mean']:.3f} "
        f"({tau['0.025']:.3f} to {tau['0.975']:.3f})."
    )


#: below this many studies the data say little about publication bias (the funnel-plot methods' threshold,
#: Sterne et al. 2011; Cochrane Handbook 13.3.5.4): the bias components' Bayes factors stay near their priors
MIN_K_BIAS = 10

#: the measures robma fits (RoBMA's); an escalc measure on the scale of one of them (R2D: Cohen's d from a
#: correlation) is fitted as that one (the registry says which: bayesma.measures)
ROBMA_FITS = ("SMD", "COR", "ZCOR", "OR", "GEN", "MD")


def small_k_text(k: int, ensemble: str = "PSMA") -> str:
    """The small-k caution of ``bayesma robma`` (empty at k >= 10, or k >= 5 without bias models), in the
    words of ``fit``'s k < 5 warning."""
    if ensemble == "none":
        return "" if k >= 5 else (f"k = {k} studies (< 5): the prior on tau matters for the heterogeneity and "
                                  "effect Bayes factors and the estimates; compare with 'bayesma priors'")
    if k >= MIN_K_BIAS:
        return ""
    return (f"k = {k} studies (< {MIN_K_BIAS}): the data say little about publication bias, so the inclusion "
            "Bayes factor for bias stays close to 1 and the model-averaged estimates lean on the priors of the "
            "bias models; with k < 5 the prior on tau matters too (the funnel-plot methods need at least 10 "
            "studies: Sterne et al. 2011; Cochrane Handbook 13.3.5.4)")


def _measure(text: str) -> str:
    """The measure robma fits for ``--measure``: one of :data:`ROBMA_FITS`, or SMD for a measure on Cohen's d
    scale (R2D); any other is refused naming the conversion."""
    from bayesma.bias.inputs import same_scale_measure

    key = str(text).strip().upper()
    if key in ROBMA_FITS:
        return key
    same = same_scale_measure(key)
    if same is not None:
        return same
    raise InputError(f"--measure {text}: robma fits SMD (Cohen's d; R2D, d converted from a correlation, too), "
                     "COR, ZCOR, OR (log odds ratios), GEN or MD; convert other effects first, e.g. "
                     "'bayesma escalc R2D' for d from r, or 'bayesma escalc OR' for 2x2 tables")


def _load(args: argparse.Namespace, effects: dict, cols: list) -> pd.DataFrame:
    """Read FILE, check the columns, apply --subset and check the rows as every command does: several rows
    per study pooled as independent studies are warned about (or refused across outcomes), unless --cluster
    keeps them together (whatever the effect input: --yi, --r, --d, ...)."""
    flags = {"--yi": args.yi, **{f"--{flag}": col for flag, col in effects.items()}, "--vi": args.vi,
             "--sei": args.sei, "--n": args.n_col, "--t": args.t_col, "--lCI": args.lci_col, "--uCI": args.uci_col}
    effect = args.yi or next((c for c in effects.values() if c is not None), None) or args.t_col
    checks = {"yi": effect, "vi": args.vi, "sei": args.sei, "labels": args.labels, "missing": args.missing,
              "cluster": args.cluster, "mods": args.mods, "cluster_option": True}
    with about(args.file):
        df = read_table(args.file, args.sheet)
        check_columns(df, flags | {"--labels": args.labels, "--by": args.by, "--cluster": args.cluster})
        df = apply_subset(df, args.subset)
        if args.by is None:
            check_rows(df, checks, by_option=True)
        else:
            check_groups(df, args.by, checks, args.file)
    return df


def run(args: argparse.Namespace) -> int:
    effects = {flag: getattr(args, f"eff_{flag}") for flag, _ in _EFFECT_FLAGS}
    if args.yi is None and all(v is None for v in effects.values()) and not (args.t_col and args.n_col):
        raise InputError("give the effect sizes: --yi COL (with --measure), or --d, --r, --z, --logOR, --OR, --y COL")
    if all(x is None for x in (args.vi, args.sei, args.n_col, args.t_col, args.lci_col, args.uci_col)):
        raise InputError("give the precision: --vi COL, --sei/--se COL, --n COL (sample sizes), --t COL or "
                         "--lCI COL --uCI COL")
    measure = _measure(args.measure or "SMD")
    cols = [c for c in (args.yi, *effects.values(), args.vi, args.sei, args.n_col, args.t_col, args.lci_col,
                        args.uci_col) if c is not None]
    df = _load(args, effects, cols)
    if args.measure is None and args.yi is not None:
        warnings.warn(f"--yi {args.yi} is read as Cohen's d (--measure SMD, the default); give --measure COR, ZCOR, "
                      "OR, GEN or MD if it holds another effect size", UserWarning, stacklevel=1)
    if args.missing == "drop":  # a missing cluster or moderator leaves the row out too
        used = cols + [c for c in (args.cluster, *formula_columns(args.mods)) if c is not None and c in df.columns]
        bad = df[list(dict.fromkeys(used))].isna().any(axis=1)
        if bad.any():
            rows = ", ".join(str(file_row(df, i)) for i in np.flatnonzero(bad.to_numpy())[:10])
            warnings.warn(f"{int(bad.sum())} studies with a missing value left out (rows {rows})", UserWarning,
                          stacklevel=1)
            df = df.loc[~bad]  # the index keeps the file's row numbers
    with about(args.file):
        parts = groups_of(df, args.by) if args.by else [(None, df)]
    for value, part in parts:
        if len(part) < 2:
            where = "" if value is None else f" with {args.by} == {value!r}"
            raise InputError(f"{args.file}: robma needs at least 2 studies, found {len(part)}{where}")
    out = Path(args.out)
    progress = Progress(len(parts) + 1)
    fits = {}
    with about(args.file):
        for value, part in parts:
            title = "" if value is None else f"{args.by} == {value!r}: "
            with progress.step(f"{title}fitting the {args.ensemble} ensemble to k = {len(part)} studies "
                               "(importance sampling)"):
                fits[value] = _fit_one(part, args, measure, effects, title)
    n_models = sum(len(f.models) for f in fits.values())
    say_wrapped(f"({n_models} models fitted in {sum(f.elapsed for f in fits.values()):.1f} s; every model: "
        f"{out / 'robma_models.csv'})")
    _write(fits, args, out, progress)
    return EXIT_OK


def _fit_one(part: pd.DataFrame, args: argparse.Namespace, measure: str, effects: dict, title: str):
    """Fit and print the ensemble of one analysis."""
    from bayesma.bias.ensemble import robma  # scipy.stats: loaded when the command runs, not for --help
    from bayesma.bias.scales import SCALE_NAMES
    from bayesma.errors import SmallKWarning

    note = small_k_text(len(part), args.ensemble)
    if note:
        warnings.warn(f"{title}{note}", SmallKWarning, stacklevel=2)
    with in_file_rows(part):
        fit = robma(part, yi=args.yi, sei=args.sei, vi=args.vi, n=args.n_col, t=args.t_col, lCI=args.lci_col,
                    uCI=args.uci_col, measure=measure,
                    ensemble=args.ensemble, effect_direction=args.effect_direction, slab=args.labels, seed=args.seed,
                    output_scale=args.output_scale, mods=args.mods, cluster=args.cluster, **effects)
    scale = SCALE_NAMES[fit.output_scale]
    print_table(fit.priors().set_index("component"),
                title=f"{title}Priors (on {SCALE_NAMES[fit.prior_scale]}) and prior probabilities")
    comp = fit.components()
    print_table(comp.round(4), title=f"{title}Components")  # numbers: right-aligned, 4 decimals
    if args.mods:
        mods = fit.moderators()
        print_table(mods.round(4),
                    title=f"{title}Moderators (each in or out of the ensemble)")
        print_table(fit.marginal_means().round(4), title=f"{title}Marginal means ({scale})")
    print_table(fit.estimates().round(4), title=f"{title}Model-averaged estimates ({scale})")
    print_table(fit.estimates(conditional=True).round(4),
                title=f"{title}Conditional estimates (models with the component)")
    print_table(fit.summary(type="heterogeneity").round(4),
                title=f"{title}Heterogeneity (I2 in %) and the prediction interval of a new study's effect")
    if args.ensemble != "none":
        print_table(fit.bias_classes().round(4), title=f"{title}Bias classes")
    if note:
        say_wrapped(f"Small k: {note}.\n")
    if not math.isfinite(float(comp["log_BF"].abs().max())):
        say("note: a Bayes factor is infinite on this data (a component has posterior probability 0 or 1)")
    return fit


def _write(fits: dict, args: argparse.Namespace, out: Path, progress: Progress) -> None:
    """robma_models.csv, robma_summary.csv, the figures of each analysis and report.md, all or nothing."""
    by = args.by
    single = by is None
    per_model = {k: f.summary(type="models") for k, f in fits.items()}
    models = per_model[None] if single else pd.concat(per_model, names=[by])
    summary = {k: pd.concat({"averaged": f.estimates(), "conditional": f.estimates(conditional=True)})
               for k, f in fits.items()}
    summary_table = summary[None] if single else pd.concat(summary, names=[by])
    figures, sections = [], []
    for key, fit in fits.items():
        tail = "" if single else f"_{safe_name(key)}"
        figures.append((f"robma_mu{tail}.png", fit.plot_mu))
        if any(i.startswith("omega[") for i in fit.estimates().index):
            figures.append((f"robma_weightfunction{tail}.png", fit.plot_weightfunction))
        text = report_paragraph(fit, Path(args.file).name, args.ensemble)
        note = small_k_text(fit.y.size, args.ensemble)
        sections.append(text if single else f"## {by}: {key}\n\n{text}")
        if note:
            sections[-1] += f"\n\nSmall k: {note}."
    written = ["robma_models.csv", "robma_summary.csv"] + [name for name, _ in figures] + ["report.md"]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / written[0]):
            models.to_csv(work / written[0])
        with writing(out / written[1]):
            summary_table.to_csv(work / written[1])
        for name, draw in figures:
            with writing(out / name):
                _save(draw(), work / name)
        with writing(out / "report.md"):
            (work / "report.md").write_text("# Robust Bayesian meta-analysis\n\n" + "\n\n".join(sections) + "\n",
                                            encoding="utf-8")
    say_wrapped(f"\nWrote {', '.join(written)} to {out}/")
