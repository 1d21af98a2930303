"""``bayesma mv``'s cautions: a coefficient whose CR2 test has Satterthwaite df below 4 (Tipton 2015) and a
correlation of the true effects estimated at its bound are said below the table and in report.md; the p-values
of the robust columns are printed as the model-based ones are (``<.0001``, never ``0.0000``).

The bound case is synthetic data of the motivating shape (21 studies, 27 correlations converted to d, three
outcomes, misconduct in k = 3): metafor 3.8.1 gives ``rma.mv(yi, vcalc(vi, study, type = outcome, rho = 0.5),
mods = ~ outcome - 1, random = ~ outcome | study, struct = "CS")`` rho = -1.0000, tau^2 = 0.0278, and
clubSandwich's CR2 df of misconduct 2.01."""

from __future__ import annotations

import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.cli import main
from bayesma.report.tables import format_value

STUDIES = ["Adams (1995)", "Baker (1996)", "Chen (1997)", "Diaz (1998)", "Evans (1999)", "Fox (2000)",
           "Garcia (2001)", "Hill (2002)", "Ito (2003)", "Jones (2004)", "Adams (1995)", "Evans (1999)",
           "Khan (2005)", "Hill (2002)", "Ito (2003)", "Jones (2004)", "Khan (2005)", "Lopez (2006)",
           "Moore (2007)", "Nash (2008)", "Olsen (2009)", "Patel (2010)", "Quinn (2011)", "Ross (2012)",
           "Singh (2013)", "Taylor (2014)", "Usher (2015)"]
OUTCOMES = ["dropout"] * 10 + ["misconduct"] * 3 + ["recidivism"] * 14
R = [-0.22, -0.4, -0.12, -0.12, -0.38, -0.14, -0.46, -0.39, -0.41, -0.38, -0.21, -0.15, -0.1, -0.04, -0.22, -0.14,
     -0.42, -0.15, -0.08, -0.17, -0.14, 0.01, -0.19, -0.1, -0.3, -0.2, -0.07]
N = [124, 215, 60, 76, 159, 193, 92, 160, 73, 93, 155, 109, 140, 271, 166, 290, 93, 275, 159, 217, 218, 128, 67, 150,
     183, 144, 72]


def _mv(path, tmp_path, capsys, *extra):
    out = tmp_path / "out"
    code = main(["mv", str(path), "--yi", "yi", "--vi", "vi", "--cluster", "study", *extra, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out, (out / "report.md").read_text(), pd.read_csv(out / "mv.csv", index_col=0)


@pytest.fixture
def synthetic(tmp_path):
    raw = pd.DataFrame({"study": STUDIES, "outcome": OUTCOMES, "r": R, "n": N})
    path = tmp_path / "alliance.csv"
    bm.escalc("R2D", ri="r", ni="n", data=raw).to_csv(path, index=False)
    return path


def test_correlation_at_its_bound_and_few_clusters_are_said(synthetic, tmp_path, capsys):
    out, report, table = _mv(synthetic, tmp_path, capsys, "--outcome", "outcome", "--struct", "CS")
    out = out.replace("\n  ", " ")  # the console wraps prose at 100 columns, continuation lines indented
    assert table.loc["misconduct", "rob_df"] == pytest.approx(2.01, abs=0.005)  # clubSandwich: 2.01
    for text in (out, report):
        assert "estimated at its bound (-1)" in text and "--struct DIAG" in text
        assert "Satterthwaite df below 4 in the cluster-robust (CR2) test of misconduct (df = 2.0)" in text
        assert "dropout (df" not in text and "recidivism (df" not in text  # df 8.5 and 12.4


def test_che_has_no_correlation_note(synthetic, tmp_path, capsys):
    out, report, _ = _mv(synthetic, tmp_path, capsys, "--outcome", "outcome", "--che")
    assert "bound" not in out and "bound" not in report
    assert "test of misconduct" in out


def test_interior_correlation_gives_only_the_df_note(tmp_path, capsys):
    case = {c["name"]: c for c in load_json("metafor/metafor_mv_more.json")["cases"]}["seed_shape_CS_REML"]
    path = tmp_path / "seed.csv"
    pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"}).to_csv(path, index=False)
    out, _, _ = _mv(path, tmp_path, capsys, "--outcome", "outcome", "--struct", "CS")
    assert case["expect"]["rho"] == pytest.approx(0.808, abs=1e-3) and "bound" not in out
    low = [o for o, df in zip(["dropout", "misconduct", "recidivism"], case["expect"]["robust_cr2"]["df"]) if df < 4]
    assert low == ["misconduct"] and "test of misconduct (df = 2.2)" in out


def test_robust_p_values_are_printed_like_the_model_based_ones(synthetic, tmp_path, capsys):
    out, report, table = _mv(synthetic, tmp_path, capsys, "--outcome", "outcome", "--struct", "CS")
    assert table.loc["dropout", "rob_pval"] < 1e-4  # 8.1e-05
    row = "  ".join(ln for ln in out.splitlines() if ln.startswith("dropout"))  # the table's parts
    assert row.split()[-1] == "<.0001" and "0.0000" not in out
    assert format_value(8.06e-05, "rob_pval") == format_value(8.06e-05, "pval") == "<.0001"
