"""Posterior moments that carry the heavy upper tail of tau, or do not exist.

The quadrature grid over u = log(tau) ends where the posterior density has dropped far
below its peak; beyond it the density decays as a power of tau (heavy-tailed priors such as
the half-Cauchy or the improper HalfFlat) and is integrated in closed form
(:meth:`bayesma.exact.grids._Grid1D.tail_moment`). Quantiles hardly feel that tail, but
second moments do: with a half-Cauchy prior and k = 2, about 3e-4 of E[tau^2] lies beyond
the 1 - 1e-10 quantile. Some moments do not exist (tau's mean with a HalfFlat prior and
k = 2, theta_new's sd with a half-Cauchy prior and k = 1): an infinite mean of tau and every
infinite sd are reported as ``inf``, the undefined mean of a symmetric quantity (mu under a
flat prior, theta_new) as ``NaN``; never as a finite number (the rule is in
:mod:`bayesma.priors.improper`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.priors.improper import moment_flags

from .likelihood import _location_prior, _loglik_beta

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec


__all__ = ["tail_adjusted_rows"]


def _flat_coefficients(spec: ModelSpec) -> list[int]:
    return [j for j in range(len(spec.coef_names)) if getattr(spec.location_prior(j), "family", None) == "Flat"]


def tail_adjusted_rows(ep: Any, rows: dict[str, tuple]) -> dict[str, tuple]:
    """Rows (mean, sd, median, lower, upper) with the tail's share of the moments, inf where none exists.

    Only the one-tau random-effects family (``ep.kind == "random"``) has the analytic tail;
    other families are returned unchanged.
    """
    if ep.kind != "random":
        return rows
    spec, g = ep.spec, ep.grid
    flags = moment_flags(spec)
    t2 = float(g.tail_moment(2.0)[0])
    U = float(g.edges[0, -1])
    flat = _flat_coefficients(spec)
    # Var(beta_j | tau) of flat coefficients grows as tau^2: its tail share is V_jj(U) e^{-2U} * tail E[tau^2]
    flat_var = {}
    if flat and math.isfinite(t2) and t2 > 0:
        _, _, V = _loglik_beta(np.array([[math.exp(2 * U)]]), spec.yi[None], spec.vi[None], spec.X,
                             _location_prior(spec))
        for j in flat:
            flat_var[j] = float(V[0, 0, j, j]) * math.exp(-2 * U) * t2
    names = ["mu"] if not spec.is_regression else [f"beta[{c}]" for c in spec.coef_names]
    out = dict(rows)
    for j, name in enumerate(names):
        if name in out and j in flat:
            out[name] = _with_moments(out[name], flags[name], flat_var.get(j, 0.0))
    if "theta_new" in out:
        extra = t2 + sum(flat_var.get(j, 0.0) for j in flat[:1]) if math.isfinite(t2) else math.inf
        out["theta_new"] = _with_moments(out["theta_new"], flags["theta_new"], extra)
    if "tau" in out:
        out["tau"] = _with_moments(out["tau"], flags["tau"], 0.0, positive=True)
    return out


def _with_moments(row: tuple, flags: tuple[bool, bool], extra_var: float, positive: bool = False) -> tuple:
    """A row with its moments marked: a positive quantity without a mean has mean inf; a symmetric one
    (mu, theta_new) has none at all (NaN). Without a second moment the sd is inf."""
    mean, sd, *rest = row
    has_mean, has_sd = flags
    if not has_mean:
        mean = math.inf if positive else math.nan
    if not has_sd:
        sd = math.inf
    elif extra_var:
        sd = math.sqrt(sd * sd + extra_var)
    return (mean, sd, *rest)
