"""Predicted effects with confidence and prediction intervals (metafor's ``predict.rma``).

The prediction interval for the true effect of a new study has several variants in the
literature, which differ in the critical value and in the variance of the prediction:

==============  =========================================  ======================================
``pi_type``     critical value                             source
==============  =========================================  ======================================
``"default"``   the fit's own: z, or t(k - p) under        metafor's default (Higgins, Thompson &
                Knapp-Hartung                              Spiegelhalter 2009 with a z value)
``"z"``         as ``"default"`` (metafor 3.8.1)           metafor
``"t"``         t(k - p)                                   Higgins et al. (2009); IntHout et al. (2016)
``"riley"``     t(k - p - 1) (k - number of parameters)    Riley, Higgins & Deeks (2011)
``"simple"``    z, and the SE of the mean left out:        the "simple" interval mu ± z tau
                pred ± z tau
``"HK"``        t(k - p), Knapp-Hartung SE of the mean     meta's ``method.predict = "HK"``
``"HK-PR"``     t(k - p - 1), Knapp-Hartung SE             meta's ``"HK-PR"`` (Partlett & Riley 2017)
==============  =========================================  ======================================

With few studies IntHout et al. (2016, BMJ Open 6:e010247) and Partlett & Riley (2017,
Statistics in Medicine 36:301-317) found the z-based interval far too narrow; ``"t"``
(or ``"HK"`` / ``"HK-PR"``) keeps closer to its nominal coverage. bayesma keeps metafor's
default so that its numbers equal metafor's, and recommends ``pi_type="t"`` or ``"HK-PR"``
for k < 10 (docs/small_k.rst).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.errors import InputError
from bayesma.frequentist._common import _level
from bayesma.frequentist.inference import critical_value
from bayesma.frequentist.transf import transform_table

__all__ = ["PI_TYPES", "PredictionIntervals", "predict_rma", "pi_critical", "pi_label"]

PI_TYPES = ("default", "z", "t", "riley", "simple", "HK", "HK-PR")
_ALIASES = {"Riley": "riley", "hk": "HK", "hk-pr": "HK-PR", "HK-PR": "HK-PR", "HK": "HK"}


def _pi_type(pi_type: Any) -> str:
    value = _ALIASES.get(str(pi_type), str(pi_type)) if pi_type is not None else "default"
    if value not in PI_TYPES:
        raise InputError(f"pi_type must be one of {PI_TYPES}, got {pi_type!r}")
    return value


def pi_critical(res: Any, pi_type: str, level: float) -> tuple[float, float | None]:
    """The critical value of the prediction interval and its t degrees of freedom (None: z).

    Degrees of freedom follow metafor: ``k - p`` for ``"t"`` and the ``"HK"`` variants,
    ``k - p - 1`` (one less for tau²; ``k - p`` for a fixed-effect fit) for ``"riley"`` and
    ``"HK-PR"``, at least 1.
    """
    ddf = res.k - res.p
    if pi_type in ("t", "HK"):
        df = max(ddf, 1)
    elif pi_type in ("riley", "HK-PR"):
        n_tau = 0 if (res.method == "FE" or getattr(res, "tau2_fix", False)) else 1
        df = max(ddf - n_tau, 1)
    elif pi_type == "simple":
        return float(stats.norm.isf((1 - level) / 2)), None
    else:
        return critical_value(level, res.dfs), res.dfs
    return float(stats.t.isf((1 - level) / 2, df)), df


def pi_label(res: Any, pi_type: Any = None) -> str:
    """How reports and figures name the prediction interval of *res*: the variant and its critical value.

    Examples: ``"z"`` (metafor's default for a z-test fit), ``"t(12)"``, ``"Riley, t(11)"``,
    ``"HK-PR, t(11)"``, ``"simple, z"`` (the fit's own variant when *pi_type* is None).
    """
    kind = _pi_type(pi_type if pi_type is not None else getattr(res, "pi_type", None))
    _, df = pi_critical(res, kind, float(res.level))
    dist = "z" if df is None else f"t({df})"
    names = {"riley": "Riley", "simple": "simple", "HK": "HK", "HK-PR": "HK-PR"}
    return f"{names[kind]}, {dist}" if kind in names else dist


def _knha_scale(res: Any) -> float:
    """The Knapp-Hartung factor of the fit (1 when the fit already used it)."""
    if res.test in ("knha", "adhoc"):
        return 1.0
    yi, vi, X = res.data.yi, res.data.vi, res.X
    w = 1.0 / (vi + res.tau2)
    resid = yi - X @ res.beta
    return float(np.sum(w * resid**2) / max(res.k - res.p, 1))


def new_design(res: Any, newmods: Any) -> np.ndarray:
    """The rows of the design matrix for *newmods* (moderator values without the intercept).

    As metafor: a vector for a model with one moderator is one value per prediction; a
    matrix must have one column per moderator; an intercept-only model takes no *newmods*.
    """
    intercept = bool(res.coef_names) and res.coef_names[0] == "intrcpt"
    if newmods is None:
        if res.p == 1 and intercept:
            return np.ones((1, 1))
        return res.X
    n_mods = res.p - 1 if intercept else res.p
    if n_mods == 0:
        raise InputError("newmods: the model has no moderators (as metafor, which stops here); "
                         "predict() without newmods gives the pooled estimate")
    raw = np.asarray(newmods, dtype=float)
    if raw.ndim == 0:
        raw = raw.reshape(1)
    if raw.ndim == 1:
        Xnew = raw.reshape(-1, 1) if n_mods == 1 else raw.reshape(1, -1)
    elif raw.ndim == 2:
        Xnew = raw
    else:
        raise InputError(f"newmods must be a vector or a matrix, got an array of {raw.ndim} dimensions")
    if Xnew.shape[1] != n_mods:
        names = [c for c in res.coef_names if c != "intrcpt"]
        raise InputError(f"newmods has {Xnew.shape[1]} column(s), the model has {n_mods} moderator(s) "
                         f"({', '.join(names)}): give one column per moderator, without the intercept")
    if not np.all(np.isfinite(Xnew)):
        raise InputError("newmods has missing or infinite values")
    return np.column_stack([np.ones(Xnew.shape[0]), Xnew]) if intercept else Xnew


def predict_rma(res: Any, newmods: Any = None, level: float | None = None, transf: Any = None,
                pi_type: Any = None, predtype: Any = None, *, design: Any = None) -> pd.DataFrame:
    """Predicted (average) effects of an ``rma`` fit with confidence and prediction intervals.

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma`.
    newmods : array_like, optional
        Moderator values (without the intercept column), one row per prediction; a vector
        for a one-moderator model is one value per prediction (metafor's rule). Default:
        the pooled estimate, or the fitted values of a meta-regression.
    level : float, optional
        Confidence level; default the level of the fit (0.95 or 95).
    transf : callable, optional
        Applied to ``pred`` and the interval bounds (``se`` becomes NaN), as metafor.
    pi_type : {"default", "z", "t", "riley", "simple", "HK", "HK-PR"}, optional
        The prediction-interval variant (see the module documentation); ``predtype`` is
        the same argument under metafor 5's name.
    predtype : str, optional
        Alias of *pi_type*; give one of the two.
    design : array_like, optional
        Full rows of the design matrix (one column per coefficient, the intercept's
        included), instead of *newmods*: for callers that hold a model's design row.

    Returns
    -------
    pandas.DataFrame
        Columns ``pred``, ``se``, ``ci_lb``, ``ci_ub``, ``pi_lb``, ``pi_ub`` (and ``pi_df``
        where the interval uses a t distribution); ``attrs["pi_type"]`` names the variant.

    Raises
    ------
    ValueError
        For an unknown *pi_type*, both *pi_type* and *predtype*, or *newmods* that do not
        fit the model.

    References
    ----------
    metafor 3.8-1 ``predict.rma`` (``pi.type``); meta's ``method.predict``; Riley, Higgins &
    Deeks (2011) BMJ 342:d549; IntHout et al. (2016); Partlett & Riley (2017).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> res.predict(pi_type="t")[["pi_lb", "pi_ub"]].round(4)
        pi_lb   pi_ub
    0 -1.9953  0.5663
    """
    if pi_type is not None and predtype is not None:
        raise InputError("give pi_type or predtype (metafor 5's name for it), not both")
    chosen = pi_type if pi_type is not None else predtype
    kind = _pi_type(chosen if chosen is not None else getattr(res, "pi_type", None))  # the fit's own by default
    level = _level(level if level is not None else res.level)
    if design is not None:
        if newmods is not None:
            raise InputError("give newmods (moderator values) or design (full design rows), not both")
        Xnew = np.atleast_2d(np.asarray(design, dtype=float))
        if Xnew.shape[1] != res.p:
            raise InputError(f"design rows need {res.p} columns (one per coefficient), got {Xnew.shape[1]}")
    else:
        Xnew = new_design(res, newmods)
    pred = Xnew @ res.beta
    vb = res.vb * (_knha_scale(res) if kind in ("HK", "HK-PR") else 1.0)
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xnew, vb, Xnew))
    ci_crit = critical_value(level, res.dfs) if kind not in ("HK", "HK-PR") else pi_critical(res, "HK", level)[0]
    crit, df = pi_critical(res, kind, level)
    vpred = 0.0 if kind == "simple" else se**2
    pi_se = np.sqrt(vpred + res.tau2)
    out = pd.DataFrame({
        "pred": pred, "se": se, "ci_lb": pred - ci_crit * se, "ci_ub": pred + ci_crit * se,
        "pi_lb": pred - crit * pi_se, "pi_ub": pred + crit * pi_se,
    })
    if df is not None:
        out["pi_df"] = df
    out = transform_table(out, transf, "pred", (("ci_lb", "ci_ub"), ("pi_lb", "pi_ub")))
    out.attrs["pi_type"] = kind
    return out


class PredictionIntervals:
    """The prediction-interval choice of :class:`~bayesma.RMAResult` (a mixin): the fit carries its
    variant (``pi_type``), which ``pi_lb``/``pi_ub``, :meth:`predict`, the forest plot and the report use."""

    @property
    def pi_label(self) -> str:
        """The prediction interval's variant and critical value, as reports and plots name it (``"t(12)"``)."""
        return pi_label(self)

    def with_pi_type(self, pi_type: str) -> Any:
        """This fit with ``pi_lb``/``pi_ub`` (and the default of ``predict()``) of another prediction interval.

        Parameters
        ----------
        pi_type : str
            A variant of :func:`predict_rma` ("default", "z", "t", "riley", "simple", "HK", "HK-PR").

        Returns
        -------
        RMAResult
            A new result (results are immutable); its forest plot and report use the variant and name it.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat).with_pi_type("t")
        >>> round(res.pi_lb, 4), res.pi_label
        (-1.9953, 't(12)')
        """
        pred = predict_rma(self, pi_type=pi_type)
        one = getattr(self, "p", 1) == 1  # a regression has no single pi_lb / pi_ub
        return dataclasses.replace(self, pi_type=str(pred.attrs["pi_type"]),  # type: ignore[type-var]
                                   pi_lb=float(pred["pi_lb"].iloc[0]) if one else None,
                                   pi_ub=float(pred["pi_ub"].iloc[0]) if one else None)
