"""Generalized linear mixed models for counts (metafor's ``rma.glmm``).

- :mod:`~bayesma.frequentist.glmm.data`: the counts of each measure, checked, with metafor's drop rules;
- :mod:`~bayesma.frequentist.glmm.likelihood`: binomial-normal and Poisson-normal marginal
  log-likelihoods by adaptive Gauss-Hermite quadrature (pure numpy, reusable);
- :mod:`~bayesma.frequentist.glmm.hypergeometric`: the exact conditional likelihood of a 2x2 table;
- :mod:`~bayesma.frequentist.glmm.models`: which likelihood each (measure, model) uses;
- :mod:`~bayesma.frequentist.glmm.newton`: Newton-Raphson over per-study local parameters;
- :mod:`~bayesma.frequentist.glmm.heterogeneity`: saturated model, QE tests, I²;
- :mod:`~bayesma.frequentist.glmm.options`: metafor's coding, cor, add, to, drop00 and control, checked;
- :mod:`~bayesma.frequentist.glmm.fit`: one fit, metafor's numbers;
- :mod:`~bayesma.frequentist.glmm.result`: :class:`GLMMResult`;
- :mod:`~bayesma.frequentist.glmm.rma`: :func:`rma_glmm`.
"""

from __future__ import annotations

from bayesma.frequentist.glmm.result import GLMMResult
from bayesma.frequentist.glmm.rma import rma_glmm

__all__ = ["rma_glmm", "GLMMResult"]
