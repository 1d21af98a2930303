"""escalc and the conversions with missing or non-integer inputs: a warning or an error that names the
study, the row and the column (library and command line)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main

# ---------------------------------------------------------------------------
# item 8: escalc


def test_missing_sample_size_warns_naming_study_row_and_column():
    with pytest.warns(UserWarning, match=r"R2D: 1 study .*study in row 1: column 'ni'"):
        res = bm.escalc("R2D", ri=[0.1, 0.2], ni=[np.nan, 30])
    assert np.isnan(res["yi"].iloc[0]) and np.isnan(res["vi"].iloc[0])
    assert np.isfinite(res["yi"].iloc[1])


def test_missing_input_warning_uses_labels_and_data_column_names():
    df = pd.DataFrame({"study": ["A", "B", "C"], "m1": [1.0, 2.0, np.nan], "s1": [1.0, np.nan, 1.0],
                       "n1": [10, 10, 10], "m2": [0.0, 0.0, 0.0], "s2": [1.0, 1.0, 1.0], "n2": [10, 10, 10]})
    with pytest.warns(UserWarning) as rec:
        res = bm.escalc("SMD", m1i="m1", sd1i="s1", n1i="n1", m2i="m2", sd2i="s2", n2i="n2",
                        data=df, slab="study")
    text = " ".join(str(w.message) for w in rec)
    assert "2 studies" in text
    assert "study 'B' (row 2): column 's1'" in text
    assert "study 'C' (row 3): column 'm1'" in text
    assert res["yi"].isna().tolist() == [False, True, True]


def test_fallback_column_empty_is_not_reported_when_the_effect_exists():
    # bi empty but n1i given: bi = n1i - ai, no effect is missing, so no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = bm.escalc("OR", ai=[1, 3], bi=[np.nan, 6], ci=[2, 2], di=[8, 8], n1i=[10, 9])
    assert np.isfinite(res["yi"]).all()


def test_complete_input_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm.escalc("ZCOR", ri=[0.1, 0.2], ni=[20, 30])


@pytest.mark.parametrize("measure, kwargs, col", [
    ("R2D", {"ri": [0.1, 0.2], "ni": [1.5, 30]}, "ni"),
    ("ZCOR", {"ri": [0.1, 0.2], "ni": [40, 20.5]}, "ni"),
    ("SMD", {"m1i": [1, 2], "sd1i": [1, 1], "n1i": [10, 10.5], "m2i": [0, 0], "sd2i": [1, 1], "n2i": [10, 10]},
     "n1i"),
    ("OR", {"ai": [1, 2], "n1i": [10, 12], "ci": [2, 3], "n2i": [9.5, 12]}, "n2i"),
    ("PR", {"xi": [1, 2], "ni": [10, 12.2]}, "ni"),
])
def test_non_integer_sample_size_is_an_error_naming_study_and_column(measure, kwargs, col):
    with pytest.raises(ValueError, match=rf"column '{col}': sample sizes must be whole numbers, but study 'b' "
                                         rf"\(row 2\)|column '{col}': sample sizes must be whole numbers, but "
                                         rf"study 'a' \(row 1\)"):
        bm.escalc(measure, slab=["a", "b"], **kwargs)


def test_integer_columns_stay_integers_with_data():
    df = pd.DataFrame({"r": [0.1, 0.2], "n": [20, 30]})
    res = bm.escalc("ZCOR", ri="r", ni="n", data=df)
    assert res["n"].dtype == df["n"].dtype and res["n"].dtype.kind == "i"


def test_cli_escalc_missing_n_count_warning_and_integer_column(tmp_path, capsys):
    src = tmp_path / "r4.csv"
    src.write_text("study,r,n\nA,-0.22,124\nB,0.3,50\nD,0.1,\nE,0.2,30\n")
    out = tmp_path / "out.csv"
    code = main(["escalc", "R2D", str(src), "--ri", "r", "--ni", "n", "--slab", "study", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0
    assert "study 'D' (row 3): column 'n'" in err  # the warning reaches the user
    said = stdout + err
    assert "for 3 of 4 studies" in said and "1 study has no effect size" in said
    text = out.read_text().splitlines()
    assert text[1].startswith("A,-0.22,124,") and text[3].startswith("D,0.1,,")  # 124, not 124.0
    # to standard output: the same count
    code = main(["escalc", "R2D", str(src), "--ri", "r", "--ni", "n", "--slab", "study"])
    stdout, err = capsys.readouterr()
    assert code == 0 and "for 3 of 4 studies" in err and "column 'n'" in err
    assert "\nA,-0.22,124," in stdout


def test_cli_escalc_non_integer_n_is_an_error(tmp_path, capsys):
    src = tmp_path / "r5.csv"
    src.write_text("study,r,n\nA,-0.22,124\nE,0.2,1.5\n")
    code = main(["escalc", "R2D", str(src), "--ri", "r", "--ni", "n", "--slab", "study"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "column 'n'" in err and "study 'E' (row 2) has n = 1.5" in err


# the same class in the conversions of bayesma.effects.convert


def test_conversion_with_a_missing_input_warns_naming_the_element():
    with pytest.warns(UserWarning, match=r"n\[0\] is missing \(NaN\)") as rec:
        d, v = bm.convert_r_to_d([0.1, 0.2], n=[np.nan, 30])
    assert rec[0].filename == __file__  # points at the caller, not at bayesma
    assert np.isnan(v[0]) and np.isfinite(v[1])
    with pytest.warns(UserWarning, match=r"r\[1\] is missing"):
        bm.convert_r_to_z([0.1, np.nan], n=[20, 30])


@pytest.mark.parametrize("call", [
    lambda: bm.convert_r_to_d([0.1, 0.2], n=[30, 1.5]),
    lambda: bm.convert_d_to_r([0.1, 0.2], [0.1, 0.1], n1=[10, 20.5], n2=[10, 20]),
    lambda: bm.convert_r_to_z(0.3, n=20.5),
])
def test_conversion_with_a_non_integer_sample_size_is_an_error(call):
    with pytest.raises(ValueError, match=r"n\d?(\[1\])? = \d+\.5: a sample size must be a whole number"):
        call()


def test_conversion_complete_input_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm.convert_r_to_d([0.1, 0.2], n=[20, 30])
