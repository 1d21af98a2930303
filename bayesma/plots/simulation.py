"""Coverage and interval width of a small-k simulation, per method, for one k or many."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from ._common import _new_figure

__all__ = ["simulation_plot"]


def simulation_plot(
    result: Any,
    *,
    bayes: Sequence[str] | None = None,
    level: float | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Coverage and mean width of the intervals for mu, per method, k and tau.

    Two rows of panels (coverage; mean interval width), one column per true tau. The
    numbers of studies k are equally spaced categories on the x axis, and the methods sit
    side by side within each k (dodged), so one k reads as a dot plot and many k as lines
    per method. Coverage carries its Monte Carlo error bars (± 2 binomial SE); the nominal
    level is a line with the ± 2 SE band of a method with exact coverage. Bayesian methods
    are circles with solid lines, frequentist ones squares with dashed lines.

    Parameters
    ----------
    result : SimulationResult or DataFrame
        A :func:`bayesma.small_k_simulation` result (``table`` indexed by k, tau, method with
        ``n_sim``, ``coverage_mu``, ``width_mu``; ``settings`` with ``level`` and ``bayes``),
        or such a table.
    bayes : sequence of str, optional
        Names of the Bayesian methods (default: from the result's settings).
    level : float, optional
        Nominal level (default: the result's, else 0.95).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> sim = bm.small_k_simulation(k=[3], tau=[0.0, 0.3], n_sim=50, seed=1)
    >>> fig = sim.plot()
    >>> len(fig.axes)
    4
    """
    from matplotlib.lines import Line2D

    table = getattr(result, "table", result)
    settings = getattr(result, "settings", {}) or {}
    level = float(level if level is not None else settings.get("level", 0.95))
    bayes = list(bayes if bayes is not None else settings.get("bayes", []))
    t = table.reset_index()
    ks = sorted(int(v) for v in t["k"].unique())
    taus = sorted(float(v) for v in t["tau"].unique())
    methods = list(dict.fromkeys(t["method"]))
    nm = len(methods)
    dodge = 0.7 / max(nm, 1)
    offsets = {m: (i - (nm - 1) / 2) * dodge for i, m in enumerate(methods)}
    kpos = {k: j for j, k in enumerate(ks)}

    panel_w = min(4.0, max(2.4, 1.0 + 0.12 * len(ks) * nm))
    w = figsize[0] if figsize else max(4.6, panel_w * len(taus) + 1.0)
    h = figsize[1] if figsize else 5.6
    fig = _new_figure((w, h))
    ncol = max(1, min(nm + 1, int(w // 2.0)))
    n_leg_rows = math.ceil((nm + 1) / ncol)
    bottom = (0.1 + 0.2 * n_leg_rows) / h
    axes = fig.subplots(2, len(taus), squeeze=False, sharex=True)
    fig.subplots_adjust(left=0.8 / w + 0.04, right=1 - 0.15 / w, top=1 - 0.75 / h, bottom=bottom + 0.45 / h,
                        hspace=0.12, wspace=0.28)

    cov_lo = min(level - 0.1, float(np.nanmin(t["coverage_mu"])) - 0.03)
    for j, tau in enumerate(taus):
        sub = t[np.isclose(t["tau"].astype(float), tau)]
        ac, aw = axes[0, j], axes[1, j]
        n = int(sub["n_sim"].max())
        band = 2 * math.sqrt(level * (1 - level) / n)
        ac.axhspan(level - band, level + band, color="0.9", zorder=0, lw=0)
        ac.axhline(level, color="0.3", lw=0.9, zorder=1)
        for i, m in enumerate(methods):
            d = sub[sub["method"] == m].sort_values("k")
            x = np.array([kpos[int(k)] for k in d["k"]]) + offsets[m]
            cov = d["coverage_mu"].to_numpy(float)
            se = np.sqrt(np.clip(cov * (1 - cov), 1e-12, None) / d["n_sim"].to_numpy(float))
            is_b = m in bayes
            style = dict(color=f"C{i % 10}", marker="o" if is_b else "s", ms=4.5, ls="-" if is_b else "--", lw=1.0)
            yerr = np.vstack([np.minimum(2 * se, cov), np.minimum(2 * se, 1 - cov)])
            ac.errorbar(x, cov, yerr=yerr, capsize=0, elinewidth=0.8, **style)
            aw.plot(x, d["width_mu"].to_numpy(float), **style)
        ac.set_title(f"\u03c4 = {tau:g}", fontsize=9)
        ac.set_ylim(cov_lo, 1.005)
        widths = sub["width_mu"].to_numpy(float)
        widths = widths[np.isfinite(widths) & (widths > 0)]
        if widths.size and widths.max() / widths.min() > 8:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            aw.set_yscale("log")
            aw.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            aw.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
            aw.yaxis.set_minor_formatter(NullFormatter())
        else:
            aw.set_ylim(0, 1.08 * (widths.max() if widths.size else 1.0))
        aw.set_xticks(range(len(ks)))
        aw.set_xticklabels([str(k) for k in ks])
        aw.set_xlim(-0.5, len(ks) - 0.5)
        aw.set_xlabel("k (number of studies)", fontsize=9)
        for a in (ac, aw):
            a.tick_params(labelsize=8)
            a.grid(axis="y", color="0.92", lw=0.6, zorder=0)
    axes[0, 0].set_ylabel(f"Coverage of {level:.0%} interval", fontsize=9)
    axes[1, 0].set_ylabel("Mean interval width", fontsize=9)
    handles = [Line2D([], [], color=f"C{i % 10}", marker="o" if m in bayes else "s", ls="-" if m in bayes else "--",
                      label=m + (" (Bayes)" if m in bayes else "")) for i, m in enumerate(methods)]
    handles.append(Line2D([], [], color="0.3", lw=0.9, label=f"nominal {level:.0%} (band: \u00b1 2 MC SE)"))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.02), ncol=ncol, fontsize=8,
               frameon=False)
    n_sim = settings.get("n_sim", int(t["n_sim"].max()))
    fig.suptitle(f"Intervals for \u03bc in the small-k simulation\n({n_sim} meta-analyses per cell)",
                 fontsize=10, y=1 - 0.06 / h, va="top")
    return fig
