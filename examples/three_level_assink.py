"""Three-level meta-analysis: several effect sizes per study (Assink & Wibbelink 2016).

``dat.assink2016`` holds 100 standardized mean differences from 17 studies of the
link between risk factors and juvenile delinquency; most studies report several
effects, which are not independent. A three-level model separates the variance
between studies (``tau``) from the variance between effects within a study
(``tau_within``), as metafor's ``rma.mv(yi, vi, random = ~ 1 | study/esid)``.

Run ``python examples/three_level_assink.py`` (add ``--out DIR`` to save the plot).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bayesma as bm


def main(draws: int = 1000, quick: bool = False, engine: str = "exact", out: str | Path | None = None) -> dict:
    """Fit the three-level model both ways; returns the fitted objects.

    Parameters
    ----------
    draws : int
        Posterior draws per chain (4 chains).
    quick : bool
        Fewer draws (for tests).
    engine : {"exact", "nuts"}
        Bayesian engine.
    out : path, optional
        Directory for the forest plot.
    """
    if quick:
        draws = min(draws, 200)
    dat = bm.load_dataset("dat.assink2016")
    dat["label"] = [f"study {s}, effect {e}" for s, e in zip(dat["study"], dat["esid"])]
    print(f"{len(dat)} effects from {dat['study'].nunique()} studies")

    # metafor: rma.mv(yi, vi, random = ~ 1 | study/esid, data = dat)
    res = bm.rma_mv("yi", "vi", data=dat, cluster="study", labels="label")
    print(res)

    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", labels="label", cluster="study", measure="SMD")
    post = model.fit(engine=engine, draws=draws, chains=4, **({"tune": draws} if engine == "nuts" else {}), seed=1)
    s = post.summary()
    print("\nBayesian three-level model:")
    print(s.loc[["mu", "tau", "tau_within", "theta_new"], ["mean", "median", "eti_lower", "eti_upper"]].round(4))
    print(f"P(mu > 0) = {post.p_greater('mu', 0):.4f}")

    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        post.forest().savefig(Path(out) / "assink_forest.png", dpi=150, bbox_inches="tight")
    return {"rma_mv": res, "posterior": post}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--engine", choices=("exact", "nuts"), default="exact")
    parser.add_argument("--out", default=None)
    a = parser.parse_args()
    main(draws=a.draws, engine=a.engine, out=a.out)
