"""Plots of a Bayesian meta-analysis, as matplotlib Figures.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (so nothing opens a window, and any backend works, including Agg in
scripts and CI); pass ``ax=`` (where offered) to draw into your own axes.
Numbers come from the posterior (ArviZ for densities), drawing from matplotlib;
matplotlib and ArviZ are imported inside the functions.

- :func:`forest_plot` — observed effects with their 95% CI, the posterior of
  each study's true effect, the pooled effect (diamond) and the prediction
  interval for a new study (bar).
- :func:`forest_rma`, :func:`forest_subgroup`, :func:`forest_glmm` — metafor-style forest plots of
  frequentist fits, subgroup analyses and GLMM fits (weights, heterogeneity line, subgroup diamonds).
- :func:`forest_grouped` — several effects per study: one block per study, pooled estimates per
  outcome with model-based and cluster-robust intervals.
- :func:`arviz_forest` — ArviZ's forest plot of the study effects with R-hat and ESS.
- :func:`prior_posterior_plot` — prior density against posterior density.
- :func:`trace_plot` — ArviZ trace plot.
- :func:`funnel_plot` — effects against their standard errors with the pseudo
  confidence region around the pooled estimate (frequentist fits and trim-and-fill).
- :func:`simulation_plot` — coverage and interval width of a small-k simulation.
- :func:`selection_plot` — the estimated selection function of a selection model.
- :func:`robma_mu_plot`, :func:`weightfunction_plot` — a robust Bayesian meta-analysis: the
  model-averaged mu with its spike at 0, and the weight function (``RoBMAResult.plot_mu`` ...).
- :func:`influence_plot`, :func:`baujat_plot`, :func:`steps_plot` — influence diagnostics,
  Baujat plot (from :func:`bayesma.baujat_values`), leave-one-out and cumulative analyses.

Result objects reach these functions from their plot methods, which import the plotting
function inside the method (``res.funnel()`` imports :func:`funnel_plot` when called), so
importing a computing package never imports matplotlib.

Plots import nothing that computes (not :mod:`bayesma.frequentist`, ``results``, ``models``,
``exact``, ``bias``, ``sensitivity``; ``tests/test_architecture.py`` checks it): they take
arrays, tables or duck-typed results (an object with ``spec``, ``idata``,
``draws(name, label)``...).
"""

from __future__ import annotations

from ._common import MEASURE_LABELS
from .forest import arviz_forest, forest_plot
from .forest_frequentist import forest_glmm, forest_rma, forest_subgroup
from .forest_grouped import forest_grouped
from .funnel import funnel_plot
from .influence import baujat_plot, influence_plot, steps_plot
from .priors import prior_posterior_plot
from .robma import robma_mu_plot, weightfunction_plot
from .selection import selection_plot
from .simulation import simulation_plot
from .trace import trace_plot

__all__ = ["forest_plot", "forest_rma", "forest_subgroup", "forest_glmm", "forest_grouped", "arviz_forest", "prior_posterior_plot", "trace_plot", "funnel_plot", "selection_plot", "simulation_plot", "influence_plot",
           "steps_plot", "baujat_plot", "robma_mu_plot", "weightfunction_plot", "MEASURE_LABELS"]
