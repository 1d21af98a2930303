"""The `bayesma` command: fast help, one-line errors, the files of `fit`, `escalc`, `priors`, `smallk`, `demo`.

Most tests run the command in-process (``main([...])`` returns the exit code);
a few run it as a subprocess, as a user would. Bayesian fits use the exact
engine, so the module runs in seconds; the one NUTS fit is marked slow.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main, read_table


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _subprocess(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bayesma.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=_env())


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture
def studies(tmp_path: Path) -> pd.DataFrame:
    """Ten made-up studies, written fresh by the test (the project has never seen them)."""
    rng = np.random.default_rng(20240611)
    k = 10
    return pd.DataFrame({
        "Study": [f"Study {i}" for i in range(1, k + 1)],
        "g": np.round(rng.normal(0.35, 0.25, k), 3),
        "var_g": np.round(rng.uniform(0.015, 0.09, k), 4),
        "setting": ["prison", "community"] * 5,
        "year": np.arange(2001, 2001 + k),
    })


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------
# help is fast and light
# ---------------------------------------------------------------------------


def test_import_does_not_load_pymc():
    code = "import sys, bayesma.cli; print(sorted(m for m in ('pymc', 'arviz', 'pytensor') if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_help_subprocess_is_fast_and_lists_the_commands():
    res = _subprocess("--help", timeout=60)
    assert res.returncode == 0
    for command in ("fit", "escalc", "priors", "smallk", "demo"):
        assert command in res.stdout
    assert res.stderr == ""


@pytest.mark.parametrize("command", ["fit", "escalc", "priors", "smallk", "demo"])
def test_subcommand_help(command, capsys):
    code, out, _ = _run([command, "--help"], capsys)
    assert code == 0
    assert "usage: bayesma " + command in out


def test_version(capsys):
    code, out, _ = _run(["--version"], capsys)
    assert code == 0
    assert bm.__version__ in out


def test_usage_error_exit_code_2(capsys):
    code, _, err = _run(["fit"], capsys)
    assert code == 2
    assert "error" in err


# ---------------------------------------------------------------------------
# bad input: exit code 2, one line naming the file, the problem and the study
# ---------------------------------------------------------------------------


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("bayesma: warning")]
    lines = [line for line in lines if not line.startswith("[") and not line.strip().startswith("done")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("bayesma: error: ")
    return lines[0]


def test_negative_variance_in_study_5(studies, tmp_path, capsys):
    studies.loc[4, "var_g"] = -0.02
    path = _write(studies, tmp_path / "negative.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "negative.csv" in line and "Study 5" in line and "var_g" in line and "-0.02" in line
    assert not (tmp_path / "out" / "report.md").exists()


def test_missing_effect_in_study_9(studies, tmp_path, capsys):
    studies.loc[8, "g"] = np.nan
    path = _write(studies, tmp_path / "missing.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "missing.csv" in line and "Study 9" in line and "'g'" in line and "missing" in line
    assert "--missing drop" in line


def test_missing_effect_dropped_on_request(studies, tmp_path, capsys):
    studies.loc[8, "g"] = np.nan
    path = _write(studies, tmp_path / "missing.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--missing", "drop", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "bayesma: warning: dropped 1 of 10 studies" in err and "Study 9" in err


@pytest.mark.parametrize("command,extra", [("priors", []), ("smallk", ["--n-sim", "20", "--k", "3"])])
def test_missing_effect_dropped_on_request_by_priors_and_smallk(command, extra, studies, tmp_path, capsys):
    studies.loc[8, "g"] = np.nan
    path = _write(studies, tmp_path / "missing.csv")
    code, _, err = _run([command, str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                         "--missing", "drop", "--out", str(tmp_path / "out"), *extra], capsys)
    assert code == 0, err
    assert "dropped 1 of 10 studies" in err


def test_unknown_column(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "studies.csv")
    code, _, err = _run(["fit", str(path), "--yi", "hedges_g", "--vi", "var_g", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "studies.csv" in line and "'hedges_g'" in line and "--yi" in line and "var_g" in line


def test_unknown_moderator_column_suggests(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "studies.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--mods", "~ settings",
                         "--engine", "exact", "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "'settings'" in line and "did you mean 'setting'" in line


@pytest.mark.parametrize("kind", ["binary", "nonexistent", "directory", "empty"])
def test_unreadable_file(kind, tmp_path, capsys):
    if kind == "binary":
        path = tmp_path / "data.csv"
        path.write_bytes(bytes(range(256)) * 20)
    elif kind == "nonexistent":
        path = tmp_path / "no_such_file.csv"
    elif kind == "directory":
        path = tmp_path / "folder.csv"
        path.mkdir()
    else:
        path = tmp_path / "empty.csv"
        path.write_text("")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "v", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert path.name in line


def test_bad_prior_spec(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "studies.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--tau-prior", "halfnormul(0.5)",
                         "--engine", "exact"], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "--tau-prior" in line and "halfnormul" in line
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--tau-prior", "normal(0, 1)",
                         "--engine", "exact"], capsys)
    assert code == 2
    assert "tau" in _one_error_line(err)


def test_bad_input_through_a_subprocess_has_no_traceback(studies, tmp_path):
    studies.loc[4, "var_g"] = -0.02
    path = _write(studies, tmp_path / "negative.csv")
    res = _subprocess("fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                      "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert "Study 5" in res.stderr


def test_same_inputs_raise_through_the_python_api(studies):
    bad = studies.copy()
    bad.loc[4, "var_g"] = -0.02
    with pytest.raises(ValueError, match="Study 5"):
        bm.MetaAnalysis(bad, yi="g", vi="var_g", labels="Study")
    bad = studies.copy()
    bad.loc[8, "g"] = np.nan
    with pytest.raises(ValueError, match="Study 9"):
        bm.MetaAnalysis(bad, yi="g", vi="var_g", labels="Study")
    with pytest.raises(ValueError, match="hedges_g"):
        bm.MetaAnalysis(studies, yi="hedges_g", vi="var_g", labels="Study")


def test_debug_shows_the_exception(studies, tmp_path):
    studies.loc[4, "var_g"] = -0.02
    path = _write(studies, tmp_path / "negative.csv")
    with pytest.raises(ValueError, match="Study 5"):
        main(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact", "--debug"])


# ---------------------------------------------------------------------------
# reading files
# ---------------------------------------------------------------------------


def test_read_semicolon_csv_with_decimal_commas(studies, tmp_path):
    path = tmp_path / "european.csv"
    studies.to_csv(path, index=False, sep=";", decimal=",")
    df = read_table(path)
    assert list(df.columns) == list(studies.columns)
    np.testing.assert_allclose(df["g"], studies["g"])


def test_read_strips_column_names_and_empty_rows(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(" study , yi ,vi\nA,0.1,0.01\nB,0.2,0.02\n,,\n")
    df = read_table(path)
    assert list(df.columns) == ["study", "yi", "vi"]
    assert len(df) == 2


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is None, reason="openpyxl not installed")
def test_fit_reads_excel(studies, tmp_path, capsys):
    path = tmp_path / "studies.xlsx"
    studies.to_excel(path, index=False)
    code, out, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                           "--engine", "exact", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "report.md").exists()


def test_excel_without_openpyxl_names_the_package(studies, tmp_path, capsys, monkeypatch):
    path = tmp_path / "studies.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openpyxl" else real(name, *a))
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--engine", "exact"], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "openpyxl" in line and "pip install" in line and "studies.xlsx" in line


# ---------------------------------------------------------------------------
# fit writes its four files
# ---------------------------------------------------------------------------


def test_fit_writes_its_four_files(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "my_meta_analysis.csv")
    out = tmp_path / "results"
    code, stdout, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                              "--measure", "SMD", "--engine", "exact", "--out", str(out)], capsys)
    assert code == 0, err
    for name in ("summary.csv", "forest.png", "posterior.nc", "report.md"):
        assert (out / name).stat().st_size > 0, name
    # the tables and the priors were printed
    assert "Posterior summary" in stdout and "Frequentist check" in stdout
    assert "tau ~ HalfNormal(sigma=0.5)" in stdout
    assert "P(mu > 0)" in stdout
    # summary.csv: the posterior summary
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert {"mu", "tau", "theta_new", "theta[Study 1]"} <= set(summary.index)
    assert {"mean", "median", "eti_lower", "eti_upper"} <= set(summary.columns)
    # the saved posterior loads and agrees
    post = bm.load_posterior(str(out / "posterior.nc"))
    assert post.summary().loc["mu", "median"] == pytest.approx(summary.loc["mu", "median"], rel=1e-6)
    # report.md: the paragraph a paper could use
    report = (out / "report.md").read_text()
    paragraph = report.split("\n\n")[1]
    mu = summary.loc["mu"]
    assert f"{mu['median']:.2f}, 95% CrI [{mu['eti_lower']:.2f}, {mu['eti_upper']:.2f}]" in paragraph
    assert "between-study standard deviation tau" in paragraph
    assert "predictive interval" in paragraph
    assert "greater than zero" in paragraph
    assert "HalfNormal(sigma=0.5)" in paragraph and "Röver et al. 2021" in paragraph
    reml = bm.rma("g", "var_g", data=studies, method="REML")
    dl = bm.rma("g", "var_g", data=studies, method="DL")
    assert (f"random-effects estimate (restricted maximum likelihood) was g = {reml.beta[0]:.2f}, "
            f"95% CI [{reml.ci_lb[0]:.2f}, {reml.ci_ub[0]:.2f}]") in paragraph
    assert f"| DL | {dl.beta[0]:.4f} |" in report
    assert "k = 10" in paragraph and f"bayesma {bm.__version__}" in paragraph


def test_fit_with_standard_errors_and_moderators(studies, tmp_path, capsys):
    studies["se_g"] = np.sqrt(studies["var_g"])
    path = _write(studies, tmp_path / "se.csv")
    out = tmp_path / "reg"
    code, stdout, err = _run(["fit", str(path), "--yi", "g", "--sei", "se_g", "--labels", "Study",
                              "--mods", "~ setting", "--measure", "SMD", "--engine", "exact",
                              "--tau-prior", "halfcauchy(0.5)", "--mu-prior", "normal(0, 2)", "--out", str(out)],
                             capsys)
    assert code == 0, err
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert "beta[settingprison]" in summary.index
    report = (out / "report.md").read_text()
    assert "meta-regression" in report and "HalfCauchy(beta=0.5)" in report
    assert "tau ~ HalfCauchy(beta=0.5)" in stdout


def test_fit_few_studies_warns_in_one_line(studies, tmp_path, capsys):
    path = _write(studies.head(3), tmp_path / "three.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--measure", "SMD",
                         "--engine", "exact", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    warnings_ = [line for line in err.splitlines() if line.startswith("bayesma: warning:")]
    assert any("k = 3" in w and "compare_priors" in w for w in warnings_)
    assert "k = 3 studies the data say little about tau" in (tmp_path / "out" / "report.md").read_text()


# ---------------------------------------------------------------------------
# escalc
# ---------------------------------------------------------------------------


def test_escalc_adds_yi_vi(tmp_path, capsys):
    dat = bm.load_dataset("dat.bcg")
    src = _write(dat, tmp_path / "bcg_raw.csv")
    out = tmp_path / "bcg_es.csv"
    code, stdout, err = _run(["escalc", "rr", str(src), "--ai", "tpos", "--bi", "tneg", "--ci", "cpos",
                              "--di", "cneg", "--out", str(out)], capsys)
    assert code == 0, err
    got = pd.read_csv(out)
    want = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    np.testing.assert_allclose(got["yi"], want["yi"], rtol=1e-12)
    np.testing.assert_allclose(got["vi"], want["vi"], rtol=1e-12)
    assert "bayesma fit" in stdout


def test_escalc_to_stdout(tmp_path, capsys):
    src = _write(bm.load_dataset("dat.bcg"), tmp_path / "bcg_raw.csv")
    code, stdout, _ = _run(["escalc", "OR", str(src), "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"],
                           capsys)
    assert code == 0
    assert stdout.splitlines()[0].endswith(",yi,vi")
    assert len(stdout.splitlines()) == 14


def test_escalc_bad_input(tmp_path, capsys):
    dat = bm.load_dataset("dat.bcg")
    dat.loc[4, "tpos"] = -3
    src = _write(dat, tmp_path / "bcg_raw.csv")
    code, _, err = _run(["escalc", "RR", str(src), "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg",
                         "--slab", "author"], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "bcg_raw.csv" in line and "tpos" in line and "row 5" in line
    code, _, err = _run(["escalc", "SMD", str(src), "--ai", "tpos"], capsys)
    assert code == 2
    assert "m1i" in _one_error_line(err)


# ---------------------------------------------------------------------------
# priors and smallk (need bayesma.sensitivity)
# ---------------------------------------------------------------------------

needs_sensitivity = pytest.mark.skipif(importlib.util.find_spec("bayesma.sensitivity") is None,
                                       reason="bayesma.sensitivity has not landed")


@needs_sensitivity
def test_priors_command(studies, tmp_path, capsys):
    path = _write(studies.head(4), tmp_path / "four.csv")
    out = tmp_path / "pri"
    code, stdout, err = _run(["priors", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                              "--tau-prior", "default=halfnormal(0.5)", "--tau-prior", "halfcauchy(0.5)",
                              "--tau-prior", "uniform(0, 2)", "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "priors.csv", index_col=0)
    assert len(table) == 3
    assert (out / "priors.png").stat().st_size > 0
    assert "Prior comparison" in stdout


@needs_sensitivity
def test_priors_command_default_set(studies, tmp_path, capsys):
    path = _write(studies.head(4), tmp_path / "four.csv")
    code, _, err = _run(["priors", str(path), "--yi", "g", "--vi", "var_g", "--measure", "SMD",
                         "--out", str(tmp_path / "pri")], capsys)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "pri" / "priors.csv", index_col=0)
    assert len(table) == 5  # four generic priors and Rhodes et al. (2015) for SMD


@needs_sensitivity
def test_smallk_command(studies, tmp_path, capsys):
    path = _write(studies.head(5), tmp_path / "five.csv")
    out = tmp_path / "sk"
    code, stdout, err = _run(["smallk", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                              "--measure", "SMD", "--k", "2,3", "--tau", "0,0.2", "--n-sim", "20",
                              "--out", str(out)], capsys)
    assert code == 0, err
    loo = pd.read_csv(out / "leave_one_out.csv")
    assert len(loo) >= 5
    assert (out / "smallk_simulation.csv").stat().st_size > 0
    assert "Leave-one-out" in stdout


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


def test_demo(tmp_path, capsys):
    out = tmp_path / "demo"
    code, stdout, err = _run(["demo", "--out", str(out)], capsys)
    assert code == 0, err
    for name in ("summary.csv", "forest.png", "posterior.nc", "report.md", "landenberger2005_effects.csv",
                 "subgroups_frequentist.csv", "metaregression_setting.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "The files are in" in stdout and str(out.resolve()) in stdout
    assert "[6/6]" in err  # progress
    effects = pd.read_csv(out / "landenberger2005_effects.csv")
    assert len(effects) == 58 and effects["label"].is_unique
    reml = bm.rma("yi", "vi", data=effects)
    assert f"REML: estimate {reml.beta[0]:.3f}" in stdout
    report = (out / "report.md").read_text()
    assert "k = 58 log odds ratios" in report and "As an odds ratio, this is" in report


@pytest.mark.slow
def test_fit_nuts_writes_the_posterior_and_its_diagnostics(studies, tmp_path, capsys, monkeypatch):
    """In-process (the subprocess path, exit codes without a traceback, is checked by the tests above
    and tests/cli/test_python_m.py): the compiled model is shared with the suite's other fits."""
    path = _write(studies, tmp_path / "studies.csv")
    out = tmp_path / "nuts"
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--measure", "SMD",
                         "--engine", "nuts", "--draws", "300", "--tune", "300", "--chains", "2", "--out", str(out)],
                        capsys)
    assert code == 0, err
    for name in ("summary.csv", "forest.png", "posterior.nc", "report.md"):
        assert (out / name).exists()
    assert "Sampling diagnostics" in (out / "report.md").read_text()


