"""Three levels (``cluster=``): ``theta_ij = x_ij' beta + tau u_j + tau_within z_ij``.

``tau`` is the between-cluster SD, ``tau_within`` the SD of effects within a cluster;
``theta_new`` is an effect of a new cluster, so both SDs enter. Builder piece for
:func:`bayesma.models.build.build_model`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["effects"]


def effects(b: Any, loc, loc_new):
    """``(m, s)`` of the effect level given the cluster effects ``u``."""
    import pymc as pm
    import pytensor.tensor as pt

    c = b.data("cluster_idx", dims="study")
    tau = b.hetero("tau")
    tau_w = b.hetero("tau_within")
    u = b.noise("u", dims="cluster")
    u_new = b.noise("u_new")
    z_new = b.noise("z_new")
    pm.Deterministic("theta_new", loc_new + tau * u_new + tau_w * z_new)
    return loc + tau * u[c], tau_w * pt.ones_like(b.yi)
