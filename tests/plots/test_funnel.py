"""Funnel plots of frequentist fits and trim-and-fill results."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import load_cases
from matplotlib.figure import Figure

import bayesma as bm


def _hackshaw():
    case = next(c for c in load_cases() if c["name"] == "hackshaw_bias")
    return np.array(case["input"]["yi"]), np.array(case["input"]["vi"])


def test_funnel_of_a_random_effects_fit():
    yi, vi = _hackshaw()
    res = bm.rma(yi, vi)
    fig = res.funnel(measure="OR")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    offsets = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(yi))  # every study, at (yi, se)
    np.testing.assert_allclose(np.sort(offsets[:, 1]), np.sort(np.sqrt(vi)))
    lo, hi = ax.get_ylim()
    assert lo > hi == 0.0  # standard error axis inverted, 0 at the top
    assert ax.get_xlabel() == "Log odds ratio"


def test_funnel_of_trimfill_shows_the_filled_studies():
    yi, vi = _hackshaw()
    tf = bm.trimfill(yi, vi)
    fig = tf.funnel()
    filled = fig.axes[0].collections[-1].get_offsets()
    assert len(filled) == tf.k0 == 7
    # filled studies mirror observed ones around the trim-and-fill estimate (left side)
    assert np.all(filled[:, 0] < tf.original.beta[0])


def test_funnel_needs_an_intercept_only_model():
    import pandas as pd

    df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.01, 0.02, 0.03, 0.02], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="intercept-only"):
        bm.rma("yi", "vi", data=df, mods="~ x").funnel()
