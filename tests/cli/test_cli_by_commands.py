"""The command line covers the multi-outcome workflow it shows: ``--by`` for ``bias`` and ``robma``,
``subgroup --per``, each subgroup's heterogeneity in ``subgroups.csv``, escalc's "Next:" hint that runs,
``robma --measure R2D`` and ``--ensemble none``, and the small-k cautions of ``bias`` and ``robma``."""

from __future__ import annotations

import shlex
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT, run_cli

import bayesma as bm

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


_run = run_cli


@pytest.fixture
def effects(tmp_path) -> Path:
    path = tmp_path / "effects.csv"
    bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV)).to_csv(path, index=False)
    return path


def test_escalc_next_hint_runs_on_a_multi_outcome_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["escalc", "R2D", CSV, "--ri", "r", "--ni", "n", "--slab", "study", "--out", "es.csv"],
                          capsys)
    assert code == 0, err
    hint = next(line for line in out.splitlines() if line.startswith("Next: "))[len("Next: "):]
    assert "--by outcome" in hint  # the studies repeat across outcomes: one analysis per outcome
    argv = shlex.split(hint)
    assert argv[0] == "bayesma"
    code, out, err = _run(argv[1:] + ["--out", "next"], capsys)
    assert code == 0, err
    assert (tmp_path / "next" / "combined.csv").exists()


def test_subgroup_per_outcome_equals_the_library_per_outcome(effects, tmp_path, capsys):
    out = tmp_path / "sg"
    code, stdout, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater",
                              "--per", "outcome", "--out", out], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "subgroups.csv", index_col=[0, 1, 2])
    data = pd.read_csv(effects)
    for outcome in ("dropout", "misconduct", "recidivism"):
        part = data[data["outcome"] == outcome]
        re_ = bm.subgroup("yi", "vi", by="rater", data=part, method="REML")
        for level, row in re_.table.iterrows():
            got = table.loc[(outcome, "RE", level)]
            assert got["k"] == row["k"]
            for col, ref in (("estimate", "estimate"), ("tau2", "tau2"), ("I2", "I2"), ("Q", "QE"), ("Q_p", "QEp")):
                assert got[col] == pytest.approx(row[ref], rel=1e-9, abs=1e-12), (outcome, level, col)
            assert got["Q_df"] == row["k"] - 1
        # each subgroup's tau2 is metafor's REML fit of that subgroup alone
        client = part[part["rater"] == "client"]
        if len(client) > 1:
            assert table.loc[(outcome, "RE", "client"), "tau2"] == pytest.approx(
                bm.rma("yi", "vi", data=client).tau2, rel=1e-6, abs=1e-10)
    assert sorted(p.name for p in out.glob("*.png")) == ["forest_dropout.png", "forest_misconduct.png",
                                                         "forest_recidivism.png"]


def test_subgroup_without_per_on_a_multi_outcome_file_points_to_per(effects, tmp_path, capsys):
    code, _, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater",
                         "--out", tmp_path / "x"], capsys)
    assert code == 2 and "--per outcome" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_bias_by_outcome_equals_one_run_per_subset(effects, tmp_path, capsys):
    code, _, err = _run(["bias", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome",
                         "--out", tmp_path / "by"], capsys)
    assert code == 0, err
    # misconduct (k = 3) and dropout (k = 9) are named in the small-k warning; recidivism (k = 15) is not
    assert "outcome == 'misconduct': k = 3 studies (< 10)" in err
    assert "outcome == 'dropout': k = 9 studies (< 10)" in err and "'recidivism': k = 15" not in err
    by = pd.read_csv(tmp_path / "by" / "bias.csv", index_col=[0, 1])
    code, _, err = _run(["bias", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--subset",
                         "outcome == 'recidivism'", "--out", tmp_path / "one"], capsys)
    assert code == 0, err
    one = pd.read_csv(tmp_path / "one" / "bias.csv", index_col=0)
    cols = ["estimate", "ci_lb", "ci_ub", "statistic", "pval"]
    np.testing.assert_allclose(by.loc["recidivism", cols].to_numpy(float), one[cols].to_numpy(float), rtol=1e-12)
    assert (by.loc["misconduct", "note"].str.contains("k = 3 < 10")).sum() >= 5
    names = sorted(p.name for p in (tmp_path / "by").glob("funnel_*.png"))
    assert names == ["funnel_dropout.png", "funnel_misconduct.png", "funnel_recidivism.png"]


def test_robma_by_outcome_with_r2d_and_ensemble_none(effects, tmp_path, capsys):
    out = tmp_path / "rb"
    code, stdout, err = _run(["robma", effects, "--yi", "yi", "--vi", "vi", "--by", "outcome", "--measure", "R2D",
                              "--ensemble", "none", "--out", out], capsys)
    assert code == 0, err
    assert "outcome == 'misconduct': k = 3 studies (< 5)" in err
    summary = pd.read_csv(out / "robma_summary.csv", index_col=[0, 1, 2])
    data = pd.read_csv(effects)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bm.robma(data[data["outcome"] == "recidivism"], yi="yi", vi="vi", measure="SMD", ensemble="none", seed=1)
    est = ref.estimates()
    assert summary.loc[("recidivism", "averaged", "mu"), "mean"] == pytest.approx(est.loc["mu", "mean"], rel=1e-9)
    report = (out / "report.md").read_text()
    assert report.count("## outcome: ") == 3 and "no publication-bias models" in report


def test_robma_small_k_says_so(effects, tmp_path, capsys):
    code, stdout, err = _run(["robma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'misconduct'",
                              "--ensemble", "PP", "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    assert "k = 3 studies (< 10)" in err and "publication bias" in err
    assert "Small k:" in stdout and "Small k:" in (tmp_path / "r" / "report.md").read_text()


def test_robma_refuses_a_measure_it_cannot_fit_naming_the_conversion(effects, tmp_path, capsys):
    code, _, err = _run(["robma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'recidivism'",
                         "--measure", "RR", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "escalc R2D" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_fit_by_small_k_hint_is_a_command_that_runs(effects, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                           "--by", "outcome", "--out", "by"], capsys)
    assert code == 0, err
    hint = out.split("Compare priors on tau for these groups: ", 1)[1].split("\n", 1)[0].rstrip(".")
    assert "'value'" not in hint and "outcome == 'misconduct'" in hint
    code, out, err = _run(shlex.split(hint)[1:] + ["--out", "priors"], capsys)
    assert code == 0, err
    assert (tmp_path / "priors" / "priors.csv").exists()
