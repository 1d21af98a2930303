"""The final layout of a figure (bayesma.plots._layout): after it, no tick label collides with its
neighbour or leaves the canvas, whatever the scale of the numbers on the axes."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from _helpers import assert_readable
from matplotlib.figure import Figure

from bayesma.plots._layout import settle_layout
from bayesma.plots.trace import trace_plot


class _Draws:
    """What trace_plot reads of a fit: ``idata`` and its ``posterior`` group."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        s = 10 ** rng.uniform(-2, 1, size=3)
        self.idata = az.from_dict(posterior={
            "mu": rng.normal(0, s[0], (1, 2000)),
            "tau": np.abs(rng.normal(0, s[1], (1, 2000))),
            "theta_new": rng.standard_t(3, (1, 2000)) * s[2],
        })
        self.posterior = self.idata.posterior


# draws whose tick labels collided (32, 156: '-0.100' over '-0.075') or left the figure (117, 118: the
# first label of a density panel after the axes shrank) with a single tight_layout; and a few others
@pytest.mark.parametrize("seed", [32, 117, 118, 156, 0, 1, 2])
def test_trace_plot_readable_at_any_scale(seed):
    assert_readable(trace_plot(_Draws(seed)), f"trace, draws {seed}")


def _crowded() -> Figure:
    fig = Figure(figsize=(5.0, 2.0))  # nine ticks on -0.1 .. 0.1, each label six characters wide
    ax = fig.subplots()
    ax.plot([-0.1, 0.1], [0, 1])
    return fig


def test_crowded_labels_are_thinned_and_kept_in_view():
    fig = _crowded()
    fig.tight_layout()
    with pytest.raises(AssertionError):  # what one tight_layout leaves: labels on top of each other
        assert_readable(fig, "one tight_layout")
    fig = _crowded()
    settle_layout(fig)
    assert_readable(fig, "settled")
    lo, hi = fig.axes[0].get_xlim()
    assert sum(lo <= t <= hi for t in fig.axes[0].get_xticks()) >= 3  # thinned, not emptied


def test_fixed_ticks_are_left_alone():
    fig = Figure(figsize=(3.0, 2.0))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_yticks([0.0, 0.5, 1.0], ["a", "b", "c"])
    settle_layout(fig)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
