"""``bayesma mv FILE``: dependent effects on the command line (multivariate model across outcomes, CHE),
with model-based and CR2 intervals; numbers against metafor + clubSandwich (metafor_mv_more.json, the
seed's shape: three outcomes from 21 studies) and bad input in one line with exit code 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

from bayesma.cli import main

CASES = {c["name"]: c for c in load_json("metafor/metafor_mv_more.json")["cases"]}


@pytest.fixture(scope="module")
def seed_csv(tmp_path_factory):
    case = CASES["seed_shape_CS_REML"]
    path = tmp_path_factory.mktemp("mv") / "alliance.csv"
    pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"}).to_csv(path, index=False)
    return path


def _run(args, tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    code = main(["mv", *map(str, args), "--out", str(out)])
    return code, out


@pytest.fixture(scope="module")
def multivariate(seed_csv, tmp_path_factory):
    return _run([seed_csv, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome", "--rho", "0.5",
                 "--struct", "CS"], tmp_path_factory, "mv_cs")


def test_one_model_across_outcomes_equals_metafor(multivariate):
    code, out = multivariate
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"mv.csv", "effects.csv", "forest.png", "report.md"}
    table = pd.read_csv(out / "mv.csv", index_col="outcome")
    exp = CASES["seed_shape_CS_REML"]["expect"]
    assert list(table.index) == ["dropout", "misconduct", "recidivism"]
    assert table["k"].tolist() == [9, 3, 15] and table["studies"].tolist() == [9, 3, 15]
    np.testing.assert_allclose(table["estimate"], exp["beta"], rtol=1e-6)
    np.testing.assert_allclose(table["se"], exp["se"], rtol=1e-6)
    np.testing.assert_allclose(table["ci_lb"], exp["ci_lb"], rtol=1e-6)
    rob = exp["robust_cr2"]
    np.testing.assert_allclose(table["rob_se"], rob["se"], rtol=1e-6)
    np.testing.assert_allclose(table["rob_df"], rob["df"], rtol=1e-6)
    np.testing.assert_allclose(table[["rob_ci_lb", "rob_ci_ub"]].to_numpy().T, [rob["ci_lb"], rob["ci_ub"]], rtol=1e-6)


def test_report_groups_effects_by_study(multivariate):
    _, out = multivariate
    text = (out / "report.md").read_text()
    assert "27 effects from 21 studies" in text
    assert "random = ~ outcome | study (struct = CS)" in text
    assert "## Effects by study" in text
    assert "HTZ" in text
    effects = pd.read_csv(out / "effects.csv")
    assert len(effects) == 27


def test_che_with_moderators_equals_clubsandwich(seed_csv, tmp_path_factory):
    code, out = _run([seed_csv, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--che", "--obs", "esid",
                      "--mods", "~ outcome + rater + setting", "--rho", "0.5"], tmp_path_factory, "mv_che")
    assert code == 0
    table = pd.read_csv(out / "mv.csv", index_col="coef")
    rob = CASES["seed_shape_che_moderators"]["expect"]["robust_cr2"]
    assert len(table) == 5
    np.testing.assert_allclose(table["rob_se"], rob["se"], rtol=1e-6)
    np.testing.assert_allclose(table["rob_df"], rob["df"], rtol=1e-6)
    assert "random = ~ 1 | study/esid" in (out / "report.md").read_text()


def test_che_by_outcome_numbers_effects_itself(seed_csv, tmp_path_factory):
    code, out = _run([seed_csv, "--yi", "yi", "--vi", "vi", "--cluster", "study", "--che", "--outcome", "outcome"],
                     tmp_path_factory, "mv_che_outcome")
    assert code == 0
    table = pd.read_csv(out / "mv.csv", index_col="outcome")
    rob = CASES["seed_shape_che_outcome"]["expect"]["robust_cr2"]
    np.testing.assert_allclose(table["rob_se"], rob["se"], rtol=1e-6)


@pytest.mark.parametrize(("extra", "message"), [
    (["--rho", "1.5"], "--rho must lie between -1 and 1"),
    (["--che", "--obs", "ni"], "have the same --cluster and --obs values"),
])
def test_bad_options_are_one_line_with_exit_2(seed_csv, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    args = ["mv", str(seed_csv), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--out", str(out)]
    if "--che" not in extra:
        args += ["--outcome", "outcome"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_bad_rows_are_listed_in_one_line_and_nothing_is_written(seed_csv, tmp_path, capsys):
    df = pd.read_csv(seed_csv).astype({"yi": object})
    df.loc[3, "yi"] = "n/a"
    df.loc[6, "vi"] = -0.01
    df.loc[8, "outcome"] = None
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["mv", str(path), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                 "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "3 problems" in err and "(row 4) column 'yi'" in err and "(row 7) column 'vi'" in err
    assert "(row 9) column 'outcome': missing" in err
    assert not out.exists()


def test_outcome_is_required_without_che(seed_csv, tmp_path, capsys):
    assert main(["mv", str(seed_csv), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--outcome COL" in capsys.readouterr().err


def test_missing_drop_leaves_rows_out(seed_csv, tmp_path, capsys):
    df = pd.read_csv(seed_csv)
    df.loc[26, "yi"] = None
    path = tmp_path / "gap.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["mv", str(path), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                 "--missing", "drop", "--out", str(out)])
    assert code == 0
    assert "warning: dropped 1 rows with missing values (rows 27)" in capsys.readouterr().err
    assert pd.read_csv(out / "mv.csv", index_col="outcome").loc["recidivism", "k"] == 14


def test_standard_errors_and_a_file_with_its_own_effect_column(seed_csv, tmp_path):
    df = pd.read_csv(seed_csv)
    df["sei"] = np.sqrt(df["vi"])
    df["effect"] = "kept"
    path = tmp_path / "sei.csv"
    df.drop(columns="vi").to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["mv", str(path), "--yi", "yi", "--sei", "sei", "--cluster", "study", "--che", "--outcome", "outcome",
                 "--out", str(out)])
    assert code == 0
    effects = pd.read_csv(out / "effects.csv")
    assert (effects["effect"] == "kept").all() and effects["effect_"].max() == 2
    np.testing.assert_allclose(effects["vi_from_sei"], df["sei"] ** 2)
    rob = CASES["seed_shape_che_outcome"]["expect"]["robust_cr2"]
    np.testing.assert_allclose(pd.read_csv(out / "mv.csv")["rob_se"], rob["se"], rtol=1e-6)
