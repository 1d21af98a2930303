"""What a reviewer reads from a RoBMA ensemble: the per-model table, bias-class Bayes factors, I², prediction.

Functions of a fitted :class:`~bayesma.bias.result.RoBMAResult` (passed in, never imported:
the result calls them from its methods).

- :func:`model_table`: one row per model, its priors, prior and posterior probability, log
  marginal likelihood with its Monte Carlo error, and the posterior of mu, tau, PET, PEESE
  and the weights under that model (RoBMA's ``summary(fit, type = "models")`` and
  ``type = "individual"`` in one table).
- :func:`class_bayes_factor`: the inclusion Bayes factor of any set of models (the selection
  models, the PET-PEESE models) with its Monte Carlo error.
- :func:`heterogeneity_draws`: tau, tau², I² and H² per posterior draw. I² is Higgins and
  Thompson's ``tau² / (tau² + s²)`` with the typical within-study variance
  ``s² = (k - 1) sum(w) / (sum(w)² - sum(w²))``, ``w = 1 / se²``, both on the fitting scale
  (Fisher's z for standardized effects, where tau_z = tau_d / 2), as RoBMA's
  ``summary_heterogeneity``.
- :func:`prediction_draws`: the true effect of a new study, ``theta_new ~ N(mu, tau²)`` for
  every posterior draw of every model, averaged over the models (publication bias is a
  property of the published record, not of a new study's effect: PET/PEESE and the weights
  do not enter).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special

from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.importance_sampling import weighted_quantile
from bayesma.bias.scales import to_scale

__all__ = ["model_table", "class_bayes_factor", "heterogeneity_draws", "prediction_draws", "typical_variance"]


def class_bayes_factor(prior: np.ndarray, log_ml: np.ndarray, log_ml_se: np.ndarray, mask: np.ndarray,
                       n_boot: int = 400, seed: int = 1) -> dict:
    """Inclusion Bayes factor of the models in *mask* against all the others, with its MC error.

    Parameters
    ----------
    prior, log_ml, log_ml_se : numpy.ndarray of shape (m,)
        Prior model probabilities, log marginal likelihoods and their Monte Carlo errors.
    mask : numpy.ndarray of bool, shape (m,)
        The models of the class.
    n_boot : int
        Parametric-bootstrap replicates for the error of the log Bayes factor.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``models``, ``prior_prob``, ``post_prob``, ``inclusion_BF``, ``log_BF``, ``log_BF_se``.
    """
    p_in = float(prior[mask].sum())
    rng = np.random.default_rng(seed)
    boot = log_ml[None, :] + rng.standard_normal((n_boot, log_ml.size)) * np.nan_to_num(log_ml_se)[None, :]

    def lbf(lml):
        lp = lml + np.log(prior)
        return (special.logsumexp(lp[..., mask], axis=-1) - special.logsumexp(lp[..., ~mask], axis=-1)
                - math.log(p_in / (1 - p_in)))

    lp = log_ml + np.log(prior)
    post = np.exp(lp - special.logsumexp(lp))
    val = float(lbf(log_ml))
    return {"models": int(mask.sum()), "prior_prob": p_in, "post_prob": float(post[mask].sum()),
            "inclusion_BF": math.exp(val) if val < 709.0 else math.inf, "log_BF": val, "log_BF_se": float(np.std(lbf(boot)))}


def _summ(x: np.ndarray, w: np.ndarray, prefix: str) -> dict:
    if x is None:
        return {f"{prefix}_mean": math.nan, f"{prefix}_0.025": math.nan, f"{prefix}_0.975": math.nan}
    lo, hi = weighted_quantile(x, w, [0.025, 0.975])
    return {f"{prefix}_mean": float(np.sum(w * x)), f"{prefix}_0.025": float(lo), f"{prefix}_0.975": float(hi)}


def model_table(res, output_scale: str) -> pd.DataFrame:
    """Every model with its priors, probabilities, marginal likelihood and posterior summaries.

    Parameters
    ----------
    res : RoBMAResult
        The fitted ensemble.
    output_scale : str
        Canonical scale of mu, tau and PEESE (:func:`bayesma.bias.scales.check_scale`).

    Returns
    -------
    pandas.DataFrame
        Index ``model`` (1-based, RoBMA's order); columns ``effect``, ``heterogeneity``,
        ``bias`` (the priors; ``Spike(0)`` / ``""`` for the nulls), ``prior_prob``,
        ``post_prob``, ``log_ml``, ``log_ml_se``, ``inclusion_BF``, then ``mu_mean``,
        ``mu_0.025``, ``mu_0.975`` and the same for ``tau``, ``PET``, ``PEESE`` (NaN where
        the model fixes the parameter at its null: mu = 0 and tau = 0 are reported as 0), and
        ``omega`` (posterior means of the weights from the largest p-values to the smallest,
        as text; empty without a weight function).
    """
    rows = []
    for m, f in zip(res._defs, res._fits):
        w = f.weights
        row = {}
        for name, present in (("mu", True), ("tau", True), ("PET", isinstance(m.bias, PET)),
                              ("PEESE", isinstance(m.bias, PEESE))):
            x = f.draws.get(name) if present else None
            if x is None and name in ("mu", "tau"):
                x = np.zeros(w.size)
            row.update(_summ(None if x is None else to_scale(name, x, output_scale, res.transformation), w, name))
        if isinstance(m.bias, WeightFunction):
            row["omega"] = ", ".join(f"{v:.3f}" for v in w @ f.draws["omega"])
        else:
            row["omega"] = ""
        rows.append(row)
    cols = ["effect", "heterogeneity", "bias", "prior_prob", "post_prob", "log_ml", "log_ml_se", "inclusion_BF"]
    return pd.concat([res.models[cols], pd.DataFrame(rows, index=res.models.index)], axis=1)


def typical_variance(se: np.ndarray) -> float:
    """Higgins and Thompson's typical within-study variance ``(k - 1) sum(w) / (sum(w)^2 - sum(w^2))``."""
    w = 1.0 / np.asarray(se, float) ** 2
    return float((w.size - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum()))


def heterogeneity_draws(res, include: Callable | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """tau (prior scale), tau², I² and H² for every draw of the model-averaged (or conditional) posterior.

    Returns
    -------
    draws : dict of numpy.ndarray
        ``tau``, ``tau2`` (prior scale), ``I2`` (fraction), ``H2``.
    weights : numpy.ndarray
        Normalised weights of the draws.
    """
    tau, w = res._mixture("tau", include)
    fd = res.fit_data
    se, c_tau = (res.se, 1.0) if fd is None else (fd.se, fd.c_tau)
    s2 = typical_variance(se)
    tau_fit2 = (c_tau * tau) ** 2
    return {"tau": tau, "tau2": tau**2, "I2": tau_fit2 / (tau_fit2 + s2), "H2": (tau_fit2 + s2) / s2}, w


def prediction_draws(res, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Draws (prior scale) of a new study's true effect, ``mu + tau * e`` with ``e ~ N(0, 1)``, and their weights."""
    mu, w = res._mixture("mu")
    tau, _ = res._mixture("tau")
    rng = np.random.default_rng(seed)
    return mu + tau * rng.standard_normal(mu.size), w
