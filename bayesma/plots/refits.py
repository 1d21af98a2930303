"""Leave-one-out and cumulative refits of a Bayesian model: one row per refit beside the full fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import _new_figure
from ._layout import settle_layout

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def refit_plot(
    panels: Sequence[tuple[Any, Any, tuple[str, str, str], str]],
    labels: Sequence[Any],
    *,
    title: str,
    prefix: str,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """One panel per summary (mu, tau, ...): each refit's centre and interval, the full fit shaded.

    Parameters
    ----------
    panels : sequence of (table, full, (centre, lower, upper), xlabel)
        ``table`` a DataFrame with one row per refit (in the order of *labels*), ``full`` the full
        fit's values (a Series), the three column names to draw and the x-axis label.
    labels : sequence
        The refits' row labels (study or cluster left out, or the last one added), top to bottom.
    title : str
        Figure title.
    prefix : str
        Put before each row label (``"without "``, ``"+ "``).
    figsize : (float, float), optional
        Default: 5 inches per panel wide, 1.2 + 0.32 inches per refit high.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(labels)
    fig = _new_figure(figsize or (5.0 * len(panels), 1.2 + 0.32 * n))
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    ypos = np.arange(n)[::-1]
    for ax, (t, full, (mid, lo, hi), xlabel) in zip(axes, panels, strict=True):
        ax.axvspan(full[lo], full[hi], color="0.9", zorder=0)
        ax.axvline(full[mid], color="0.4", lw=1, zorder=1)
        ax.hlines(ypos, t[lo], t[hi], color="C0", lw=1.5)
        ax.plot(t[mid], ypos, "s", color="C0", ms=4)
        ax.set_xlabel(xlabel)
        if mid == "mu_mean":
            ax.axvline(0.0, color="0.6", lw=0.8, ls=":")
    axes[0].set_yticks(ypos)
    axes[0].set_yticklabels([f"{prefix}{lab}" for lab in labels])
    fig.suptitle(title)
    settle_layout(fig)
    return fig
