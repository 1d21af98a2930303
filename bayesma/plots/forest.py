"""Forest plot of a Bayesian meta-analysis (observed, shrunken, pooled and predicted effects),
and the ArviZ forest plot of the study effects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from bayesma.errors import InputError

from ._common import _z, safe_transf, title_of
from ._forest_layout import Row, axis_label, fmt_ci, marker_sizes, order_index, render
from .forest_dependent import forest_dependent, is_dependent

__all__ = ["forest_plot", "arviz_forest"]


def _tau_weights(posterior: Any, vi: np.ndarray, level: float) -> tuple[np.ndarray, Any]:
    """Percentage weights 1/(v_i + tau^2) at the posterior median of tau (tau = 0: common effect)."""
    spec = posterior.spec
    if spec.model == "common":
        tau: Any = 0.0
    else:
        try:
            if getattr(spec, "scale", None) is not None:  # location-scale: each study's own tau_i
                tau = np.array([posterior.interval(f"tau[{lab}]", level)[0] for lab in spec.labels])
            elif spec.tau_by is not None:  # each study's own subgroup tau
                taus = np.array([posterior.interval(f"tau[{g}]", level)[0] for g in spec.group_names])
                tau = taus[np.asarray(spec.group_index, int)]
            else:
                tau = float(posterior.interval("tau", level)[0])
        except (KeyError, ValueError):
            return 100.0 * (1 / vi) / np.sum(1 / vi), None
    w = 1.0 / (vi + tau**2)
    return 100.0 * w / w.sum(), tau


def _study_intervals(posterior: Any, level: float, t3: Callable) -> dict[str, tuple[float, float]] | None:
    """Location-scale models: each study's own predictive interval (``posterior.study_predictions``)."""
    if getattr(posterior.spec, "scale", None) is None or not hasattr(posterior, "study_predictions"):
        return None
    table = posterior.study_predictions(level)
    return {str(lab): t3(r["median"], r["pi_lower"], r["pi_upper"])[1:] for lab, r in table.iterrows()}


def _heterogeneity_note(posterior: Any, level: float, digits: int) -> str:
    spec = posterior.spec
    pct = f"{int(round(level * 100))}%"
    if spec.model == "common":
        return "Common-effect model (\u03c4 = 0)"
    parts = []
    names = ["tau"] if spec.tau_by is None else [f"tau[{g}]" for g in spec.group_names]
    if getattr(spec, "scale", None) is not None:  # log tau_i = z_i' alpha
        names = [f"alpha[{c}]" for c in spec.scale_names]
    for nm in names:
        try:
            m, lo, hi = posterior.interval(nm, level)
        except KeyError:
            continue
        lab = "\u03c4" if nm == "tau" else nm.replace("alpha", "\u03b1") if nm.startswith("alpha") else \
            f"\u03c4[{nm[4:-1]}]"
        parts.append(f"{lab} = {fmt_ci(m, lo, hi, digits)}")
    if not parts:
        return ""
    residual = "beta" in getattr(getattr(posterior, "idata", None), "posterior", {})
    how = " with log \u03c4\u1d62 = z\u1d62'\u03b1" if getattr(spec, "scale", None) is not None else ""
    return (("Residual heterogeneity" if residual else "Heterogeneity") + how + ": " + "; ".join(parts)
            + f" (posterior median [{pct} CrI])")