def test_fit_three_level_and_tau_by(tmp_path, capsys):
    dat = bm.load_dataset("dat.assink2016")
    dat["label"] = [f"s{s}e{e}" for s, e in zip(dat["study"], dat["esid"])]
    path = _write(dat, tmp_path / "nested.csv")
    code, stdout, err = _run(["fit", str(path), "--yi", "yi", "--vi", "vi", "--labels", "label", "--cluster", "study",
                              "--measure", "SMD", "--engine", "exact", "--out", str(tmp_path / "three")], capsys)
    assert code == 0, err
    report = (tmp_path / "three" / "report.md").read_text()
    assert "three-level" in report and "from 17 studies" in report and "tau_within" in report
    assert "REML (3-level)" in stdout

    studies = bm.load_dataset("dat.bcg")
    studies["study"] = studies["author"] + " " + studies["year"].astype(str)
    studies["alloc2"] = np.where(studies["alloc"] == "random", "random", "other")
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=studies)
    path = _write(es, tmp_path / "bcg.csv")
    code, stdout, err = _run(["fit", str(path), "--yi", "yi", "--vi", "vi", "--tau-by", "alloc2", "--mods", "~ alloc2",
                              "--measure", "RR", "--engine", "exact", "--out", str(tmp_path / "tauby")], capsys)
    assert code == 0, err
    summary = pd.read_csv(tmp_path / "tauby" / "summary.csv", index_col=0)
    assert {"tau[other]", "tau[random]"} <= set(summary.index)
    assert "between-study standard deviations were" in (tmp_path / "tauby" / "report.md").read_text()


