"""Shared pieces of the plots: a pyplot-free Figure, normal quantiles, axis labels, interval text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma import measures
from bayesma._format import format_transformed, transformed
from bayesma.errors import InputError

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


def title_of(fit: Any, title: str | None = None) -> str | None:
    """The title of a plot of *fit*: *title*, else the subset the fit was made on (``attrs["subset"]`` of
    its data, e.g. ``"outcome = dropout"``, set by :func:`bayesma.fit_many`), else None."""
    if title is not None:
        return title
    for data in (getattr(getattr(fit, "data", None), "data", None),
                 getattr(getattr(getattr(fit, "spec", None), "meta", None), "data", None)):
        subset = getattr(data, "attrs", {}).get("subset") if data is not None else None
        if subset:
            return str(subset)
    return None


def _new_figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def back_tick_formatter(atransf: Any) -> Any:
    """A matplotlib formatter writing an axis value *v* as ``atransf(v)`` (three significant digits;
    ``> 1e308`` where the back-transformation overflows, with no numpy warning)."""
    from matplotlib.ticker import FuncFormatter

    def text(v: float, _pos: Any = None) -> str:
        t = float(transformed(atransf, v))
        return format_transformed(t) if not np.isfinite(t) or abs(t) >= 1e6 else f"{t:.3g}"

    return FuncFormatter(text)


def safe_transf(transf: Any) -> Any:
    """*transf* (``numpy.exp`` ...) for the drawing scale, or the identity. A finite value it sends
    beyond the largest double cannot be drawn: an InputError says so and what to do (no numpy or
    matplotlib warning)."""
    if transf is None:
        return lambda v: v

    def apply(v: Any) -> Any:
        out = transformed(transf, v)
        if np.any(np.isinf(out) & np.isfinite(v)):
            raise InputError(f"transf={getattr(transf, '__name__', 'transf')} of {float(np.max(v)):.6g} is beyond the "
                             "largest number a plot can draw; draw on the analysis scale with atransf= (the axis "
                             "and the numbers are then labelled back-transformed), or check the scale of the effects")
        return out

    return apply


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _fmt_ci(m: float, lo: float, hi: float, digits: int) -> str:
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
