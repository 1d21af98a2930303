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
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.likelihood import cutoffs, interval_index
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.models.random_effects import effects
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
    """Cut points and interval of each study (``pm.Data``, so a cached model gets new data)."""
    bias = getattr(spec, "bias", None)
    if not isinstance(bias, WeightFunction):
        return {}
    se = np.sqrt(np.asarray(spec.vi, float))
    crit = cutoffs(spec.yi, se, bias.steps, bias.sides, "GEN")
    return {"bias_crit": crit, "bias_bin": interval_index(np.asarray(spec.yi, float), crit, bias.sides).astype("int64")}


def interval_labels(bias: WeightFunction) -> list[str]:
    """Labels of the weights, from the largest p-values to the smallest: ``"p in (0.025, 1]"``
    (``"p2"``: two-sided p-values)."""
    edges = [1.0, *bias.steps, 0.0]
    p = "p2" if bias.sides == "two" else "p"
    return [f"{p} in {'[' if lower == 0 else '('}{lower:g}, {upper:g}]" for upper, lower in zip(edges[:-1], edges[1:])]


def _ndtr(x):
    import pytensor.tensor as pt

    return 0.5 * pt.erfc(-x / np.sqrt(2.0))


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
        shift = coef * (se if isinstance(bias, PET) else vi)
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
        crit = b.data("bias_crit")
        bins = b.data("bias_bin")
        pm.modelcontext(None).add_coord("interval", interval_labels(bias))
        eta = pm.Dirichlet("eta", a=np.asarray(bias.alpha))
        omega = pm.Deterministic("omega", pt.concatenate([pt.cumsum(eta)[:-1], pt.ones(1)]), dims="interval")
        b.handles.params.append("omega")
        upper = _ndtr((crit - mean_y[:, None]) / sd[:, None])
        if bias.sides == "two":
            upper = upper - _ndtr((-crit - mean_y[:, None]) / sd[:, None])
        k = upper.shape[0]
        cdf = pt.concatenate([pt.zeros((k, 1)), upper, pt.ones((k, 1))], axis=1)
        prob = pt.maximum(cdf[:, 1:] - cdf[:, :-1], 0.0)
        pm.Potential("selection", pt.sum(pt.log(omega[bins])) - pt.sum(pt.log(prob @ omega)))
