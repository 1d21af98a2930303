"""The one rule that says whether the exact engine can fit a model, and why not.

Every caller asks :func:`exact_support`: the exact engine itself before it
integrates (it raises :class:`~bayesma.errors.UnsupportedModelError` with the
reason), ``MetaAnalysis.fit(engine="auto")``, the command line's
``--engine auto``, :func:`bayesma.fit_many` and the sensitivity tools. So
``auto`` never picks an engine that then refuses, and every output says which
engine ran and why (:func:`choose_engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Support", "exact_support", "choose_engine", "ENGINE_CHOICES"]

#: the values of ``engine=``: ``"auto"`` is exact when :func:`exact_support` allows it, else NUTS
ENGINE_CHOICES = ("auto", "exact", "nuts")

#: improper heterogeneity priors the exact engine integrates only in the one-tau model (analytic tail)
_ONE_TAU_ONLY = ("HalfFlat", "Jeffreys")


@dataclass(frozen=True)
class Support:
    """Whether the exact engine can fit a model (``ok``) and, when not, why (``reason``).

    Examples
    --------
    >>> s = Support(False, "Student-t random effects")
    >>> bool(s), s.reason
    (False, 'Student-t random effects')
    """

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def exact_support(spec: Any) -> Support:
    """Whether the exact (quadrature) engine can fit *spec*, and why not.

    The exact engine integrates the coefficients analytically given the heterogeneity,
    so it needs normal random effects, Normal (or flat) priors on the coefficients and a
    density of tau for each heterogeneity prior; it integrates one tau, two (``tau_by=``
    with two subgroups) or tau and tau_within (three levels). The improper HalfFlat and
    Jeffreys priors are integrated only in the one-tau model (their tail is analytic there).

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model (a :class:`~bayesma.MetaAnalysis` is read through its ``spec``).

    Returns
    -------
    Support
        ``ok`` True when the exact engine fits it; otherwise ``reason`` says why, as a
        phrase that completes "the exact engine cannot fit this model: ...".

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.03], priors={"tau": "halfcauchy(0.5)"})
    >>> exact_support(m).ok
    True
    >>> exact_support(bm.MetaAnalysis(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.03], likelihood="student_t")).reason
    "Student-t random effects (likelihood='student_t') have no closed-form conditional posterior"
    """
    spec = getattr(spec, "spec", spec)
    if getattr(spec, "dependence", None) is not None:
        return _dependent_support(spec)
    if getattr(spec, "bias", None) is not None:
        return Support(False, "it is a publication-bias model (bayesma.robma() fits the model-averaged ensemble "
                              "without MCMC)")
    if getattr(spec, "counts", None) is not None:
        return _counts_support(spec)
    if getattr(spec, "Z", None) is not None:
        return Support(False, "it is a location-scale model (scale=): one tau per study, not one tau to integrate")
    if spec.likelihood != "normal":
        name = "Student-t" if spec.likelihood == "student_t" else spec.likelihood
        return Support(False, f"{name} random effects (likelihood={spec.likelihood!r}) have no closed-form "
                              "conditional posterior")
    if spec.tau_by is not None and len(spec.group_names) > 2:
        return Support(False, f"tau_by={spec.tau_by!r} has {len(spec.group_names)} subgroups "
                              f"({', '.join(map(str, spec.group_names))}); the exact engine integrates two")
    two_d = spec.tau_by is not None or spec.cluster_index is not None
    for key in ("tau", "tau_within"):
        prior = spec.priors.get(key)
        if prior is None:
            continue
        if two_d and getattr(prior, "family", None) in _ONE_TAU_ONLY:
            where = "tau_by=" if spec.tau_by is not None else "cluster="
            return Support(False, f"the improper prior {key} ~ {prior!r} is integrated only in the one-tau model, "
                                  f"not with {where} (give {key} a proper prior)")
        if not hasattr(prior, "logpdf_tau"):
            return Support(False, f"the prior {key} ~ {prior!r} has no density of tau")
    for j, name in enumerate(spec.coef_names):
        prior = spec.location_prior(j)
        if getattr(prior, "family", "Normal") not in ("Normal", "Flat"):
            return Support(False, f"the prior of {name!r} is {prior!r}; the coefficients are integrated "
                                  "analytically and need Normal (or Flat) priors")
    return Support(True)


def _counts_support(spec: Any) -> Support:
    """The binomial- and Poisson-normal models (:mod:`bayesma.exact.counts`): intercept-only, fixed
    baselines with a Normal prior, a Normal prior on mu and a proper prior on tau."""
    c = spec.counts
    if spec.is_regression:
        return Support(False, f"the {c.family}-normal model has moderators ({', '.join(spec.coef_names[1:])}): its "
                              "coefficients have no closed-form conditional posterior, and the exact engine "
                              "integrates only (mu, tau) numerically (intercept-only count models)")
    if c.baseline == "random":
        return Support(False, "the study baselines are random (baseline='random'): baseline_mu and baseline_sd "
                              "would make a 4-D integral; the exact engine integrates (mu, tau) of count models "
                              "with fixed baselines (baseline='fixed')")
    base = spec.priors.get("baseline")
    if c.baseline == "fixed" and getattr(base, "family", None) != "Normal":
        return Support(False, f"the baselines' prior is {base!r}; the exact engine integrates them under a "
                              "Normal prior")
    mu = spec.location_prior(0)
    if getattr(mu, "family", None) != "Normal":
        return Support(False, f"the prior of mu is {mu!r}; the exact engine integrates count models under a "
                              "Normal prior on mu")
    tau = spec.priors.get("tau")
    if spec.model == "random" and (getattr(tau, "family", None) in _ONE_TAU_ONLY or not hasattr(tau, "logpdf_tau")):
        return Support(False, f"the prior tau ~ {tau!r} is improper or has no density of tau; the exact engine "
                              "integrates count models under a proper prior on tau")
    return Support(True)


def _dependent_support(spec: Any) -> Support:
    """The CHE and multivariate models: two variance parameters integrated (CHE: tau, tau_within; CS: tau, rho)."""
    dep = spec.dependence
    if dep.multivariate and dep.struct != "CS":
        return Support(False, f"struct={dep.struct!r} has more than two variance parameters; the exact engine "
                              "integrates two (CHE: tau, tau_within; CS: tau, rho)")
    for j, name in enumerate(spec.coef_names):
        fam = spec.location_prior(j).family
        if fam not in ("Normal", "Flat"):
            return Support(False, f"the prior of {name!r} is {fam}; the exact engine needs Normal (or Flat) priors "
                                  "on the means")
    for key in ("tau", "rho") if dep.multivariate else ("tau", "tau_within"):
        prior = spec.priors[key]
        if prior.family in _ONE_TAU_ONLY:
            return Support(False, f"priors[{key!r}] = {prior!r} is improper; the 2-D exact engine needs proper priors")
    return Support(True)


def choose_engine(requested: str, spec: Any, *, option: str = "engine=",
                  nuts_options: Sequence[str] = ()) -> tuple[str, str]:
    """(engine that runs, the sentence saying which engine and why) for ``engine="auto"|"exact"|"nuts"``.

    Parameters
    ----------
    requested : {"auto", "exact", "nuts"}
        What the user asked for.
    spec : ModelSpec or MetaAnalysis
        The model.
    option : str
        How the sentence names the option (``"engine="``, or ``"--engine "`` on the command line).
    nuts_options : sequence of str
        Options given that only NUTS uses (``tune``, ``target_accept``, ...): ``"auto"`` then runs NUTS.

    Returns
    -------
    tuple of (str, str)
        ``"exact"`` or ``"nuts"``, and a sentence such as ``"Engine: exact (numerical
        integration; chosen by engine=auto because the model allows it)."``.

    Raises
    ------
    InputError
        For an unknown *requested* engine.

    Examples
    --------
    >>> import bayesma as bm
    >>> import pandas as pd
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.4, 0.0, 0.25], "vi": [0.01, 0.02, 0.03] * 2,
    ...                    "arm": ["a", "b", "c"] * 2})
    >>> m = bm.MetaAnalysis(df, yi="yi", vi="vi", tau_by="arm")
    >>> choose_engine("auto", m)[0]
    'nuts'
    """
    from bayesma.errors import InputError

    if requested not in ENGINE_CHOICES:
        raise InputError(f"engine must be one of {ENGINE_CHOICES}, got {requested!r}")
    if requested != "auto":
        return requested, f"Engine: {requested} (as requested with {option}{requested})."
    support = exact_support(spec)
    if support.ok and nuts_options:
        given = ", ".join(f"{o}=" for o in nuts_options)
        return "nuts", (f"Engine: nuts (MCMC with PyMC; chosen by {option}auto because NUTS options were given: "
                        f"{given}).")
    if support.ok:
        return "exact", (f"Engine: exact (numerical integration; chosen by {option}auto because the exact engine "
                         f"can fit this model; {option}nuts samples with PyMC instead).")
    return "nuts", (f"Engine: nuts (MCMC with PyMC; chosen by {option}auto because the exact engine cannot fit "
                    f"this model: {support.reason}).")
