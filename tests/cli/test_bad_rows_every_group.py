"""Bad input rows are reported all at once: with ``--by`` (``--per``) the problems of every value of the
column in one line, and ``escalc`` names every study with an impossible value (a correlation outside
(-1, 1), a sample size <= 1), not the first; exit 2 and no output file in both cases."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT, run_cli

import bayesma as bm
from bayesma.errors import InputError

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


_run = run_cli


@pytest.fixture
def bad_effects(tmp_path):
    """The illustrative effects with three bad rows in two outcomes: a negative variance and a missing effect
    (dropout), a non-numeric effect (recidivism)."""
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV)).astype({"yi": object})
    first = {o: int(np.flatnonzero(es["outcome"] == o)[0]) for o in ("dropout", "recidivism")}
    es.loc[first["dropout"], "vi"] = -0.01
    es.loc[first["dropout"] + 1, "yi"] = np.nan
    es.loc[first["recidivism"], "yi"] = "abc"
    path = tmp_path / "bad.csv"
    es.to_csv(path, index=False)
    rows = [first["dropout"] + 1, first["dropout"] + 2, first["recidivism"] + 1]  # the file's rows (from 1)
    return path, rows


@pytest.mark.parametrize("command", [["rma"], ["fit"], ["bias"], ["robma", "--measure", "R2D"]])
def test_by_reports_the_bad_rows_of_every_value_in_one_line(command, bad_effects, tmp_path, capsys):
    path, rows = bad_effects
    code, out, err = _run([command[0], path, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome",
                           *command[1:], "--out", tmp_path / "out"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayesma: error: ")
    assert "2 of the 3 analyses (--by outcome) have problems" in lines[0]
    assert sorted(int(r) for r in re.findall(r"\(row (\d+)\)", lines[0])) == rows
    assert "negative variance" in lines[0] and "non-numeric value 'abc'" in lines[0] and "missing" in lines[0]
    assert not (tmp_path / "out").exists()


def test_subgroup_per_reports_every_value(bad_effects, tmp_path, capsys):
    path, rows = bad_effects
    code, _, err = _run(["subgroup", path, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater",
                         "--per", "outcome", "--out", tmp_path / "out"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "(--per outcome)" in err
    assert sorted(int(r) for r in re.findall(r"\(row (\d+)\)", err)) == rows
    assert not (tmp_path / "out").exists()


def test_one_bad_value_keeps_its_message(bad_effects, tmp_path, capsys):
    path, _ = bad_effects
    es = pd.read_csv(path)
    es["yi"] = es["yi"].astype(object)
    es.loc[es["outcome"] == "recidivism", "yi"] = 0.1  # only dropout's problems remain
    es.to_csv(path, index=False)
    code, _, err = _run(["rma", path, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome",
                         "--out", tmp_path / "out"], capsys)
    assert code == 2 and "rows with outcome == 'dropout': 2 problems:" in err and "analyses" not in err


@pytest.fixture
def bad_correlations(tmp_path):
    raw = pd.read_csv(CSV)
    raw.loc[3, "r"] = -1.5
    raw.loc[5, "n"] = -10
    raw.loc[6, "n"] = 0
    raw.loc[len(raw) - 1, "r"] = 1.3
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    return path, raw


def test_escalc_cli_names_every_impossible_value(bad_correlations, tmp_path, capsys):
    path, raw = bad_correlations
    code, out, err = _run(["escalc", "R2D", path, "--ri", "r", "--ni", "n", "--slab", "study", "--out",
                           tmp_path / "es.csv"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "4 problems" in err
    assert sorted(int(r) for r in re.findall(r"\(row (\d+)\)", err)) == [4, 6, 7, len(raw)]
    assert "(r = -1.5)" in err and "(r = 1.3)" in err and "(n = -10)" in err and "(n = 0)" in err
    assert not (tmp_path / "es.csv").exists() and out == ""


def test_escalc_names_every_study_in_python(bad_correlations):
    _, raw = bad_correlations
    with pytest.raises(InputError) as info:
        bm.escalc("R2D", ri="r", ni="n", data=raw, slab="study")
    text = str(info.value)
    assert text.startswith("4 problems: ")
    for i in (3, 5, 6, len(raw) - 1):
        assert f"{raw.loc[i, 'study']!r} (row {i + 1})" in text
    assert info.value.row == 4 and info.value.column == "r"  # the first, in row order


def test_escalc_one_impossible_value_is_one_sentence():
    with pytest.raises(InputError, match=r"^column 'ri': study in row 2 has a correlation outside") as info:
        bm.escalc("COR", ri=[0.2, 1.4, 0.1], ni=[20, 30, 40])
    assert "problems" not in str(info.value) and info.value.row == 2


def test_escalc_also_reports_the_bad_rows_of_both_measures(tmp_path, capsys):
    """Mixed inputs (``escalc SMD ... --also R2D``): the rows of each measure are checked, and the problems of
    both come in one line with the file's row numbers."""
    rows = [dict(study="A", m1=10, sd1=2, n1=20, m2=9, sd2=2, n2=20), dict(study="B", r=1.4, n=50),
            dict(study="C", m1=10, sd1=-2, n1=20, m2=9, sd2=2, n2=20), dict(study="D", r=0.2, n=40),
            dict(study="E", r=-1.2, n=40), dict(study="F", m1=10, sd1=2, n1=20, m2=9, sd2=-1, n2=20)]
    path = tmp_path / "mixed.csv"
    pd.DataFrame(rows, columns=["study", "m1", "sd1", "n1", "m2", "sd2", "n2", "r", "n"]).to_csv(path, index=False)
    code, _, err = _run(["escalc", "SMD", path, "--m1i", "m1", "--sd1i", "sd1", "--n1i", "n1", "--m2i", "m2",
                         "--sd2i", "sd2", "--n2i", "n2", "--also", "R2D", "--ri", "r", "--ni", "n", "--slab", "study",
                         "--out", tmp_path / "es.csv"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert [(s, int(r)) for s, r in re.findall(r"study '(\w)' \(row (\d+)\)", err)] == [
        ("C", 3), ("F", 6), ("B", 2), ("E", 5)]
    assert not (tmp_path / "es.csv").exists()
