"""Prior density against posterior density."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from bayesma._arviz import kde
from bayesma.errors import UnknownParameterError

from ._common import _new_figure, title_of


def _density(x: np.ndarray, bounded: bool) -> tuple[np.ndarray, np.ndarray]:
    return kde(np.asarray(x, float), bounded)


def _panels(posterior: Any, var_names: Iterable[str]) -> list[tuple[str, str, str | None, Any]]:
    """(title, variable, label, prior) per panel."""
    spec = posterior.spec
    post = posterior.posterior
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
            raise UnknownParameterError(f"no parameter {name!r} in the posterior")
    return out


def prior_posterior_plot(
    posterior: Any,
    var_names: Iterable[str] = ("mu", "tau"),
    *,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Prior density (exact, from the prior object) against the posterior density.

    The posterior curve is ``posterior.density(name, x)`` when the posterior offers it
    (exact for ``engine="exact"``), else a kernel density estimate of the draws.

    Parameters
    ----------
    posterior : MetaPosterior
    var_names : iterable of str
        Parameters: ``"mu"`` (each coefficient for a meta-regression),
        ``"tau"`` (one curve per subgroup with ``tau_by``), ``"tau_within"``, ``"nu"``.
    figsize : (float, float), optional
    title : str, optional
        Title above the panels (default: the subset the fit was made on, e.g.
        ``"outcome = dropout"`` for a fit of :func:`bayesma.fit_many`).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat, labels="trial", measure="RR").fit(engine="exact", seed=1)
    >>> fig = post.plot_prior_posterior(("mu", "tau"))
    >>> [ax.get_title() for ax in fig.axes]
    ['mu', 'tau']
    """
    suptitle = title_of(posterior, title)
    panels = _panels(posterior, var_names)
    n = len(panels)
    fig = _new_figure(figsize or (4.0 * n, 3.6))
    axes = fig.subplots(1, n, squeeze=False)[0]
    n_leg = 1
    for ax, (title, var, label, prior) in zip(axes, panels):
        x = posterior.draws(var, label)
        cols = [x] if x.ndim == 1 else [x[:, j] for j in range(x.shape[1])]
        da = posterior.posterior[var]
        dim = next((d for d in da.dims if d not in ("chain", "draw")), None)
        names = [None] if x.ndim == 1 else [str(c) for c in da.coords[dim].values]
        heterogeneity = prior is not None and prior.is_heterogeneity
        bounded = heterogeneity or var == "nu"
        lo = min(float(np.quantile(c, 0.001)) for c in cols)
        hi = max(float(np.quantile(c, 0.999)) for c in cols)
        width = hi - lo if hi > lo else 1.0
        xmin, xmax = lo - 0.5 * width, hi + 0.5 * width
        if bounded:
            xmin = 0.0
        for j, (c, nm) in enumerate(zip(cols, names)):
            row = title if nm is None else f"{var}[{nm}]"
            grid = np.linspace(max(xmin, 1e-9) if bounded else xmin, xmax, 400)
            dens = getattr(posterior, "density", lambda *_: None)(row, grid)
            if dens is None:  # the posterior has no density of its own (draws): a kernel density estimate
                grid, dens = _density(c, bounded)
            ax.plot(grid, dens, color=f"C{j}", lw=1.6, label="posterior" + (f" ({nm})" if nm else ""))
        if prior is not None:
            if prior.support()[1] < np.inf:
                xmax = min(xmax, max(prior.support()[1], hi))
            g = np.linspace(max(xmin, 1e-9) if bounded else xmin, xmax, 400)
            dens = prior.pdf_tau(g) if heterogeneity else np.exp(prior.logpdf(g))
            ax.plot(g, dens, color="black", ls="--", lw=1.2, label=f"prior {prior!r}")
        ax.set_xlim(xmin, xmax)
        ax.set_title(title)
        ax.set_yticks([])
        n_leg = max(n_leg, len(ax.get_legend_handles_labels()[1]))
    # legends below the panels (never over a curve): a fixed band of one line per entry
    height = fig.get_figheight()
    band = 0.15 + 0.17 * n_leg
    if suptitle:
        fig.suptitle(suptitle, y=1 - 0.08 / height, va="top", fontsize=11)
    fig.subplots_adjust(left=0.05, right=0.97, top=1 - (0.65 if suptitle else 0.35) / height, bottom=(0.3 + band) / height, wspace=0.15)
    for ax in axes:
        axes_h = height - 0.65 - band
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28 / axes_h), ncol=1,
                  fontsize=7, frameon=False, borderaxespad=0.0)
    return fig
