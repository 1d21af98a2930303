"""The advice for a study with several rows never suggests splitting the analysis by a column that is
a moderator of the call (``--by rater`` beside ``--mods "~ rater"``): it points to --cluster instead,
in every subcommand that checks the rows (robma, rma, subgroup, whose --by is the moderator)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesma.cli import main
from bayesma.cli.checks import check_rows
from bayesma.cli.errors import InputError


@pytest.fixture()
def rated(tmp_path):
    """Every study has one row per rater: the labels are unique within each rater."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"study": np.repeat([f"s{i}" for i in range(6)], 2), "rater": ["self", "clinician"] * 6,
                       "r": rng.uniform(0.1, 0.4, 12).round(3), "n": rng.integers(40, 200, 12)})
    df["yi"], df["vi"] = np.arctanh(df["r"]), 1.0 / (df["n"] - 3)
    path = tmp_path / "rated.csv"
    df.to_csv(path, index=False)
    return path


def _robma(path, tmp_path, *extra):
    return main(["robma", str(path), "--r", "r", "--n", "n", "--ensemble", "none", *extra,
                 "--out", str(tmp_path / "o")])


def test_robma_with_the_moderator_advises_cluster_not_splitting_by_it(rated, tmp_path, capsys):
    assert _robma(rated, tmp_path, "--mods", "~ rater") == 0
    err = capsys.readouterr().err
    assert "repeats 's0'" in err and "--cluster study" in err and "moderator 'rater'" in err
    assert "--by rater" not in err and "one rater at a time" not in err


def test_robma_without_mods_still_offers_one_analysis_per_rater(rated, tmp_path, capsys):
    assert _robma(rated, tmp_path) == 0
    assert "--by rater" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["rma", "--mods", "~ rater"], ["subgroup", "--by", "rater"]])
def test_rma_and_subgroup_do_not_split_by_their_moderator(rated, tmp_path, capsys, args):
    assert main([args[0], str(rated), "--yi", "yi", "--vi", "vi", *args[1:], "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "repeats 's0'" in err and "--cluster study" in err
    assert "rater at a time" not in err and "--by rater" not in err and "--per rater" not in err


def test_repeated_labels_given_with_labels_are_refused_with_the_same_advice(rated):
    df = pd.read_csv(rated)
    spec = {"yi": "yi", "vi": "vi", "labels": "study", "mods": "~ rater", "cluster_option": True}
    with pytest.raises(InputError, match=r"moderator 'rater'.*--cluster study") as err:
        check_rows(df, spec, by_option=True)
    assert "--by rater" not in str(err.value)
    with pytest.raises(InputError, match=r"--by rater"):
        check_rows(df, {**spec, "mods": None}, by_option=True)
