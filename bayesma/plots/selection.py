"""The estimated selection function of a selection model (metafor's ``plot.rma.uni.selmodel``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.errors import InputError

from ._common import _new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["selection_plot"]


def _from_result(sel: Any, ci: str | bool, n: int, reps: int, seed: int | None) -> dict:
    """Grid, function and band of a fitted selection model (duck-typed SelModelResult)."""
    lo, hi = sel.pval_min, 1 - sel.pval_min
    ps = np.linspace(lo, hi, n)
    stepwise = sel.type == "stepfun"
    if stepwise:
        steps = np.asarray(sel.steps, float)
        ps = np.unique(np.concatenate([ps, steps[(steps >= lo) & (steps <= hi)]]))
    band = (None, None) if ci is False else sel.selection_band(ps, "auto" if ci is True else ci, reps, seed)
    return {"p": ps, "w": sel.selection_function(ps), "lower": band[0], "upper": band[1], "pvals": sel.pvals,
            "steps": sel.steps if stepwise else None, "k_per_interval": sel.k_per_interval if stepwise else None,
            "level": sel.level, "title": f"Selection model ({sel.type}, alternative = {sel.alternative!r})"}


def selection_plot(
    p: Any,
    w: Any = None,
    *,
    ci: str | bool = "auto",
    n: int = 1000,
    reps: int = 1000,
    seed: int | None = 1,
    lower: Any = None,
    upper: Any = None,
    pvals: Any = None,
    steps: Any = None,
    k_per_interval: Any = None,
    level: float = 0.95,
    title: str | None = None,
    xscale: str = "linear",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.5, 4.2),
) -> Figure:
    """Plot a selection function w(p): the relative likelihood that a study is published.

    Parameters
    ----------
    p : SelModelResult or array_like, shape (n,)
        A fitted :func:`bayesma.selmodel` (everything below is then taken from it), or
        one-sided p-values (sorted), the x grid.
    w : array_like, shape (n,)
        The selection function at *p* (arrays only).
    ci : {"auto", "wald", "boot"} or bool
        Band of a fitted model: Wald (w at the bounds of delta; step functions and
        one-parameter types), parametric bootstrap of delta (*reps* draws, *seed*), or
        none (``False``); "auto" takes Wald where it exists, as metafor's ``ci="wald"``.
    n : int
        Grid size for a fitted model.
    reps : int
        Parametric bootstrap draws of the selection parameters for the band (``ci="boot"``).
    seed : int, optional
        Seed of the bootstrap (the same seed gives the same band).
    lower, upper : array_like, shape (n,), optional
        A pointwise confidence band, drawn shaded.
    pvals : array_like, optional
        The studies' one-sided p-values, drawn as a rug along the bottom.
    steps : array_like, optional
        Cut points of a step function: w is drawn as steps (constant on
        ``(steps[j-1], steps[j]]``) and the cut points as dotted lines.
    k_per_interval : array_like, optional
        Studies per interval of a step function, written above each interval.
    level : float
        Level of the band, for the legend.
    title : str, optional
        Title of the figure.
    xscale : {"linear", "log"}
        "log" spreads the small p-values (cut points such as 0.025 and 0.05); the axis
        starts at 1e-4 at the lowest and smaller p-values are drawn at its left end.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.
    figsize : (float, float)
        Size of a new figure in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The estimated selection function with its band.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.linspace(0.001, 0.999, 50)
    >>> fig = selection_plot(p, np.exp(-2 * p), pvals=[0.01, 0.2, 0.6])
    """
    if hasattr(p, "selection_function"):
        spec = _from_result(p, ci, n, reps, seed)
        if title is None:
            title = spec["title"]
        p, w, lower, upper = spec["p"], spec["w"], spec["lower"], spec["upper"]
        pvals, steps, k_per_interval, level = spec["pvals"], spec["steps"], spec["k_per_interval"], spec["level"]
    if w is None:
        raise InputError("selection_plot needs w (the selection function at p) or a fitted selection model")
    p = np.asarray(p, float)
    w = np.asarray(w, float)
    if p.shape != w.shape:
        raise InputError(f"p and w must have the same shape, got {p.shape} and {w.shape}")
    if xscale == "log":
        p, w, lower, upper = _on_log_axis(p, w, lower, upper, pvals, steps)
    own = ax is None
    if ax is None:
        fig = _new_figure(figsize)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    stepwise = steps is not None
    draw = {"drawstyle": "steps-pre"} if stepwise else {}
    ymax = float(np.nanmax(w[np.isfinite(w)])) if np.any(np.isfinite(w)) else 1.0
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, float), np.asarray(upper, float)
        if np.any(np.isfinite(hi)):
            ax.fill_between(p, np.maximum(lo, 0), hi, step="pre" if stepwise else None, color="C0", alpha=0.2,
                            lw=0, label=f"{100 * level:g}% CI")
            ymax = max(ymax, float(np.nanmax(hi[np.isfinite(hi)])))
    ax.plot(p, np.maximum(w, 0), color="C0", lw=2, label="estimate", **draw)
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--", zorder=0)
    if stepwise:
        cuts = np.asarray(steps, float)
        for s in cuts[:-1]:
            ax.axvline(s, color="0.6", lw=0.8, ls=":", zorder=0)
        if k_per_interval is not None:
            _label_intervals(ax, p, cuts, k_per_interval, xscale)
    if pvals is not None:
        pv = np.asarray(pvals, float)
        if xscale == "log":  # smaller p-values at the left end of the axis
            pv = np.maximum(pv, p.min())
        ax.plot(pv, np.zeros_like(pv), "|", color="0.2", ms=10, transform=ax.get_xaxis_transform(),
                clip_on=False, label="studies' p-values")
    ax.set_xscale(xscale)
    ax.set_xlim(0 if xscale == "linear" else p.min(), 1)
    ax.set_ylim(0, ymax * 1.08 if np.isfinite(ymax) and ymax > 0 else 1.0)
    ax.set_xlabel("one-sided p-value")
    ax.set_ylabel("relative likelihood of selection")
    if title:
        ax.set_title(title, fontsize=10, pad=14 if k_per_interval is not None else 6)
    if own:  # the legend below the axes, never over the curve
        n_items = len(ax.get_legend_handles_labels()[1])
        ncol = 2 if n_items > 1 else 1
        height = fig.get_figheight()
        fig.subplots_adjust(bottom=(0.65 + 0.2 * int(np.ceil(n_items / ncol))) / height,
                            top=1 - (0.55 if title else 0.35) / height)
        axes_h = height * (fig.subplotpars.top - fig.subplotpars.bottom)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.55 / axes_h),
                  ncol=ncol, fontsize=8, frameon=False)
    else:
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    return fig


def _on_log_axis(p: np.ndarray, w: np.ndarray, lower: Any, upper: Any, pvals: Any,
                 steps: Any) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """The curve without p = 0 (no place on a log axis); a step function extended to the left
    end of the axis, where it is constant."""
    keep = p > 0
    p, w = p[keep], w[keep]
    lower = None if lower is None else np.asarray(lower, float)[keep]
    upper = None if upper is None else np.asarray(upper, float)[keep]
    pv = np.asarray(pvals if pvals is not None else [], float)
    first = max(min(p.min(), pv[pv > 0].min() if np.any(pv > 0) else p.min()) / 1.5, 1e-4)
    if steps is not None and first < p.min():  # a step function is constant down to 0
        p, w = np.concatenate([[first], p]), np.concatenate([[w[0]], w])
        lower = None if lower is None else np.concatenate([[lower[0]], lower])
        upper = None if upper is None else np.concatenate([[upper[0]], upper])
    return p, w, lower, upper


def _label_intervals(ax: Axes, p: np.ndarray, cuts: np.ndarray, k_per_interval: Any, xscale: str) -> None:
    """The number of studies above each p-value interval (one line above the plot when they are narrow)."""
    ks = [int(k) for k in np.asarray(k_per_interval)]
    left = np.concatenate([[p.min() if xscale == "log" else 0.0], cuts[:-1]])
    if xscale == "log":
        widths = np.log10(cuts) - np.log10(np.maximum(left, p.min()))
        span = np.log10(cuts[-1]) - np.log10(p.min())
    else:
        widths, span = cuts - left, 1.0
    if np.all(widths / span >= 0.08):
        for a, b, k in zip(left, cuts, ks):
            mid = np.sqrt(max(a, p.min()) * b) if xscale == "log" else (a + b) / 2
            ax.text(mid, 1.0, f"k={k}", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    fontsize=8, color="0.3", clip_on=False)
    else:  # intervals too narrow to label: one line above the plot
        ax.text(0.0, 1.0, "studies per interval: " + " | ".join(str(k) for k in ks),
                transform=ax.transAxes, ha="left", va="bottom", fontsize=8, color="0.3")