def test_unwritable_output_directory(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "studies.csv")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--engine", "exact",
                         "--out", str(blocker / "results")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "cannot create the output directory" in line and "results" in line


# ---------------------------------------------------------------------------
# issue 9: every problem at once, nothing left behind, bugs are not bad input
# ---------------------------------------------------------------------------


def test_every_bad_row_in_one_line(studies, tmp_path, capsys):
    studies.loc[4, "var_g"] = -0.02
    studies.loc[8, "g"] = np.nan
    studies.loc[2, "var_g"] = 0.0
    path = _write(studies, tmp_path / "bad.csv")
    out = tmp_path / "out"
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(out)], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "bad.csv: 3 problems: " in line
    # in row order, each naming study, row and column
    i3, i5, i9 = (line.index(f"study 'Study {i}' (row {i}) column") for i in (3, 5, 9))
    assert i3 < i5 < i9
    assert "column 'var_g': variance of 0" in line
    assert "column 'var_g': negative variance -0.02" in line
    assert "column 'g': missing" in line and "--missing drop" in line
    assert not out.exists()


def test_every_bad_row_with_standard_errors_and_text_cells(studies, tmp_path, capsys):
    studies["se"] = np.sqrt(studies["var_g"]).astype(object)
    studies.loc[1, "se"] = "small"
    studies["g"] = studies["g"].astype(object)
    studies.loc[6, "g"] = "0,3x"
    path = _write(studies, tmp_path / "text.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--sei", "se", "--labels", "Study", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "2 problems" in line
    assert "study 'Study 2' (row 2) column 'se': non-numeric value 'small'" in line
    assert "study 'Study 7' (row 7) column 'g': non-numeric value '0,3x'" in line


def test_duplicate_labels_get_command_line_advice(studies, tmp_path, capsys):
    studies.loc[3, "Study"] = "Study 1"
    path = _write(studies, tmp_path / "dup.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "'Study 1' appears in rows 1 and 4" in line
    assert "--cluster Study" in line and "--labels" in line
    assert "cluster=" not in line and "missing=" not in line  # command-line words, not Python


def test_repeated_study_column_without_labels_warns_with_advice(studies, tmp_path, capsys):
    studies = studies.rename(columns={"Study": "study"})
    studies.loc[3, "study"] = "Study 1"
    path = _write(studies, tmp_path / "dup.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    warning = [x for x in err.splitlines() if x.startswith("bayesma: warning: column 'study' repeats")]
    assert warning and "--cluster study" in warning[0]


def test_failed_run_leaves_no_output_directory(studies, tmp_path, capsys, monkeypatch):
    # a failure after the fit (here: the forest plot) must not leave a partial or empty directory
    import bayesma.cli.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(pipeline, "save_fig", broken)
    path = _write(studies, tmp_path / "s.csv")
    out = tmp_path / "deep" / "out"
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(out)], capsys)
    assert code == 1
    assert not out.exists() and not (tmp_path / "deep").exists()
    assert not list(tmp_path.glob(".bayesma-tmp-*"))
    # an existing directory keeps what it had, and gets nothing half-written
    out.mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(out)], capsys)
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_successful_run_moves_every_file_into_place(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "s.csv")
    out = tmp_path / "a" / "b"
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                         "--out", str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["forest.png", "posterior.nc", "report.md", "summary.csv"]
    assert not list(out.parent.glob(".bayesma-tmp-*"))


