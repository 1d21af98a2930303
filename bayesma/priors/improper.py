"""Improper reference priors (Flat, HalfFlat), the tail of each tau prior, and posterior propriety.

bayesmeta's default analysis (Röver 2020) puts a flat, improper prior on mu; reference
analyses often use the improper uniform prior on tau over [0, inf). The posterior is then
proper only when the data carry enough information, and some of its moments may not exist.
Both questions are answered by the posterior's tail in tau:

As tau -> inf, the likelihood with the coefficients integrated out behaves as
``tau^-(k - p_flat)`` (``p_flat`` coefficients with a flat prior; a proper prior on a
coefficient keeps its ``tau^-1`` factor), and the prior density of tau as ``tau^-a_prior``.
The posterior density of tau therefore decays as ``tau^-a`` with ``a = a_prior + k - p_flat``:

* the posterior is proper iff ``a > 1`` (and the prior is integrable at 0, which HalfFlat is);
* ``E[tau^m]`` exists iff ``a - m > 1``; tau's mean needs ``a > 2``, its sd ``a > 3``;
* theta_new = mu + tau z has a mean iff ``a > 2`` and an sd iff ``a > 3``;
* with a flat prior on mu, ``Var(mu | tau)`` grows as ``tau^2 / k``, so mu's sd needs ``a > 3``
  and its mean ``a > 2``; with a proper Normal prior both always exist.

A log-Student-t prior on tau^2 decays as ``tau^-1 (log tau)^-(nu + 1)``: the boundary case
``a - m = 1`` then converges (the log factor), which :func:`tau_tail` reports.

References
----------
Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
Journal of Statistical Software 93(6). Gelman A (2006). Prior distributions for variance
parameters in hierarchical models. Bayesian Analysis 1(3):515-534.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bayesma.errors import InputError
from bayesma.priors.base import Prior, _unbox

__all__ = ["Flat", "HalfFlat", "tau_tail", "is_improper", "moment_exists", "moment_flags", "apply_moment_flags",
           "check_propriety"]


class Flat(Prior):
    """The improper flat prior on a location parameter (mu or a regression coefficient).

    Its density is 1 everywhere (PyMC's ``pm.Flat``). The posterior is proper when the
    data identify the coefficient (k >= number of coefficients, with a proper prior on
    tau; see :func:`check_propriety`). Marginal likelihoods and Bayes factors are not
    defined under an improper prior, and nothing can be drawn from it.

    Examples
    --------
    >>> Flat()
    Flat()
    """

    family = "Flat"
    target = "location"
    _pm_name = "Flat"

    def __init__(self) -> None:
        super().__init__()

    def logpdf(self, x: Any) -> np.ndarray | float:
        out = np.zeros(np.shape(x))
        return _unbox(out)

    def _improper(self, what: str):
        raise InputError(f"{self!r} is improper: it has no {what} (choose a proper prior, e.g. Normal(0, 10))")

    def cdf(self, x: Any):
        self._improper("distribution function")

    def ppf(self, q: Any):
        self._improper("quantiles")

    def rvs(self, size=None, rng=None):
        self._improper("random draws")


class HalfFlat(Prior):
    """The improper uniform prior on tau over [0, inf) (PyMC's ``pm.HalfFlat``).

    A reference prior for the heterogeneity (Röver 2020, bayesmeta's ``tau.prior =
    "uniform"`` without an upper bound). With a proper Normal prior on mu the posterior is
    proper for k >= 2; with a flat prior on mu for k >= 3. tau's posterior mean needs one
    study more and its sd two more (see :mod:`bayesma.priors.improper`).

    Examples
    --------
    >>> HalfFlat()
    HalfFlat()
    """

    family = "HalfFlat"
    target: ClassVar[str] = "tau"
    _pm_name = "HalfFlat"

    def __init__(self) -> None:
        super().__init__()

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def logpdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        out = np.where(x >= 0, 0.0, -np.inf)
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        """The prior *mass* below x, ``x`` (unnormalised: the prior is improper)."""
        x = np.asarray(x, dtype=float)
        out = np.maximum(x, 0.0)
        return _unbox(out)

    def ppf(self, q: Any) -> np.ndarray | float:
        """Quantiles of an improper prior do not exist: 0 at q = 0, inf above."""
        q = np.asarray(q, dtype=float)
        out = np.where(q <= 0, 0.0, np.inf)
        return _unbox(out)

    def rvs(self, size=None, rng=None):
        raise InputError("HalfFlat() is improper: it has no random draws (choose a proper prior on tau)")


# ---------------------------------------------------------------------------
# tails and propriety
# ---------------------------------------------------------------------------


def tau_tail(prior: Any) -> tuple[float, bool]:
    """How the prior density of tau decays: ``(a_prior, log_bonus)`` with density ~ ``tau^-a_prior``.

    ``a_prior = inf`` for priors lighter than any power (half-normal, exponential,
    bounded uniform, log-normal on tau^2). ``log_bonus`` is True when an extra
    ``(log tau)^-(nu+1)`` factor makes the boundary case integrable (log-Student-t on tau^2).

    Examples
    --------
    >>> from bayesma.priors import HalfCauchy
    >>> tau_tail(HalfCauchy(0.5)), tau_tail(HalfFlat())
    ((2.0, False), (0.0, False))
    """
    fam = getattr(prior, "family", None)
    p = dict(getattr(prior, "params", {}))
    if fam == "HalfFlat":
        return 0.0, False
    if fam == "Jeffreys":  # sqrt(sum (tau / (v + tau^2))^2) ~ sqrt(k) / tau
        return 1.0, False
    if fam == "HalfCauchy":
        return 2.0, False
    if fam == "HalfStudentT":
        return p["nu"] + 1.0, False
    if fam == "InverseGamma":  # on tau^2: density of tau ~ tau^-(2 alpha + 1)
        return 2.0 * p["alpha"] + 1.0, False
    if fam == "LogStudentT":
        return 1.0, True
    if fam in ("DuMouchel",):
        return 2.0, False
    if fam in ("UniformShrinkage",):
        return 3.0, False
    return math.inf, False


def is_improper(prior: Any) -> bool:
    """True for :class:`Flat`, :class:`HalfFlat` and the Jeffreys prior on tau."""
    return getattr(prior, "family", None) in ("Flat", "HalfFlat", "Jeffreys")


def posterior_tail(tau_prior: Any, k: int, p_flat: int) -> tuple[float, bool]:
    """``(a, log_bonus)``: the posterior density of tau decays as ``tau^-a``."""
    a_prior, bonus = tau_tail(tau_prior)
    return a_prior + k - p_flat, bonus


def moment_exists(a: float, log_bonus: bool, m: float) -> bool:
    """Whether ``E[tau^m]`` is finite for a density ~ ``tau^-a`` (``(log tau)^-(nu+1)`` with log_bonus)."""
    return a - m > 1 or (log_bonus and a - m == 1)


def check_propriety(priors: Mapping[str, Any], k: int, p: int, model: str = "random",
                    n_clusters: int | None = None) -> None:
    """Raise ValueError when the posterior under these priors is improper.

    Parameters
    ----------
    priors : mapping
        The model's priors (``mu``, ``beta``, ``tau``, ``tau_within``).
    k : int
        Number of effects.
    p : int
        Number of coefficients (1 for mu alone).
    model : {"random", "common"}
    n_clusters : int, optional
        Number of clusters of a three-level model (the between-cluster tau is
        identified by clusters, not by effects).

    Raises
    ------
    ValueError
        Naming the prior and how many studies a proper posterior needs.

    Examples
    --------
    >>> from bayesma.priors import Flat, HalfFlat, HalfNormal
    >>> check_propriety({"mu": Flat(), "tau": HalfNormal(0.5)}, k=1, p=1)
    >>> check_propriety({"mu": Flat(), "tau": HalfFlat()}, k=1, p=1)
    Traceback (most recent call last):
    ...
    bayesma.errors.InputError: the posterior is improper: tau ~ HalfFlat() and a flat prior on 1 coefficient(s) needs at least 3 studies, got 1. Use a proper prior on tau (e.g. HalfNormal or HalfCauchy) or more studies.
    """
    loc_keys = ["mu"] + (["beta"] if "beta" in priors else [])
    p_flat = 0
    if is_improper(priors.get("mu")):
        p_flat += 1
    if p > 1 and is_improper(priors.get("beta")):
        p_flat += p - 1
    if p_flat and k < p:
        names = " and ".join(f"{key} ~ {priors[key]!r}" for key in loc_keys if is_improper(priors.get(key)))
        raise InputError(f"the posterior is improper: {names} with k = {k} studies for {p} coefficient(s); "
                         "a flat prior needs at least as many studies as coefficients. Use a proper prior "
                         "such as Normal(0, 10).")
    if model != "random":
        return
    for key in ("tau", "tau_within"):
        prior = priors.get(key)
        if prior is None or not is_improper(prior):
            continue
        n = n_clusters if (key == "tau" and n_clusters is not None) else k
        a, bonus = posterior_tail(prior, n, p_flat)
        if not (a > 1 or (bonus and a == 1)):
            need = int(math.floor(1 + p_flat - tau_tail(prior)[0])) + 1
            unit = "clusters" if (key == "tau" and n_clusters is not None) else "studies"
            flat = f" and a flat prior on {p_flat} coefficient(s)" if p_flat else ""
            raise InputError(
                f"the posterior is improper: {key} ~ {prior!r}{flat} needs at least {need} {unit}, "
                f"got {n}. Use a proper prior on {key} (e.g. HalfNormal or HalfCauchy) or more studies."
            )


def moment_flags(spec: Any) -> dict[str, tuple[bool, bool]]:
    """Whether the posterior (mean, sd) exist, per summary row, for a one-tau random-effects model.

    Rows ``tau``, ``theta_new`` and each coefficient (``mu`` or ``beta[...]``); empty for other
    models (common effect; subgroup and three-level models, whose taus the rule does not cover).

    Parameters
    ----------
    spec : ModelSpec
        The model (``priors``, ``k``, ``coef_names``, ``location_prior(j)``, ``is_regression``).

    Returns
    -------
    dict
        Row name -> (mean exists, sd exists).
    """
    tau_prior = spec.priors.get("tau")
    if (spec.model != "random" or tau_prior is None or getattr(spec, "tau_by", None) is not None
            or getattr(spec, "cluster_index", None) is not None):
        return {}
    flat = [j for j in range(len(spec.coef_names)) if is_improper(spec.location_prior(j))]
    a, bonus = posterior_tail(tau_prior, spec.k, len(flat))
    first, second = moment_exists(a, bonus, 1.0), moment_exists(a, bonus, 2.0)
    out = {"tau": (first, second), "theta_new": (first, second)}
    names = ["mu"] if not spec.is_regression else [f"beta[{c}]" for c in spec.coef_names]
    for j, name in enumerate(names):
        out[name] = (first, second) if j in flat else (True, True)
    return out


def apply_moment_flags(table: Any, flags: Mapping[str, tuple[bool, bool]]) -> Any:
    """A summary table with moments that do not exist set to ``inf`` (sd; tau's mean) or ``NaN``
    (the mean of mu or theta_new, which is undefined), so that no finite estimate of an infinite
    moment (a sample mean of draws, a truncated integral) is ever shown."""
    for row, (has_mean, has_sd) in flags.items():
        if row not in table.index:
            continue
        if not has_mean and "mean" in table.columns:
            table.loc[row, "mean"] = math.inf if row == "tau" else math.nan
        if not has_sd and "sd" in table.columns:
            table.loc[row, "sd"] = math.inf
    return table
