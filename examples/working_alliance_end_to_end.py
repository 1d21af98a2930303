"""The motivating analysis end to end in Python, from ONE CSV of correlations (the same steps as
``examples/working_alliance_cli.sh`` on the command line).

The data (``examples/data/working_alliance_illustrative.csv``) are ILLUSTRATIVE: invented
correlations between the working alliance and three outcomes of offender treatment -- dropout
(k = 9), institutional misconduct (k = 3) and recidivism (k = 15) -- with sample sizes, who rated
the alliance (rater) and the setting. Realistic in size, not the data of any published study.

Steps
-----
1. r with n -> Cohen's d (measure ``R2D``: Borenstein et al. 2009, eqs. 7.5-7.8);
2. per outcome: common-effect and random-effects (REML) pooling, Q(df), I², tau², prediction interval;
3. moderators of the recidivism effect (rater, setting): subgroup estimates and Q-between;
4. the Bayesian re-analysis of every outcome with ``bm.fit_many`` (the numbers ``bayesma fit --by
   outcome`` prints), and the report paragraph of each outcome (``post.report()``);
5. misconduct has k = 3 studies: the pooled effect under five heterogeneity priors.

Run ``python examples/working_alliance_end_to_end.py --out DIR``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import bayesma as bm

DATA = Path(__file__).resolve().parent / "data" / "working_alliance_illustrative.csv"


def main(draws: int = 1000, quick: bool = False, out: str | Path | None = None) -> dict:
    """Run the analysis; print the tables; save the plots and reports into *out* (if given)."""
    studies = pd.read_csv(DATA)
    # 1. d from r and n; es.attrs["measure"] == "R2D" names the conversion in every report
    es = bm.escalc("R2D", ri="r", ni="n", data=studies, slab="study")

    # 2. frequentist pooling per outcome
    rows = {}
    for outcome, part in es.groupby("outcome"):
        fe = bm.rma("yi", "vi", data=part, method="FE")
        re_ = bm.rma("yi", "vi", data=part, method="REML")
        rows[outcome] = {"k": re_.k, "FE": fe.beta[0], "RE": re_.beta[0], "RE_lower": re_.ci_lb[0],
                         "RE_upper": re_.ci_ub[0], "Q": re_.QE, "df": re_.k - 1, "Q_p": re_.QEp, "I2": re_.I2,
                         "tau2": re_.tau2}
    freq = pd.DataFrame.from_dict(rows, orient="index")
    print("Frequentist pooling per outcome\n", freq.round(3), "\n")

    # 3. moderators of the recidivism effect
    recid = es[es["outcome"] == "recidivism"]
    subgroups = {by: bm.subgroup("yi", "vi", by=by, data=recid, labels="study") for by in ("rater", "setting")}
    for by, sg in subgroups.items():
        print(f"Recidivism by {by}: Q_between({sg.Q_between_df}) = {sg.Q_between:.2f}, p = {sg.Q_between_p:.3f}")
        print(sg.table[["k", "estimate", "se", "ci_lb", "ci_ub", "pval"]].round(3), "\n")

    # 4. the Bayesian re-analysis of every outcome (exact engine, vectorised across outcomes)
    many = bm.fit_many(es, by="outcome", yi="yi", vi="vi", labels="study", measure="R2D", seed=1, draws=draws)
    print(many.groups[["k", "RE", "mu_mean", "mu_lower", "mu_upper", "p_mu_positive", "tau_median"]].round(3), "\n")
    reports, figures = {}, []
    for outcome in many.keys():
        post = many.fit(outcome)
        reports[outcome] = post.report(title=f"Working alliance and {outcome} (illustrative data)",
                                       subgroups=subgroups if outcome == "recidivism" else None)
        fig = post.forest()
        figures.append((f"forest_{outcome}.png", fig))
    print(reports["misconduct"].split("\n\n")[1], "\n")

    # 5. k = 3: the answer under five heterogeneity priors
    misconduct = es[es["outcome"] == "misconduct"]
    cmp = bm.compare_priors(data=misconduct, yi="yi", vi="vi", labels="study", measure="R2D",
                            engine="exact", seed=1)
    print("Misconduct (k = 3) under other priors on tau\n", cmp.table.iloc[:, :6].round(3))
    figures.append(("priors_misconduct.png", cmp.plot()))

    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, fig in figures:
            fig.savefig(out / name, dpi=120, bbox_inches="tight")
        for outcome, text in reports.items():
            (out / f"report_{outcome}.md").write_text(text, encoding="utf-8")
    return {"effects": es, "frequentist": freq, "subgroups": subgroups, "fit_many": many, "reports": reports,
            "priors_misconduct": cmp}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", default=None)
    a = parser.parse_args()
    main(draws=a.draws, out=a.out)
