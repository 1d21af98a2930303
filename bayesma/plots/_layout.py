"""Final layout of a figure: tight margins, and tick labels that neither collide nor leave the canvas.

``Figure.tight_layout`` sizes the margins for the tick labels of the moment; shrinking an axes can
then make its tick locator choose other ticks (``0.12`` becomes ``0.125``), whose labels a single
pass leaves outside the figure. And matplotlib's automatic locator counts ticks by axis length, not
by label width, so a narrow panel with long labels (``-0.100``, ``-0.075``, ...) draws them on top of
one another. :func:`settle_layout` repeats the layout until it is stable and halves the number of
ticks of an axis whose labels collide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

#: pixels between two neighbouring tick labels below which they count as colliding
_GAP = 2.0


def settle_layout(fig: Figure, max_passes: int = 4, **tight_kwargs: Any) -> None:
    """``fig.tight_layout(**tight_kwargs)`` until every axes lies on the canvas and no tick labels collide.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    max_passes : int
        Upper bound on the layout passes.
    **tight_kwargs
        Passed to :meth:`matplotlib.figure.Figure.tight_layout` (``rect=``, ``pad=``, ...).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    for _ in range(max_passes):
        fig.tight_layout(**tight_kwargs)
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        canvas = fig.bbox.padded(1.0)
        settled = True
        for ax in fig.axes:
            box = ax.get_tightbbox(renderer)  # places the ticks and labels of the new size (no drawing)
            for axis in (ax.xaxis, ax.yaxis):
                settled &= not _thin_if_crowded(axis, renderer)
            settled &= box is None or bool(canvas.contains(box.x0, box.y0) and canvas.contains(box.x1, box.y1))
        if settled:
            return


def _thin_if_crowded(axis: Axis, renderer: Any) -> bool:
    """Halve the ticks of an automatically ticked *axis* whose drawn labels collide; True if it did."""
    from matplotlib.ticker import MaxNLocator

    locator = axis.get_major_locator()
    if not isinstance(locator, MaxNLocator) or axis.get_scale() != "linear":
        return False
    lo, hi = sorted(axis.get_view_interval())
    locs = axis.get_majorticklocs()
    ticks = axis.get_major_ticks(len(locs))
    boxes = [tick.label1.get_window_extent(renderer) for loc, tick in zip(locs, ticks, strict=True)
             if lo <= loc <= hi and tick.label1.get_visible() and tick.label1.get_text().strip()]
    if len(boxes) < 3:
        return False
    horizontal = axis.axis_name == "x"
    boxes.sort(key=lambda b: b.x0 if horizontal else b.y0)
    crowded = any((b1.x0 - b0.x1 if horizontal else b1.y0 - b0.y1) < _GAP for b0, b1 in zip(boxes, boxes[1:]))
    if not crowded:
        return False
    axis.set_major_locator(MaxNLocator(nbins=max(len(boxes) // 2, 2), steps=[1, 2, 2.5, 5, 10]))
    return True
