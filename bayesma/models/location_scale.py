"""Location-scale random effects (``scale=``): ``theta_i = x_i' beta + tau_i z_i`` with
``log tau_i = z_i' alpha``, alpha with dim ``scale_coef``.

The sampler works with the scale moderators centred at their means, so ``priors["alpha"]`` is
the prior of log tau *of a study with average scale moderators* (the intercept of the centred
design; default Normal(log of the median of the measure's default tau prior, 1)) and
``priors["alpha_slopes"]`` that of the slopes (default Normal(0, 1)): see
:func:`bayesma.spec.resolve_priors`. The posterior reports ``alpha`` of the uncentred design (the
intercept is log tau at z = 0, as metafor's). ``tau`` is a deterministic with dim ``study``;
``theta_new`` is a new study at the mean moderator and mean scale row. The frequentist counterpart is ``bayesma.rma(scale=)``
(metafor's ``rma.ls``), whose ML estimate parameterises log tau², i.e. 2 alpha.

Builder piece for :func:`bayesma.models.build.build_model`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["effects", "data_values", "structure_key"]


def _groups(spec: Any) -> list[tuple[str, Any, list[int]]]:
    """(prior key, prior, columns of Z): the intercept (priors['alpha']) and the slopes."""
    names = spec.scale_names
    if names and names[0] == "intrcpt":
        out = [("alpha", spec.priors["alpha"], [0])]
        rest = list(range(1, len(names)))
    else:
        out, rest = [], list(range(len(names)))
    if rest:
        out.append(("alpha_slopes", spec.priors.get("alpha_slopes", spec.priors["alpha"]), rest))
    return out


def structure_key(spec: Any) -> tuple:
    """What of the scale part decides the compiled model: its width and prior families."""
    if getattr(spec, "Z", None) is None:
        return ()
    return (("scale", spec.Z.shape[1], tuple((key, prior.family, len(idx)) for key, prior, idx in _groups(spec))),)


def centred(Z: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Z with its non-intercept columns centred at their means (the sampler's design, far less
    correlated), and the means (0 for the intercept and where there is no intercept)."""
    means = np.zeros(Z.shape[1])
    if names and names[0] == "intrcpt":
        means[1:] = Z[:, 1:].mean(axis=0)
    return Z - means, means


def data_values(spec: Any) -> dict[str, np.ndarray]:
    """``Z`` (centred), ``z_means`` and the hyperparameters of the alpha priors."""
    if getattr(spec, "Z", None) is None:
        return {}
    Zc, means = centred(np.asarray(spec.Z, dtype=float), spec.scale_names)
    out = {"Z": Zc, "z_means": means}
    for key, prior, _ in _groups(spec):
        for param, value in prior.params.items():
            out[f"hyper_{key}_{param}"] = np.asarray(value, dtype=float)
    return out


def effects(b: Any, loc, loc_new):
    """``(m, s)`` of the study level with ``s_i = tau_i = exp(z_i' alpha)``."""
    import pymc as pm
    import pytensor.tensor as pt

    Z = b.data("Z", dims=("study", "scale_coef"))  # centred: alpha_c[0] is log tau at the mean z
    z_means = b.data("z_means", dims="scale_coef")
    groups = _groups(b.spec)
    parts = []
    for key, prior, idx in groups:
        hp = b.hyper(key, prior)
        parts.append((idx, prior.pymc(f"{key}_c", params=hp, shape=len(idx))))
    # the groups are the intercept (column 0) and the slopes (the columns after it), or the slopes
    # alone: contiguous columns in order. log tau = Z alpha_c group by group, element-wise products
    # and sums (a join of the groups, a dot product and their gradients took numba ~10 CPU s to compile)
    log_tau = sum(pt.sum(Z[:, idx[0]:idx[-1] + 1] * v[None, :], axis=1) for idx, v in parts)
    alpha_c = pt.concatenate([v for _, v in parts]) if len(parts) > 1 else parts[0][1]
    # alpha of the uncentred Z: the intercept moves by -sum(mean_j alpha_j), the slopes stay
    intercept_shift = pt.concatenate([-pt.sum(z_means * alpha_c)[None], pt.zeros(alpha_c.shape[0] - 1)])
    pm.Deterministic("alpha", alpha_c + intercept_shift, dims="scale_coef")
    b.handles.params.append("alpha")
    tau = pm.Deterministic("tau", pt.exp(log_tau), dims="study")
    noise = b.noise("z_new")
    pm.Deterministic("theta_new", loc_new + pt.exp(alpha_c[0]) * noise)
    return loc * pt.ones_like(b.yi), tau
