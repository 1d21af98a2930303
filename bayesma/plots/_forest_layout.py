"""The layout engine of the forest plots: rows of studies, diamonds, bars and text in fixed inches.

The Bayesian (:func:`bayesma.plots.forest_plot`) and frequentist
(:func:`bayesma.plots.forest_rma`, :func:`bayesma.plots.forest_subgroup`) forest plots build a
list of :class:`Row` and hand it to :func:`render`. Every row is ``row_height`` inches high,
the text columns are as wide as their widest entry (measured with the renderer), and the
margins are fixed in inches, so the figure grows linearly with the number of rows and no two
texts overlap at any k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma import measures
from bayesma._format import format_p, format_transformed, transformed
from bayesma.errors import InputError

from ._common import _new_figure, back_tick_formatter

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

FONT = 8.0
SMALL = 7.0
PAD = 0.12  # inches between columns
# one row per study, each ~0.2 in: 2,000 studies are a 400-inch figure (matplotlib's limit is
# 65,536 pixels); beyond that drawing took minutes (k = 100,000 hung) and showed nothing legible
MAX_FOREST_STUDIES = 2_000

# inverse of the usual back-transforms, to put "nice" back-scale ticks on the analysis scale
_INVERSES: dict[Any, Callable[[np.ndarray], np.ndarray]] = {
    np.exp: np.log,
    np.tanh: np.arctanh,
}


@dataclass
class Row:
    """One line of a forest plot.

    kind: "study" (interval + marker), "diamond", "bar" (prediction interval), "header"
    (bold label only), "note" (small italic text from the label column on).
    """

    kind: str
    label: str
    est: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    weight: float | None = None          # percent
    size: float | None = None            # marker area in points^2 (studies)
    second: tuple[float, float, float] | None = None  # shrunken estimate (median, lo, hi)
    texts: list[str] = field(default_factory=list)     # one per text column
    colour: str = "black"
    bold: bool = False
    band: tuple[float, float] | None = None  # a study's own prediction interval, drawn behind it (location-scale)


def _measurer() -> Callable[[str, float, bool], float]:
    """Width of a text in inches, measured with an Agg renderer."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    dpi = 72.0
    renderer = RendererAgg(10, 10, dpi)

    def width(s: str, size: float = FONT, bold: bool = False) -> float:
        if not s:
            return 0.0
        fp = FontProperties(size=size, weight="bold" if bold else "normal")
        w, _h, _d = renderer.get_text_width_height_descent(s, fp, ismath=False)
        return w / dpi

    return width


def _fmt(x: float, digits: int) -> str:
    if not np.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "NA")
    s = f"{x:.{digits}f}"
    return "0." + "0" * digits if s == "-0." + "0" * digits else s


def fmt_ci(m: float, lo: float, hi: float, digits: int, atransf: Callable | None = None, back: bool = False) -> str:
    """``"m [lo, hi]"``, on the back-transformed scale with *atransf* (or *back*: the numbers were
    transformed already), where a huge value is ``1.9e+111`` and an overflow ``> 1e308``."""
    if atransf is not None:
        m, lo, hi = (float(transformed(atransf, v)) for v in (m, lo, hi))
    fmt = (lambda v: format_transformed(v, digits)) if back or atransf is not None else (lambda v: _fmt(v, digits))
    return f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]"


def fmt_p(p: float) -> str:
    """APA style: ``p = .034``, ``p < .001``, ``p > .999`` (:func:`bayesma._format.format_p`)."""
    return "p " + format_p(p, "apa", relation=True, missing="NA")


def axis_label(measure: str | None, xlabel: str | None, atransf: Callable | None, transf: Callable | None) -> str:
    """The x-axis label: the measure's label, or its back-transformed quantity with atransf/transf."""
    if xlabel is not None:
        return xlabel
    try:
        m = measures.get(measure)
    except (ValueError, TypeError):
        m = measures.get(None)
    if (atransf is not None or transf is not None) and m.back_label:
        back = m.back_label[0].upper() + m.back_label[1:]
        return f"{back} (log scale)" if atransf is not None and m.scale == "log" else back
    return m.label


