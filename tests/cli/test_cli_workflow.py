"""The motivating workflow on the command line (issue 14): escalc R2D, --subset, --by, rma, subgroup,
--engine auto, --html, and the worked example as a shell script."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT, run_cli

import bayesma as bm
from bayesma import priors as pr
from bayesma.exact.capability import choose_engine, exact_support

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


_run = run_cli


@pytest.fixture
def effects(tmp_path, capsys) -> Path:
    path = tmp_path / "effects.csv"
    code, _, err = _run(["escalc", "R2D", CSV, "--ri", "r", "--ni", "n", "--slab", "study", "--out", path], capsys)
    assert code == 0, err
    return path


def test_escalc_r2d_equals_the_python_api(effects):
    got = pd.read_csv(effects)
    ref = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    np.testing.assert_allclose(got["yi"], ref["yi"], rtol=1e-12)
    np.testing.assert_allclose(got["vi"], ref["vi"], rtol=1e-12)
    assert got.groupby("outcome").size().to_dict() == {"dropout": 9, "misconduct": 3, "recidivism": 15}


def test_fit_by_outcome_combined_table_equals_fit_many(effects, tmp_path, capsys):
    out = tmp_path / "bayes"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                              "--by", "outcome", "--html", "--title", "Alliance", "--out", out], capsys)
    assert code == 0, err
    assert "Engine: exact" in stdout and "--engine auto" in stdout
    assert "misconduct" in err and "k = 3" in err  # the small-k warning names the outcome
    table = pd.read_csv(out / "combined.csv", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bm.fit_many(pd.read_csv(effects), by="outcome", yi="yi", vi="vi", labels="study", measure="R2D",
                          seed=1, keep_fits=True).read_from_fits()  # what the CLI runs: rows read from the kept fits
    g = ref.groups
    for col in ("k", "FE", "FE_lower", "FE_upper", "RE", "RE_lower", "RE_upper", "Q", "Q_df", "Q_p", "I2", "tau2",
                "pi_lower", "pi_upper", "p_mu_positive", "tau_median"):
        np.testing.assert_allclose(table[col].to_numpy(float), g.loc[table.index, col].to_numpy(float), rtol=1e-9,
                                   err_msg=col)
    mu = ref.table.xs("mu", level="parameter")
    for col, src in (("bayes_median", "median"), ("bayes_lower", "eti_lower"), ("bayes_upper", "eti_upper")):
        np.testing.assert_allclose(table[col], mu.loc[table.index, src], rtol=1e-9)
    # and the frequentist columns are metafor's rma per outcome
    part = pd.read_csv(effects).query("outcome == 'recidivism'")
    reml = bm.rma("yi", "vi", data=part, method="REML")
    assert table.loc["recidivism", "RE"] == pytest.approx(reml.beta[0], rel=1e-6)
    assert table.loc["recidivism", "Q"] == pytest.approx(reml.QE, rel=1e-9)
    # the printed table and the report show the same numbers, rounded
    assert f"{table.loc['recidivism', 'Q']:.2f} (14)" in stdout
    report = (out / "report.md").read_text()
    assert report.startswith("# Alliance\n")
    for outcome in ("dropout", "misconduct", "recidivism"):
        assert f"## outcome: {outcome}" in report
        assert f"{table.loc[outcome, 'bayes_median']:.2f} [{table.loc[outcome, 'bayes_lower']:.2f}" in report
    _check_html(out)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def _check_html(out: Path) -> None:
    page = _Page()
    page.feed((out / "report.html").read_text())
    pngs = sorted(out.glob("*.png"))
    assert pngs and len(page.srcs) == len(pngs)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in page.srcs}
    assert embedded == {p.read_bytes() for p in pngs}
    shown = " ".join(page.text)
    table = pd.read_csv(out / "combined.csv", index_col=0)
    for outcome in table.index:
        assert f"{table.loc[outcome, 'Q']:.2f} ({int(table.loc[outcome, 'Q_df'])})" in shown
    listed = (out / "report.md").read_text().split("## Files")[1]
    assert all(f"`{p.name}`" in listed for p in out.iterdir())


def test_fit_html_single_analysis(effects, tmp_path, capsys):
    out = tmp_path / "one"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                              "--subset", "outcome == 'recidivism'", "--html", "--out", out], capsys)
    assert code == 0, err
    page = _Page()
    page.feed((out / "report.html").read_text())
    assert len(page.srcs) == len(list(out.glob("*.png"))) == 1
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert f"{summary.loc['mu', 'median']:.2f}" in " ".join(page.text)
    assert "k = 15" in " ".join(page.text)


def test_rma_command_matches_rma(effects, tmp_path, capsys):
    out = tmp_path / "rma"
    code, stdout, err = _run(["rma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'dropout'",
                              "--out", out], capsys)
    assert code == 0, err
    got = pd.read_csv(out / "rma.csv", index_col=0)
    part = pd.read_csv(effects).query("outcome == 'dropout'")
    for name, kw in (("FE", {"method": "FE"}), ("DL", {"method": "DL"}), ("REML", {"method": "REML"}),
                     ("REML + KH", {"method": "REML", "test": "knha"})):
        res = bm.rma("yi", "vi", data=part, **kw)
        row = got.loc[name]
        assert row["estimate"] == pytest.approx(res.beta[0], rel=1e-9)
        assert [row["ci_lb"], row["ci_ub"], row["pval"]] == pytest.approx([res.ci_lb[0], res.ci_ub[0], res.pval[0]])
        assert [row["Q"], row["df"], row["I2"]] == pytest.approx([res.QE, res.k - 1, res.I2])
    # with moderators: one row per method and coefficient, and QM
    code, stdout, err = _run(["rma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'recidivism'",
                              "--mods", "~ rater", "--out", tmp_path / "reg"], capsys)
    assert code == 0, err
    got = pd.read_csv(tmp_path / "reg" / "rma.csv", index_col=[0, 1])
    res = bm.rma("yi", "vi", data=pd.read_csv(effects).query("outcome == 'recidivism'"), mods="~ rater")
    assert got.loc[("REML", res.coef_names[1]), "estimate"] == pytest.approx(res.beta[1], rel=1e-9)
    assert got.loc[("REML", res.coef_names[1]), "QM"] == pytest.approx(res.QM, rel=1e-9)
    # --by: one combined table
    code, stdout, err = _run(["rma", effects, "--yi", "yi", "--vi", "vi", "--by", "outcome", "--out",
                              tmp_path / "by"], capsys)
    assert code == 0, err
    by = pd.read_csv(tmp_path / "by" / "rma_by.csv", index_col=0)
    assert list(by.index) == ["dropout", "misconduct", "recidivism"] and list(by["k"]) == [9, 3, 15]
    assert sorted(p.name for p in (tmp_path / "by").glob("*.png")) == [
        "forest_dropout.png", "forest_misconduct.png", "forest_recidivism.png"]
    assert (out / "forest.png").stat().st_size > 0
    for outcome, part in pd.read_csv(effects).groupby("outcome"):
        fe, reml = (bm.rma("yi", "vi", data=part, method=m) for m in ("FE", "REML"))
        row = by.loc[outcome]
        assert [row["FE"], row["FE_lower"], row["RE"], row["RE_upper"]] == pytest.approx(
            [fe.beta[0], fe.ci_lb[0], reml.beta[0], reml.ci_ub[0]], rel=1e-9)
        assert [row["Q"], row["Q_df"], row["Q_p"], row["I2"], row["tau2"]] == pytest.approx(
            [reml.QE, reml.k - 1, reml.QEp, reml.I2, reml.tau2], rel=1e-9, abs=1e-12)
    assert "Q(df)" in stdout and "RE [95% CI]" in stdout


def test_subgroup_command_matches_subgroup(effects, tmp_path, capsys):
    out = tmp_path / "sg"
    code, stdout, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater",
                              "--subset", "outcome == 'recidivism'", "--out", out], capsys)
    assert code == 0, err
    got = pd.read_csv(out / "subgroups.csv", index_col=[0, 1])
    part = pd.read_csv(effects).query("outcome == 'recidivism'")
    for model, method in (("FE", "FE"), ("RE", "REML")):
        sg = bm.subgroup("yi", "vi", by="rater", data=part, method=method)
        for level, row in sg.table.iterrows():
            assert got.loc[(model, level), "estimate"] == pytest.approx(row["estimate"], rel=1e-9)
            assert got.loc[(model, level), "se"] == pytest.approx(row["se"], rel=1e-9)
            assert got.loc[(model, level), "k"] == row["k"]
        assert got.loc[model, "Q_between"].iloc[0] == pytest.approx(sg.Q_between, rel=1e-9)
        assert f"Q_between({sg.Q_between_df}) = {sg.Q_between:.2f}" in stdout
    assert (out / "forest.png").stat().st_size > 0  # subgroup blocks (the plots' own tests check the layout)


def test_bad_subset_is_one_line(effects, tmp_path, capsys):
    code, _, err = _run(["rma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcom == 'x'"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--subset" in err and "the columns are" in err
    code, _, err = _run(["rma", effects, "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'nothing'"], capsys)
    assert code == 2 and "selects no rows" in err
    assert not (tmp_path / "bayesma-out").exists()


def test_duplicate_labels_from_several_outcomes_get_command_line_advice(effects, tmp_path, capsys):
    code, _, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--out", tmp_path / "x"],
                        capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--by outcome" in err and "--cluster study" in err and "--subset" in err
    assert "by=" not in err and "cluster=" not in err  # command-line words, not Python


def test_engine_auto_is_decided_from_the_model():
    df = pd.read_csv(CSV).query("outcome == 'dropout'")
    es = bm.escalc("R2D", ri="r", ni="n", data=df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        normal = bm.MetaAnalysis(es, yi="yi", vi="vi").spec
        cauchy = bm.MetaAnalysis(es, yi="yi", vi="vi", priors={"mu": pr.Cauchy(0, 1)}).spec
    assert exact_support(normal).ok
    assert choose_engine("auto", normal, option="--engine ")[0] == "exact"
    engine, note = choose_engine("auto", cauchy, option="--engine ")
    assert engine == "nuts" and "Cauchy" in note and "--engine auto" in note
    assert choose_engine("exact", cauchy)[0] == "exact"  # what the user asked for (the engine then explains)


def test_shell_example_runs(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "BAYESMA": f"{sys.executable} -m bayesma.cli",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run(["bash", str(ROOT / "examples" / "working_alliance_cli.sh"), str(tmp_path / "wa")],
                         capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    out = tmp_path / "wa"
    for path in ("effects.csv", "rma/rma_by.csv", "subgroup_rater/subgroups.csv", "subgroup_setting/subgroups.csv",
                 "bayes/combined.csv", "bayes/report.md", "bayes/report.html", "priors_misconduct/priors.csv"):
        assert (out / path).exists(), path
    assert "Traceback" not in res.stderr


def test_escalc_mixed_inputs_convert_to_one_measure(tmp_path, capsys):
    df = pd.read_csv(CSV).query("outcome == 'recidivism'").reset_index(drop=True)
    means = {"m1": 10.2, "sd1": 3.1, "n1": 40, "m2": 11.0, "sd2": 3.3, "n2": 42}
    for col in means:
        df[col] = np.nan
    df.loc[:5, list(means)] = list(means.values())  # six studies report means and SDs instead of r
    df.loc[:5, "r"] = np.nan
    df.to_csv(tmp_path / "mixed.csv", index=False)
    out = tmp_path / "es.csv"
    code, stdout, err = _run(["escalc", "SMD", tmp_path / "mixed.csv", "--m1i", "m1", "--sd1i", "sd1", "--n1i", "n1",
                              "--m2i", "m2", "--sd2i", "sd2", "--n2i", "n2", "--also", "R2D", "--ri", "r", "--ni", "n",
                              "--slab", "study", "--out", out], capsys)
    assert code == 0, err
    es = pd.read_csv(out)
    assert list(es["es_measure"]) == ["SMD"] * 6 + ["R2D"] * 9
    smd = bm.escalc("SMD", m1i="m1", sd1i="sd1", n1i="n1", m2i="m2", sd2i="sd2", n2i="n2", data=df.head(6))
    r2d = bm.escalc("R2D", ri="r", ni="n", data=df.iloc[6:])
    np.testing.assert_allclose(es["yi"], np.r_[smd["yi"], r2d["yi"]], rtol=1e-12)
    np.testing.assert_allclose(es["vi"], np.r_[smd["vi"], r2d["vi"]], rtol=1e-12)
    # the report says which effects were converted, and does not call them all Hedges' g
    code, _, err = _run(["fit", out, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "SMD", "--out",
                         tmp_path / "fit"], capsys)
    assert code == 0, err
    par = (tmp_path / "fit" / "report.md").read_text().split("\n\n")[1]
    assert "k = 15 standardized mean differences (Hedges' g for 6; Cohen's d converted from point-biserial" in par
    assert "for 9)" in par
    # measures on different scales cannot be mixed
    code, _, err = _run(["escalc", "SMD", tmp_path / "mixed.csv", "--m1i", "m1", "--sd1i", "sd1", "--n1i", "n1",
                         "--m2i", "m2", "--sd2i", "sd2", "--n2i", "n2", "--also", "ZCOR", "--ri", "r", "--ni", "n"],
                        capsys)
    assert code == 2 and "cannot be pooled" in err


def test_fit_by_with_moderators_one_table_per_term(effects, tmp_path, capsys):
    out = tmp_path / "reg"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                              "--by", "outcome", "--mods", "~ rater", "--out", out], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "combined.csv", index_col=[0, 1])
    data = pd.read_csv(effects)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bm.fit_many(data, by="outcome", yi="yi", vi="vi", labels="study", measure="R2D", mods="~ rater",
                          seed=1)
    term = "rater: service provider/observer vs client"
    for outcome, part in data.groupby("outcome"):
        res = bm.rma("yi", "vi", data=part, mods="~ rater")
        row = table.loc[(outcome, term)]
        assert [row["RE"], row["RE_p"], row["QM"]] == pytest.approx([res.beta[1], res.pval[1], res.QM], rel=1e-9)
        b = ref.table.loc[(outcome, f"beta[{res.coef_names[1]}]")]
        assert [row["bayes_median"], row["bayes_lower"], row["bayes_upper"]] == pytest.approx(
            [b["median"], b["eti_lower"], b["eti_upper"]], rel=1e-9)
    assert term in stdout and "beta[" not in stdout.split("Meta-analyses by outcome")[1]


def test_fit_by_with_a_single_study_group(effects, tmp_path, capsys):
    # fit_many has no frequentist columns for k = 1: the table shows "—", never "nan" or a crash
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                              "--by", "outcome", "--subset", "n >= 300", "--out", tmp_path / "k1"], capsys)
    assert code == 0, err
    assert "nan" not in stdout.lower().replace("meta-analyses", "")
    row = "  ".join(line for line in stdout.splitlines() if line.startswith("misconduct"))  # the table's parts
    assert row.split()[1] == "1" and "—" in row
