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

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.bias.components import WeightFunction
from bayesma.errors import InputError, UnsupportedModelError
from bayesma.posterior.bias_terms import log_selection_draws, shift_draws, weighted_normal_draws

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

__all__ = ["check_supported", "location_draws", "total_sd_draws", "pointwise_loglik", "study_chunks",
           "loglik_chunks", "replicate", "ppc_statistics", "CHUNK_ELEMENTS"]

_LOG_2PI = float(np.log(2 * np.pi))
#: draws x studies of one chunk of the pointwise log-likelihood (2**20 floats: 8 MiB; at 4,000
#: draws, 262 studies): LOO and WAIC hold a few such chunks, never a draws x k array. Measured
#: at k = 10,000 (benchmarks/bench_pointwise.py's fit): 2**20 was as fast as any size tried
#: (2**18 to 2**22) with a quarter of 2**22's peak (40 MiB against 160 MiB)
CHUNK_ELEMENTS = 2**20
_ALL = slice(None)


def check_supported(spec: Any, what: str) -> ModelSpec:
    """The spec, if its likelihood is a product over studies of normal marginals; else an error."""
    from bayesma.spec import ModelSpec

    if not isinstance(spec, ModelSpec):
        raise UnsupportedModelError(f"{what} is implemented for MetaAnalysis fits of one effect per study; "
                                    "use bm.leave_one_out for exact refits of this model")
    if spec.likelihood != "normal":
        why = ("the Student-t random effects have no closed-form marginal likelihood" if spec.likelihood == "student_t"
               else f"this model's likelihood is {spec.likelihood}, not a normal marginal per study")
        raise UnsupportedModelError(f"{what} needs the normal random-effects model ({why}); use bm.leave_one_out")
    if spec.cluster_index is not None:
        raise UnsupportedModelError(f"{what} with clusters: the studies of a cluster are not independent given "
                                    "the parameters, so leaving out one effect is not leaving out one study; "
                                    "use bm.leave_one_out with the cluster as the unit")
    return spec


def _flat(arr: Any) -> np.ndarray:
    """(chain, draw, ...) -> (chain * draw, ...)."""
    a = np.asarray(arr, dtype=float)
    return a.reshape((a.shape[0] * a.shape[1],) + a.shape[2:])


def location_draws(spec: ModelSpec, posterior: Any, studies: slice = _ALL) -> np.ndarray:
    """``x_i' beta`` (or mu) at every draw: shape (S, k), or (S, c) for the studies in the slice *studies*."""
    if "beta" in posterior:
        return _flat(posterior["beta"].values) @ spec.X[studies].T
    n = len(range(spec.k)[studies])
    return np.repeat(_flat(posterior["mu"].values)[:, None], n, axis=1)


def total_sd_draws(spec: ModelSpec, posterior: Any, studies: slice = _ALL) -> np.ndarray:
    """``sqrt(v_i + tau_i^2)`` at every draw: shape (S, k), or (S, c) for the studies in *studies*."""
    vi = spec.vi[None, studies]
    if spec.model == "common" or "tau" not in posterior:
        n = int(posterior.sizes["chain"] * posterior.sizes["draw"])
        return np.sqrt(np.broadcast_to(vi, (n, vi.shape[1])))
    tau = _flat(posterior["tau"].values)
    if tau.ndim == 1:
        tau_i = tau[:, None]
    elif spec.tau_by is not None and spec.group_index is not None:
        tau_i = tau[:, spec.group_index[studies]]
    else:  # location-scale: one tau per study
        tau_i = tau[:, studies]
    return np.sqrt(vi + tau_i**2)


def _marginal(spec: ModelSpec, posterior: Any, studies: slice = _ALL) -> tuple[np.ndarray, np.ndarray]:
    """Location (the bias shift included) and SD of each study's marginal normal density, (S, k) each
    (or (S, c) for the studies in *studies*)."""
    return (location_draws(spec, posterior, studies) + shift_draws(spec, posterior, studies),
            total_sd_draws(spec, posterior, studies))


def _conditional(spec: ModelSpec, posterior: Any, studies: slice = _ALL) -> tuple[np.ndarray, np.ndarray]:
    """Location and SD of a new sampling error around the study's own effect, (S, k) each (or (S, c))."""
    if "theta" not in posterior:
        raise UnsupportedModelError("this fit has no study effects (theta) to replicate conditionally on")
    loc = _flat(posterior["theta"].values)[:, studies] + shift_draws(spec, posterior, studies)
    return loc, np.broadcast_to(np.sqrt(spec.vi[studies])[None, :], loc.shape)


def _loglik(spec: ModelSpec, posterior: Any, studies: slice) -> np.ndarray:
    """The marginal log-likelihood of the studies in *studies* at each draw, shape (S, c)."""
    loc, sd = _marginal(spec, posterior, studies)
    z = (spec.yi[None, studies] - loc) / sd
    return -0.5 * (_LOG_2PI + z**2) - np.log(sd) + log_selection_draws(spec, posterior, loc, sd, studies)


def _n_draws(posterior: Any) -> int:
    return int(posterior.sizes["chain"] * posterior.sizes["draw"])