def test_internal_error_is_not_reported_as_bad_input(studies, tmp_path, capsys, monkeypatch):
    import bayesma.cli.pipeline as pipeline

    for bug in (lambda *a, **k: {}["tau"], lambda *a, **k: len(None), lambda *a, **k: np.ones(2) + np.ones(3)):
        monkeypatch.setattr(pipeline, "frequentist_fits", bug)
        path = _write(studies, tmp_path / "s.csv")
        code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                             "--engine", "exact", "--out", str(tmp_path / "out")], capsys)
        assert code == 1, err
        line = _one_error_line(err)
        assert "internal error" in line and "not a problem with your input" in line and "--debug" in line
        assert not (tmp_path / "out").exists()


def test_usage_errors_are_one_line(capsys):
    for argv in (["fit"], ["fit", "x.csv", "--yi", "g", "--engine", "foo"], ["nope"], ["fit", "x.csv", "--bogus"]):
        code, out, err = _run(argv, capsys)
        assert code == 2
        assert _one_error_line(err) and "usage:" not in err and out == ""
    assert "see 'bayesma fit --help'" in _run(["fit"], capsys)[2]


def test_write_failure_names_the_path(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "s.csv")
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    for out in (blocker, blocker / "out"):
        code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study",
                             "--engine", "exact", "--out", str(out)], capsys)
        assert code == 2
        assert str(out) in _one_error_line(err) or str(blocker) in _one_error_line(err)
    # escalc --out into a path that cannot be a file
    dat = bm.load_dataset("dat.bcg")
    src = _write(dat, tmp_path / "bcg.csv")
    target = blocker / "effects.csv"
    code, _, err = _run(["escalc", "RR", str(src), "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg",
                         "--out", str(target)], capsys)
    assert code == 2
    assert str(blocker) in _one_error_line(err)


