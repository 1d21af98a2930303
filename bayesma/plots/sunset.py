"""Sunset (power-enhanced) funnel plot: a funnel whose background is shaded by the power
of a study at that standard error to detect the true effect (metaviz's ``viz_sunset``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from ._common import _new_figure

_BANDS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 1.0)


def sunset_plot(values: Any, *, ax: Axes | None = None, xlabel: str = "Effect size",
                figsize: tuple[float, float] = (7.5, 5.0)) -> Figure:
    """Draw a sunset funnel plot from :func:`bayesma.sunset_values`.

    Parameters
    ----------
    values : SunsetData
        The result of :func:`bayesma.sunset_values` (duck-typed: ``yi``, ``sei``,
        ``se_grid``, ``power_grid``, ``true_effect``, ``alpha``, ``median_power``,
        ``r_index``, ``success_rate``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure otherwise.
    xlabel : str
        Label of the x axis.
    figsize : tuple of float
        Size of a new figure, in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> fig = bm.sunset_values("yi", "vi", data=es).plot()
    >>> fig.axes[0].get_ylabel()
    'Standard error'
    """
    from matplotlib import colormaps

    if ax is None:
        fig = _new_figure(figsize)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    se_max = float(values.se_grid[-1])
    span = max(np.max(np.abs(values.yi)), 1.96 * se_max) * 1.1
    cmap = colormaps["YlOrRd_r"]
    from matplotlib.colors import BoundaryNorm
    from matplotlib.patches import Patch

    edges = np.concatenate([[0.0], (values.se_grid[1:] + values.se_grid[:-1]) / 2, [se_max]])
    norm = BoundaryNorm(_BANDS, cmap.N)
    ax.pcolormesh([-span, span], edges, values.power_grid[:, None], cmap=cmap, norm=norm, alpha=0.55,
                  shading="flat")
    handles = [Patch(color=cmap(norm((lo + hi) / 2)), alpha=0.55, label=f"power {lo:.0%}-{hi:.0%}")
               for lo, hi in zip(_BANDS[:-1], _BANDS[1:], strict=True)]
    z = 1.959963984540054
    ax.plot([0, z * se_max], [0, se_max], color="0.3", lw=0.8, ls="--")
    ax.plot([0, -z * se_max], [0, se_max], color="0.3", lw=0.8, ls="--")
    ax.axvline(values.true_effect, color="black", lw=1)
    ax.scatter(values.yi, values.sei, s=22, color="black", zorder=3)
    ax.set_xlim(-span, span)
    ax.set_ylim(se_max, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    ax.set_title(f"Power to detect {values.true_effect:.3g} (alpha = {values.alpha:g}): median "
                 f"{values.median_power:.0%}, R-index {values.r_index:.0%}", fontsize=9)
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    fig.subplots_adjust(right=0.75)
    return fig
