"""``bayesma rma --mods`` labels the omnibus test of the moderators as metafor does: ``QM`` for the z-test fits
and ``F`` on (df1, df2) for Knapp-Hartung (metafor 3.8.1: ``rma(yi, vi, mods = ~ ablat + year, data = dat,
test = "knha")`` prints ``F(df1 = 2, df2 = 10) = ...``; tests/data/reference/metafor/metafor_printouts.R)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.cli import main

REF = load_json("metafor/metafor_printouts.json")["knha_mods"]


def test_knapp_hartung_test_is_an_f_with_its_two_df(tmp_path, capsys):
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    path = tmp_path / "bcg.csv"
    dat[["trial", "yi", "vi", "ablat", "year"]].to_csv(path, index=False)
    code = main(["rma", str(path), "--yi", "yi", "--vi", "vi", "--labels", "trial", "--mods", "~ ablat + year",
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    table = pd.read_csv(tmp_path / "out" / "rma.csv", index_col=[0, 1])
    kh = table.loc["REML + KH"].iloc[0]
    assert [kh["F"], kh["df1"], kh["df2"], kh["QM_p"]] == pytest.approx([REF["QM"], *REF["QMdf"], REF["QMp"]],
                                                                        rel=1e-6)
    assert math.isnan(kh["QM"])
    assert any(line.strip().startswith(f"F(df1 = 2, df2 = 10) = {REF['QM']:.4f}") for line in REF["print"])
    z = table.loc["REML"].iloc[0]
    assert z["QM"] > 0 and math.isnan(z["F"]) and math.isnan(z["df2"]) and z["df1"] == 2
    header = next(line for line in out.splitlines() if line.startswith("method") and "QM" in line)
    assert header.split()[-5:] == ["QM", "F", "df1", "df2", "QM_p"]
    kh_line = [line for line in out.splitlines() if line.startswith("REML + KH")][-1]  # the model's row
    assert kh_line.split()[-4:-1] == [f"{REF['QM']:.4f}", "2", "10"]


def test_meta_regression_prints_coefficients_and_model_rows_apart(tmp_path, capsys):
    """The console shows each method's coefficients, then one row per method with tau², I², Q and the moderator
    test (the CSV repeats them on every coefficient's row): no printed line is a 150-column table row."""
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    path = tmp_path / "bcg.csv"
    dat[["trial", "yi", "vi", "ablat", "year"]].to_csv(path, index=False)
    assert main(["rma", str(path), "--yi", "yi", "--vi", "vi", "--labels", "trial", "--mods", "~ ablat + year",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "rma.csv", index_col=[0, 1])
    lines = out.splitlines()
    reml_rows = [ln for ln in lines if ln.startswith("REML ") and not ln.startswith("REML +")]
    assert len(reml_rows) == 3 + 1  # three coefficients, one model row
    res = bm.rma("yi", "vi", data=dat, mods="~ ablat + year")
    assert reml_rows[1].split()[1:3] == ["ablat", f"{res.beta[1]:.4f}"]
    assert reml_rows[-1].split()[1:3] == ["13", f"{res.tau2:.4f}"]
    assert table.loc[("REML", "ablat"), "estimate"] == pytest.approx(res.beta[1], rel=1e-9)
    assert max(len(ln) for ln in lines) <= 100
