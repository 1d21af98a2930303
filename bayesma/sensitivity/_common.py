"""Helpers shared by the sensitivity analyses: the table row of one fit, engine checks."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from bayesma.errors import InputError
from bayesma.priors import as_prior

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.models import MetaAnalysis
    from bayesma.posterior import Posterior
    from bayesma.spec import ModelSpec


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
    rows = [r for r in summary.index if r.startswith("beta[")] or [r for r in summary.index if r.startswith("mu[")]
    return rows[0]  # a mean per outcome: the first (outcome_rows gives every one)


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


def outcome_rows(post: Any) -> dict[str, dict[str, float]]:
    """The table rows of a multivariate model across outcomes (a mean per outcome), one per outcome: that
    outcome's mean ``mu[<o>]``, its tau (``tau`` or ``tau[<o>]``) and new study ``theta_new[<o>]``, and the
    correlation across outcomes (``rho_median``, ``rho_lower``, ``rho_upper``; the first pair's under UN)."""
    s = post.summary(studies=False)
    rho = _named_row(s, "rho")
    out = {}
    for o in post.spec.outcome_names:
        mine = s.rename(index={f"mu[{o}]": "mu", f"tau[{o}]": "tau", f"theta_new[{o}]": "theta_new"})
        row = _row_from_summary(mine, post.p_greater(f"mu[{o}]", 0.0))
        if rho is not None:
            row.update(rho_median=s.loc[rho, "median"], rho_lower=s.loc[rho, "eti_lower"],
                       rho_upper=s.loc[rho, "eti_upper"])
        out[o] = row
    return out


def resolve_engine(engine: str, spec: ModelSpec, fit_kwargs: Mapping[str, Any]) -> str:
    """The engine that fits *spec*: *engine*, or for ``"auto"`` the one rule's choice
    (:func:`bayesma.exact.capability.choose_engine`; NUTS options in *fit_kwargs* mean NUTS)."""
    from bayesma.exact.capability import choose_engine

    nuts_options = [k for k in fit_kwargs if k not in ("draws", "chains", "seed")]
    return choose_engine(engine, spec, nuts_options=nuts_options)[0]


def _fit_exact(spec: ModelSpec, fit_kwargs: Mapping[str, Any], base: Any) -> tuple[pd.DataFrame, Posterior]:
    """The exact marginals alone (no draws: the table needs none)."""
    from bayesma.exact import exact_posterior
    from bayesma.posterior.engines import from_exact

    post = from_exact(exact_posterior(spec), spec)
    return post.summary(studies=False), post


def _fit_nuts(spec: ModelSpec, fit_kwargs: Mapping[str, Any], base: Any) -> tuple[pd.DataFrame, Posterior]:
    """A NUTS fit sharing *base*'s compiled model; its summary shows no moment that does not exist."""
    model = _model_with_spec(base, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = model.fit(engine="nuts", **fit_kwargs)
    return post.summary(studies=False), post.source


#: how each engine gives the summary rows (mu / beta, tau, theta_new) and the posterior
_FITS: dict[str, Callable[[ModelSpec, Mapping[str, Any], Any], tuple[pd.DataFrame, Posterior]]] = {
    "exact": _fit_exact, "nuts": _fit_nuts}


def fit_row(spec: ModelSpec, engine: str, fit_kwargs: Mapping[str, Any],
            base: Any = None) -> tuple[dict[str, float], Posterior]:
    """Fit one spec (*engine* as :func:`resolve_engine`); return the table row and the posterior
    (:class:`bayesma.posterior.Posterior`)."""
    s, post = _FITS[resolve_engine(engine, spec, fit_kwargs)](spec, fit_kwargs, base)
    return _row_from_summary(s, post.p_greater(_location_row(s), 0.0)), post


def _model_with_spec(base: Any, spec: ModelSpec) -> MetaAnalysis:
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


