"""The figure of :meth:`bayesma.sensitivity.PriorComparison.plot`: posterior densities under several
priors, with the prior densities dashed, one panel per parameter (the pooled effect and tau; a
multivariate model across outcomes: the mean of each outcome, and tau).

The densities are computed by the caller (exact marginals or a kernel density estimate of draws);
this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._common import _new_figure
from ._layout import settle_layout

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["DensityPanel", "prior_comparison_plot"]


@dataclass(frozen=True)
class DensityPanel:
    """One panel: a grid ``x``, and per prior label the posterior density and (or None) the prior's.

    Attributes
    ----------
    xlabel : str
        The parameter, e.g. ``"mu[AL] (mean of outcome AL)"``.
    x : numpy.ndarray
        The grid, shape (n,).
    posterior : dict
        Label -> posterior density on ``x`` (None where the parameter is absent).
    prior : dict
        Label -> prior density on ``x`` (None where it is not drawn).
    zero_line : bool
        A vertical line at 0 (for effects).
    """

    xlabel: str
    x: np.ndarray
    posterior: dict = field(default_factory=dict)
    prior: dict = field(default_factory=dict)
    zero_line: bool = False


def prior_comparison_plot(panels: Sequence[DensityPanel], *, ncols: int | None = None, title: str = "",
                          figsize: tuple[float, float] | None = None) -> Figure:
    """Posterior densities under several priors (solid) with the prior densities (dashed).

    Parameters
    ----------
    panels : sequence of DensityPanel
        One per parameter, drawn left to right, top to bottom.
    ncols : int, optional
        Panels per row (default: all in one row).
    title : str
        The figure's title.
    figsize : (float, float), optional
        Default 5.5 x 4.2 inches per panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from bayesma.plots.prior_comparison import DensityPanel, prior_comparison_plot
    >>> x = np.linspace(-2, 2, 50)
    >>> d = np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)
    >>> fig = prior_comparison_plot([DensityPanel("mu", x, {"N(0,1)": d}, {"N(0,1)": d}, zero_line=True)])
    >>> len(fig.axes)
    1
    """
    n = len(panels)
    ncols = n if ncols is None else max(1, min(int(ncols), n))
    nrows = int(np.ceil(n / ncols))
    fig = _new_figure(figsize or (5.5 * ncols, 4.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    labels = list(dict.fromkeys(lab for p in panels for lab in p.posterior))
    colors = [f"C{i % 10}" for i in range(len(labels))]
    for ax, panel in zip(axes, panels):
        for label, col in zip(labels, colors):
            post = panel.posterior.get(label)
            if post is not None:
                ax.plot(panel.x, post, color=col, label=label)
            prior = panel.prior.get(label)
            if prior is not None:
                ax.plot(panel.x, prior, color=col, ls="--", lw=0.9, alpha=0.8)
        if panel.zero_line:
            ax.axvline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel("density")
        ax.set_ylim(bottom=0)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[n - 1].legend(fontsize="small", title="posterior (solid), prior (dashed)", title_fontsize="small")
    if title:
        fig.suptitle(title)
    settle_layout(fig)
    return fig
