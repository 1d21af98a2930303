"""The argparse parser of the ``bayesma`` command.

Each subcommand names the module of :mod:`bayesma.cli` that runs it
(``command_module``); :func:`bayesma.cli.main` imports that module only when the
command runs, so ``bayesma --help`` loads neither PyMC, ArviZ nor matplotlib.
"""

from __future__ import annotations

import argparse
from typing import Any

import bayesma
from bayesma.cli.bias import add_parser as add_bias_parser
from bayesma.cli.errors import PROG, UsageError
from bayesma.cli.extras import add_options as add_extra_options
from bayesma.cli.mv import add_parser as add_mv_parser
from bayesma.cli.options import add_subset_option
from bayesma.cli.robma import add_parser as add_robma_parser
from bayesma.cli.warmup import add_parser as add_warmup_parser

__all__ = ["ESCALC_ARGS", "build_parser"]

#: the study-data arguments of escalc, one --option each
ESCALC_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i", "ri", "ni", "xi", "mi",
               "sdi", "ti", "r2i", "x1i", "x2i", "t1i", "t2i")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (raised, printed by :func:`bayesma.cli.main`)."""

    def error(self, message: str):  # noqa: ANN201 - argparse's signature
        raise UsageError(message, self.prog)


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions; shows defaults that mean something (not None or False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" not in text and action.option_strings
                and action.default not in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback on errors")


def _add_data_options(p: argparse.ArgumentParser, model_options: bool = True,
                      measure_use: str = "to choose the default priors") -> None:
    p.add_argument("file", metavar="FILE", help="CSV (comma, semicolon or tab separated) or Excel (.xlsx) file")
    p.add_argument("--yi", required=True, metavar="COL", help="column with the effect sizes")
    var = p.add_mutually_exclusive_group()
    var.add_argument("--vi", metavar="COL", help="column with the sampling variances")
    var.add_argument("--sei", metavar="COL", help="column with the standard errors (instead of --vi)")
    p.add_argument("--labels", metavar="COL",
                   help="column with (unique) study labels; default: a 'study' column if there is one")
    p.add_argument("--measure", metavar="NAME", help=f"effect measure (OR, RR, SMD, ZCOR, ...), {measure_use}")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--missing", choices=("raise", "drop"), default="raise",
                   help="studies with a missing value: an error, or left out with a warning")
    add_subset_option(p)
    if model_options:
        p.add_argument("--tau-prior", metavar="SPEC", help='prior on tau, e.g. "halfnormal(0.5)", '
                       '"turner2015()" or a preset: "psychology" (RoBMA\'s InvGamma(1, 0.15) on d) '
                       '(default: by measure)')
        p.add_argument("--mu-prior", metavar="SPEC", help='prior on the pooled effect, e.g. "normal(0, 1)"')


def add_report_options(p: argparse.ArgumentParser) -> None:
    """``--title`` and ``--html`` of the commands that write a report."""
    p.add_argument("--title", metavar="TEXT", help="title of report.md and report.html (default: 'Bayesian "
                   "meta-analysis'; with --by, 'Meta-analyses by COL')")
    p.add_argument("--html", action="store_true",
                   help="also write report.html: one self-contained page (paragraph, tables, figures embedded)")


def _add_rma_parser(sub) -> None:
    p = sub.add_parser("rma", help="frequentist meta-analysis: FE, DL, REML, Knapp-Hartung (metafor's rma)",
                       formatter_class=_Formatter,
                       description="Fit metafor's estimators to FILE (no Bayesian model): common effect (FE), "
                                   "random effects with DerSimonian-Laird and REML, and REML with the Knapp-Hartung "
                                   "adjustment; print estimate, SE, CI, p, tau², I², Q(df) and p, and the prediction "
                                   "interval; write rma.csv into --out. With --by: one analysis per value and one "
                                   "combined table; with --mods: a meta-regression.")
    _add_data_options(p, model_options=False, measure_use="for the axis label of the forest plots")
    p.add_argument("--mods", metavar="FORMULA", help='moderator formula, e.g. "~ rater + setting" (meta-regression)')
    p.add_argument("--by", metavar="COL", help="one analysis per value of COL (e.g. outcome), one combined table")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(command_module="rma")


def _add_subgroup_parser(sub) -> None:
    p = sub.add_parser("subgroup", help="subgroup (moderator) analysis with the test of subgroup differences",
                       formatter_class=_Formatter,
                       description="Pool the studies of FILE within each value of --by (e.g. rater, setting) under "
                                   "the common-effect (FE) and random-effects (REML) models: k, estimate, SE, CI and p "
                                   "per subgroup, and Q-between (the test of subgroup differences) under each model, "
                                   "as moderator tables are published, with each subgroup's tau², I² and Q; write subgroups.csv "
                                   "into --out. Several outcomes: one table per outcome with --per outcome, or "
                                   "choose one with --subset.")
    _add_data_options(p, model_options=False, measure_use="for the axis label of the forest plots")
    p.add_argument("--by", metavar="COL", required=True, help="column of the categorical moderator")
    p.add_argument("--per", metavar="COL",
                   help="one moderator table per value of COL (e.g. --per outcome on a file with several outcomes "
                        "per study); --by names the moderator here")
    p.add_argument("--method", default="REML", metavar="NAME",
                   help="tau² estimator of the random-effects rows (REML, DL, PM, ...)")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(command_module="subgroup")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``bayesma`` command."""
    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Bayesian meta-analysis, checked against metafor's frequentist estimates.",
        epilog=(
            "examples:\n"
            "  bayesma demo\n"
            "  bayesma escalc OR trials.csv --ai tpos --bi tneg --ci cpos --di cneg --out effects.csv\n"
            "  bayesma escalc R2D alliance.csv --ri r --ni n --out effects.csv\n"
            "  bayesma rma effects.csv --yi yi --vi vi --by outcome\n"
            "  bayesma subgroup effects.csv --yi yi --vi vi --by rater --subset \"outcome == 'recidivism'\"\n"
            "  bayesma fit effects.csv --yi yi --vi vi --by outcome --measure R2D --html\n"
            "  bayesma mv effects.csv --yi yi --vi vi --cluster study --outcome outcome --rho 0.5 --struct CS\n"
            "  bayesma fit effects.csv --yi yi --vi vi --labels study --measure OR\n"
            '  bayesma priors effects.csv --yi yi --vi vi --tau-prior "halfnormal(0.5)" '
            '--tau-prior "halfcauchy(0.5)"\n'
            "  bayesma smallk effects.csv --yi yi --vi vi --k 2,3,5 --n-sim 500\n\n"
            "Run 'bayesma COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {bayesma.__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # in the order of an analysis: effect sizes, frequentist pooling, Bayesian fit and its sensitivity,
    # dependent effects, publication bias
    _add_demo_parser(sub)
    _add_escalc_parser(sub)
    _add_rma_parser(sub)
    _add_subgroup_parser(sub)
    _add_fit_parser(sub)
    _add_priors_parser(sub)
    _add_smallk_parser(sub)
    add_mv_parser(sub, _Formatter)
    add_bias_parser(sub, _Formatter)
    add_robma_parser(sub, _Formatter)
    add_warmup_parser(sub, _Formatter)
    return parser


def _add_fit_parser(sub: Any) -> None:
    """The ``bayesma fit`` subcommand."""
    p = sub.add_parser("fit", help="fit a Bayesian meta-analysis and write summary, plot, posterior, report",
                       formatter_class=_Formatter,
                       description="Fit a Bayesian meta-analysis of FILE; print the posterior summary and the "
                                   "frequentist check; write summary.csv, forest.png, posterior.nc and report.md "
                                   "into --out.")
    _add_data_options(p)
    p.add_argument("--mods", metavar="FORMULA", help='moderator formula, e.g. "~ ablat + year" (meta-regression)')
    p.add_argument("--cluster", metavar="COL", help="column of study ids for several effects per study (three levels)")
    p.add_argument("--tau-by", metavar="COL", help="column of a categorical moderator: a separate tau per subgroup")
    p.add_argument("--rho", type=float, metavar="R",
                   help="with --cluster: the correlation of the sampling errors of two effects of one study, "
                        "V built as metafor's vcalc (the CHE model; with --outcome the multivariate model)")
    p.add_argument("--outcome", metavar="COL",
                   help="with --cluster: the multivariate model across outcomes, a mean per value of COL and "
                        "correlated true effects within a study")
    p.add_argument("--struct", choices=("CS", "HCS", "UN"),
                   help="with --outcome: structure of the true effects across outcomes (default CS)")
    p.add_argument("--by", metavar="COL",
                   help="one analysis per value of COL (e.g. outcome) and one combined table of them all")
    p.add_argument("--engine", choices=("auto", "exact", "nuts"), default="auto",
                   help="exact: numerical integration (normal models, milliseconds); nuts: MCMC with PyMC; "
                        "auto: exact where the model allows it, else nuts (the output says which)")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=int, default=None,
                   help="tuning steps per chain (default 1000; --engine nuts only: the exact engine does not tune)")
    p.add_argument("--chains", type=int, default=4, help="chains")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    add_report_options(p)
    add_extra_options(p)
    _add_common(p)
    p.set_defaults(command_module="fit")


