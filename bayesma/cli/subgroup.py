"""``bayesma subgroup``: a moderator table (per-subgroup pooled effects under FE and RE, Q-between)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK, about
from bayesma.cli.inputs import check_columns
from bayesma.cli.options import groups_of, load_for_model
from bayesma.cli.outputs import safe_name, staged_dir, writing
from bayesma.cli.rows import in_file_rows
from bayesma.report import fmt_p, num
from bayesma.report.tables import fmt_tau2

__all__ = ["moderator_table", "run"]


def moderator_table(fe: Any, re_: Any) -> pd.DataFrame:
    """Per subgroup and model: k, estimate, se, ci_lb, ci_ub, pval, the subgroup's heterogeneity tau², I², Q
    (df, p); plus both tests of subgroup differences.

    *fe* and *re_* are :class:`bayesma.SubgroupResult` of the common-effect and random-effects fits.
    ``Q_between`` (df, p) tests the subgroup estimates against each other (under RE each subgroup
    has its own tau²); ``QM`` (df, p) is the moderator test of the meta-regression on the
    subgroup as a factor (under RE one common tau², metafor's ``rma(yi, vi, mods = ~ factor(g))``).
    Under FE the two are the same test. ``tau2``, ``I2`` and ``Q`` are those of the subgroup's own
    random-effects fit (the same in both models' rows; Q is Cochran's, df = k - 1).
    """
    parts = {}
    het = re_.table[["tau2", "I2", "QE", "QEp"]].rename(columns={"QE": "Q", "QEp": "Q_p"})
    for model, sg in (("FE", fe), ("RE", re_)):
        t = sg.table[["k", "estimate", "se", "ci_lb", "ci_ub", "pval"]].copy()
        t["tau2"] = het["tau2"]
        t["I2"] = het["I2"]
        t["Q"] = het["Q"]
        t["Q_df"] = t["k"] - 1
        t["Q_p"] = het["Q_p"]
        t["Q_between"] = sg.Q_between
        t["Q_between_df"] = sg.Q_between_df
        t["Q_between_p"] = sg.Q_between_p
        t["QM"] = sg.mixed.QM
        t["QM_df"] = sg.mixed.QMdf[0]
        t["QM_p"] = sg.mixed.QMp
        parts[model] = t
    return pd.concat(parts, names=["model"])


def subgroup_analysis(part: pd.DataFrame, spec: dict[str, Any], by: str, method: str = "REML") -> dict[str, Any]:
    """Pool *part* within each value of the moderator *by* under FE and RE (*method*).

    Returns a dict: ``table`` (:func:`moderator_table`), ``shown`` (the same rounded for a reader),
    ``tests`` (the three tests of subgroup differences, one sentence each), ``fe``, ``re``.
    """
    from bayesma.frequentist import subgroup  # scipy: loaded when the command runs

    common = dict(data=part, sei=spec["sei"], labels=spec["labels"], missing=spec["missing"])
    with in_file_rows(part):
        fe = subgroup(spec["yi"], spec["vi"], by=by, method="FE", **common)
        re_ = subgroup(spec["yi"], spec["vi"], by=by, method=method, **common)
    table = moderator_table(fe, re_)
    shown = pd.DataFrame({
        "k": table["k"].astype(int),
        "estimate [95% CI]": [f"{num(e)} [{num(lo)}, {num(hi)}]"
                              for e, lo, hi in table[["estimate", "ci_lb", "ci_ub"]].to_numpy()],
        "SE": [num(v) for v in table["se"]],
        "p": [fmt_p(v).replace("= ", "") for v in table["pval"]],
        # the FE model has no tau²; 3 decimals as every table of tau² (bayesma rma, fit --by) and the report's
        # "tau² = 0.026"; a subgroup of one study has no heterogeneity to estimate: "—", as the --by tables write it
        "tau²": ["" if model == "FE" else ("—" if k == 1 else fmt_tau2(v)) for model, k, v in
                 zip(table.index.get_level_values("model"), table["k"], table["tau2"])],
        "I²": ["—" if k == 1 else f"{v:.0f}%" for k, v in zip(table["k"], table["I2"])],
        "Q(df), p": [f"{q:.2f} ({int(d)}), {fmt_p(p).replace('= ', '')}" if d > 0 else ""
                     for q, d, p in table[["Q", "Q_df", "Q_p"]].to_numpy()],
    }, index=table.index)
    df1 = re_.mixed.QMdf[0]
    stat = "QM" if re_.mixed.QMdf[1] is None else "F"
    tests = [f"Test of subgroup differences, FE: Q_between({fe.Q_between_df}) = {fe.Q_between:.2f}, "
             f"p {fmt_p(fe.Q_between_p)}",
             f"Test of subgroup differences, RE ({method}), separate tau² per subgroup: Q_between({re_.Q_between_df}) "
             f"= {re_.Q_between:.2f}, p {fmt_p(re_.Q_between_p)} (Q on the subgroup estimates)",
             f"Test of subgroup differences, RE ({method}), common tau²: {stat}({df1}) = {re_.mixed.QM:.2f}, "
             f"p {fmt_p(re_.mixed.QMp)} (meta-regression, metafor's rma(mods = ~ factor({by})))"]
    return {"table": table, "shown": shown, "tests": tests, "fe": fe, "re": re_}


def _analyse(part: pd.DataFrame, spec: dict[str, Any], args: argparse.Namespace, title: str) -> tuple[Any, Any, Any]:
    """Pool one file (or one value of --per) by --by: (table, FE fit, RE fit), the table printed with both tests."""
    res = subgroup_analysis(part, spec, args.by, args.method)
    print_table(res["shown"], title=f"{title}Subgroups by {args.by} (k = {len(part)}; FE: common effect; RE: "
                                    f"{args.method} within each subgroup; all numbers in subgroups.csv)")
    for line in res["tests"]:
        say_wrapped(line)
    say()
    return res["table"], res["fe"], res["re"]


def run(args: argparse.Namespace) -> int:
    from bayesma.cli.pipeline import save_fig

    df, spec = load_for_model(args)
    with about(args.file):
        check_columns(df, {"--by": args.by, "--per": args.per})
        groups_of(df, args.by)  # a row without a subgroup: named
    parts = groups_of(df, args.per, "--per") if args.per else [(None, df)]
    out = Path(args.out)
    progress = Progress(2)
    tables, figures = {}, []
    with progress.step(f"pooling within each value of {args.by} (FE and {args.method})"
                       + (f", per {args.per}" if args.per else "")), about(args.file):
        for value, part in parts:
            title = "" if value is None else f"{args.per} == {value!r}: "
            tables[value], fe, re_ = _analyse(part, spec, args, title)
            name = "forest.png" if value is None else f"forest_{safe_name(value)}.png"
            figures.append((name, re_.forest(measure=spec["measure"])))
    table = tables[None] if args.per is None else pd.concat(tables, names=[args.per])
    written = ["subgroups.csv"] + [name for name, _ in figures]
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / "subgroups.csv"):
            table.to_csv(work / "subgroups.csv")
        for name, fig in figures:  # subgroup blocks with their diamonds and the test of differences
            with writing(out / name):
                save_fig(fig, work / name)
    say_wrapped(f"Wrote {', '.join(written)} to {out}/")
    return EXIT_OK
