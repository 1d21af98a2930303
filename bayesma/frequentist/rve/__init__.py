"""Cluster-robust variance estimation (RVE) for fitted meta-analyses.

:mod:`~bayesma.frequentist.rve.working` (the fit's working model, blocked by cluster),
:mod:`~bayesma.frequentist.rve.sandwich` (CR0-CR3 and the Satterthwaite / HTZ degrees of
freedom, as clubSandwich), :mod:`~bayesma.frequentist.rve.robust` (metafor's ``robust()``)
and :mod:`~bayesma.frequentist.rve.verbs` (clubSandwich's ``coef_test`` and ``Wald_test``).
"""

from __future__ import annotations

from bayesma.frequentist.rve.robust import RobustResult, robust
from bayesma.frequentist.rve.sandwich import VCOV_TYPES
from bayesma.frequentist.rve.verbs import coef_test, wald_test

__all__ = ["robust", "RobustResult", "coef_test", "wald_test", "VCOV_TYPES"]
