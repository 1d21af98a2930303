"""The posterior predictive check plot: observed effects against replicated ones, standardized by SE.

Draws arrays computed elsewhere (:meth:`bayesma.MetaPosterior.ppc`); computes only quantiles for
display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.plots._common import _new_figure
from bayesma.plots._layout import settle_layout

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ppc_plot"]


def ppc_plot(z_obs: Any, z_rep: Any, labels: Sequence[Any], *, p_values: Any = None, title: str | None = None,
             ax: Axes | None = None, figsize: tuple[float, float] | None = None) -> Figure:
    """Each study's observed ``yi / sei`` against its replicated values ``y_rep / sei``.

    Parameters
    ----------
    z_obs : array_like, shape (k,)
        Observed effects divided by their standard errors.
    z_rep : array_like, shape (draws, k)
        Replicated effects divided by the same standard errors.
    labels : sequence, length k
        Study labels (one row each, first at the top).
    p_values : array_like, shape (k,), optional
        ``P(y_rep >= y)`` per study; studies below 0.025 or above 0.975 are drawn in red and
        their value printed.
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes.
    figsize : (float, float), optional
        Size of a new figure (default: grows with k).

    Returns
    -------
    matplotlib.figure.Figure
        Grey bars: the replicated 95% interval, a tick at its median; dots: the observed values.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesma.plots.ppc import ppc_plot
    >>> rng = np.random.default_rng(1)
    >>> fig = ppc_plot([1.0, 2.5], rng.normal([1, 1], 1, size=(500, 2)), ["A", "B"])
    >>> len(fig.axes)
    1
    """
    z_obs = np.asarray(z_obs, dtype=float)
    z_rep = np.asarray(z_rep, dtype=float)
    k = z_obs.size
    own = ax is None
    if ax is None:
        fig = _new_figure(figsize or (6.5, 1.9 + 0.32 * k))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    lo, med, hi = np.quantile(z_rep, [0.025, 0.5, 0.975], axis=0)
    rows = np.arange(k)[::-1]
    ax.hlines(rows, lo, hi, color="0.6", lw=3, label="replicated 95% interval")
    ax.plot(med, rows, "|", color="0.3", ms=10)
    extreme = np.zeros(k, dtype=bool) if p_values is None else (np.asarray(p_values) < 0.025) | (
        np.asarray(p_values) > 0.975)
    ax.plot(z_obs[~extreme], rows[~extreme], "o", color="black", label="observed")
    if extreme.any():
        ax.plot(z_obs[extreme], rows[extreme], "o", color="tab:red", label="observed, outside")
        for r, z, p in zip(rows[extreme], z_obs[extreme], np.asarray(p_values)[extreme]):
            ax.annotate(f"p = {p:.3f}", (z, r), textcoords="offset points", xytext=(6, 4), fontsize=8, color="tab:red")
    ax.set_yticks(rows)
    ax.set_yticklabels([str(v) for v in labels])
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("effect / SE (observed and replicated)")
    if title:
        ax.set_title(title, fontsize=10)
    if own:  # the legend in a fixed band (inches) under the x label, whatever the height
        height = fig.get_figheight()
        band = 0.35
        settle_layout(fig, rect=(0, band / height, 1, 1))
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", bbox_to_anchor=(0.5, 0.05 / height), ncol=3, fontsize=8,
                   frameon=False, borderaxespad=0.0)
    else:
        ax.legend(loc="best", fontsize=8, frameon=False)
    return fig
