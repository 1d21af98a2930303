"""Forest plot of a Bayesian meta-analysis (observed, shrunken, pooled and predicted effects)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from ._common import MEASURE_LABELS, _fmt_ci, _new_figure, _z


def forest_plot(
    posterior: Any,
    *,
    level: float = 0.95,
    ax: Axes | None = None,
    order: str | Sequence[str] | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    show_numbers: bool = True,
    digits: int = 2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of a Bayesian meta-analysis.

    Per study (labels on the left): the observed effect ``yi`` with its
    ``level`` confidence interval ``yi ± z sqrt(vi)`` (black square, sized by
    precision) and, just below it, the posterior median and equal-tailed
    interval of the study's true effect ``theta`` (blue circle: the shrunken
    estimate). Below the studies: the pooled effect as a diamond spanning its
    posterior interval (for a meta-regression, the mean effect at the mean
    moderator values), and the predictive interval of a new study's effect
    ``theta_new`` as a bar (one per subgroup with ``tau_by``; none for a
    common-effect model, where it equals the pooled effect). The numbers on
    the right repeat the intervals. A dashed vertical line marks 0.

    Parameters
    ----------
    posterior : MetaPosterior
        Any object with ``spec``, ``idata`` and ``interval(name, prob) -> (median, lower, upper)``
        (names ``theta[<label>]``, ``pooled``, ``theta_new``): the exact engine's intervals
        are exact, NUTS's come from the draws.
    level : float
        Interval probability for all intervals (0.95).
    ax : matplotlib Axes, optional
        Draw here instead of a new Figure.
    order : {"effect", "precision"} or list of labels, optional
        Study order (default: data order).
    xlabel : str, optional
        Default: the effect measure's name (e.g. "Log risk ratio").
    title : str, optional
    show_numbers : bool
        Print "observed" and "posterior" intervals on the right.
    digits : int
        Decimals of the printed numbers.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = post.forest()                 # doctest: +SKIP
    >>> fig.savefig("forest.png", dpi=150)  # doctest: +SKIP
    """
    from matplotlib.patches import Polygon, Rectangle

    spec = posterior.spec
    labels = list(spec.labels)
    yi, vi = np.asarray(spec.yi, float), np.asarray(spec.vi, float)
    k = len(labels)
    z = _z(level)

    idx = list(range(k))
    if isinstance(order, str):
        if order == "effect":
            idx = list(np.argsort(yi))
        elif order == "precision":
            idx = list(np.argsort(vi))
        else:
            raise ValueError("order must be 'effect', 'precision' or a list of study labels")
    elif order is not None:
        missing = [lab for lab in order if lab not in labels]
        if missing:
            raise ValueError(f"order names unknown studies {missing}")
        idx = [labels.index(lab) for lab in order]

    # every number from posterior.interval(): exact for the exact engine, the draws for NUTS
    th = np.array([posterior.interval(f"theta[{lab}]", level) for lab in labels]).reshape(-1, 3)
    th_med, th_lo, th_hi = th[:, 0], th[:, 1], th[:, 2]

    # pooled effect: mu, or x_new' beta for a meta-regression
    post = posterior.idata.posterior
    pooled_label = "Pooled (at mean moderators)" if "beta" in post else "Pooled effect"
    pool = posterior.interval("pooled", level)

    pred_rows: list[tuple[str, tuple[float, float, float]]] = []
    if spec.model != "common" and "theta_new" in post:
        if spec.tau_by is None:
            pred_rows = [("Prediction (new study)", posterior.interval("theta_new", level))]
        else:
            pred_rows = [(f"Prediction ({g})", posterior.interval(f"theta_new[{g}]", level)) for g in spec.group_names]

    n_rows = k + 1 + 1 + len(pred_rows)
    if ax is None:
        h = figsize[1] if figsize else max(3.0, 0.32 * n_rows + 1.4)
        w = figsize[0] if figsize else (10.0 if show_numbers else 6.5)
        fig = _new_figure((w, h))
        ax = fig.add_subplot(1, 1, 1)
        if show_numbers:
            fig.subplots_adjust(left=0.22, right=0.62, top=0.92 if title else 0.96, bottom=0.12)
        else:
            fig.subplots_adjust(left=0.28, right=0.96, bottom=0.12)
    else:
        fig = ax.figure

    ytick, yticklabels = [], []
    w = 1.0 / vi
    sizes = 20 + 60 * (w / w.max())
    for row, i in enumerate(idx):
        y = n_rows - row
        lo, hi = yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i])
        ax.plot([lo, hi], [y + 0.12, y + 0.12], color="black", lw=1.0)
        ax.scatter([yi[i]], [y + 0.12], marker="s", s=sizes[i], color="black", zorder=3,
                   label="Observed (95% CI)" if row == 0 else None)
        ax.plot([th_lo[i], th_hi[i]], [y - 0.18, y - 0.18], color="C0", lw=1.4)
        ax.scatter([th_med[i]], [y - 0.18], marker="o", s=18, color="C0", zorder=3,
                   label="Posterior of true effect" if row == 0 else None)
        ytick.append(y)
        yticklabels.append(labels[i])
        if show_numbers:
            ax.annotate(_fmt_ci(yi[i], lo, hi, digits), xy=(1.03, y), xycoords=("axes fraction", "data"),
                        va="center", ha="left", fontsize=8, annotation_clip=False)
            ax.annotate(_fmt_ci(th_med[i], th_lo[i], th_hi[i], digits), xy=(1.35, y),
                        xycoords=("axes fraction", "data"), va="center", ha="left", fontsize=8, color="C0",
                        annotation_clip=False)

    y = n_rows - k - 1
    med, lo, hi = pool
    ax.add_patch(Polygon([[lo, y], [med, y + 0.3], [hi, y], [med, y - 0.3]], closed=True,
                         facecolor="C3", edgecolor="C3", zorder=3))
    ax.axvline(med, color="C3", lw=0.6, ls=":", zorder=1)
    ytick.append(y)
    yticklabels.append(pooled_label)
    if show_numbers:
        ax.annotate(_fmt_ci(med, lo, hi, digits), xy=(1.35, y), xycoords=("axes fraction", "data"),
                    va="center", ha="left", fontsize=8, fontweight="bold", annotation_clip=False)
    for j, (lab, (m, plo, phi)) in enumerate(pred_rows):
        y = n_rows - k - 2 - j
        ax.add_patch(Rectangle((plo, y - 0.1), phi - plo, 0.2, facecolor="C1", edgecolor="C1", alpha=0.8, zorder=3))
        ax.plot([m], [y], marker="|", color="black", ms=8, zorder=4)
        ytick.append(y)
        yticklabels.append(lab)
        if show_numbers:
            ax.annotate(_fmt_ci(m, plo, phi, digits), xy=(1.35, y), xycoords=("axes fraction", "data"),
                        va="center", ha="left", fontsize=8, color="C1", annotation_clip=False)

    ax.axvline(0.0, color="grey", lw=0.8, ls="--", zorder=0)
    ax.set_yticks(ytick)
    ax.set_yticklabels(yticklabels, fontsize=8)
    ax.set_ylim(0.3 + (n_rows - k - 2 - len(pred_rows) + 1) - 1, n_rows + 0.7)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xlabel if xlabel is not None else MEASURE_LABELS.get(str(spec.measure).upper(), "Effect size"))
    if show_numbers:
        pct = f"{int(round(level * 100))}%"
        ax.annotate(f"Observed [{pct} CI]", xy=(1.03, n_rows + 0.6), xycoords=("axes fraction", "data"),
                    fontsize=8, fontweight="bold", annotation_clip=False)
        ax.annotate(f"Posterior [{pct} CrI]", xy=(1.35, n_rows + 0.6), xycoords=("axes fraction", "data"),
                    fontsize=8, fontweight="bold", color="C0", annotation_clip=False)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2, fontsize=7, frameon=False)
    if title:
        ax.set_title(title)
    return fig
