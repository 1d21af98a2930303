"""Student-t random effects (``likelihood="student_t"``): ``z_i ~ StudentT(nu, 0, 1)``.

Robust random effects whose degrees of freedom ``nu`` have their own prior
(``priors["nu"]``, default ``Gamma(2, 0.1)``). Any family (random effects, subgroup tau,
three levels) uses these auxiliary variables in place of standard normals. Builder
pieces for :func:`bayesma.models.build.build_model`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["degrees_of_freedom", "noise", "PADDED_NU"]


def degrees_of_freedom(b: Any):
    """The parameter ``nu`` (prior ``spec.priors["nu"]``)."""
    return b.hetero("nu")


#: Degrees of freedom of the auxiliary variables of padded studies / clusters: a constant,
#: so that they are independent of ``nu`` (and practically standard normal).
PADDED_NU = 1e4


def noise(name: str, nu, mask=None, **kwargs: Any):
    """A standard Student-t auxiliary variable with *nu* degrees of freedom.

    With a padding *mask* (1 real, 0 padded) the padded entries get :data:`PADDED_NU`
    degrees of freedom instead: they carry no data, and tying them to ``nu`` would add a
    funnel between ``nu`` and each of them without changing the posterior.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if mask is not None:
        nu = pt.switch(pt.gt(mask, 0), nu, PADDED_NU)
    return pm.StudentT(name, nu=nu, mu=0.0, sigma=1.0, **kwargs)
