"""Priors as text: :func:`parse` (specs such as ``"halfnormal(0.5)"``, used by the CLI),
:func:`as_prior` (the one coercion of user input to a prior) and :func:`describe`."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Mapping

from bayesma.errors import ArgumentTypeError, InputError
from bayesma.priors.base import Prior
from bayesma.priors.families import FAMILIES
from bayesma.priors.improper import is_improper
from bayesma.priors.named import PRESETS, preset, preset_key

__all__ = ["parse", "as_prior", "describe"]

_ALIASES: dict[str, str] = {
    "normal": "Normal",
    "gaussian": "Normal",
    "studentt": "StudentT",
    "student": "StudentT",
    "t": "StudentT",
    "cauchy": "Cauchy",
    "halfnormal": "HalfNormal",
    "halfcauchy": "HalfCauchy",
    "halfstudentt": "HalfStudentT",
    "halft": "HalfStudentT",
    "exponential": "Exponential",
    "exp": "Exponential",
    "uniform": "Uniform",
    "unif": "Uniform",
    "lognormal": "LogNormal",
    "logstudentt": "LogStudentT",
    "logt": "LogStudentT",
    "inversegamma": "InverseGamma",
    "invgamma": "InverseGamma",
    "inversegammatau": "InverseGammaTau",
    "invgammatau": "InverseGammaTau",
    "gamma": "Gamma",
    "flat": "Flat",
    "halfflat": "HalfFlat",
    "dumouchel": "DuMouchel",
    "uniformshrinkage": "UniformShrinkage",
    "shrinkage": "UniformShrinkage",
}

def _known_families_text() -> str:
    return ", ".join(FAMILIES) + "; presets: " + ", ".join(PRESETS)


def _signature(cls: type[Prior]) -> str:
    """``"Normal(mu, sigma)"``: the family and its hyperparameters in positional order."""
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    return f"{cls.family}({', '.join(names)})"


def parse(spec: str | Prior) -> Prior:
    """Build a prior from a text spec such as ``"halfnormal(0.5)"``.

    Family names are case-insensitive (underscores and hyphens ignored; a few
    aliases: ``t``, ``halft``, ``logt``, ``exp``, ``invgamma``, ``unif``).
    Arguments are numbers (or strings for the presets), positional in the
    order of the class signature or keywords under PyMC's names. Every
    hyperparameter must be written out: ``"normal(0)"`` or ``"halfnormal()"``
    are errors, never silently completed with defaults (the presets of
    :func:`bayesma.priors.preset`, ``"psychology"``, ``turner2015()`` and ``rhodes2015()``,
    take their documented defaults).
    ``uniform(lower, upper)`` as in PyMC. ``repr(prior)`` is always a valid spec.

    Parameters
    ----------
    spec : str or Prior
        A prior is returned unchanged.

    Returns
    -------
    Prior

    Raises
    ------
    ValueError
        For unknown families (the message lists the known ones), bad
        arguments, or invalid hyperparameters.

    Examples
    --------
    >>> parse("halfnormal(0.5)")
    HalfNormal(sigma=0.5)
    >>> parse("HalfCauchy(beta=1)")
    HalfCauchy(beta=1)
    >>> parse("uniform(0, 2)")
    Uniform(lower=0, upper=2)
    >>> parse("lognormal(-3.95, 1.34)")
    LogNormal(mu=-3.95, sigma=1.34)
    >>> parse("turner2015('all-cause mortality', 'pharmacological vs. placebo / control')")
    LogNormal(mu=-3.95, sigma=1.34)
    >>> parse("rhodes2015()")
    LogStudentT(nu=5, mu=-3.44, sigma=2.59)
    >>> parse("psychology")
    InverseGammaTau(alpha=1, beta=0.15)
    """
    if isinstance(spec, Prior):
        return spec
    if not isinstance(spec, str):
        raise ArgumentTypeError(
            f"a prior must be a bayesma.priors object or a string such as 'halfnormal(0.5)', "
            f"got {spec!r} ({type(spec).__name__})"
        )
    text = spec.strip()
    if preset_key(text) is not None:  # a bare preset name, also one that is no identifier ("van-erp")
        return preset(text)
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise InputError(
            f"cannot parse prior {spec!r}: expected e.g. 'halfnormal(0.5)' or "
            f"'normal(mu=0, sigma=1)'; known families: {_known_families_text()}"
        ) from None
    if isinstance(node, ast.Name):
        fname, args, kwargs = node.id, [], {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        fname = node.func.id
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {}
            for kw in node.keywords:
                if kw.arg is None:
                    raise InputError
                kwargs[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            raise InputError(
                f"cannot parse prior {spec!r}: arguments must be numbers (or quoted "
                f"strings for turner2015/rhodes2015), positional or keyword"
            ) from None
    else:
        raise InputError(
            f"cannot parse prior {spec!r}: expected a family name and arguments, e.g. "
            f"'halfnormal(0.5)'; known families: {_known_families_text()}"
        )

    key = re.sub(r"[_\-\s]", "", fname).lower()
    if preset_key(fname) is not None:
        try:
            return preset(fname, *args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise InputError(f"cannot parse prior {spec!r}: {exc}") from None
    if key not in _ALIASES:
        raise InputError(
            f"unknown prior family {fname!r} in {spec!r}; known families: {_known_families_text()}"
        )
    cls = FAMILIES[_ALIASES[key]]
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, str):
            raise InputError(
                f"cannot parse prior {spec!r}: {cls.family} takes numbers, got the string {value!r}"
            )
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    missing = [n for n in names[len(args):] if n not in kwargs]
    if missing and len(args) <= len(names) and not set(kwargs) - set(names):
        raise InputError(
            f"cannot parse prior {spec!r}: {cls.family} needs all its hyperparameters "
            f"({', '.join(names)}); missing {', '.join(missing)} (no defaults are filled in). "
            f"The signature is {_signature(cls)}"
        )
    try:
        return cls(*args, **kwargs)
    except TypeError as exc:
        msg = str(exc).replace(f"{cls.__name__}.__init__()", cls.family).replace("__init__()", cls.family)
        raise InputError(
            f"cannot parse prior {spec!r}: {msg}; the signature is {_signature(cls)}"
        ) from None


def as_prior(value: str | Prior, target: str | tuple[str, ...] | None = None, name: str = "prior") -> Prior:
    """Coerce *value* (a :class:`Prior` or a :func:`parse` spec) to a prior, checking its target.

    Parameters
    ----------
    value : str or Prior
    target : str or tuple of str, optional
        Allowed targets, e.g. ``("tau", "tau2")`` for a heterogeneity prior.
    name : str
        What the prior is for, used in error messages (e.g. ``"tau"``).

    Examples
    --------
    >>> as_prior("halfnormal(0.5)", target=("tau", "tau2"), name="tau")
    HalfNormal(sigma=0.5)
    """
    if not isinstance(value, (str, Prior)):
        raise ArgumentTypeError(
            f"the prior for {name!r} must be a bayesma.priors object or a string such as "
            f"'halfnormal(0.5)', got {value!r} ({type(value).__name__})"
        )
    prior = parse(value)
    if target is not None:
        allowed = (target,) if isinstance(target, str) else tuple(target)
        if prior.target not in allowed:
            families = [f for f, c in FAMILIES.items() if c.target in allowed]
            raise InputError(
                f"the prior for {name!r} must be a prior on {' or '.join(allowed)} "
                f"({', '.join(families)}); got {prior!r}, a prior of target {prior.target!r}"
            )
    return prior


def describe(priors: Mapping[str, Prior | str]) -> str:
    """One line per prior, for printing the priors a fit used.

    Heterogeneity priors also show the prior median and central 95% interval
    of their parameter, labelled by its name (``tau``, ``tau[<outcome>]``, ``tau_within``,
    ``rho``); tau^2 priors say that they are on tau^2 (the interval is still of tau). A prior's ``label``
    (e.g. the table row of a preset) is appended in brackets.

    Parameters
    ----------
    priors : mapping of str to Prior or str
        Parameter name -> prior (or its text form, read by :func:`parse`).

    Returns
    -------
    str
        The lines joined by newlines (empty for no priors).

    Examples
    --------
    >>> from bayesma.priors import HalfNormal, Normal
    >>> print(describe({"mu": Normal(0, 8), "tau": HalfNormal(0.5)}))
    mu  ~ Normal(mu=0, sigma=8)
    tau ~ HalfNormal(sigma=0.5)  (tau: median 0.337, 95% interval 0.0157 to 1.12)
    """
    items = [(str(k), parse(v)) for k, v in priors.items()]
    if not items:
        return ""
    width = max(len(k) for k, _ in items)
    lines = []
    for key, prior in items:
        line = f"{key.ljust(width)} ~ {prior!r}"
        if prior.target == "tau2":
            line += " on tau^2"
        if is_improper(prior):
            line += "  (improper: density 1 on its support)"
        elif prior.is_heterogeneity:
            lo, med, hi = (float(v) for v in prior.ppf_tau([0.025, 0.5, 0.975]))
            line += f"  ({key}: median {med:.3g}, 95% interval {lo:.3g} to {hi:.3g})"
        if prior.label:
            line += f"  [{prior.label}]"
        lines.append(line)
    return "\n".join(lines)
