"""CBT for offenders and recidivism: the forensic meta-analysis shape, frequentist and Bayesian.

Landenberger & Lipsey (2005) pooled 58 comparisons of cognitive-behavioural
programmes for offenders (``dat.landenberger2005``). Each study reports how many
people in the CBT and the control group did not reoffend; the effect is the log
odds ratio of not reoffending (positive: CBT helps).

Steps, as a forensic meta-analysis reports them and then the Bayesian version:

1. effect sizes with ``bm.escalc("OR", ...)``;
2. fixed and random effects (DL, REML) with Q, I² and the prediction interval;
3. a subgroup moderator: community vs prison setting (pooled estimate per setting
   and the Q-between test), and juveniles vs adults;
4. the Bayesian random-effects model (default priors for log odds ratios:
   mu ~ Normal(0, 8), tau ~ HalfNormal(0.5)) beside FE, DL, REML and Knapp-Hartung;
5. the Bayesian subgroup model with a separate tau per setting (``tau_by=``) and the
   posterior probability that CBT works better in the community;
6. a forest plot.

Run ``python examples/cbt_recidivism_landenberger.py`` (``--out DIR`` saves the plot).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import bayesma as bm


def load_effects():
    """Log odds ratios of not reoffending, CBT vs control, with unique study labels."""
    dat = bm.load_dataset("dat.landenberger2005")
    # Some authors have two comparisons in one year: number them "a", "b".
    repeat = dat.groupby("study").cumcount()
    several = dat["study"].duplicated(keep=False)
    dat["label"] = dat["study"] + several.map({True: " ", False: ""}) + repeat.map(lambda i: "ab"[i] if i < 2 else str(i)).where(several, "")
    return bm.escalc("OR", ai="n.cbt.non", bi="n.cbt.rec", ci="n.ctrl.non", di="n.ctrl.rec", data=dat)


def main(draws: int = 1000, quick: bool = False, engine: str = "exact", out: str | Path | None = None) -> dict:
    """Run the analysis; returns the fitted objects by name.

    Parameters
    ----------
    draws : int
        Posterior draws per chain (4 chains).
    quick : bool
        Fewer draws (for tests).
    engine : {"exact", "nuts"}
        Bayesian engine (``tau_by`` with two settings works with both).
    out : path, optional
        Directory for the forest plot.
    """
    if quick:
        draws = min(draws, 200)
    es = load_effects()
    results: dict = {"data": es}

    # 2. fixed and random effects
    fe = bm.rma("yi", "vi", data=es, labels="label", method="FE")
    reml = bm.rma("yi", "vi", data=es, labels="label", method="REML")
    print(f"k = {fe.k} comparisons; Q({fe.k - 1}) = {fe.QE:.1f}, p = {fe.QEp:.2g}, I² = {reml.I2:.0f}%")
    print(f"FE   log OR = {fe.beta[0]:.3f} [{fe.ci_lb[0]:.3f}, {fe.ci_ub[0]:.3f}]")
    print(f"REML log OR = {reml.beta[0]:.3f} [{reml.ci_lb[0]:.3f}, {reml.ci_ub[0]:.3f}], "
          f"tau = {reml.tau:.3f}, prediction interval [{reml.pi_lb:.3f}, {reml.pi_ub:.3f}]")
    results.update(fe=fe, reml=reml)

    # 3. subgroups
    for moderator in ("setting", "group"):
        sg = bm.subgroup("yi", "vi", by=moderator, data=es, labels="label", method="REML")
        print(f"\nBy {moderator}:")
        print(sg.table[["k", "estimate", "ci_lb", "ci_ub", "tau2", "I2"]].round(3).to_string())
        print(f"Q-between({sg.Q_between_df}) = {sg.Q_between:.2f}, p = {sg.Q_between_p:.3f}")
        results[f"by_{moderator}"] = sg

    # 4. Bayesian random effects beside the frequentist estimates
    model = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="label", measure="OR")
    post = model.fit(engine=engine, draws=draws, chains=4, **({"tune": draws} if engine == "nuts" else {}), seed=2005)
    print(f"\n{post}")
    print("\nFrequentist check:")
    print(post.compare_frequentist().round(3).to_string())
    print(f"P(mu > 0) = {post.p_greater('mu', 0):.4f}   "
          f"P(OR > 1.5) = {post.p_greater('mu', 0.405465):.3f}")
    results["posterior"] = post

    # 5. a separate tau per setting
    by_setting = bm.MetaAnalysis(es, yi="yi", vi="vi", labels="label", measure="OR", mods="~ setting",
                                 tau_by="setting")
    post_setting = by_setting.fit(engine=engine, draws=draws, chains=4, **({"tune": draws} if engine == "nuts" else {}), seed=2005)
    summary = post_setting.summary()
    rows = [r for r in summary.index if r.startswith(("beta", "tau"))]
    print("\nSetting as moderator, separate tau per setting:")
    print(summary.loc[rows, ["mean", "median", "eti_lower", "eti_upper"]].round(3).to_string())
    slope = "beta[settingprison]"
    print(f"P(effect smaller in prison than in the community) = {post_setting.p_less(slope, 0):.3f}")
    results["posterior_setting"] = post_setting

    # 6. forest plot
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        path = Path(out) / "landenberger_forest.png"
        post.forest().savefig(path, dpi=120, bbox_inches="tight")
        print(f"\nforest plot: {path}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--engine", choices=("exact", "nuts"), default="exact")
    parser.add_argument("--out", default=None, help="directory for the plot")
    a = parser.parse_args()
    main(draws=a.draws, engine=a.engine, out=a.out)
