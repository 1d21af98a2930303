"""``bayesma mv``: dependent effect sizes -- one multivariate model across outcomes, or the CHE model.

Several effects per study (several outcomes, or several effects of one outcome) are pooled in
one model that knows they are dependent: the sampling covariance ``V`` from an assumed
correlation ``--rho`` (metafor's ``vcalc``), random effects across outcomes within studies
(``random = ~ outcome | study`` with ``--struct``), or with ``--che`` the correlated and
hierarchical effects model (``random = ~ 1 | study/effect``) with optional moderators. Every
estimate gets its model-based interval and the cluster-robust CR2 interval with Satterthwaite
degrees of freedom (clubSandwich's), which stays valid when ``--rho`` or the structure is wrong.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesma._format import format_p
from bayesma.cli.console import Progress, print_table, say_wrapped
from bayesma.cli.errors import EXIT_OK, InputError, about
from bayesma.cli.inputs import check_columns, formula_columns, read_table
from bayesma.cli.options import add_subset_option, apply_subset
from bayesma.cli.rows import file_row, in_file_rows
from bayesma.frequentist.mv.notes import boundary_notes

__all__ = ["add_parser", "run", "pooled_table"]

STRUCTS = ("CS", "HCS", "UN", "DIAG", "ID", "AR", "HAR")


#: the sampling correlation of two effects of one study assumed without --rho (fit --by's hint gives it to both
#: commands, so that the Bayesian model and this frequentist one are fitted with the same V)
MV_RHO = 0.5


def add_parser(sub, formatter_class) -> None:
    """Register ``bayesma mv`` on the subparsers *sub*."""
    p = sub.add_parser(
        "mv", help="dependent effects: a multivariate model across outcomes, or CHE, with CR2 robust intervals",
        formatter_class=formatter_class,
        description="Pool several effects per study in one model (metafor's rma.mv): the sampling errors of a "
                    "study's effects correlate --rho (vcalc), and the true effects of its outcomes correlate as "
                    "--struct says (random = ~ outcome | study). Each outcome's pooled estimate is printed with its "
                    "model-based and its cluster-robust (CR2, Satterthwaite df) interval. With --che: the "
                    "correlated and hierarchical effects model (random = ~ 1 | study/effect). --mods replaces the "
                    "default moderators (~ outcome - 1: an estimate per outcome) in either model. Writes "
                    "mv.csv, effects.csv, forest.png (effects grouped by study) and report.md into --out.")
    p.add_argument("file", metavar="FILE", help="CSV (comma, semicolon or tab separated) or Excel (.xlsx) file")
    p.add_argument("--yi", required=True, metavar="COL", help="column with the effect sizes")
    var = p.add_mutually_exclusive_group(required=True)
    var.add_argument("--vi", metavar="COL", help="column with the sampling variances")
    var.add_argument("--sei", metavar="COL", help="column with the standard errors (instead of --vi)")
    p.add_argument("--cluster", required=True, metavar="COL", help="column of the study of each effect")
    p.add_argument("--outcome", metavar="COL", help="column of the outcome of each effect (required without --che)")
    p.add_argument("--obs", metavar="COL",
                   help="column numbering the effects within a study (--che; default: the row order in each study)")
    p.add_argument("--rho", type=float, default=MV_RHO,
                   help="assumed correlation of the sampling errors of two effects of one study")
    p.add_argument("--struct", default=None, choices=STRUCTS,
                   help="correlation structure of the true effects of the outcomes within a study (default CS; "
                        "not with --che)")
    p.add_argument("--che", action="store_true",
                   help="the CHE model: random = ~ 1 | study/effect (default mods ~ outcome - 1 with --outcome)")
    p.add_argument("--mods", metavar="FORMULA", help='moderators (default ~ outcome - 1), e.g. "~ 0 + outcome + rater" (with --struct, the same '
                        'random structure across outcomes) or, with --che, "~ outcome + rater"')
    p.add_argument("--method", default="REML", choices=("REML", "ML"), help="estimation method")
    p.add_argument("--measure", metavar="NAME", help="effect measure (OR, SMD, ...), for the axis label")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--missing", choices=("raise", "drop"), default="raise",
                   help="rows with a missing value: an error, or left out with a warning")
    add_subset_option(p)
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
    p.set_defaults(command_module="mv")


def _new_column(df: pd.DataFrame, name: str) -> str:
    """*name*, or *name* with underscores appended, so that it is not a column of *df*."""
    while name in df.columns:
        name += "_"
    return name


def _check_options(args: argparse.Namespace) -> None:
    if not -1 < args.rho < 1:
        raise InputError(f"--rho must lie between -1 and 1 (a correlation), got {args.rho:g}")
    if not args.che and args.outcome is None:
        raise InputError("give the outcome column with --outcome COL (one model across outcomes), or use --che")
    if args.obs is not None and not args.che:
        raise InputError("--obs goes with --che (the multivariate model tells effects apart by --outcome)")
    if args.struct is not None and args.che:  # never silently ignored
        raise InputError(f"--struct {args.struct} is the structure of the multivariate model across outcomes "
                         "(--outcome COL without --che); the CHE model has a variance between and one within studies")
    if args.struct is None:
        args.struct = "CS"


def load(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """Read and check FILE: every bad cell in one error; rows with missing values dropped with --missing drop."""
    from bayesma.cli.checks import check_rows

    _check_options(args)
    var = args.vi if args.vi is not None else args.sei
    with about(args.file):
        df = read_table(args.file, args.sheet)
        wanted = {"--yi": args.yi, "--vi": args.vi, "--sei": args.sei, "--cluster": args.cluster,
                  "--outcome": args.outcome, "--obs": args.obs}
        for col in formula_columns(args.mods):
            wanted[f"--mods ({col})"] = col
        check_columns(df, wanted)
        df = apply_subset(df, args.subset)
        used = [c for c in (args.outcome, args.obs, *formula_columns(args.mods)) if c is not None]
        spec = {"yi": args.yi, "vi": args.vi, "sei": args.sei, "labels": None, "cluster": args.cluster,
                "mods": ("~ " + " + ".join(used)) if used else None, "missing": args.missing,
                "cluster_option": True}
        check_rows(df, spec)
        cols = [args.yi, var, args.cluster, *used]
        bad = df[cols].isna().any(axis=1).to_numpy()
        if bad.any():  # --missing drop (check_rows reports them otherwise)
            import warnings

            rows = ", ".join(str(file_row(df, i)) for i in np.flatnonzero(bad)[:10])
            warnings.warn(f"dropped {int(bad.sum())} rows with missing values (rows {rows})", stacklevel=2)
            df = df.loc[~bad]  # the index keeps the file's row numbers
        if args.sei is not None:  # the variances, in a new column (a file's own columns are never overwritten)
            var = _new_column(df, "vi_from_sei")
            df = df.assign(**{var: pd.to_numeric(df[args.sei]) ** 2})
        if df[args.cluster].nunique() < 2:
            raise InputError(f"column {args.cluster!r} (--cluster) has a single study; pooling needs at least two")
        if args.obs is not None:
            dup = df.duplicated([args.cluster, args.obs], keep=False).to_numpy()
            if dup.any():
                i, j = np.flatnonzero(dup)[:2]
                raise InputError(f"rows {file_row(df, i)} and {file_row(df, j)} have the same --cluster and --obs values; --obs must "
                                 "number the effects within each study")
    return df, var


def fit(df: pd.DataFrame, var: str, args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(fit, CR2 robust result, one-line description of the model)."""
    from bayesma.frequentist.mv import rma_mv, vcalc
    from bayesma.frequentist.rve import robust

    cl = args.cluster
    if args.che:
        obs = args.obs or _new_column(df, "effect")
        if args.obs is None:
            df[obs] = df.groupby(cl, sort=False).cumcount() + 1
        V = vcalc(var, cluster=cl, obs=obs, rho=args.rho, data=df)
        mods = args.mods or (f"~ {args.outcome} - 1" if args.outcome else None)
        res = rma_mv(args.yi, V, mods=mods, random=f"~ 1 | {cl}/{obs}", data=df, method=args.method)
        what = (f"CHE model: V from rho = {args.rho:g} within studies, random = ~ 1 | {cl}/{obs}"
                + (f", mods = {mods}" if mods else "") + f" ({args.method})")
    else:
        out = args.outcome
        V = vcalc(var, cluster=cl, type=out, rho=args.rho, data=df)
        mods = args.mods or f"~ {out} - 1"
        res = rma_mv(args.yi, V, mods=mods, random=f"~ {out} | {cl}", struct=args.struct, data=df, method=args.method)
        what = (f"multivariate model: V from rho = {args.rho:g} between outcomes of a study, "
                f"random = ~ {out} | {cl} (struct = {args.struct}), mods = {mods} ({args.method})")
    rob = robust(res, cluster=cl, clubSandwich=True)
    return res, rob, what


