"""Count models (MetaAnalysis with likelihood='binomial' / 'poisson') given what users give: Series
without data= (paired by index), foreign indexes, text cells, nothing but double-zero tables, a data
set whose attrs name a measure the counts cannot use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import ArgumentTypeError, InputError

TABLES = pd.DataFrame({"study": ["A", "B", "C", "D"], "ai": [2, 0, 5, 7], "bi": [28, 25, 35, 20],
                       "ci": [8, 3, 9, 6], "di": [22, 22, 29, 25]}, index=[10, 11, 12, 13])
ARGS = dict(ai="ai", bi="bi", ci="ci", di="di", measure="OR", likelihood="binomial")


def test_series_without_data_pair_with_the_first_series_by_index():
    shuffled = TABLES.loc[[12, 10, 13, 11]]
    m = bm.MetaAnalysis(ai=shuffled["ai"], bi=TABLES["bi"], ci=TABLES["ci"], di=TABLES["di"], measure="OR",
                        likelihood="binomial")
    # every study keeps its own table: the rows follow the first Series' order
    np.testing.assert_array_equal(m.spec.counts.e1, shuffled["ai"])
    np.testing.assert_array_equal(m.spec.counts.n1, (shuffled["ai"] + shuffled["bi"]))
    np.testing.assert_array_equal(m.spec.counts.e2, shuffled["ci"])


def test_a_series_with_a_foreign_index_is_refused_not_read_as_missing():
    foreign = pd.Series(TABLES["ai"].to_numpy(), index=range(4))
    with pytest.raises(InputError, match="index does not match"):
        bm.MetaAnalysis(TABLES, **{**ARGS, "ai": foreign})


def test_a_text_cell_is_named_as_text_not_as_a_missing_value():
    bad = TABLES.assign(ai=TABLES["ai"].astype(object))
    bad.loc[12, "ai"] = "5 events"
    with pytest.raises(ArgumentTypeError, match=r"column 'ai': study 'C' \(row 3\) has a non-numeric value '5 events'"):
        bm.MetaAnalysis(bad, **ARGS, labels="study")
    # numbers stored as text are numbers
    m = bm.MetaAnalysis(TABLES.assign(ai=TABLES["ai"].astype(str)), **ARGS)
    np.testing.assert_array_equal(m.spec.counts.e1, TABLES["ai"])


@pytest.mark.parametrize("cells, family", [
    (dict(ai=0, ci=0), "binomial"),        # every table double-zero
    (dict(bi=0, di=0), "binomial"),        # every patient had the event in both groups
])
def test_tables_that_carry_no_information_on_the_odds_ratio_are_an_error(cells, family):
    with pytest.raises(InputError, match="posterior would be its prior"):
        bm.MetaAnalysis(TABLES.assign(**cells), **ARGS)


def test_rates_with_no_events_anywhere_are_an_error_and_one_double_zero_is_fine():
    rates = pd.DataFrame({"x1i": [0, 0, 0], "t1i": [100.0, 80.0, 90.0], "x2i": [0, 0, 0], "t2i": [90.0, 85.0, 70.0]})
    kw = dict(x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i", measure="IRR", likelihood="poisson")
    with pytest.raises(InputError, match="double-zero"):
        bm.MetaAnalysis(rates, **kw)
    m = bm.MetaAnalysis(rates.assign(x1i=[0, 3, 4], x2i=[0, 6, 5]), **kw)
    assert m.k == 3
    # random baselines borrow strength across studies: the double-zero check is for fixed baselines only
    assert bm.MetaAnalysis(TABLES.assign(ai=0, ci=0), **ARGS, baseline="random").k == 4


def test_a_data_set_measure_the_counts_cannot_use_is_named_as_coming_from_the_data():
    bcg = bm.load_dataset("dat.bcg")          # attrs measure 'RR' (metafor's example)
    with pytest.raises(InputError, match=r"measure= is not given and the data set's attrs name measure='RR'"):
        bm.MetaAnalysis(bcg, ai="tpos", bi="tneg", ci="cpos", di="cneg", likelihood="binomial")
    m = bm.MetaAnalysis(bcg, ai="tpos", bi="tneg", ci="cpos", di="cneg", measure="OR", likelihood="binomial")
    assert m.spec.measure == "OR"


def test_labels_and_mods_series_pair_with_a_data_frame_by_its_own_index():
    """data has index 10..13; Series from it in another order used to be refused (compared with 0..3)."""
    shuffled = TABLES.loc[[12, 10, 13, 11]].assign(x=[3.0, 1.0, 4.0, 2.0])
    data = TABLES.assign(x=[1.0, 2.0, 3.0, 4.0])
    ref = bm.MetaAnalysis(data, **ARGS, labels="study", mods="~ x")
    m = bm.MetaAnalysis(data, **ARGS, labels=shuffled["study"], mods=shuffled["x"])
    assert m.spec.labels == ["A", "B", "C", "D"]
    np.testing.assert_array_equal(np.asarray(m.spec.X)[:, -1], np.asarray(ref.spec.X)[:, -1])
    with pytest.raises(InputError, match="index does not match"):
        bm.MetaAnalysis(data, **ARGS, labels=pd.Series(list("ABCD")))


def test_dropping_every_study_says_so_not_double_zero():
    with pytest.warns(bm.errors.MissingDataWarning), pytest.raises(InputError, match="leaves no study"):
        bm.MetaAnalysis(TABLES.assign(ai=np.nan), **ARGS, missing="drop")


def test_an_unknown_prior_key_lists_the_baseline_keys_too():
    with pytest.raises(InputError, match=r"unknown prior keys \['baselin'\].*'baseline' \(fixed\)"):
        bm.MetaAnalysis(TABLES, **ARGS, priors={"baselin": "normal(0, 5)"})


def test_boolean_counts_are_refused():
    with pytest.raises(ArgumentTypeError, match="ai= holds booleans"):
        bm.MetaAnalysis(TABLES.assign(ai=[True, False, True, True]), **ARGS)
