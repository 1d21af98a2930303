"""Forest plot of dependent effects grouped by study, with pooled estimates per outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from ._common import _z
from ._forest_layout import Row, axis_label, fmt_ci, render

__all__ = ["forest_grouped"]


def forest_grouped(
    yi: Any,
    vi: Any,
    groups: Any,
    labels: Any = None,
    *,
    pooled: pd.DataFrame | None = None,
    level: float = 0.95,
    measure: str | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    digits: int = 2,
    refline: float | None = 0.0,
    xlim: tuple[float, float] | None = None,
    plot_width: float = 3.2,
    group_header: str = "Study",
) -> Figure:
    """Forest plot of several effects per study: one block per study, then the pooled rows.

    Each study is a bold header followed by its effects (labelled, e.g., by outcome) with
    their confidence intervals; below, each row of *pooled* is a diamond (its model-based
    interval) and, when it has ``rob_lb``/``rob_ub``, a bar with the cluster-robust interval.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effects and sampling variances.
    groups : array_like, shape (k,)
        The study of each effect; studies appear in order of first appearance.
    labels : array_like, shape (k,), optional
        Each effect's label within its study (default "effect 1", "effect 2", ...).
    pooled : pandas.DataFrame, optional
        One row per pooled estimate (index: its label) with columns ``estimate``, ``ci_lb``,
        ``ci_ub`` and optionally ``rob_lb``, ``rob_ub`` (e.g. CR2 bounds).
    level : float
        Confidence level of the effects' intervals.
    measure, xlabel, title : str, optional
        Effect measure (axis label), axis label, title.
    digits : int
        Decimals of the numbers shown.
    refline : float, optional
        A vertical reference line (the null effect).
    xlim : (float, float), optional
        Limits of the effect axis.
    plot_width : float
        Width of the plotting area in inches.
    group_header : str
        Header of the label column.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from bayesma.plots import forest_grouped
    >>> pooled = pd.DataFrame({"estimate": [0.2], "ci_lb": [0.1], "ci_ub": [0.3]}, index=["dropout"])
    >>> fig = forest_grouped([0.1, 0.3, 0.2], [0.01, 0.02, 0.01], ["A", "A", "B"], ["dropout", "recidivism", "dropout"],
    ...                      pooled=pooled)
    """
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    groups = pd.Series(np.asarray(groups, dtype=object)).astype(str)
    k = len(yi)
    labs = [f"effect {i + 1}" for i in range(k)] if labels is None else [str(v) for v in np.asarray(labels, dtype=object)]
    z = _z(level)
    pct = f"{int(round(level * 100))}%"
    rows: list[Row] = []
    for g in pd.unique(groups):
        rows.append(Row("header", str(g), bold=True))
        for i in np.flatnonzero(groups.to_numpy() == g):
            lo, hi = yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i])
            rows.append(Row("study", f"   {labs[i]}", yi[i], lo, hi, size=20.0, texts=[fmt_ci(yi[i], lo, hi, digits)]))
    legend = [(f"Observed effect [{pct} CI]", dict(marker="s", color="black", ls="-", lw=0.9, ms=5))]
    if pooled is not None and len(pooled):
        rows.append(Row("header", "Pooled", bold=True))
        robust = {"rob_lb", "rob_ub"} <= set(pooled.columns)
        for name, r in pooled.iterrows():
            rows.append(Row("diamond", f"   {name}", r["estimate"], r["ci_lb"], r["ci_ub"], colour="firebrick",
                            texts=[fmt_ci(r["estimate"], r["ci_lb"], r["ci_ub"], digits)]))
            if robust:
                rows.append(Row("bar", "      cluster-robust", r["estimate"], r["rob_lb"], r["rob_ub"], colour="C0",
                                texts=[fmt_ci(r["estimate"], r["rob_lb"], r["rob_ub"], digits)]))
        legend.append((f"Pooled estimate [{pct} CI, model-based]", dict(marker="D", color="firebrick", ls="none", ms=6)))
        if robust:
            legend.append((f"Pooled estimate [{pct} CI, cluster-robust (CR2)]",
                           dict(kind="patch", facecolor="C0", edgecolor="C0", alpha=0.85)))
    return render(rows, columns=[f"Estimate [{pct} CI]"], xlabel=axis_label(measure, xlabel, None, None),
                  title=title, legend=legend, refline=refline, xlim=xlim, plot_width=plot_width,
                  label_header=group_header)
