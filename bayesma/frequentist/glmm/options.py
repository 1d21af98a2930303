"""The options of :func:`bayesma.rma_glmm` beyond the model, checked: metafor's ``coding``,
``cor``, ``add``, ``to``, ``drop00``, ``vtype`` and the parts of ``control`` that mean something here.

bayesma fits every model by its own Newton iterations on the quadrature (or exact)
log-likelihood, so metafor's choices of package, optimiser and their settings
(``optimizer``, ``package``, ``optCtrl``, ``glmerCtrl``, ``intCtrl``, ...) have nothing to act
on: they are refused by name, never ignored. ``control`` takes

- ``scaleX`` (bool, default True): standardise the moderators that are not 0/1 dummies for
  the fit, as metafor (the estimates do not depend on it; the iterations may);
- ``evtol`` (float, default 1e-7): the design is refused when an eigenvalue of ``X'X`` is at or
  below it, as metafor's "Model matrix not of full rank";
- ``maxiter`` (int, default 200) and ``threshold`` (float, default 1e-12): the Newton
  iterations of the fixed-effects and random-effects fits stop when the Newton decrement is
  below *threshold*, and fail (``ConvergenceError``) after *maxiter* steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError, UnsupportedModelError
from bayesma.frequentist.glmm.data import TO

__all__ = ["GLMMControl", "glmm_control", "check_coding", "check_escalc_options"]

#: metafor's control= entries that choose or tune software bayesma does not use
_METAFOR_ONLY = ("optimizer", "optmethod", "package", "parallel", "cl", "ncpus", "dnchgcalc", "dnchgprec",
                 "hesspack", "optCtrl", "clogitCtrl", "clogisticCtrl", "glmCtrl", "glmerCtrl", "intCtrl",
                 "hessianCtrl", "verbose")


@dataclass(frozen=True)
class GLMMControl:
    """The settings ``control=`` may change (see the module docstring)."""

    scaleX: bool = True
    evtol: float = 1e-7
    maxiter: int = 200
    threshold: float = 1e-12


def glmm_control(control: Any) -> GLMMControl:
    """*control* (None or a dict) as a :class:`GLMMControl`; entries it cannot use raise."""
    if control is None:
        return GLMMControl()
    if not isinstance(control, dict):
        raise ArgumentTypeError(f"control must be a dict such as {{'maxiter': 500}}, got {type(control).__name__}")
    out: dict[str, Any] = {}
    for key, value in control.items():
        if key in _METAFOR_ONLY:
            raise UnsupportedModelError(
                f"control[{key!r}] chooses or tunes metafor's fitting software (lme4, optimisers, integrate); "
                "bayesma fits by its own Newton iterations: use control keys 'maxiter' and 'threshold' for them, "
                "nAGQ= for the quadrature")
        if key == "scaleX":
            if not isinstance(value, (bool, np.bool_)):
                raise ArgumentTypeError(f"control['scaleX'] must be True or False, got {value!r}")
            out[key] = bool(value)
        elif key == "maxiter":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ArgumentTypeError(f"control['maxiter'] must be a whole number >= 1, got {value!r}")
            out[key] = int(value)
        elif key in ("evtol", "threshold"):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not np.isfinite(value) or value <= 0:
                raise ArgumentTypeError(f"control[{key!r}] must be a positive number, got {value!r}")
            out[key] = float(value)
        else:
            raise InputError(f"control[{key!r}] is not known; rma_glmm's control takes 'scaleX', 'evtol', "
                             "'maxiter' and 'threshold'")
    return GLMMControl(**out)


def check_coding(coding: Any, cor: Any, measure: str, model: str, method: str) -> float:
    """metafor's ``coding`` (1/2, 1 or 0) as a float, refused where the model has no random group
    effect (PLO, IRLN, CM.EL, CM.AL, ``method="FE"``); ``cor=True`` needs UM.RS with ML."""
    if isinstance(coding, (bool, np.bool_)) or not isinstance(coding, (int, float, np.integer, np.floating)) \
            or float(coding) not in (0.5, 1.0, 0.0):
        raise InputError(f"coding={coding!r} is not known; metafor's coding is 1/2 (the default), 1 or 0")
    if not isinstance(cor, (bool, np.bool_)):
        raise ArgumentTypeError(f"cor must be True or False, got {cor!r}")
    unconditional = measure in ("OR", "RR", "IRR") and model in ("UM.FS", "UM.RS")
    if float(coding) != 0.5 and not (unconditional and method == "ML"):
        raise UnsupportedModelError(
            f"coding={coding!r} says how the group indicator enters the random effects of model 'UM.FS' or "
            f"'UM.RS' with method 'ML'; measure {measure!r} with model {model!r} and method {method!r} has none")
    if cor and not (unconditional and model == "UM.RS" and method == "ML"):
        raise UnsupportedModelError(
            "cor=True correlates the random study intercept with the random effect of model 'UM.RS' "
            f"(method 'ML'); measure {measure!r} with model {model!r} and method {method!r} has no such pair")
    return float(coding)


def check_escalc_options(add: Any, to: Any, drop00: Any, measure: str, vtype: Any = "LS") -> None:
    """metafor's ``add`` (a number >= 0), ``to`` (``"only0"``, ``"all"``, ``"if0all"``, ``"none"``),
    ``drop00`` (bool; refused as False for measures without two groups, where it means nothing) and
    ``vtype`` (``"LS"``; ``"AV"`` for PLO, the only measure here whose escalc variance it changes)."""
    if isinstance(add, (bool, np.bool_)) or not isinstance(add, (int, float, np.integer, np.floating)) \
            or not np.isfinite(add) or add < 0:
        raise ArgumentTypeError(f"add must be a number >= 0 (added to the cells of escalc's tables), got {add!r}")
    if to not in TO:
        raise InputError(f"to={to!r} is not known; metafor's to is one of {list(TO)}")
    if not isinstance(drop00, (bool, np.bool_)):
        raise ArgumentTypeError(f"drop00 must be True or False, got {drop00!r}")
    if vtype not in ("LS", "AV"):
        raise InputError(f"vtype={vtype!r} is not known here; rma_glmm takes 'LS' (the default) or, for PLO, 'AV'")
    if vtype == "AV" and measure != "PLO":
        raise UnsupportedModelError(f"vtype='AV' changes escalc's variances of measure 'PLO' only; for {measure!r} "
                                    "escalc has one variance ('LS')")
    if not drop00 and measure not in ("OR", "RR", "IRR"):
        raise UnsupportedModelError(f"drop00 concerns tables of two groups with no events in both; measure "
                                    f"{measure!r} has one group per study")
