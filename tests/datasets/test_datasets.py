"""Bundled data sets: shapes, types, metadata, and agreement with metafor_cases.json.

The reference cases were written by R (metafor 3.8.1, metadat 1.2.0) with 15
significant digits, so a double from a data set is "the same value" as a
reference number when the two agree exactly after rounding ours to 15
significant digits; integers and strings must agree exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm
from bayesma.datasets import dataset_info, list_datasets, load_dataset

# rows and columns of each data set in R (metadat 1.2.0): nrow(dat), ncol(dat)
SHAPES = {
    "dat.bcg": (13, 9),
    "dat.normand1999": (9, 8),
    "dat.molloy2014": (16, 10),
    "dat.landenberger2005": (58, 32),
    "dat.assink2016": (100, 8),
    "dat.konstantopoulos2011": (56, 6),
    "dat.raudenbush1985": (19, 10),
    "dat.hackshaw1998": (37, 11),
    "dat.bangertdrowns2004": (48, 16),
    "dat.lehmann2018": (81, 49),
}


def _reference_file() -> Path:
    return REFERENCE_DIR / "metafor/metafor_cases.json"


@pytest.fixture(scope="module")
def cases() -> dict:
    path = _reference_file()
    data = json.loads(path.read_text())
    return {c["name"]: c for c in data["cases"]}


def _same(ours, ref) -> bool:
    """Exact agreement at the reference's precision (15 significant digits for doubles)."""
    if isinstance(ref, str) or isinstance(ours, str):
        return str(ours) == str(ref)
    if isinstance(ref, int) and not isinstance(ref, bool):
        return float(ours).is_integer() and int(ours) == ref
    ours = float(ours)
    return ours == ref or float(f"{ours:.15g}") == ref


def assert_same(values, ref, what: str) -> None:
    values = list(values)
    assert len(values) == len(ref), f"{what}: {len(values)} values, reference has {len(ref)}"
    bad = [(i, v, r) for i, (v, r) in enumerate(zip(values, ref)) if not _same(v, r)]
    assert not bad, f"{what}: rows differ (row, ours, reference): {bad[:5]}"


# ---------------------------------------------------------------- catalog and loading


def test_list_datasets_table():
    tab = list_datasets()
    assert list(tab.columns) == ["name", "title", "k", "measure", "citation"]
    assert set(tab["name"]) == set(SHAPES)
    assert tab["name"].is_monotonic_increasing
    for row in tab.itertuples():
        assert row.k == SHAPES[row.name][0]
        assert row.title and row.citation and row.measure


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_dataset_loads_with_its_shape_and_metadata(name):
    df = load_dataset(name)
    assert isinstance(df, pd.DataFrame)
    assert df.shape == SHAPES[name]
    assert isinstance(df.index, pd.RangeIndex) and df.index[0] == 0
    for key in ("citation", "title", "measure"):
        assert isinstance(df.attrs[key], str) and df.attrs[key].strip(), key
    assert df.attrs["name"] == name
    assert df.attrs["measure"] in {"RR", "OR", "SMD", "MD", "ROM", "COR", "ZCOR", "RD"}
    # the citation names a year in parentheses, as the help page's source does
    assert "(" in df.attrs["citation"] and any(ch.isdigit() for ch in df.attrs["citation"])

    info = dataset_info(name)
    assert list(info["columns"]) == list(df.columns)
    assert all(isinstance(v, str) and v for v in info["columns"].values())
    assert list(info["dtypes"]) == list(df.columns)
    for col, rtype in info["dtypes"].items():
        kind = df[col].dtype.kind
        if rtype == "double" or (rtype == "integer" and info["missing"].get(col)):
            assert kind == "f", (col, df[col].dtype)
        elif rtype == "integer":
            assert kind == "i", (col, df[col].dtype)
        elif rtype == "logical":
            assert df[col].dtype in (bool, pd.BooleanDtype())
        else:
            assert kind in ("O", "U", "T") or isinstance(df[col].dtype, pd.StringDtype), col
            assert all(isinstance(v, str) for v in df[col].dropna())
    for col, n_missing in info["missing"].items():
        assert int(df[col].isna().sum()) == n_missing, col
    assert int(df.isna().sum().sum()) == sum(info["missing"].values())
    # either raw columns for escalc or ready-made effect sizes
    cols = set(df.columns)
    if "escalc" in info:
        assert {v for k, v in info["escalc"].items() if k != "measure"} <= cols
        assert info["escalc"]["measure"] == df.attrs["measure"]
    else:
        assert {"yi", "vi"} <= cols and bool((df["vi"] > 0).all())


def test_names_with_and_without_prefix():
    a = load_dataset("dat.bcg")
    for alias in ("bcg", "BCG", " dat.bcg "):
        pd.testing.assert_frame_equal(load_dataset(alias), a)
    assert bm.load_dataset is load_dataset
    assert bm.list_datasets is list_datasets


def test_fresh_copy_each_time():
    a = load_dataset("bcg")
    a.loc[0, "tpos"] = -1
    a["new"] = 1
    a.attrs["citation"] = ""
    b = load_dataset("bcg")
    assert b.loc[0, "tpos"] == 4
    assert "new" not in b.columns
    assert b.attrs["citation"]


def test_unknown_name_lists_available():
    with pytest.raises(ValueError, match="unknown data set") as err:
        load_dataset("dat.nonexistent")
    for name in SHAPES:
        assert name in str(err.value)
    with pytest.raises(ValueError):
        dataset_info("nope")
    with pytest.raises(TypeError):
        load_dataset(3)  # type: ignore[arg-type]


