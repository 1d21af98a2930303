"""Predictions of a Bayesian meta-regression at given moderator values, and per level of categorical moderators.

``theta_new`` of a meta-regression is a new study *at the mean moderator values*; with a
categorical moderator (``mods="~ outcome"``) that mean is a mixture of levels that describes no
study. :meth:`MetaPosterior.predict` gives, at any design row ``x``, the posterior of the mean
effect ``x' beta`` and the predictive distribution of a new study's effect
``x' beta + u`` with ``u ~ N(0, tau^2 [+ tau_within^2])`` (Student-t with ``nu`` for the t
likelihood), both from the posterior draws (for the exact engine independent draws of the exact
posterior); :meth:`MetaPosterior.level_predictions` does so at each cell of a categorical design
(:func:`bayesma.cells.design_cells`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._validate import check_level
from bayesma.cells import design_cells, has_moderators
from bayesma.errors import InputError, UnsupportedModelError

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.cells import Cells

__all__ = ["PredictionMixin", "cells_of", "NOT_PER_LEVEL", "NO_THETA_NEW_MV"]

#: why theta_new is not shown for a model with a categorical moderator (printout, report)
NOT_PER_LEVEL = ("not shown: theta_new at the mean moderators mixes the levels of a categorical moderator; "
                 "use post.predict(newmods=...) at the moderator values of interest")
#: why a multivariate model with moderators has no theta_new[<outcome>] (printout)
NO_THETA_NEW_MV = ("no theta_new[<outcome>] with moderators: a new study's effect on an outcome needs its "
                   "moderator values; use post.predict(design=...) with its design row (struct='CS')")

_COLUMNS = ["median", "eti_lower", "eti_upper", "pi_lower", "pi_upper"]


def cells_of(spec: Any) -> Cells | None:
    """The cells of a fit's categorical design (None: no moderators, or a continuous one)."""
    if not getattr(spec, "is_regression", False):
        return None
    return design_cells(spec.X, list(spec.coef_names), spec.meta.data)


def has_categorical(spec: Any) -> bool:
    """Whether a meta-regression has a categorical (0/1-coded) moderator column."""
    if not getattr(spec, "is_regression", False):
        return False
    X = np.asarray(spec.X, dtype=float)
    return any(np.isin(X[:, j], (0.0, 1.0)).all() and not np.allclose(X[:, j], 1.0) for j in range(X.shape[1]))


def _design(spec: Any, newmods: Any, design: Any) -> np.ndarray:
    p = len(spec.coef_names)
    if design is not None:
        if newmods is not None:
            raise InputError("give newmods (moderator values) or design (full design rows), not both")
        rows = np.atleast_2d(np.asarray(design, dtype=float))
        if rows.shape[1] != p:
            raise InputError(f"design must have {p} columns ({', '.join(spec.coef_names)}), got {rows.shape[1]}")
        return rows
    if newmods is None:
        raise InputError("give newmods= (the moderator values, one row per prediction) or design= (full "
                         "design rows); post.level_predictions() predicts each level of categorical moderators")
    intercept = np.allclose(np.asarray(spec.X, float)[:, 0], 1.0) and spec.coef_names[0] == "intrcpt"
    width = p - 1 if intercept else p
    try:
        raw = np.asarray(newmods, dtype=float)
    except (TypeError, ValueError):  # level names, a dict, a table: not values of the design's columns
        raise InputError(f"newmods must be numbers, the values of the design's moderator columns "
                         f"({', '.join(spec.coef_names[-width:])}; a categorical moderator is 0/1 per level), got "
                         f"{newmods!r:.60}; post.level_predictions() predicts each level of categorical moderators, "
                         "post.predict(design=...) takes full design rows") from None
    if raw.ndim == 0:
        rows = raw.reshape(1, 1)
    elif raw.ndim == 1:  # one moderator: one prediction per value (as metafor); several: one row
        rows = raw.reshape(-1, 1) if width == 1 else raw.reshape(1, -1)
    else:
        rows = raw
    if rows.shape[1] != width:
        raise InputError(f"newmods must have {width} column(s), one per moderator ({', '.join(spec.coef_names[-width:])}),"
                         f" got {rows.shape[1]}")
    return np.column_stack([np.ones(len(rows)), rows]) if intercept else rows