def _add_escalc_parser(sub: Any) -> None:
    """The ``bayesma escalc`` subcommand."""
    p = sub.add_parser("escalc", help="compute effect sizes (yi) and sampling variances (vi)",
                       formatter_class=_Formatter,
                       description="Add effect sizes and their sampling variances to FILE (metafor's escalc). "
                                   "Measures: metafor's names, e.g. SMD, MD, ROM (means and SDs), OR, RR, RD "
                                   "(2x2 tables), COR, ZCOR (correlations), PR, PLO (proportions), R2D, RPB, "
                                   "IRR, ...; an unknown name lists them all, and the docs' effect-size page "
                                   "gives the columns each one needs.")
    p.add_argument("measure", metavar="MEASURE", help="effect measure, e.g. OR, RR, SMD, ZCOR")
    p.add_argument("file", metavar="FILE", help="CSV or Excel file with one row per study")
    group = p.add_argument_group("study data (column names)")
    helps = {"ai": "events, group 1", "bi": "non-events, group 1", "ci": "events, group 2",
             "di": "non-events, group 2", "n1i": "size of group 1", "n2i": "size of group 2",
             "m1i": "mean, group 1", "sd1i": "SD, group 1", "m2i": "mean, group 2", "sd2i": "SD, group 2",
             "ri": "correlation", "ni": "sample size", "xi": "events (proportions)",
             "mi": "non-events (proportions); mean (MN, ...); number of predictors (PCOR, ...)",
             "sdi": "SD of a single group (MN, MNLN, CVLN, SDLN, SMN)",
             "ti": "t statistic of a regression coefficient (PCOR, ZPCOR, SPCOR)",
             "r2i": "R² of the regression model (PCOR, ZPCOR, SPCOR)",
             "x1i": "events, group 1 (IRR, IRD, IRSD)", "x2i": "events, group 2 (IRR, IRD, IRSD)",
             "t1i": "person-time, group 1 (IRR, IRD, IRSD)", "t2i": "person-time, group 2 (IRR, IRD, IRSD)"}
    for name in ESCALC_ARGS:
        group.add_argument(f"--{name}", metavar="COL", help=helps[name])
    p.add_argument("--also", metavar="MEASURE",
                   help="mixed inputs: rows without the columns of MEASURE get their effect from this measure's "
                        "columns, e.g. 'escalc SMD ... --also R2D --ri r --ni n' (d from r where a study reports a "
                        "correlation); adds the columns es_measure and es_conversion")
    p.add_argument("--labels", "--slab", dest="slab", metavar="COL",
                   help="column with study labels (used in messages); --slab is metafor's name for it")
    p.add_argument("--add", type=float, default=None,
                   help="added to the cells of studies with a zero cell (default: metafor's, 1/2 for most measures)")
    p.add_argument("--to", default="only0", choices=("only0", "all", "if0all", "none"), help="which studies get --add")
    p.add_argument("--vtype", default="LS", help="sampling variance estimator (metafor's names)")
    p.add_argument("--yi-name", default="yi", help="name of the new effect column")
    p.add_argument("--vi-name", default="vi", help="name of the new variance column")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--out", metavar="FILE", help="output CSV or .xlsx (default: CSV on standard output)")
    _add_common(p)
    p.set_defaults(command_module="escalc")


