"""Frequentist publication-bias methods with metafor's numbers.

- :mod:`~bayesma.frequentist.bias.funnel_asymmetry`: Egger's regression test (metafor's
  ``regtest``, :func:`egger_test`) and trim-and-fill (:func:`trimfill`);
- :mod:`~bayesma.frequentist.bias.small_study`: PET-PEESE, fail-safe N, the Henmi-Copas
  interval and the rank correlation test (:func:`pet_peese`, :func:`fsn`, :func:`hc`,
  :func:`ranktest`);
- :mod:`~bayesma.frequentist.bias.selection`: selection models (:func:`selmodel`), with the
  result in :mod:`~bayesma.frequentist.bias.selection_result` and the likelihood and optimiser
  in ``_selection_fit``.

The Bayesian publication-bias models (RoBMA) are in :mod:`bayesma.bias`.
"""

from __future__ import annotations

from bayesma.frequentist.bias.funnel_asymmetry import EggerResult, TrimFillResult, egger_test, trimfill
from bayesma.frequentist.bias.selection import SelModelResult, selmodel
from bayesma.frequentist.bias.small_study import (
    FsnResult,
    HCResult,
    PetPeeseResult,
    RankTestResult,
    fsn,
    hc,
    pet_peese,
    ranktest,
)

__all__ = ["egger_test", "EggerResult", "trimfill", "TrimFillResult", "selmodel", "SelModelResult",
           "pet_peese", "PetPeeseResult", "fsn", "FsnResult", "hc", "HCResult", "ranktest", "RankTestResult"]
