"""Helpers shared by the sensitivity analyses: the table row of one fit, engine checks."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import InputError
from bayesma.priors import as_prior


def labelled(priors: Mapping[str, Any] | Sequence[Any] | None, what: str = "priors",
             target: str | tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """``{label: prior}`` from a dict or a list (labelled by repr); a label used twice is an error."""
    if priors is None:
        return None
    pairs = list(priors.items()) if isinstance(priors, Mapping) else [(None, p) for p in priors]
    out: dict[str, Any] = {}
    for key, value in pairs:
        prior = as_prior(value, target, name=what if key is None else f"{what}[{key!r}]")
        label = repr(prior) if key is None else str(key)
        if label in out:
            raise InputError(f"{what}: the label {label!r} is used twice (for {out[label]!r} and {prior!r}); "
                             "every prior of a comparison needs its own label")
        out[label] = prior
    return out


def _location_row(summary: pd.DataFrame) -> str:
    if "mu" in summary.index:
        return "mu"
    rows = [r for r in summary.index if r.startswith("beta[")]
    return rows[0]


def _named_row(summary: pd.DataFrame, name: str) -> str | None:
    """The row *name*, else the first row ``name[...]`` (e.g. the first subgroup's tau), else None."""
    if name in summary.index:
        return name
    rows = [r for r in summary.index if r.startswith(name + "[")]
    return rows[0] if rows else None


def _row_from_summary(s: pd.DataFrame, p_pos: float) -> dict[str, float]:
    loc, tau, new = _location_row(s), _named_row(s, "tau"), _named_row(s, "theta_new")
    nan = float("nan")
    return {
        "mu_mean": s.loc[loc, "mean"], "mu_sd": s.loc[loc, "sd"],
        "mu_lower": s.loc[loc, "eti_lower"], "mu_upper": s.loc[loc, "eti_upper"],
        "tau_median": s.loc[tau, "median"] if tau else 0.0,
        "tau_lower": s.loc[tau, "eti_lower"] if tau else 0.0,
        "tau_upper": s.loc[tau, "eti_upper"] if tau else 0.0,
        "new_lower": s.loc[new, "eti_lower"] if new else nan,
        "new_upper": s.loc[new, "eti_upper"] if new else nan,
        "p_mu_positive": p_pos,
    }


def resolve_engine(engine: str, spec: Any, fit_kwargs: Mapping[str, Any]) -> str:
    """The engine that fits *spec*: *engine*, or for ``"auto"`` the one rule's choice
    (:func:`bayesma.exact.capability.choose_engine`; NUTS options in *fit_kwargs* mean NUTS)."""
    from bayesma.exact.capability import choose_engine

    nuts_options = [k for k in fit_kwargs if k not in ("draws", "chains", "seed")]
    return choose_engine(engine, spec, nuts_options=nuts_options)[0]


def fit_row(spec: Any, engine: str, fit_kwargs: Mapping[str, Any], base: Any = None) -> tuple[dict, Any]:
    """Fit one spec; return the table row and the posterior object (ExactPosterior or MetaPosterior)."""
    engine = resolve_engine(engine, spec, fit_kwargs)
    if engine == "exact":
        from bayesma.exact import exact_posterior

        ep = exact_posterior(spec)
        s = ep.summary(theta=False)
        loc = _location_row(s)
        return _row_from_summary(s, ep.prob(loc, 0.0)), ep
    model = _model_with_spec(base, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = model.fit(engine="nuts", **fit_kwargs)
    s = post.summary()
    loc = _location_row(s)
    var, lab = ("mu", None) if loc == "mu" else ("beta", loc[5:-1])
    p = float(np.mean(post.draws(var, lab) > 0))
    return _row_from_summary(s, p), post


def _model_with_spec(base: Any, spec: Any):
    """A MetaAnalysis with the given spec that shares *base*'s compiled-model cache."""
    from bayesma.models import MetaAnalysis

    return MetaAnalysis.from_spec(spec, share_cache_with=base)


def check_engine(engine: str) -> None:
    from bayesma.exact.capability import ENGINE_CHOICES

    if engine not in ENGINE_CHOICES:
        raise InputError(f"engine must be one of {ENGINE_CHOICES}, got {engine!r}")


def split_fit_kwargs(kwargs: dict) -> dict:
    keys = ("draws", "tune", "chains", "seed", "target_accept", "sampler", "progressbar")
    return {k: kwargs.pop(k) for k in keys if k in kwargs}


