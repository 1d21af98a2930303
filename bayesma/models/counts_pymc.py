"""The PyMC pieces of the binomial- and Poisson-normal models (:mod:`bayesma.models.counts`).

Builder piece for :func:`bayesma.models.build.build_model`: the study effects are
non-centred (``theta_i = x_i' beta + tau z_i``), the baselines of two-group measures fixed
(each its own wide prior) or random (non-centred around ``baseline_mu``), and the counts enter
through PyMC's ``Binomial`` / ``Poisson`` likelihoods on the logit / log scale.

Padding (``pad=True``, the NUTS default): the study arrays are padded to the bucket of
:func:`bayesma.models.build.padded_sizes` with no events of one trial (unit exposure), and the
linear predictors of padded studies are multiplied by the ``mask`` (0): their likelihood is the
constant ``Binomial(0 | 1, 1/2)`` or ``Poisson(0 | 1)``, and their auxiliary variables (``z``, the
fixed baselines or ``u``) are independent of everything else, so one compiled model serves every
k of the bucket with the same posterior.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["structure_key", "data_values", "build"]

_BASE_KEYS = ("baseline", "baseline_mu", "baseline_sd")


def _prior_key(spec: Any) -> tuple:
    return tuple((key, spec.priors[key].family, tuple(spec.priors[key].params))
                 for key in ("tau", *_BASE_KEYS) if key in spec.priors)


def structure_key(spec: Any, n_study: int | None = None) -> tuple:
    """What decides the compiled model: the count kind, baselines, the number of studies (*n_study*:
    its padded bucket), the location and its priors."""
    from bayesma.models.random_effects import location_key

    c = spec.counts
    n = spec.k if n_study is None else int(n_study)
    return ("counts", c.kind, c.baseline, spec.model, n, spec.p, location_key(spec), _prior_key(spec))


def _pad(out: dict[str, np.ndarray], k: int, n_study: int) -> dict[str, np.ndarray]:
    """The study arrays padded to *n_study*: no events of one trial (unit exposure), a zero design row,
    and ``mask`` (1 real, 0 padded), which :func:`build` multiplies into the linear predictors."""
    extra = n_study - k
    for name, value in (("e1", 0), ("n1", 1), ("e2", 0), ("n2", 1), ("X", 0.0)):
        if name in out:
            arr = out[name]
            out[name] = np.pad(arr, [(0, extra)] + [(0, 0)] * (arr.ndim - 1), constant_values=value)
    out["mask"] = np.r_[np.ones(k), np.zeros(extra)]
    return out


def data_values(spec: Any, n_study: int | None = None) -> dict[str, np.ndarray]:
    """The counts, the design and every prior hyperparameter, by ``pm.Data`` name; with *n_study*
    the study arrays padded to that length (see :func:`build`)."""
    from bayesma.models.random_effects import location_values, prior_values

    c = spec.counts
    # event counts are integers (and binomial group sizes); Poisson exposures are times
    ntype = "int64" if c.family == "binomial" else float
    out: dict[str, np.ndarray] = {"e1": np.asarray(c.e1).astype("int64"), "n1": np.asarray(c.n1).astype(ntype)}
    if c.two_group:
        out.update(e2=np.asarray(c.e2).astype("int64"), n2=np.asarray(c.n2).astype(ntype))
    if spec.is_regression:
        out["X"] = np.asarray(spec.X, dtype=float)
        out["x_new"] = np.asarray(spec.x_new, dtype=float)
    out = {**out, **location_values(spec), **prior_values(spec, ("tau", *_BASE_KEYS))}
    return out if n_study is None else _pad(out, spec.k, n_study)


def _loglik(c: Any, e1, n1, e2, n2, eta1, eta2) -> None:
    import pymc as pm
    import pytensor.tensor as pt

    if c.family == "binomial":
        pm.Binomial("e1_obs", n=n1, logit_p=eta1, observed=e1, dims="study")
        if eta2 is not None:
            pm.Binomial("e2_obs", n=n2, logit_p=eta2, observed=e2, dims="study")
    else:
        pm.Poisson("e1_obs", mu=n1 * pt.exp(eta1), observed=e1, dims="study")
        if eta2 is not None:
            pm.Poisson("e2_obs", mu=n2 * pt.exp(eta2), observed=e2, dims="study")


def build(b: Any) -> None:
    """Add the count model of ``b.spec`` to the model being built (inside its ``pm.Model``)."""
    import pymc as pm
    import pytensor.tensor as pt

    from bayesma.models import random_effects
    from bayesma.models.random_effects import masked

    spec, c = b.spec, b.spec.counts
    e1, n1 = b.data("e1", dims="study"), b.data("n1", dims="study")
    e2 = n2 = None
    if c.two_group:
        e2, n2 = b.data("e2", dims="study"), b.data("n2", dims="study")
    loc, loc_new = random_effects.location(b)
    ones = pt.ones_like(n1)
    if spec.model == "common":
        theta = pm.Deterministic("theta", loc * ones, dims="study")
        pm.Deterministic("theta_new", loc_new)
    else:
        tau = b.hetero("tau")
        z = b.noise("z", dims="study")
        theta = pm.Deterministic("theta", loc * ones + tau * z, dims="study")
        z_new = b.noise("z_new")
        pm.Deterministic("theta_new", loc_new + tau * z_new)
    b.handles.theta_prior = theta
    if not c.two_group:
        _loglik(c, e1, n1, None, None, masked(b, theta), None)
        return
    if c.baseline == "fixed":
        prior = spec.priors["baseline"]
        alpha = prior.pymc("baseline", params=b.hyper("baseline", prior), dims="study")
    else:
        pm_prior, sd_prior = spec.priors["baseline_mu"], spec.priors["baseline_sd"]
        a_mu = pm_prior.pymc("baseline_mu", params=b.hyper("baseline_mu", pm_prior))
        a_sd = sd_prior.pymc("baseline_sd", params=b.hyper("baseline_sd", sd_prior))
        u = b.noise("u", dims="study")
        alpha = pm.Deterministic("baseline", a_mu + a_sd * u, dims="study")
    _loglik(c, e1, n1, e2, n2, masked(b, alpha + theta / 2.0), masked(b, alpha - theta / 2.0))
