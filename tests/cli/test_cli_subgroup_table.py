"""``bayesma subgroup``'s printed table: tau² belongs to the random-effects rows (the common-effect model has
none), each the REML tau² of that subgroup alone; I² and Q (heterogeneity within the subgroup) on both."""

from __future__ import annotations

import pandas as pd
from _helpers import ROOT

import bayesma as bm
from bayesma.cli.subgroup import subgroup_analysis

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def test_tau2_only_on_random_effects_rows():
    raw = pd.read_csv(CSV).query("outcome == 'recidivism'")
    es = bm.escalc("R2D", ri="r", ni="n", data=raw)
    spec = {"yi": "yi", "vi": "vi", "sei": None, "labels": "study", "missing": "raise"}
    shown = subgroup_analysis(es, spec, "rater")["shown"]
    assert (shown.loc["FE", "tau²"] == "").all()
    for level, cell in shown.loc["RE", "tau²"].items():
        alone = bm.rma("yi", "vi", data=es[es["rater"] == level])  # metafor's REML on that subgroup
        # three decimals, as every table of tau² (bayesma rma --by, fit --by) and the report's "tau² = 0.026"
        expected = "0" if alone.tau2 == 0 else ("< 0.001" if alone.tau2 < 0.0005 else f"{alone.tau2:.3f}")
        assert cell == expected
    assert (shown.loc["FE", "I²"] == shown.loc["RE", "I²"]).all() and (shown.loc["FE", "I²"] != "").all()


def test_a_subgroup_of_one_study_has_no_heterogeneity_cells():
    """One study in a subgroup: tau², I² and Q are '—'/blank, as the combined tables of --by write a value of one
    study (metafor sets tau² to 0 and I² to 0%, numbers a reader would take for estimates)."""
    raw = pd.read_csv(CSV).query("outcome == 'misconduct'")
    es = bm.escalc("R2D", ri="r", ni="n", data=raw)
    es.loc[es.index[0], "rater"] = "self"  # a subgroup with a single study
    spec = {"yi": "yi", "vi": "vi", "sei": None, "labels": "study", "missing": "raise"}
    shown = subgroup_analysis(es, spec, "rater")["shown"]
    one = shown.xs("self", level="rater")
    assert (one["tau²"].tolist(), one["I²"].tolist(), one["Q(df), p"].tolist()) == (["", "—"], ["—", "—"], ["", ""])
