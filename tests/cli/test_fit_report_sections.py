"""``bayesma fit --subgroups COL --bias``: the report (Markdown and HTML) holds the frequentist table, the
subgroup tests and the publication-bias section when they were run -- with the numbers of ``bayesma
subgroup`` and ``bayesma bias`` -- and not when they were not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"
REC = ["--subset", "outcome == 'recidivism'"]


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def effects(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "effects.csv"
    bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV)).to_csv(path, index=False)
    return path


def test_report_holds_subgroups_and_bias_when_run(effects, tmp_path, capsys):
    out = tmp_path / "fit"
    code, stdout, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                              *REC, "--subgroups", "rater", "--bias", "--html", "--out", out], capsys)
    assert code == 0, err
    # the same numbers as the commands of their own
    code, _, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater",
                         *REC, "--out", tmp_path / "sg"], capsys)
    assert code == 0, err
    code, _, err = _run(["bias", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", *REC,
                         "--out", tmp_path / "bias"], capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(out / "subgroups_rater.csv"), pd.read_csv(tmp_path / "sg" / "subgroups.csv"))
    a, b = pd.read_csv(out / "bias.csv", index_col=0), pd.read_csv(tmp_path / "bias" / "bias.csv", index_col=0)
    cols = ["estimate", "ci_lb", "ci_ub", "statistic", "pval"]
    np.testing.assert_array_equal(a[cols].to_numpy(float), b[cols].to_numpy(float))

    report = (out / "report.md").read_text()
    assert "## Frequentist estimates" in report
    assert "## Subgroup analysis by rater" in report and "Test of subgroup differences, FE: Q_between(1)" in report
    assert "## Publication bias" in report and "Egger's regression test" in report
    assert report.index("## Publication bias") < report.index("## Files")
    page = (out / "report.html").read_text()
    for heading in ("Frequentist estimates", "Frequentist check", "Subgroup analysis by rater", "Publication bias"):
        assert f"<h2>{heading}</h2>" in page, heading
    assert 'src="data:image/png;base64,' in page.split("<h2>Publication bias</h2>", 1)[1]  # the funnel, embedded
    assert "funnel.png" in stdout and "subgroups_rater.csv" in stdout  # the files are named


def test_report_without_them_has_no_such_sections(effects, tmp_path, capsys):
    out = tmp_path / "plain"
    code, _, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", *REC, "--out", out], capsys)
    assert code == 0, err
    report = (out / "report.md").read_text()
    assert "Subgroup analysis" not in report and "Publication bias" not in report
    assert not (out / "bias.csv").exists()


def test_fit_by_report_has_a_bias_section_per_value(effects, tmp_path, capsys):
    out = tmp_path / "by"
    code, _, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome",
                         "--bias", "--out", out], capsys)
    assert code == 0, err
    report = (out / "report.md").read_text()
    assert report.count("### Publication bias") == 3
    assert sorted(p.name for p in out.glob("bias_*.csv")) == ["bias_dropout.csv", "bias_misconduct.csv",
                                                             "bias_recidivism.csv"]
    assert "k = 3 studies (< 10)" in err  # misconduct's small-k caution


def test_subgroups_with_an_unknown_column_is_one_line(effects, tmp_path, capsys):
    code, _, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", *REC, "--subgroups", "rate",
                         "--out", tmp_path / "x"], capsys)
    assert code == 2 and "--subgroups" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
