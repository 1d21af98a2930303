"""Priors and model components of the robust Bayesian meta-analysis ensemble (RoBMA-PSMA).

The ensemble crosses three components: effect (``mu = 0`` or a prior on mu),
heterogeneity (``tau = 0`` or a prior on tau) and publication bias (none, a
step-function selection model, PET or PEESE). Every prior here is on the scale
RoBMA specifies its defaults on (Cohen's d); :mod:`bayesma.bias.ensemble` links
them to the fitting scale.

Defaults (RoBMA 3, ``RoBMA(...)`` with ``model_type = "PSMA"``; Bartoš et al. 2023):

- effect ``Normal(0, 1)``; heterogeneity ``InvGamma(1, 0.15)`` on tau;
- six weight functions, each with prior weight 1/12 of the bias component:
  two-sided (.05), two-sided (.1, .05), one-sided (.05), one-sided (.05, .025),
  one-sided (.5, .05), one-sided (.5, .05, .025), each ``CumDirichlet(1, ..., 1)``;
- PET ``Cauchy(0, 1)[0, Inf]`` and PEESE ``Cauchy(0, 5)[0, Inf]``, 1/4 each;
- the null of each component (spike at 0, no bias) has half of the prior mass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy import special

from bayesma.errors import ArgumentTypeError, InputError
from bayesma.priors import HalfCauchy, Normal, Prior
from bayesma.priors.families import InverseGammaTau  # defined with the other families; re-exported here

__all__ = ["InverseGammaTau", "WeightFunction", "PET", "PEESE", "BiasComponent",
           "psma_bias", "bias_ensemble", "parse_bias", "default_effect", "default_heterogeneity"]


@dataclass(frozen=True)
class WeightFunction:
    """Step weight function on p-values with a cumulative-Dirichlet prior on the weights.

    Parameters
    ----------
    steps : sequence of float
        p-value cut points in (0, 1); one-sided p-values, or two-sided ones for
        ``sides="two"`` (a two-sided cut point ``s`` is the pair of one-sided cut
        points ``s / 2`` and ``1 - s / 2``).
    sides : {"one", "two"}
    alpha : sequence of float, optional
        Dirichlet concentrations, one per interval (default all 1), ordered from
        the largest p-values to the smallest as RoBMA's ``alpha``.

    Notes
    -----
    With ``eta ~ Dirichlet(alpha)`` the weights are ``omega_j = eta_1 + ... + eta_j``
    (``j = 1`` the interval of the largest p-values, ``omega_J = 1`` the interval
    of the smallest), so the weights are non-decreasing towards significance.

    Examples
    --------
    >>> WeightFunction((0.05, 0.025)).label
    'omega[one-sided: .05, .025] ~ CumDirichlet(1, 1, 1)'
    >>> WeightFunction((0.05,), "two").one_sided_cuts()
    (0.025, 0.975)
    """

    steps: tuple[float, ...]
    sides: str = "one"
    alpha: tuple[float, ...] = field(default=())
    kind: ClassVar[str] = "weightfunction"

    def __post_init__(self):
        steps = tuple(sorted((float(s) for s in self.steps), reverse=True))
        if not steps or any(not 0.0 < s < 1.0 for s in steps) or len(set(steps)) != len(steps):
            raise InputError(f"weight function steps must be distinct p-values in (0, 1), got {self.steps!r}")
        if self.sides not in ("one", "two"):
            raise InputError(f"weight function sides must be 'one' or 'two', got {self.sides!r}")
        alpha = tuple(float(a) for a in self.alpha) or (1.0,) * (len(steps) + 1)
        if len(alpha) != len(steps) + 1 or any(not a > 0 for a in alpha):
            raise InputError(f"alpha needs {len(steps) + 1} positive values for steps {steps}, got {self.alpha!r}")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "alpha", alpha)

    @property
    def n_weights(self) -> int:
        return len(self.steps) + 1

    @property
    def label(self) -> str:
        steps = ", ".join(f"{s:g}".lstrip("0") for s in self.steps)
        alpha = ", ".join(f"{a:g}" for a in self.alpha)
        side = "two-sided" if self.sides == "two" else "one-sided"
        return f"omega[{side}: {steps}] ~ CumDirichlet({alpha})"

    def one_sided_cuts(self) -> tuple[float, ...]:
        """The cut points on one-sided p-values, ascending."""
        if self.sides == "one":
            return tuple(sorted(self.steps))
        half = [s / 2 for s in self.steps]
        return tuple(sorted(half + [1.0 - h for h in half]))

    def omega_at(self, omega: np.ndarray, p_one_sided: np.ndarray) -> np.ndarray:
        """Weights at one-sided p-values: ``omega`` (n, J) -> (n, len(p))."""
        p = np.asarray(p_one_sided, float)
        if self.sides == "two":
            p = 2.0 * np.minimum(p, 1.0 - p)
        # interval 0 holds the largest p-values; index = number of steps >= p
        idx = (np.asarray(self.steps)[None, :] > p[:, None]).sum(axis=1)
        return omega[:, idx]

    def log_prior_unconstrained(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights and log prior density (Jacobian included) at additive-log-ratio points.

        ``x`` of shape (n, J - 1); ``eta = softmax([x, 0])``. Returns ``omega`` (n, J)
        and the log density of x.
        """
        z = np.concatenate([x, np.zeros((x.shape[0], 1))], axis=1)
        log_eta = z - special.logsumexp(z, axis=1, keepdims=True)
        a = np.asarray(self.alpha)
        logp = (special.gammaln(a.sum()) - special.gammaln(a).sum()) + log_eta @ a
        omega = np.cumsum(np.exp(log_eta), axis=1)
        omega[:, -1] = 1.0
        return omega, logp


