"""Trace plots (bayesma.plots.trace) of the smoke NUTS fits: one row per parameter, a density
and a trace panel in each."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from bayesma.plots.trace import trace_plot


def _titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_default_parameters_of_a_random_effects_fit(smoke_post):
    fig = smoke_post.plot_trace()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3 * 2  # mu, tau, theta_new: density and trace
    titles = _titles(fig)
    assert titles[0::2] == ["mu", "tau", "theta_new"] and titles[1::2] == ["mu", "tau", "theta_new"]
    # the trace panel of mu: one line per chain, 100 draws each
    lines = fig.axes[1].get_lines()
    assert len(lines) >= 2 and all(len(line.get_xdata()) == 100 for line in lines[:2])
    assert fig.get_size_inches() == pytest.approx((9.0, 2.0 * 3 + 0.5))
    plt.close(fig)


def test_regression_shows_beta_not_mu(smoke_post_regression):
    fig = trace_plot(smoke_post_regression)
    titles = _titles(fig)
    assert not any(t == "mu" for t in titles)
    assert any(t.startswith("beta") for t in titles) and any(t.startswith("tau") for t in titles)
    plt.close(fig)


def test_chosen_parameters_and_size(smoke_post_three_level):
    fig = smoke_post_three_level.plot_trace(var_names=["tau", "tau_within"], figsize=(6, 4))
    assert len(fig.axes) == 4 and _titles(fig)[0::2] == ["tau", "tau_within"]
    assert fig.get_size_inches() == pytest.approx((6, 4))
    plt.close(fig)
