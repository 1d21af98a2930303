"""The frequentist counterpart of a Bayesian model with a bias component or a scale model, for
:func:`bayesma.results.summary.compare_frequentist`: the same model fitted by metafor's methods
(PET / PEESE: ``rma(yi, vi, mods = ~ sei)`` or ``~ vi`` by REML; a one-sided step selection model:
``selmodel(rma(yi, vi), type = "stepfun", steps)``; a location-scale model: ``rma(yi, vi, scale = ~ z)``).
Without these rows the Bayesian PET, selection or location-scale estimate stood only beside the
random-effects fits of another model."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from bayesma.errors import BayesmaError

__all__ = ["family_rows"]

_NAN = float("nan")


def _row(estimate: float, lo: float, hi: float, tau: float = _NAN) -> dict[str, float]:
    return {"estimate": float(estimate), "ci_lb": float(lo), "ci_ub": float(hi), "tau": float(tau),
            "tau_ci_lb": _NAN, "tau_ci_ub": _NAN, "pi_lb": _NAN, "pi_ub": _NAN}


def _fit(spec: Any, level: float) -> tuple[str, Any, float] | None:
    from bayesma.bias.components import PEESE, PET, WeightFunction
    from bayesma.frequentist import rma, selmodel

    bias = getattr(spec, "bias", None)
    yi, vi, X = np.asarray(spec.yi, float), np.asarray(spec.vi, float), np.asarray(spec.X, float)
    slopes = X[:, 1:] if spec.coef_names[0] == "intrcpt" else X
    if isinstance(bias, (PET, PEESE)):
        name, column = ("PET", np.sqrt(vi)) if isinstance(bias, PET) else ("PEESE", vi)
        mods = np.column_stack([slopes, column])
        res = rma(yi, vi, mods=mods, level=level)
        return f"REML ({name}: mods = {'sei' if name == 'PET' else 'vi'})", res, float(res.tau)
    if isinstance(bias, WeightFunction) and bias.sides == "one" and not spec.is_regression:
        res = selmodel(rma(yi, vi, level=level), type="stepfun", steps=list(bias.one_sided_cuts()))
        return "ML (selection model)", res, float(np.sqrt(max(res.tau2, 0.0)))
    if getattr(spec, "Z", None) is not None and bias is None:
        Z = np.asarray(spec.Z, float)
        z = Z[:, 1:] if list(spec.scale_names)[0] == "intrcpt" else Z
        res = rma(yi, vi, mods=slopes if slopes.shape[1] else None, scale=z, level=level)
        return "REML (location-scale)", res, _NAN
    return None


def family_rows(spec: Any, level: float, reg: bool) -> list[tuple[Any, dict[str, float]]]:
    """Rows ``(label or (label, coef), record)`` of the frequentist fit of the same model, or none
    (a model without a counterpart here, or one the frequentist fit refuses)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = _fit(spec, level)
    except (BayesmaError, np.linalg.LinAlgError):
        return []
    if fitted is None:
        return []
    label, res, tau = fitted
    names = list(spec.coef_names)  # the model's coefficients: the PET/PEESE term is left out
    lo, hi, beta = (np.asarray(v, float).reshape(-1) for v in (res.ci_lb, res.ci_ub, res.beta))
    rows = [((label, n) if reg else label, _row(beta[j], lo[j], hi[j], tau)) for j, n in enumerate(names)]
    return rows if reg else rows[:1]
