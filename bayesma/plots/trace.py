"""Trace plots (ArviZ)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from bayesma._arviz import plot_trace

from ._common import _new_figure
from ._layout import settle_layout


def trace_plot(
    posterior: Any,
    var_names: Iterable[str] | None = None,
    *,
    figsize: tuple[float, float] | None = None,
    **kwargs: Any,
) -> Figure:
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
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat, labels="trial", measure="RR").fit(engine="exact", seed=1)
    >>> fig = post.plot_trace()      # the exact engine's independent draws; NUTS shows its chains
    >>> [ax.get_title() for ax in fig.axes]
    ['mu', 'mu', 'tau', 'tau', 'theta_new', 'theta_new']
    """
    post = posterior.posterior
    if var_names is None:
        var_names = [v for v in ("mu", "beta", "tau", "tau_within", "nu", "theta_new") if v in post]
        if "beta" in post and "mu" in var_names:
            var_names.remove("mu")
    var_names = list(var_names)
    fig = _new_figure(figsize or (9.0, 2.0 * len(var_names) + 0.5))
    axes = fig.subplots(len(var_names), 2, squeeze=False)
    plot_trace(posterior.idata, var_names, axes, **kwargs)
    settle_layout(fig)
    return fig