def _predictive_sd(post: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Draws of the SD of a new study's random effect, and of nu (t likelihood) or None."""
    spec = post.spec
    if spec.model == "common":
        return np.zeros(post.n_draws), None
    if getattr(spec, "tau_by", None) is not None or getattr(spec, "scale", None) is not None:
        raise UnsupportedModelError("predictions at new moderator values need one between-study SD; with tau_by or "
                                    "scale= each subgroup or study has its own (see theta_new[...] in summary())")
    dep = getattr(spec, "dependence", None)
    if dep is not None and dep.multivariate and dep.struct != "CS":
        raise UnsupportedModelError(f"predictions at new moderator values need one between-study SD; under "
                                    f"struct={dep.struct!r} each outcome has its own tau (struct='CS' shares one)")
    var = post.draws("tau") ** 2  # multivariate CS: tau^2 is every outcome's variance of a new study's effect
    if "tau_within" in post.idata.posterior:
        var = var + post.draws("tau_within") ** 2
    nu = post.draws("nu") if "nu" in post.idata.posterior else None
    return np.sqrt(var), nu


def predict_rows(post: Any, rows: np.ndarray, prob: float, seed: int = 1) -> pd.DataFrame:
    """Median and equal-tailed intervals of ``x' beta`` and of a new study's effect at each row."""
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    beta = post.draws("beta")
    sd, nu = _predictive_sd(post)
    rng = np.random.default_rng(seed)
    z = rng.standard_t(nu) if nu is not None else rng.standard_normal(sd.shape[0])
    out = []
    for x in rows:
        mean = beta @ x
        new = mean + sd * z
        q = np.quantile(mean, [0.5, lo, hi])
        out.append([*q, *np.quantile(new, [lo, hi])])
    return pd.DataFrame(out, columns=_COLUMNS)


class PredictionMixin:
    """``predict`` and ``level_predictions`` of :class:`bayesma.MetaPosterior` (see the module docstring)."""

    spec: Any

    def predict(self, newmods: Any = None, prob: float = 0.95, *, design: Any = None) -> pd.DataFrame:
        """Posterior of the mean effect, and a new study's predictive interval, at given moderator values.

        Parameters
        ----------
        newmods : array_like, optional
            Moderator values without the intercept, one row per prediction (shape (n, p - 1);
            a scalar or a 1-D array for a single moderator), as :meth:`bayesma.RMAResult.predict`.
        prob : float
            Interval probability (0.95; 95 means 95%).
        design : array_like, optional
            Full design rows (one column per coefficient) instead of *newmods*.

        Returns
        -------
        pandas.DataFrame
            One row per prediction: ``median``, ``eti_lower``, ``eti_upper`` of ``x' beta`` and
            ``pi_lower``, ``pi_upper`` of a new study's effect, from the posterior draws.

        Raises
        ------
        bayesma.errors.InputError
            For an intercept-only model (use ``interval("theta_new")``), or rows of the wrong width.
        bayesma.errors.UnsupportedModelError
            With ``tau_by`` or ``scale=`` (no single between-study SD).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> post = bm.MetaAnalysis(dat, mods="~ ablat").fit(engine="exact", seed=1)
        >>> post.predict([10, 50]).shape
        (2, 5)
        """
        prob = check_level(prob, "prob")
        if not has_moderators(self.spec.X, list(self.spec.coef_names)):
            raise InputError("an intercept-only model predicts one effect: post.interval('pooled') and "
                             "post.interval('theta_new')")
        return predict_rows(self, _design(self.spec, newmods, design), prob)

    def level_predictions(self, prob: float = 0.95) -> pd.DataFrame:
        """The mean effect and a new study's predictive interval at each level of categorical moderators.

        For a model whose moderators are all categorical (``mods="~ outcome"``): one row per cell
        of the design (:func:`bayesma.cells.design_cells`), :meth:`predict` at its design row.

        Parameters
        ----------
        prob : float
            Interval probability (0.95).

        Returns
        -------
        pandas.DataFrame
            Index: the levels (``"outcome = misconduct"``); columns ``k`` and those of :meth:`predict`.

        Raises
        ------
        bayesma.errors.InputError
            For an intercept-only model, or a continuous moderator (use :meth:`predict`).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> post = bm.MetaAnalysis(dat, mods="~ alloc").fit(engine="exact", seed=1)
        >>> post.level_predictions().index.tolist()
        ['alloc = alternate', 'alloc = random', 'alloc = systematic']
        """
        cells = cells_of(self.spec)
        if cells is None:
            raise InputError("predictions per level need a model whose moderators are all categorical; use "
                             "post.predict(newmods=...) at the moderator values of interest")
        out = self.predict(prob=prob, design=cells.rows)
        out.index = pd.Index(cells.labels)
        out.insert(0, "k", cells.k)
        return out

    def study_predictions(self, prob: float = 0.95) -> pd.DataFrame:
        """A new study like each study: its mean ``x_i' beta`` and its own predictive interval.

        In a location-scale model (``scale=``) each study has its own heterogeneity
        ``tau_i = exp(z_i' alpha)``, so a new study with study i's moderators and scale moderators has
        effect ``x_i' beta + tau_i u``, ``u ~ N(0, 1)``: the interval the forest plot draws behind each
        study. From the posterior draws (the noise ``u`` with a fixed seed).

        Parameters
        ----------
        prob : float
            Interval probability (0.95).

        Returns
        -------
        pandas.DataFrame
            Index: the study labels; columns ``median``, ``eti_lower``, ``eti_upper`` (of ``x_i' beta``),
            ``pi_lower``, ``pi_upper`` (a new study like study i).

        Raises
        ------
        bayesma.errors.UnsupportedModelError
            For a model without a per-study tau (use :meth:`predict`, or ``interval("theta_new")``).

        Examples
        --------
        >>> import bayesma as bm, numpy as np
        >>> dat = bm.load_dataset("dat.bangertdrowns2004")
        >>> dat["logni"] = np.log(dat["ni"])
        >>> post = bm.MetaAnalysis(dat, scale="~ logni").fit(draws=200, chains=2, seed=1)  # doctest: +SKIP
        >>> post.study_predictions().shape  # doctest: +SKIP
        (48, 5)
        """
        prob = check_level(prob, "prob")
        spec = self.spec
        if getattr(spec, "scale", None) is None:
            why = "a common-effect model has no tau" if spec.model == "common" else "here every study shares tau"
            raise UnsupportedModelError(f"study-specific predictions need a location-scale model (scale=); {why}: "
                                        "use post.predict(newmods=...) or post.interval('theta_new')")
        post: Any = self
        X = np.asarray(spec.X, dtype=float)
        loc = post.draws("beta") @ X.T if spec.is_regression else np.repeat(post.draws("mu")[:, None], len(X), 1)
        tau = post.draws("tau")  # (n, k): each study's own
        u = np.random.default_rng(1).standard_normal(loc.shape[0])[:, None]
        lo, hi = (1 - prob) / 2, (1 + prob) / 2
        mean_q = np.quantile(loc, [0.5, lo, hi], axis=0)
        new_q = np.quantile(loc + tau * u, [lo, hi], axis=0)
        return pd.DataFrame(np.vstack([mean_q, new_q]).T, columns=_COLUMNS,
                            index=pd.Index([str(lab) for lab in spec.labels]))
