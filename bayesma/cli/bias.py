"""``bayesma bias``: frequentist publication-bias diagnostics of a file in one table, with plots.

Egger's regression test, Begg & Mazumdar's rank test, trim-and-fill, PET, PEESE and the
conditional PET-PEESE estimate, selection models (a step function by default; ``--type`` takes
any weight function of :func:`bayesma.selmodel`) and fail-safe N (Rosenthal, Orwin, Rosenberg),
all with metafor's definitions; the contour-enhanced funnel plot and the estimated selection
functions are written next to the table.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesma._format import format_p
from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK, InputError, about
from bayesma.cli.options import add_subset_option, groups_of, load_yi_vi
from bayesma.cli.outputs import safe_name, staged_dir, writing
from bayesma.cli.rows import in_file_rows

__all__ = ["add_parser", "run", "bias_table"]

COLUMNS = ["estimate", "ci_lb", "ci_ub", "statistic", "pval", "note"]


def add_parser(sub, formatter_class) -> None:
    """Register ``bayesma bias`` on the subparsers *sub*."""
    p = sub.add_parser(
        "bias", help="publication-bias diagnostics: Egger, rank test, trim-and-fill, PET-PEESE, selection model, fail-safe N",
        formatter_class=formatter_class,
        description="Run the frequentist publication-bias methods on FILE (metafor's definitions) and print one "
                    "table; write bias.csv, funnel.png (contour-enhanced) and selection_function.png (one "
                    "selection_function_<type>.png per --type when there are several) into --out.")
    p.add_argument("file", metavar="FILE", help="CSV (comma, semicolon or tab separated) or Excel (.xlsx) file")
    p.add_argument("--yi", required=True, metavar="COL", help="column with the effect sizes")
    var = p.add_mutually_exclusive_group(required=True)
    var.add_argument("--vi", metavar="COL", help="column with the sampling variances")
    var.add_argument("--sei", metavar="COL", help="column with the standard errors (instead of --vi)")
    p.add_argument("--labels", metavar="COL", help="column with (unique) study labels")
    p.add_argument("--type", default="stepfun", metavar="TYPE[,TYPE...]",
                   help="weight function(s) of the selection model, as bayesma.selmodel / metafor's selmodel: "
                        + ", ".join(_types()) + "; several (comma-separated) give one row and one plot each")
    p.add_argument("--steps", default=None, metavar="P[,P...]",
                   help="one-sided p-value cut points of the step-function selection model (1 is added; default "
                        "0.025); with one value also the threshold below which a smooth weight function (not beta) "
                        "is 1")
    p.add_argument("--alternative", default="auto", choices=("auto", "greater", "less"),
                   help="direction in which results are favoured for publication: 'greater' (positive effects), "
                        "'less', or 'auto' (the sign of the random-effects estimate)")
    p.add_argument("--method", default="REML", metavar="NAME",
                   help="tau² estimator of the random-effects model (REML, DL, ML, PM, ...; FE for the "
                        "fixed-effect model), also used by Egger's test and trim-and-fill")
    add_subset_option(p)
    p.add_argument("--by", metavar="COL",
                   help="one analysis per value of COL (e.g. outcome): one table (bias.csv) and plots per value")
    p.add_argument("--measure", metavar="NAME", help="effect measure (OR, RR, SMD, ZCOR, ...), for axis labels")
    p.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)")
    p.add_argument("--missing", choices=("raise", "drop"), default="raise",
                   help="studies with a missing value: an error, or left out with a warning")
    p.add_argument("--out", metavar="DIR", default="bayesma-out", help="output directory")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
    p.set_defaults(command_module="bias")


def _types() -> tuple[str, ...]:
    from bayesma.frequentist.bias.selection import SELMODEL_TYPES

    return SELMODEL_TYPES


def selection_types(text: str) -> list[str]:
    """The ``--type`` list: names of :data:`bayesma.frequentist.bias.selection.SELMODEL_TYPES`."""
    names = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
    unknown = [t for t in names if t not in _types()]
    if not names or unknown:
        raise InputError(f"--type: unknown selection model type(s) {unknown or [text]}; use one or more of "
                         f"{', '.join(_types())} (comma-separated)")
    return list(dict.fromkeys(names))


def _type_steps(type_: str, steps: list[float] | None) -> list[float] | None:
    """The cut points of one selection model: *steps* (default 0.025) for the step function; for a smooth
    weight function the one threshold given (none by default; never for beta)."""
    if type_ == "stepfun":
        return [0.025] if steps is None else steps
    if steps is None or type_ == "beta":
        return None
    if len(steps) != 1:
        raise InputError(f"--steps: the {type_} selection model takes at most one cut point (the p-value below "
                         f"which the weight is 1), got {len(steps)}; give the step function its steps in a "
                         "separate run")
    return steps


def _steps(text: str) -> list[float]:
    try:
        steps = [float(s) for s in text.replace(";", ",").split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--steps: expected p-values such as 0.025,0.5, got {text!r}") from None
    if not steps or any(not 0 < s <= 1 for s in steps):
        raise InputError(f"--steps: cut points must lie in (0, 1], got {text!r}")
    return steps


def _row(estimate=np.nan, ci_lb=np.nan, ci_ub=np.nan, statistic=np.nan, pval=np.nan, note="") -> dict:
    return {"estimate": estimate, "ci_lb": ci_lb, "ci_ub": ci_ub, "statistic": statistic, "pval": pval, "note": note}


def bias_table(yi, vi, *, labels=None, steps=(0.025,), alternative: str = "auto", method: str = "REML",
               types=("stepfun",)):
    """All the diagnostics of ``bayesma bias`` on arrays: (table, fits).

    Returns the table (one row per method; columns estimate, ci_lb, ci_ub, statistic, pval, note)
    and a dict of the fitted objects (``rma``, ``egger``, ``ranktest``, ``trimfill``, ``petpeese``,
    ``selmodels`` -- one per type of *types*, None when it could not be fitted --, ``selmodel`` (the
    first), ``fsn``). *steps* are the step function's cut points (None: 0.025).
    """
    # loaded when the command runs (scipy), not for ``bayesma --help``
    from bayesma.frequentist import egger_test, fsn, pet_peese, ranktest, rma, selmodel, trimfill
    from bayesma.frequentist.bias.direction import resolve_alternative

    data = pd.DataFrame({"yi": yi, "vi": vi})
    lab = None if labels is None else list(labels)
    res = rma("yi", "vi", data=data, method=method, labels=lab)
    # the library's one direction rule (the CLI and Python agree on the same data)
    alternative = resolve_alternative(alternative, np.asarray(yi, float), np.asarray(vi, float), "bayesma bias")
    rows: dict[str, dict] = {}
    rows[f"Random-effects model ({method})"] = _row(res.beta[0], res.ci_lb[0], res.ci_ub[0], res.stat[0], res.pval[0],
                                                    f"k = {res.k}, tau2 = {res.tau2:.4f}, I2 = {res.I2:.2f}%")
    eg = egger_test("yi", "vi", data=data, method=method)
    rows["Egger's regression test"] = _row(eg.b if eg.b is not None else np.nan, eg.ci_lb if eg.ci_lb is not None
                                           else np.nan, eg.ci_ub if eg.ci_ub is not None else np.nan, eg.z, eg.p,
                                           "estimate: limit effect as sei -> 0; statistic: z of the sei slope")
    rt = ranktest("yi", "vi", data=data)
    rows["Rank correlation test"] = _row(statistic=rt.tau, pval=rt.pval,
                                         note="statistic: Kendall's tau" + ("" if rt.exact else " (ties: normal approx.)"))
    tf = trimfill(res)  # the random-effects model's estimator, as metafor's trimfill(res)
    rows[f"Trim-and-fill ({method}, L0)"] = _row(tf.beta, tf.ci_lb, tf.ci_ub, tf.stat, tf.pval,
                                          f"k0 = {tf.k0} filled on the {tf.side}")
    pp = pet_peese("yi", "vi", data=data, alternative=alternative)
    for name, fit in (("PET", pp.pet), ("PEESE", pp.peese)):
        rows[f"{name} (intercept)"] = _row(fit.beta[0], fit.ci_lb[0], fit.ci_ub[0], fit.stat[0], fit.pval[0],
                                           f"slope {fit.beta[1]:.4f} (p {format_p(fit.pval[1], relation=True)})")
    side = ">" if pp.alternative == "greater" else "<"
    rows["PET-PEESE"] = _row(pp.estimate, pp.ci_lb, pp.ci_ub, np.nan, pp.pval,
                             f"{pp.chosen} (test of PET intercept {side} 0, one-sided: p {format_p(pp.pet_pval_one_sided, relation=True)})")
    sels = {}
    for type_ in types:
        cuts = _type_steps(type_, None if steps is None else list(steps))
        sels[type_], rows[_selection_name(type_, cuts)] = _selection_row(res, type_, cuts, alternative, selmodel)
    fs = {t: fsn("yi", "vi", data=data, type=t) for t in ("Rosenthal", "Orwin", "Rosenberg")}
    rows["Fail-safe N (Rosenthal)"] = _row(fs["Rosenthal"].fsnum, pval=fs["Rosenthal"].pval,
                                           note="studies averaging z = 0 to reach p = 0.05 (one-sided)")
    rows["Fail-safe N (Orwin)"] = _row(fs["Orwin"].fsnum, note=f"null studies to bring the mean effect to "
                                       f"{fs['Orwin'].target:.4f} (half of {fs['Orwin'].meanes:.4f})")
    rows["Fail-safe N (Rosenberg)"] = _row(fs["Rosenberg"].fsnum, pval=fs["Rosenberg"].pval,
                                           note="null studies to make the FE test non-significant (two-sided 0.05)")
    table = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    table.index.name = "method"
    fits = {"rma": res, "egger": eg, "ranktest": rt, "trimfill": tf, "petpeese": pp, "selmodels": sels,
            "selmodel": sels[types[0]], "fsn": fs, "alternative": alternative}
    return table, fits


def _selection_name(type_: str, cuts: list[float] | None) -> str:
    where = f" ({', '.join(f'{s:g}' for s in cuts)})" if cuts else ""
    return f"Step selection model{where}" if type_ == "stepfun" else f"Selection model ({type_}){where.replace('(', '(step ')}"


def _selection_row(res, type_: str, cuts: list[float] | None, alternative: Any, selmodel) -> tuple[Any, dict]:
    """One selection model and its row (None and a 'not fitted' note when it fails)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sel = selmodel(res, type_, steps=cuts, alternative=alternative)
    except (ValueError, RuntimeError) as exc:
        return None, _row(note=f"not fitted: {exc}")
    extra = "; ".join(dict.fromkeys(str(w.message) for w in caught))
    note = f"statistic: LRT (df = {sel.LRTdf}) " + ("of the weights " if type_ == "stepfun"
                                                     else "against no selection; delta ")
    note += ", ".join(f"{d:.4f}" for d in sel.delta)
    if type_ == "stepfun":
        note += "; k per interval " + ", ".join(str(int(k)) for k in sel.k_per_interval)
    return sel, _row(sel.beta[0], sel.ci_lb[0], sel.ci_ub[0], sel.LRT, sel.LRTp, note + (f"; {extra}" if extra else ""))


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


