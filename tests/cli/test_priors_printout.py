"""``bayesma priors`` prints one compact row per prior (estimate [95% CrI] cells, P(mu > 0) and BF10 as the
report writes them; priors.csv keeps every column), and its row for the default prior is the number
``bayesma fit --by`` prints for the same outcome: the posterior median, not the mean (one fit, one story)."""

from __future__ import annotations

import pandas as pd
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _row(out: str, start: str) -> list[str]:
    """The cells of the row *start*, across the parts of a table split to fit 100 columns."""
    return [c.strip() for line in out.splitlines() if line.startswith(start)
            for c in line[len(start):].split("  ") if c.strip()]


def test_default_prior_row_is_fit_by_s_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV)).to_csv("effects.csv", index=False)
    common = ["effects.csv", "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D"]
    assert main(["fit", *common, "--by", "outcome", "--out", "by"]) == 0
    combined = _row(capsys.readouterr().out, "misconduct")
    assert main(["priors", *common, "--subset", "outcome == 'misconduct'", "--out", "pri"]) == 0
    out = capsys.readouterr().out
    default = _row(out, "HalfNormal(0.5) (default)")
    assert default[0] == combined[-2]  # mu: posterior median [95% CrI], as fit --by's Bayes column
    assert default[3] == combined[-1]  # P(mu > 0)
    assert max(len(ln) for ln in out.splitlines() if ln.startswith(("prior", "Half", "Uniform", "Rhodes"))) <= 110
    table = pd.read_csv("pri/priors.csv", index_col=0)
    assert {"mu_mean", "mu_sd", "tau_lower", "new_upper", "bf10_effect"} <= set(table.columns)  # the full table
