"""``bayesma fit --by outcome`` with a small outcome whose studies also report other outcomes points to the one
model across outcomes (the small outcome borrows strength), as a command that runs; without shared studies
there is nothing to borrow and no such hint."""

from __future__ import annotations

import shlex

import pandas as pd
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"
HINT = "one model across them lets the small groups borrow strength from the others (and says how much): "


def _fit_by(path, out, capsys):
    code = main(["fit", str(path), "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D", "--by",
                 "outcome", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_hint_is_a_command_that_fits_the_multivariate_model(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    es.to_csv("effects.csv", index=False)
    shared = es.groupby("study")["outcome"].nunique()
    assert (shared > 1).any() and (es["outcome"].value_counts() < 5).any()  # the situation of the hint
    out = _fit_by("effects.csv", "by", capsys)
    command = out.split(HINT, 1)[1].split(". Its frequentist version", 1)[0]
    assert "--cluster study --outcome outcome" in command
    assert main([*shlex.split(command)[1:], "--engine", "exact", "--out", "mv"]) == 0
    text = capsys.readouterr().out
    assert "mu[misconduct]" in text  # each outcome's mean from the joint model


def test_no_hint_without_shared_studies(tmp_path, capsys):
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    es["study"] = es["study"] + " / " + es["outcome"]  # every study reports one outcome
    path = tmp_path / "separate.csv"
    es.to_csv(path, index=False)
    out = _fit_by(path, tmp_path / "by", capsys)
    assert "Small k:" in out and HINT not in out


def test_hint_fits_the_bayesian_and_the_frequentist_model_with_one_v(tmp_path, capsys, monkeypatch):
    """Both commands of the hint carry the same --rho, so that fit's frequentist check (rma_mv, REML) and
    'bayesma mv' report the same estimates (one story); without it fit assumes independent sampling errors
    and mv a correlation of 0.5."""
    monkeypatch.chdir(tmp_path)
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    es.to_csv("effects.csv", index=False)
    out = _fit_by("effects.csv", "by", capsys)
    fit_cmd = out.split(HINT, 1)[1].split(". Its frequentist version", 1)[0]
    mv_cmd = out.split("Its frequentist version with CR2 intervals: ", 1)[1].split("\n", 1)[0].rstrip(".")
    assert "--rho 0.5" in fit_cmd and "--rho 0.5" in mv_cmd and mv_cmd.startswith("bayesma mv ")
    assert main([*shlex.split(mv_cmd)[1:], "--out", "mv"]) == 0
    capsys.readouterr()
    table = pd.read_csv(tmp_path / "mv" / "mv.csv", index_col=0)
    code = main([*shlex.split(fit_cmd)[1:], "--engine", "exact", "--out", "bayes"])
    assert code == 0, (fit_cmd, capsys.readouterr().err)
    report = (tmp_path / "bayes" / "report.md").read_text()
    for outcome in ("dropout", "misconduct", "recidivism"):
        row = next(ln for ln in report.splitlines() if ln.startswith(f"| REML (rma.mv) | outcome{outcome} |"))
        assert row.split("|")[3].strip() == f"{table.loc[outcome, 'estimate']:.4f}"
