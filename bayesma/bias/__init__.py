"""Bayesian publication-bias models without MCMC: robust Bayesian meta-analysis (RoBMA-PSMA).

Layout (each module imports only the ones above it):

- :mod:`~bayesma.bias.likelihood`: the likelihood of every model (no bias,
  PET, PEESE, one- and two-sided step-function selection models with the per-study
  normalising constant in closed form), vectorised over parameter draws; Cohen's d
  to Fisher's z and the cut points as RoBMA computes them.
- :mod:`~bayesma.bias.components`: the priors (``InverseGammaTau``,
  :class:`WeightFunction` with its cumulative-Dirichlet prior, :class:`PET`,
  :class:`PEESE`) and RoBMA-PSMA's default components.
- :mod:`~bayesma.bias.importance_sampling`: adaptive importance sampling with randomised
  quasi-Monte Carlo (marginal likelihood, its Monte Carlo error, weighted draws).
- :mod:`~bayesma.bias.model`: one model (:class:`ModelDef`): unconstrained
  parametrisation, log posterior, :func:`fit_model` (uses the two above).
- :mod:`~bayesma.bias.inputs`: the inputs RoBMA takes (d, r, z, logOR, OR, y with se, n
  or t) on the fitting scale, with RoBMA's cut-point rule for each.
- :mod:`~bayesma.bias.scales`: mu, tau and PEESE on d, r, z, logOR or OR (RoBMA's
  transformation of each draw).
- :mod:`~bayesma.bias.tables`: the per-model table, class Bayes factors, I² and the
  prediction for a new study.
- :mod:`~bayesma.bias.result`: :class:`RoBMAResult`, the model-averaged ensemble.
- :mod:`~bayesma.bias.ensemble`: :func:`robma`, which builds the ensemble, fits every
  model and averages them.

Every model has at most five parameters (mu, tau, and three weights or one
PET/PEESE coefficient), so importance sampling from a proposal fitted to the
posterior is accurate to about 0.001-0.003 on the log marginal likelihood with
20,000 draws; on dat.lehmann2018 the 36 marginal likelihoods agree with RoBMA's
bridge sampling to 0.012 (tests/bias/test_robma.py).
"""

from bayesma.bias.averaging import bma
from bayesma.bias.components import (
    PEESE,
    PET,
    InverseGammaTau,
    WeightFunction,
    bias_ensemble,
    psma_bias,
)
from bayesma.bias.ensemble import ensemble_models, robma
from bayesma.bias.extended_result import RoBMAExtResult
from bayesma.bias.importance_sampling import ModelFit, importance_sample, weighted_quantile
from bayesma.bias.likelihood import cutoffs, d_to_z, loglik, se_d_to_z, z_to_d
from bayesma.bias.model import FitData, ModelDef, fit_model
from bayesma.bias.result import RoBMAResult

__all__ = ["PEESE", "PET", "InverseGammaTau", "WeightFunction", "bias_ensemble", "psma_bias",
           "ModelFit", "importance_sample", "weighted_quantile", "cutoffs", "d_to_z", "z_to_d",
           "loglik", "se_d_to_z", "FitData", "ModelDef", "fit_model", "RoBMAResult", "robma", "ensemble_models",
           "bma", "RoBMAExtResult"]
