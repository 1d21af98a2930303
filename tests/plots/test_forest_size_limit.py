"""A forest plot draws one row per study: beyond MAX_FOREST_STUDIES it is an InputError naming
the alternatives, not minutes of drawing an illegible figure (k = 100,000 hung)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import InputError
from bayesma.plots._forest_layout import MAX_FOREST_STUDIES

matplotlib.use("Agg")


def _data(k: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    vi = rng.uniform(0.01, 0.2, k)
    return pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + 0.05)), "vi": vi})


def test_forest_of_too_many_studies_is_an_input_error():
    dat = _data(MAX_FOREST_STUDIES + 1)
    with pytest.raises(InputError, match="one row per study"):
        bm.rma("yi", "vi", data=dat).forest()
    with pytest.raises(InputError, match="one row per study"):
        bm.MetaAnalysis(dat).fit(engine="exact").forest()
