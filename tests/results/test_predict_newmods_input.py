"""``post.predict(newmods=...)`` with values that are not numbers (a level name, a dict) is an
InputError naming the design's columns and ``level_predictions``; it was a bare ValueError or
TypeError from numpy."""

from __future__ import annotations

import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import InputError

_DATA = pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40], "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02],
                      "grp": ["a", "b"] * 3})


@pytest.mark.parametrize("newmods", [["b"], {"grp": ["b"]}])
def test_level_names_as_newmods_are_a_typed_error(newmods):
    post = bm.MetaAnalysis(_DATA, "yi", "vi", mods="~ grp").fit(engine="exact", seed=9, draws=300, chains=2)
    with pytest.raises(InputError, match=r"grpb.*level_predictions"):
        post.predict(newmods=newmods)
    by_level = post.level_predictions()
    at_b = post.predict(newmods=[1.0])
    assert at_b["median"].iloc[0] == pytest.approx(by_level.loc["grp = b", "median"], rel=1e-6)
