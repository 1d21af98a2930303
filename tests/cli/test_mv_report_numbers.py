"""``bayesma mv``'s report shows the variance components as ``print(rma_mv(...))`` does: 4 decimals, the
number of levels as a count, blanks (never ``NaN``) where a correlation has no square root; neither shows
a blank header row for the table's empty index name."""

from __future__ import annotations

import re

import pandas as pd
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _section(report: str, heading: str) -> list[str]:
    body = report.split(f"## {heading}", 1)[1].split("```", 2)[1]
    return [ln for ln in body.splitlines() if ln]


def test_variance_components_as_the_printout(tmp_path, capsys):
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    path = tmp_path / "effects.csv"
    es.to_csv(path, index=False)
    code = main(["mv", str(path), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                 "--rho", "0.5", "--out", str(tmp_path / "mv")])
    assert code == 0, capsys.readouterr().err
    lines = _section((tmp_path / "mv" / "report.md").read_text(), "Variance components")
    V = bm.vcalc("vi", cluster="study", type="outcome", rho=0.5, data=es)
    res = bm.rma_mv("yi", V, mods="~ outcome - 1", random="~ outcome | study", struct="CS", data=es)
    tau2, rho = res.tau2[0], res.rho[0]
    assert lines[0].split() == ["estim", "sqrt", "nlvls", "fixed", "factor"]  # no blank index-name row
    assert lines[1].split()[:4] == ["tau^2", f"{tau2:.4f}", f"{tau2 ** 0.5:.4f}", str(res.struct_info[0]["n_outer"])]
    assert lines[2].split()[:2] == ["rho", f"{rho:.4f}"]
    assert not re.search(r"NaN|\d\.\d{5,}|\b\d+\.0\b", "\n".join(lines))
    printed = repr(res).split("Variance Components:", 1)[1]
    block = printed.split("inner factor:", 1)[1].split("\n\n", 2)[1].splitlines()
    assert block[0].split() == ["estim", "sqrt", "k.lvl", "fixed", "level"] and block[1].split()[1] == f"{tau2:.4f}"


def test_printout_of_a_three_level_model_has_no_blank_header_row():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    text = repr(res).split("Variance Components:", 1)[1].lstrip("\n").splitlines()
    assert text[0].split() == ["estim", "sqrt", "nlvls", "fixed", "factor"]
    assert text[1].startswith("sigma^2.1")
