"""The forest plot of dependent effects grouped by study: readable at small and large k, and the
numbers drawn are the ones given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
from _helpers import _texts, assert_readable  # noqa: E402
from matplotlib.patches import Polygon, Rectangle  # noqa: E402

from bayesma.plots import forest_grouped  # noqa: E402


def _data(n_studies: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, n_studies)
    study = np.repeat([f"Study {i + 1:02d}" for i in range(n_studies)], sizes)
    outcome = np.concatenate([["dropout", "misconduct", "recidivism"][:s] for s in sizes])
    vi = rng.uniform(0.01, 0.06, len(study))
    return rng.normal(-0.3, np.sqrt(vi + 0.02)), vi, study, outcome


POOLED = pd.DataFrame({"estimate": [-0.45, -0.30, -0.26], "ci_lb": [-0.61, -0.56, -0.39], "ci_ub": [-0.29, -0.04, -0.12],
                       "rob_lb": [-0.63, -0.64, -0.41], "rob_ub": [-0.27, 0.04, -0.11]},
                      index=["dropout", "misconduct", "recidivism"])


@pytest.mark.parametrize("n_studies", [2, 21, 80])
def test_readable_at_every_size(n_studies):
    yi, vi, study, outcome = _data(n_studies)
    fig = forest_grouped(yi, vi, study, outcome, pooled=POOLED, measure="SMD", title="Alliance and outcomes")
    assert_readable(fig, f"forest_grouped with {n_studies} studies")


def test_blocks_by_study_and_both_pooled_intervals():
    yi, vi, study, outcome = _data(5)
    fig = forest_grouped(yi, vi, study, outcome, pooled=POOLED)
    texts = [t.get_text() for t in _texts(fig)]
    for s in pd.unique(study):
        assert s in texts
    assert "Pooled" in texts and texts.count("      cluster-robust") == 3
    ax = fig.axes[0]
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(diamonds) == 3 and len(bars) == 3
    np.testing.assert_allclose(sorted(d.get_xy()[:, 0].min() for d in diamonds), sorted(POOLED["ci_lb"]))
    np.testing.assert_allclose(sorted(b.get_x() for b in bars), sorted(POOLED["rob_lb"]))
    assert "-0.45 [-0.63, -0.27]" in texts  # the robust interval's numbers


def test_without_pooled_rows():
    yi, vi, study, _ = _data(3)
    fig = forest_grouped(yi, vi, study)
    assert "effect 1" in " ".join(t.get_text() for t in _texts(fig))


def test_legend_names_what_each_pooled_interval_is():
    yi, vi, study, outcome = _data(4)
    fig = forest_grouped(yi, vi, study, outcome, pooled=POOLED)
    legend = [t.get_text() for lg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if lg is not None
              for t in lg.get_texts()]
    assert "Pooled estimate [95% CI, model-based]" in legend
    assert "Pooled estimate [95% CI, cluster-robust (CR2)]" in legend  # not a bare "[95% CI, ...]"