def order_index(order: Any, labels: list[str], yi: np.ndarray, vi: np.ndarray,
                columns: Any = None) -> list[int]:
    """Row order: None (data order), "effect", "precision", "label", a column name of *columns*
    (a DataFrame aligned with the studies) or a list of study labels; a leading "-" reverses.
    More than MAX_FOREST_STUDIES studies is an InputError (a forest plot draws one row each)."""
    k = len(labels)
    if k > MAX_FOREST_STUDIES:
        raise InputError(f"a forest plot draws one row per study: {k:,} studies would be a figure "
                         f"{k // 5:,} inches tall (at most {MAX_FOREST_STUDIES:,}); draw a subset of the studies "
                         "(fit it separately), or use the funnel plot or summary() for all of them")
    if order is None:
        return list(range(k))
    if isinstance(order, str):
        reverse = order.startswith("-")
        key = order[1:] if reverse else order
        if key == "effect":
            idx = list(np.argsort(yi, kind="stable"))
        elif key == "precision":  # most precise first
            idx = list(np.argsort(vi, kind="stable"))
        elif key == "label":
            idx = sorted(range(k), key=lambda i: labels[i])
        elif columns is not None and key in getattr(columns, "columns", []):
            vals = list(columns[key])
            idx = sorted(range(k), key=lambda i: (vals[i] is None, vals[i]))
        else:
            raise InputError(f"order must be 'effect', 'precision', 'label', a column of the data or a list of "
                             f"study labels (a leading '-' reverses), got {order!r}")
        return [int(i) for i in (idx[::-1] if reverse else idx)]
    order = list(order)
    missing = [lab for lab in order if lab not in labels]
    if missing:
        raise InputError(f"order names unknown studies {missing}")
    return [labels.index(lab) for lab in order]


def marker_sizes(weights: np.ndarray, smax: float = 70.0, smin: float = 6.0) -> np.ndarray:
    """Marker areas (points^2) proportional to the weights, at least *smin*."""
    w = np.asarray(weights, float)
    top = np.nanmax(w) if np.any(np.isfinite(w)) and np.nanmax(w) > 0 else 1.0
    return np.maximum(smin, smax * w / top)


def _nice_back_ticks(lo: float, hi: float, atransf: Callable, inverse: Callable) -> list[float]:
    """Ticks at round values of the back-transformed scale, on the analysis scale."""
    from matplotlib.ticker import MaxNLocator

    blo, bhi = float(transformed(atransf, lo)), float(transformed(atransf, hi))
    if not (np.isfinite(blo) and np.isfinite(bhi)):  # beyond the largest double: ticks on the analysis scale
        return [float(v) for v in MaxNLocator(nbins=5).tick_values(lo, hi) if lo <= v <= hi]
    if atransf is np.exp:  # powers of 2, then 1-2-5, then decades: the first with 3 to 7 ticks in view
        two = 2.0 ** np.arange(-12, 13)
        one25 = np.array([m * 10.0**e for e in range(-4, 5) for m in (1, 2, 5)])
        one3 = np.array([m * 10.0**e for e in range(-4, 5) for m in (1, 3)])
        decades = 10.0 ** np.arange(-6, 7)
        for lowest, cands in ((3, two), (3, one25), (3, one3), (2, decades)):
            inside = cands[(cands >= blo) & (cands <= bhi)]
            if lowest <= inside.size <= 7:
                return [float(v) for v in inverse(inside)]
    vals = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(blo, bhi)
    vals = vals[(vals >= blo) & (vals <= bhi)]
    with np.errstate(all="ignore"):
        pos = inverse(vals)
    return [float(v) for v in pos if np.isfinite(v)]


def _interval(ax: Any, lo: float, hi: float, y: float, xlim: tuple[float, float], **style: Any) -> None:
    """A horizontal interval, cut at the axis limits with an arrowhead where it goes on (as metafor)."""
    a, b = max(lo, xlim[0]), min(hi, xlim[1])
    if b < a:
        return
    ax.plot([a, b], [y, y], solid_capstyle="butt", **style)
    colour = style.get("color", "black")
    if lo < xlim[0]:
        ax.plot([xlim[0]], [y], marker="<", ms=4, color=colour, clip_on=False, zorder=4)
    if hi > xlim[1]:
        ax.plot([xlim[1]], [y], marker=">", ms=4, color=colour, clip_on=False, zorder=4)


@dataclass(frozen=True)
class _Layout:
    """Sizes of a forest figure, in inches: label column, plot, text columns, legend."""

    label_w: float
    col_w: list[float]
    plot_w: float
    fig_w: float
    fig_h: float
    plot_h: float
    bottom_in: float
    ncol: int
    left_margin: float = 0.15

    @property
    def text_x(self) -> float:
        """Where the first text column starts."""
        return self.left_margin + self.label_w + self.plot_w + PAD


