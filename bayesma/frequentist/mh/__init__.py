"""Mantel-Haenszel and Peto common-effect meta-analysis (metafor's ``rma.mh`` and ``rma.peto``).

- :mod:`~bayesma.frequentist.mh.fit`: :func:`rma_mh` and :func:`rma_peto`;
- :mod:`~bayesma.frequentist.mh.result`: :class:`MHResult` and what both fits share (input
  tables, zero-cell options, heterogeneity test, fit statistics).
"""

from __future__ import annotations

from bayesma.frequentist.mh.fit import rma_mh, rma_peto
from bayesma.frequentist.mh.result import MHResult

__all__ = ["rma_mh", "rma_peto", "MHResult"]
