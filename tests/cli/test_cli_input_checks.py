"""The command line on awkward input: both random-effects tests of subgroup differences, several outcomes
per study, --by with a one-study group, Latin-1 and BOM CSV files, a quoted decimal comma."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _quiet_fit(df, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(df, yi="yi", vi="vi", labels="study", **kwargs).fit(engine="exact", seed=1)


def _paragraph(text: str) -> str:
    return text.split("\n\n")[1]


# --- item 9: both random-effects tests of subgroup differences, labelled -------------------------

@pytest.fixture
def effects(tmp_path, capsys) -> Path:
    path = tmp_path / "effects.csv"
    code, _, err = _run(["escalc", "R2D", CSV, "--ri", "r", "--ni", "n", "--slab", "study", "--out", path], capsys)
    assert code == 0, err
    return path


def test_subgroup_cli_prints_both_random_effects_tests(effects, tmp_path, capsys):
    code, out, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--by", "rater", "--subset",
                           "outcome == 'recidivism'", "--out", tmp_path / "sg"], capsys)
    assert code == 0, err
    recid = pd.read_csv(effects).query("outcome == 'recidivism'")
    sg = bm.subgroup("yi", "vi", by="rater", data=recid)
    reg = bm.rma("yi", "vi", data=recid, mods="~ rater")  # metafor: rma(yi, vi, mods = ~ factor(rater))
    assert reg.QM == pytest.approx(sg.mixed.QM, rel=1e-9)
    out = out.replace("\n  ", " ")  # the console wraps prose at 100 columns, continuation lines indented
    lines = [ln for ln in out.splitlines() if ln.startswith("Test of subgroup differences, RE")]
    assert len(lines) == 2
    sep = next(ln for ln in lines if "separate tau²" in ln)
    com = next(ln for ln in lines if "common tau²" in ln)
    assert f"Q_between(1) = {sg.Q_between:.2f}" in sep
    assert f"QM(1) = {reg.QM:.2f}" in com and "factor(rater)" in com
    assert f"{reg.QMp:.3f}".lstrip("0") in com
    table = pd.read_csv(tmp_path / "sg" / "subgroups.csv")
    assert table.loc[table["model"] == "RE", "QM"].to_numpy() == pytest.approx(reg.QM, rel=1e-9)
    assert table.loc[table["model"] == "RE", "Q_between"].to_numpy() == pytest.approx(sg.Q_between, rel=1e-9)


# --- item 3: several outcomes per study pooled as one analysis --------------------------------------

@pytest.mark.parametrize("command", ["fit", "rma", "bias", "robma", "priors"])
def test_repeated_study_column_across_outcomes_is_refused(command, effects, tmp_path, capsys):
    # no --labels: the 'study' column names the studies, and it repeats across the values of 'outcome'
    code, _, err = _run([command, effects, "--yi", "yi", "--vi", "vi", "--out", tmp_path / "x"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "'study' repeats" in err and "'outcome'" in err and "more than once" in err
    assert "--subset" in err
    # fit and robma take --cluster themselves; the others point to 'bayesma fit --cluster'
    assert ("--cluster study (a three-level model)" in err) == (command in ("fit", "robma"))
    assert "bayesma fit --cluster study" in err or command in ("fit", "robma")
    assert "'bayesma mv FILE --cluster study --outcome outcome'" in err  # the model across outcomes
    assert not (tmp_path / "x").exists()


def test_outcome_column_without_study_labels_warns_loudly(effects, tmp_path, capsys):
    nolab = tmp_path / "nolab.csv"
    pd.read_csv(effects).drop(columns="study").to_csv(nolab, index=False)
    code, out, err = _run(["rma", nolab, "--yi", "yi", "--vi", "vi", "--out", tmp_path / "x"], capsys)
    assert code == 0, err
    warning = [ln for ln in err.splitlines() if ln.startswith("bayesma: warning: column 'outcome' splits")]
    assert warning, err
    assert "dropout: 9, misconduct: 3, recidivism: 15" in warning[0] and "ALL 27 rows" in warning[0]
    assert "--by outcome" in warning[0] and "--subset" in warning[0]


def test_one_outcome_or_a_cluster_is_not_warned_about(effects, tmp_path, capsys):
    code, _, err = _run(["rma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'recidivism'",
                         "--out", tmp_path / "a"], capsys)
    assert code == 0 and "warning: column" not in err, err
    code, _, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--measure", "R2D",
                         "--out", tmp_path / "b"], capsys)
    assert code == 0 and "warning: column" not in err, err


# --- item 1: fit --by with a one-study group ---------------------------------------------------------

def test_fit_by_with_a_one_study_group_shows_a_row_and_a_small_k_note(effects, tmp_path, capsys):
    eff = pd.read_csv(effects)
    extra = pd.DataFrame([{"outcome": "violence", "study": "Zed (2020)", "r": -0.3, "n": 60, "yi": -0.63,
                           "vi": 0.08}])
    path = tmp_path / "eff_k1.csv"
    pd.concat([eff, extra], ignore_index=True).to_csv(path, index=False)
    code, out, err = _run(["fit", path, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                           "--by", "outcome", "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    # the table is printed in parts to fit 100 columns, each part starting with the group's name
    row = "  ".join(ln for ln in out.splitlines() if ln.startswith("violence"))
    cells = row.split()
    assert cells[1] == "1" and "-0.63 [-1.18, -0.08]" in row  # the study's own estimate and z-interval
    assert row.count("—") == 5  # Q(df), p, I², tau², PI: nothing to estimate from one study
    note = next(ln for ln in out.splitlines() if ln.startswith("Small k:"))
    assert "violence: one study" in note and "misconduct (k = 3)" in note and "prior on tau" in note
    report = (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    assert "Small k: violence" in report
    section = report.split("## outcome: violence")[1]
    assert "With k = 1 study, no heterogeneity can be estimated" in section
    assert "Q(0)" not in section and "Knapp-Hartung" not in section.split("### Posterior summary")[0]
    assert "the data, not the prior, determined the pooled effect" not in section


def test_rma_by_with_a_one_study_group(effects, tmp_path, capsys):
    eff = pd.read_csv(effects)
    extra = pd.DataFrame([{"outcome": "violence", "study": "Zed (2020)", "yi": -0.63, "vi": 0.08}])
    path = tmp_path / "eff_k1.csv"
    pd.concat([eff, extra], ignore_index=True).to_csv(path, index=False)
    code, out, err = _run(["rma", path, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome",
                           "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    row = "  ".join(ln for ln in out.splitlines() if ln.startswith("violence"))  # the table's parts
    assert row.split()[1] == "1" and row.count("—") == 5
    assert "Small k: violence: one study" in out and "prior" not in out.split("Small k:")[1].splitlines()[0]


# --- item 12: Latin-1 CSV files; a quoted decimal comma in a comma-separated file --------------------

def test_latin1_csv_is_read_with_a_warning_naming_the_byte(tmp_path, capsys):
    rows = ["study;yi;vi", "A;0,1;0,02", "B;0,3;0,01", "Müller (2001);0,2;0,03", "D;0,5;0,04"]
    path = tmp_path / "latin.csv"
    path.write_bytes("\n".join(rows).encode("latin-1") + b"\n")
    code, out, err = _run(["rma", path, "--yi", "yi", "--vi", "vi", "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    byte = "\n".join(rows).encode("latin-1").index(b"\xfc") + 1
    warning = next(ln for ln in err.splitlines() if "not UTF-8" in ln)
    assert f"byte {byte}, 0xFC, in line 4" in warning and "'Müller (2001);0,2;0,03'" in warning
    expected = bm.rma([0.1, 0.3, 0.2, 0.5], [0.02, 0.01, 0.03, 0.04])
    table = pd.read_csv(tmp_path / "o" / "rma.csv", index_col=0)
    assert table.loc["REML", "estimate"] == pytest.approx(float(expected.beta[0]), rel=1e-9)


def test_utf8_csv_with_bom_and_accents_is_read_without_warning(tmp_path, capsys):
    path = tmp_path / "utf8.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "study,yi,vi\nMüller,0.1,0.02\nB,0.3,0.01\nC,0.2,0.03\n".encode())
    code, out, err = _run(["rma", path, "--yi", "yi", "--vi", "vi", "--out", tmp_path / "o"], capsys)
    assert code == 0 and "warning" not in err, err


@pytest.mark.parametrize("command", ["rma", "escalc"])
def test_quoted_decimal_comma_in_a_comma_separated_file_suggests_the_fix(command, tmp_path, capsys):
    path = tmp_path / "comma.csv"
    if command == "rma":
        path.write_text('study,yi,vi\nA,"0,1","0,02"\nB,"0,3","0,01"\nC,"0,2","0,03"\n', encoding="utf-8")
        argv = ["rma", path, "--yi", "yi", "--vi", "vi", "--out", tmp_path / "o"]
    else:
        path.write_text('study,r,n\nA,"0,2",40\nB,"0,3",50\n', encoding="utf-8")
        argv = ["escalc", "R2D", path, "--ri", "r", "--ni", "n", "--out", tmp_path / "o.csv"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "decimal comma" in err and "semicolons" in err
    assert "(0.1)" in err if command == "rma" else "(0.2)" in err
