"""Results of a Bayesian fit: :class:`MetaPosterior` and the tables it shows.

Layout: :mod:`~bayesma.results.posterior` (:class:`MetaPosterior`), :mod:`~bayesma.results.load` (:func:`load_posterior`),
:mod:`~bayesma.results.summary` (summary tables: where each number comes from, per engine;
the frequentist comparison), :mod:`~bayesma.results.diagnostics` (R-hat, ESS, divergences),
:mod:`~bayesma.results.expr` (probability statements), :mod:`~bayesma.results.io` (netCDF),
:mod:`~bayesma.results.model_checks` (LOO, WAIC, posterior predictive checks, ``compare_models``).
RoBMA's model-averaged result (:class:`~bayesma.bias.RoBMAResult`) is in :mod:`bayesma.bias`.
"""

from __future__ import annotations

from .diagnostics import MAX_R_HAT, MIN_ESS, Diagnostics, SamplingWarning
from .expr import _eval_expr
from .load import load_posterior
from .model_checks import LOOResult, PPCResult, compare_models
from .posterior import MetaPosterior
from .summary import SUMMARY_COLUMNS

__all__ = ["MetaPosterior", "LOOResult", "PPCResult", "compare_models", "Diagnostics", "SamplingWarning", "load_posterior", "SUMMARY_COLUMNS", "MAX_R_HAT",
           "MIN_ESS", "_eval_expr"]
