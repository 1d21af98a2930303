"""From command-line options to bayesma objects: data, model specification, priors."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma import measures, priors
from bayesma.cli.checks import check_rows
from bayesma.cli.errors import InputError, about
from bayesma.cli.inputs import check_columns, formula_columns, read_table
from bayesma.cli.rows import file_row, in_file_rows
from bayesma.models import MetaAnalysis


def split_labelled(spec: str) -> tuple[str | None, str]:
    """``"wide=halfnormal(1)"`` -> ("wide", "halfnormal(1)"); ``"halfnormal(sigma=1)"`` -> (None, spec).

    A label is whatever precedes the first ``=`` when that part has no parenthesis.
    """
    m = re.match(r"^\s*([^=()]+?)\s*=\s*(.+)$", spec)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return None, spec.strip()


def parse_prior(spec: str | None, option: str, target: tuple[str, ...]):
    if spec is None:
        return None
    with about(option):
        return priors.as_prior(spec, target=target, name=option.lstrip("-").replace("-prior", ""))


def parse_list(text: str | None, option: str, kind: Callable[[str], Any] = float) -> list[Any] | None:
    if text is None:
        return None
    try:
        return [kind(x) for x in re.split(r"[,\s]+", text.strip()) if x]
    except ValueError:
        raise InputError(f"{option}: expected a comma-separated list of numbers, got {text!r}") from None


def model_spec_args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "yi": args.yi, "vi": args.vi, "sei": args.sei, "labels": args.labels,
        "mods": getattr(args, "mods", None), "cluster": getattr(args, "cluster", None),
        "tau_by": getattr(args, "tau_by", None), "measure": _measure(args.measure),
        "missing": getattr(args, "missing", "raise"), "rho": getattr(args, "rho", None),
        "outcome": getattr(args, "outcome", None), "struct": getattr(args, "struct", None),
    }


def dependence_args(spec: dict[str, Any]) -> dict[str, Any]:
    """The dependent-effects arguments of :class:`bayesma.MetaAnalysis` given on the command line
    (``--rho``, ``--outcome``, ``--struct``); empty for the other models."""
    return {key: spec[key] for key in ("rho", "outcome", "struct") if spec.get(key) is not None}


def _measure(m: str | None) -> str | None:
    """The registry name of ``--measure`` (None when not given); an unknown name is an input error."""
    if not isinstance(m, str) or not m.strip():
        return None
    with about("--measure"):
        return measures.lookup(m)


def column_options(spec: dict[str, Any]) -> dict[str, Any]:
    wanted = {"--yi": spec["yi"], "--vi": spec.get("vi"), "--sei": spec.get("sei"),
              "--labels": spec.get("labels"), "--cluster": spec.get("cluster"), "--tau-by": spec.get("tau_by"),
              "--outcome": spec.get("outcome")}
    for col in formula_columns(spec.get("mods")):
        wanted.setdefault(f"--mods ({col})", col)
    return wanted


def add_subset_option(p: argparse.ArgumentParser) -> None:
    """``--subset EXPR``: analyse only the rows where a condition holds (a pandas query)."""
    p.add_argument("--subset", metavar="EXPR",
                   help="analyse only the rows where EXPR holds, e.g. \"outcome == 'misconduct'\" or "
                        "\"n >= 50 and setting != 'prison'\" (a pandas query; text in quotes)")


def apply_subset(df: pd.DataFrame, expr: str | None) -> pd.DataFrame:
    """The rows of *df* selected by ``--subset`` (a pandas query such as ``outcome == 'misconduct'``).

    Raises
    ------
    InputError
        The expression cannot be read or names an unknown column (one line, with an
        example and the columns), or it selects no rows.
    """
    if expr is None or not str(expr).strip():
        return df
    try:
        out = df.query(expr, engine="python")
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds for a bad expression
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(
            f"--subset {expr!r} cannot be evaluated ({type(exc).__name__}: {reason}); write a condition on the "
            f"columns such as --subset \"outcome == 'misconduct'\" (text in quotes; a column name with spaces in "
            f"`backticks`); the columns are: {', '.join(str(c) for c in df.columns)}"
        ) from None
    if not isinstance(out, pd.DataFrame):
        raise InputError(f"--subset {expr!r} is not a condition on the rows (e.g. \"outcome == 'misconduct'\")")
    if out.empty:
        raise InputError(f"--subset {expr!r} selects no rows of the {len(df)} in the file")
    return out  # the index keeps the file's row numbers


def load_yi_vi(args: argparse.Namespace) -> pd.DataFrame:
    """Read FILE for a command that takes ``--yi`` with ``--vi`` or ``--sei`` (``bias``, ``robma``):
    the columns checked, ``--subset`` applied and the rows checked (one analysis, no ``--cluster``;
    with ``--by`` each value's rows as one analysis)."""
    df = read_table(args.file, args.sheet)
    by = getattr(args, "by", None)
    var = {"--vi": args.vi} if args.vi is not None else {"--sei": args.sei}
    check_columns(df, {"--yi": args.yi, **var, "--labels": args.labels, "--by": by})
    df = apply_subset(df, args.subset)
    checks = {"yi": args.yi, "vi": args.vi, "sei": args.sei, "labels": args.labels, "missing": args.missing,
              "cluster_option": False}
    with about(args.file):  # several outcomes per study pooled as one analysis: refused or warned
        if by is None:
            check_rows(df, checks, by_option=hasattr(args, "by"))
        else:
            check_groups(df, by, checks, args.file)
    return df


def check_groups(df: pd.DataFrame, by: str, checks: dict[str, Any], file: str, option: str = "--by") -> None:
    """:func:`~bayesma.cli.checks.check_rows` on each value's rows of ``--by COL``, every problem in one error.

    One value with problems: its error as before (``FILE, rows with outcome == 'dropout': 2 problems: ...``);
    several: one line naming each value and its problems, so that a file is fixed in one pass rather than
    one value of *by* at a time.

    Raises
    ------
    InputError
        The problems of every value of *by*.
    """
    failed: list[tuple[Any, InputError]] = []
    parts = groups_of(df, by, option)
    for value, part in parts:
        try:
            with about(f"{file}, rows with {by} == {value!r}"):
                check_rows(part, checks, by_option=False)  # --by used: advise --subset
        except InputError as exc:
            failed.append((value, exc))
    if len(failed) == 1:
        raise failed[0][1]
    if failed:
        text = "; ".join(f"[{by} == {value!r}] {exc}" for value, exc in failed)
        raise InputError(f"{len(failed)} of the {len(parts)} analyses ({option} {by}) have problems: {text}")


def groups_of(df: pd.DataFrame, by: str, option: str = "--by") -> list[tuple[Any, pd.DataFrame]]:
    """The analyses of ``--by COL``: (value, its rows renumbered from 1) in sorted order.

    Raises
    ------
    InputError
        A row without a value of COL (the rows named).
    """
    if df[by].isna().any():
        rows = ", ".join(str(file_row(df, i)) for i in np.flatnonzero(df[by].isna().to_numpy())[:10])
        raise InputError(f"column {by!r} ({option}) is missing in rows {rows}")
    keys = sorted(df[by].unique(), key=lambda v: (isinstance(v, str), v))
    parts = []
    for key in keys:  # rows keep the file's numbers; the plots of a part take its title from attrs["subset"]
        part = df[df[by] == key].copy()
        part.attrs = {**df.attrs, "subset": f"{by} = {key}"}
        parts.append((key, part))
    return parts


#: NUTS's tuning steps per chain when --tune is not given
DEFAULT_TUNE = 1000


def tune_steps(args: argparse.Namespace, engine: str) -> int:
    """``--tune`` for the engine that runs: an error when the engine does not tune (the exact engine draws
    independent samples, so a --tune would be silently ignored), else the steps (default 1000).

    Raises
    ------
    InputError
        ``--tune`` given with an engine other than NUTS.
    """
    if getattr(args, "tune", None) is None:
        return DEFAULT_TUNE
    if engine != "nuts":
        how = "" if getattr(args, "engine", engine) == engine else f" (chosen by --engine {args.engine})"
        raise InputError(f"--tune {args.tune}: the {engine} engine{how} does not tune (its draws are independent); "
                         "give --engine nuts to sample with PyMC, or leave --tune out")
    return int(args.tune)


def load_for_model(args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, Any]]:
    spec = model_spec_args(args)
    if spec["vi"] is None and spec["sei"] is None:
        raise InputError("give the sampling variances with --vi COL or the standard errors with --sei COL")
    # the option that splits the file into analyses: --by, or --per for subgroup (whose --by is the moderator)
    split = "--per" if hasattr(args, "per") else "--by"
    by = getattr(args, split[2:], None)
    with about(args.file):
        df = read_table(args.file, sheet=getattr(args, "sheet", None))
        check_columns(df, {**column_options(spec), split: by})
        df = apply_subset(df, getattr(args, "subset", None))
        checks = {**spec, "cluster_option": hasattr(args, "cluster"),  # advise --cluster only where it exists
                  "moderators": [args.by] if split == "--per" and getattr(args, "by", None) else []}  # subgroup --by
        if by is None:
            check_rows(df, checks, by_option=split if hasattr(args, split[2:]) else False)
        else:
            check_groups(df, by, checks, args.file, split)
    return df, spec


