"""Robust Bayesian meta-analysis (RoBMA-PSMA): the model-averaged ensemble of bias-adjusted models.

:func:`robma` crosses effect (mu = 0 or mu ~ prior), heterogeneity (tau = 0 or
tau ~ prior) and publication bias (none, step-function selection models, PET,
PEESE), computes every model's marginal likelihood and posterior with
:mod:`bayesma.bias` (adaptive importance sampling with randomised
quasi-Monte Carlo; the method and its checks are in docs/robma.rst) and averages
them (:class:`~bayesma.bias.result.RoBMAResult`).

Scales follow RoBMA 3: standardized mean differences are fitted on Fisher's z
(``z = atanh(d / sqrt(d^2 + 4))``, ``se_z = 1 / sqrt(n - 3)`` with
``n = (d^2 + 8) / (2 se_d^2)``); the priors stay on Cohen's d and are linked by
``mu_z = mu / 2``, ``tau_z = tau / 2``, ``PEESE_z = 2 PEESE`` (PET unchanged);
weight-function cut points are one-sided p-values of each study's t test on the d
scale moved to z. Estimates are reported on the d scale.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import as_numeric, column, label_alias, study_name
from bayesma.bias.components import (
    PEESE,
    PET,
    WeightFunction,
    bias_ensemble,
    default_effect,
    default_heterogeneity,
    parse_bias,
)
from bayesma.bias.extended import fit_extended, split_priors
from bayesma.bias.likelihood import d_to_z, se_d_to_z
from bayesma.bias.model import FitData, ModelDef, fit_model
from bayesma.bias.result import RoBMAResult
from bayesma.errors import ArgumentTypeError, DataWarning, InputError
from bayesma.priors import Prior, parse

__all__ = ["robma", "ensemble_models"]

_MEASURES = {"SMD": "SMD", "D": "SMD", "COHENS_D": "SMD", "ZCOR": "ZCOR", "Z": "ZCOR", "FISHERS_Z": "ZCOR"}


def _data(data, yi, sei, vi, slab) -> tuple[np.ndarray, np.ndarray, list | None]:
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if yi is None:
        yi = "yi" if data is not None and "yi" in data.columns else None
    if yi is None:
        raise ArgumentTypeError("robma() needs yi= (effect sizes: values or a column of data)")
    if sei is None and vi is None:
        if data is not None and "sei" in data.columns:
            sei = "sei"
        elif data is not None and "vi" in data.columns:
            vi = "vi"
        else:
            raise ArgumentTypeError("robma() needs sei= (standard errors) or vi= (sampling variances)")
    if sei is not None and vi is not None:
        raise ArgumentTypeError("give sei= or vi=, not both")
    labels = None
    if slab is not None:
        labels = list(column(data, slab, "slab"))
    y = as_numeric(column(data, yi, "yi"), yi if isinstance(yi, str) else "yi", labels)
    if sei is not None:
        name = sei if isinstance(sei, str) else "sei"
        se = as_numeric(column(data, sei, "sei"), name, labels)
    else:
        name = vi if isinstance(vi, str) else "vi"
        v = as_numeric(column(data, vi, "vi"), name, labels)
        bad = np.flatnonzero(~(v > 0))
        if bad.size:
            raise InputError(f"column {name!r}: {study_name(labels, int(bad[0]))} has a sampling variance "
                             f"{v[bad[0]]!r}; it must be positive")
        se = np.sqrt(v)
    ycol = yi if isinstance(yi, str) else "yi"
    if y.shape != se.shape:
        raise InputError(f"yi has {y.size} values but the standard errors {se.size}")
    for vals, col_name in ((y, ycol), (se, name)):
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:
            raise InputError(f"column {col_name!r}: {study_name(labels, int(bad[0]))} is missing or not finite "
                             f"({vals[bad[0]]!r}); robma() drops nothing silently")
    bad = np.flatnonzero(~(se > 0))
    if bad.size:
        raise InputError(f"column {name!r}: {study_name(labels, int(bad[0]))} has a standard error "
                         f"{se[bad[0]]!r}; it must be positive")
    if y.size < 2:
        raise InputError("robma() needs at least 2 studies")
    return y, se, labels


def _fit_data(y, se, measure: str, sign: float = 1.0) -> FitData:
    y = sign * y
    if measure == "SMD":
        n = (y**2 + 8) / (2 * se**2)
        bad = np.flatnonzero(n <= 5)
        if bad.size:
            raise InputError(f"study in row {bad[0] + 1}: d = {y[bad[0]]:g} with se = {se[bad[0]]:g} implies a "
                             f"total sample size {n[bad[0]]:.3g} <= 5; cannot move it to Fisher's z")
        return FitData(d_to_z(y), se_d_to_z(y, se), y, se, "SMD", sign * 0.5, 0.5)
    return FitData(y, se, y, se, "ZCOR", sign * 0.5, 0.5)


def _prior(value: Any, key: str, target: tuple[str, ...]) -> Prior:
    if isinstance(value, str):
        value = parse(value)
    if not isinstance(value, Prior) or value.target not in target:
        raise ArgumentTypeError(f"priors[{key!r}] must be a bayesma prior of target {' or '.join(target)}, got {value!r}")
    return value


def ensemble_models(priors: Mapping[str, Any] | None = None, ensemble: str | Sequence = "PSMA") -> list[ModelDef]:
    """The models of an ensemble with their prior probabilities (RoBMA's order).

    Each of the four effect x heterogeneity combinations gets 1/4; within it, no
    bias gets 1/2 and the bias components share the other half by their weights
    (all of it when there are no bias components).

    Parameters
    ----------
    priors : mapping, optional
        ``"effect"`` (location prior on mu, default ``Normal(0, 1)``),
        ``"heterogeneity"`` (prior on tau or tau^2, default ``InvGamma(1, 0.15)`` on tau);
        bayesma priors or their text form (``"halfnormal(0.5)"``); any other key is an error.
    ensemble : {"PSMA", "6w", "PP", "none"} or list
        Named bias components or a list of :class:`WeightFunction`, :class:`PET`,
        :class:`PEESE` (optionally ``(component, prior_weight)`` pairs).

    Returns
    -------
    list of ModelDef
    """
    priors = dict(priors or {})
    unknown = set(priors) - {"effect", "heterogeneity"}
    if unknown:
        raise InputError(f"unknown prior keys {sorted(unknown)}; use 'effect' and 'heterogeneity' "
                         "(bias components go in ensemble=)")
    effect = _prior(priors.get("effect", default_effect()), "effect", ("location",))
    het = _prior(priors.get("heterogeneity", default_heterogeneity()), "heterogeneity", ("tau", "tau2"))
    bias = bias_ensemble(ensemble) if isinstance(ensemble, str) else parse_bias(ensemble)
    models = []
    for eff in (None, effect):
        for tau in (None, het):
            if bias:
                models.append(ModelDef(eff, tau, None, 0.25 * 0.5))
                models += [ModelDef(eff, tau, comp, 0.25 * 0.5 * w) for comp, w in bias]
            else:
                models.append(ModelDef(eff, tau, None, 0.25))
    return models


@label_alias
def robma(data: pd.DataFrame | None = None, yi: Any = None, vi: Any = None, *, sei: Any = None,
          measure: str = "SMD", priors: Mapping[str, Any] | None = None, ensemble: str | Sequence = "PSMA",
          effect_direction: str = "positive", slab: Any = None, draws: int = 2048, replicates: int = 8,
          seed: int | None = 1, mods: Any = None, cluster: Any = None) -> RoBMAResult:
    """Robust Bayesian meta-analysis: model-average no-bias, selection, PET and PEESE models.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Holds the columns named by ``yi``, ``sei``/``vi``, ``slab``.
    yi, vi : str or array-like
        Effect sizes and their sampling variances, in the order of :func:`bayesma.rma` and
        :class:`bayesma.MetaAnalysis` (``bm.robma(dat, "yi", "vi")``).
    sei : str or array-like, optional
        Standard errors, instead of *vi* (keyword only, so a variance column is never read
        as standard errors); give one of the two.
    measure : {"SMD", "ZCOR"}
        Standardized mean differences (Cohen's d; fitted on Fisher's z) or Fisher's z
        correlations (fitted as they are); the priors are on Cohen's d for both
        (RoBMA's ``prior_scale = "cohens_d"``) and estimates are reported on d.
        Other measures raise ``ValueError`` (RoBMA's priors have no scaling for them here).
    priors : mapping, optional
        ``{"effect": Prior, "heterogeneity": Prior}``; defaults RoBMA's ``Normal(0, 1)`` and
        ``InvGamma(1, 0.15)`` on tau.
    ensemble : {"PSMA", "6w", "PP", "none"} or list
        Bias components (see :func:`ensemble_models`).
    effect_direction : {"positive", "negative"}
        The direction in which studies are expected to be selected for significance
        (one-sided weight functions) and in which PET/PEESE bias acts; RoBMA's default
        ``"positive"``. With ``"negative"`` the effects are flipped for fitting and mu is
        reported in its own direction (PET/PEESE coefficients stay positive). A warning
        says when the median effect is on the other side, as RoBMA does.
    slab : str or array-like, optional
        Study labels (used in error messages).
    draws, replicates : int
        Importance draws per replicate (a power of 2; plus a quarter as many from the
        wide component of the proposal) and number of randomised QMC replicates per model.
    seed : int or None
    mods : str or list of str, optional
        Moderators, ``"~ rater + setting"`` (columns of *data*): RoBMA-reg. Each moderator is in or
        out of the model (prior probability 1/2), crossed with effect, heterogeneity and bias;
        continuous moderators are standardized, factors get mean-difference contrasts, each
        coefficient ``Normal(0, 0.25)`` on the effect prior's scale (``priors={"mods": {name: prior}}``
        overrides). See :class:`~bayesma.bias.extended_result.RoBMAExtResult`.
    cluster : str or array-like, optional
        Study (cluster) of each estimate: multilevel RoBMA (RoBMA 4's ``cluster=``) with a random
        effect per cluster and per estimate; reports rho, the share of heterogeneity between
        clusters (prior Beta(1, 1); ``priors={"rho": (a, b)}``).

    Returns
    -------
    RoBMAResult
        Posterior model probabilities, inclusion Bayes factors, model-averaged and
        conditional estimates (on Cohen's d), weight function, PET/PEESE.

    Raises
    ------
    ValueError
        Unsupported measure, non-finite or non-positive inputs (naming the study and column).
    TypeError
        Missing arguments or priors that are not bayesma priors of the right target.

    References
    ----------
    Bartoš F, Maier M, Wagenmakers E-J, Doucouliagos H, Stanley TD (2023). Robust Bayesian
    meta-analysis: Model-averaging across complementary publication bias adjustment methods.
    Research Synthesis Methods 14(1):99-116. Maier M, Bartoš F, Wagenmakers E-J (2023).
    Robust Bayesian meta-analysis: Addressing publication bias with model-averaging.
    Psychological Methods 28(1):107-122. R package RoBMA, function ``RoBMA()``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.lehmann2018")
    >>> fit = bm.robma(dat, yi="yi", vi="vi", measure="SMD")        # doctest: +SKIP
    >>> fit.components()                                            # doctest: +SKIP
    """
    key = str(measure).upper()
    if key not in _MEASURES:
        raise InputError(f"robma(): measure {measure!r} is not supported; RoBMA's default priors are on "
                         "Cohen's d and bayesma scales them for 'SMD' (Cohen's d) and 'ZCOR' (Fisher's z) only")
    if effect_direction not in ("positive", "negative"):
        raise InputError(f"effect_direction must be 'positive' or 'negative', got {effect_direction!r}")
    for name, value, least in (("draws", draws, 16), ("replicates", replicates, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise InputError(f"robma(): {name} must be an integer >= {least} (the importance-sampling estimate of "
                             f"each model's marginal likelihood and its Monte Carlo error need it), got {value!r}")
    y, se, labels = _data(data, yi, sei, vi, slab)
    sign = 1.0 if effect_direction == "positive" else -1.0
    fd = _fit_data(y, se, _MEASURES[key], sign)
    priors, ext_priors = split_priors(priors)
    models = ensemble_models(priors, ensemble)
    directional = any(isinstance(m.bias, (PET, PEESE)) or (isinstance(m.bias, WeightFunction) and m.bias.sides == "one")
                      for m in models)
    if directional and sign * float(np.median(y)) < 0:
        warnings.warn(f"the median effect ({float(np.median(y)):.3g}) is in the opposite direction from "
                      f"effect_direction={effect_direction!r}; one-sided weight functions and PET/PEESE assume "
                      "selection in that direction (RoBMA's effect_direction)", DataWarning, stacklevel=2)
    if mods is not None or cluster is not None:
        return fit_extended(models, fd, data, mods=mods, cluster=cluster, ext_priors=ext_priors, labels=labels,
                            draws=draws, replicates=replicates, seed=seed, fit_scale=abs(fd.c_mu),
                            result_kw={"y": y, "se": se, "measure": _MEASURES[key], "labels": labels,
                                       "effect_direction": effect_direction})
    t0 = time.perf_counter()
    fits = [fit_model(m, fd, n=draws, replicates=replicates, seed=None if seed is None else seed + i)
            for i, m in enumerate(models)]
    elapsed = time.perf_counter() - t0
    return RoBMAResult(models, fits, y=y, se=se, measure=_MEASURES[key], elapsed=elapsed, labels=labels,
                       effect_direction=effect_direction)
