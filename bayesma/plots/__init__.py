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

Plots never import :mod:`bayesma.results`, :mod:`bayesma.models` or :mod:`bayesma.exact`:
they take arrays, tables or duck-typed results (an object with ``spec``, ``idata``,
``draws(name, label)``...).
"""

from __future__ import annotations

from ._common import MEASURE_LABELS
from .forest import forest_plot
from .funnel import funnel_plot
from .priors import prior_posterior_plot
from .selection import selection_plot
from .trace import trace_plot

__all__ = ["forest_plot", "prior_posterior_plot", "trace_plot", "funnel_plot", "selection_plot", "MEASURE_LABELS"]