def build_model(df: pd.DataFrame, spec: dict[str, Any], priors: dict[str, Any], source: str):
    with about(source), in_file_rows(df):
        return MetaAnalysis(df, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
                               mods=spec["mods"], tau_by=spec["tau_by"], cluster=spec["cluster"],
                               priors=priors or None, measure=spec["measure"], missing=spec["missing"],
                               **dependence_args(spec))


def priors_from_args(args: argparse.Namespace) -> dict[str, Any]:
    out = {}
    tau = parse_prior(getattr(args, "tau_prior", None), "--tau-prior", ("tau", "tau2"))
    mu = parse_prior(getattr(args, "mu_prior", None), "--mu-prior", ("location",))
    if tau is not None:
        out["tau"] = tau
    if mu is not None:
        out["mu"] = mu
    return out


def labelled_priors(specs: Sequence[str] | None, option: str, target: tuple[str, ...]) -> dict[str, Any] | None:
    if not specs:
        return None
    out: dict[str, Any] = {}
    for spec in specs:
        label, text = split_labelled(spec)
        prior = parse_prior(text, option, target)
        key = label or repr(prior)
        if key in out and out[key] != prior:  # never drop a prior silently
            raise InputError(f"{option}: two priors under the label {key!r} ({out[key]!r} and {prior!r}); "
                             "give each its own label, e.g. 'narrow=halfnormal(0.5)'", column=option)
        out[key] = prior
    return out
