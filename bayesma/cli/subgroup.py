"""``bayesma subgroup``: a moderator table (per-subgroup pooled effects under FE and RE, Q-between)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma.cli.console import Progress, print_table, say
from bayesma.cli.errors import EXIT_OK, InputError, about
from bayesma.cli.inputs import check_columns
from bayesma.cli.options import load_for_model
from bayesma.cli.outputs import staged_dir, writing
from bayesma.report import fmt_p, num

__all__ = ["moderator_table", "run"]


def moderator_table(fe: Any, re_: Any) -> pd.DataFrame:
    """Per subgroup and model: k, estimate, se, ci_lb, ci_ub, pval; plus both tests of subgroup differences.

    *fe* and *re_* are :class:`bayesma.SubgroupResult` of the common-effect and random-effects fits.
    ``Q_between`` (df, p) tests the subgroup estimates against each other (under RE each subgroup
    has its own tau²); ``QM`` (df, p) is the moderator test of the meta-regression on the
    subgroup as a factor (under RE one common tau², metafor's ``rma(yi, vi, mods = ~ factor(g))``).
    Under FE the two are the same test.
    """
    parts = {}
    for model, sg in (("FE", fe), ("RE", re_)):
        t = sg.table[["k", "estimate", "se", "ci_lb", "ci_ub", "pval"]].copy()
        t["Q_between"] = sg.Q_between
        t["Q_between_df"] = sg.Q_between_df
        t["Q_between_p"] = sg.Q_between_p
        t["QM"] = sg.mixed.QM
        t["QM_df"] = sg.mixed.QMdf[0]
        t["QM_p"] = sg.mixed.QMp
        parts[model] = t
    return pd.concat(parts, names=["model"])


def run(args: argparse.Namespace) -> int:
    from bayesma.cli.pipeline import save_fig
    from bayesma.frequentist import subgroup  # scipy: loaded when the command runs

    df, spec = load_for_model(args)
    with about(args.file):
        check_columns(df, {"--by": args.by})
        if df[args.by].isna().any():
            rows = ", ".join(str(i + 1) for i in df.index[df[args.by].isna()][:10])
            raise InputError(f"column {args.by!r} (--by) is missing in rows {rows}")
    common = dict(data=df, sei=spec["sei"], labels=spec["labels"], missing=spec["missing"])
    out = Path(args.out)
    progress = Progress(2)
    with progress.step(f"pooling within each value of {args.by} (FE and {args.method})"), about(args.file):
        fe = subgroup(spec["yi"], spec["vi"], by=args.by, method="FE", **common)
        re_ = subgroup(spec["yi"], spec["vi"], by=args.by, method=args.method, **common)
    table = moderator_table(fe, re_)
    shown = pd.DataFrame({
        "k": table["k"].astype(int),
        "estimate [95% CI]": [f"{num(e)} [{num(lo)}, {num(hi)}]"
                              for e, lo, hi in table[["estimate", "ci_lb", "ci_ub"]].to_numpy()],
        "SE": [num(v) for v in table["se"]],
        "p": [fmt_p(v).replace("= ", "") for v in table["pval"]],
    }, index=table.index)
    print_table(shown, title=f"Subgroups by {args.by} (k = {len(df)}; FE: common effect; RE: {args.method} within "
                             f"each subgroup; all numbers in subgroups.csv)")
    say(f"Test of subgroup differences, FE: Q_between({fe.Q_between_df}) = {fe.Q_between:.2f}, "
        f"p {fmt_p(fe.Q_between_p)}")
    say(f"Test of subgroup differences, RE ({args.method}), separate tau² per subgroup (Q on the subgroup "
        f"estimates): Q_between({re_.Q_between_df}) = {re_.Q_between:.2f}, p {fmt_p(re_.Q_between_p)}")
    say(f"Test of subgroup differences, RE ({args.method}), common tau² (meta-regression, metafor's "
        f"rma(mods = ~ factor({args.by}))): QM({re_.mixed.QMdf[0]}) = {re_.mixed.QM:.2f}, p {fmt_p(re_.mixed.QMp)}")
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / "subgroups.csv"):
            table.to_csv(work / "subgroups.csv")
        with writing(out / "forest.png"):  # subgroup blocks with their diamonds and the test of differences
            save_fig(re_.forest(measure=spec["measure"]), work / "forest.png")
    say(f"Wrote subgroups.csv, forest.png to {out}/")
    return EXIT_OK
