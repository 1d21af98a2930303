"""bayesma.errors: one typed hierarchy, exported from bayesma, and messages that keep their context."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm
from bayesma import errors


def test_the_hierarchy_and_the_builtins_it_extends():
    assert issubclass(bm.InputError, bm.BayesmaError) and issubclass(bm.InputError, ValueError)
    assert issubclass(bm.ArgumentTypeError, bm.BayesmaError) and issubclass(bm.ArgumentTypeError, TypeError)
    assert issubclass(bm.UnsupportedModelError, bm.BayesmaError) and issubclass(bm.UnsupportedModelError, ValueError)
    assert issubclass(bm.ConvergenceError, bm.BayesmaError) and issubclass(bm.ConvergenceError, RuntimeError)
    for w in (errors.SmallKWarning, errors.HeavyTailWarning, errors.PriorDominatesWarning, errors.SamplingWarning,
              errors.ConvergenceWarning, errors.MissingDataWarning, errors.DataWarning):
        assert issubclass(w, bm.BayesmaWarning) and issubclass(w, UserWarning)
    assert bm.errors is errors
    from bayesma.models import SmallKWarning
    from bayesma.results import SamplingWarning
    assert SmallKWarning is errors.SmallKWarning and SamplingWarning is errors.SamplingWarning


def test_a_bad_cell_names_the_study_row_and_column():
    with pytest.raises(bm.InputError) as err:
        bm.MetaData.create([0.1, 0.2, 0.3], [0.01, -0.02, 0.03], labels=["A", "B", "C"])
    assert (err.value.study, err.value.row, err.value.column) == ("B", 2, "vi")
    assert str(err.value) == "column 'vi': study 'B' (row 2) has a variance of -0.02; a sampling variance must be positive"


def test_a_double_zero_study_is_called_one_in_rma_mh():
    tables = dict(ai=[0, 2, 3, 1], bi=[10, 8, 7, 9], ci=[0, 1, 4, 2], di=[10, 9, 6, 8], slab=["A", "B", "C", "D"])
    with pytest.warns(errors.MissingDataWarning) as rec:
        bm.rma_mh(**tables, measure="OR")
    text = " ".join(str(w.message) for w in rec)
    assert "study 'A' (row 1): double-zero study" in text and "drop00" in text and "heterogeneity" in text
    assert "missing value" not in text


def test_a_fitted_model_where_effects_belong_is_named():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mh = bm.rma_mh(ai=[1, 2, 3], bi=[9, 8, 7], ci=[2, 1, 4], di=[8, 9, 6])
    for fn in (bm.trimfill, bm.ranktest, bm.egger_test):
        with pytest.raises(bm.ArgumentTypeError, match="got a fitted MHResult where the effect sizes yi belong"):
            fn(mh)


def test_smallk_and_prior_dominates_warnings_have_their_classes():
    model = bm.MetaAnalysis(yi=[0.1, 0.3], vi=[0.01, 0.02])
    with pytest.warns(errors.PriorDominatesWarning):
        model.fit(engine="exact", draws=20, chains=1, seed=1)
    with pytest.warns(errors.SmallKWarning):
        bm.MetaAnalysis(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.03]).fit(engine="exact", draws=20, chains=1, seed=1)
