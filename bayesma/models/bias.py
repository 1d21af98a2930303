"""PyMC builders of the publication-bias families: step-function selection models, PET, PEESE.

``MetaAnalysis(..., bias=WeightFunction((0.025,)))`` (or ``bias=PET()``, ``bias=PEESE()``)
makes a :class:`BiasedSpec` and :func:`bayesma.models.build.build_model` hands it here.
The likelihood is the marginal random-effects one, ``y_i ~ N(m_i, tau^2 + v_i)``
(``tau = 0`` for ``model="common"``), with

- PET: ``m_i = x_i' beta + b * sqrt(v_i)``; PEESE: ``m_i = x_i' beta + b * v_i``
  (the bias term shifts the observed effects, not the true ones: ``theta`` is
  drawn from its conditional given ``y_i - b * sqrt(v_i)``);
- a step-function selection model: the normal density times the weight of the
  study's p-value interval over the study's normalising constant
  ``sum_j omega_j P(Y_i in interval j)`` (normal CDFs), added as a ``pm.Potential``;
  weights ``omega_j = eta_1 + ... + eta_j`` with ``eta ~ Dirichlet(alpha)``
  (RoBMA's cumulative Dirichlet prior; ``omega_J = 1`` for the smallest p-values).

Cut points: one-sided p-values of ``z_i = y_i / sqrt(v_i)`` against the standard
normal (metafor's ``selmodel`` convention): ``c_ij = z_{1 - p_j} sqrt(v_i)``; two-sided
weight functions act on ``|y_i|``. The same likelihood is evaluated by
:func:`bayesma.bias.loglik` (the independent checks use it).

Padding (``pad=True``, :func:`bayesma.models.build.padded_sizes`): the mean and SD of a
padded study's true effect and its PET/PEESE shift are multiplied by the ``mask`` (0),
its selection term too, and the interval counts are those of the real studies, so a
padded study adds a constant to the log density: one compiled model per bucket of k.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.likelihood import cutoffs, interval_index
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.models.random_effects import effects, masked
from bayesma.spec import ModelSpec

__all__ = ["BiasedSpec", "with_bias", "structure_key", "data_values", "build", "interval_labels"]


@dataclass
class BiasedSpec(ModelSpec):
    """A :class:`ModelSpec` with a publication-bias component (``bias``)."""

    bias: Any = None

    def describe(self) -> str:
        return f"{super().describe()}; publication bias: {self.bias.label}"


def with_bias(spec: ModelSpec, bias: Any) -> BiasedSpec:
    """Attach a bias component to *spec* (validated).

    Raises
    ------
    TypeError
        *bias* is not a :class:`WeightFunction`, :class:`PET` or :class:`PEESE`.
    ValueError
        Subgroup heterogeneity (``tau_by=``), three-level models or Student-t effects:
        not available with a bias component.
    """
    if not isinstance(bias, (WeightFunction, PET, PEESE)):
        raise ArgumentTypeError(f"bias must be bayesma.WeightFunction, PET or PEESE, got {bias!r}")
    if spec.tau_by is not None or spec.cluster_index is not None or spec.likelihood != "normal" or spec.Z is not None:
        raise InputError("bias= is available for the common- and random-effects models (with or without "
                         "moderators) with normal random effects; not with tau_by=, cluster=, scale= or likelihood='student_t'")
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(ModelSpec)}
    return BiasedSpec(**fields, bias=bias)


def structure_key(spec: ModelSpec) -> tuple:
    """The part of the compiled-model key that the bias component decides."""
    bias = getattr(spec, "bias", None)
    return () if bias is None else (repr(bias),)


def data_values(spec: ModelSpec) -> dict[str, np.ndarray]:
    """The lower edge of each study's p-value intervals but the first (0 in its place: the
    first interval's tail probability is 1 whatever its edge), shape (k, J), and the
    number of studies in each interval but the last (0 in the last place), shape (J,)
    (``pm.Data``, so a cached model gets new data)."""
    bias = getattr(spec, "bias", None)
    if not isinstance(bias, WeightFunction):
        return {}
    se = np.sqrt(np.asarray(spec.vi, float))
    crit = cutoffs(spec.yi, se, bias.steps, bias.sides, "GEN")
    count = np.bincount(interval_index(np.asarray(spec.yi, float), crit, bias.sides), minlength=crit.shape[1] + 1)
    return {"bias_lower": np.hstack([np.zeros((crit.shape[0], 1)), crit]),
            "bias_count": np.r_[count[:-1], 0].astype(float)}


def interval_labels(bias: WeightFunction) -> list[str]:
    """Labels of the weights, from the largest p-values to the smallest: ``"p in (0.025, 1]"``
    (``"p2"``: two-sided p-values)."""
    edges = [1.0, *bias.steps, 0.0]
    p = "p2" if bias.sides == "two" else "p"
    return [f"{p} in {'[' if lower == 0 else '('}{lower:g}, {upper:g}]" for upper, lower in zip(edges[:-1], edges[1:])]


def _dirichlet(name: str, alpha: np.ndarray):
    """``pm.Dirichlet(name, a=alpha)`` with PyMC's simplex transform, written as a small graph.

    The same unconstrained parameter ``v`` (``J - 1`` values), forward transform, initial
    point and log density (constants included) as PyMC's Dirichlet with its ``simplex``
    transform: with ``x = (v, -sum v)`` and ``L = logsumexp(x)``, ``eta = exp(x - L)``, the
    Jacobian term is ``log J - J L`` and the density ``sum_j (alpha_j - 1) log eta_j +
    lgamma(sum alpha) - sum_j lgamma(alpha_j)``. ``x`` is an element-wise product with a
    constant matrix and ``L`` is shifted by ``max(x)`` outside the gradient: no join, split,
    alloc or bounds checks, whose numba compilation cost several CPU seconds each. Prior
    draws come from ``pm.Dirichlet``.
    """
    import pymc as pm
    import pytensor.tensor as pt
    from pymc.distributions.transforms import SimplexTransform
    from pytensor.gradient import zero_grad
    from scipy.special import gammaln

    n = alpha.size
    expand = np.hstack([np.eye(n - 1), -np.ones((n - 1, 1))])  # v -> (v, -sum v)

    def log_simplex(v):  # (x - L, L)
        x = pt.sum(v[:, None] * expand, axis=0)
        top = zero_grad(pt.max(x))
        lse = top + pt.log(pt.sum(pt.exp(x - top)))
        return x - lse, lse

    class Simplex(SimplexTransform):
        def backward(self, value, *inputs):
            return pt.exp(log_simplex(value)[0])

        def log_jac_det(self, value, *inputs):
            return np.log(n) - n * log_simplex(value)[1]

    const = float(gammaln(alpha.sum()) - gammaln(alpha).sum())

    def logp(value, a):
        return pt.sum((alpha - 1.0) * pt.log(value)) + const

    return pm.CustomDist(name, pt.as_tensor(alpha), dist=lambda a, size: pm.Dirichlet.dist(a=a, size=size), logp=logp,
                         support_point=lambda rv, size, a: a / pt.sum(a), transform=Simplex(), signature="(j)->(j)")


def _log_selection(eta, count, lower, mean_y, sd, sides: str, n_intervals: int, mask=None):
    """The selection term of the log likelihood, ``sum_i log omega_{j(i)} - sum_i log A_i``.

    With ``omega_j = eta_0 + ... + eta_j`` (``omega_{J-1} = 1``) the normalising constant
    ``A_i = sum_j omega_j P(Y_i in interval j)`` sums by parts to
    ``sum_j eta_j P(Y_i > l_ij)`` (``P(|Y_i| > l_ij)`` two-sided), where ``l_ij`` is the lower
    edge of interval j (``-inf``, or 0 on ``|y|``, then the cut points; *lower* holds 0 for the
    first, whose tail probability is 1): positive
    terms, one normal tail per interval, in one element-wise expression. The first term needs
    only the number of studies in each interval (*count*; 0 for the last, ``omega = 1``).
    Padded studies (*mask* 0) are in neither term: *count* holds the real studies only and
    their ``log A_i`` is multiplied by the mask.
    """
    import pytensor.tensor as pt

    scale = 1.0 / (np.sqrt(2.0) * sd[:, None])
    tail = 0.5 * pt.erfc((lower - mean_y[:, None]) * scale)
    if sides == "two":
        tail = tail + 0.5 * pt.erfc((lower + mean_y[:, None]) * scale)
    first = np.arange(n_intervals)[None, :] == 0  # P(Y_i > -inf) = 1 (a finite placeholder edge in *lower*)
    norm = pt.sum(pt.switch(first, 1.0, tail) * eta[None, :], axis=1)
    log_norm = pt.log(norm) if mask is None else mask * pt.log(norm)
    return pt.sum(count * pt.log(pt.cumsum(eta))) - pt.sum(log_norm)


def build(b: Any, loc, loc_new) -> None:
    """Add the bias family's parameters, ``theta``, ``theta_new`` and likelihood to the open model."""
    import pymc as pm
    import pytensor.tensor as pt

    spec: BiasedSpec = b.spec
    bias = spec.bias
    yi, vi = b.yi, b.vi
    se = pt.sqrt(vi)
    if spec.model == "common":
        m = loc * pt.ones_like(yi)
        s = pt.zeros_like(yi)
        pm.Deterministic("theta_new", loc_new)
    else:
        m, s = effects(b, loc, loc_new)
    shift = 0.0
    if isinstance(bias, (PET, PEESE)):
        coef = bias.prior.pymc(bias.kind)
        b.handles.params.append(bias.kind)
        shift = masked(b, coef * (se if isinstance(bias, PET) else vi))
    # padded studies (mask 0): mean and SD of the true effect and the bias shift 0, so
    # their likelihood N(0 | 0, sqrt(v_pad)) is a constant, their z independent of the rest
    m, s = masked(b, m), masked(b, s)
    mean_y = m + shift
    s2 = s**2 + vi
    sd = pt.sqrt(s2)
    if spec.model == "common":
        pm.Deterministic("theta", m, dims="study")
        b.handles.theta_prior = m
    else:
        z = b.noise("z", dims="study")
        pm.Deterministic("theta", m + (s**2 / s2) * (yi - mean_y) + s * pt.sqrt(vi / s2) * z, dims="study")
        b.handles.theta_prior = m + s * z
    pm.Normal("yi", mu=mean_y, sigma=sd, observed=yi, dims="study")
    if isinstance(bias, WeightFunction):
        lower = b.data("bias_lower")
        count = b.data("bias_count")
        pm.modelcontext(None).add_coord("interval", interval_labels(bias))
        eta = _dirichlet("eta", np.asarray(bias.alpha, float))
        pm.Deterministic("omega", pt.concatenate([pt.cumsum(eta)[:-1], pt.ones(1)]), dims="interval")
        b.handles.params.append("omega")
        pm.Potential("selection", _log_selection(eta, count, lower, mean_y, sd, bias.sides, len(bias.steps) + 1,
                                                 b.mask))
