"""The console printouts of the command line read as one story: the publication-bias table in metafor's
4 decimals (each cell the number the Python API prints), fail-safe N as whole studies, the notes under
the table; with ``fit --by`` every subgroup and bias table titled with its value of ``--by``; prose
wrapped at 100 columns."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main
from bayesma.cli.console import WIDTH, wrapped

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def effects(tmp_path_factory):
    path = tmp_path_factory.mktemp("layout") / "effects.csv"
    bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV)).to_csv(path, index=False)
    return path


def _table(out: str, title_start: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(title_start))
    while not lines[start].startswith("method"):
        start += 1
    end = lines.index("", start)
    return lines[start + 2:end]


def test_bias_table_has_four_decimals_as_the_api(effects, tmp_path, capsys):
    code, out, err = _run(["bias", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--subset",
                           "outcome == 'recidivism'", "--out", tmp_path / "b"], capsys)
    assert code == 0, err
    rows = _table(out, "Publication bias")
    es = pd.read_csv(effects).query("outcome == 'recidivism'")
    eg = bm.egger_test("yi", "vi", data=es)
    egger = next(r for r in rows if r.startswith("Egger's"))
    assert egger.split()[3:6] == [f"{eg.b:.4f}", f"{eg.ci_lb:.4f}", f"{eg.ci_ub:.4f}"]
    fsn = bm.fsn("yi", "vi", data=es)
    rosenthal = next(r for r in rows if r.startswith("Fail-safe N (Rosenthal)"))
    assert rosenthal.split()[3] == str(int(fsn.fsnum))
    for row in rows:  # every number: 4 decimals (or a whole count of studies), no .4g, no scientific notation
        for cell in re.findall(r"(?<=\s)-?[\d.]+(?:e[-+]\d+)?(?=\s|$)", row.split(")", 1)[-1]):
            assert re.fullmatch(r"-?\d+\.\d{4}|\d+", cell), (row, cell)
    assert all(len(r) <= WIDTH for r in rows)  # the notes are under the table, not in it
    assert "Egger's regression test: estimate: limit effect as sei -> 0" in out


def test_fit_by_titles_each_section_with_its_value(effects, tmp_path, capsys):
    code, out, err = _run(["fit", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--measure", "R2D",
                           "--by", "outcome", "--subgroups", "rater", "--bias", "--out", tmp_path / "f"], capsys)
    assert code == 0, err
    for outcome in ("dropout", "misconduct", "recidivism"):
        assert f"outcome == '{outcome}': Subgroups by rater" in out
        assert f"outcome == '{outcome}': Publication bias" in out
    assert "outcome == 'misconduct': k = 3 studies (< 10)" in err  # the small-k warning says which analysis
    report = (tmp_path / "f" / "report.md").read_text()
    section = report.split("### Publication bias", 1)[1].split("![", 1)[0]
    assert "- Trim-and-fill (REML, L0): k0 = " in section and "- PET-PEESE: " in section  # the notes, under the table


def test_prose_is_wrapped_and_tables_are_not(effects, tmp_path, capsys):
    code, out, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater",
                           "--per", "outcome", "--out", tmp_path / "s"], capsys)
    assert code == 0, err
    prose = [ln for ln in out.splitlines() if ln.startswith(("Test of", "  ")) or "Subgroups by" in ln]
    assert len(prose) > 9 and all(len(line) <= WIDTH for line in prose)  # tables are as wide as their columns
    tests = [ln for ln in out.splitlines() if ln.startswith("Test of subgroup differences, RE (REML), common")]
    assert len(tests) == 3 and all(re.search(r"QM\(1\) = \d+\.\d\d, p [=<] \.\d{3}", ln) for ln in tests)


def test_wrapped_keeps_words_and_short_lines():
    text = "short line\n" + "Note: column 'service provider/observer' " * 5
    out = wrapped(text, width=50)
    assert out.splitlines()[0] == "short line"
    assert all(len(ln) <= 50 or " " not in ln.strip() for ln in out.splitlines())
    assert "'service provider/observer'" in out.replace("\n  ", " ")


def test_bias_title_names_which_pooled_estimate_decided_the_direction(effects, tmp_path, capsys):
    """The direction of selection comes from the common-effect estimate; the title says so, since the table
    beside it shows the random-effects estimate (-0.4128 beside -0.3983 read as two pooled effects)."""
    code, out, err = _run(["bias", effects, "--yi", "yi", "--vi", "vi", "--labels", "study", "--subset",
                           "outcome == 'recidivism'", "--out", tmp_path / "b"], capsys)
    assert code == 0, err
    es = pd.read_csv(effects).query("outcome == 'recidivism'")
    fe = bm.rma("yi", "vi", data=es, method="FE")
    title = out.replace("\n  ", " ").split("Publication bias (", 1)[1].split(")", 1)[0]
    assert f"common-effect estimate {fe.beta[0]:.4f}" in title


def test_wrapped_keeps_a_relation_on_one_line():
    text = "Test of subgroup differences, RE (REML), common tau²: QM(1) = 4.02, p = .045 (meta-regression)"
    for width in range(30, 90):
        for line in wrapped(text, width=width).splitlines():
            assert not line.rstrip().endswith(("=", "<", ">")) and not line.lstrip().startswith(("=", "<", ">"))