@dataclass(frozen=True)
class _Regression:
    prior: Prior
    kind: ClassVar[str] = ""

    def __post_init__(self):
        if not isinstance(self.prior, Prior) or self.prior.target == "tau2":
            raise ArgumentTypeError(f"{self.kind} needs a prior of bayesma.priors on the coefficient "
                            f"(location or positive family), got {self.prior!r}")

    @property
    def positive(self) -> bool:
        return self.prior.target == "tau"

    @property
    def label(self) -> str:
        if isinstance(self.prior, HalfCauchy):
            return f"{self.kind} ~ Cauchy(0, {self.prior.params['beta']:g})[0, Inf]"
        return f"{self.kind} ~ {self.prior!r}"

    def logpdf(self, b: np.ndarray) -> np.ndarray:
        return self.prior.logpdf_tau(b) if self.positive else self.prior.logpdf(b)


@dataclass(frozen=True)
class PET(_Regression):
    """PET: the expected effect grows with the standard error, ``mu + b * se``.

    Parameters
    ----------
    prior : bayesma prior
        Prior of ``b``: a positive family (target ``"tau"``, e.g. ``HalfCauchy``) keeps
        ``b >= 0``; a location family lets it take either sign. Default RoBMA's
        ``Cauchy(0, 1)[0, Inf]``, i.e. ``HalfCauchy(1)``.

    References
    ----------
    Stanley TD, Doucouliagos H (2014). Meta-regression approximations to reduce publication
    selection bias. Research Synthesis Methods 5(1), 60-78.

    Examples
    --------
    >>> PET().label
    'PET ~ Cauchy(0, 1)[0, Inf]'
    """

    prior: Prior = field(default_factory=lambda: HalfCauchy(1.0))
    kind: ClassVar[str] = "PET"


@dataclass(frozen=True)
class PEESE(_Regression):
    """PEESE: the expected effect grows with the sampling variance, ``mu + b * se^2``.

    Parameters
    ----------
    prior : bayesma prior
        Prior of ``b`` (as for :class:`PET`). Default RoBMA's ``Cauchy(0, 5)[0, Inf]`` on
        the d scale, i.e. ``HalfCauchy(5)`` (``b`` is in 1 / effect units: on Fisher's z it
        is ``2 b``).

    Examples
    --------
    >>> PEESE().label
    'PEESE ~ Cauchy(0, 5)[0, Inf]'
    """

    prior: Prior = field(default_factory=lambda: HalfCauchy(5.0))
    kind: ClassVar[str] = "PEESE"


BiasComponent = WeightFunction | PET | PEESE


def psma_bias() -> list[tuple[BiasComponent, float]]:
    """RoBMA-PSMA's bias components and their prior weights (summing to 1 within the bias part)."""
    w = 1.0 / 12.0
    return [
        (WeightFunction((0.05,), "two"), w),
        (WeightFunction((0.1, 0.05), "two"), w),
        (WeightFunction((0.05,), "one"), w),
        (WeightFunction((0.05, 0.025), "one"), w),
        (WeightFunction((0.5, 0.05), "one"), w),
        (WeightFunction((0.5, 0.05, 0.025), "one"), w),
        (PET(), 0.25),
        (PEESE(), 0.25),
    ]


def bias_ensemble(name: str) -> list[tuple[BiasComponent, float]]:
    """The bias components of a named ensemble: ``"PSMA"``, ``"6w"``, ``"PP"`` or ``"none"``.

    ``"6w"``: the six weight functions of PSMA, equal weights; ``"PP"``: PET and
    PEESE, 1/2 each (RoBMA's ``model_type = "2w"`` is not offered); ``"none"``: no bias
    models (the four models of effect x heterogeneity).
    """
    key = str(name).lower()
    if key == "psma":
        return psma_bias()
    if key == "6w":
        return [(c, 1.0 / 6.0) for c, _ in psma_bias()[:6]]
    if key == "pp":
        return [(PET(), 0.5), (PEESE(), 0.5)]
    if key == "none":
        return []
    raise InputError(f"ensemble must be 'PSMA', '6w', 'PP', 'none' or a list of bias components, got {name!r}")


def parse_bias(components: Sequence) -> list[tuple[BiasComponent, float]]:
    """Normalise a custom list: components or ``(component, prior_weight)`` pairs; weights sum to 1."""
    out = []
    for i, item in enumerate(components):
        comp, w = (item if isinstance(item, tuple) else (item, 1.0))
        if not isinstance(comp, (WeightFunction, PET, PEESE)):
            raise ArgumentTypeError(f"bias component {i} must be WeightFunction, PET or PEESE, got {comp!r}")
        if not (isinstance(w, (int, float)) and w > 0 and math.isfinite(w)):
            raise InputError(f"bias component {i} ({comp.label}): prior weight must be positive, got {w!r}")
        out.append((comp, float(w)))
    total = sum(w for _, w in out)
    return [(c, w / total) for c, w in out]


def default_effect() -> Prior:
    """RoBMA's default effect prior, ``Normal(0, 1)`` on Cohen's d."""
    return Normal(0.0, 1.0)


def default_heterogeneity() -> Prior:
    """RoBMA's default heterogeneity prior, ``InvGamma(1, 0.15)`` on tau (Cohen's d)."""
    return InverseGammaTau(1.0, 0.15)
