"""``bayesma fit --by COL``: one Bayesian meta-analysis per value of COL and one combined table.

The numbers come from :func:`bayesma.fit_many` (the vectorised exact engine where the
model allows it), so they equal the Python API's: ``bm.fit_many(data, by=COL, ...)``.
"""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesma.batch import fit_many
from bayesma.cli.console import Progress, print_table, say, say_wrapped
from bayesma.cli.errors import EXIT_OK, InputError, about
from bayesma.cli.extras import run_extras
from bayesma.cli.mv import MV_RHO
from bayesma.cli.options import tune_steps
from bayesma.cli.outputs import safe_name, staged_dir, writing
from bayesma.cli.pipeline import save_fig, version_line
from bayesma.errors import SmallKWarning
from bayesma.exact.capability import choose_engine
from bayesma.report import (
    fmt_p,
    fmt_prob,
    html_report,
    location_rows,
    markdown_table,
    num,
    paper_table,
    posterior_report,
    small_k_note,
    term_labels,
)

__all__ = ["combined_table", "regression_table", "run_by"]

#: the combined table's columns taken from :attr:`bayesma.FitManyResult.groups`
GROUP_COLUMNS = ["k", "FE", "FE_lower", "FE_upper", "RE", "RE_lower", "RE_upper", "Q", "Q_df", "Q_p", "I2", "tau2",
                 "pi_lower", "pi_upper"]


def combined_table(res: Any) -> pd.DataFrame:
    """One row per analysis: k, FE and RE with 95% CIs, Q, its df and p, I², tau², the prediction interval,
    and the Bayesian estimate of mu (posterior median, 95% CrI), P(mu > 0), tau's posterior median and the engine.

    *res* is a :class:`bayesma.FitManyResult`.
    """
    g = res.groups
    table = g[[c for c in GROUP_COLUMNS if c in g.columns]].copy()
    mu = res.table.xs("mu", level="parameter")
    table["bayes_median"] = mu["median"]
    table["bayes_lower"] = mu["eti_lower"]
    table["bayes_upper"] = mu["eti_upper"]
    table["p_mu_positive"] = g["p_mu_positive"]
    table["tau_median"] = g["tau_median"]
    table["engine"] = g["engine"]
    return table


def regression_table(res: Any, fits: dict[Any, dict[str, Any]], posts: dict[Any, Any]) -> pd.DataFrame:
    """The combined table of meta-regressions and dependent-effects models, one row per value and coefficient.

    The frequentist fit (REML; the 3-level REML or ``rma_mv`` for the dependent models) and the
    posterior (median, 95% CrI, P(coefficient > 0)) are those :func:`bayesma.fit_many` kept
    (*res*, its fits *fits* and posteriors *posts*): each coefficient's estimate, 95% CI and p, the
    test of moderators QM (df, p), residual heterogeneity QE (df, p) and tau² (NaN where the model
    has several variance components).
    """
    rows = []
    for key, f in fits.items():
        reml = f.get("REML") or next(iter(f.values()))
        spec = posts[key].spec
        labels = term_labels(spec.coef_names, spec.meta.data, spec.mods) if spec.mods else {}
        tab = res.table.loc[key]
        loc = location_rows(tab)  # mu, beta[...] or mu[<outcome>], in the fit's coefficient order
        df1 = reml.QMdf[0] if isinstance(reml.QMdf, tuple) else reml.QMdf
        tau2 = reml.tau2 if np.ndim(reml.tau2) == 0 else np.nan
        for j, coef in enumerate(reml.coef_names):
            row = loc[j]
            b = tab.loc[row]
            term = labels.get(coef, coef) if row.startswith("beta[") else row
            rows.append({"key": key, "term": term, "k": int(reml.k),
                         "RE": float(reml.beta[j]), "RE_lower": float(reml.ci_lb[j]),
                         "RE_upper": float(reml.ci_ub[j]), "RE_p": float(reml.pval[j]), "QM": float(reml.QM),
                         "QM_df": int(df1), "QM_p": float(reml.QMp), "QE": float(reml.QE),
                         "QE_df": int(reml.k - reml.p), "QE_p": float(reml.QEp), "tau2": float(tau2),
                         "bayes_median": float(b["median"]), "bayes_lower": float(b["eti_lower"]),
                         "bayes_upper": float(b["eti_upper"]),
                         "p_positive": float(posts[key].p_greater(row, 0.0))})
    return pd.DataFrame(rows).set_index(["key", "term"])


def _regression_shown(table: pd.DataFrame, by: str) -> pd.DataFrame:
    out = pd.DataFrame(index=table.index.rename([by, "term"]))
    out["k"] = table["k"].to_numpy()
    out["RE [95% CI]"] = [f"{num(e)} [{num(lo)}, {num(hi)}]" for e, lo, hi in
                          table[["RE", "RE_lower", "RE_upper"]].to_numpy()]
    out["p"] = [fmt_p(v).replace("= ", "") for v in table["RE_p"]]
    out["QM(df), p"] = [f"{q:.2f} ({int(d)}), {fmt_p(p).replace('= ', '')}" for q, d, p in
                        table[["QM", "QM_df", "QM_p"]].to_numpy()]
    out["Bayes [95% CrI]"] = [f"{num(e)} [{num(lo)}, {num(hi)}]" for e, lo, hi in
                              table[["bayes_median", "bayes_lower", "bayes_upper"]].to_numpy()]
    out["P(> 0)"] = [fmt_prob(v).replace("= ", "") for v in table["p_positive"]]
    return out


