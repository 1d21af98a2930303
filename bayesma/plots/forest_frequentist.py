"""Forest plots of frequentist fits (metafor's ``forest.rma``) and of subgroup analyses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


from ._common import _z, measure_of, safe_transf, title_of
from ._forest_layout import Row, axis_label, fmt_ci, fmt_p, marker_sizes, order_index, render

__all__ = ["forest_rma", "forest_subgroup", "forest_glmm"]


def _pct(weight: float | None) -> str:
    if weight is None:
        return ""
    return "100%" if weight == 100.0 else f"{weight:.1f}%"


def _model_name(fit: Any) -> str:
    return "Common-effect model" if str(fit.method).upper() in ("FE", "EE", "CE") else f"Random-effects model ({fit.method})"


def _het_note(fit: Any, digits: int) -> str:
    df = int(fit.k - fit.p)
    q = f"Q({df}) = {fit.QE:.2f}, {fmt_p(float(fit.QEp))}" if df > 0 else "Q(0) = 0"
    if str(fit.method).upper() in ("FE", "EE", "CE"):
        return f"Heterogeneity: {q}; I\u00b2 = {fit.I2:.0f}%"
    return f"Heterogeneity: \u03c4\u00b2 = {fit.tau2:.{max(digits, 2) + 1}f}, I\u00b2 = {fit.I2:.0f}%, {q}"


def _effect_note(fit: Any, stat: Any = None) -> str:
    """The test of the effect: ``t(df)`` or ``z`` of the first coefficient (*stat*: its statistics,
    default ``fit.stat``; a GLMM fit names them ``zval``)."""
    name = "t" if fit.dfs is not None else "z"
    dfs = f"({fit.dfs})" if fit.dfs is not None else ""
    value = float((fit.stat if stat is None else stat)[0])
    return f"Test for overall effect: {name}{dfs} = {value:.2f}, {fmt_p(float(fit.pval[0]))}"


def _study_rows(fit: Any, idx: list[int], z: float, tf: Callable, txt: Callable, show_weights: bool,
                show_numbers: bool, weights: np.ndarray, sizes: np.ndarray) -> list[Row]:
    labels = [str(lab) for lab in fit.data.labels]
    yi, vi = np.asarray(fit.data.yi, float), np.asarray(fit.data.vi, float)
    rows = []
    for i in idx:
        m, lo, hi = (float(tf(v)) for v in (yi[i], yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i])))
        texts = ([f"{weights[i]:.1f}%"] if show_weights else []) + ([txt(m, lo, hi)] if show_numbers else [])
        rows.append(Row("study", labels[i], m, lo, hi, weight=weights[i], size=sizes[i], texts=texts))
    return rows


def _summary_rows(fit: Any, label: str, tf: Callable, txt: Callable, show_weights: bool, show_numbers: bool,
                  weight: float | None, colour: str, predict: bool, digits: int, bold: bool = True) -> list[Row]:
    m, lo, hi = (float(tf(v)) for v in (fit.beta[0], fit.ci_lb[0], fit.ci_ub[0]))
    rows = [Row("diamond", label, m, lo, hi, colour=colour, bold=bold,
                texts=([_pct(weight)] if show_weights else []) + ([txt(m, lo, hi)] if show_numbers else []))]
    if predict and fit.pi_lb is not None and str(fit.method).upper() not in ("FE", "EE", "CE") and fit.k > 1:
        plo, phi = float(tf(fit.pi_lb)), float(tf(fit.pi_ub))
        rows.append(Row("bar", "Prediction interval", m, plo, phi, colour="C1",
                        texts=([""] if show_weights else []) + ([txt(m, plo, phi)] if show_numbers else [])))
    rows.append(Row("note", _het_note(fit, digits)))
    return rows


def _legend(pct: str, diamond: str, colour: str, predict: bool, subgroups: bool = False,
            pi_label: str | None = None) -> list[tuple[str, Any]]:
    out = [(f"Observed effect [{pct} CI] (area \u221d weight)", dict(marker="s", color="black", ls="-", lw=0.9, ms=5))]
    if subgroups:
        out.append((f"Subgroup estimate [{pct} CI]", dict(marker="D", color="0.45", ls="none", ms=6)))
    out.append((f"{diamond} [{pct} CI]", dict(marker="D", color=colour, ls="none", ms=6)))
    if predict:
        which = f"; {pi_label}" if pi_label else ""  # the variant (RMAResult.pi_label), e.g. "t(12)"
        out.append((f"Prediction interval [{pct}{which}]", dict(kind="patch", facecolor="C1", edgecolor="C1",
                                                                 alpha=0.85)))
    return out


def _formatters(level: float, transf: Callable | None, atransf: Callable | None, digits: int):
    """``(pct, z, tf, txt)`` of a frequentist forest plot: the level as "95%", its normal
    quantile, the transformation of the axis values (identity by default) and the formatter
    of "estimate [CI]"."""
    pct = f"{int(round(level * 100))}%"
    z = _z(level)
    tf = safe_transf(transf)

    def txt(m: float, lo: float, hi: float) -> str:
        return fmt_ci(m, lo, hi, digits, atransf, back=transf is not None)

    return pct, z, tf, txt


def _columns(pct: str, show_weights: bool, show_numbers: bool) -> list[str]:
    """The text columns right of the plot."""
    return (["Weight"] if show_weights else []) + ([f"Estimate [{pct} CI]"] if show_numbers else [])


def forest_rma(
    result: Any,
    *,
    order: str | Sequence[str] | None = None,
    transf: Callable | None = None,
    atransf: Callable | None = None,
    measure: str | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    predict: bool = True,
    show_weights: bool = True,
    show_numbers: bool = True,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    plot_width: float = 3.2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of a frequentist (intercept-only) fit, as metafor's ``forest.rma``.

    One row per study: the observed effect with its confidence interval (square, area
    proportional to the study's weight in the model), the weight in percent and
    "estimate [CI]"; below, the pooled estimate as a diamond, the prediction interval as a
    bar (random-effects models), a heterogeneity line (tau², I², Q(df), p) and the test of
    the overall effect. The level is the fit's.

    Parameters
    ----------
    result : RMAResult
        An intercept-only fit of :func:`bayesma.rma` (``beta``, ``ci_lb``, ``pi_lb``, ``tau2``,
        ``I2``, ``QE``, ``QEp``, ``weights``, ``data`` ...).
    order : {"effect", "precision", "label"}, column name or list of labels, optional
        Study order (default: data order; a leading "-" reverses).
    transf, atransf : callable, optional
        As metafor: *transf* transforms every number and draws on the transformed scale;
        *atransf* draws on the analysis scale and labels axis and numbers transformed
        (``atransf=np.exp``: odds ratios on a log axis).
    measure : str, optional
        Effect measure for the axis label (default: the data's, when escalc named it).
    xlabel, title : str, optional
    predict : bool
        Draw the prediction interval.
    show_weights, show_numbers : bool
        The weight and "estimate [CI]" columns.
    digits : int
    xlim : (float, float), optional
    refline : float or None
        Reference line on the analysis scale (0).
    plot_width : float
        Width of the plotting region in inches.
    figsize : (float, float), optional
        Only the width is used.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A model with moderators has no single pooled estimate. When its moderators are all
    categorical (``mods="~ outcome"``) the studies are drawn in one block per level, each with
    that level's predicted effect (diamond) and prediction interval
    (``result.level_predictions()``); with a continuous moderator no summary is drawn, and a
    note points to ``result.predict(newmods=...)``.

    References
    ----------
    Viechtbauer, W. (2010). metafor 3.8-1, ``forest.rma``.

    Examples
    --------
    >>> import bayesma as bm, numpy as np
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], labels=list("ABCD"))
    >>> fig = res.forest(atransf=np.exp)
    """
    fit = result
    level = float(fit.level)
    pct, z, tf, txt = _formatters(level, transf, atransf, digits)
    if fit.p != 1:
        return _forest_moderators(fit, order=order, tf=tf, txt=txt, pct=pct, z=z, predict=predict,
                                  show_weights=show_weights, show_numbers=show_numbers, digits=digits,
                                  render_kw=dict(xlabel=axis_label(measure_of(fit, measure), xlabel, atransf, transf),
                                                 title=title_of(fit, title), atransf=atransf, xlim=xlim,
                                                 plot_width=plot_width, width=figsize[0] if figsize else None,
                                                 refline=None if refline is None else float(tf(refline))))

    labels = [str(lab) for lab in fit.data.labels]
    yi, vi = np.asarray(fit.data.yi, float), np.asarray(fit.data.vi, float)
    idx = order_index(order, labels, yi, vi, fit.data.data)
    weights = np.asarray(fit.weights, float)
    rows = _study_rows(fit, idx, z, tf, txt, show_weights, show_numbers, weights, marker_sizes(weights))
    rows += _summary_rows(fit, _model_name(fit), tf, txt, show_weights, show_numbers, 100.0, "C3", predict, digits)
    rows.append(Row("note", _effect_note(fit)))
    columns = _columns(pct, show_weights, show_numbers)
    has_pi = predict and str(fit.method).upper() not in ("FE", "EE", "CE") and fit.k > 1
    ref = None if refline is None else float(tf(refline))
    return render(rows, columns=columns, xlabel=axis_label(measure_of(fit, measure), xlabel, atransf, transf),
                  title=title_of(fit, title),
                  legend=_legend(pct, "Pooled estimate", "C3", has_pi, pi_label=getattr(fit, "pi_label", None)),
                  refline=ref, atransf=atransf,
                  xlim=xlim, plot_width=plot_width, width=figsize[0] if figsize else None)


