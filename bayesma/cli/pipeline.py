"""The fit pipeline shared by ``bayesma fit`` and ``bayesma demo``: fit, print, write the files."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import bayesma
from bayesma import priors as pr
from bayesma.cli.console import Progress, print_table, say, say_wrapped, wrapped
from bayesma.cli.outputs import writing
from bayesma.errors import ArgumentTypeError
from bayesma.report import (
    comparison_table,
    diagnostics_text,
    estimator_fits,
    html_report,
    location_rows,
    posterior_report,
    prob_rel,
    term_labels,
)


def version_line() -> str:

    parts = []
    for pkg, name in (("pymc", "PyMC"), ("arviz", "ArviZ")):
        try:
            parts.append(f"{name} {version(pkg)}")
        except PackageNotFoundError:  # pragma: no cover
            pass
    return f"bayesma {bayesma.__version__}" + (f" ({', '.join(parts)})" if parts else "")


def prob_greater(post: Any, row: str, value: float = 0.0) -> float:
    """P(parameter > value) for a summary row such as ``mu``, ``beta[ablat]``, ``tau[prison]``.

    The posterior's own probability (exact for the exact engine), never a recomputation from draws.
    """
    return float(post.p_greater(row, value))


def frequentist_fits(data: pd.DataFrame, spec: dict[str, Any], model_spec: Any = None) -> dict[str, Any]:
    """metafor's estimators on the same data: FE, DL, REML, REML + Knapp-Hartung (or the 3-level REML).

    A dependent-effects model (*model_spec* with a ``dependence``: CHE or multivariate across
    outcomes) gets its counterpart ``rma_mv`` with the same V and random structure (REML).
    """
    if getattr(model_spec, "dependence", None) is not None:
        from bayesma.report.fits import fit_counterpart

        return {"REML (rma.mv)": fit_counterpart(model_spec)}
    common = dict(sei=spec.get("sei"), data=data, labels=spec.get("labels"), mods=spec.get("mods"),
                  missing=spec.get("missing", "raise"))
    yi, vi = spec["yi"], spec.get("vi")
    return estimator_fits(yi, vi, cluster=spec.get("cluster"), **common)


def run_fit(
    model: Any,
    data: pd.DataFrame,
    spec: dict[str, Any],
    out: Path,
    *,
    engine: str = "exact",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = 1,
    source: str = "",
    progress: Progress | None = None,
    show_studies: bool | None = None,
    workdir: Path | None = None,
    title: str | None = None,
    html: bool = False,
    engine_note: str = "",
    extra_files: tuple[str, ...] = (),
    extras: Any = None,
) -> dict[str, Path]:
    """Fit *model*, print the tables, write summary.csv, forest.png, posterior.nc, report.md (and report.html).

    *extras* (:class:`bayesma.cli.extras.Extras`): sections appended to the report (subgroup tests,
    publication bias) and the files behind them, written with the others.

    The files are written into *workdir* (a staging directory, see
    :func:`bayesma.cli.outputs.staged_dir`) or, without it, into *out*;
    messages and the returned paths name *out*, where they end up.
    """
    progress = progress or Progress(3)
    work = Path(workdir) if workdir is not None else out
    say(f"\n{model.spec.describe()}" if hasattr(model, "spec") else "")
    say("Priors:")
    for line in pr.describe(model.priors).splitlines():  # a long prior note: wrapped under its prior
        say(wrapped("  " + line, indent="      "))
    if spec.get("measure") is None:
        scaled = any("data-scaled" in str(getattr(p, "label", "")) for p in model.priors.values())
        say_wrapped("Note: no --measure given, so the effects are treated as a generic effect size"
            + (": the default priors are scaled to the data" if scaled else "")
            + " and nothing is back-transformed (give --measure, e.g. SMD, OR, ZCOR).")
    if engine_note:
        say_wrapped(engine_note)
    say()

    with progress.step(f"fitting the Bayesian model ({engine} engine"
                       + (f", {chains} chains x {draws} draws" if engine == "nuts" else "") + ")"):
        # NUTS only: tune, and progress on stderr (in a log: the compile's lines, no sampler bar)
        post = model.fit(engine=engine, draws=draws, chains=chains, seed=seed,
                         **({"tune": tune, "progressbar": True} if engine == "nuts" else {}))
    dependent = getattr(model.spec, "dependence", None) is not None
    with progress.step("frequentist check (rma_mv, same V and structure)" if dependent
                       else "frequentist check (FE, DL, REML, Knapp-Hartung)"):
        fits = frequentist_fits(data, spec, model.spec)

    summary = post.summary()
    k = int(model.k)
    if show_studies is None:
        show_studies = k <= 25
    rows = [r for r in summary.index if show_studies or not str(r).startswith("theta[")]
    cols = [c for c in ("mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail")
            if c in summary.columns and not (not post.source.needs_diagnostics  # no sampler: no R-hat or ESS
                                             and c in ("r_hat", "ess_bulk", "ess_tail") and summary[c].isna().all())]
    say()
    spec_ = getattr(post, "spec", None)
    labels = (term_labels(spec_.coef_names, spec_.meta.data, spec_.mods)
              if spec_ is not None and spec_.is_regression else {})

    def readable(row: str) -> str:  # beta[raterservice provider/observer] -> beta[rater: ... vs client]
        return f"beta[{labels[row[5:-1]]}]" if row.startswith("beta[") and row[5:-1] in labels else row

    dep = getattr(model.spec, "dependence", None)
    what = "" if dep is None else (f"{dep.model_name} model"
                                   + (f", sampling correlation rho = {dep.rho:g}" if dep.rho is not None
                                      and not dep.multivariate else "") + "; ")
    if dep is not None and dep.rho_legend:  # the two correlations of a multivariate model, told apart
        say(dep.rho_legend)
    print_table(summary.loc[rows, cols].rename(index=readable),
                title=f"Posterior summary ({what}k = {k}; 95% equal-tailed intervals)")
    if not show_studies:
        say(f"(the {k} study rows theta[...] are in {out / 'summary.csv'})\n")
    check = comparison_table(fits, summary, engine, x_new=getattr(getattr(post, "spec", None), "x_new", None))
    shown = check.rename(index=lambda c: labels.get(c, c), level="coef") if labels else check
    print_table(shown, title="Frequentist check (metafor's rma.mv with the same V and structure)" if dependent
                else "Frequentist check (metafor's estimators on the same data)")

    loc = location_rows(summary)
    p_gt = {row: prob_greater(post, row, 0.0) for row in loc}
    for row, p in p_gt.items():
        say(f"P({readable(row)} > 0) {prob_rel(p)}")
    diag = diagnostics_text(post) if post.source.needs_diagnostics else ""
    if diag:
        say(f"Diagnostics: {diag}")

    if any(c in summary.columns and not np.isfinite(summary.loc[rows, c].to_numpy(dtype=float)).all()
           for c in ("mean", "sd")):
        say("(— : no finite posterior mean or SD under these priors; use the median and the interval)")
    names = ["summary.csv", "forest.png", "posterior.nc", "report.md"] + (["report.html"] if html else [])
    paths = {name: out / name for name in names}
    extra_writers = dict(extras.files) if extras is not None else {}
    with progress.step(f"writing files to {out}"):
        with writing(paths["summary.csv"]):
            summary.to_csv(work / "summary.csv", index_label="parameter")
        fig = post.forest()
        with writing(paths["forest.png"]):
            save_fig(fig, work / "forest.png")
        with writing(paths["posterior.nc"]):
            if (work / "posterior.nc").exists():
                (work / "posterior.nc").unlink()
            post.to_netcdf(str(work / "posterior.nc"))
        if post.source.needs_diagnostics:
            detail = f"{chains} chains of {draws} draws after {tune} tuning steps"
        else:
            n = getattr(post, "n_draws", None) or draws * chains
            detail = f"{int(n)} independent posterior draws for the plots"
        for name, write in extra_writers.items():
            with writing(out / name):
                write(work / name)
        text = posterior_report(post, title=title or None, fits=fits, files=[*names, *extra_writers, *extra_files],
                                source=source, versions=version_line(), engine_detail=detail)
        head, par, rest = text.split("\n\n", 2)  # the forest plot follows the paragraph
        text = f"{head}\n\n{par}\n\n![Forest plot](forest.png)\n\n{rest}"
        if extras is not None and extras.markdown:  # before the list of files, which ends the report
            body, sep, files = text.rpartition("\n## Files")
            text = (f"{body.rstrip()}\n\n{extras.text}\n{sep}{files}" if sep else f"{text.rstrip()}\n\n{extras.text}\n")
        with writing(paths["report.md"]):
            (work / "report.md").write_text(text, encoding="utf-8")
        if html:
            with writing(paths["report.html"]):
                page = html_report(text, tables={"Frequentist check": check}, base=work)
                (work / "report.html").write_text(page, encoding="utf-8")
    return paths


def save_fig(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    if hasattr(fig, "savefig"):
        fig.savefig(path, dpi=150, bbox_inches="tight")
        plt.close(fig)
    elif hasattr(fig, "figure"):  # an Axes
        fig.figure.savefig(path, dpi=150, bbox_inches="tight")
        plt.close(fig.figure)
    else:  # pragma: no cover
        raise ArgumentTypeError(f"cannot save a plot of type {type(fig).__name__}")
