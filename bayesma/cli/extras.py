"""The frequentist analyses ``bayesma fit`` adds to its report when asked: subgroup tests and publication bias.

``--subgroups COL`` (repeatable) and ``--bias`` run what ``bayesma subgroup`` and ``bayesma bias``
run, with the same numbers, print them, write their files (``subgroups_<COL>.csv`` and its forest
plot; ``bias.csv``, ``funnel.png``) and append a section each to ``report.md`` and ``report.html``,
after the Bayesian fit and its frequentist check.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bayesma.cli.console import print_table, say, say_wrapped
from bayesma.cli.errors import InputError, about
from bayesma.cli.inputs import check_columns
from bayesma.cli.outputs import safe_name
from bayesma.cli.rows import in_file_rows

__all__ = ["Extras", "add_options", "run_extras"]


@dataclass
class Extras:
    """Report sections (Markdown) and the files behind them (name -> writer of that file)."""

    markdown: list[str] = field(default_factory=list)
    files: dict[str, Callable[[Path], None]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(self.markdown)


def add_options(p: argparse.ArgumentParser) -> None:
    """``--subgroups COL`` and ``--bias`` of ``bayesma fit``."""
    p.add_argument("--subgroups", metavar="COL", action="append",
                   help="also pool within each value of COL under FE and RE with the tests of subgroup differences "
                        "(as 'bayesma subgroup'); a section of the report and subgroups_COL.csv (repeatable)")
    p.add_argument("--bias", action="store_true",
                   help="also run the publication-bias diagnostics (as 'bayesma bias'); a section of the report, "
                        "bias.csv and funnel.png")


def _markdown_table(df: pd.DataFrame) -> list[str]:
    from bayesma.report import markdown_table

    return markdown_table(df)


def _save(fig: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        from bayesma.cli.pipeline import save_fig

        save_fig(fig, path)
    return write


def _csv(table: pd.DataFrame) -> Callable[[Path], None]:
    return lambda path: table.to_csv(path)


def run_extras(df: pd.DataFrame, spec: dict[str, Any], args: argparse.Namespace, tag: str = "",
               heading: str = "##", where: str = "") -> Extras:
    """Run the analyses asked for on *df* (one analysis, or one value of ``--by``: *tag* suffixes its files,
    *heading* is the Markdown level of the sections, *where* (``"outcome == 'dropout': "``) opens the title of
    each printed table and warning, as ``bayesma subgroup --per`` and ``bayesma bias --by`` print them)."""
    extras = Extras()
    wanted = list(dict.fromkeys(getattr(args, "subgroups", None) or []))
    if not wanted and not getattr(args, "bias", False):
        return extras
    with about(args.file):
        check_columns(df, {"--subgroups": col for col in wanted})
    for col in wanted:
        _subgroups(df, spec, col, tag, heading, extras, where)
    if getattr(args, "bias", False):
        _bias(df, spec, tag, heading, extras, where)
    return extras


def _subgroups(df: pd.DataFrame, spec: dict[str, Any], col: str, tag: str, heading: str, extras: Extras,
               where: str = "") -> None:
    from bayesma.cli.subgroup import subgroup_analysis

    if spec.get("cluster") is not None or spec.get("mods") is not None:
        raise InputError("--subgroups pools independent studies without moderators: run it without --cluster and "
                         "--mods (or use 'bayesma subgroup')")
    if df[col].isna().any():
        raise InputError(f"column {col!r} (--subgroups) has missing values; every study needs a subgroup")
    res = subgroup_analysis(df, spec, col)
    print_table(res["shown"], title=f"{where}Subgroups by {col} (FE: common effect; RE: REML within each subgroup)")
    for line in res["tests"]:
        say_wrapped(line)
    say()
    name, forest = f"subgroups_{safe_name(col)}{tag}.csv", f"forest_subgroups_{safe_name(col)}{tag}.png"
    extras.files[name] = _csv(res["table"])
    extras.files[forest] = _save(res["re"].forest(measure=spec.get("measure")))
    extras.markdown.append("\n".join([
        f"{heading} Subgroup analysis by {col}", "",
        f"Pooled within each value of {col} under the common-effect (FE) and random-effects (REML) models, each "
        "subgroup with its own heterogeneity (all numbers in " f"`{name}`):", "",
        *_markdown_table(res["shown"]), "", *[f"- {line}" for line in res["tests"]], "",
        f"![Subgroups by {col}]({forest})"]))


def _bias(df: pd.DataFrame, spec: dict[str, Any], tag: str, heading: str, extras: Extras, where: str = "") -> None:
    from bayesma.cli.bias import diagnose
    from bayesma.data import MetaData
    from bayesma.plots import funnel_plot

    if spec.get("cluster") is not None or spec.get("mods") is not None:
        raise InputError("--bias runs the diagnostics of independent studies without moderators: run it without "
                         "--cluster and --mods (or use 'bayesma bias')")
    with in_file_rows(df):
        md = MetaData.create(spec["yi"], spec["vi"], sei=spec["sei"], data=df, labels=spec["labels"],
                             missing=spec["missing"])
    if md.k < 3:
        raise InputError(f"--bias: the bias diagnostics need at least 3 studies, found {md.k}")
    res = diagnose(md, [0.025])
    if res["note"]:
        import warnings

        from bayesma.errors import SmallKWarning

        warnings.warn(f"{where}{res['note']}", SmallKWarning, stacklevel=2)
    from bayesma.cli.bias import print_bias_table

    print_bias_table(res["shown"], title=f"{where}{res['title']}")
    name, funnel = f"bias{tag}.csv", f"funnel{tag}.png"
    extras.files[name] = _csv(res["table"])
    extras.files[funnel] = _save(funnel_plot(res["fits"]["rma"], contours=[0.90, 0.95, 0.99],
                                             measure=spec.get("measure")))
    lines = [f"{heading} Publication bias", "", f"{res['title']}; all numbers in `{name}`:", "",
             *_markdown_table(res["shown"].drop(columns="note")), "",
             *[f"- {method}: {note}" for method, note in res["shown"]["note"].items() if note], ""]
    if res["note"]:
        lines += [f"Small k: {res['note']}.", ""]
    extras.markdown.append("\n".join(lines + [f"![Contour-enhanced funnel plot]({funnel})"]))