def _runnable(note: str, table: pd.DataFrame, by: str, spec: dict[str, Any], args: argparse.Namespace) -> str:
    """The small-k note with its ``bayesma priors`` hint as a command that runs (the first small group named)."""
    small = [key for key, k in table["k"].items() if int(k) < 5]
    if not note or not small:
        return note
    opts = [f"--yi {spec['yi']}", f"--vi {spec['vi']}" if spec.get("vi") else f"--sei {spec['sei']}"]
    opts += [f"--labels {spec['labels']}"] if spec.get("labels") else []
    opts += [f"--measure {spec['measure']}"] if spec.get("measure") else []
    hint = f"bayesma priors {args.file} {' '.join(opts)} --subset \"{by} == {str(small[0])!r}\""
    return re.sub(r"bayesma priors FILE \.\.\. --subset \"[^\"]*\"", lambda _: hint, note)


def _borrowing_hint(df: pd.DataFrame, table: pd.DataFrame, by: str, spec: dict[str, Any],
                    args: argparse.Namespace) -> str:
    """When a group has fewer than 5 studies and the studies report several values of *by* (outcomes), the
    multivariate model lets that outcome borrow strength from the others: the command that fits it ("" else)."""
    lab = spec.get("labels")
    if lab is None or lab not in df.columns or not any(1 < int(k) < 5 for k in table["k"]):
        return ""
    if not (df.groupby(df[lab].astype(str))[by].nunique() > 1).any():
        return ""
    opts = [f"--yi {spec['yi']}", f"--vi {spec['vi']}" if spec.get("vi") else f"--sei {spec['sei']}"]
    opts += [f"--measure {spec['measure']}"] if spec.get("measure") else []
    # --rho explicit: the sampling correlation 'bayesma mv' assumes by default, so that the Bayesian model and its
    # frequentist version (CR2 intervals) are fitted with the same V and tell one story
    both = f"--cluster {lab} --outcome {by} --rho {MV_RHO:g}"
    return (f"\nSome studies report several values of {by}: one model across them lets the small groups borrow "
            f"strength from the others (and says how much): bayesma fit {args.file} {' '.join(opts)} {both}. "
            f"Its frequentist version with CR2 intervals: bayesma mv {args.file} {' '.join(opts[:2])} {both}.")


def _model_name(spec: Any) -> str:
    """The model of each analysis, as the output names it."""
    dep = getattr(spec, "dependence", None)
    if dep is not None:
        if dep.multivariate:  # its rho is the correlation of the true effects: the sampling one in words
            return f"{dep.model_name} model ({dep.sampling_words})"
        return f"{dep.model_name} model" + (f" (sampling correlation rho = {dep.rho:g})" if dep.rho is not None else "")
    if spec.cluster_index is not None:
        return "three-level model"
    return "meta-regression" if spec.is_regression else "random-effects model"


def _demote(text: str) -> list[str]:
    return [("#" + line if line.startswith("#") else line) for line in text.splitlines()]