def test_european_csv_thousands_separators(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("study;g;v;n\nA;0,25;0,01;1.200\nB;0,5;0,02;800\nC;-1.200,5;0,03;12.500\n")
    df = read_table(path)
    np.testing.assert_array_equal(df["n"], [1200, 800, 12500])
    np.testing.assert_array_equal(df["g"], [0.25, 0.5, -1200.5])
    np.testing.assert_array_equal(df["v"], [0.01, 0.02, 0.03])


def test_european_csv_ambiguous_numbers_are_refused(tmp_path):
    path = tmp_path / "ambiguous.csv"
    path.write_text("study;g;v;n\nA;0.25;0.01;1.200\nB;0.5;0.02;2.300\n")
    with pytest.raises(ValueError, match=r"column 'n': '1.200' \(row 1\), '2.300' \(row 2\) could be"):
        read_table(path)
    path.write_text("study;g;v\nA;0,25;0.01\nB;0,5;0,02\n")  # decimal commas and a decimal point mixed
    with pytest.raises(ValueError, match=r"column 'v': '0.01' \(row 1\)"):
        read_table(path)
    # a file with decimal points only (and no thousands-like numbers) reads as usual
    path.write_text("study;g;v\nA;0.25;0.01\nB;1.5;0.02\n")
    np.testing.assert_array_equal(read_table(path)["g"], [0.25, 1.5])


def test_semicolon_file_with_commas_in_the_data_rows(tmp_path):
    # the header has no comma; the first data row does: still one table of three columns
    path = tmp_path / "eu.csv"
    path.write_text("study;g;v\nA;0,25;0,01\nB;0,5;0,02\n")
    df = read_table(path)
    assert list(df.columns) == ["study", "g", "v"] and df["g"].tolist() == [0.25, 0.5]


def test_cli_and_report_show_the_exact_fits_numbers(tmp_path, capsys):
    # one exact fit: every place the CLI prints mu's interval and P(mu > 0) equals the fit's own (exact) values
    df = pd.DataFrame({"study": ["A", "B", "C", "D"], "yi": [0.05, 0.4, 0.25, -0.1], "vi": [0.03, 0.05, 0.04, 0.06]})
    path = _write(df, tmp_path / "four.csv")
    out = tmp_path / "out"
    code, stdout, err = _run(["fit", str(path), "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "SMD",
                              "--engine", "exact", "--out", str(out)], capsys)
    assert code == 0, err
    with pytest.warns(UserWarning, match="k = 4"):
        post = bm.MetaAnalysis(df, yi="yi", vi="vi", labels="study", measure="SMD").fit(engine="exact", seed=1)
    ref = post.summary().loc["mu"]
    p_exact = float(post.exact.prob("mu", 0.0))
    assert post.p_greater("mu") == pytest.approx(p_exact, rel=1e-12)
    assert 0.01 < p_exact < 0.99
    # console
    assert f"P(mu > 0) = {p_exact:.3f}".replace("= 0.", "= .") in stdout  # APA, as the report and --by's table
    bayes_row = next(x for x in stdout.splitlines() if x.startswith("Bayesian (exact)"))
    assert all(f"{ref[c]:.4f}" in bayes_row for c in ("median", "eti_lower", "eti_upper"))
    # summary.csv
    written = pd.read_csv(out / "summary.csv", index_col=0).loc["mu"]
    for c in ("median", "eti_lower", "eti_upper"):
        assert written[c] == pytest.approx(ref[c], rel=1e-9)
    # report.md
    paragraph = (out / "report.md").read_text().split("\n\n")[1]
    assert f"{ref['median']:.2f}, 95% CrI [{ref['eti_lower']:.2f}, {ref['eti_upper']:.2f}]" in paragraph
    assert f"probability that it is greater than zero was {p_exact:.3f}".replace(" 0.", " .") in paragraph


def test_no_measure_prints_a_note(studies, tmp_path, capsys):
    path = _write(studies, tmp_path / "s.csv")
    code, stdout, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                              "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "Note: no --measure given" in stdout and "scaled to the data" in stdout
    code, stdout, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--engine", "exact",
                              "--measure", "smd", "--out", str(tmp_path / "out2")], capsys)
    assert code == 0, err
    assert "Note: no --measure" not in stdout
    assert "standardized mean differences (Hedges' g)" in (tmp_path / "out2" / "report.md").read_text()