def _names(res: Any, prefix: str | None) -> list[str]:
    """Coefficient names without the factor's prefix: outcome[dropout] / outcomedropout -> dropout."""
    out = []
    for name in res.coef_names:
        n = str(name)
        if prefix and n.startswith(prefix):
            n = n[len(prefix):].strip("[]") or n
        out.append(n)
    return out


def pooled_table(res: Any, rob: Any, df: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """One row per coefficient (per outcome): k and studies where it is an outcome, the estimate, the
    model-based se, CI and p, and the CR2 se, Satterthwaite df, CI and p."""
    by_outcome = args.outcome is not None and args.mods is None  # the coefficients are the outcomes
    names = _names(res, args.outcome if by_outcome else None)
    table = pd.DataFrame({"estimate": res.beta, "se": res.se, "ci_lb": res.ci_lb, "ci_ub": res.ci_ub,
                          "pval": res.pval, "rob_se": rob.se, "rob_df": rob.df, "rob_ci_lb": rob.ci_lb,
                          "rob_ci_ub": rob.ci_ub, "rob_pval": rob.pval}, index=pd.Index(names, name="coef"))
    if by_outcome:
        groups = df.groupby(df[args.outcome].astype(str))
        table.insert(0, "studies", [int(groups.get_group(n)[args.cluster].nunique()) for n in names])
        table.insert(0, "k", [int(len(groups.get_group(n))) for n in names])
        table.index.name = args.outcome
    return table


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table with 4 decimals and p-values in metafor's style (as the console shows them)."""
    out = table.astype(object)
    for col in table.columns:
        if col in ("pval", "rob_pval"):
            out[col] = [format_p(v) for v in table[col]]
        elif col == "rob_df":  # Satterthwaite's df with metafor's 2 decimals, as the console and print(robust(...))
            out[col] = [f"{v:.2f}" for v in table[col]]
        elif pd.api.types.is_float_dtype(table[col]):
            out[col] = [f"{v:.4f}" for v in table[col]]
    return out


def variance_text(vc: pd.DataFrame) -> str:
    """The variance components as the printout of ``rma_mv`` shows them: estimates and their square roots
    with 4 decimals, the number of levels as a count, blanks where a row has no such number (a correlation
    has no square root), no header row for an empty index name."""
    shown = vc.astype(object)
    for col in ("estim", "sqrt"):
        if col in vc.columns:
            shown[col] = ["" if pd.isna(v) else f"{v:.4f}" for v in vc[col]]
    if "nlvls" in vc.columns:
        shown["nlvls"] = ["" if pd.isna(v) else str(int(v)) for v in vc["nlvls"]]
    return shown.rename_axis(index=None).to_string()


#: below this Satterthwaite df a CR2 test is unreliable (Tipton 2015; docs/dependent_effects.rst)
MIN_ROBUST_DF = 4.0


def caution_notes(res: Any, table: pd.DataFrame) -> list[str]:
    """What a reader must know before using the table: coefficients whose CR2 test has Satterthwaite df
    below :data:`MIN_ROBUST_DF`, and the estimates at a bound (a correlation of the true effects at -1 or 1, a
    variance at 0: :func:`bayesma.frequentist.mv.notes.boundary_notes`, the words of rma_mv's printout)."""
    notes = []
    low = table[table["rob_df"] < MIN_ROBUST_DF]
    if len(low):
        which = ", ".join(f"{name} (df = {df:.1f})" for name, df in low["rob_df"].items())
        its = "its" if len(low) == 1 else "their"
        notes.append(f"Few clusters: Satterthwaite df below {MIN_ROBUST_DF:g} in the cluster-robust (CR2) test of "
                     f"{which}, so {its} robust p-value and interval are unreliable (Tipton 2015); report the "
                     "model-based results beside them and say that neither is secure.")
    return notes + boundary_notes(res, compare="--struct DIAG (no correlation) or --che")


def _report(what: str, res: Any, rob: Any, table: pd.DataFrame, df: pd.DataFrame, args: argparse.Namespace) -> str:
    from bayesma.report import fmt_p

    lines = [f"# Dependent effects: {Path(args.file).name}", "", f"Model: {what}.", "",
             f"{len(df)} effects from {df[args.cluster].nunique()} studies (column {args.cluster!r}).", ""]
    vc = res.variance_components() if hasattr(res, "variance_components") else None
    if vc is not None:
        lines += ["## Variance components", "", "```", variance_text(vc), "```", ""]
    lines += ["## Pooled estimates", "", "Model-based (se, ci) and cluster-robust CR2 intervals with Satterthwaite df "
              "(rob_se, rob_df, rob_ci), which stay valid when --rho or the structure is wrong.", "",
              "```", _shown(table).to_string(), "```", ""]
    if len(rob.btt) and (res.p > 1 or res.coef_names != ["intrcpt"]):
        lines += [f"Cluster-robust test of the coefficients {', '.join(res.coef_names[b] for b in rob.btt)} "
                  f"(HTZ): F({rob.QMdf[0]:g}, {rob.QMdf[1]:.2f}) = {rob.QM:.3f}, p {fmt_p(rob.QMp)}.", ""]
    lines += [f"{note}\n" for note in caution_notes(res, table)]
    lines += ["## Effects by study", "", "```"]
    show = [args.cluster] + [c for c in (args.outcome, args.obs) if c is not None] + [args.yi]
    lines += [df[show].assign(ci_lb=df[args.yi] - 1.96 * np.sqrt(df["_vi"]), ci_ub=df[args.yi] + 1.96 * np.sqrt(
        df["_vi"])).sort_values(args.cluster, kind="stable").round(4).to_string(index=False), "```", ""]
    lines += ["Figure: forest.png (effects grouped by study; pooled estimates with both intervals)."]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from bayesma.cli.outputs import staged_dir, writing
    from bayesma.cli.pipeline import save_fig
    from bayesma.plots import forest_grouped

    df, var = load(args)
    out = Path(args.out)
    progress = Progress(2)
    with progress.step(f"fitting the {'CHE' if args.che else 'multivariate'} model and the CR2 robust variance"), \
            about(args.file):
        with in_file_rows(df):  # a message about a row names the file's row
            res, rob, what = fit(df, var, args)
    table = pooled_table(res, rob, df, args)
    df = df.assign(_vi=pd.to_numeric(df[var]))
    print_table(table.round({c: 4 for c in table.columns if not c.endswith("pval")}), title=f"Pooled estimates: model-based and cluster-robust (CR2) 95% intervals; {what}",
                breaks=["rob_se"])  # model-based, then cluster-robust
    for note in caution_notes(res, table):
        say_wrapped(f"{note}\n")
    written = ["mv.csv", "effects.csv", "forest.png", "report.md"]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / "mv.csv"):
            table.to_csv(work / "mv.csv")
        with writing(out / "effects.csv"):
            df.drop(columns="_vi").to_csv(work / "effects.csv", index=False)
        pooled = table[["estimate", "ci_lb", "ci_ub"]].assign(rob_lb=table["rob_ci_lb"], rob_ub=table["rob_ci_ub"])
        labels = df[args.outcome] if args.outcome else (df[args.obs] if args.obs else None)
        fig = forest_grouped(df[args.yi], df["_vi"], df[args.cluster], labels, pooled=pooled, measure=args.measure,
                             group_header="Study / effect")
        with writing(out / "forest.png"):
            save_fig(fig, work / "forest.png")
        with writing(out / "report.md"):
            (work / "report.md").write_text(_report(what, res, rob, table, df, args))
    say_wrapped(f"\nWrote {', '.join(written)} to {out}/")
    return EXIT_OK