def _layout(rows: Sequence[Row], columns: Sequence[str], legend: Sequence[tuple[str, Any]], title: str | None,
            plot_width: float, row_height: float, width: float | None, label_header: str) -> _Layout:
    measure = _measurer()
    label_w = max([measure(label_header, FONT, True)]
                  + [measure(r.label, FONT, r.bold) for r in rows if r.kind != "note"]) + PAD
    note_w = max([measure(r.label, SMALL) for r in rows if r.kind == "note"] + [0.0])
    col_w = []
    for j, head in enumerate(columns):
        ws = [measure(head, FONT, True)] + [measure(r.texts[j], FONT, r.bold) for r in rows if len(r.texts) > j]
        col_w.append(max(ws) + PAD)
    left_margin = 0.15
    plot_w = max(plot_width, note_w + 0.1 - label_w)  # a note runs from the label column into the plot
    right_margin = 0.15
    fig_w = left_margin + label_w + plot_w + PAD + sum(col_w) + right_margin
    if width is not None and width > fig_w:
        plot_w += width - fig_w
        fig_w = width

    # legend: entries laid out in as many columns as fit the width
    leg_w = [0.45 + measure(lab, SMALL) + 0.25 for lab, _h in legend]
    ncol = 1
    if legend:
        ncol = max(1, min(len(legend), int((fig_w - 0.2) // max(leg_w))))
        while ncol > 1 and sum(sorted(leg_w)[-ncol:]) > fig_w - 0.2:
            ncol -= 1
    leg_rows = int(np.ceil(len(legend) / ncol)) if legend else 0

    top_in = 0.12 + 0.3 + (0.35 if title else 0.0)        # column headers (+ title)
    axis_in = 0.55                                         # tick labels and x label
    legend_in = (0.12 + 0.2 * leg_rows) if legend else 0.0
    bottom_in = axis_in + legend_in + 0.05
    plot_h = len(rows) * row_height + 0.1
    fig_h = top_in + plot_h + bottom_in
    return _Layout(label_w, col_w, plot_w, fig_w, fig_h, plot_h, bottom_in, ncol, left_margin)


def _data_xlim(rows: Sequence[Row], refline: float | None) -> tuple[float, float]:
    """The x range of every interval and estimate (and the reference line), with 4% margins."""
    xs: list[float] = []
    for r in rows:
        for v in (r.lo, r.hi, r.est) + (tuple(r.second) if r.second else ()) + (tuple(r.band) if r.band else ()):
            if np.isfinite(v):
                xs.append(float(v))
    lo, hi = (min(xs), max(xs)) if xs else (-1.0, 1.0)
    if refline is not None:
        lo, hi = min(lo, refline), max(hi, refline)
    span = hi - lo if hi > lo else 1.0
    return (lo - 0.04 * span, hi + 0.04 * span)


def _draw_row(ax: Any, r: Row, y: float, xlim: tuple[float, float], inch_y: Any, lay: _Layout,
              marks: dict[str, list]) -> None:
    """One row: its marker (square, diamond, bar or note) and its text columns; the squares and circles are
    collected in *marks* and drawn by :func:`render` as one scatter each (200 scatters are slow)."""
    from matplotlib.patches import Polygon, Rectangle

    if r.kind == "study":
        if r.band is not None:
            a, b = max(r.band[0], xlim[0]), min(r.band[1], xlim[1])
            ax.add_patch(Rectangle((a, y - 0.4), b - a, 0.8, facecolor="C1", edgecolor="none", alpha=0.25, zorder=1))
        yo = y + (0.15 if r.second else 0.0)
        if np.isfinite(r.lo) and np.isfinite(r.hi):
            _interval(ax, r.lo, r.hi, yo, xlim, color="black", lw=0.9)
        marks["squares"].append((r.est, yo, r.size or 20.0))
        if r.second:
            m2, lo2, hi2 = r.second
            _interval(ax, lo2, hi2, y - 0.17, xlim, color="C0", lw=1.2)
            marks["circles"].append((m2, y - 0.17, 14.0))
    elif r.kind == "diamond":
        ax.add_patch(Polygon([[r.lo, y], [r.est, y + 0.32], [r.hi, y], [r.est, y - 0.32]], closed=True,
                             facecolor=r.colour, edgecolor=r.colour, zorder=3))
    elif r.kind == "bar":
        ax.add_patch(Rectangle((r.lo, y - 0.11), r.hi - r.lo, 0.22, facecolor=r.colour, edgecolor=r.colour,
                               alpha=0.85, zorder=3))
        ax.plot([r.est], [y], marker="|", color="black", ms=7, zorder=4)
    if r.kind == "note":
        ax.text(lay.left_margin, y, r.label, transform=inch_y, ha="left", va="center", fontsize=SMALL,
                style="italic", color="0.25", zorder=5,
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
    xcol = lay.text_x
    for j, s in enumerate(r.texts):
        if s:
            ax.text(xcol, y, s, transform=inch_y, ha="left", va="center", fontsize=FONT,
                    fontweight="bold" if r.bold else "normal", color=r.colour if r.kind == "bar" else "black")
        xcol += lay.col_w[j]


def _x_axis(ax: Any, xlim: tuple[float, float], atransf: Callable | None, plot_w: float, xlabel: str,
            refline: float | None) -> None:
    """The x axis: limits, reference line, ticks (on the back-transformed scale with *atransf*), label."""
    ax.set_xlim(*xlim)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if refline is not None:
        ax.axvline(refline, color="0.45", lw=0.8, ls="--", zorder=0)
    ax.tick_params(axis="x", labelsize=FONT)
    if atransf is not None:
        inverse = _INVERSES.get(atransf)
        if inverse is not None:
            ax.set_xticks(_nice_back_ticks(xlim[0], xlim[1], atransf, inverse))
        from matplotlib.ticker import MaxNLocator

        if inverse is None:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.set_major_formatter(back_tick_formatter(atransf))
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(3, int(plot_w * 1.6))))
    ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel, fontsize=FONT + 1)


def _legend(fig: Any, legend: Sequence[tuple[str, Any]], lay: _Layout) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    handles = []
    for lab, h in legend:
        h = dict(h)
        kind = h.pop("kind", "line")
        if kind == "patch":
            handles.append(Rectangle((0, 0), 1, 1, label=lab, **h))
        else:
            handles.append(Line2D([], [], label=lab, **h))
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.1 / lay.fig_w, 0.04 / lay.fig_h), ncol=lay.ncol,
               fontsize=SMALL, frameon=False, handlelength=2.0, columnspacing=1.0, borderaxespad=0.0)


