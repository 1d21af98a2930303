"""One p-value formatter for every printout: metafor's style (the frequentist tables) and APA style
(reports and figures). The printouts of :mod:`bayesma.frequentist`, :mod:`bayesma.report` and
:mod:`bayesma.plots` all call :func:`format_p`, so a p-value reads the same wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any

from bayesma.errors import InputError

__all__ = ["format_p", "frame_text", "transformed", "format_transformed", "format_bf"]


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
        Prefix the relation, with a space after it as in metafor's test lines (``p-val < .0001``):
        ``"= 0.0123"``, ``"< .0001"``; ``"= .034"``, ``"< .001"``. Write ``"p " + format_p(p, relation=True)``,
        never ``"p = " + format_p(p)`` (which reads ``p = <.0001``).
    missing : str, optional
        The text for a missing p-value (default ``"NA"`` for metafor's style, ``"n/a"`` for APA).

    Returns
    -------
    str

    Examples
    --------
    >>> format_p(0.01234), format_p(3e-7), format_p(0.01234, relation=True), format_p(3e-7, relation=True)
    ('0.0123', '<.0001', '= 0.0123', '< .0001')
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
            return "< .0001" if relation else "<.0001"
        return f"= {p:.4f}" if relation else f"{p:.4f}"
    if p < 0.001:
        return "< .001"
    if p > 0.999:
        return "> .999"
    text = f"{p:.3f}".lstrip("0")
    return f"= {text}" if relation else text


#: column names that hold p-values in the tables of the printouts
_P_COLUMNS = {"p", "pval", "pval*", "Qp", "QEp", "QMp", "QSp", "LRTp", "Q_p", "p_value", "p_k0"}


def is_p_column(name: Any) -> bool:
    """Whether a table column holds p-values or probabilities (``pval``, ``QEp``, ``rob_pval``,
    ``p_mu_positive``, ...)."""
    name = str(name)
    return (name in _P_COLUMNS or name.startswith(("pval", "p_")) or name.endswith("_pval")
            or name.endswith("_p"))  # p_mu_positive: a posterior probability, written as a p-value is


#: the width of a printout (a terminal of 100 columns): prose is wrapped and tables split to fit it
WIDTH = 100


def wrap_text(text: str, width: int = WIDTH, indent: str = "  ") -> str:
    """Prose for a printout: each line of *text* longer than *width* broken at spaces, the continuation lines
    indented by *indent*. Words are never split (a column name or a quoted value stays whole), and a relation
    stays on one line (``rho = 0.5``, ``p < .001``).

    Examples
    --------
    >>> print(wrap_text("priors: " + "word " * 12, width=30))
    priors: word word word word
      word word word word word
      word word word
    """
    import re
    import textwrap

    def fill(line: str) -> str:
        glued = re.sub(r" ([=<>]) ", "\x00\\1\x00", line)
        return textwrap.fill(glued, width, subsequent_indent=indent, break_long_words=False,
                             break_on_hyphens=False).replace("\x00", " ")

    return "\n".join(fill(line) if len(line) > width else line for line in text.split("\n"))


def frame_text(table: Any, digits: int = 4, *, p_columns: Any = None, index: bool = True,
               max_rows: int | None = None) -> str:
    """A DataFrame as a printout's table: p-value columns through :func:`format_p` (``<.0001``, never
    ``1.6302e-21``), every other float column in fixed notation with *digits* decimals (no column
    switched to scientific notation), NaN as ``NA``; all columns shown, whatever pandas' display options,
    and all rows (or the first and last of *max_rows*); a table wider than :data:`WIDTH` printed in parts
    (pandas' ``line_width``: each part with the row names).

    Examples
    --------
    >>> import pandas as pd
    >>> print(frame_text(pd.DataFrame({"estimate": [0.55, 0.15], "pval": [1.6e-21, 0.0094]}, index=["a", "b"])))
      estimate    pval
    a   0.5500  <.0001
    b   0.1500  0.0094
    """
    import numpy as np

    shown = table.copy()
    pcols = [c for c in shown.columns if is_p_column(c)] if p_columns is None else list(p_columns)
    for col in shown.columns:
        values = shown[col]
        if col in pcols:
            shown[col] = [format_p(v) for v in values]
        elif values.dtype.kind == "f":
            shown[col] = ["NA" if np.isnan(v) else f"{v:.{digits}f}" for v in values]
    return shown.to_string(index=index, max_rows=max_rows, max_cols=None, line_width=WIDTH)


#: methods whose validity depends on the number of studies: (the k below which a printout says so, why)
SMALL_K = {
    "funnel": (10, "tests of funnel-plot asymmetry (Egger's regression, the rank test) have too little power "
                   "to tell asymmetry from chance with fewer than 10 studies (Sterne et al. 2011, BMJ "
                   "343:d4002)"),
    "trimfill": (10, "trim-and-fill rests on a funnel plot's symmetry, which fewer than 10 studies cannot show "
                     "(Sterne et al. 2011, BMJ 343:d4002): read k0 and the filled estimate as a sensitivity analysis"),
    "pet_peese": (10, "PET-PEESE is biased and erratic with few studies, more so under heterogeneity (Stanley "
                      "2017, Social Psychological and Personality Science 8:581-591; funnel-plot methods need at "
                      "least 10 studies, Sterne et al. 2011)"),
    "selmodel": (10, "a selection model estimates the selection weights from the p-values of the studies: with "
                     "fewer than 10 (and few per p-value interval) the weights are barely identified (Vevea & Woods "
                     "2005, Psychological Methods 10:428-443, fix them a priori instead)"),
    "robma": (10, "with fewer than 10 studies the data say little about publication bias: the bias Bayes factor "
                  "stays near 1 and the averaged estimate leans on the priors (Bartoš et al. 2023, Research "
                  "Synthesis Methods 14:99-116)"),
}


def small_k_lines(method: str, k: int | None) -> list[str]:
    """The printout's note for a method whose validity depends on k (empty at k >= its threshold).

    Examples
    --------
    >>> small_k_lines("funnel", 12)
    []
    >>> small_k_lines("funnel", 4)[1][:31]
    'Note: k = 4 studies (< 10): tes'
    """
    threshold, why = SMALL_K[method]
    if k is None or k >= threshold:
        return []
    return ["", f"Note: k = {k} studies (< {threshold}): {why}."]


def small_k_text(method: str, k: int | None) -> str:
    """:func:`small_k_lines` as text to append to a printout (``""`` at k >= the threshold)."""
    return "\n".join(["", *small_k_lines(method, k)])


def moderator_statistic(res: Any, compact: bool = False) -> str:
    """metafor's name of the omnibus statistic: ``QM(df = 2)`` (chi-square), ``F(df1 = 2, df2 = 10)`` (t tests);
    *compact*: ``QM(2)``, ``F(2, 10)`` (a report's sentence)."""
    df1 = res.QMdf[0] if isinstance(res.QMdf, tuple) else res.QMdf
    dfs = getattr(res, "dfs", None)
    if dfs is None and isinstance(res.QMdf, tuple) and len(res.QMdf) > 1:
        dfs = res.QMdf[1]
    if compact:
        return f"F({df1}, {dfs:g})" if dfs is not None else f"QM({df1})"
    return f"F(df1 = {df1}, df2 = {dfs:g})" if dfs is not None else f"QM(df = {df1})"


def transformed(fn: Any, x: Any) -> Any:
    """``fn(x)`` for a back-transformation (``numpy.exp``, ``numpy.tanh``, ...) without numpy's
    overflow warnings: an odds ratio of a log effect of 800 is ``inf`` (R's ``exp(800)`` is
    ``Inf``), which :func:`format_transformed` writes as ``> 1e308``."""
    import numpy as np

    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        return fn(x)


def format_transformed(value: float, digits: int = 2, *, missing: str = "NA") -> str:
    """A back-transformed number for a reader: *digits* decimals, three significant digits from a
    million on (``1.91e+111``, not 112 digits), and ``> 1e308`` / ``< -1e308`` where the
    transformation overflowed (the value lies beyond the largest double)."""
    v = float(value)
    if math.isnan(v):
        return missing
    if math.isinf(v):
        return "> 1e308" if v > 0 else "< -1e308"
    if abs(v) >= 1e6:
        return f"{v:.3g}"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_bf(bf: float, digits: int = 3) -> str:
    """A Bayes factor for a printout: *digits* decimals as RoBMA prints them (``2292.418``, ``0.763``; never
    ``2.3e+03`` beside ``0.86``), three significant digits from a million on, ``inf`` / ``0`` at the ends.

    Examples
    --------
    >>> format_bf(2292.4181), format_bf(0.86), format_bf(3.2e9), format_bf(float("inf"))
    ('2292.418', '0.860', '3.2e+09', 'inf')
    """
    v = float(bf)
    if math.isnan(v):
        return "NA"
    if math.isinf(v):
        return "inf"
    return f"{v:.3g}" if abs(v) >= 1e6 else f"{v:.{digits}f}"
