"""The publication-bias terms of a study's marginal likelihood, at every posterior draw (numpy).

For a fit with ``bias=`` (:class:`bayesma.models.bias.BiasedSpec`) the observed effect of study i
has the density of the PyMC model in :mod:`bayesma.models.bias`:

- PET / PEESE: ``y_i ~ N(x_i' beta + b * se_i, v_i + tau^2)`` (``b * v_i`` for PEESE), so the
  location of the marginal density is shifted by :func:`shift_draws`;
- a step-function selection model: that normal density times ``omega_{j(i)} / A_i``, where
  ``j(i)`` is the interval of the study's (one- or two-sided) p-value, the cut points mapped to
  the effect scale through the study's standard error (``z_{1 - p} se_i``, metafor's
  ``selmodel`` convention) and ``A_i = sum_j omega_j P(Y_i in interval j)``
  (:func:`log_selection_draws`). Replicates from that weighted density are drawn by rejection
  (:func:`weighted_normal_draws`): a normal draw is kept with probability ``omega_j / max omega``.

The normalising constant is written here as a sum over intervals of normal-CDF differences
(the PyMC model writes it as a sum of normal tails over the Dirichlet increments), so the two
are independent evaluations of the same likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.likelihood import cutoffs, interval_index
from bayesma.errors import UnsupportedModelError

__all__ = ["shift_draws", "selection_cutpoints", "log_selection_draws", "weighted_normal_draws"]

#: rounds of rejection sampling before a replicate is refused (each round keeps a draw with
#: probability omega_j / max omega of the interval it fell in)
MAX_REJECTION_ROUNDS = 500
_ALL = slice(None)


def _flat(arr: Any) -> np.ndarray:
    a = np.asarray(arr, dtype=float)
    return a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])


def shift_draws(spec: Any, posterior: Any, studies: slice = _ALL) -> np.ndarray | float:
    """The PET (``b * se_i``) or PEESE (``b * v_i``) shift of each study's mean, shape (S, k) (or
    (S, c) for the studies in the slice *studies*); 0 otherwise."""
    bias = getattr(spec, "bias", None)
    if not isinstance(bias, (PET, PEESE)):
        return 0.0
    if bias.kind not in posterior:
        raise UnsupportedModelError(f"this {bias.kind} fit has no draws of its coefficient {bias.kind!r}")
    vi = np.asarray(spec.vi, dtype=float)[studies]
    regressor = np.sqrt(vi) if isinstance(bias, PET) else vi
    return _flat(posterior[bias.kind].values)[:, None] * regressor[None, :]


def selection_cutpoints(spec: Any, studies: slice = _ALL) -> np.ndarray:
    """Ascending cut points of each study on the effect scale (``|y|`` two-sided), shape (k, J - 1)
    (or (c, J - 1) for the studies in the slice *studies*)."""
    bias = spec.bias
    yi, vi = np.asarray(spec.yi, float)[studies], np.asarray(spec.vi, float)[studies]
    return cutoffs(yi, np.sqrt(vi), bias.steps, bias.sides, "GEN")


def _omega(posterior: Any) -> np.ndarray:
    if "omega" not in posterior:
        raise UnsupportedModelError("this selection-model fit has no draws of the weights 'omega'")
    return _flat(posterior["omega"].values)


def log_selection_draws(spec: Any, posterior: Any, mean: np.ndarray, sd: np.ndarray,
                        studies: slice = _ALL) -> np.ndarray:
    """``log omega_{j(i)} - log A_i`` at every draw, shape (S, k), for a selection model; 0 otherwise.

    *mean*, *sd*: the location and SD of the study's normal density, shape (S, k), or (S, c) for
    the studies in the slice *studies*.
    """
    bias = getattr(spec, "bias", None)
    if not isinstance(bias, WeightFunction):
        return np.zeros(np.shape(mean))
    omega = _omega(posterior)  # (S, J), omega[:, 0] for the largest p-values
    crit = selection_cutpoints(spec, studies)  # (c, J - 1)
    below = special.ndtr((crit[None, :, :] - mean[..., None]) / sd[..., None])  # P(Y < c_ij)
    if bias.sides == "two":  # P(|Y| < c_ij)
        below = below - special.ndtr((-crit[None, :, :] - mean[..., None]) / sd[..., None])
    n, k = mean.shape
    edges = np.concatenate([np.zeros((n, k, 1)), below, np.ones((n, k, 1))], axis=2)
    probs = np.diff(edges, axis=2)  # P(Y_i in interval j), (S, k, J)
    norm = np.einsum("skj,sj->sk", probs, omega)
    idx = interval_index(np.asarray(spec.yi, float)[studies], crit, bias.sides)
    return np.log(omega[:, idx]) - np.log(norm)


def weighted_normal_draws(spec: Any, posterior: Any, mean: np.ndarray, sd: np.ndarray,
                          rng: np.random.Generator) -> np.ndarray:
    """Draws of ``Y_i`` from the selection model's weighted normal density (or the plain normal), shape (S, k).

    Raises
    ------
    UnsupportedModelError
        Some draws are still rejected after :data:`MAX_REJECTION_ROUNDS` rounds (weights near 0
        where the normal density has its mass): refused rather than biased.
    """
    out = mean + sd * rng.standard_normal(mean.shape)
    bias = getattr(spec, "bias", None)
    if not isinstance(bias, WeightFunction):
        return out
    omega = _omega(posterior)
    accept = omega / omega.max(axis=1, keepdims=True)  # (S, J)
    crit = selection_cutpoints(spec)
    s_idx = np.broadcast_to(np.arange(mean.shape[0])[:, None], mean.shape)  # draw of each element
    k_idx = np.broadcast_to(np.arange(mean.shape[1])[None, :], mean.shape)  # study of each element
    pending = np.ones(mean.shape, dtype=bool)
    for _ in range(MAX_REJECTION_ROUNDS):
        s, i, y = s_idx[pending], k_idx[pending], out[pending]
        x = np.abs(y) if bias.sides == "two" else y
        j = (x[:, None] >= crit[i]).sum(axis=1)
        kept = rng.uniform(size=y.size) < accept[s, j]
        done = np.flatnonzero(pending)[kept]
        pending.flat[done] = False
        if not pending.any():
            return out
        redo = pending.copy()
        out[redo] = mean[redo] + sd[redo] * rng.standard_normal(int(redo.sum()))
    raise UnsupportedModelError(f"replicates of this selection model: {int(pending.sum())} draws still rejected after "
                                f"{MAX_REJECTION_ROUNDS} rounds of rejection sampling (weights near 0 where the "
                                "studies' effects fall); no replicates rather than biased ones")
