"""``bayesma robma`` checks the file's rows the same way for every effect input (--yi, --r, --d, ...):
several rows per study pooled as independent studies are warned about, and not when --cluster keeps
them together (the warning used to say "ALL rows pooled as independent" beside --cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesma.cli import main


@pytest.fixture()
def repeated_csv(tmp_path):
    rng = np.random.default_rng(2)
    k = 18
    df = pd.DataFrame({"study": np.repeat([f"s{i}" for i in range(6)], 3),
                       "r": np.clip(rng.normal(0.2, 0.1, k), -0.9, 0.9).round(3),
                       "n": rng.integers(30, 200, k)})
    df["yi"], df["vi"] = np.arctanh(df["r"]), 1.0 / (df["n"] - 3)
    path = tmp_path / "cors.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("effect", [["--r", "r", "--n", "n"], ["--yi", "yi", "--vi", "vi", "--measure", "ZCOR"]])
def test_repeated_studies_without_cluster_are_warned_about_for_every_input(repeated_csv, tmp_path, capsys, effect):
    assert main(["robma", str(repeated_csv), *effect, "--ensemble", "none", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "pooled as independent studies" in err and "--cluster study" in err


@pytest.mark.parametrize("effect", [["--r", "r", "--n", "n"], ["--yi", "yi", "--vi", "vi", "--measure", "ZCOR"]])
def test_with_cluster_no_warning_says_the_rows_are_pooled_as_independent(repeated_csv, tmp_path, capsys, effect):
    assert main(["robma", str(repeated_csv), *effect, "--cluster", "study", "--ensemble", "none",
                 "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "independent" not in captured.err and "rho" in captured.out


def test_a_text_cell_in_the_r_column_names_the_study_and_row(repeated_csv, tmp_path, capsys):
    df = pd.read_csv(repeated_csv).astype({"r": object})
    df.loc[4, "r"] = "n/a?"
    df.to_csv(repeated_csv, index=False)
    assert main(["robma", str(repeated_csv), "--r", "r", "--n", "n", "--cluster", "study", "--ensemble", "none",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "study 's1' (row 5) column 'r'" in err and "'n/a?'" in err


def test_a_misspelt_precision_column_names_its_flag(repeated_csv, tmp_path, capsys):
    assert main(["robma", str(repeated_csv), "--r", "r", "--n", "nn", "--ensemble", "none",
                 "--out", str(tmp_path / "o")]) == 2
    assert "no column 'nn' (given to --n) (did you mean 'n'?)" in capsys.readouterr().err


def test_missing_drop_leaves_out_rows_without_a_cluster_or_moderator(repeated_csv, tmp_path, capsys):
    df = pd.read_csv(repeated_csv)
    df["x"] = np.linspace(0, 1, len(df))
    df.loc[4, "study"] = np.nan
    df.loc[7, "x"] = np.nan
    df.to_csv(repeated_csv, index=False)
    args = ["robma", str(repeated_csv), "--r", "r", "--n", "n", "--cluster", "study", "--mods", "~ x",
            "--ensemble", "none", "--out", str(tmp_path / "o")]
    assert main(args) == 2                                   # refused by default, naming the row
    assert "row 5" in capsys.readouterr().err
    assert main([*args, "--missing", "drop"]) == 0
    captured = capsys.readouterr()
    assert "2 studies with a missing value left out (rows 5, 8)" in captured.err
    assert "k = 16" in captured.out + captured.err
