"""``bayesma bias FILE``: the table and the plots, checked against the library functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main


@pytest.fixture(scope="module")
def hackshaw_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("bias") / "hackshaw.csv"
    bm.load_dataset("dat.hackshaw1998").to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run_default(hackshaw_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("bias_out")
    code = main(["bias", str(hackshaw_csv), "--yi", "yi", "--vi", "vi", "--labels", "study", "--out", str(out)])
    return code, out


def test_writes_table_and_plots(run_default, capsys):
    code, out = run_default
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"bias.csv", "funnel.png", "selection_function.png"}
    table = pd.read_csv(out / "bias.csv", index_col="method")
    assert list(table.columns) == ["estimate", "ci_lb", "ci_ub", "statistic", "pval", "note"]
    for row in ("Egger's regression test", "Rank correlation test", "Trim-and-fill (REML, L0)", "PET (intercept)",
                "PEESE (intercept)", "PET-PEESE", "Step selection model (0.025)", "Fail-safe N (Rosenthal)",
                "Fail-safe N (Orwin)", "Fail-safe N (Rosenberg)"):
        assert row in table.index


def test_table_numbers_are_the_library_numbers(run_default):
    _, out = run_default
    table = pd.read_csv(out / "bias.csv", index_col="method")
    dat = bm.load_dataset("dat.hackshaw1998")
    res = bm.rma("yi", "vi", data=dat)
    sel = bm.selmodel(res, "stepfun", steps=[0.025], alternative="greater")
    row = table.loc["Step selection model (0.025)"]
    np.testing.assert_allclose([row.estimate, row.ci_lb, row.ci_ub, row.statistic, row.pval],
                               [sel.beta[0], sel.ci_lb[0], sel.ci_ub[0], sel.LRT, sel.LRTp], rtol=1e-10)
    assert table.loc["Fail-safe N (Rosenthal)", "estimate"] == 393  # metafor's fsn() on these data
    assert table.loc["Fail-safe N (Rosenberg)", "estimate"] == 202
    eg = bm.egger_test("yi", "vi", data=dat)
    assert table.loc["Egger's regression test", "pval"] == pytest.approx(eg.p, rel=1e-12)
    rt = bm.ranktest("yi", "vi", data=dat)
    assert table.loc["Rank correlation test", "statistic"] == pytest.approx(rt.tau, rel=1e-12)
    tf = bm.trimfill(res)  # the REML model's estimator, as metafor's trimfill(res)
    assert table.loc["Trim-and-fill (REML, L0)", "estimate"] == pytest.approx(tf.beta, rel=1e-12)
    pp = bm.pet_peese("yi", "vi", data=dat)
    assert table.loc["PET-PEESE", "estimate"] == pytest.approx(pp.estimate, rel=1e-12)


def test_alternative_auto_follows_the_sign(tmp_path, capsys):
    dat = bm.load_dataset("dat.hackshaw1998").assign(yi=lambda d: -d["yi"])
    path = tmp_path / "neg.csv"
    dat.to_csv(path, index=False)
    assert main(["bias", str(path), "--yi", "yi", "--vi", "vi", "--out", str(tmp_path / "o")]) == 0
    assert "alternative = 'less'" in capsys.readouterr().out


def test_empty_interval_is_reported_not_fatal(hackshaw_csv, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["bias", str(hackshaw_csv), "--yi", "yi", "--vi", "vi", "--steps", "0.001,0.002",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out / "bias.csv", index_col="method")
    assert "no study has a p-value in the interval" in table.loc["Step selection model (0.001, 0.002)", "note"]
    assert not (out / "selection_function.png").exists()


def test_selection_model_types_are_the_library_numbers(tmp_path, capsys):
    # --type takes bm.selmodel's weight functions (checked against metafor in tests/frequentist); one row and one
    # plot each, with the library's numbers; a single --steps value is the smooth types' threshold
    bcg = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    path = tmp_path / "bcg.csv"
    bcg.to_csv(path, index=False)
    out = tmp_path / "o"
    assert main(["bias", str(path), "--yi", "yi", "--vi", "vi", "--type", "stepfun, beta,halfnorm",
                 "--out", str(out)]) == 0
    assert {"selection_function_stepfun.png", "selection_function_beta.png",
            "selection_function_halfnorm.png"} <= {p.name for p in out.iterdir()}
    table = pd.read_csv(out / "bias.csv", index_col="method")
    res = bm.rma("yi", "vi", data=bcg)
    for row, type_, steps in (("Step selection model (0.025)", "stepfun", [0.025]),
                              ("Selection model (beta)", "beta", None), ("Selection model (halfnorm)", "halfnorm", None)):
        sel = bm.selmodel(res, type_, steps=steps, alternative="less")  # the effects are negative: 'auto' is 'less'
        got = table.loc[row]
        np.testing.assert_allclose([got.estimate, got.ci_lb, got.ci_ub, got.statistic, got.pval],
                                   [sel.beta[0], sel.ci_lb[0], sel.ci_ub[0], sel.LRT, sel.LRTp], rtol=1e-10)
    out2 = tmp_path / "o2"
    assert main(["bias", str(path), "--yi", "yi", "--vi", "vi", "--type", "halfnorm", "--steps", "0.05",
                 "--out", str(out2)]) == 0
    assert {p.name for p in out2.iterdir()} == {"bias.csv", "funnel.png", "selection_function.png"}
    sel = bm.selmodel(res, "halfnorm", steps=[0.05], alternative="less")
    got = pd.read_csv(out2 / "bias.csv", index_col="method").loc["Selection model (halfnorm) (step 0.05)"]
    assert got.estimate == pytest.approx(sel.beta[0], rel=1e-10)


@pytest.mark.parametrize("extra, message", [
    (["--steps", "0.05,abc"], "--steps"),
    (["--steps", "1.5"], "--steps"),
    (["--type", "stepfun,weibull"], "unknown selection model type(s) ['weibull']"),
    (["--type", "halfnorm", "--steps", "0.025,0.5"], "at most one cut point"),
])
def test_bad_options(hackshaw_csv, tmp_path, capsys, extra, message):
    assert main(["bias", str(hackshaw_csv), "--yi", "yi", "--vi", "vi", "--out", str(tmp_path / "o")] + extra) == 2
    assert message in capsys.readouterr().err


def test_too_few_studies(tmp_path, capsys):
    path = tmp_path / "two.csv"
    pd.DataFrame({"yi": [0.1, 0.3], "vi": [0.01, 0.02]}).to_csv(path, index=False)
    assert main(["bias", str(path), "--yi", "yi", "--vi", "vi", "--out", str(tmp_path / "o")]) == 2
    assert "at least 3 studies" in capsys.readouterr().err
