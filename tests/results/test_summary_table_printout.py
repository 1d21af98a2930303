"""The exact engine's summary() keeps the columns of every engine (r_hat, ess_bulk, ess_tail: NaN, its draws
are independent) but its printout leaves the all-NaN diagnostic columns out, so pandas shows every other
column instead of folding the table ("..."); a NUTS table shows them (tests/models, slow tier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.results.summary_table import SummaryTable


@pytest.fixture(scope="module")
def exact_post():
    bcg = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    return bm.MetaAnalysis(bcg, "yi", "vi").fit(engine="exact", seed=1)


def test_exact_summary_prints_without_empty_diagnostics(exact_post):
    table = exact_post.summary()
    assert list(table.columns) == ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
    assert table[["r_hat", "ess_bulk", "ess_tail"]].isna().all().all()
    text = repr(table)
    header = text.splitlines()[0].split()
    assert header == ["mean", "sd", "median", "eti_lower", "eti_upper"]
    assert "..." not in text and "r_hat" not in text
    assert str(table) == text


def test_a_diagnostic_with_values_is_printed():
    t = SummaryTable(pd.DataFrame({"mean": [0.1, 0.2], "r_hat": [1.01, np.nan], "ess_bulk": [np.nan, np.nan]},
                                  index=["mu", "tau"]))
    assert repr(t).splitlines()[0].split() == ["mean", "r_hat"]
    assert type(t.loc[["mu"]]) is pd.DataFrame and "ess_bulk" in repr(t.loc[["mu"]])  # derived: a plain DataFrame