def run_by(args: argparse.Namespace, df: pd.DataFrame, spec: dict[str, Any], priors: dict[str, Any]) -> int:
    """One pass: :func:`bayesma.fit_many` fits each value once (``keep_fits=True``) and everything printed
    or written -- the combined table, each section's paragraph and tables, the forest plots -- is read
    from the posteriors and the frequentist fits it kept."""
    by = args.by
    if spec.get("tau_by") is not None:
        raise InputError(f"--by fits one model per value; --tau-by is not available with it: run one value at a "
                         f"time with --subset \"{by} == '...'\" instead")
    keys = sorted(df[by].unique(), key=lambda v: (isinstance(v, str), v))
    if args.engine != "nuts" and args.tune is not None:  # fit_many tunes only when NUTS is asked for
        raise InputError(f"--tune {args.tune}: with --engine {args.engine} the values of --by are fitted by the "
                         "exact engine where it can, which does not tune; give --engine nuts to sample every value "
                         "with PyMC, or leave --tune out")
    out = Path(args.out)
    progress = Progress(3)
    dependence = {k: spec[k] for k in ("cluster", "rho", "outcome", "struct") if spec.get(k) is not None}
    with progress.step(f"fitting {len(keys)} analyses, one per {by} ({args.engine} engine)"), about(args.file):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the small-k warning is given once per group below
            res = fit_many(df, by=by, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
                           measure=spec["measure"], priors=priors or None, mods=spec["mods"], engine=args.engine,
                           seed=args.seed, draws=args.draws, chains=args.chains, keep_fits=True,
                           **({"tune": tune_steps(args, "nuts")} if args.engine == "nuts" else {}), **dependence)
    errors = res.groups["error"].astype(str).str.strip()
    if (errors != "").any():
        bad = "; ".join(f"{by} == {k!r}: {e}" for k, e in errors[errors != ""].items())
        raise InputError(f"{int((errors != '').sum())} of {len(keys)} analyses failed: {bad}")
    res = res.read_from_fits()  # every number printed or written is the kept objects' (one story per value)
    for key, text in res.groups["warnings"].items():
        if str(text).strip():
            warnings.warn(f"{by} == {key!r}: {text}", SmallKWarning, stacklevel=1)
    posts = {key: res.fit(key) for key in keys}
    fits = {key: res.frequentist(key) for key in keys}
    engines = sorted(set(res.groups["engine"].astype(str).str.replace(" (vectorised)", "", regex=False)))
    engine = engines[0] if len(engines) == 1 else "/".join(engines)
    say_wrapped(choose_engine(args.engine, posts[keys[0]].spec, option="--engine ",
                      nuts_options=("tune",) if args.engine == "nuts" else ())[1])
    names = ["combined.csv", "report.md"]
    sections, figures, extra_files = [], [], {}
    model_name = _model_name(posts[keys[0]].spec)
    with progress.step(f"report and forest plot per {by}"):
        for key in keys:
            post = posts[key]
            fname = f"forest_{safe_name(key)}.png"
            figures.append((f"{by}: {key}", fname, post.forest()))
            names.append(fname)
            text = posterior_report(post, title=f"{by}: {key}", fits=fits[key], source=Path(args.file).name)
            head, par, rest = text.split("\n\n", 2)  # the forest plot follows the paragraph
            extra = run_extras(df[df[by] == key], spec, args, tag=f"_{safe_name(key)}",
                               where=f"{by} == {key!r}: ")  # --subgroups, --bias
            extra_files.update(extra.files)
            names.extend(extra.files)
            sections.append(f"{head}\n\n{par}\n\n![Forest plot, {by}: {key}]({fname})\n\n{rest}"
                            + (f"\n\n{extra.text}" if extra.markdown else ""))
    note = ""  # the small-k note and the borrowing hint (combined table only)
    if spec.get("mods") or dependence:
        table = regression_table(res, fits, posts)
        table.index = table.index.rename([by, "term"])
        shown = _regression_shown(table, by)
        what = (f"the frequentist {model_name} (REML; rma_mv with the same V and structure)" if dependence
                else f"mixed-effects meta-regression {spec['mods']} (REML)")
        legend = (f"RE: {what} within each {by}; QM: test of the moderators; Bayes: posterior median and 95% "
                  f"credible interval of the Bayesian {model_name} ({engine} engine); P(> 0): posterior "
                  "probability that the coefficient is positive.")
    else:
        table = combined_table(res)
        shown = paper_table(table)
        legend = ("FE: common-effect model; RE: random-effects model (REML); Q(df): Cochran's Q and its "
                  "degrees of freedom, p its p-value; PI: prediction interval; Bayes: posterior median and 95% "
                  f"credible interval ({engine} engine); P(> 0): posterior probability that the effect is positive.")
        note = _runnable(small_k_note(table), table, by, spec, args) + _borrowing_hint(df, table, by, spec, args)
    print_table(shown, title=f"Meta-analyses by {by} (all numbers in combined.csv)",
                breaks=["Q(df)"])  # too wide for 100 columns: the estimates, then heterogeneity and Bayes
    say_wrapped(legend + "\n")  # prose; the notes below hold commands to copy, kept on one line each
    if note:
        say(note + "\n")
    if args.html:
        names.append("report.html")
    title = args.title or f"Meta-analyses by {by}"
    lines = [f"# {title}", "", f"One analysis per value of {by} ({len(keys)}: {', '.join(map(str, keys))}), "
             f"each a {model_name}; {version_line()}; {engine} engine. The combined table (also in combined.csv):",
             ""]
    lines += markdown_table(shown)
    lines += ["", legend + (f"\n\n{note}" if note else "")]
    for text in sections:
        lines += [""] + _demote(text)
    lines += ["", "## Files", ""] + [f"- `{n}`" for n in names]
    report = "\n".join(lines) + "\n"
    with staged_dir(out) as work, progress.step(f"writing files to {out}"):
        with writing(out / "combined.csv"):
            table.to_csv(work / "combined.csv")
        for _, fname, fig in figures:
            with writing(out / fname):
                save_fig(fig, work / fname)
        for fname, write in extra_files.items():
            with writing(out / fname):
                write(work / fname)
        with writing(out / "report.md"):
            (work / "report.md").write_text(report, encoding="utf-8")
        if args.html:
            with writing(out / "report.html"):
                page = html_report(report, base=work)  # each forest plot inside its section
                (work / "report.html").write_text(page, encoding="utf-8")
    say_wrapped(f"\nWrote {', '.join(names)} to {out}/")
    return EXIT_OK
