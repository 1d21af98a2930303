"""MetaData validation: every bad input names the study and the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.data import MetaData


def frame(**overrides):
    df = pd.DataFrame({
        "study": ["Smith 2001", "Jones 2003", "Lee 2010", "Khan 2015"],
        "yi": [0.1, 0.3, -0.2, 0.4],
        "vi": [0.02, 0.03, 0.05, 0.04],
        "setting": ["community", "custodial", "community", "custodial"],
    })
    for col, values in overrides.items():
        df[col] = values
    return df


def test_reads_columns_and_labels():
    md = MetaData.create("yi", "vi", data=frame())
    assert md.k == 4
    assert md.labels == ["Smith 2001", "Jones 2003", "Lee 2010", "Khan 2015"]
    np.testing.assert_array_equal(md.vi, [0.02, 0.03, 0.05, 0.04])
    assert "setting" in md.data.columns


def test_standard_errors_are_squared():
    md = MetaData.create([0.1, 0.2], sei=[0.1, 0.2])
    np.testing.assert_allclose(md.vi, [0.01, 0.04])


@pytest.mark.parametrize(
    "column,value,message",
    [
        ("vi", -0.03, "variance of -0.03"),
        ("vi", 0.0, "variance of 0"),
        ("vi", np.inf, "non-finite"),
        ("yi", np.inf, "non-finite"),
        ("vi", np.nan, "missing value"),
        ("yi", np.nan, "missing value"),
    ],
)
def test_bad_value_names_study_and_column(column, value, message):
    df = frame()
    df[column] = df[column].astype(float)
    df.loc[2, column] = value
    with pytest.raises(ValueError) as err:
        MetaData.create("yi", "vi", data=df)
    text = str(err.value)
    assert "'Lee 2010'" in text and "row 3" in text
    assert f"column {column!r}" in text
    assert message in text


def test_non_numeric_value_is_a_type_error():
    df = frame()
    df["yi"] = df["yi"].astype(object)
    df.loc[1, "yi"] = "0.3*"
    with pytest.raises(TypeError, match=r"column 'yi': study 'Jones 2003' \(row 2\) has a non-numeric value '0.3\*'"):
        MetaData.create("yi", "vi", data=df)


def test_negative_standard_error():
    with pytest.raises(ValueError, match=r"column 'sei': study in row 2 has a standard error of -0.1"):
        MetaData.create([0.1, 0.2], sei=[0.1, -0.1])


def test_length_mismatch():
    with pytest.raises(ValueError, match=r"column 'vi' has 2 values but yi has 3"):
        MetaData.create([0.1, 0.2, 0.3], [0.1, 0.2])


def test_duplicate_labels():
    df = frame(study=["A", "B", "A", "C"])
    with pytest.raises(ValueError, match=r"column 'study': duplicate study label 'A' in rows 1 and 3"):
        MetaData.create("yi", "vi", data=df, labels="study")


def test_duplicate_labels_say_how_to_keep_a_studys_effects_together():
    df = frame(study=["A", "B", "A", "C"])
    with pytest.raises(ValueError) as err:
        MetaData.create("yi", "vi", data=df, labels="study")
    text = str(err.value)
    assert "give the study column as cluster= (then labels= names each effect, or leave it out)" in text
    assert "outcome=" in text and "rma_mv" in text  # several outcomes: one model across them


def test_unknown_column():
    with pytest.raises(ValueError, match=r"column 'effect' \(for yi\) is not in the data"):
        MetaData.create("effect", "vi", data=frame())


def test_vi_or_sei_required_once():
    with pytest.raises(TypeError, match="exactly one of vi"):
        MetaData.create([0.1], [0.1], sei=[0.1])


def test_missing_drop_reports_dropped_studies():
    df = frame()
    df.loc[1, "vi"] = np.nan
    with pytest.warns(UserWarning, match=r"dropped 1 of 4 studies with missing values: Jones 2003 \(missing vi\)"):
        md = MetaData.create("yi", "vi", data=df, missing="drop")
    assert md.k == 3
    assert md.dropped == ["Jones 2003 (missing vi)"]
    assert "Jones 2003" not in md.labels


def test_missing_moderator_named_in_rma():
    df = frame()
    df["x"] = [1.0, np.nan, 2.0, 3.0]
    with pytest.raises(ValueError, match=r"column 'x': study 'Jones 2003' \(row 2\) has a missing value"):
        bm.rma("yi", "vi", data=df, mods="~ x")
    with pytest.warns(UserWarning, match="dropped 1 of 4"):
        res = bm.rma("yi", "vi", data=df, mods="~ x", missing="drop")
    assert res.k == 3


def test_unknown_moderator():
    with pytest.raises(ValueError, match=r"moderator 'age' in '~ age' is not a column"):
        bm.rma("yi", "vi", data=frame(), mods="~ age")


def test_factor_moderator_names_follow_metafor():
    res = bm.rma("yi", "vi", data=frame(), mods="~ setting", method="FE")
    assert res.coef_names == ["intrcpt", "settingcustodial"]
    res = bm.rma("yi", "vi", data=frame(), mods="~ factor(setting)", method="FE")
    assert res.coef_names == ["intrcpt", "factor(setting)custodial"]


def test_rank_deficient_design():
    # issue 9: as metafor, a redundant moderator is dropped with a warning naming it
    df = frame(x=[1.0, 1.0, 1.0, 1.0])
    with pytest.warns(UserWarning, match="Redundant predictors dropped.*'x'"):
        res = bm.rma("yi", "vi", data=df, mods="~ x")
    assert res.coef_names == ["intrcpt"]


def test_data_must_be_a_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        MetaData.create("yi", "vi", data={"yi": [1], "vi": [1]})
