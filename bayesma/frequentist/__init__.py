"""Frequentist meta-analysis with metafor's numbers; imports nothing Bayesian.

Modules: :mod:`~bayesma.frequentist.uni` (:func:`rma`, metafor's ``rma.uni``),
:mod:`~bayesma.frequentist.mv` (:func:`rma_mv`, ``rma.mv`` with effects nested in
clusters), :mod:`~bayesma.frequentist.subgroups`, :mod:`~bayesma.frequentist.bias`
(publication bias: ``regtest``, ``trimfill``, :func:`selmodel`, PET-PEESE, fail-safe N,
Henmi-Copas, rank test), :mod:`~bayesma.frequentist.mh` (Mantel-Haenszel and Peto),
:mod:`~bayesma.frequentist.tau2` (the tau² estimators, Q and the Q-profile interval, for one data set or a batch),
:mod:`~bayesma.frequentist.inference` (the ``test=`` options: z, t, Knapp-Hartung, which fit takes which) and
:mod:`~bayesma.frequentist.batch` (random-effects fits of many data sets at once).
"""

from __future__ import annotations

from bayesma.frequentist._common import METHODS, TESTS, wald_tests
from bayesma.frequentist._printing import format_rma, moderator_test_text
from bayesma.frequentist.bias import (
    EggerResult,
    SelModelResult,
    TrimFillResult,
    egger_test,
    fsn,
    hc,
    pet_peese,
    ranktest,
    selmodel,
    trimfill,
)
from bayesma.frequentist.mv import RMAMVResult, blsplit, fit_rma_mv, rma_mv, vcalc
from bayesma.frequentist.subgroups import SubgroupResult, subgroup
from bayesma.frequentist.tau2 import q_profile_ci
from bayesma.frequentist.uni import RMAResult, fit_rma, rma

__all__ = [
    "rma", "RMAResult", "fit_rma", "subgroup", "SubgroupResult", "rma_mv", "RMAMVResult", "fit_rma_mv",
    "vcalc", "blsplit",
    "egger_test", "EggerResult", "trimfill", "TrimFillResult", "q_profile_ci", "wald_tests",
    "format_rma", "moderator_test_text", "METHODS", "TESTS",
    "selmodel", "SelModelResult", "pet_peese", "fsn", "hc", "ranktest",
]
