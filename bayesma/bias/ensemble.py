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

import re
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import column, columns, label_alias
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
from bayesma.bias.inputs import MEASURES, robma_inputs, same_scale_measure
from bayesma.bias.model import ModelDef, fit_model
from bayesma.bias.result import RoBMAResult
from bayesma.bias.scales import check_scale
from bayesma.data import study_labels
from bayesma.errors import ArgumentTypeError, DataWarning, InputError
from bayesma.priors import Prior, is_improper, parse

__all__ = ["robma", "ensemble_models"]

def _prior(value: Any, key: str, target: tuple[str, ...]) -> Prior:
    if isinstance(value, str):
        value = parse(value)
    if not isinstance(value, Prior) or value.target not in target:
        raise ArgumentTypeError(f"priors[{key!r}] must be a bayesma prior of target {' or '.join(target)}, got {value!r}")
    if is_improper(value):  # a marginal likelihood, so every inclusion Bayes factor, needs a proper prior
        raise InputError(f"priors[{key!r}] = {value!r} is improper: the marginal likelihoods that robma averages over, "
                         "and so its inclusion Bayes factors, are not defined under it; give a proper prior "
                         "(e.g. 'normal(0, 1)' for the effect, 'halfnormal(0.5)' for the heterogeneity)", column=key)
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


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside bayesma, for a warning raised in the caller of this."""
    import sys

    pkg = str(Path(__file__).resolve().parents[1])
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(pkg):
        frame, level = frame.f_back, level + 1
    return level


@label_alias
def robma(data: pd.DataFrame | None = None, yi: Any = None, vi: Any = None, *, sei: Any = None,
          measure: str | None = None, d: Any = None, r: Any = None, z: Any = None, logOR: Any = None,
          OR: Any = None,
          y: Any = None, se: Any = None, n: Any = None, t: Any = None, lCI: Any = None, uCI: Any = None,
          output_scale: str | None = None,
          transformation: str = "robma", priors: Mapping[str, Any] | None = None, ensemble: str | Sequence = "PSMA",
          effect_direction: str = "positive", slab: Any = None, draws: int = 2048, replicates: int = 8,
          seed: int | None = 1, mods: Any = None, cluster: Any = None) -> RoBMAResult:
    """Robust Bayesian meta-analysis: model-average no-bias, selection, PET and PEESE models.

    Takes every input RoBMA 3.6.1 takes (one effect size and one precision per study, as
    RoBMA's ``combine_data``), with RoBMA's cut points for the weight functions: each
    study's own test at the step's p-value, on the scale the study came in (docs/robma.rst).

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Holds the columns the other arguments name (``bm.robma(dat, r="r", n="n")``).
    yi, vi : str or array-like
        Effect sizes of ``measure`` and their sampling variances, in the order of
        :func:`bayesma.rma` (``bm.robma(dat, "yi", "vi")``).
    sei : str or array-like, optional
        Standard errors, instead of *vi* (keyword only; ``se=`` is RoBMA's name for it).
    measure : {"SMD", "COR", "ZCOR", "OR", "GEN", "MD"}, optional
        What ``yi`` holds: Cohen's d, correlations, Fisher's z, log odds ratios (metafor's
        ``yi`` for ``"OR"``), unstandardized effects. Other measures raise ``ValueError``
        listing these. Default: the measure :func:`bayesma.escalc` recorded in
        ``data.attrs["measure"]``, else ``"SMD"``.
    d, r, z, logOR, OR, y : str or array-like, optional
        RoBMA's effect-size inputs (keyword only; give one, or ``yi``): Cohen's d, correlations
        (in (-1, 1)), Fisher's z, log odds ratios, odds ratios (``se`` then is the standard error
        of log OR), unstandardized effects (fitted as they are, RoBMA's default priors applied
        on their scale, as ``RoBMA(y=, se=)``).
    se, n, t : str or array-like, optional
        RoBMA's precision inputs (keyword only; give one, or ``vi``/``sei``): standard errors,
        total sample sizes (for d, r, z; ``n > 3``), test statistics. ``t`` with ``n`` and no
        effect size is a two-group t test with equal groups, ``d = 2 t / sqrt(n)``.
    lCI, uCI : str or array-like, optional
        Or the bounds of 95% confidence intervals (keyword only, both): the standard error is
        ``(uCI - lCI) / (2 x 1.96)`` on Fisher's z for d and r, on their own scale for z, log OR
        (bounds of OR for ``OR``) and y, as RoBMA's ``combine_data``.
    output_scale : {"d", "r", "z", "logOR", "OR", "y", "input"}, optional
        Scale of the reported mu, tau and PEESE; default RoBMA's: Cohen's d (the scale of the
        priors), or y for unstandardized effects. ``"input"``: the scale of the input.
    transformation : {"robma", "link"}
        How mu moves to another scale: RoBMA's conversion of each posterior draw of mu on d
        (default), or the linear link the likelihood used (``mu_z = mu_d / 2``) then the
        conversion from z. tau and PEESE are scaled linearly either way, as RoBMA does.
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
        Study labels (used in error messages); they must be unique (several effects of one
        study: ``cluster=``).
    draws, replicates : int
        Importance draws per replicate (a power of 2; plus a quarter as many from the
        wide component of the proposal) and number of randomised QMC replicates per model.
    seed : int or None
    mods : str or list of str, optional
        Moderators, ``"~ rater + setting"`` (columns of *data*): RoBMA-reg. Each moderator is in or
        out of the model (prior probability 1/2), crossed with effect, heterogeneity and bias;
        continuous moderators are standardized, factors get mean-difference contrasts, each
        coefficient ``Normal(0, 0.25)`` on the effect prior's scale (``priors={"mods": prior}`` for all,
        ``{"mods": {name: prior}}`` per moderator). See :class:`~bayesma.bias.extended_result.RoBMAExtResult`.
    cluster : str or array-like, optional
        Study (cluster) of each estimate: multilevel RoBMA (RoBMA 4's ``cluster=``) with a random
        effect per cluster and per estimate; reports rho, the share of heterogeneity between
        clusters (prior Beta(1, 1); ``priors={"rho": (a, b)}``).

    Returns
    -------
    RoBMAResult
        Posterior model probabilities, inclusion Bayes factors, model-averaged and
        conditional estimates (on ``output_scale``), weight function, PET/PEESE, the
        per-model table (``summary(type="models")``).

    Raises
    ------
    ValueError
        Unsupported measure, a correlation outside (-1, 1), n <= 3, non-finite or
        non-positive inputs (naming the study and column), duplicate study labels.
    TypeError
        Missing or doubled arguments, priors that are not bayesma priors of the right target.

    References
    ----------
    Bartoš F, Maier M, Wagenmakers E-J, Doucouliagos H, Stanley TD (2023). Robust Bayesian
    meta-analysis: Model-averaging across complementary publication bias adjustment methods.
    Research Synthesis Methods 14(1):99-116. Maier M, Bartoš F, Wagenmakers E-J (2023).
    Robust Bayesian meta-analysis: Addressing publication bias with model-averaging.
    Psychological Methods 28(1):107-122. R package RoBMA 3.6.1, functions ``RoBMA()`` and
    ``combine_data()``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.lehmann2018")
    >>> fit = bm.robma(dat, yi="yi", vi="vi", measure="SMD")        # doctest: +SKIP
    >>> fit.components()                                            # doctest: +SKIP
    >>> fit = bm.robma(r=[0.21, 0.35, 0.1, 0.3], n=[80, 40, 120, 60], output_scale="r")  # doctest: +SKIP
    """
    if effect_direction not in ("positive", "negative"):
        raise InputError(f"effect_direction must be 'positive' or 'negative', got {effect_direction!r}")
    if transformation not in ("robma", "link"):
        raise InputError(f"transformation must be 'robma' or 'link', got {transformation!r}")
    for name, value, least in (("draws", draws, 16), ("replicates", replicates, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise InputError(f"robma(): {name} must be an integer >= {least} (the importance-sampling estimate of "
                             f"each model's marginal likelihood and its Monte Carlo error need it), got {value!r}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if se is not None and sei is not None:
        raise ArgumentTypeError("give se= or sei= (the same thing: standard errors), not both")
    effects = {"d": d, "r": r, "z": z, "logOR": logOR, "OR": OR, "y": y}
    if measure is None:  # escalc's output says what its yi are (ZCOR read as d would be a silent wrong answer)
        measure = (data.attrs.get("measure") if data is not None else None) or "SMD"
        if not any(str(measure).upper() in names for _, names in MEASURES) and same_scale_measure(measure) is None:
            raise InputError(f"robma(): measure= is not given and data.attrs['measure'] (from escalc) is {measure!r}, "
                             "which RoBMA does not take; pass measure= ('SMD', 'COR', 'ZCOR', 'OR', 'GEN' or 'MD') "
                             "for what yi holds, or compute a supported effect size with escalc")
    if isinstance(vi, str) and re.fullmatch(r"(?i)(se|sei|sd|s\.?e\.?|std\.?err(or)?|.*[_.](se|sei))", vi.strip()):
        warnings.warn(f"vi={vi!r} (the third positional slot) is read as sampling variances, as in bm.rma; its name "
                      f"looks like standard errors: pass se={vi!r} if it holds standard errors", DataWarning,
                      stacklevel=_user_stacklevel())
    if yi is None and all(v is None for v in effects.values()) and not (t is not None and n is not None):
        yi = "yi" if data is not None and "yi" in data.columns else None
    sei = se if se is not None else sei
    if yi is not None and all(x is None for x in (sei, vi, n, t, lCI, uCI)) and data is not None:
        sei, vi = ("sei", None) if "sei" in data.columns else (None, "vi" if "vi" in data.columns else None)
    if data is None:  # Series pair by index (with the first Series given), never by position
        cl = None if isinstance(cluster, str) else cluster
        al = columns(None, {**effects, "yi": yi, "sei": sei, "vi": vi, "n": n, "t": t, "lCI": lCI, "uCI": uCI, "slab": slab,
                              "cluster": cl})
        effects = {key: al[key] for key in effects}
        yi, sei, vi, n, t, lCI, uCI, slab = (al[key] for key in ("yi", "sei", "vi", "n", "t", "lCI", "uCI", "slab"))
        cluster = cluster if cl is None else al["cluster"]
    labels = None
    if slab is not None:  # unique, as bm.rma's labels (several effects of one study: cluster=)
        raw = column(data, slab, "slab")
        labels, _ = study_labels(data, slab if isinstance(slab, str) else raw, len(raw))
    sign = 1.0 if effect_direction == "positive" else -1.0
    inp = robma_inputs(data, effects, yi=yi, measure=measure, sei=sei, vi=vi, n=n, t=t, lCI=lCI, uCI=uCI,
                       labels=labels, sign=sign)
    out_scale = check_scale(output_scale, inp.prior_scale, inp.input_scale)
    priors, ext_priors = split_priors(priors)
    if inp.prior_scale == "y" and not priors:
        warnings.warn("unstandardized effects (y): RoBMA's default priors (mu ~ Normal(0, 1), tau ~ InvGamma(1, 0.15), "
                      "PET ~ Cauchy(0, 1), PEESE ~ Cauchy(0, 5)) are taken on the scale of y, as RoBMA(y =, se =) "
                      "does; give priors= on the scale of your effects if that scale is not near Cohen's d",
                      DataWarning, stacklevel=_user_stacklevel())
    models = ensemble_models(priors, ensemble)
    directional = any(isinstance(m.bias, (PET, PEESE)) or (isinstance(m.bias, WeightFunction) and m.bias.sides == "one")
                      for m in models)
    if directional and sign * float(np.median(inp.y)) < 0:
        other = "negative" if sign > 0 else "positive"
        warnings.warn(f"the median effect ({float(np.median(inp.y)):.3g}) is in the opposite direction from "
                      f"effect_direction={effect_direction!r}; one-sided weight functions and PET/PEESE assume "
                      "selection in that direction (RoBMA's effect_direction); if studies with significant "
                      f"{other} effects are the ones favoured, pass effect_direction={other!r} (the command "
                      f"line's --effect-direction {other})", DataWarning,
                      stacklevel=_user_stacklevel())
    if mods is not None or cluster is not None:
        return fit_extended(models, inp.fit, data, mods=mods, cluster=cluster, ext_priors=ext_priors, labels=labels,
                            draws=draws, replicates=replicates, seed=seed,
                            result_kw={"y": inp.y, "se": inp.se, "measure": inp.input_scale, "labels": labels,
                                       "effect_direction": effect_direction, "fit_data": inp.fit,
                                       "prior_scale": inp.prior_scale, "output_scale": out_scale,
                                       "transformation": transformation})
    t0 = time.perf_counter()
    fits = [fit_model(m, inp.fit, n=draws, replicates=replicates, seed=None if seed is None else seed + i)
            for i, m in enumerate(models)]
    elapsed = time.perf_counter() - t0
    return RoBMAResult(models, fits, y=inp.y, se=inp.se, measure=inp.input_scale, elapsed=elapsed, labels=labels,
                       effect_direction=effect_direction, fit_data=inp.fit, prior_scale=inp.prior_scale,
                       output_scale=out_scale, transformation=transformation)