def render(
    rows: Sequence[Row],
    *,
    columns: Sequence[str],
    xlabel: str,
    title: str | None = None,
    legend: Sequence[tuple[str, Any]] = (),
    refline: float | None = 0.0,
    atransf: Callable | None = None,
    xlim: tuple[float, float] | None = None,
    plot_width: float = 3.2,
    row_height: float = 0.22,
    width: float | None = None,
    label_header: str = "Study",
) -> Figure:
    """Draw *rows* (top to bottom) with text *columns* on the right; returns the Figure."""
    from matplotlib.transforms import blended_transform_factory

    n = len(rows)
    lay = _layout(rows, columns, legend, title, plot_width, row_height, width, label_header)
    fig = _new_figure((lay.fig_w, lay.fig_h))
    x0 = (lay.left_margin + lay.label_w) / lay.fig_w
    ax = fig.add_axes((x0, lay.bottom_in / lay.fig_h, lay.plot_w / lay.fig_w, lay.plot_h / lay.fig_h))
    inch_y = blended_transform_factory(fig.dpi_scale_trans, ax.transData)
    if xlim is None:
        xlim = _data_xlim(rows, refline)
    marks: dict[str, list] = {"squares": [], "circles": []}
    for i, r in enumerate(rows):
        _draw_row(ax, r, float(n - i), xlim, inch_y, lay, marks)
    for key, marker, colour in (("squares", "s", "black"), ("circles", "o", "C0")):
        if marks[key]:
            x, y, size = (list(v) for v in zip(*marks[key]))
            ax.scatter(x, y, marker=marker, s=size, color=colour, zorder=3, lw=0)

    # study labels as y tick labels, left-aligned at the figure's left margin
    labelled = [(float(n - i), r) for i, r in enumerate(rows) if r.kind != "note"]
    ax.set_yticks([y for y, _r in labelled])
    ax.set_yticklabels([r.label for _y, r in labelled], fontsize=FONT)
    for t, (_y, r) in zip(ax.get_yticklabels(), labelled):
        t.set_horizontalalignment("left")
        if r.bold:
            t.set_fontweight("bold")
    ax.tick_params(axis="y", length=0, pad=lay.label_w * 72.0)
    ax.set_ylim(0.5, n + 0.5)
    _x_axis(ax, xlim, atransf, lay.plot_w, xlabel, refline)

    # column headers
    y_head = n + 0.5 + 0.06 / row_height
    ax.text(lay.left_margin, y_head, label_header, transform=inch_y, ha="left", va="bottom", fontsize=FONT,
            fontweight="bold", clip_on=False)
    xcol = lay.text_x
    for j, head in enumerate(columns):
        ax.text(xcol, y_head, head, transform=inch_y, ha="left", va="bottom", fontsize=FONT, fontweight="bold",
                clip_on=False)
        xcol += lay.col_w[j]
    if title:
        fig.suptitle(title, x=lay.left_margin / lay.fig_w, y=1 - 0.08 / lay.fig_h, ha="left", va="top",
                     fontsize=FONT + 2)
    if legend:
        _legend(fig, legend, lay)
    return fig
