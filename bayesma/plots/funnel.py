"""Funnel plot of a frequentist fit (and trim-and-fill)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from bayesma.errors import InputError

from ._common import _new_figure, _z, back_tick_formatter, measure_of, title_of
from ._forest_layout import axis_label


def funnel_plot(
    result: Any,
    *,
    level: float = 0.95,
    contours: Sequence[float] | None = None,
    addtau2: bool = False,
    refline: float | None = None,
    measure: str | None = None,
    legend: bool | None = None,
    atransf: Any = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.0, 5.0),
    title: str | None = None,
) -> Figure:
    """Funnel plot: each effect against its standard error (metafor's ``funnel``).

    The y axis is the standard error, inverted so the most precise studies sit at
    the top. By default the white triangle is the pseudo confidence region
    ``refline ± z se`` around the pooled estimate (metafor's default, ``addtau2=False``),
    so without small-study effects and heterogeneity about ``level`` of the studies
    fall inside it. With *contours* the plot is contour-enhanced (Peters et al. 2008):
    the regions are centred at 0 and shaded by the two-sided p-value a study at that
    point would have, so one sees whether missing studies would sit in areas of
    non-significance (suggesting publication bias) or of significance (suggesting
    another cause of asymmetry).

    Parameters
    ----------
    result : RMAResult or TrimFillResult
        A fit of :func:`bayesma.rma` (intercept-only) or :func:`bayesma.trimfill`;
        for trim-and-fill the imputed studies are drawn as open circles and the
        region is centred on the adjusted estimate.
    level : float
        Level of the pseudo confidence region (without *contours*).
    contours : sequence of float, optional
        Levels of a contour-enhanced funnel, e.g. ``[0.90, 0.95, 0.99]`` (or 90, 95, 99):
        shaded bands for p > .10, .05 < p <= .10, .01 < p <= .05 and p <= .01.
    addtau2 : bool
        Add the estimated tau² to the sampling variance of the region(s):
        ``refline ± z sqrt(se² + tau²)`` (metafor's ``addtau2=TRUE``).
    refline : float, optional
        Centre of the region(s): the pooled estimate, or 0 with *contours*.
    measure : str, optional
        Effect measure, for the x-axis label (default: the fit's, as :func:`bayesma.escalc` records
        it in the data; with *atransf* the back-transformed quantity, e.g. "Risk ratio (log scale)").
    legend : bool, optional
        Show the legend of the contour shades (default: with *contours*).
    atransf : callable, optional
        Label the x axis on a transformed scale (metafor's ``atransf``, e.g. ``numpy.exp``
        to read log odds ratios as odds ratios); the points stay where they are.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.
    figsize : (float, float)
        Size of a new figure in inches.
    title : str, optional
        Title (default: the subset the fit was made on, e.g. ``"outcome = dropout"`` for a
        fit of :func:`bayesma.fit_many`; none for a fit of all the data).

    Returns
    -------
    matplotlib.figure.Figure
        The funnel plot.

    References
    ----------
    Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008). Contour-enhanced
    meta-analysis funnel plots help distinguish publication bias from other causes of
    asymmetry. Journal of Clinical Epidemiology 61:991-996. metafor: ``funnel``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    >>> fig = funnel_plot(res)
    >>> fig = funnel_plot(res, contours=[0.90, 0.95, 0.99])
    """
    fit = getattr(result, "fit", result)
    if fit.p != 1:
        raise InputError("funnel_plot needs an intercept-only model (no moderators)")
    k0 = int(getattr(result, "k0", 0) or 0)
    yi, se = np.asarray(fit.data.yi, float), np.sqrt(np.asarray(fit.data.vi, float))
    filled = np.zeros(yi.shape[0], dtype=bool)
    if k0:
        filled[-k0:] = True
    levels = None
    if contours is not None:
        levels = np.sort([c / 100 if c > 1 else c for c in np.atleast_1d(np.asarray(contours, float))])
        if levels.size == 0 or np.any((levels <= 0) | (levels >= 1)):
            raise InputError(f"contours must be levels in (0, 1) or (0, 100), got {list(contours)}")
    show_legend = bool(k0) or (legend if legend is not None else levels is not None)
    if ax is None:
        fig = _new_figure(figsize)
        ax = fig.add_subplot(1, 1, 1)
        fig.subplots_adjust(bottom=(0.27 if levels is not None else 0.2) if show_legend else 0.12)
    else:
        fig = ax.figure
    estimate, tau2 = float(fit.beta[0]), float(fit.tau2) if addtau2 else 0.0
    center = (0.0 if levels is not None else estimate) if refline is None else float(refline)
    se_max = float(se.max()) * 1.05
    grid = np.linspace(0.0, se_max, 200)
    ax.set_facecolor("#e8e8e8")
    if levels is None:
        z = _z(level)
        half = z * np.sqrt(grid**2 + tau2)
        ax.fill_betweenx(grid, center - half, center + half, color="white", zorder=0)
        ax.plot(center - half, grid, color="0.4", lw=0.8, ls="--")
        ax.plot(center + half, grid, color="0.4", lw=0.8, ls="--")
        ax.axvline(center, color="0.2", lw=1.0)
        z_max = z
    else:
        import matplotlib.patches as mpatches

        # metafor's example shading: white (p > .10), dark, lighter, background (p <= .01)
        n = levels.size
        ring = ["white"] + [str(g) for g in np.linspace(0.62, 0.80, n - 1)] if n > 1 else ["white"]
        back = "0.90"
        ax.set_facecolor(back)
        edges = [_z(lv) for lv in levels]
        for j in range(n - 1, -1, -1):  # widest first, so the inner bands paint over it
            half = edges[j] * np.sqrt(grid**2 + tau2)
            ax.fill_betweenx(grid, center - half, center + half, color=ring[j], zorder=0, lw=0)
        bounds = [1.0] + list(1 - levels) + [0.0]
        handles = [mpatches.Patch(facecolor=colour, edgecolor="0.5", lw=0.5,
                                  label=f"{bounds[j + 1]:.2f} < p \u2264 {bounds[j]:.2f}")
                   for j, colour in enumerate(ring + [back])]
        ax.axvline(center, color="0.2", lw=1.0)
        ax.axvline(estimate, color="C0", lw=1.0, ls=":", label="estimate")
        z_max = edges[-1]
    ax.scatter(yi[~filled], se[~filled], s=28, color="black", zorder=3, label="observed")
    if k0:
        ax.scatter(yi[filled], se[filled], s=28, facecolor="white", edgecolor="black", zorder=3,
                   label=f"filled (trim and fill, k0 = {k0})")
    if show_legend:
        shades = handles if levels is not None and legend is not False else []
        ax.legend(handles=shades + ax.get_legend_handles_labels()[0], loc="upper center",
                  bbox_to_anchor=(0.5, -0.13), ncol=4 if shades else 2, frameon=False, fontsize=8)
    ax.set_ylim(se_max, 0.0)
    span = max(np.max(np.abs(yi - center)), z_max * np.sqrt(se_max**2 + tau2)) * 1.1
    ax.set_xlim(center - span, center + span)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(axis_label(measure_of(fit, measure), None, atransf, None))
    if atransf is not None:
        ax.xaxis.set_major_formatter(back_tick_formatter(atransf))
    title = title_of(fit, title)
    if title:
        ax.set_title(title)
    return fig
