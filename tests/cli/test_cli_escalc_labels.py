"""``bayesma escalc`` names the study labels as every other command does (``--labels``; metafor's ``--slab``
is its alias), and counts a file with several rows per study as rows of studies."""

from __future__ import annotations

import pandas as pd
from _helpers import ROOT

from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _escalc(capsys, *argv):
    code = main(["escalc", "R2D", str(CSV), "--ri", "r", "--ni", "n", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_labels_and_slab_are_the_same_option(tmp_path, capsys):
    code, out, err = _escalc(capsys, "--labels", "study", "--out", tmp_path / "a.csv")
    assert code == 0, err
    code2, _, err2 = _escalc(capsys, "--slab", "study", "--out", tmp_path / "b.csv")
    assert code2 == 0, err2
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    raw = pd.read_csv(CSV)
    assert f"for {len(raw)} rows ({raw['study'].nunique()} studies)" in out  # studies repeat across outcomes
    assert "--labels study --by outcome" in out  # the next command


def test_unknown_label_column_is_named_by_the_option_given(tmp_path, capsys):
    code, _, err = _escalc(capsys, "--labels", "stdy", "--out", tmp_path / "a.csv")
    assert code == 2 and "no column 'stdy' (given to --labels)" in err and "did you mean 'study'" in err


def test_one_row_per_study_counts_studies(tmp_path, capsys):
    one = tmp_path / "one.csv"
    pd.read_csv(CSV).query("outcome == 'recidivism'").to_csv(one, index=False)
    code = main(["escalc", "R2D", str(one), "--ri", "r", "--ni", "n", "--labels", "study", "--out",
                 str(tmp_path / "e.csv")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"for {len(pd.read_csv(one))} studies to" in out

