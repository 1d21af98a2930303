"""Random effects and meta-regression: the location (``mu`` or ``beta``), the common-effect
model, the random-effects level, and the three parameterizations of the study effects
that every family shares.

Builder pieces for :func:`bayesma.models.build.build_model`; *b* is its builder (the
spec, the ``pm.Data`` factory, heterogeneity priors and auxiliary variables).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.models.student_t import PADDED_NU

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

__all__ = ["hyper_name", "location_key", "location_values", "prior_values", "location", "common_effect", "effects", "study_effects", "location_groups", "beta_key", "masked"]


def hyper_name(key: str, param: str) -> str:
    """Name of the ``pm.Data`` holding hyperparameter *param* of prior *key*."""
    return f"hyper_{key}_{param}"


def location_key(spec: ModelSpec) -> tuple:
    """What of the location (``mu`` or the coefficients) decides a compiled model: prior families and
    their hyperparameter names (per group of coefficients for a meta-regression)."""
    if spec.is_regression:
        return ("beta",) + tuple((fam, tuple(prior.params), tuple(idx)) for fam, prior, idx in location_groups(spec))
    return ("mu", spec.priors["mu"].family, tuple(spec.priors["mu"].params))


def location_values(spec: ModelSpec) -> dict[str, np.ndarray]:
    """The hyperparameters of the location priors by ``pm.Data`` name (one array per coefficient group)."""
    out: dict[str, np.ndarray] = {}
    if spec.is_regression:
        groups = location_groups(spec)
        for fam, _, idx in groups:
            priors = [spec.location_prior(j) for j in idx]
            for param in priors[0].params:
                out[hyper_name(beta_key(groups, fam), param)] = np.array([p.params[param] for p in priors],
                                                                         dtype=float)
    else:
        for param, value in spec.priors["mu"].params.items():
            out[hyper_name("mu", param)] = np.asarray(value, dtype=float)
    return out


def prior_values(spec: ModelSpec, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The hyperparameters of the priors *keys* (those the spec has) by ``pm.Data`` name."""
    return {hyper_name(key, param): np.asarray(value, dtype=float)
            for key in keys if key in spec.priors for param, value in spec.priors[key].params.items()}


def location_groups(spec: ModelSpec) -> list[tuple[str, Any, list[int]]]:
    """Coefficients grouped by prior family: [(family, prior_of_first, indices)]."""
    groups: dict[str, list[int]] = {}
    first: dict[str, Any] = {}
    for j in range(spec.p):
        prior = spec.location_prior(j)
        groups.setdefault(prior.family, []).append(j)
        first.setdefault(prior.family, prior)
    return [(fam, first[fam], idx) for fam, idx in groups.items()]


def beta_key(groups: list, family: str) -> str:
    """Name of the coefficients with prior *family* among the location-prior *groups*."""
    return "beta" if len(groups) == 1 else f"beta_{family}"


def coefficients(b: Any):
    """The meta-regression coefficients ``beta`` (dim coef), one PyMC variable per prior family of
    :func:`location_groups` (``beta_<family>``, gathered into the deterministic ``beta``) or ``beta``
    itself when every coefficient has one family."""
    import pymc as pm
    import pytensor.tensor as pt

    groups = location_groups(b.spec)
    parts = []
    for fam, prior, idx in groups:
        key = beta_key(groups, fam)
        hp = b.hyper(key, prior)
        if len(groups) == 1:
            beta = prior.pymc("beta", params=hp, dims="coef")
        else:
            parts.append((idx, prior.pymc(key, params=hp, shape=len(idx))))
    if len(groups) > 1:
        order = np.argsort(np.concatenate([idx for idx, _ in parts]))
        beta = pm.Deterministic("beta", pt.concatenate([v for _, v in parts])[order], dims="coef")
    b.handles.params.append("beta")
    return beta


