"""Funnel plot of a frequentist fit (and trim-and-fill)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from ._common import MEASURE_LABELS, _new_figure, _z


def funnel_plot(
    result: Any,
    *,
    level: float = 0.95,
    measure: str | None = None,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.0, 5.0),
) -> "Figure":
    """Funnel plot: each effect against its standard error (metafor's ``funnel``).

    The y axis is the standard error, inverted so the most precise studies sit at
    the top; the white triangle is the pseudo confidence region
    ``estimate ± z sqrt(se² + tau²)`` around the pooled estimate, so in the absence
    of small-study effects about ``level`` of the studies fall inside it.

    Parameters
    ----------
    result : RMAResult or TrimFillResult
        A fit of :func:`bayesma.rma` (intercept-only) or :func:`bayesma.trimfill`;
        for trim-and-fill the imputed studies are drawn as open circles and the
        region is centred on the adjusted estimate.
    level : float
        Level of the pseudo confidence region.
    measure : str, optional
        Effect measure, for the x-axis label.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    >>> fig = funnel_plot(res)
    """
    fit = getattr(result, "fit", result)
    if fit.p != 1:
        raise ValueError("funnel_plot needs an intercept-only model (no moderators)")
    k0 = int(getattr(result, "k0", 0) or 0)
    yi, se = np.asarray(fit.data.yi, float), np.sqrt(np.asarray(fit.data.vi, float))
    filled = np.zeros(yi.shape[0], dtype=bool)
    if k0:
        filled[-k0:] = True
    if ax is None:
        fig = _new_figure(figsize)
        ax = fig.add_subplot(1, 1, 1)
        fig.subplots_adjust(bottom=0.2 if k0 else 0.12)
    else:
        fig = ax.figure
    center, tau2 = float(fit.beta[0]), float(fit.tau2)
    z = _z(level)
    se_max = float(se.max()) * 1.05
    grid = np.linspace(0.0, se_max, 100)
    half = z * np.sqrt(grid**2 + tau2)
    ax.set_facecolor("#e8e8e8")
    ax.fill_betweenx(grid, center - half, center + half, color="white", zorder=0)
    ax.plot(center - half, grid, color="0.4", lw=0.8, ls="--")
    ax.plot(center + half, grid, color="0.4", lw=0.8, ls="--")
    ax.axvline(center, color="0.2", lw=1.0)
    ax.scatter(yi[~filled], se[~filled], s=28, color="black", zorder=3, label="observed")
    if k0:
        ax.scatter(yi[filled], se[filled], s=28, facecolor="white", edgecolor="black", zorder=3,
                   label=f"filled (trim and fill, k0 = {k0})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False, fontsize=8)
    ax.set_ylim(se_max, 0.0)
    span = max(np.max(np.abs(yi - center)), z * np.sqrt(se_max**2 + tau2)) * 1.1
    ax.set_xlim(center - span, center + span)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(MEASURE_LABELS.get(measure or "", "Observed effect"))
    return fig
