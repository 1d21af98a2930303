"""Marginal likelihoods and posteriors of publication-bias models without MCMC (RoBMA's ensemble).

Layout:

- :mod:`~bayesma.bias_exact.likelihood`: the likelihood of every model (no bias,
  PET, PEESE, one- and two-sided step-function selection models with the per-study
  normalising constant in closed form), vectorised over parameter draws; Cohen's d
  to Fisher's z and the cut points as RoBMA computes them.
- :mod:`~bayesma.bias_exact.components`: the priors (``InverseGammaTau``,
  :class:`WeightFunction` with its cumulative-Dirichlet prior, :class:`PET`,
  :class:`PEESE`) and RoBMA-PSMA's default components.
- :mod:`~bayesma.bias_exact.models`: one model (:class:`ModelDef`): unconstrained
  parametrisation, log posterior, :func:`fit_model`.
- :mod:`~bayesma.bias_exact.integrate`: adaptive importance sampling with randomised
  quasi-Monte Carlo (marginal likelihood, its Monte Carlo error, weighted draws).

Every model has at most five parameters (mu, tau, and three weights or one
PET/PEESE coefficient), so importance sampling from a proposal fitted to the
posterior is accurate to about 0.001-0.003 on the log marginal likelihood with
20,000 draws; on dat.lehmann2018 the 36 marginal likelihoods agree with RoBMA's
bridge sampling to 0.012 (tests/test_robma.py).
"""

from bayesma.bias_exact.components import (
    PEESE,
    PET,
    InverseGammaTau,
    WeightFunction,
    bias_ensemble,
    psma_bias,
)
from bayesma.bias_exact.integrate import ModelFit, importance_sample, weighted_quantile
from bayesma.bias_exact.likelihood import cutoffs, d_to_z, loglik, se_d_to_z, z_to_d
from bayesma.bias_exact.models import FitData, ModelDef, fit_model

__all__ = ["PEESE", "PET", "InverseGammaTau", "WeightFunction", "bias_ensemble", "psma_bias",
           "ModelFit", "importance_sample", "weighted_quantile", "cutoffs", "d_to_z", "z_to_d",
           "loglik", "se_d_to_z", "FitData", "ModelDef", "fit_model"]