def _add_priors_parser(sub: Any) -> None:
    """The ``bayesma priors`` subcommand."""
    p = sub.add_parser("priors", help="compare heterogeneity priors: table and plot",
                       formatter_class=_Formatter,
                       description="Fit the random-effects model under several priors and tabulate how the "
                                   "pooled effect, tau and the predictive interval change. Each --tau-prior is "
                                   'a spec such as "halfnormal(0.5)", optionally labelled: "wide=halfnormal(1)". '
                                   "Without --tau-prior a standard set scaled to the measure is used.")
    _add_data_options(p, model_options=False)
    p.add_argument("--tau-prior", metavar="SPEC", action="append", help="a heterogeneity prior (repeat the option)")
    p.add_argument("--mu-prior", metavar="SPEC", action="append", help="a prior on the pooled effect (repeatable)")
    p.add_argument("--engine", choices=("exact", "nuts"), default="exact", help="fitting engine")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(command_module="priors")


def _add_smallk_parser(sub: Any) -> None:
    """The ``bayesma smallk`` subcommand."""
    p = sub.add_parser("smallk", help="leave-one-out and a small-k simulation for your design",
                       formatter_class=_Formatter,
                       description="How much do conclusions depend on single studies, and how do the Bayesian and "
                                   "frequentist intervals behave with as few studies as yours? Leave-one-out on "
                                   "FILE, then a simulation with within-study variances drawn from FILE.")
    _add_data_options(p)
    p.add_argument("--k", metavar="LIST", help="numbers of studies to simulate (default: 2,3,5 and yours up to 10)")
    p.add_argument("--tau", metavar="LIST",
                   help="true tau values (default: 0, half and one typical within-study SE)")
    p.add_argument("--n-sim", type=int, default=1000, help="simulated meta-analyses per setting")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the simulation")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    _add_common(p)
    p.set_defaults(command_module="smallk")


def _add_demo_parser(sub: Any) -> None:
    """The ``bayesma demo`` subcommand."""
    p = sub.add_parser("demo", help="the whole workflow on a bundled forensic data set",
                       formatter_class=_Formatter,
                       description="CBT for offenders (Landenberger & Lipsey 2005, k = 58): log odds ratios, "
                                   "frequentist random effects and subgroups, Bayesian random effects with the "
                                   "frequentist check, a meta-regression on the treatment setting, a forest plot "
                                   "and a report.")
    p.add_argument("--out", metavar="DIR", default="bayesma-demo", help="output directory")
    p.add_argument("--engine", choices=("exact", "nuts"), default="exact", help="fitting engine")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=int, default=None,
                   help="tuning steps per chain (default 1000; --engine nuts only: the exact engine does not tune)")
    p.add_argument("--chains", type=int, default=4, help="chains")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    _add_common(p)
    p.set_defaults(command_module="demo")
