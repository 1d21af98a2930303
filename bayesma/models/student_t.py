"""Student-t random effects (``likelihood="student_t"``): ``z_i ~ StudentT(nu, 0, 1)``.

Robust random effects whose degrees of freedom ``nu`` have their own prior
(``priors["nu"]``, default ``Gamma(2, 0.1)``). Any family (random effects, subgroup tau,
three levels) uses these auxiliary variables in place of standard normals. Builder
pieces for :func:`bayesma.models.build.build_model`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["degrees_of_freedom", "noise"]


def degrees_of_freedom(b: Any):
    """The parameter ``nu`` (prior ``spec.priors["nu"]``)."""
    return b.hetero("nu")


def noise(name: str, nu, **kwargs: Any):
    """A standard Student-t auxiliary variable with *nu* degrees of freedom."""
    import pymc as pm

    return pm.StudentT(name, nu=nu, mu=0.0, sigma=1.0, **kwargs)
