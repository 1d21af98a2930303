"""Meta-regression: does the BCG vaccine work better far from the equator?

Colditz et al. (1994) collected 13 trials of the BCG vaccine against tuberculosis
(``dat.bcg``). The log risk ratios vary far more than chance allows, and absolute
latitude of the trial site explains much of it: the classic meta-regression
example of metafor. Here the frequentist model (metafor's REML numbers) and the
Bayesian one side by side, then what the posterior says at three latitudes.

Run ``python examples/metaregression_bcg.py`` (add ``--out DIR`` to save the plot).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import bayesma as bm


def main(draws: int = 1000, quick: bool = False, engine: str = "exact", out: str | Path | None = None) -> dict:
    """Fit ``yi ~ ablat`` both ways; returns the fitted objects.

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
    dat = bm.load_dataset("dat.bcg")
    dat["study"] = dat["author"] + " " + dat["year"].astype(str)  # unique labels
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)

    # metafor: rma(yi, vi, mods = ~ ablat, data = dat)
    res = bm.rma("yi", "vi", data=es, mods="~ ablat", method="REML")
    print(res)

    model = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="study", mods="~ ablat", measure="RR")
    post = model.fit(engine=engine, draws=draws, chains=4, **({"tune": draws} if engine == "nuts" else {}), seed=1)
    s = post.summary()
    print("\nBayesian meta-regression (priors: " + ", ".join(f"{k} ~ {v!r}" for k, v in model.priors.items()) + ")")
    print(s.loc[["beta[intrcpt]", "beta[ablat]", "tau"], ["mean", "median", "eti_lower", "eti_upper"]].round(4))
    print("\nBeside the frequentist estimates:")
    print(post.compare_frequentist().round(4).to_string())

    p = post.p_less("beta[ablat]", 0)
    print(f"\nP(the vaccine works better with every degree of latitude) = P(beta[ablat] < 0) = {p:.4f}")

    # risk ratio of a trial at 20, 40 and 55 degrees, from the posterior draws
    beta = post.draws("beta")  # (n_draws, 2): intercept, ablat
    print("\nPredicted average risk ratio (posterior median, 95% CrI):")
    predictions = {}
    for lat in (20, 40, 55):
        rr = np.exp(beta[:, 0] + beta[:, 1] * lat)
        lo, med, hi = np.quantile(rr, [0.025, 0.5, 0.975])
        predictions[lat] = (med, lo, hi)
        print(f"  {lat:2d} degrees: RR = {med:.2f} [{lo:.2f}, {hi:.2f}]")

    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        post.forest().savefig(Path(out) / "bcg_metaregression_forest.png", dpi=150, bbox_inches="tight")
    return {"rma": res, "posterior": post, "predictions": predictions}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--engine", choices=("exact", "nuts"), default="exact")
    parser.add_argument("--out", default=None)
    a = parser.parse_args()
    main(draws=a.draws, engine=a.engine, out=a.out)