def location(b: Any):
    """``(loc, loc_new)``: ``X beta`` and ``x_new beta`` (meta-regression) or the scalar ``mu``."""
    import pytensor.tensor as pt

    spec = b.spec
    if spec.is_regression:
        X = b.data("X", dims=("study", "coef"))
        if spec.tau_by is not None:
            x_new = b.data("x_new", dims=("subgroup", "coef"))
        else:
            x_new = b.data("x_new", dims="coef")
        beta = coefficients(b)
        return pt.dot(X, beta), pt.dot(x_new, beta)
    prior = spec.priors["mu"]
    mu = prior.pymc("mu", params=b.hyper("mu", prior))
    b.handles.params.append("mu")
    return mu, mu


def masked(b: Any, x):
    """*x* times the padding mask (1 for real studies, 0 for padding); *x* when unpadded."""
    return x if b.mask is None else x * b.mask


def common_effect(b: Any, loc, loc_new) -> None:
    """Common (fixed) effect: ``theta_i = x_i' beta``, no tau."""
    import pymc as pm
    import pytensor.tensor as pt

    theta = pm.Deterministic("theta", loc * pt.ones_like(b.yi), dims="study")
    pm.Deterministic("theta_new", loc_new)
    pm.Normal("yi", mu=masked(b, theta), sigma=pt.sqrt(b.vi), observed=b.yi, dims="study")
    b.handles.theta_prior = theta


def effects(b: Any, loc, loc_new):
    """Random effects ``theta_i = x_i' beta + tau z_i``: returns ``(m, s)`` of the study level."""
    import pymc as pm
    import pytensor.tensor as pt

    tau = b.hetero("tau")
    z_new = b.noise("z_new")
    pm.Deterministic("theta_new", loc_new + tau * z_new)
    return loc * pt.ones_like(b.yi), tau * pt.ones_like(b.yi)


def study_effects(b: Any, m, s, parameterization: str) -> None:
    """``theta`` and the likelihood of ``yi`` given the mean *m* and SD *s* of each study's
    true effect, in the marginal, centered or non-centered parameterization."""
    import pymc as pm
    import pytensor.tensor as pt

    yi, vi = b.yi, b.vi
    if b.mask is not None:
        # padded studies (mask 0): mean and SD 0, so their likelihood N(0 | 0, sqrt(v_pad))
        # is a constant and their auxiliary variables are independent of everything else
        s_centered = pt.switch(pt.gt(b.mask, 0), s, 1.0)
        m, s = masked(b, m), masked(b, s)
    if parameterization == "marginal":
        # y_i | m_i ~ N(m_i, s_i^2 + v_i); theta_i | y, m, s is normal with mean
        # m_i + B_i (y_i - m_i), B_i = s_i^2 / (s_i^2 + v_i), and SD s_i sqrt(v_i / (s_i^2 + v_i)).
        s2 = s**2 + vi
        z = b.noise("z", dims="study")
        pm.Deterministic("theta", m + (s**2 / s2) * (yi - m) + s * pt.sqrt(vi / s2) * z, dims="study")
        pm.Normal("yi", mu=m, sigma=pt.sqrt(s2), observed=yi, dims="study")
        b.handles.theta_prior = m + s * z
    elif parameterization == "centered":
        nu = b.nu
        if b.mask is not None:
            s = s_centered
            if nu is not None:  # padded studies: constant degrees of freedom (see student_t.noise)
                nu = pt.switch(pt.gt(b.mask, 0), nu, PADDED_NU)
        if nu is not None:
            theta = pm.StudentT("theta", nu=nu, mu=m, sigma=s, dims="study")
        else:
            theta = pm.Normal("theta", mu=m, sigma=s, dims="study")
        pm.Normal("yi", mu=masked(b, theta), sigma=pt.sqrt(vi), observed=yi, dims="study")
        b.handles.theta_prior = theta
    else:
        z = b.noise("z", dims="study")
        theta = pm.Deterministic("theta", m + s * z, dims="study")
        pm.Normal("yi", mu=theta, sigma=pt.sqrt(vi), observed=yi, dims="study")
        b.handles.theta_prior = theta
