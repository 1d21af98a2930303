"""Fixes from the new-user test (19:52): small-k prior wording, prior-data conflict, subgroup tests, CSV encodings."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _quiet_fit(df, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(df, yi="yi", vi="vi", labels="study", **kwargs).fit(engine="exact", seed=1)


def _paragraph(text: str) -> str:
    return text.split("\n\n")[1]


# --- item 4: at k < 5 the prior on tau shapes the pooled effect ---------------------------------

K3 = pd.DataFrame({"study": ["A", "B", "C"], "yi": [0.45, 0.30, -0.25], "vi": [0.010, 0.020, 0.015]})


def test_small_k_report_does_not_say_the_data_determined_the_pooled_effect():
    post = _quiet_fit(K3, measure="SMD")
    par = _paragraph(post.report())
    assert "the data, not the prior, determined the pooled effect" not in par
    assert "prior on tau shapes" in par and "compare_priors" in par
    # and that is true: a different prior on tau changes the pooled effect's interval a lot
    wide = _quiet_fit(K3, measure="SMD", priors={"tau": bm.priors.Uniform(0, 4)})
    lo1, hi1 = post.summary().loc["mu", ["eti_lower", "eti_upper"]]
    lo2, hi2 = wide.summary().loc["mu", ["eti_lower", "eti_upper"]]
    assert (hi2 - lo2) > 1.5 * (hi1 - lo1)


def test_large_k_report_still_says_the_data_determined_the_pooled_effect():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"study": [f"S{i}" for i in range(20)], "yi": rng.normal(0.3, 0.15, 20),
                       "vi": rng.uniform(0.01, 0.03, 20)})
    assert "the data, not the prior, determined the pooled effect" in _paragraph(_quiet_fit(df, measure="SMD").report())


# --- item 5: prior-data conflict said plainly ------------------------------------------------------

def _raw_units() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    vi = rng.uniform(400, 2500, 8)
    yi = rng.normal(300, 500, 8) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": [f"S{i}" for i in range(8)], "yi": yi, "vi": vi})


def test_prior_data_conflict_in_report_and_repr():
    post = _quiet_fit(_raw_units(), measure="SMD")  # raw units analysed with an SMD prior
    assert post.prior_data_conflict()["conflict"].any()
    par = _paragraph(post.report())
    assert "Prior-data conflict" in par and "REML: tau = 693" in par
    assert "data say little" not in par
    text = repr(post)
    assert "prior-data conflict" in text
    assert "data say little" not in text


# --- item 9: both random-effects tests of subgroup differences, labelled -------------------------

@pytest.fixture
def effects(tmp_path, capsys) -> Path:
    path = tmp_path / "effects.csv"
    code, _, err = _run(["escalc", "R2D", CSV, "--ri", "r", "--ni", "n", "--slab", "study", "--out", path], capsys)
    assert code == 0, err
    return path


def test_subgroup_cli_prints_both_random_effects_tests(effects, tmp_path, capsys):
    code, out, err = _run(["subgroup", effects, "--yi", "yi", "--vi", "vi", "--by", "rater", "--subset",
                           "outcome == 'recidivism'", "--out", tmp_path / "sg"], capsys)
    assert code == 0, err
    recid = pd.read_csv(effects).query("outcome == 'recidivism'")
    sg = bm.subgroup("yi", "vi", by="rater", data=recid)
    reg = bm.rma("yi", "vi", data=recid, mods="~ rater")  # metafor: rma(yi, vi, mods = ~ factor(rater))
    assert reg.QM == pytest.approx(sg.mixed.QM, rel=1e-9)
    lines = [ln for ln in out.splitlines() if ln.startswith("Test of subgroup differences, RE")]
    assert len(lines) == 2
    sep = next(ln for ln in lines if "separate tau²" in ln)
    com = next(ln for ln in lines if "common tau²" in ln)
    assert f"Q_between(1) = {sg.Q_between:.2f}" in sep
    assert f"QM(1) = {reg.QM:.2f}" in com and "factor(rater)" in com
    assert f"{reg.QMp:.3f}".lstrip("0") in com
    table = pd.read_csv(tmp_path / "sg" / "subgroups.csv")
    assert table.loc[table["model"] == "RE", "QM"].to_numpy() == pytest.approx(reg.QM, rel=1e-9)
    assert table.loc[table["model"] == "RE", "Q_between"].to_numpy() == pytest.approx(sg.Q_between, rel=1e-9)
