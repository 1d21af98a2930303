"""``bayesma priors``: the fit under several heterogeneity priors, as a table and a plot."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from bayesma import measures
from bayesma import priors as pr
from bayesma.cli.console import Progress, print_table, say
from bayesma.cli.errors import EXIT_OK, about
from bayesma.cli.inputs import make_dir
from bayesma.cli.options import build_model, labelled_priors, load_for_model
from bayesma.cli.pipeline import save_fig
from bayesma.sensitivity import compare_priors


def default_tau_priors(measure: str | None, yi: Any, vi: Any) -> dict[str, Any]:
    """A standard set of heterogeneity priors for a sensitivity analysis, scaled to the measure."""
    base = pr.default_priors(measure, yi=yi, vi=vi)["tau"]
    s = float(base.params["sigma"])

    def r(x: float) -> float:
        return float(f"{x:.3g}")

    out = {
        f"HalfNormal({r(s):g}) (default)": pr.HalfNormal(r(s)),
        f"HalfNormal({r(2 * s):g}) (wider)": pr.HalfNormal(r(2 * s)),
        f"HalfCauchy({r(s):g})": pr.HalfCauchy(r(s)),
        f"Uniform(0, {r(8 * s):g})": pr.Uniform(r(8 * s)),
    }
    empirical = measures.get(measure).empirical_tau_prior
    if empirical:  # "turner2015" -> "Turner 2015 (general)"
        name = re.sub(r"^(\D+)(\d+)$", lambda m: f"{m.group(1).title()} {m.group(2)}", empirical)
        out[f"{name} (general)"] = getattr(pr, empirical)()
    return out


def run(args: argparse.Namespace) -> int:
    tau_priors = labelled_priors(args.tau_prior, "--tau-prior", ("tau", "tau2"))
    mu_priors = labelled_priors(args.mu_prior, "--mu-prior", ("location",))
    df, spec = load_for_model(args)
    model = build_model(df, spec, {}, args.file)  # validates the data, names bad studies
    if tau_priors is None:
        tau_priors = default_tau_priors(spec["measure"], model.spec.yi, model.spec.vi)
        say("No --tau-prior given: comparing a standard set of heterogeneity priors.")
    out = Path(args.out)
    make_dir(out)
    progress = Progress(2)
    with about(args.file), progress.step(f"fitting {len(tau_priors) * len(mu_priors or {0: 0})} models "
                                         f"({args.engine} engine)"):
        cmp = compare_priors(
            data=model.spec.meta.data, yi=spec["yi"], vi=spec["vi"], sei=spec["sei"], labels=spec["labels"],
            tau_priors=tau_priors, mu_priors=mu_priors, engine=args.engine, measure=spec["measure"],
            seed=args.seed, mods=spec["mods"],
        )
    table = cmp.table
    shown = table.drop(columns=[c for c in ("mu_prior", "tau_prior") if c in table and table[c].nunique() <= 1
                                or (c == "tau_prior" and (table.index == table[c]).all())])
    print_table(shown, title=f"Prior comparison (k = {model.k}; 95% intervals; full table in priors.csv)")
    with about(out), progress.step(f"writing files to {out}"):
        table.to_csv(out / "priors.csv")
        save_fig(cmp.plot(), out / "priors.png")
    say(f"\nWrote priors.csv, priors.png to {out}/")
    return EXIT_OK
