"""leave_one_out and cumulative refit subsets of rows; for the dependent-effects models (CHE, multivariate
across outcomes) a subset would also have to cut V's blocks, the clusters and the outcomes, so they refuse
them with a typed error that says what to do (they raised a numpy shape error before)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm


@pytest.fixture(scope="module")
def effects() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame([{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.25), "vi": 0.04}
                         for s in range(8) for o in (["a", "b"] if s < 4 else ["a"] if s < 6 else ["b"])])


@pytest.mark.parametrize("kind", ["leave_one_out", "cumulative"])
@pytest.mark.parametrize("model", [dict(cluster="study", rho=0.6),
                                   dict(cluster="study", outcome="outcome", struct="CS", rho=0.5)])
def test_influence_of_a_dependent_model_is_a_typed_error(effects, kind, model):
    with warnings.catch_warnings(), pytest.raises(bm.errors.UnsupportedModelError, match="compare_priors"):
        warnings.simplefilter("ignore")
        getattr(bm, kind)(effects, yi="yi", vi="vi", engine="exact", **model)