def test_escalc_command_takes_the_arguments_of_every_measure(tmp_path, capsys):
    from bayesma.cli.parser import ESCALC_ARGS
    from bayesma.effects import MEASURES

    needed = {a for _, args, _ in MEASURES.values() for a in args}
    assert needed <= set(ESCALC_ARGS)
    df = pd.DataFrame({"x1": [10, 4], "t1": [1000.0, 800.0], "x2": [6, 9], "t2": [900.0, 1200.0]})
    src = _write(df, tmp_path / "rates.csv")
    out = tmp_path / "irr.csv"
    code, _, err = _run(["escalc", "IRR", str(src), "--x1i", "x1", "--t1i", "t1", "--x2i", "x2", "--t2i", "t2",
                         "--out", str(out)], capsys)
    assert code == 0, err
    ref = bm.escalc("IRR", x1i="x1", t1i="t1", x2i="x2", t2i="t2", data=df)
    np.testing.assert_allclose(pd.read_csv(out)[["yi", "vi"]], ref[["yi", "vi"]], rtol=1e-12)


def test_stray_spaces_and_na_markers_keep_a_column_numeric(tmp_path, capsys):
    # "NA " (trailing space) in one row: the message names that row, not row 1
    path = tmp_path / "na.csv"
    path.write_text("study,yi,vi,x\nA,0.25,0.01,7.5 \nB,0.5,NA ,3\nC,0.1,0.02, 2\n")
    df = read_table(path)
    assert df["vi"].dtype == float and df["x"].tolist() == [7.5, 3.0, 2.0]
    code, _, err = _run(["fit", str(path), "--yi", "yi", "--vi", "vi", "--engine", "exact",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "1 problem: study 'B' (row 2) column 'vi': missing" in _one_error_line(err)


def test_numeric_moderator_with_stray_text_cells_is_refused(studies, tmp_path, capsys):
    studies["age"] = ["20", "25", "<20", "30", "31", "22", "40", "35", "28", "n.a."]
    path = _write(studies, tmp_path / "mods.csv")
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--mods", "~ age",
                         "--engine", "exact", "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    line = _one_error_line(err)
    assert "2 problems" in line and "(row 3) column 'age': non-numeric value '<20'" in line
    assert "(row 10) column 'age': non-numeric value 'n.a.'" in line
    # a real categorical moderator is fine
    code, _, err = _run(["fit", str(path), "--yi", "g", "--vi", "var_g", "--labels", "Study", "--mods", "~ setting",
                         "--engine", "exact", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
