"""Predictions from a location-scale fit (metafor's ``predict.rma.ls``).

Three kinds, by which designs are given:

- nothing: each study's fitted value ``x_i' beta`` with its confidence interval, and the
  prediction interval from the study's own ``tau2_i``;
- ``newmods`` (and ``newscale``): ``x' beta`` for new moderator values; the prediction
  interval needs the heterogeneity at those values, so it is given only with ``newscale``
  (``tau2 = exp(z' alpha)``, or ``z' alpha`` with the identity link, one row recycled);
- ``newscale`` alone: the scale's linear predictor ``z' alpha`` (log tau², or tau² with the
  identity link, where negative values and bounds are set to 0 as metafor) with its
  confidence interval; ``transf=np.exp`` turns a log-link prediction into tau².

Critical values are the fit's: z, or t with ``k - p`` (location) and ``k - q`` (scale)
degrees of freedom under Knapp-Hartung tests.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import DataWarning, InputError
from bayesma.frequentist._common import _level
from bayesma.frequentist.inference import critical_value
from bayesma.frequentist.predict import new_design
from bayesma.frequentist.transf import transform_table

__all__ = ["predict_location_scale"]


def _scale_design(res: Any, newscale: Any) -> np.ndarray:
    view = SimpleNamespace(coef_names=res.scale_names, p=res.q, X=res.Z)
    try:
        return new_design(view, newscale)
    except InputError as err:
        raise InputError(str(err).replace("newmods", "newscale").replace("moderator", "scale variable")) from None


def _tau2(res: Any, Znew: np.ndarray) -> np.ndarray:
    lin = Znew @ res.alpha
    if res.link == "log":
        return np.exp(lin)
    if np.any(lin < 0):
        warnings.warn("negative predicted tau^2 values set to 0 (as metafor)", DataWarning, stacklevel=4)
    return np.maximum(lin, 0.0)


def predict_location_scale(res: Any, newmods: Any = None, newscale: Any = None, level: float | None = None,
                           transf: Any = None) -> pd.DataFrame:
    """Predicted effects, or predicted heterogeneity, of a location-scale fit.

    Parameters
    ----------
    res : LocationScaleResult
        A fit of ``bayesma.rma(..., scale=...)``.
    newmods : array_like, optional
        Location moderator values without the intercept (a vector for a one-moderator model
        is one value per prediction, as metafor).
    newscale : array_like, optional
        Scale variable values without the intercept (same rule); one row is used for every
        row of *newmods*.
    level : float, optional
        Confidence level; default the fit's.
    transf : callable, optional
        Applied to ``pred`` and the bounds (``se`` becomes NaN), e.g. ``np.exp``.

    Returns
    -------
    pandas.DataFrame
        Location predictions: ``pred, se, ci_lb, ci_ub, pi_lb, pi_ub`` (the prediction
        interval NaN without *newscale* when *newmods* are given). Scale predictions (only
        *newscale*): ``pred, se, ci_lb, ci_ub``; ``attrs["part"]`` says which.

    Raises
    ------
    InputError
        Designs that do not fit the model, or rows of *newmods* and *newscale* that differ in
        number (other than one row of *newscale*).

    References
    ----------
    metafor 3.8-1, ``predict.rma.ls``; Viechtbauer & López-López (2022).

    Examples
    --------
    >>> import numpy as np
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bangertdrowns2004")
    >>> dat["logni"] = np.log(dat["ni"])
    >>> res = bm.rma("yi", "vi", mods="~ length", scale="~ logni", data=dat, method="ML", missing="drop")
    >>> res.predict(newmods=[5, 10], newscale=[3, 4])["pi_lb"].round(4).tolist()
    [-0.5151, -0.3054]
    """
    level = _level(level if level is not None else res.level)
    if newmods is None and newscale is not None:
        Znew = _scale_design(res, newscale)
        pred = Znew @ res.alpha
        se = np.sqrt(np.einsum("ij,jk,ik->i", Znew, res.va, Znew))
        crit = critical_value(level, res.ddf_alpha)
        out = pd.DataFrame({"pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se})
        out = transform_table(out, transf, "pred", (("ci_lb", "ci_ub"),))
        if res.link == "identity" and transf is None:
            if np.any(out["pred"] < 0):
                warnings.warn("negative predicted tau^2 values set to 0 (as metafor)", DataWarning, stacklevel=3)
            for col in ("pred", "ci_lb", "ci_ub"):
                out[col] = out[col].clip(lower=0.0)
        out.attrs["part"] = "scale"
        return out
    if newmods is None:
        Xnew, tau2 = res.X, res.tau2
    else:
        Xnew = new_design(res, newmods)
        tau2 = np.full(Xnew.shape[0], np.nan)
        if newscale is not None:
            t2 = _tau2(res, _scale_design(res, newscale))
            if t2.size == 1:
                t2 = np.repeat(t2, Xnew.shape[0])
            if t2.size != Xnew.shape[0]:
                raise InputError(f"newmods has {Xnew.shape[0]} rows but newscale {t2.size}: give one row of "
                                 "newscale per row of newmods, or one for all")
            tau2 = t2
    pred = Xnew @ res.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xnew, res.vb, Xnew))
    crit = critical_value(level, res.dfs)
    pi_se = np.sqrt(se**2 + tau2)
    out = pd.DataFrame({"pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se,
                        "pi_lb": pred - crit * pi_se, "pi_ub": pred + crit * pi_se})
    out = transform_table(out, transf, "pred", (("ci_lb", "ci_ub"), ("pi_lb", "pi_ub")))
    out.attrs["part"] = "location"
    return out