def pointwise_loglik(spec: ModelSpec, posterior: Any, studies: slice = _ALL) -> np.ndarray:
    """The marginal log-likelihood of each study at each draw: shape (chain, draw, k), or
    (chain, draw, c) for the studies in the slice *studies*.

    Every study's term is computed from the draws and its own data alone, so a slice gives the
    same numbers as those columns of the full array; the full array is filled chunk by chunk
    (:func:`study_chunks`), holding one chunk's temporaries besides the result.
    """
    shape = (int(posterior.sizes["chain"]), int(posterior.sizes["draw"]))
    if studies != _ALL:
        ll = _loglik(spec, posterior, studies)
        return ll.reshape(shape + (ll.shape[1],))
    out = np.empty((shape[0] * shape[1], spec.k))
    for chunk in study_chunks(spec.k, _n_draws(posterior)):
        out[:, chunk] = _loglik(spec, posterior, chunk)
    return out.reshape(shape + (spec.k,))


def study_chunks(k: int, n_draws: int, size: int | None = None) -> list[slice]:
    """Consecutive slices of the k studies, *size* studies each (the last one shorter); by default
    as many as make :data:`CHUNK_ELEMENTS` draws x studies."""
    size = max(1, CHUNK_ELEMENTS // max(1, n_draws)) if size is None else int(size)
    if size < 1:
        raise InputError(f"chunk size {size}: a chunk holds at least one study")
    return [slice(start, min(start + size, k)) for start in range(0, k, size)]


def loglik_chunks(spec: ModelSpec, posterior: Any, size: int | None = None) -> Iterator[tuple[np.ndarray, list[str]]]:
    """The pointwise log-likelihood chunk by chunk of studies: ``(array (chain, draw, c), labels)``,
    each computed when asked for (see :func:`study_chunks`)."""
    labels = [str(v) for v in spec.labels]
    for studies in study_chunks(spec.k, _n_draws(posterior), size):
        yield pointwise_loglik(spec, posterior, studies), labels[studies]


def _location_sd(spec: ModelSpec, posterior: Any, kind: str, studies: slice) -> tuple[np.ndarray, np.ndarray]:
    if kind == "marginal":
        return _marginal(spec, posterior, studies)
    if kind == "conditional":
        return _conditional(spec, posterior, studies)
    raise UnsupportedModelError(f"kind={kind!r}: choose 'marginal' or 'conditional'")


def replicate(spec: ModelSpec, posterior: Any, kind: str, seed: int | None) -> np.ndarray:
    """Replicated effects, one set per draw: shape (S, k).

    ``kind="marginal"``: a new study effect and a new sampling error,
    ``y_rep_i ~ N(x_i' beta, v_i + tau_i^2)`` (checks the random-effects distribution);
    ``"conditional"``: a new sampling error around the study's own effect,
    ``y_rep_i ~ N(theta_i, v_i)`` (checks the sampling model only; always close to the data).
    With a bias component the mean carries the PET/PEESE shift, and a selection model's
    replicates come from its weighted density (rejection sampling). Without a selection model
    the standard normal draws are made at once (the same stream as one (S, k) draw) and moved
    to each study's location and scale chunk by chunk of studies, in place.
    """
    rng = np.random.default_rng(seed)
    if isinstance(getattr(spec, "bias", None), WeightFunction):
        loc, sd = _location_sd(spec, posterior, kind, _ALL)
        return weighted_normal_draws(spec, posterior, loc, sd, rng)
    _location_sd(spec, posterior, kind, slice(0, 0))  # a bad kind or a missing theta fails before drawing
    out = rng.standard_normal((_n_draws(posterior), spec.k))
    for chunk in study_chunks(spec.k, _n_draws(posterior)):
        loc, sd = _location_sd(spec, posterior, kind, chunk)
        out[:, chunk] = loc + sd * out[:, chunk]
    return out


def ppc_statistics(spec: ModelSpec, posterior: Any, y_rep: np.ndarray, kind: str) -> dict[str, Any]:
    """Posterior predictive p-values: per study ``P(y_rep_i >= y_i)`` and for the discrepancy
    ``T(y, params) = sum_i (y_i - loc_i)^2 / sd_i^2`` (Gelman, Meng & Stern 1996), ``P(T(y_rep) >= T(y))``.

    Computed chunk by chunk of studies (:func:`study_chunks`): the discrepancies are summed over
    the chunks, so no draws x k temporary is made besides *y_rep*."""
    n = _n_draws(posterior)
    p_study = np.empty(spec.k)
    t_obs, t_rep = np.zeros(n), np.zeros(n)
    for chunk in study_chunks(spec.k, n):
        y, rep = spec.yi[None, chunk], y_rep[:, chunk]
        p_study[chunk] = np.mean(rep >= y, axis=0)
        loc, sd = _location_sd(spec, posterior, kind, chunk)
        t_obs += np.sum(((y - loc) / sd) ** 2, axis=1)
        t_rep += np.sum(((rep - loc) / sd) ** 2, axis=1)
    return {"p_study": p_study, "t_obs": t_obs, "t_rep": t_rep, "p_discrepancy": float(np.mean(t_rep >= t_obs))}
