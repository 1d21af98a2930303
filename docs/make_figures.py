"""Generate the figures of the README and the documentation into docs/_static/.

    python docs/make_figures.py

Every figure comes from bundled published data and the public API, with fixed
seeds, so the pictures are reproducible. Uses the exact engine (a few seconds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import bayesma as bm  # noqa: E402

STATIC = Path(__file__).resolve().parent / "_static"


def forest_bcg(path: Path) -> Path:
    """Random-effects forest plot of the BCG vaccine trials (log risk ratios)."""
    dat = bm.load_dataset("dat.bcg")
    dat["study"] = dat["author"] + " " + dat["year"].astype(str)
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    post = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="study", measure="RR").fit(engine="exact", seed=1)
    fig = post.forest()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def prior_comparison_raudenbush(path: Path) -> Path:
    """Five heterogeneity priors on the first three teacher-expectancy studies."""
    dat = bm.load_dataset("dat.raudenbush1985")
    dat["label"] = [f"{a} ({y}) #{s}" for a, y, s in zip(dat["author"], dat["year"], dat["study"])]
    first3 = dat.sort_values(["year", "study"]).head(3)
    priors = {
        "HalfNormal(0.5)": bm.priors.HalfNormal(0.5),
        "HalfNormal(1)": bm.priors.HalfNormal(1.0),
        "HalfCauchy(0.5)": bm.priors.HalfCauchy(0.5),
        "Uniform(0, 4)": bm.priors.Uniform(0.0, 4.0),
        "Rhodes 2015": bm.priors.rhodes2015(),
    }
    cmp = bm.compare_priors(data=first3, yi="yi", vi="vi", labels="label", tau_priors=priors, engine="exact")
    cmp.plot().savefig(path, dpi=110, bbox_inches="tight")
    return path


FIGURES = {
    "forest.png": forest_bcg,
    "prior_comparison.png": prior_comparison_raudenbush,
}


def main(names: list[str] | None = None) -> list[Path]:
    STATIC.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in FIGURES.items():
        if names and name not in names:
            continue
        written.append(make(STATIC / name))
        print(f"wrote {written[-1]}")
    return written


if __name__ == "__main__":
    main(sys.argv[1:] or None)