def _moderator_rows(posterior: Any, study_rows: list[Row], level: float, t3: Callable, txt: Callable,
                    weights: np.ndarray, show_weights: bool, show_numbers: bool) -> tuple[list[Row], bool]:
    """A meta-regression: the studies in one block per level of categorical moderators, each with its mean
    effect (diamond) and a new study's interval (bar), from ``posterior.level_predictions``; with a
    continuous moderator (or no single between-study SD) the studies alone and a note."""
    from bayesma.cells import design_cells

    spec = posterior.spec
    cells = design_cells(spec.X, list(spec.coef_names), getattr(spec.meta, "data", None))
    table = None
    if cells is not None:
        try:
            table = posterior.level_predictions(level)
        except ValueError:  # tau_by / scale=: no single between-study SD
            table = None
    if table is None or cells is None:
        note = (f"Meta-regression ({', '.join(spec.coef_names[1:])}): no single pooled effect; see "
                "post.predict(newmods=...)")
        return [*study_rows, Row("note", note)], False
    by_label = {r.label: r for r in study_rows}
    order = [r.label for r in study_rows]
    labels = [str(lab) for lab in spec.labels]
    blank = [""] if show_weights else []
    rows: list[Row] = []
    has_pi = spec.model != "common"
    for c, (name, r) in enumerate(table.iterrows()):
        members = {labels[i] for i in np.flatnonzero(cells.index == c)}
        rows.append(Row("header", str(name), bold=True))
        rows += [by_label[lab] for lab in order if lab in members]
        m = t3(r["median"], r["eti_lower"], r["eti_upper"])
        w = float(np.asarray(weights)[cells.index == c].sum())
        rows.append(Row("diamond", f"Mean: {name} (k = {int(r['k'])})", *m, colour="C3",
                        texts=([f"{w:.1f}%"] if show_weights else []) + (["", txt(*m)] if show_numbers else [])))
        if has_pi:
            p = t3(r["median"], r["pi_lower"], r["pi_upper"])
            rows.append(Row("bar", "Prediction (new study)", *p, colour="C1",
                            texts=blank + (["", txt(*p)] if show_numbers else [])))
    return rows, has_pi


