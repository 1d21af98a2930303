"""Checking a fitted model: pointwise log-likelihood, replicated data, predictive discrepancy.

The log-likelihood of study i is its marginal one, the random effect integrated out:
``log N(y_i | x_i' beta, v_i + tau_i^2)`` at each posterior draw (``tau_i`` is tau, the
subgroup's tau with ``tau_by``, the study's with a location-scale model; 0 for a common-effect
model). Leave-one-out cross-validation with it predicts each study's observed effect from the
others, ``p(y_i | y_-i)``: the quantity the exact engine computes as a ratio of marginal
likelihoods, ``p(y) / p(y_-i)``, and that PSIS-LOO (:func:`bayesma._arviz.loo`) estimates
from one fit's draws. The computations here are the same for every engine, since they read
only the posterior draws of ``mu``/``beta`` and ``tau``; the Student-t random-effects and the
multilevel models (whose marginal likelihood is no product over studies) are refused.

Publication-bias fits (``bias=``) use their own likelihood (:mod:`bayesma.posterior.bias_terms`):
the PET/PEESE shift of the mean, and a selection model's weight of the study's p-value interval
over its normalising constant; their replicates are drawn from that density.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.errors import UnsupportedModelError
from bayesma.posterior.bias_terms import log_selection_draws, shift_draws, weighted_normal_draws

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

__all__ = ["check_supported", "location_draws", "total_sd_draws", "pointwise_loglik", "replicate",
           "ppc_statistics"]

_LOG_2PI = float(np.log(2 * np.pi))


def check_supported(spec: Any, what: str) -> ModelSpec:
    """The spec, if its likelihood is a product over studies of normal marginals; else an error."""
    from bayesma.spec import ModelSpec

    if not isinstance(spec, ModelSpec):
        raise UnsupportedModelError(f"{what} is implemented for MetaAnalysis fits of one effect per study; "
                                    "use bm.leave_one_out for exact refits of this model")
    if spec.likelihood != "normal":
        raise UnsupportedModelError(f"{what} needs the normal random-effects model (the Student-t random effects "
                                    "have no closed-form marginal likelihood); use bm.leave_one_out")
    if spec.cluster_index is not None:
        raise UnsupportedModelError(f"{what} with clusters: the studies of a cluster are not independent given "
                                    "the parameters, so leaving out one effect is not leaving out one study; "
                                    "use bm.leave_one_out with the cluster as the unit")
    return spec


def _flat(arr: Any) -> np.ndarray:
    """(chain, draw, ...) -> (chain * draw, ...)."""
    a = np.asarray(arr, dtype=float)
    return a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])


def location_draws(spec: ModelSpec, posterior: Any) -> np.ndarray:
    """``x_i' beta`` (or mu) at every draw: shape (S, k)."""
    if "beta" in posterior:
        return _flat(posterior["beta"].values) @ spec.X.T
    return np.repeat(_flat(posterior["mu"].values)[:, None], spec.k, axis=1)


def total_sd_draws(spec: ModelSpec, posterior: Any) -> np.ndarray:
    """``sqrt(v_i + tau_i^2)`` at every draw: shape (S, k)."""
    vi = spec.vi[None, :]
    if spec.model == "common" or "tau" not in posterior:
        n = int(posterior.sizes["chain"] * posterior.sizes["draw"])
        return np.sqrt(np.broadcast_to(vi, (n, spec.k)))
    tau = _flat(posterior["tau"].values)
    if tau.ndim == 1:
        tau_i = tau[:, None]
    elif spec.tau_by is not None and spec.group_index is not None:
        tau_i = tau[:, spec.group_index]
    else:  # location-scale: one tau per study
        tau_i = tau
    return np.sqrt(vi + tau_i**2)


def _marginal(spec: ModelSpec, posterior: Any) -> tuple[np.ndarray, np.ndarray]:
    """Location (the bias shift included) and SD of each study's marginal normal density, (S, k) each."""
    return location_draws(spec, posterior) + shift_draws(spec, posterior), total_sd_draws(spec, posterior)


def _conditional(spec: ModelSpec, posterior: Any) -> tuple[np.ndarray, np.ndarray]:
    """Location and SD of a new sampling error around the study's own effect, (S, k) each."""
    if "theta" not in posterior:
        raise UnsupportedModelError("this fit has no study effects (theta) to replicate conditionally on")
    loc = _flat(posterior["theta"].values) + shift_draws(spec, posterior)
    return loc, np.broadcast_to(np.sqrt(spec.vi)[None, :], loc.shape)


def pointwise_loglik(spec: ModelSpec, posterior: Any) -> np.ndarray:
    """The marginal log-likelihood of each study at each draw: shape (chain, draw, k)."""
    loc, sd = _marginal(spec, posterior)
    z = (spec.yi[None, :] - loc) / sd
    ll = -0.5 * (_LOG_2PI + z**2) - np.log(sd) + log_selection_draws(spec, posterior, loc, sd)
    return ll.reshape(int(posterior.sizes["chain"]), int(posterior.sizes["draw"]), spec.k)


def replicate(spec: ModelSpec, posterior: Any, kind: str, seed: int | None) -> np.ndarray:
    """Replicated effects, one set per draw: shape (S, k).

    ``kind="marginal"``: a new study effect and a new sampling error,
    ``y_rep_i ~ N(x_i' beta, v_i + tau_i^2)`` (checks the random-effects distribution);
    ``"conditional"``: a new sampling error around the study's own effect,
    ``y_rep_i ~ N(theta_i, v_i)`` (checks the sampling model only; always close to the data).
    With a bias component the mean carries the PET/PEESE shift, and a selection model's
    replicates come from its weighted density (rejection sampling).
    """
    rng = np.random.default_rng(seed)
    if kind == "marginal":
        loc, sd = _marginal(spec, posterior)
    elif kind == "conditional":
        loc, sd = _conditional(spec, posterior)
    else:
        raise UnsupportedModelError(f"kind={kind!r}: choose 'marginal' or 'conditional'")
    return weighted_normal_draws(spec, posterior, loc, sd, rng)


def ppc_statistics(spec: ModelSpec, posterior: Any, y_rep: np.ndarray, kind: str) -> dict[str, Any]:
    """Posterior predictive p-values: per study ``P(y_rep_i >= y_i)`` and for the discrepancy
    ``T(y, params) = sum_i (y_i - loc_i)^2 / sd_i^2`` (Gelman, Meng & Stern 1996), ``P(T(y_rep) >= T(y))``."""
    y = spec.yi[None, :]
    p_study = np.mean(y_rep >= y, axis=0)
    loc, sd = _marginal(spec, posterior) if kind == "marginal" else _conditional(spec, posterior)
    t_obs = np.sum(((y - loc) / sd) ** 2, axis=1)
    t_rep = np.sum(((y_rep - loc) / sd) ** 2, axis=1)
    return {"p_study": p_study, "t_obs": t_obs, "t_rep": t_rep, "p_discrepancy": float(np.mean(t_rep >= t_obs))}
