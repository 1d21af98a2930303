"""Output scales of a robust Bayesian meta-analysis: mu, tau and PEESE on d, r, z, logOR or OR.

The parameters are sampled on the scale of the priors (Cohen's d for RoBMA's default
priors; the scale of ``y`` for unstandardized effects). RoBMA 3.6.1 reports them on
another scale by transforming each posterior draw:

- ``mu``: the effect-size conversion itself (``.transform_mu``): ``r = d / sqrt(d^2 + 4)``,
  ``z = atanh(r)``, ``logOR = d pi / sqrt(3)``, ``OR = exp(logOR)``;
- ``tau``: the linear scaling RoBMA uses to put the priors on the fitting scale
  (``.scale``, as metaBMA): ``tau_r = tau_z = tau_d / 2``, ``tau_logOR = tau_d pi / sqrt(3)``
  (heterogeneity is a standard deviation, which the non-linear conversions do not carry);
- ``PEESE``: the inverse of that scaling (its coefficient has units of 1 / effect);
- ``PET`` and the weights: unchanged.

That is ``transformation="robma"`` (the default). ``transformation="link"`` moves ``mu``
with the same linear link as ``tau`` (``mu_z = mu_d / 2``, the mean the likelihood
actually used on Fisher's z) and converts from z: it differs from RoBMA's by a few
thousandths for usual effects (``d = 0.5``: ``z`` 0.2474 against 0.25).
"""

from __future__ import annotations

import math

import numpy as np

from bayesma.errors import InputError

__all__ = ["SCALE_NAMES", "check_scale", "to_scale"]

SCALE_NAMES = {"d": "Cohen's d", "r": "correlation r", "z": "Fisher's z", "logOR": "log odds ratio",
               "OR": "odds ratio", "y": "the scale of y"}
_ALIASES = {"d": "d", "cohens_d": "d", "smd": "d", "r": "r", "cor": "r", "z": "z", "fishers_z": "z", "zcor": "z",
            "logor": "logOR", "log_or": "logOR", "or": "OR", "y": "y", "none": "y"}
_LINEAR = {"d": 1.0, "r": 0.5, "z": 0.5, "logOR": math.pi / math.sqrt(3.0), "OR": math.pi / math.sqrt(3.0), "y": 1.0}


def check_scale(scale: str | None, prior_scale: str, input_scale: str | None = None) -> str:
    """Canonical name of an output scale (``None``: the prior scale); y-scale fits stay on y.

    ``"input"`` means the scale the effects came in (``OR`` input reads as ``logOR``).
    """
    if scale is None:
        return prior_scale
    key = str(scale).lower()
    if key == "input" and input_scale is not None:
        key = input_scale.lower()
    if key not in _ALIASES:
        raise InputError(f"output_scale {scale!r} is not one of 'd', 'r', 'z', 'logOR', 'OR' (or 'y' for "
                         "unstandardized effects, 'input' for the scale of the input)")
    out = _ALIASES[key]
    if (prior_scale == "y") != (out == "y"):
        raise InputError("unstandardized effects (y=) are reported on their own scale only: RoBMA has no "
                         "conversion between y and standardized effect sizes" if prior_scale == "y" else
                         "output_scale='y' is for unstandardized effects (y=); these are standardized")
    return out


def _mu(d: np.ndarray, scale: str) -> np.ndarray:
    if scale in ("d", "y"):
        return d
    r = d / np.sqrt(d**2 + 4.0)
    if scale == "r":
        return r
    if scale == "z":
        return np.arctanh(r)
    log_or = d * _LINEAR["logOR"]
    return log_or if scale == "logOR" else np.exp(log_or)


def to_scale(param: str, x: np.ndarray, scale: str, transformation: str = "robma") -> np.ndarray:
    """Draws of ``mu``, ``tau``, ``PET``, ``PEESE`` (on Cohen's d) on *scale*.

    Parameters
    ----------
    param : str
        ``"mu"``, ``"tau"``, ``"PET"``, ``"PEESE"`` or any other (returned unchanged).
    x : numpy.ndarray
        Draws on the prior scale (Cohen's d, or y).
    scale : str
        A canonical scale from :func:`check_scale`.
    transformation : {"robma", "link"}
        RoBMA's per-draw conversion of mu, or the linear link then the conversion from z.

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(x, dtype=float)
    if scale in ("d", "y"):
        return x
    if param == "mu":
        if transformation == "link":
            z = x / 2.0
            r = np.tanh(z)
            return {"r": r, "z": z}.get(scale, _mu(2.0 * r / np.sqrt(1.0 - r**2), scale))
        return _mu(x, scale)
    if param == "tau":
        return x * _LINEAR[scale]
    if param == "PEESE":
        return x / _LINEAR[scale]
    return x
