"""Plots of a robust Bayesian meta-analysis (RoBMA): the model-averaged mu and the weight function.

The result (:class:`bayesma.bias.result.RoBMAResult`) computes the curves; these functions only
draw them. Every text sits outside the plotting area (legend below the axes) or on a tick, so
no curve crosses a label and no two labels collide, whatever the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from ._common import _new_figure

__all__ = ["robma_mu_plot", "weightfunction_plot"]


def _legend_below(ax: Axes, ncol: int) -> None:
    """The legend under the axes (below the x label), never over a curve."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False, fontsize=8)


def robma_mu_plot(grid: Any, prior: Any, posterior: Any, *, p_spike: float | None = None,
                  p_spike_prior: float = 0.5, xlabel: str = "mu (Cohen's d)", title: str | None = None,
                  ax: Axes | None = None) -> Figure:
    """Prior and posterior density of mu; the point masses at 0 as arrows on a probability axis.

    Parameters
    ----------
    grid : array_like, shape (n,)
        Values of mu.
    prior, posterior : array_like, shape (n,)
        Densities on *grid* of the continuous parts (each scaled by its probability of an effect).
    p_spike : float, optional
        Posterior probability of mu = 0 (the null models); None draws no spikes (conditional plot).
    p_spike_prior : float
        Prior probability of mu = 0.
    xlabel, title : str, optional
        Axis label and title.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from bayesma.plots.robma import robma_mu_plot
    >>> x = np.linspace(-1, 1, 201)
    >>> fig = robma_mu_plot(x, 0.5 * np.exp(-x**2 / 2) / 2.5, 0.6 * np.exp(-(x - 0.3)**2 / 0.02) / 0.35, p_spike=0.4)
    """
    from matplotlib.lines import Line2D

    if ax is None:
        fig = _new_figure((6.5, 4.6))
        ax = fig.add_axes((0.11, 0.3, 0.76, 0.62))
    fig = ax.figure
    grid = np.asarray(grid, dtype=float)
    ax.plot(grid, prior, ls="--", color="grey", label="prior (effect models)")
    ax.plot(grid, posterior, color="black", label="posterior (effect models)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    if p_spike is not None:
        ax2 = ax.twinx()
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("probability of mu = 0")
        dx = 0.01 * (grid[-1] - grid[0])
        ax2.annotate("", xy=(-dx, p_spike), xytext=(-dx, 0),
                     arrowprops={"arrowstyle": "-|>", "lw": 2, "color": "black"})
        ax2.annotate("", xy=(dx, p_spike_prior), xytext=(dx, 0),
                     arrowprops={"arrowstyle": "-|>", "lw": 1.5, "ls": "--", "color": "grey"})
        handles += [Line2D([], [], color="grey", ls="--", lw=1.5, marker="^", ms=5),
                    Line2D([], [], color="black", lw=2, marker="^", ms=5)]
        labels += [f"prior P(mu = 0) = {p_spike_prior:.3g}", f"posterior P(mu = 0 | data) = {p_spike:.3f}"]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def weightfunction_plot(cutoffs: Sequence[float], mean: Any, lower: Any, upper: Any, *, level: float = 0.95,
                        title: str | None = "Model-averaged weight function", ax: Axes | None = None) -> Figure:
    """A step weight function over one-sided p-values: its mean and a pointwise interval.

    The p-value intervals between the cutoffs are drawn with equal widths (as RoBMA's
    ``plot(..., rescale_x = TRUE)``), so the cutoffs' labels never collide, however close
    the cutoffs (0.95, 0.975, 1).

    Parameters
    ----------
    cutoffs : sequence of float, shape (m + 1,)
        The interval edges from 0 to 1.
    mean, lower, upper : array_like, shape (m,)
        The relative publication probability in each interval, and its interval bounds.
    level : float
        Probability of the interval (legend).
    title : str, optional
        Title.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from bayesma.plots.robma import weightfunction_plot
    >>> fig = weightfunction_plot([0, 0.025, 0.05, 0.5, 0.95, 0.975, 1], [1, 0.8, 0.7, 0.6, 0.6, 0.6],
    ...                           [1, 0.5, 0.3, 0.2, 0.2, 0.2], [1, 1, 1, 1, 1, 1])
    """
    if ax is None:
        fig = _new_figure((6.5, 4.4))
        ax = fig.add_axes((0.11, 0.3, 0.84, 0.6))
    fig = ax.figure
    edges = np.asarray(cutoffs, dtype=float)
    x = np.arange(len(edges), dtype=float)
    pct = f"{int(round(level * 100))}% interval"
    for vals, style, label in ((mean, {"color": "black"}, "mean"), (lower, {"color": "grey", "ls": "--"}, pct),
                               (upper, {"color": "grey", "ls": "--"}, None)):
        v = np.asarray(vals, dtype=float)
        ax.step(x, np.append(v, v[-1]), where="post", label=label, **style)
    ax.set_xlim(0, x[-1])
    ax.set_xticks(x)
    ax.set_xticklabels([f"{e:g}" for e in edges], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("one-sided p-value (intervals between cutoffs drawn with equal width)")
    ax.set_ylabel("relative publication probability")
    _legend_below(ax, 2)
    if title:
        ax.set_title(title)
    return fig