def _moderator_note(fit: Any) -> str:
    """The test of the moderators: ``F(df1, df2)`` with a t test (``QMdf[1]`` set), else ``QM(df1)``."""
    df1 = fit.QMdf[0]
    stat = f"F({df1}, {fit.QMdf[1]})" if fit.QMdf[1] is not None else f"QM({df1})"
    return f"Test of moderators: {stat} = {fit.QM:.2f}, {fmt_p(float(fit.QMp))}"


def _forest_moderators(fit: Any, *, order: Any, tf: Callable, txt: Callable, pct: str, z: float, predict: bool,
                       show_weights: bool, show_numbers: bool, digits: int, render_kw: dict) -> Figure:
    """A model with moderators: a block per level of categorical moderators with its own summary, or
    (a continuous moderator) the studies alone with a pointer to ``predict(newmods=...)``."""
    from bayesma.cells import design_cells

    labels = [str(lab) for lab in fit.data.labels]
    yi, vi = np.asarray(fit.data.yi, float), np.asarray(fit.data.vi, float)
    idx = order_index(order, labels, yi, vi, fit.data.data)
    weights = np.asarray(fit.weights, float)
    sizes = marker_sizes(weights)
    cells = design_cells(fit.X, list(fit.coef_names), fit.data.data)
    has_pi = predict and str(fit.method).upper() not in ("FE", "EE", "CE")
    rows: list[Row] = []
    if cells is None:
        rows += _study_rows(fit, idx, z, tf, txt, show_weights, show_numbers, weights, sizes)
        rows.append(Row("note", f"Meta-regression ({', '.join(fit.coef_names[1:])}): no single pooled estimate; "
                                "see res.predict(newmods=...)"))
        has_pi = False
    else:
        table = fit.level_predictions()
        for c, (name, r) in enumerate(table.iterrows()):
            rows.append(Row("header", str(name), bold=True))
            rows += _study_rows(fit, [i for i in idx if cells.index[i] == c], z, tf, txt, show_weights, show_numbers,
                                weights, sizes)
            m, lo, hi = (float(tf(r[v])) for v in ("pred", "ci_lb", "ci_ub"))
            w = float(weights[cells.index == c].sum())
            rows.append(Row("diamond", f"Predicted: {name} (k = {int(r['k'])})", m, lo, hi, colour="C3",
                            texts=([_pct(w)] if show_weights else []) + ([txt(m, lo, hi)] if show_numbers else [])))
            if has_pi:
                plo, phi = float(tf(r["pi_lb"])), float(tf(r["pi_ub"]))
                rows.append(Row("bar", "Prediction interval", m, plo, phi, colour="C1",
                                texts=([""] if show_weights else []) + ([txt(m, plo, phi)] if show_numbers else [])))
    rows.append(Row("note", "Residual h" + _het_note(fit, digits)[1:]))
    rows.append(Row("note", _moderator_note(fit)))
    legend = _legend(pct, "Predicted effect of the level", "C3", has_pi)[: None if cells is not None else 1]
    return render(rows, columns=_columns(pct, show_weights, show_numbers), legend=legend, **render_kw)


