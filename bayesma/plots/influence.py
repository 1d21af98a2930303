"""Plots of the frequentist case-deletion diagnostics: metafor's ``plot(influence(res))``,
``baujat(res)`` and the forest-style plots of ``leave1out`` / ``cumul``.

The functions take the results of :mod:`bayesma.frequentist.influence` (duck-typed: an
object with ``table``, ``dfbetas``, ``k``, ``p``, ``m``, ``tau2``, ``QE``; or ``kind``,
``table``, ``full``, ``level``) or the Baujat coordinates already computed
(:func:`bayesma.baujat` computes them, then draws with :func:`baujat_plot`) and return
matplotlib Figures built without pyplot. They compute nothing of the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from ._common import _new_figure, back_tick_formatter
from ._forest_layout import fmt_ci
from ._layout import settle_layout

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["baujat_plot", "influence_plot", "steps_plot"]

_PANELS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight")


def _reference_lines(inf: Any, name: str) -> list[tuple[float, str]]:
    """metafor's dashed (reference) and dotted (cut-off) lines of each panel."""
    k, p, m = inf.k, inf.p, inf.m
    if name == "rstudent":
        z = float(stats.norm.ppf(0.975))
        return [(0.0, "--"), (-z, ":"), (z, ":")]
    if name == "dffits":
        cut = 3 * np.sqrt(p / (k - p)) if k > p else np.nan
        return [(0.0, "--"), (cut, ":"), (-cut, ":")]
    if name == "cook_d":
        return [(float(stats.chi2.ppf(0.5, m)), ":")]
    if name == "cov_r":
        return [(1.0, "--")]
    if name == "tau2_del":
        return [(inf.tau2, "--")]
    if name == "QE_del":
        return [(inf.QE, "--")]
    if name == "hat":
        return [(p / k, "--"), (3 * p / k, ":")]
    return [(100.0 / k, "--")]


def influence_plot(inf: Any, *, dfbetas: bool = False, figsize: tuple[float, float] | None = None) -> Figure:
    """The influence diagnostics against study, as metafor's ``plot(influence(res))``.

    Eight panels (rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight) with
    metafor's reference lines (dashed) and cut-offs (dotted); the studies marked as
    influential are drawn in red.

    Parameters
    ----------
    inf : InfluenceDiagnostics
        The result of :func:`bayesma.influence`.
    dfbetas : bool
        Plot the DFBETAS (one panel per coefficient, cut-off ±1) instead of the eight
        diagnostics (metafor's ``plotdfbs=TRUE``).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    >>> fig = bm.influence_plot(bm.influence(res))
    >>> len(fig.axes)
    8
    """
    table = inf.table
    labels = [str(s) for s in table.index]
    x = np.arange(1, len(labels) + 1)
    infl = np.asarray(inf.is_infl, dtype=bool)
    if dfbetas:
        names = list(inf.dfbetas.columns)
        ncol = min(len(names), 3)
        nrow = int(np.ceil(len(names) / ncol))
        fig = _new_figure(figsize or (4.0 * ncol, 3.0 * nrow))
        panels = [(n, inf.dfbetas[n].to_numpy(float), [(0.0, "--"), (1.0, ":"), (-1.0, ":")]) for n in names]
    else:
        nrow, ncol = 2, 4
        fig = _new_figure(figsize or (14.0, 6.0))
        panels = [(n, table[n].to_numpy(float), _reference_lines(inf, n)) for n in _PANELS]
    for j, (name, y, lines) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, j + 1)
        for h, style in lines:
            if np.isfinite(h):
                ax.axhline(h, linestyle=style, color="0.4", linewidth=0.8)
        ax.plot(x, y, color="0.3", linewidth=0.8)
        ax.scatter(x[~infl], y[~infl], color="black", s=14, zorder=3)
        ax.scatter(x[infl], y[infl], color="red", s=22, zorder=4)
        if name == "cov_r" and np.nanmin(y) > 0:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(name)
        panel_in = fig.get_figwidth() / ncol - 0.5
        if len(labels) * 0.13 <= panel_in:  # the labels fit (rotated, 7 pt each)
            ax.set_xticks(x)
            ax.set_xticklabels(labels, rotation=90, fontsize=7)
        else:  # too many studies to name: study numbers, as metafor
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            ax.tick_params(axis="x", labelsize=7)
            ax.set_xlabel("study", fontsize=7)
    settle_layout(fig)
    return fig


