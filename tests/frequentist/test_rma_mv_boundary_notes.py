"""rma_mv's printout says when an estimate sits at the bound of its range (a correlation of the true effects at
-1 or 1, a variance component at 0), in the words of the command line's ``bayesma mv`` report. The bound cases
are metafor's (tests/data/reference/metafor/metafor_mv_more.json): ishak2007 with struct = "AR" gives
rho = 1.0000; the seed-shaped data with struct = "DIAG" give tau^2.2 = 7.8e-12."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.cli.mv import caution_notes
from bayesma.frequentist.mv.notes import boundary_notes

CASES = {c["name"]: c for c in load_json("metafor/metafor_mv_more.json")["cases"]}


def _frame(name):
    return pd.DataFrame({k: v for k, v in CASES[name]["input"].items() if k != "V"})


def test_correlation_at_its_bound_is_noted():
    case = CASES["ishak2007_AR"]
    res = bm.rma_mv("yi", "vi", mods="~ C(time) - 1", random="~ time | study", struct="AR", data=_frame("ishak2007_AR"))
    assert case["expect"]["rho"] == pytest.approx(1.0, abs=1e-6) and float(res.rho[0]) == pytest.approx(1.0, abs=1e-6)
    text = repr(res)
    assert "Note: The correlation of the true effects across the levels of 'time' (rho) is estimated at its bound" in text


def test_variance_at_zero_is_noted():
    case = CASES["seed_shape_DIAG_REML"]
    df = _frame("seed_shape_DIAG_REML")
    V = np.asarray(case["input"]["V"], dtype=float)
    res = bm.rma_mv("yi", V, mods="~ outcome - 1", random="~ outcome | study", struct="DIAG", data=df)
    assert case["expect"]["tau2"][1] < 1e-8 and res.tau2[1] < 1e-8
    assert "Note: tau^2.2 is estimated at 0, the boundary of its range" in repr(res)
    assert "tau^2.1" not in " ".join(boundary_notes(res))


def test_interior_estimates_have_no_note():
    case = CASES["seed_shape_CS_REML"]
    V = np.asarray(case["input"]["V"], dtype=float)
    res = bm.rma_mv("yi", V, mods="~ outcome - 1", random="~ outcome | study", struct="CS",
                    data=_frame("seed_shape_CS_REML"))
    assert float(res.rho[0]) == pytest.approx(case["expect"]["rho"], abs=1e-4)
    assert "Note:" not in repr(res) and boundary_notes(res) == []


def test_python_and_command_line_share_the_words():
    res = bm.rma_mv("yi", "vi", mods="~ C(time) - 1", random="~ time | study", struct="AR", data=_frame("ishak2007_AR"))
    table = pd.DataFrame({"rob_df": [10.0]}, index=["x"])
    (cli,) = caution_notes(res, table)
    (py,) = boundary_notes(res)
    assert cli.split(": ")[0] == py.split(": ")[0] and "--struct DIAG" in cli and "struct='DIAG'" in py
