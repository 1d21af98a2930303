"""The posterior of a Bayesian fit behind one interface (:class:`Posterior`).

Every number a fit shows (summary, intervals, probabilities, forest plot, report, frequentist
comparison, command-line tables) comes from one object following :class:`Posterior`;
:class:`bayesma.MetaPosterior` delegates to it. Implementations:
:class:`DrawsPosterior` (posterior draws: NUTS) and :class:`MarginalPosterior` (exact marginals:
the exact engine, or :class:`GridMarginals` built from densities on grids or weighted draws).

Layout: :mod:`~bayesma.posterior.protocol` (the protocols), :mod:`~bayesma.posterior.draws`,
:mod:`~bayesma.posterior.marginal`, :mod:`~bayesma.posterior.grid`, :mod:`~bayesma.posterior.names`
(how quantities are named). This package never imports :mod:`bayesma.results` (which builds on it)
nor an engine: engines hand it their results.
"""

from __future__ import annotations

from .draws import DrawsPosterior
from .grid import GridMarginals, Marginal
from .marginal import MarginalPosterior
from .protocol import MOMENT_COLUMNS, SUMMARY_COLUMNS, MarginalSource, Posterior

__all__ = ["Posterior", "MarginalSource", "DrawsPosterior", "MarginalPosterior", "GridMarginals", "Marginal",
           "SUMMARY_COLUMNS", "MOMENT_COLUMNS"]