def baujat_plot(values: Any, *, fe: bool, mods: bool, ax: Axes | None = None,
                figsize: tuple[float, float] = (6.0, 5.0)) -> Figure:
    """Draw a Baujat plot from its coordinates (the drawing half of :func:`bayesma.baujat`).

    Parameters
    ----------
    values : pandas.DataFrame
        :func:`bayesma.baujat_values`: one row per study (index: label), columns ``x``
        (contribution to the heterogeneity) and ``y`` (influence on the fitted value).
    fe : bool
        The fit is an equal-effects model (metafor's x-axis label then names the heterogeneity).
    mods : bool
        The fit has moderators (the axis labels say "residual" and "fitted value").
    ax : matplotlib Axes, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> values = pd.DataFrame({"x": [0.2, 1.5, 0.4], "y": [0.01, 0.3, 0.05]}, index=["A", "B", "C"])
    >>> fig = baujat_plot(values, fe=False, mods=False)
    """
    if ax is None:
        fig = _new_figure(figsize)
        ax = fig.add_subplot(1, 1, 1)
        fig.subplots_adjust(left=0.13, bottom=0.11, right=0.96, top=0.96)
    else:
        fig = ax.figure
    x, y = values["x"].to_numpy(float), values["y"].to_numpy(float)
    ax.scatter(x, y, s=9, color="0.45", zorder=2)
    ax.grid(color="lightgray", linewidth=0.5)
    ax.set_xlabel(("Contribution to Residual Heterogeneity" if mods else "Contribution to Overall Heterogeneity")
                  if fe else "Squared Pearson Residual")
    ax.set_ylabel("Influence on Fitted Value" if mods else "Influence on Overall Result")
    ax.margins(0.08)
    _label_points(ax, x, y, [str(lab) for lab in values.index])
    return fig


def _label_points(ax: Axes, x: np.ndarray, y: np.ndarray, labels: list[str]) -> None:
    """Label the points, the most extreme (top right) first, at the first of four corners where the
    label overlaps no label already drawn and stays inside the axes; else the point keeps no label
    (it stays, as a grey dot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.figure
    ax.autoscale_view()
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    fbox = ax.get_window_extent(renderer)  # inside the axes: clear of the tick labels
    sx = np.nanmax(np.abs(x)) or 1.0
    sy = np.nanmax(np.abs(y)) or 1.0
    placed = []
    xmid = np.mean(ax.get_xlim())
    for i in np.argsort(-(x / sx + y / sy), kind="stable"):
        side = -1 if x[i] > xmid else 1  # text towards the middle first
        for dx, dy in ((side, 1), (side, -1), (-side, 1), (-side, -1)):
            t = ax.annotate(labels[i], (x[i], y[i]), xytext=(3 * dx, 3 * dy), textcoords="offset points",
                            ha="left" if dx > 0 else "right", va="bottom" if dy > 0 else "top", fontsize=8)
            b = t.get_window_extent(renderer)
            off = b.x0 < fbox.x0 or b.x1 > fbox.x1 or b.y0 < fbox.y0 or b.y1 > fbox.y1
            if off or any(min(b.x1, p.x1) - max(b.x0, p.x0) > 0 and min(b.y1, p.y1) - max(b.y0, p.y0) > 0
                          for p in placed):
                t.remove()
            else:
                placed.append(b)
                break


def steps_plot(steps: Any, *, ax: Axes | None = None, xlabel: str | None = None,
               atransf: Callable[[float], float] | None = None,
               figsize: tuple[float, float] | None = None) -> Figure:
    """Forest-style plot of a frequentist leave-one-out or cumulative analysis (metafor's
    ``forest(leave1out(res))`` / ``forest(cumul(res))``).

    One row per step: the estimate with its confidence interval; the vertical line marks
    the estimate of the full fit.

    Parameters
    ----------
    steps : StepResult
        The result of :func:`bayesma.leave1out` or :func:`bayesma.cumul` (transformed
        values are plotted as they are).
    ax : matplotlib Axes, optional
    xlabel : str, optional
    atransf : callable, optional
        Label the axis on a transformed scale (metafor's ``atransf``, e.g. ``numpy.exp``
        to read log odds ratios as odds ratios); the positions stay on the scale of the
        analysis, and the interval text is transformed too.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    >>> fig = bm.steps_plot(bm.cumul(res))
    """
    t = steps.table
    n = len(t)
    if ax is None:
        fig = _new_figure(figsize or (6.5, 0.35 * n + 1.5))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    y = np.arange(n)[::-1]
    est, lb, ub = (t[c].to_numpy(float) for c in ("estimate", "ci_lb", "ci_ub"))
    ax.hlines(y, lb, ub, color="black", linewidth=1)
    ax.scatter(est, y, marker="s", color="black", s=18, zorder=3)
    if steps.full is not None:
        ax.axvline(steps.full[0], color="0.5", linestyle="--", linewidth=0.8)
    prefix = "- " if steps.kind == "leave1out" else "+ "
    ax.set_yticks(y)
    ax.set_yticklabels([prefix + str(s) for s in t.index], fontsize=8)
    pct = int(round(100 * steps.level))
    ax.set_xlabel(xlabel or f"Estimate ({pct}% CI)")
    ax.set_title("Leave-one-out (frequentist)" if steps.kind == "leave1out" else "Cumulative (frequentist)")
    if atransf is not None:
        ax.xaxis.set_major_formatter(back_tick_formatter(atransf))
    for yy, e, lo, hi in zip(y, est, lb, ub):
        if not np.isnan(e):  # transformed already (transf=) or here (atransf=): huge is 1.9e+111, overflow > 1e308
            ax.annotate(fmt_ci(e, lo, hi, 2, atransf, back=steps.transf is not None), (1.01, yy),
                        xycoords=("axes fraction", "data"), va="center", fontsize=7)
    settle_layout(fig)
    return fig