def forest_subgroup(
    result: Any,
    *,
    overall: Any = None,
    order: str | Sequence[str] | None = None,
    transf: Callable | None = None,
    atransf: Callable | None = None,
    measure: str | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    predict: bool = False,
    show_weights: bool = True,
    show_numbers: bool = True,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    plot_width: float = 3.2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of a subgroup analysis: one block per subgroup with its own diamond.

    Each block: a bold header, its studies (weights within the subgroup), the subgroup's
    pooled estimate (grey diamond) and its heterogeneity line (tau², I², Q(df), p). Then the
    overall estimate (red diamond, from *overall*) and the test for subgroup differences
    (Q-between with separate tau² per subgroup, and the mixed-effects model's QM).

    Parameters
    ----------
    result : SubgroupResult
        From :func:`bayesma.subgroup` (``fits``, ``moderator``, ``Q_between``, ``mixed``).
    overall : RMAResult, optional
        The intercept-only fit of all studies (``SubgroupResult.forest`` passes it).
    order : str or list, optional
        Study order inside each subgroup (as :func:`forest_rma`).
    transf, atransf : callable, optional
        As :func:`forest_rma`: transform the estimates, or only the axis labels.
    measure, xlabel, title : str, optional
        As :func:`forest_rma`.
    predict : bool
        A prediction interval per subgroup.
    show_weights, show_numbers : bool
        The weight and estimate [CI] columns.
    digits : int
        Decimals of the numbers shown.
    xlim : (float, float), optional
        Limits of the effect axis; intervals beyond end in arrowheads.
    refline : float, optional
        A vertical reference line (the null effect).
    plot_width : float, optional
        Width of the plotting area in inches.
    figsize : (float, float), optional
        Figure size; by default the height follows the number of rows.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm, pandas as pd
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.35, -0.05, 0.2], "vi": [0.01, 0.02, 0.015, 0.03, 0.02],
    ...                    "g": ["a", "a", "b", "b", "b"]})
    >>> fig = bm.subgroup("yi", "vi", by="g", data=df).forest()
    """
    fits = result.fits
    first = next(iter(fits.values()))
    level = float(first.level)
    pct, z, tf, txt = _formatters(level, transf, atransf, digits)

    # weights within each subgroup, marker areas on one scale across subgroups (the overall weights)
    rows: list[Row] = []
    all_w = {}
    if overall is not None:
        all_w = dict(zip([str(lab) for lab in overall.data.labels], np.asarray(overall.weights, float)))
    top = max(all_w.values()) if all_w else None
    for g, fit in fits.items():
        labels = [str(lab) for lab in fit.data.labels]
        yi, vi = np.asarray(fit.data.yi, float), np.asarray(fit.data.vi, float)
        idx = order_index(order, labels, yi, vi, fit.data.data)
        w = np.asarray(fit.weights, float)
        sizes = np.maximum(6.0, 70.0 * np.array([all_w.get(lab, 0.0) for lab in labels]) / top) \
            if top else marker_sizes(w)
        rows.append(Row("header", f"{result.moderator} = {g}", bold=True))
        rows += _study_rows(fit, idx, z, tf, txt, show_weights, show_numbers, w, sizes)
        rows += _summary_rows(fit, f"Subgroup {g} (k = {fit.k})", tf, txt, show_weights, show_numbers, None,
                              "0.45", predict, digits, bold=False)
    if overall is not None:
        rows += _summary_rows(overall, f"Overall: {_model_name(overall)}", tf, txt, show_weights, show_numbers,
                              100.0, "C3", predict, digits)
    rows.append(Row("note", f"Test for subgroup differences: Q({result.Q_between_df}) = {result.Q_between:.2f}, "
                            f"{fmt_p(float(result.Q_between_p))}"))
    columns = _columns(pct, show_weights, show_numbers)
    ref = None if refline is None else float(tf(refline))
    has_pi = predict and any(str(f.method).upper() not in ("FE", "EE", "CE") for f in fits.values())
    legend = _legend(pct, "Overall estimate", "C3", has_pi, subgroups=True) if overall is not None else \
        _legend(pct, "Subgroup estimate", "0.45", has_pi)
    return render(rows, columns=columns, xlabel=axis_label(measure_of(first, measure), xlabel, atransf, transf),
                  title=title_of(getattr(result, "mixed", None), title), legend=legend, refline=ref, atransf=atransf, xlim=xlim, plot_width=plot_width,
                  width=figsize[0] if figsize else None)


def _glmm_notes(fit: Any) -> list[Row]:
    """The heterogeneity line (Wald and likelihood-ratio tests) and the test of the effect or the moderators."""
    df = f"{int(fit.QE_df)}" if np.isfinite(fit.QE_df) else "NA"
    tests = (f"Wald Q({df}) = {fit.QE_Wld:.2f}, {fmt_p(float(fit.QEp_Wld))}; "
             f"LRT({df}) = {fit.QE_LRT:.2f}, {fmt_p(float(fit.QEp_LRT))}")
    resid = "Residual heterogeneity" if fit.p > 1 else "Heterogeneity"
    het = (f"{resid}: \u03c4\u00b2 = {fit.tau2:.3f}, I\u00b2 = {fit.I2:.0f}%, {tests}" if fit.method == "ML"
           else f"{resid}: {tests}")
    # the tests of the moderators or the effect read as forest_rma's (t: QMdf[1] and dfs are set)
    return [Row("note", het), Row("note", _moderator_note(fit) if fit.p > 1 else _effect_note(fit, fit.zval))]


def forest_glmm(
    result: Any,
    *,
    order: str | Sequence[str] | None = None,
    transf: Callable | None = None,
    atransf: Callable | None = None,
    measure: str | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    show_numbers: bool = True,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    plot_width: float = 3.2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of a GLMM meta-analysis (:func:`bayesma.rma_glmm`), as metafor's ``forest`` of ``rma.glmm``.

    One row per study in the fit: its observed effect (metafor's ``escalc`` value, 1/2 added
    to the cells of a study with a zero cell) with its confidence interval, the square's area
    proportional to the study's precision (a GLMM gives no inverse-variance weights); below,
    the model's pooled estimate as a diamond (models without moderators), the heterogeneity
    line (tau², I², the Wald and likelihood-ratio tests) and the test of the effect (or of
    the moderators). The level is the fit's.

    Parameters
    ----------
    result : GLMMResult
        A fit of :func:`bayesma.rma_glmm` (``yi``, ``vi``, ``labels``, ``beta``, ``ci_lb``, ``ci_ub``, ...).
    order : {"effect", "precision", "label"} or list of labels, optional
        Study order (default: data order; a leading "-" reverses).
    transf, atransf : callable, optional
        As :func:`forest_rma` (``atransf=np.exp``: odds ratios on a log axis).
    measure : str, optional
        Effect measure for the axis label (default: the fit's).
    xlabel, title : str, optional
        Axis label and title.
    show_numbers : bool
        The "estimate [CI]" column.
    digits : int
        Decimals of the numbers shown.
    xlim : (float, float), optional
        Limits of the effect axis; intervals beyond end in arrowheads.
    refline : float or None
        Reference line on the analysis scale (0).
    plot_width : float
        Width of the plotting region in inches.
    figsize : (float, float), optional
        Only the width is used.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Viechtbauer, W. (2010). metafor 3.8-1, ``forest.rma`` (of ``rma.glmm`` objects).

    Examples
    --------
    >>> import bayesma as bm, numpy as np
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> fig = forest_glmm(res, atransf=np.exp)
    """
    fit = result
    pct, z, tf, txt = _formatters(float(fit.level), transf, atransf, digits)
    labels = [str(lab) for lab in fit.labels]
    yi, vi = np.asarray(fit.yi, float), np.asarray(fit.vi, float)
    sizes = marker_sizes(1.0 / vi)
    rows = []
    for i in order_index(order, labels, yi, vi):
        m, lo, hi = (float(tf(v)) for v in (yi[i], yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i])))
        rows.append(Row("study", labels[i], m, lo, hi, size=sizes[i], texts=[txt(m, lo, hi)] if show_numbers else []))
    legend = [(f"Observed effect [{pct} CI] (area \u221d precision)",
               dict(marker="s", color="black", ls="-", lw=0.9, ms=5))]
    if fit.p == 1:
        kind = "Random-effects model" if fit.method == "ML" else "Common-effect model"
        name = f"{kind} (GLMM, {fit.model})" if fit.measure in ("OR", "IRR") else f"{kind} (GLMM)"
        m, lo, hi = (float(tf(v)) for v in (fit.beta[0], fit.ci_lb[0], fit.ci_ub[0]))
        rows.append(Row("diamond", name, m, lo, hi, colour="C3", bold=True,
                        texts=[txt(m, lo, hi)] if show_numbers else []))
        legend.append((f"Pooled estimate [{pct} CI]", dict(marker="D", color="C3", ls="none", ms=6)))
    else:
        rows.append(Row("note", f"Meta-regression ({', '.join(fit.coef_names[1:])}): no single pooled estimate"))
    rows += _glmm_notes(fit)
    return render(rows, columns=[f"Estimate [{pct} CI]"] if show_numbers else [],
                  xlabel=axis_label(measure_of(fit, measure), xlabel, atransf, transf), title=title, legend=legend,
                  refline=None if refline is None else float(tf(refline)), atransf=atransf, xlim=xlim,
                  plot_width=plot_width, width=figsize[0] if figsize else None)
