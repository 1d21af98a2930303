"""One p-value formatter for every printout: metafor's style (the frequentist tables) and APA style
(reports and figures). The printouts of :mod:`bayesma.frequentist`, :mod:`bayesma.report` and
:mod:`bayesma.plots` all call :func:`format_p`, so a p-value reads the same wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any

from bayesma.errors import InputError

__all__ = ["format_p"]


def format_p(p: Any, style: str = "metafor", *, relation: bool = False, missing: str | None = None) -> str:
    """A p-value as text.

    Parameters
    ----------
    p : float or None
        The p-value (None or NaN: *missing*).
    style : {"metafor", "apa"}
        ``"metafor"``: four decimals, ``<.0001`` below 1e-4 (metafor's printouts).
        ``"apa"``: three decimals without the leading zero, ``< .001`` and ``> .999`` at the ends.
    relation : bool
        Prefix the relation: ``"= 0.0123"``, ``"<.0001"``; ``"= .034"``, ``"< .001"``.
    missing : str, optional
        The text for a missing p-value (default ``"NA"`` for metafor's style, ``"n/a"`` for APA).

    Returns
    -------
    str

    Examples
    --------
    >>> format_p(0.01234), format_p(3e-7), format_p(0.01234, relation=True)
    ('0.0123', '<.0001', '= 0.0123')
    >>> format_p(0.034, "apa", relation=True), format_p(0.9996, "apa"), format_p(float("nan"), "apa", relation=True)
    ('= .034', '> .999', '= n/a')
    """
    if style not in ("metafor", "apa"):
        raise InputError(f"style must be 'metafor' or 'apa', got {style!r}")
    if p is None or not math.isfinite(float(p)):
        text = missing if missing is not None else ("NA" if style == "metafor" else "n/a")
        return f"= {text}" if relation else text
    p = float(p)
    if style == "metafor":
        if p < 1e-4:
            return "<.0001"
        return f"= {p:.4f}" if relation else f"{p:.4f}"
    if p < 0.001:
        return "< .001"
    if p > 0.999:
        return "> .999"
    text = f"{p:.3f}".lstrip("0")
    return f"= {text}" if relation else text
