"""Shared pieces of the plots: a pyplot-free Figure, normal quantiles, axis labels, interval text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bayesma import measures

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: x-axis label per effect measure
MEASURE_LABELS = {m.name: m.label for m in measures.MEASURES.values()}


def measure_of(fit: Any, measure: str | None = None) -> str | None:
    """The effect measure of a fit: *measure*, else the fit's ``measure``, else the data's
    ``attrs["measure"]`` (set by :func:`bayesma.escalc`)."""
    if measure is not None:
        return measure
    m = getattr(fit, "measure", None)
    if m is None:
        data = getattr(getattr(fit, "data", None), "data", None)
        m = getattr(data, "attrs", {}).get("measure") if data is not None else None
    return m


def _new_figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _fmt_ci(m: float, lo: float, hi: float, digits: int) -> str:
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
