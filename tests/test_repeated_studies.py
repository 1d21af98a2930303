"""A ``study`` column that repeats (a study with several outcomes), given neither labels= nor cluster=: the
Bayesian model pools every row as an independent study, and says so (bayesma fit refuses or warns for a
file in its own words, and does not repeat this warning)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main
from bayesma.errors import DataWarning

ROWS = pd.DataFrame({"study": ["A", "B", "C", "A", "D", "E"], "yi": [0.2, 0.4, 0.1, 0.3, 0.5, 0.25],
                     "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})


def test_repeated_study_column_is_said_at_the_users_line():
    with pytest.warns(DataWarning, match=r"column 'study' repeats 'A' \(rows 1 and 4\).*all 6 rows are pooled "
                                         r"as independent studies.*cluster='study'") as rec:
        bm.MetaAnalysis(ROWS, measure="SMD")
    assert rec[0].filename == __file__  # points to the call, not into bayesma


@pytest.mark.parametrize("kwargs", [{"cluster": "study"}, {"labels": ROWS.index.astype(str) + "x"}])
def test_no_warning_when_the_rows_are_labelled_or_clustered(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        bm.MetaAnalysis(ROWS, measure="SMD", **kwargs)


def test_unique_study_column_is_the_labels():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        model = bm.MetaAnalysis(ROWS.assign(study=list("ABCDEF")), measure="SMD")
    assert model.spec.labels == list("ABCDEF")


def test_command_line_says_it_once(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    ROWS.to_csv(path, index=False)
    assert main(["fit", str(path), "--yi", "yi", "--vi", "vi", "--engine", "exact", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: column 'study' repeats 'A'") == 1, err
