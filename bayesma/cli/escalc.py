"""``bayesma escalc``: effect sizes and sampling variances of a file (metafor's escalc)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bayesma import measures
from bayesma.cli.checks import label_column, separating_column
from bayesma.cli.console import say
from bayesma.cli.errors import EXIT_OK, PROG, InputError, about
from bayesma.cli.inputs import EXCEL_SUFFIXES, check_columns, read_table
from bayesma.cli.outputs import staged_file, writing
from bayesma.cli.parser import ESCALC_ARGS
from bayesma.cli.rows import in_file_rows
from bayesma.effects import MEASURES as ESCALC_MEASURES
from bayesma.effects import escalc


def _mixed(df: pd.DataFrame, measure: str, also: str, given: dict[str, str], args: argparse.Namespace) -> pd.DataFrame:
    """Effects of one measure from mixed inputs: rows with the columns of *measure* use it, the others *also*.

    E.g. ``escalc SMD ... --also R2D --ri r --ni n``: Hedges' g from means and SDs where a study
    reports them, Cohen's d from r and n where it reports a correlation. Adds the columns
    ``es_measure`` (the measure of each row) and ``es_conversion`` (how a converted row was
    converted, from the registry's :attr:`bayesma.measures.Measure.conversion`; empty for the others).
    """
    m1, m2 = measures.get(measure), measures.get(also)
    if (m1.scale, m1.unit_sd) != (m2.scale, m2.unit_sd) or m1.back_label != m2.back_label:
        raise InputError(f"--also {also}: {m2.plural} cannot be pooled with {m1.plural} (a different scale); "
                         f"choose a conversion to {m1.description}, e.g. R2D for d from r")
    args1 = [a for a in ESCALC_MEASURES[measure][1] if a in given]
    args2 = [a for a in ESCALC_MEASURES[also][1] if a in given]
    unused = [f"--{a}" for a in given if a not in args1 and a not in args2]
    if unused:
        raise InputError(f"{', '.join(unused)} is used by neither {measure} nor {also}")
    own = [a for a in args1 if a not in args2]  # the columns only the main measure uses
    if not own:
        raise InputError(f"give the columns of {measure} (e.g. its means or counts) and of {also}; rows without the "
                         f"columns of {measure} take {also}")
    use_main = df[[given[a] for a in own]].notna().all(axis=1)
    parts, failed = [], []
    for name, args_, mask in ((measure, args1, use_main), (also, args2, ~use_main)):
        if not mask.any():
            continue
        sub = df.loc[mask]
        args_ = [a for a in args_ if sub[given[a]].notna().any()]  # e.g. R2D rows have no group sizes
        try:
            with in_file_rows(sub):  # the library counts rows over sub: name the file's rows
                es = escalc(name, data=sub, slab=args.slab, add=args.add, to=args.to,
                            vtype=args.vtype if name == measure else "LS", var_names=(args.yi_name, args.vi_name),
                            **{a: given[a] for a in args_})
        except InputError as exc:  # the other measure's rows are checked too: every bad row in one error
            failed.append((name, exc))
            continue
        es["es_measure"] = name
        es["es_conversion"] = measures.get(name).conversion or ""
        parts.append(es)
    if len(failed) == 1:
        raise failed[0][1]
    if failed:
        raise InputError("; ".join(f"rows of {name}: {exc}" for name, exc in failed))
    out = pd.concat(parts).loc[df.index]
    out.attrs["measure"] = measure
    return out


def run(args: argparse.Namespace) -> int:
    measure = args.measure.strip().upper()
    given = {name: getattr(args, name) for name in ESCALC_ARGS if getattr(args, name) is not None}
    if not given:
        raise InputError(f"name the columns that hold the study data, e.g. --ai COL --bi COL --ci COL --di COL "
                         f"for measure {measure}")
    with about(args.file):
        df = read_table(args.file, sheet=args.sheet)
        check_columns(df, {f"--{k}": v for k, v in {**given, "labels": args.slab}.items()})
        if getattr(args, "also", None):
            es = _mixed(df, measure, args.also.strip().upper(), given, args)
        else:
            with in_file_rows(df):
                es = escalc(measure, data=df, slab=args.slab, add=args.add, to=args.to, vtype=args.vtype,
                            var_names=(args.yi_name, args.vi_name), **given)
    for name in ("ni", "n1i", "n2i", "ai", "bi", "ci", "di", "xi", "x1i", "x2i"):  # counts read as floats
        col = es[given[name]] if name in given else None  # (a CSV column with an empty cell) stay integers
        if col is not None and col.dtype.kind == "f" and (col.dropna() % 1 == 0).all():
            es[given[name]] = col.astype("Int64")
    what = measures.get(measure).plural
    if "es_measure" in es.columns:
        counts = es["es_measure"].value_counts()
        what = "; ".join(f"{measures.get(m).description} for {n} rows" for m, n in counts.items())
    n_missing = int((es[args.yi_name].isna() | es[args.vi_name].isna()).sum())
    lab = args.slab or label_column(es, None)
    n_studies = int(es[lab].nunique()) if lab is not None and lab in es.columns else len(es)
    unit = "rows" if n_studies < len(es) else "studies"  # a study with several rows (outcomes) counts once
    done = f"for {len(es) - n_missing} of {len(es)} {unit}" if n_missing else f"for {len(es)} {unit}"
    if unit == "rows":
        done += f" ({n_studies} studies)"
    gap = (f"; {n_missing} stud{'y has' if n_missing == 1 else 'ies have'} no effect size or variance "
           f"(see the warning{'s' if n_missing > 1 else ''} above)") if n_missing else ""
    if args.out in (None, "-"):
        es.to_csv(sys.stdout, index=False)
        print(f"{PROG}: added {args.yi_name} and {args.vi_name} ({what}) {done}{gap}", file=sys.stderr)
        return EXIT_OK
    out = Path(args.out)
    with staged_file(out) as tmp, writing(out):
        if out.suffix.lower() in EXCEL_SUFFIXES:
            es.to_excel(tmp, index=False)
        else:
            es.to_csv(tmp, index=False)
    say(f"Added {args.yi_name} and {args.vi_name} ({what}) {done} to {out}{gap}")
    say(f"Next: {next_command(es, out, measure, args)}")
    return EXIT_OK


def next_command(es: pd.DataFrame, out: Path, measure: str, args: argparse.Namespace) -> str:
    """The ``bayesma fit`` line that analyses the file just written, as the file allows: one analysis per
    outcome (``--by``) when the studies repeat across an outcome column, a three-level model (``--cluster``)
    when they repeat otherwise."""
    line = f"{PROG} fit {out} --yi {args.yi_name} --vi {args.vi_name} --measure {measure}"
    lab = args.slab or label_column(es, None)
    if lab is None or lab not in es.columns:
        return line
    if not es[lab].astype(str).duplicated().any():
        return line + f" --labels {lab}"
    sep = separating_column(es, lab)
    return line + (f" --labels {lab} --by {sep}" if sep is not None else f" --cluster {lab}")
