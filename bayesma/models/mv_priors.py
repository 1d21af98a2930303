"""Priors of the multivariate model across outcomes: ``mu``, ``tau`` (per outcome) and ``rho``.

``priors={"mu": ..., "tau": ..., "rho": ...}``: a prior for ``mu`` or ``tau`` applies to every
outcome unless a dict ``{outcome: prior}`` is given (outcomes left out take the default).
``rho`` (``struct="CS"``/``"HCS"``) takes any prior whose support lies inside the valid range
``(-1/(m-1), 1)`` of m outcomes, e.g. :class:`bayesma.priors.Uniform` ``(0, 1)`` or
:class:`bayesma.priors.UniformCorrelation`; its default is uniform over that range
(:func:`default_rho_prior`). Under ``struct="UN"`` ``rho`` is the
prior of the correlation matrix, :class:`bayesma.priors.LKJ` (default ``LKJ(1)``, uniform over
correlation matrices). The defaults of ``mu`` and ``tau`` are those of
:func:`bayesma.priors.default_priors` for the effect measure.

With moderators (``mods=``, coefficients instead of a mean per outcome) the coefficients take the
priors of a meta-regression (:meth:`bayesma.spec.ModelSpec.location_prior`): ``priors["mu"]`` the
intercept ``intrcpt`` and ``priors["beta"]`` every other coefficient (``priors["mu"]`` when
``beta`` is not given: with ``"~ 0 + outcome + x"`` every coefficient takes ``mu``); a dict by
outcome is refused there (a coefficient is not an outcome).

Resolved priors are stored flat: ``mu[<outcome>]`` (or ``mu`` and ``beta`` with moderators),
``tau`` (CS) or ``tau[<outcome>]``, ``rho``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bayesma import priors as pr
from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["resolve_mv_priors", "MV_PRIOR_KEYS", "rho_range", "default_rho_prior", "nested_priors"]

MV_PRIOR_KEYS = ("mu", "tau", "rho")


def rho_range(m: int) -> tuple[float, float]:
    """Valid range of a compound-symmetric correlation among *m* outcomes: (-1/(m-1), 1)."""
    return (-1.0 / max(m - 1, 1), 1.0)


def default_rho_prior(m: int):
    """Default prior of rho (CS, HCS): uniform over its valid range.

    For two outcomes this is Uniform(-1, 1), the marginal of the LKJ(1) prior (uniform over
    correlation matrices; Lewandowski, Kurowicka & Joe 2009, J. Multivariate Anal. 100:1989-2001),
    the default of Stan/brms for correlations; for m outcomes the range is (-1/(m-1), 1), where
    the compound-symmetric matrix is positive definite.
    """
    from bayesma.priors.correlation import UniformCorrelation

    lo, hi = rho_range(m)
    return UniformCorrelation(lo, hi)


def _per_outcome(value: Any, default: Any, names: list[str], key: str, target: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = set(map(str, value)) - set(names)
        if unknown:
            raise InputError(f"priors[{key!r}] names outcomes {sorted(unknown)} that are not in the data; "
                             f"the outcomes are {names}")
        given = {str(o): pr.as_prior(p, target, name=f"{key}[{o}]") for o, p in value.items()}
        return {o: given.get(o, default) for o in names}
    prior = default if value is None else pr.as_prior(value, target, name=key)
    return {o: prior for o in names}


def _rho_prior(value: Any, struct: str, m: int):
    from bayesma.priors.correlation import LKJ

    if struct == "UN":
        if value is None:
            return LKJ(1.0)
        if not isinstance(value, LKJ):
            raise InputError(f"under struct='UN' priors['rho'] is the prior of the correlation matrix: give "
                             f"bayesma.priors.LKJ(eta); got {value!r}")
        return value
    if value is None:
        return default_rho_prior(m)
    if isinstance(value, str):
        value = pr.parse(value)
    if not isinstance(value, pr.Prior) or isinstance(value, LKJ):
        raise ArgumentTypeError(f"priors['rho'] must be a prior on one correlation (e.g. bayesma.priors.Uniform(0, 1) or "
                        f"UniformCorrelation(-1, 1)); got {value!r}")
    lo, hi = value.support()
    vlo, vhi = rho_range(m)
    if lo < vlo - 1e-12 or hi > vhi + 1e-12:
        raise InputError(f"priors['rho'] = {value!r} has support ({lo:g}, {hi:g}) outside the valid range "
                         f"({vlo:g}, {vhi:g}) of a compound-symmetric correlation among {m} outcomes")
    return value


def resolve_mv_priors(priors: Mapping[str, Any] | None, names: list[str], struct: str, *,
                      measure: str | None, meta: Any, coefs: list[str] | None = None) -> dict[str, Any]:
    """The priors of a multivariate model, defaults filled in, stored flat (see the module).

    *coefs* are the coefficient names of a model with moderators (None: a mean per outcome).

    Raises
    ------
    ValueError
        An unknown key, a dict of tau priors under ``struct="CS"`` (one tau), a rho prior outside
        the valid range, a non-LKJ prior for ``rho`` under ``"UN"``, or (with moderators) a dict of
        priors by outcome for ``mu``/``beta``.
    """
    given = _by_outcome(dict(priors or {}))
    keys = MV_PRIOR_KEYS if coefs is None else ("mu", "beta", "tau", "rho")
    unknown = set(given) - set(keys)
    if unknown:
        hint = " (beta is the prior of moderator coefficients: give mods=)" if "beta" in unknown else ""
        raise InputError(f"unknown prior keys {sorted(unknown)} for the multivariate model; use {keys}{hint}")
    defaults = pr.default_priors(measure, yi=meta.yi, vi=meta.vi)
    out: dict[str, Any] = {}
    if coefs is None:
        for o, p in _per_outcome(given.get("mu"), defaults["mu"], names, "mu", "location").items():
            out[f"mu[{o}]"] = p
    else:
        for key in ("mu", "beta"):
            if isinstance(given.get(key), Mapping):
                raise InputError(f"with mods= the coefficients {coefs} take priors['mu'] (the intercept, or every "
                                 "coefficient of a formula without one) and priors['beta'] (the others); a dict "
                                 f"of priors by outcome for {key!r} is for the model without mods=")
        out["mu"] = defaults["mu"] if given.get("mu") is None else pr.as_prior(given["mu"], "location", "mu")
        if given.get("beta") is not None:
            out["beta"] = pr.as_prior(given["beta"], "location", "beta")
    if struct == "CS":
        if isinstance(given.get("tau"), Mapping):
            raise InputError("struct='CS' has one tau shared by the outcomes: give one prior for 'tau' "
                             "(a tau per outcome is struct='HCS' or 'UN')")
        out["tau"] = defaults["tau"] if given.get("tau") is None else pr.as_prior(given["tau"], ("tau", "tau2"), "tau")
    else:
        for o, p in _per_outcome(given.get("tau"), defaults["tau"], names, "tau", ("tau", "tau2")).items():
            out[f"tau[{o}]"] = p
    out["rho"] = _rho_prior(given.get("rho"), struct, len(names))
    return out


def _by_outcome(given: dict[str, Any]) -> dict[str, Any]:
    """The flat names a fitted model's priors print (``mu[AL]``: ``model.priors``) as priors by outcome,
    so ``MetaAnalysis(..., priors=other.priors)`` takes them."""
    flat = {k: v for k, v in given.items() if "[" in k and k.endswith("]")}
    out = {k: v for k, v in given.items() if k not in flat}
    for base, by in nested_priors(flat).items():
        if out.get(base) is not None and not isinstance(out[base], Mapping):
            raise InputError(f"priors[{base!r}] and priors by outcome ({', '.join(f'{base}[{o}]' for o in by)}) "
                             "were both given: give one prior for every outcome, or one per outcome")
        out[base] = {**dict(out.get(base) or {}), **by}
    return out


def nested_priors(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Resolved (flat) priors back in the form :func:`resolve_mv_priors` takes: ``mu[AL]``,
    ``mu[PD]`` -> ``{"mu": {"AL": ..., "PD": ...}}`` (``MetaAnalysis.with_priors``)."""
    out: dict[str, Any] = {}
    for key, prior in flat.items():
        base, _, rest = key.partition("[")
        if rest:
            out.setdefault(base, {})[rest[:-1]] = prior
        else:
            out[key] = prior
    return out
