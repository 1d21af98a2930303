"""One rule for levels everywhere: 0.90 and 90 (percent) give the same intervals in every public
function that takes a level (rma's rule, bayesma._validate.check_level)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

DF = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4], "vi": [0.01, 0.02, 0.03, 0.02, 0.01], "g": list("ababa")})


@pytest.fixture(scope="module")
def post():
    return bm.MetaAnalysis(DF, yi="yi", vi="vi").fit(engine="exact", seed=1)


CALLS = {
    "rma": lambda level, post: bm.rma("yi", "vi", data=DF, level=level).ci_lb,
    "predict": lambda level, post: bm.rma("yi", "vi", data=DF).predict(level=level).ci_lb,
    "subgroup": lambda level, post: bm.subgroup("yi", "vi", by="g", data=DF, level=level).table["ci_lb"].to_numpy(),
    "egger_test": lambda level, post: bm.egger_test("yi", "vi", data=DF, level=level).ci_lb,
    "rma_mh": lambda level, post: bm.rma_mh(ai=[5, 6, 7], bi=[20, 21, 22], ci=[8, 9, 10], di=[18, 19, 20],
                                            level=level).ci_lb,
    "rma_mv": lambda level, post: bm.rma_mv("yi", "vi", random="~ 1 | g", data=DF, level=level).ci_lb,
    "compare_frequentist": lambda level, post: post.compare_frequentist(level=level).iloc[0].to_numpy(),
    "summary": lambda level, post: post.summary(prob=level)["eti_lower"].to_numpy(),
    "interval": lambda level, post: post.interval("mu", prob=level),
    "fit_many": lambda level, post: bm.fit_many(DF, by="g", yi="yi", vi="vi", engine="exact",
                                                level=level, seed=1).groups["mu_lower"].to_numpy(),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_percentage_is_the_same_level_as_a_fraction(name, post):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frac, pct, other = CALLS[name](0.9, post), CALLS[name](90, post), CALLS[name](0.95, post)
    np.testing.assert_allclose(np.asarray(pct, dtype=float), np.asarray(frac, dtype=float), equal_nan=True)
    assert not np.allclose(np.asarray(other, dtype=float), np.asarray(frac, dtype=float))