#: below this many studies the funnel-plot methods have too little power to tell asymmetry from chance
#: (Sterne et al. 2011, BMJ 343:d4002; Cochrane Handbook, section 13.3.5.4: at least 10 studies)
MIN_K_FUNNEL = 10


def small_k_text(k: int) -> str:
    """The small-k caution of ``bayesma bias`` (empty at k >= 10), in the words of ``fit``'s k < 5 warning."""
    if k >= MIN_K_FUNNEL:
        return ""
    return (f"k = {k} studies (< {MIN_K_FUNNEL}): Egger's test, the rank test, trim-and-fill and PET-PEESE have "
            "little power to detect funnel-plot asymmetry and a selection model has few studies per p-value "
            "interval, so a non-significant result is no evidence against publication bias (tests of asymmetry "
            "need at least 10 studies: Sterne et al. 2011; Cochrane Handbook 13.3.5.4)")


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The bias table as printed: metafor's 4 decimals (never ``-0.268`` beside ``-0.02283``), fail-safe N as
    whole numbers of studies, p-values through :func:`bayesma._format.format_p`, blanks where a method has no
    such number. The number columns stay numbers (right-aligned by the console table)."""
    shown = table.astype(object)
    fsn_rows = [str(r).startswith("Fail-safe N") for r in table.index]
    for col in ("estimate", "ci_lb", "ci_ub", "statistic"):
        shown[col] = pd.Series([None if pd.isna(v) else (int(round(v)) if fsn and col == "estimate" else float(v))
                                for v, fsn in zip(table[col], fsn_rows)], index=table.index, dtype=object)
    return shown


def print_bias_table(shown: pd.DataFrame, title: str) -> None:
    """The bias table on the console: the numbers in columns, each method's note under the table (wrapped at
    100 columns; a note column would make every row as wide as the longest note)."""
    print_table(shown.drop(columns="note"), title=title)
    for method, note in shown["note"].items():
        if note:
            say_wrapped(f"{method}: {note}")
    say()


def diagnose(md, steps: list[float] | None, alternative: str = "auto", method: str = "REML",
             types: tuple[str, ...] | list[str] = ("stepfun",)) -> dict[str, Any]:
    """The diagnostics of one analysis (*md* a :class:`bayesma.MetaData`).

    Returns a dict: ``table`` and ``fits`` (:func:`bias_table`; the methods' notes say ``k = ... < 10``
    at small k), ``shown`` (rounded for a reader), ``title`` and the small-k ``note`` (empty at k >= 10).
    """
    note = small_k_text(md.k)
    table, fits = bias_table(md.yi, md.vi, labels=md.labels, steps=steps, alternative=alternative, method=method,
                             types=tuple(types))
    if note:
        for row in table.index[1:]:  # every method but the random-effects model and fail-safe N
            if row.startswith("Fail-safe"):
                continue
            table.loc[row, "note"] = "; ".join(p for p in (table.loc[row, "note"], f"k = {md.k} < 10") if p)
    shown = shown_table(table)
    direction = fits["alternative"]
    title = (f"Publication bias (alternative = {str(direction)!r}, {getattr(direction, 'how', 'as given')}; "
             "estimates on the scale of yi)")
    return {"table": table, "fits": fits, "shown": shown, "title": title, "note": note}


def _diagnose(md, args: argparse.Namespace, steps: list[float] | None, types: list[str], title: str):
    """Run and print the diagnostics of one analysis: (table, fits)."""
    from bayesma.errors import SmallKWarning

    res = diagnose(md, steps, args.alternative, args.method, types)
    if res["note"]:
        warnings.warn(f"{title}{res['note']}", SmallKWarning, stacklevel=2)
    print_bias_table(res["shown"], title=f"{title}{res['title']}")
    if res["note"]:
        say_wrapped(f"Small k: {res['note']}.\n")
    return res["table"], res["fits"]


def run(args: argparse.Namespace) -> int:
    from bayesma.data import MetaData
    from bayesma.plots import funnel_plot

    df = load_yi_vi(args)
    steps = None if args.steps is None else _steps(args.steps)
    types = selection_types(args.type)
    for type_ in types:
        _type_steps(type_, steps)  # a bad combination is an error before any fit
    if steps is not None and all(t == "beta" for t in types):  # never silently ignored
        raise InputError(f"--steps {args.steps}: the beta selection model has no cut points (its weights are a "
                         "smooth function of the p-value); give --type stepfun (or halfnorm, negexp, ...) for "
                         "steps, or leave --steps out")
    parts = groups_of(df, args.by) if args.by else [(None, df)]
    analyses = []
    with about(args.file):
        for value, part in parts:
            with in_file_rows(part):
                md = MetaData.create(args.yi, args.vi, sei=args.sei, data=part, labels=args.labels,
                                     missing=args.missing)
            where = "" if value is None else f" ({args.by} == {value!r})"
            if md.k < 3:
                raise InputError(f"the bias diagnostics need at least 3 studies, found {md.k}{where}")
            analyses.append((value, md))
    out = Path(args.out)
    progress = Progress(2)
    tables, files = {}, []
    k_all = sum(md.k for _, md in analyses)
    with progress.step(f"running the publication-bias diagnostics on k = {k_all} "
                       + (f"effects ({len(analyses)} analyses by {args.by}: "
                          + ", ".join(f"{v} k = {md.k}" for v, md in analyses) + ")" if args.by else "studies")):
        for value, md in analyses:
            title = "" if value is None else f"{args.by} == {value!r}: "
            tables[value], fits = _diagnose(md, args, steps, types, title)
            tail = "" if value is None else f"_{safe_name(value)}"
            files.append((f"funnel{tail}.png", funnel_plot(fits["rma"], contours=[0.90, 0.95, 0.99],
                                                           measure=args.measure)))
            for type_, sel in fits["selmodels"].items():
                if sel is not None:  # one plot per type; named by the type when there are several
                    kind = f"_{type_}" if len(types) > 1 else ""
                    files.append((f"selection_function{kind}{tail}.png", sel.plot()))
    table = tables[None] if args.by is None else pd.concat(tables, names=[args.by])
    written = ["bias.csv"] + [name for name, _ in files]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / "bias.csv"):
            table.to_csv(work / "bias.csv")
        for name, fig in files:
            with writing(out / name):
                _save(fig, work / name)
    say_wrapped(f"\nWrote {', '.join(written)} to {out}/")
    return EXIT_OK
