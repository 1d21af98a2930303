"""Plots of a Bayesian meta-analysis, as matplotlib Figures.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (so nothing opens a window, and any backend works, including Agg in
scripts and CI); pass ``ax=`` (where offered) to draw into your own axes.
Numbers come from the posterior (ArviZ for densities), drawing from matplotlib;
matplotlib and ArviZ are imported inside the functions.

- :func:`forest_plot` — observed effects with their 95% CI, the posterior of
  each study's true effect, the pooled effect (diamond) and the prediction
  interval for a new study (bar).
- :func:`prior_posterior_plot` — prior density against posterior density.
- :func:`trace_plot` — ArviZ trace plot.
- :func:`funnel_plot` — effects against their standard errors with the pseudo
  confidence region around the pooled estimate (frequentist fits and trim-and-fill).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from bayesma import measures

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bayesma.results import MetaPosterior

__all__ = ["forest_plot", "prior_posterior_plot", "trace_plot", "funnel_plot", "MEASURE_LABELS"]

#: x-axis label per effect measure
MEASURE_LABELS = {m.name: m.label for m in measures.MEASURES.values()}


def _new_figure(figsize: tuple[float, float]) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _median_eti(x: np.ndarray, lo_q: float, hi_q: float) -> tuple[float, float, float]:
    """Median and equal-tailed interval (quantiles *lo_q*, *hi_q*) of draws."""
    lo, hi = np.quantile(x, [lo_q, hi_q])
    return float(np.median(x)), float(lo), float(hi)


def _fmt_ci(m: float, lo: float, hi: float, digits: int) -> str:
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def forest_plot(
    posterior: "MetaPosterior",
    *,
    level: float = 0.95,
    ax: "Axes | None" = None,
    order: str | Sequence[str] | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    show_numbers: bool = True,
    digits: int = 2,
    figsize: tuple[float, float] | None = None,
) -> "Figure":
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
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2

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

    theta = posterior.draws("theta")
    th_med = np.median(theta, axis=0)
    th_lo, th_hi = np.quantile(theta, [lo_q, hi_q], axis=0)

    # pooled effect: mu, or x_new' beta for a meta-regression
    post = posterior.idata.posterior
    if "beta" in post:
        pooled = posterior.draws("beta") @ np.asarray(spec.x_new, float)
        pooled_label = "Pooled (at mean moderators)"
    else:
        pooled = posterior.draws("mu")
        pooled_label = "Pooled effect"
    pool = _median_eti(pooled, lo_q, hi_q)

    pred_rows: list[tuple[str, tuple[float, float, float]]] = []
    if spec.model != "common" and "theta_new" in post:
        tn = posterior.draws("theta_new")
        if tn.ndim == 1:
            pred_rows = [("Prediction (new study)", _median_eti(tn, lo_q, hi_q))]
        else:
            pred_rows = [(f"Prediction ({g})", _median_eti(tn[:, j], lo_q, hi_q)) for j, g in enumerate(spec.group_names)]

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


def _density(x: np.ndarray, bounded: bool) -> tuple[np.ndarray, np.ndarray]:
    from arviz.stats.density_utils import kde

    grid, pdf = kde(np.asarray(x, float), bound_correction=bounded)
    return np.asarray(grid), np.asarray(pdf)


def _panels(posterior: "MetaPosterior", var_names: Iterable[str]) -> list[tuple[str, str, str | None, Any]]:
    """(title, variable, label, prior) per panel."""
    spec = posterior.spec
    post = posterior.idata.posterior
    out = []
    for name in var_names:
        if name in ("mu", "beta") and "beta" in post:
            for j, c in enumerate(spec.coef_names):
                out.append((f"beta[{c}]", "beta", c, spec.location_prior(j)))
        elif name == "mu":
            out.append(("mu", "mu", None, spec.priors.get("mu")))
        elif name in post:
            out.append((name, name, None, spec.priors.get(name)))
        else:
            raise KeyError(f"no parameter {name!r} in the posterior")
    return out


def prior_posterior_plot(
    posterior: "MetaPosterior",
    var_names: Iterable[str] = ("mu", "tau"),
    *,
    figsize: tuple[float, float] | None = None,
) -> "Figure":
    """Prior density (exact, from the prior object) against the posterior density (KDE).

    Parameters
    ----------
    posterior : MetaPosterior
    var_names : iterable of str
        Parameters: ``"mu"`` (each coefficient for a meta-regression),
        ``"tau"`` (one curve per subgroup with ``tau_by``), ``"tau_within"``, ``"nu"``.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = post.plot_prior_posterior(("mu", "tau"))   # doctest: +SKIP
    """
    panels = _panels(posterior, var_names)
    n = len(panels)
    fig = _new_figure(figsize or (4.0 * n, 3.2))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (title, var, label, prior) in zip(axes, panels):
        x = posterior.draws(var, label)
        cols = [x] if x.ndim == 1 else [x[:, j] for j in range(x.shape[1])]
        names = [None] if x.ndim == 1 else [str(c) for c in posterior.idata.posterior[var].coords[posterior._var_dim(var)].values]
        heterogeneity = prior is not None and prior.is_heterogeneity
        bounded = heterogeneity or var == "nu"
        lo = min(float(np.quantile(c, 0.001)) for c in cols)
        hi = max(float(np.quantile(c, 0.999)) for c in cols)
        width = hi - lo if hi > lo else 1.0
        xmin, xmax = lo - 0.5 * width, hi + 0.5 * width
        if bounded:
            xmin = 0.0
        for j, (c, nm) in enumerate(zip(cols, names)):
            grid, pdf = _density(c, bounded)
            ax.plot(grid, pdf, color=f"C{j}", lw=1.6, label="posterior" + (f" ({nm})" if nm else ""))
        if prior is not None:
            if prior.support()[1] < np.inf:
                xmax = min(xmax, max(prior.support()[1], hi))
            g = np.linspace(max(xmin, 1e-9) if bounded else xmin, xmax, 400)
            dens = prior.pdf_tau(g) if heterogeneity else np.exp(prior.logpdf(g))
            ax.plot(g, dens, color="black", ls="--", lw=1.2, label=f"prior {prior!r}")
        ax.set_xlim(xmin, xmax)
        ax.set_title(title)
        ax.set_yticks([])
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def trace_plot(
    posterior: "MetaPosterior",
    var_names: Iterable[str] | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    **kwargs: Any,
) -> "Figure":
    """ArviZ trace plot (density and trace per parameter) in a new Figure.

    Parameters
    ----------
    posterior : MetaPosterior
    var_names : iterable of str, optional
        Default: ``mu`` (or ``beta``), ``tau``, ``tau_within``, ``nu``, ``theta_new``.
    figsize : (float, float), optional
    **kwargs
        Passed to :func:`arviz.plot_trace`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = post.plot_trace()      # doctest: +SKIP
    """
    import arviz as az

    post = posterior.idata.posterior
    if var_names is None:
        var_names = [v for v in ("mu", "beta", "tau", "tau_within", "nu", "theta_new") if v in post]
        if "beta" in post and "mu" in var_names:
            var_names.remove("mu")
    var_names = list(var_names)
    fig = _new_figure(figsize or (9.0, 2.0 * len(var_names) + 0.5))
    axes = fig.subplots(len(var_names), 2, squeeze=False)
    az.plot_trace(posterior.idata, var_names=var_names, axes=axes, compact=True, show=False, **kwargs)
    fig.tight_layout()
    return fig


def funnel_plot(
    result: Any,
    *,
    level: float = 0.95,
    measure: str | None = None,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.0, 5.0),
) -> "Figure":
    """Funnel plot: each effect against its standard error (metafor's ``funnel``).

    The y axis is the standard error, inverted so the most precise studies sit at
    the top; the white triangle is the pseudo confidence region
    ``estimate ± z sqrt(se² + tau²)`` around the pooled estimate, so in the absence
    of small-study effects about ``level`` of the studies fall inside it.

    Parameters
    ----------
    result : RMAResult or TrimFillResult
        A fit of :func:`bayesma.rma` (intercept-only) or :func:`bayesma.trimfill`;
        for trim-and-fill the imputed studies are drawn as open circles and the
        region is centred on the adjusted estimate.
    level : float
        Level of the pseudo confidence region.
    measure : str, optional
        Effect measure, for the x-axis label.
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    >>> fig = funnel_plot(res)
    """
    fit = getattr(result, "fit", result)
    if fit.p != 1:
        raise ValueError("funnel_plot needs an intercept-only model (no moderators)")
    k0 = int(getattr(result, "k0", 0) or 0)
    yi, se = np.asarray(fit.data.yi, float), np.sqrt(np.asarray(fit.data.vi, float))
    filled = np.zeros(yi.shape[0], dtype=bool)
    if k0:
        filled[-k0:] = True
    if ax is None:
        fig = _new_figure(figsize)
        ax = fig.add_subplot(1, 1, 1)
        fig.subplots_adjust(bottom=0.2 if k0 else 0.12)
    else:
        fig = ax.figure
    center, tau2 = float(fit.beta[0]), float(fit.tau2)
    z = _z(level)
    se_max = float(se.max()) * 1.05
    grid = np.linspace(0.0, se_max, 100)
    half = z * np.sqrt(grid**2 + tau2)
    ax.set_facecolor("#e8e8e8")
    ax.fill_betweenx(grid, center - half, center + half, color="white", zorder=0)
    ax.plot(center - half, grid, color="0.4", lw=0.8, ls="--")
    ax.plot(center + half, grid, color="0.4", lw=0.8, ls="--")
    ax.axvline(center, color="0.2", lw=1.0)
    ax.scatter(yi[~filled], se[~filled], s=28, color="black", zorder=3, label="observed")
    if k0:
        ax.scatter(yi[filled], se[filled], s=28, facecolor="white", edgecolor="black", zorder=3,
                   label=f"filled (trim and fill, k0 = {k0})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False, fontsize=8)
    ax.set_ylim(se_max, 0.0)
    span = max(np.max(np.abs(yi - center)), z * np.sqrt(se_max**2 + tau2)) * 1.1
    ax.set_xlim(center - span, center + span)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(MEASURE_LABELS.get(measure or "", "Observed effect"))
    return fig