def forest_plot(
    posterior: Any,
    *,
    level: float = 0.95,
    order: str | Sequence[str] | None = None,
    transf: Callable | None = None,
    atransf: Callable | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    show_numbers: bool = True,
    show_weights: bool = True,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    plot_width: float = 3.2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of a Bayesian meta-analysis.

    One row per study (labels on the left): the observed effect ``yi`` with its ``level``
    confidence interval ``yi ± z sqrt(vi)`` (black square, area proportional to the weight)
    and, just below it, the posterior median and equal-tailed credible interval of the study's
    true effect ``theta`` (blue circle: the shrunken estimate). Below the studies: the pooled
    effect as a diamond spanning its credible interval (for a meta-regression, the effect at the
    mean moderator values), the predictive interval of a new study's effect ``theta_new`` as a
    bar (one per subgroup with ``tau_by``; none for a common-effect model) and the posterior of
    the heterogeneity SD tau. The columns on the right give the weight, the observed effect
    with its CI and the posterior interval. Every posterior interval is
    ``posterior.interval(name, level)`` (exact for ``engine="exact"``, the draws' equal-tailed
    quantiles for NUTS). The figure is ``row height x rows`` high: it grows linearly with k and
    no text overlaps. A meta-regression has no single pooled effect: with categorical moderators
    the studies are drawn in one block per level with that level's mean and prediction
    (``posterior.level_predictions``), with a continuous one no summary. Dependent effects
    (three-level or CHE models, with or without moderators, and multivariate models without them)
    are drawn by :func:`bayesma.plots.forest_dependent.forest_dependent`: each study's effects
    together and one diamond per outcome, or per level of categorical moderators (*order* and the
    weight column do not apply).

    Parameters
    ----------
    posterior : MetaPosterior
        Any object with ``spec`` and ``interval(name, prob) -> (median, lower, upper)``
        (names ``theta[<label>]``, ``pooled``, ``theta_new``, ``tau``).
    level : float
        Probability of all intervals (0.95).
    order : {"effect", "precision", "label"}, column name, or list of labels, optional
        Study order (default: data order; a column of the model's data; a leading "-" reverses).
    transf : callable, optional
        Transform every number before drawing, e.g. ``numpy.exp`` to draw odds ratios on a
        linear axis (metafor's ``transf``).
    atransf : callable, optional
        Draw on the analysis scale but label the axis and the numbers on the transformed scale,
        e.g. ``numpy.exp`` for odds ratios on a log axis (metafor's ``atransf``).
    xlabel : str, optional
        Default: the measure's label (its back-transformed quantity with transf/atransf).
    title : str, optional
    show_numbers : bool
        The observed and posterior interval columns.
    show_weights : bool
        The weight column: ``1/(v_i + tau^2)`` at the posterior median of tau (of the study's
        subgroup with ``tau_by``), in percent: the weights of the random-effects mean given tau.
    digits : int
        Decimals of the printed numbers.
    xlim : (float, float), optional
        Axis range on the drawn scale.
    refline : float or None
        Reference line (0 on the analysis scale; ``transf(0)`` is used with *transf*).
    plot_width : float
        Width of the plotting region in inches.
    figsize : (float, float), optional
        Only the width is used (the height follows the number of rows).

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Viechtbauer, W. (2010). metafor's ``forest.rma``. Röver, C. (2020). bayesmeta's ``forestplot``.

    Examples
    --------
    >>> import numpy as np
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat, labels="trial", measure="RR").fit(engine="exact", seed=1)
    >>> fig = post.forest(order="effect", atransf=np.exp)   # log scale, labelled as risk ratios
    >>> fig.axes[0].get_xlabel()
    'Risk ratio (log scale)'
    """
    spec = posterior.spec
    if is_dependent(spec):  # effects nested in studies: each study's effects together
        if order is not None:
            raise InputError("order= does not apply to a model of dependent effects: each study's effects are "
                             "drawn together, studies in the data's order")
        return forest_dependent(posterior, level=level, transf=transf, atransf=atransf, xlabel=xlabel, title=title,
                                digits=digits, xlim=xlim, refline=refline, plot_width=plot_width, figsize=figsize)
    labels = [str(lab) for lab in spec.labels]
    yi, vi = np.asarray(spec.yi, float), np.asarray(spec.vi, float)
    z = _z(level)
    pct = f"{int(round(level * 100))}%"
    idx = order_index(order, labels, yi, vi, getattr(getattr(spec, "meta", None), "data", None))
    tf = safe_transf(transf)

    def t3(m: float, lo: float, hi: float) -> tuple[float, float, float]:
        return float(tf(m)), float(tf(lo)), float(tf(hi))

    def txt(m: float, lo: float, hi: float) -> str:
        return fmt_ci(m, lo, hi, digits, atransf, back=transf is not None)

    weights, _tau = _tau_weights(posterior, vi, level)
    sizes = marker_sizes(weights)
    own = _study_intervals(posterior, level, t3)  # location-scale: each study's own prediction interval
    rows: list[Row] = []
    for i in idx:
        lab = labels[i]
        obs = t3(yi[i], yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i]))
        th = t3(*posterior.interval(f"theta[{lab}]", level))
        texts = ([f"{weights[i]:.1f}%"] if show_weights else []) + ([txt(*obs), txt(*th)] if show_numbers else [])
        band = None if own is None else own[lab]
        if band is not None and show_numbers:
            texts.append(f"[{txt(band[0], band[0], band[1]).split(' [', 1)[1]}")
        rows.append(Row("study", lab, obs[0], obs[1], obs[2], weight=weights[i], size=sizes[i], second=th,
                        texts=texts, band=band))

    blank = [""] if show_weights else []
    has_beta = "beta" in getattr(getattr(posterior, "idata", None), "posterior", {})
    pred: list[tuple[str, tuple[float, float, float]]] = []
    has_pi = False
    if has_beta:  # no single pooled effect: one per level of categorical moderators, or none
        rows, has_pi = _moderator_rows(posterior, rows, level, t3, txt, weights, show_weights, show_numbers)
        pooled_label = "Mean effect of the level"
    else:
        pooled_label = "Pooled effect"
        pool = t3(*posterior.interval("pooled", level))
        rows.append(Row("diamond", pooled_label, *pool, colour="C3", bold=True,
                        texts=(["100%"] if show_weights else []) + (["", txt(*pool)] if show_numbers else [])))
    if spec.model != "common" and not has_beta:
        new = "Prediction (new study at mean z)" if own else "Prediction (new study)"
        names = [(new, "theta_new")] if spec.tau_by is None else \
            [(f"Prediction ({g})", f"theta_new[{g}]") for g in spec.group_names]
        for lab, nm in names:
            try:
                pred.append((lab, t3(*posterior.interval(nm, level))))
            except KeyError:
                pass
    for lab, p in pred:
        rows.append(Row("bar", lab, *p, colour="C1", texts=blank + (["", txt(*p)] if show_numbers else [])))
    note = _heterogeneity_note(posterior, level, digits)
    if note:
        rows.append(Row("note", note))

    columns = (["Weight"] if show_weights else []) + (
        [f"Observed [{pct} CI]", f"Posterior [{pct} CrI]"] + ([f"Own prediction [{pct}]"] if own else [])
        if show_numbers else [])
    for r in rows:  # summary rows: an empty cell under the study-specific column
        if own and show_numbers and r.kind in ("diamond", "bar"):
            r.texts = [*r.texts, ""]
    legend = [
        (f"Observed effect [{pct} CI] (area \u221d weight)", dict(marker="s", color="black", ls="-", lw=0.9, ms=5)),
        (f"Shrunken estimate: posterior median [{pct} CrI]", dict(marker="o", color="C0", ls="-", lw=1.2, ms=4)),
    ]
    if any(r.kind == "diamond" for r in rows):
        legend.append((f"{pooled_label} [{pct} CrI]", dict(marker="D", color="C3", ls="none", ms=6)))
    if pred or has_pi:
        legend.append((f"Prediction interval for a new study [{pct}]",
                       dict(kind="patch", facecolor="C1", edgecolor="C1", alpha=0.85)))
    if own:
        legend.append((f"A new study like this one (its own \u03c4\u1d62) [{pct}]",
                       dict(kind="patch", facecolor="C1", edgecolor="none", alpha=0.25)))
    ref = None if refline is None else float(tf(refline))
    return render(rows, columns=columns, xlabel=axis_label(spec.measure, xlabel, atransf, transf),
                  title=title_of(posterior, title),
                  legend=legend, refline=ref, atransf=atransf, xlim=xlim, plot_width=plot_width,
                  row_height=0.26, width=figsize[0] if figsize else None)


def arviz_forest(posterior: Any, *, var_names: Sequence[str] = ("theta",), level: float = 0.95,
                 r_hat: bool = True, ess: bool = True, **kwargs: Any) -> Figure:
    """ArviZ's forest plot of the study effects, with R-hat and ESS columns.

    ``az.plot_forest(posterior.idata, var_names=..., combined=True, hdi_prob=level,
    r_hat=r_hat, ess=ess)``: ArviZ's own view (highest-density intervals of the draws) for
    users who know ArviZ.

    Parameters
    ----------
    posterior : MetaPosterior
        Any object with ``idata`` (an ArviZ InferenceData with a posterior group).
    var_names : sequence of str
        Variables to show (default the study effects ``theta``).
    level : float
        ``hdi_prob`` of the intervals.
    r_hat, ess : bool
        Add the R-hat and effective sample size columns.
    **kwargs
        Passed to :func:`arviz.plot_forest`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat, labels="trial", measure="RR").fit(engine="exact", seed=1)
    >>> fig = arviz_forest(post, r_hat=False, ess=False)
    >>> len(fig.axes[0].get_yticklabels())   # one row per trial
    13
    """
    from bayesma._arviz import plot_forest

    if "figsize" not in kwargs:  # ArviZ's default height gives 200 rows 12 px each: the labels collide
        post = posterior.idata.posterior
        n = sum(int(post[v].size // max(post.sizes["chain"] * post.sizes["draw"], 1)) for v in var_names if v in post)
        kwargs["figsize"] = (10.0 if r_hat or ess else 6.0, max(2.6, 1.2 + 0.2 * n))
        kwargs.setdefault("textsize", 9.0)
    fig = plot_forest(posterior.idata, var_names, level, r_hat=r_hat, ess=ess, **kwargs)
    _fit_left_labels(fig)
    return fig


def _fit_left_labels(fig: Figure) -> None:
    """Widen the figure on the left until the row labels ArviZ draws fit on the canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    left = min([0.0] + [t.get_window_extent(renderer).x0 for ax in fig.axes for t in ax.get_yticklabels()
                        if t.get_text()])
    if left >= 0:
        return
    w, h = fig.get_size_inches()
    pad = (-left + 6) / fig.dpi  # inches to add on the left
    boxes = [ax.get_position() for ax in fig.axes]
    fig.set_size_inches(w + pad, h)
    for ax, b in zip(fig.axes, boxes):  # same sizes in inches, shifted right by pad
        ax.set_position([(b.x0 * w + pad) / (w + pad), b.y0, b.width * w / (w + pad), b.height])
