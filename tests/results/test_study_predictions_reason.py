"""``post.study_predictions()`` of a model without study-specific tau names the right reason: a
common-effect model has no tau at all (the message said "every study shares tau")."""

from __future__ import annotations

import pandas as pd
import pytest

import bayesma as bm

_DATA = pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05], "vi": [0.02, 0.03, 0.05, 0.04, 0.03]})


def test_common_effect_study_predictions_name_the_reason():
    post = bm.MetaAnalysis(_DATA, "yi", "vi", model="common").fit(engine="exact", seed=5)
    with pytest.raises(bm.errors.UnsupportedModelError, match="a common-effect model has no tau"):
        post.study_predictions()


def test_random_effects_study_predictions_name_the_shared_tau():
    post = bm.MetaAnalysis(_DATA, "yi", "vi").fit(engine="exact", seed=5)
    with pytest.raises(bm.errors.UnsupportedModelError, match="every study shares tau"):
        post.study_predictions()
