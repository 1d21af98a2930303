"""Trim-and-fill follows the fitted model's estimator, as metafor's trimfill(res) does.

Reference values: tests/data/reference/metafor/metafor_trimfill_more.json (made by
metafor_trimfill_more.R with metafor 3.8.1): trimfill on REML, DL and FE fits of
dat.hackshaw1998 and of the recidivism rows of the illustrative working-alliance data.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR, ROOT

import bayesma as bm
from bayesma.cli.bias import bias_table

REF = json.loads((REFERENCE_DIR / "metafor/metafor_trimfill_more.json").read_text())
CASES = REF["cases"]


def _data(case) -> pd.DataFrame:
    return pd.DataFrame({"yi": case["input"]["yi"], "vi": case["input"]["vi"]})


def _check(tf, ex) -> None:
    assert tf.k0 == ex["k0"]
    assert tf.side == ex["side"]
    assert tf.k == ex["k"]
    assert tf.se_k0 == pytest.approx(ex["se_k0"], rel=1e-6)
    for ours, theirs in (("beta", "beta"), ("se", "se"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"),
                         ("stat", "zval"), ("pval", "pval")):
        assert getattr(tf, ours) == pytest.approx(ex[theirs], rel=1e-6, abs=1e-9), ours
    assert tf.tau2 == pytest.approx(ex["tau2"], rel=1e-5, abs=1e-9)
    assert np.sort(tf.fill["yi"].to_numpy()) == pytest.approx(np.sort(np.asarray(ex["filled_yi"], float)),
                                                              rel=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_trimfill_of_a_fit_uses_its_method(case):
    res = bm.rma("yi", "vi", data=_data(case), method=case["method"])
    _check(bm.trimfill(res, estimator=case["estimator"]), case["expect"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_trimfill_of_columns_with_method(case):
    tf = bm.trimfill("yi", "vi", data=_data(case), method=case["method"], estimator=case["estimator"])
    _check(tf, case["expect"])


def test_trimfill_of_columns_default_is_fe():
    # documented default on yi/vi columns: the fixed-effect model (metafor's trimfill on rma(method="FE"))
    case = next(c for c in CASES if c["name"] == "recidivism_FE_L0")
    _check(bm.trimfill("yi", "vi", data=_data(case)), case["expect"])


@pytest.mark.parametrize("method", ["REML", "DL", "FE"])
def test_cli_bias_table_trimfill_uses_method(method):
    case = next(c for c in CASES if c["name"] == f"recidivism_{method}_L0")
    d = _data(case)
    table, fits = bias_table(d["yi"].to_numpy(), d["vi"].to_numpy(), method=method)
    ex = case["expect"]
    row = table.loc[f"Trim-and-fill ({method}, L0)"]
    assert row["estimate"] == pytest.approx(ex["beta"], rel=1e-6)
    assert row["ci_lb"] == pytest.approx(ex["ci_lb"], rel=1e-6)
    assert row["ci_ub"] == pytest.approx(ex["ci_ub"], rel=1e-6)
    assert f"k0 = {ex['k0']} filled on the {ex['side']}" in row["note"]
    assert fits["trimfill"].original.method == method


def test_docs_example_trimfill_on_the_fitted_model():
    text = (ROOT / "docs" / "publication_bias.rst").read_text()
    assert "bm.trimfill(res)" in text


def test_cli_bias_subset_and_method(tmp_path):
    # `bayesma bias --subset` selects rows as fit/rma/subgroup do; --method FE reaches trim-and-fill
    from bayesma.cli import main

    wa = pd.read_csv(ROOT / "examples" / "data" / "working_alliance_illustrative.csv")
    wa["yi"] = 2 * wa["r"] / np.sqrt(1 - wa["r"] ** 2)
    wa["vi"] = 4 / ((wa["n"] - 1) * (1 - wa["r"] ** 2))
    path = tmp_path / "wa.csv"
    wa.to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["bias", str(path), "--yi", "yi", "--vi", "vi", "--labels", "study", "--method", "FE",
                 "--subset", "outcome == 'recidivism'", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "bias.csv", index_col="method")
    ex = next(c for c in CASES if c["name"] == "recidivism_FE_L0")["expect"]
    row = table.loc["Trim-and-fill (FE, L0)"]
    assert row["estimate"] == pytest.approx(ex["beta"], rel=1e-6)
    assert row["note"] == "k0 = 0 filled on the right"
    assert table.loc["Random-effects model (FE)", "note"].startswith("k = 15,")


def test_cli_bias_subset_selecting_nothing_is_an_error(tmp_path, capsys):
    from bayesma.cli import main

    path = tmp_path / "d.csv"
    pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03], "g": ["a", "a", "b"]}).to_csv(path, index=False)
    code = main(["bias", str(path), "--yi", "yi", "--vi", "vi", "--subset", "g == 'z'", "--out", str(tmp_path / "o")])
    assert code != 0
    assert "selects no rows" in capsys.readouterr().err


def test_trimfill_of_a_fit_refuses_another_method():
    case = CASES[0]
    res = bm.rma("yi", "vi", data=_data(case), method="REML")
    with pytest.raises(ValueError, match="differs from the fitted model's method 'REML'"):
        bm.trimfill(res, method="FE")
    assert bm.trimfill(res, method="reml").k0 == bm.trimfill(res).k0  # the same method spelled otherwise
    fe = bm.rma("yi", "vi", data=_data(case), method="FE")
    assert bm.trimfill(fe, method="EE").beta == pytest.approx(bm.trimfill(fe).beta, rel=1e-12)
