"""Subgroup heterogeneity (``tau_by=``): ``theta_i = x_i' beta + tau[g_i] z_i``, tau with dim
``subgroup``, and a new study of each subgroup (``theta_new`` with dim ``subgroup``).

Builder piece for :func:`bayesma.models.build.build_model`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["effects"]


def effects(b: Any, loc, loc_new):
    """``(m, s)`` of the study level with one tau per subgroup."""
    import pymc as pm
    import pytensor.tensor as pt

    g = b.data("group_idx", dims="study")
    tau = b.hetero("tau", dims="subgroup")
    z_new = b.noise("z_new", dims="subgroup")
    pm.Deterministic("theta_new", loc_new + tau * z_new, dims="subgroup")
    return loc * pt.ones_like(b.yi), tau[g]