def test_catalog_records_export_versions():
    from bayesma.datasets import _catalog

    cat = _catalog()
    assert "metadat 1.2.0" in cat["note"] and "R version 4.2.2" in cat["note"]
    assert cat["export"]["metadat"] == "1.2.0"
    assert cat["export"]["script"]


def test_known_values():
    bcg = load_dataset("bcg")
    assert list(bcg.columns) == ["trial", "author", "year", "tpos", "tneg", "cpos", "cneg", "ablat", "alloc"]
    assert bcg.loc[0, "author"] == "Aronson" and bcg.loc[0, "year"] == 1948
    assert sorted(bcg["alloc"].unique()) == ["alternate", "random", "systematic"]
    land = load_dataset("landenberger2005")
    assert land.loc[0, "study"] == "Guerra (1990)"
    assert int(land["age"].isna().sum()) == 14
    assert math.isnan(land.loc[2, "minority"])
    assink = load_dataset("assink2016")
    assert assink["study"].nunique() == 17
    assert assink.loc[0, "yi"] == 0.9066 and assink.loc[0, "deltype"] == "general"
    # full precision, to the last bit of R's doubles (sprintf("%a", dat.hackshaw1998$yi[1]) in R)
    hack = load_dataset("hackshaw1998")
    assert hack.loc[0, "yi"] == float.fromhex("0x1.52f93be237421p-3") == math.log(1.18)
    assert hack.loc[0, "vi"] == float.fromhex("0x1.33a3f745100cep-6")


# ---------------------------------------------------------------- agreement with metafor_cases.json


def test_bcg_escalc_inputs(cases):
    dat = load_dataset("dat.bcg")
    for case in ("bcg_escalc_RR", "bcg_escalc_OR", "bcg_escalc_RD"):
        inp = cases[case]["input"]
        for arg, col in {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}.items():
            assert_same(dat[col], inp[arg], f"{case}.{arg}")


def test_normand_escalc_inputs(cases):
    dat = load_dataset("dat.normand1999")
    for case in ("normand_escalc_SMD", "normand_escalc_MD", "normand_escalc_ROM"):
        inp = cases[case]["input"]
        for col in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"):
            assert_same(dat[col], inp[col], f"{case}.{col}")


def test_molloy_escalc_inputs(cases):
    dat = load_dataset("dat.molloy2014")
    for case in ("molloy_escalc_COR", "molloy_escalc_ZCOR"):
        inp = cases[case]["input"]
        assert_same(dat["ri"], inp["ri"], f"{case}.ri")
        assert_same(dat["ni"], inp["ni"], f"{case}.ni")


def test_konstantopoulos_three_level_inputs(cases):
    dat = load_dataset("dat.konstantopoulos2011")
    inp = cases["konstantopoulos_3level_REML"]["input"]
    assert_same(dat["yi"], inp["yi"], "yi")
    assert_same(dat["vi"], inp["vi"], "vi")
    assert_same(dat["district"].astype(str), inp["study"], "district -> study")
    assert_same(dat["school"].astype(str), inp["id"], "school -> id")


def test_hackshaw_bias_inputs(cases):
    dat = load_dataset("dat.hackshaw1998")
    inp = cases["hackshaw_bias"]["input"]
    assert_same(dat["yi"], inp["yi"], "yi")
    assert_same(dat["vi"], inp["vi"], "vi")


def test_raudenbush_metareg_inputs(cases):
    dat = load_dataset("dat.raudenbush1985")
    inp = cases["raudenbush_metareg_weeks_REML"]["input"]
    assert_same(dat["yi"], inp["yi"], "yi")
    assert_same(dat["vi"], inp["vi"], "vi")
    # metafor's example caps prior contact at 3 weeks
    assert_same(np.minimum(dat["weeks"], 3), inp["weeks_c"], "weeks_c")


def test_bcg_moderators(cases):
    dat = load_dataset("dat.bcg")
    inp = cases["bcg_metareg_ablat_year_REML_knha"]["input"]
    assert_same(dat["ablat"], inp["ablat"], "ablat")
    assert_same(dat["year"], inp["year"], "year")
    assert_same(dat["ablat"], cases["bcg_metareg_ablat_REML"]["input"]["ablat"], "ablat")
    assert_same(dat["alloc"], cases["bcg_subgroup_alloc_FE"]["input"]["alloc"], "alloc")


def test_raw_columns_reproduce_reference_effects(cases):
    # a consistency check that the raw columns are the ones the fits used
    # (metafor's formulas here; bayesma.escalc is tested against them elsewhere)
    bcg = load_dataset("dat.bcg")
    t1, t2 = bcg["tpos"] + bcg["tneg"], bcg["cpos"] + bcg["cneg"]
    yi = np.log(bcg["tpos"] / t1) - np.log(bcg["cpos"] / t2)
    vi = 1 / bcg["tpos"] - 1 / t1 + 1 / bcg["cpos"] - 1 / t2
    ref = cases["bcg_logrr_REML"]["input"]
    np.testing.assert_allclose(yi, ref["yi"], rtol=1e-13)
    np.testing.assert_allclose(vi, ref["vi"], rtol=1e-13)

    mol = load_dataset("dat.molloy2014")
    ref = cases["molloy_zcor_REML"]["input"]
    np.testing.assert_allclose(np.arctanh(mol["ri"]), ref["yi"], rtol=1e-13)
    np.testing.assert_allclose(1 / (mol["ni"] - 3), ref["vi"], rtol=1e-13)
