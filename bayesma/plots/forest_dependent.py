"""Forest plot of a Bayesian model of dependent effects (three-level, CHE, multivariate across outcomes).

One block per study (cluster) with its effects together, each drawn as observed (black square,
``yi ± z sqrt(vi)``) and shrunken (blue circle: the posterior of its true effect ``theta``); below,
one diamond per outcome (``mu[<outcome>]``, multivariate models) or one pooled diamond (``mu``,
three-level and CHE models), each with a new study's predictive interval (``theta_new``), and a
line with the heterogeneity and correlation parameters. A three-level or CHE model with moderators
keeps the study blocks (each effect's shrunken estimate includes its moderators, as metafor's
forest of an ``rma.mv`` fit with moderators shows each row's fitted value) and has no single pooled
effect: one diamond per level of categorical moderators (``posterior.level_predictions``) or, with a
continuous moderator, a note; the parameters line then reads "Residual heterogeneity". Every
interval is ``posterior.interval(name, level)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from ._common import _z, safe_transf, title_of
from ._forest_layout import Row, axis_label, fmt_ci, render

__all__ = ["forest_dependent", "is_dependent"]

#: the variance and correlation parameters of these models, as they are named in the summary
_SYMBOLS = {"tau_within": "\u03c4 within", "tau": "\u03c4", "rho": "\u03c1"}


def is_dependent(spec: Any) -> bool:
    """Whether *spec* is a model of effects nested in clusters drawn by :func:`forest_dependent`:
    a three-level or CHE model (with or without moderators: its studies' effects stay together), or
    a multivariate model without moderators (with them there is no diamond per outcome: the
    meta-regression's forest plot)."""
    dep = getattr(spec, "dependence", None)
    if dep is not None and dep.multivariate:
        return not spec.is_regression
    return getattr(spec, "cluster_index", None) is not None


def _summary_rows(posterior: Any, spec: Any, level: float, t3: Callable, txt: Callable) -> list[Row]:
    dep = getattr(spec, "dependence", None)
    outcomes = list(dep.outcome_names) if dep is not None and dep.multivariate else []
    rows: list[Row] = [Row("header", "Pooled" if not outcomes else "Pooled by outcome", bold=True)]
    pairs = [(f"   {o}", f"mu[{o}]", f"theta_new[{o}]") for o in outcomes] or \
        [("   Pooled effect", "pooled", "theta_new")]
    k_of = dict(zip(outcomes, np.bincount(dep.outcome_index, minlength=len(outcomes)))) if outcomes else {}
    for label, mean, new in pairs:
        m = t3(*posterior.interval(mean, level))
        k = k_of.get(label.strip())
        rows.append(Row("diamond", label + (f" (k = {k})" if k is not None else ""), *m, colour="C3",
                        texts=["", txt(*m)]))
        if spec.model != "common":
            p = t3(*posterior.interval(new, level))
            rows.append(Row("bar", "      prediction (new study)", *p, colour="C1", texts=["", txt(*p)]))
    return rows


def _regression_rows(posterior: Any, spec: Any, level: float, t3: Callable, txt: Callable) -> list[Row]:
    """A three-level or CHE meta-regression: one diamond (and a new study's bar) per level of its
    categorical moderators (``posterior.level_predictions``), or a note with a continuous moderator."""
    try:
        table = posterior.level_predictions(level)
    except (ValueError, KeyError):  # a continuous moderator: no level to summarise
        return [Row("note", f"Meta-regression ({', '.join(spec.coef_names[1:])}): no single pooled effect; the "
                            "shrunken estimates include the moderators; see post.predict(newmods=...)")]
    rows: list[Row] = [Row("header", "Mean effect by level", bold=True)]
    for name, r in table.iterrows():
        m = t3(r["median"], r["eti_lower"], r["eti_upper"])
        rows.append(Row("diamond", f"   {name} (k = {int(r['k'])})", *m, colour="C3", texts=["", txt(*m)]))
        if spec.model != "common" and {"pi_lower", "pi_upper"} <= set(table.columns):
            p = t3(r["median"], r["pi_lower"], r["pi_upper"])
            rows.append(Row("bar", "      prediction (new study)", *p, colour="C1", texts=["", txt(*p)]))
    return rows


def _parameter_note(posterior: Any, level: float, digits: int) -> str:
    pct = f"{int(round(level * 100))}%"
    names = [n for n in posterior.summary(prob=level, studies=False).index
             if n.split("[")[0] in _SYMBOLS]
    parts = []
    for n in names:
        m, lo, hi = posterior.interval(n, level)
        base, _, rest = n.partition("[")
        parts.append(f"{_SYMBOLS[base]}{'[' + rest if rest else ''} = {fmt_ci(m, lo, hi, digits)}")
    if not parts:
        return ""
    residual = "Residual heterogeneity: " if posterior.spec.is_regression else ""
    return residual + "; ".join(parts) + f" (posterior median [{pct} CrI])"


def forest_dependent(
    posterior: Any,
    *,
    level: float = 0.95,
    transf: Callable | None = None,
    atransf: Callable | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    plot_width: float = 3.2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of dependent effects: each study's effects together, one diamond per outcome.

    Parameters
    ----------
    posterior : MetaPosterior
        A fit of a multivariate model (``MetaAnalysis(..., outcome=...)``), or of a three-level or
        CHE model with or without moderators (``cluster=``); any object with ``spec`` (``labels``, ``yi``,
        ``vi``, ``cluster_index``, ``cluster_names``, ``dependence``) and ``interval(name, prob)``.
    level : float
        Probability of all intervals (0.95).
    transf, atransf : callable, optional
        As :func:`bayesma.plots.forest_plot`.
    xlabel, title : str, optional
        Axis label (default: the measure's) and title (default: the subset the fit was made on).
    digits : int
        Decimals of the printed numbers.
    xlim : (float, float), optional
        Axis range on the drawn scale.
    refline : float or None
        Reference line (0 on the analysis scale).
    plot_width : float
        Width of the plotting region in inches.
    figsize : (float, float), optional
        Only the width is used (the height follows the number of rows).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm, pandas as pd
    >>> df = pd.DataFrame({"study": ["A", "A", "B", "B", "C", "D"], "yi": [0.2, 0.4, 0.1, 0.3, 0.5, 0.25],
    ...                    "vi": [0.02, 0.03, 0.02, 0.04, 0.03, 0.02], "outcome": ["x", "y", "x", "y", "x", "y"]})
    >>> post = bm.MetaAnalysis(df, yi="yi", vi="vi", cluster="study", outcome="outcome", rho=0.5,
    ...                        struct="CS").fit(engine="exact", seed=1)   # doctest: +SKIP
    >>> fig = post.forest()   # doctest: +SKIP
    """
    spec = posterior.spec
    labels = [str(lab) for lab in spec.labels]
    yi, vi = np.asarray(spec.yi, float), np.asarray(spec.vi, float)
    z = _z(level)
    pct = f"{int(round(level * 100))}%"
    tf = safe_transf(transf)

    def t3(m: float, lo: float, hi: float) -> tuple[float, float, float]:
        return float(tf(m)), float(tf(lo)), float(tf(hi))

    def txt(m: float, lo: float, hi: float) -> str:
        return fmt_ci(m, lo, hi, digits, atransf, back=transf is not None)

    dep = getattr(spec, "dependence", None)
    names = [str(c) for c in spec.cluster_names]
    within = ([str(dep.outcome_names[j]) for j in dep.outcome_index] if dep is not None and dep.multivariate
              else labels)
    cluster = np.asarray(spec.cluster_index, dtype=int)
    rows: list[Row] = []
    for c in pd.unique(cluster):
        rows.append(Row("header", names[c], bold=True))
        for i in np.flatnonzero(cluster == c):
            obs = t3(yi[i], yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i]))
            th = t3(*posterior.interval(f"theta[{labels[i]}]", level))
            rows.append(Row("study", f"   {within[i]}", *obs, size=20.0, second=th, texts=[txt(*obs), txt(*th)]))
    rows += (_regression_rows if spec.is_regression else _summary_rows)(posterior, spec, level, t3, txt)
    note = _parameter_note(posterior, level, digits)
    if note:
        rows.append(Row("note", note))
    legend = [
        (f"Observed effect [{pct} CI]", dict(marker="s", color="black", ls="-", lw=0.9, ms=5)),
        (f"Shrunken estimate: posterior median [{pct} CrI]", dict(marker="o", color="C0", ls="-", lw=1.2, ms=4)),
    ]
    mean = ("Mean per outcome" if dep is not None and dep.multivariate
            else "Mean effect of the level" if spec.is_regression else "Pooled effect")
    if any(r.kind == "diamond" for r in rows):
        legend.append((f"{mean} [{pct} CrI]", dict(marker="D", color="C3", ls="none", ms=6)))
    if spec.model != "common" and any(r.kind == "bar" for r in rows):
        legend.append((f"Prediction interval for a new study [{pct}]",
                       dict(kind="patch", facecolor="C1", edgecolor="C1", alpha=0.85)))
    ref = None if refline is None else float(tf(refline))
    return render(rows, columns=[f"Observed [{pct} CI]", f"Posterior [{pct} CrI]"],
                  xlabel=axis_label(spec.measure, xlabel, atransf, transf), title=title_of(posterior, title),
                  legend=legend, refline=ref, atransf=atransf, xlim=xlim, plot_width=plot_width, row_height=0.26,
                  width=figsize[0] if figsize else None, label_header="Study / effect")
