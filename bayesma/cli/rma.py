"""``bayesma rma``: metafor's frequentist estimators on a file (FE, DL, REML, Knapp-Hartung), optionally per outcome."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma.cli.console import Progress, print_table, say_wrapped
from bayesma.cli.errors import EXIT_OK
from bayesma.cli.options import groups_of, load_for_model
from bayesma.cli.outputs import staged_dir, writing
from bayesma.cli.rows import in_file_rows
from bayesma.report import paper_table, small_k_note

__all__ = ["by_table", "method_table", "run"]


def _pi(res: Any) -> tuple[float, float]:
    """The prediction interval of an intercept-only fit (callers never pass a meta-regression)."""
    pred = res.predict()
    return float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0])


def _moderator_test(res: Any) -> dict[str, float]:
    """The omnibus test of the moderators as metafor labels it: ``QM`` (chi-square on df1) for z tests, ``F``
    on (df1, df2) for Knapp-Hartung and the other t tests; ``QM_p`` is its p-value (metafor's ``QMp``)."""
    df = res.QMdf if isinstance(res.QMdf, tuple) else (res.QMdf, None)
    df2 = getattr(res, "dfs", None) if len(df) < 2 or df[1] is None else df[1]
    f_test = df2 is not None
    return {"QM": math.nan if f_test else float(res.QM), "F": float(res.QM) if f_test else math.nan,
            "df1": float(df[0]), "df2": float(df2) if f_test else math.nan, "QM_p": float(res.QMp)}


def method_table(fits: dict[str, Any]) -> pd.DataFrame:
    """One row per method (and coefficient): k, estimate, se, ci_lb, ci_ub, pval, tau2, I2, Q, df, Q_p, PI (and the
    moderator test: QM for z tests, F with df1, df2 for Knapp-Hartung)."""
    rows, index = [], []
    regression = any(len(res.coef_names) > 1 for res in fits.values())
    for name, res in fits.items():
        pi_lb, pi_ub = _pi(res) if not regression else (math.nan, math.nan)
        tau2 = float(res.tau2) if isinstance(res.tau2, (int, float)) else math.nan
        for j, coef in enumerate(res.coef_names):
            rec = {"k": int(res.k), "estimate": float(res.beta[j]), "se": float(res.se[j]),
                   "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]), "pval": float(res.pval[j]),
                   "tau2": tau2, "I2": float(res.I2), "Q": float(res.QE), "df": int(res.k - res.p),
                   "Q_p": float(res.QEp)}
            if regression:
                rec.update(_moderator_test(res))
            else:
                rec.update({"pi_lb": pi_lb, "pi_ub": pi_ub})
            rows.append(rec)
            index.append((name, coef) if regression else name)
    idx = (pd.MultiIndex.from_tuples(index, names=["method", "coef"]) if regression
           else pd.Index(index, name="method"))
    return pd.DataFrame(rows, index=idx)


#: the columns of a meta-regression's table that belong to a coefficient; the others are the model's
COEF_COLUMNS = ["estimate", "se", "ci_lb", "ci_ub", "pval"]


def print_regression(table: pd.DataFrame, title: str) -> None:
    """A meta-regression's table on the console as two: each method's coefficients, then one row per method
    with its heterogeneity and moderator test (in the CSV those repeat on every coefficient's row, which made
    the printed table 150 columns wide)."""
    keys = [n for n in table.index.names if n != "coef"]
    print_table(table[COEF_COLUMNS], title=f"{title}: coefficients")
    model = table.drop(columns=COEF_COLUMNS).groupby(level=keys, sort=False).first()
    model = model.dropna(axis=1, how="all")  # QM (z tests) or F (Knapp-Hartung) where some method has it
    print_table(model, title="Heterogeneity and test of the moderators (QM: z tests; F on df1, df2: Knapp-Hartung)")


def by_table(parts: dict[Any, dict[str, Any]], by: str) -> pd.DataFrame:
    """The combined table of several analyses: k, FE and RE (REML) with CI and p, Q, df, p, I², tau², PI per value."""
    rows = []
    for value, fits in parts.items():
        fe, re_ = fits["FE"], fits["REML"]
        pi_lb, pi_ub = _pi(re_)
        rows.append({by: value, "k": int(re_.k), "FE": float(fe.beta[0]), "FE_lower": float(fe.ci_lb[0]),
                     "FE_upper": float(fe.ci_ub[0]), "FE_p": float(fe.pval[0]), "RE": float(re_.beta[0]),
                     "RE_lower": float(re_.ci_lb[0]), "RE_upper": float(re_.ci_ub[0]), "RE_p": float(re_.pval[0]),
                     "Q": float(re_.QE), "Q_df": int(re_.k - re_.p), "Q_p": float(re_.QEp), "I2": float(re_.I2),
                     "tau2": float(re_.tau2), "pi_lower": pi_lb, "pi_upper": pi_ub})
    return pd.DataFrame(rows).set_index(by)


def _safe(value: Any) -> str:
    return re.sub(r"[^\w.-]+", "_", str(value)).strip("_") or "group"


def run(args: argparse.Namespace) -> int:
    from bayesma.cli.pipeline import frequentist_fits, save_fig  # loads scipy: when the command runs

    df, spec = load_for_model(args)
    spec = {**spec, "mods": args.mods}
    out = Path(args.out)
    progress = Progress(2)
    with progress.step("fitting FE, DL, REML and REML + Knapp-Hartung" + (f" per {args.by}" if args.by else "")):
        if args.by:
            parts = {}
            for value, part in groups_of(df, args.by):
                with in_file_rows(part):
                    parts[value] = frequentist_fits(part, spec)
        else:
            with in_file_rows(df):
                fits = frequentist_fits(df, spec)
    written = []
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        if args.by and not args.mods:
            table = by_table(parts, args.by)
            print_table(paper_table(table), title=f"Frequentist meta-analyses by {args.by} (FE: common effect; "
                                                  "RE: REML; Q: Cochran's Q; all numbers in rma_by.csv)",
                        breaks=["Q(df)"])  # if too wide: the estimates, then heterogeneity
            if note := small_k_note(table):
                say_wrapped(note)
            name = "rma_by.csv"
        elif args.by:
            table = pd.concat({value: method_table(f) for value, f in parts.items()}, names=[args.by])
            print_regression(table, title=f"Frequentist meta-regressions by {args.by} ({args.mods})")
            name = "rma_by.csv"
        else:
            table = method_table(fits)
            what = f"meta-regression {args.mods}" if args.mods else "meta-analysis"
            k = int(table["k"].iloc[0])
            if args.mods:
                print_regression(table, f"Frequentist {what} (k = {k}; 95% CIs)")
            else:
                print_table(table, title=f"Frequentist {what} (k = {k}; 95% CIs and PI)",
                            breaks=["tau2"])  # the estimates, then heterogeneity and the PI
            name = "rma.csv"
        with writing(out / name):
            table.to_csv(work / name)
        written.append(name)
        if not args.mods:  # metafor-style forest plots of the REML fits (intercept-only models)
            plots = ({f"forest_{_safe(v)}.png": (f["REML"], f"{args.by} = {v}") for v, f in parts.items()} if args.by
                     else {"forest.png": (fits["REML"], None)})
            for fname, (res, title) in plots.items():
                with writing(out / fname):
                    save_fig(res.forest(measure=spec["measure"], title=title), work / fname)
                written.append(fname)
    say_wrapped(f"Wrote {', '.join(written)} to {out}/")
    return EXIT_OK
