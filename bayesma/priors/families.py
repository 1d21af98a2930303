"""The prior families: location (mu, beta), tau, tau^2 and positive (nu) priors.

- ``"location"`` (mu, beta): :class:`Normal`, :class:`StudentT`, :class:`Cauchy`
- ``"tau"`` (on tau): :class:`HalfNormal`, :class:`HalfCauchy`, :class:`HalfStudentT`,
  :class:`Exponential`, :class:`Uniform`
- ``"tau2"`` (on tau^2): :class:`LogNormal`, :class:`LogStudentT`, :class:`InverseGamma`
- ``"nu"`` (Student-t degrees of freedom, nu > 0): :class:`Gamma`
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bayesma.errors import InputError
from bayesma.priors.base import _LOG2, Prior, _fmt, _rng, _stats, _Tau2Prior, _unbox, squared_name
from bayesma.priors.improper import Flat, HalfFlat
from bayesma.priors.reference import DuMouchel, UniformShrinkage

__all__ = [
    "Normal", "StudentT", "Cauchy", "HalfNormal", "HalfCauchy", "HalfStudentT", "Exponential",
    "Uniform", "LogNormal", "LogStudentT", "InverseGamma", "InverseGammaTau", "Gamma", "FAMILIES",
]

# ---------------------------------------------------------------------------
# location priors
# ---------------------------------------------------------------------------


class Normal(Prior):
    """Normal prior for a location parameter (mu, a regression coefficient).

    Parameters
    ----------
    mu : float, default 0
    sigma : float, default 1
        Standard deviation (> 0). A wide prior such as ``Normal(0, 1e3)``
        serves as a proper stand-in for a flat prior.

    Examples
    --------
    >>> Normal(0, 4)
    Normal(mu=0, sigma=4)
    """

    family = "Normal"
    target = "location"
    _positive = ("sigma",)
    _pm_name = "Normal"

    def __init__(self, mu: float = 0.0, sigma: float = 1.0) -> None:
        super().__init__(mu=mu, sigma=sigma)

    def _frozen(self):
        p = self._params
        return _stats().norm(loc=p["mu"], scale=p["sigma"])


class StudentT(Prior):
    """Student-t prior for a location parameter.

    Parameters
    ----------
    nu : float
        Degrees of freedom (> 0).
    mu : float, default 0
    sigma : float, default 1
        Scale (> 0).

    Examples
    --------
    >>> StudentT(3, 0, 2.5)
    StudentT(nu=3, mu=0, sigma=2.5)
    """

    family = "StudentT"
    target = "location"
    _positive = ("nu", "sigma")
    _pm_name = "StudentT"

    def __init__(self, nu: float, mu: float = 0.0, sigma: float = 1.0) -> None:
        super().__init__(nu=nu, mu=mu, sigma=sigma)

    def _frozen(self):
        p = self._params
        return _stats().t(df=p["nu"], loc=p["mu"], scale=p["sigma"])


class Cauchy(Prior):
    """Cauchy prior for a location parameter (PyMC's names: location alpha, scale beta).

    Parameters
    ----------
    alpha : float, default 0
        Location.
    beta : float, default 1
        Scale (> 0).

    Examples
    --------
    >>> Cauchy(0, 2.5)
    Cauchy(alpha=0, beta=2.5)
    """

    family = "Cauchy"
    target = "location"
    _positive = ("beta",)
    _pm_name = "Cauchy"

    def __init__(self, alpha: float = 0.0, beta: float = 1.0) -> None:
        super().__init__(alpha=alpha, beta=beta)

    def _frozen(self):
        p = self._params
        return _stats().cauchy(loc=p["alpha"], scale=p["beta"])


# ---------------------------------------------------------------------------
# priors on tau
# ---------------------------------------------------------------------------


class _TauPrior(Prior):
    target: ClassVar[str] = "tau"

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


class HalfNormal(_TauPrior):
    """Half-normal prior on tau: the default heterogeneity prior.

    ``tau ~ HalfNormal(sigma_u / 4)`` with the measure's unit-information SD
    ``sigma_u`` (see :func:`default_priors`); ``HalfNormal(0.5)`` for log odds
    ratios (Friede et al. 2017). Median ``0.674 * sigma``, 95% quantile
    ``1.96 * sigma``.

    Parameters
    ----------
    sigma : float, default 1
        Scale (> 0) of the normal distribution folded at 0, on the scale of tau.

    Examples
    --------
    >>> HalfNormal(0.5)
    HalfNormal(sigma=0.5)
    """

    family = "HalfNormal"
    _positive = ("sigma",)
    _pm_name = "HalfNormal"

    def __init__(self, sigma: float = 1.0) -> None:
        super().__init__(sigma=sigma)

    def _frozen(self):
        return _stats().halfnorm(scale=self._params["sigma"])


class HalfCauchy(_TauPrior):
    """Half-Cauchy prior on tau (Gelman 2006); scale ``beta`` (PyMC's name).

    Parameters
    ----------
    beta : float, default 1
        Scale (> 0), on the scale of tau; also the median of tau.

    Examples
    --------
    >>> HalfCauchy(beta=1)
    HalfCauchy(beta=1)
    """

    family = "HalfCauchy"
    _positive = ("beta",)
    _pm_name = "HalfCauchy"

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__(beta=beta)

    def _frozen(self):
        return _stats().halfcauchy(scale=self._params["beta"])


class HalfStudentT(_TauPrior):
    """Half-Student-t prior on tau with ``nu`` degrees of freedom and scale ``sigma``.

    Parameters
    ----------
    nu : float
        Degrees of freedom (> 0).
    sigma : float, default 1
        Scale (> 0), on the scale of tau.

    Examples
    --------
    >>> HalfStudentT(3, 0.5)
    HalfStudentT(nu=3, sigma=0.5)
    """

    family = "HalfStudentT"
    _positive = ("nu", "sigma")
    _pm_name = "HalfStudentT"

    def __init__(self, nu: float, sigma: float = 1.0) -> None:
        super().__init__(nu=nu, sigma=sigma)

    # scipy has no half-t; write it through the t distribution
    def _t(self):
        p = self._params
        return _stats().t(df=p["nu"], loc=0.0, scale=p["sigma"])

    def logpdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(x >= 0, _LOG2 + self._t().logpdf(x), -np.inf)
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        out = np.where(x > 0, 2.0 * self._t().cdf(np.maximum(x, 0.0)) - 1.0, 0.0)
        return _unbox(out)

    def ppf(self, q: Any) -> np.ndarray | float:
        q = np.asarray(q, dtype=float)
        out = self._t().ppf((1.0 + q) / 2.0)
        return _unbox(out)

    def rvs(self, size=None, rng=None):
        return np.abs(self._t().rvs(size=size, random_state=_rng(rng)))


class Exponential(_TauPrior):
    """Exponential prior on tau with rate ``lam`` (mean ``1 / lam``; PyMC's name).

    Parameters
    ----------
    lam : float, default 1
        Rate (> 0), in 1 / (units of tau).

    Examples
    --------
    >>> Exponential(2)
    Exponential(lam=2)
    """

    family = "Exponential"
    _positive = ("lam",)
    _pm_name = "Exponential"

    def __init__(self, lam: float = 1.0) -> None:
        super().__init__(lam=lam)

    def _frozen(self):
        return _stats().expon(scale=1.0 / self._params["lam"])


class Uniform(_TauPrior):
    """Uniform prior on tau over ``[lower, upper]``, ``0 <= lower < upper``.

    The arguments are ``(lower, upper)`` in this order, as in PyMC and :func:`parse`
    (``uniform(0, 2)``); both are required.

    Parameters
    ----------
    lower : float
        Lower bound of tau (>= 0).
    upper : float
        Upper bound of tau (> lower).

    Examples
    --------
    >>> Uniform(0, 2)
    Uniform(lower=0, upper=2)
    """

    family = "Uniform"
    _pm_name = "Uniform"

    def __init__(self, lower: float, upper: float) -> None:
        super().__init__(lower=lower, upper=upper)
        lo, hi = self._params["lower"], self._params["upper"]
        if lo < 0:
            raise InputError(f"Uniform: lower must be >= 0 (tau is non-negative), got {_fmt(lo)}; a prior on a "
                             "correlation that may be negative (priors['rho']) is UniformCorrelation(lower, upper)")
        if not hi > lo:
            raise InputError(
                f"Uniform: upper must be greater than lower, got lower={_fmt(lo)}, "
                f"upper={_fmt(hi)} (the signature is Uniform(lower, upper))"
            )

    def _frozen(self):
        lo, hi = self._params["lower"], self._params["upper"]
        return _stats().uniform(loc=lo, scale=hi - lo)

    def support(self) -> tuple[float, float]:
        return (self._params["lower"], self._params["upper"])


# ---------------------------------------------------------------------------
# priors on tau^2
# ---------------------------------------------------------------------------


class LogNormal(_Tau2Prior):
    """Log-normal prior on tau^2: ``log(tau^2) ~ Normal(mu, sigma)``.

    The form of the empirical priors of Turner et al. (2015) for log odds
    ratios; see :func:`turner2015`. In the PyMC model the random variable is
    ``tau2`` (see :meth:`Prior.pymc`).

    Parameters
    ----------
    mu : float
        Mean of ``log(tau^2)``.
    sigma : float
        Standard deviation (> 0) of ``log(tau^2)``.

    Examples
    --------
    >>> LogNormal(-3.95, 1.34)
    LogNormal(mu=-3.95, sigma=1.34)
    """

    family = "LogNormal"
    _positive = ("sigma",)
    _pm_name = "LogNormal"

    def __init__(self, mu: float, sigma: float) -> None:
        super().__init__(mu=mu, sigma=sigma)

    def _frozen(self):
        p = self._params
        return _stats().lognorm(s=p["sigma"], scale=math.exp(p["mu"]))


class LogStudentT(_Tau2Prior):
    """Log-Student-t prior on tau^2: ``log(tau^2) = mu + sigma * T_nu``.

    The form of the empirical priors of Rhodes et al. (2015) for standardized
    mean differences (``nu = 5``); see :func:`rhodes2015`. Its density on the
    tau^2 scale is ``t_nu((log x - mu) / sigma) / (sigma * x)``.

    PyMC has no such distribution: :meth:`pymc` creates ``log_tau2 ~
    StudentT(nu, mu, sigma)`` and the deterministics ``tau2 = exp(log_tau2)``
    and ``tau = exp(log_tau2 / 2)``.

    Parameters
    ----------
    nu : float
        Degrees of freedom (> 0) of the t distribution of ``log(tau^2)``.
    mu : float
        Location of ``log(tau^2)``.
    sigma : float
        Scale (> 0) of ``log(tau^2)``.

    Examples
    --------
    >>> LogStudentT(5, -3.44, 2.59)
    LogStudentT(nu=5, mu=-3.44, sigma=2.59)
    """

    family = "LogStudentT"
    _positive = ("nu", "sigma")
    _pm_name = "StudentT"

    def __init__(self, nu: float, mu: float, sigma: float) -> None:
        super().__init__(nu=nu, mu=mu, sigma=sigma)

    def _t(self):
        p = self._params
        return _stats().t(df=p["nu"], loc=p["mu"], scale=p["sigma"])

    def logpdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = x > 0
            lx = np.log(np.where(pos, x, 1.0))
            out = np.where(pos, self._t().logpdf(lx) - lx, -np.inf)
        return _unbox(out)

    def logpdf_tau(self, tau: Any) -> np.ndarray | float:
        # log tau^2 = 2 log tau:  f(tau) = t(2 log tau) * 2 / tau
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = tau > 0
            lt = np.log(np.where(pos, tau, 1.0))
            out = np.where(pos, self._t().logpdf(2.0 * lt) + _LOG2 - lt, -np.inf)
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            out = np.where(x > 0, self._t().cdf(np.log(np.where(x > 0, x, 1.0))), 0.0)
        return _unbox(out)

    def ppf(self, q: Any) -> np.ndarray | float:
        out = np.exp(self._t().ppf(np.asarray(q, dtype=float)))
        return _unbox(out)

    def ppf_tau(self, q: Any) -> np.ndarray | float:
        out = np.exp(0.5 * self._t().ppf(np.asarray(q, dtype=float)))
        return _unbox(out)

    def rvs(self, size=None, rng=None):
        return np.exp(0.5 * self._t().rvs(size=size, random_state=_rng(rng)))

    def pymc(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any):
        import pymc as pm

        dims = kwargs.get("dims")
        sq = squared_name(name)
        log_tau2 = pm.StudentT(f"log_{sq}", **self._hyper(params), **kwargs)
        pm.Deterministic(sq, pm.math.exp(log_tau2), dims=dims)
        return pm.Deterministic(name, pm.math.exp(0.5 * log_tau2), dims=dims)

    pymc.__doc__ = Prior.pymc.__doc__


class InverseGamma(_Tau2Prior):
    """Inverse-gamma prior on tau^2 with shape ``alpha`` and scale ``beta``.

    The classic "vague" ``InverseGamma(0.001, 0.001)`` is known to be far from
    uninformative for tau (Gelman 2006); prefer a half-normal on tau.

    Parameters
    ----------
    alpha : float
        Shape (> 0).
    beta : float
        Scale (> 0), on the scale of tau^2.

    Examples
    --------
    >>> InverseGamma(1, 0.1)
    InverseGamma(alpha=1, beta=0.1)
    """

    family = "InverseGamma"
    _positive = ("alpha", "beta")
    _pm_name = "InverseGamma"

    def __init__(self, alpha: float, beta: float) -> None:
        super().__init__(alpha=alpha, beta=beta)

    def _frozen(self):
        p = self._params
        return _stats().invgamma(a=p["alpha"], scale=p["beta"])


class InverseGammaTau(Prior):
    """Inverse-gamma prior on tau itself (shape ``alpha``, scale ``beta``): RoBMA's ``InvGamma``.

    Unlike :class:`InverseGamma`, which is on tau^2, this is the density of tau: RoBMA's
    default heterogeneity prior ``InvGamma(1, 0.15)`` on Cohen's d (Bartoš et al. 2021; see
    :func:`bayesma.priors.preset`). It has no mass near tau = 0 (its density vanishes there),
    so it assumes some heterogeneity.

    Parameters
    ----------
    alpha : float
        Shape (> 0).
    beta : float
        Scale (> 0), on the scale of tau.

    Examples
    --------
    >>> InverseGammaTau(1, 0.15)
    InverseGammaTau(alpha=1, beta=0.15)
    """

    family = "InverseGammaTau"
    target = "tau"
    _positive = ("alpha", "beta")
    _pm_name = "InverseGamma"

    def __init__(self, alpha: float, beta: float) -> None:
        super().__init__(alpha=alpha, beta=beta)

    def _frozen(self):
        p = self._params
        return _stats().invgamma(a=p["alpha"], scale=p["beta"])

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


# ---------------------------------------------------------------------------
# priors on positive parameters (degrees of freedom)
# ---------------------------------------------------------------------------


class Gamma(Prior):
    """Gamma prior (shape ``alpha``, rate ``beta``) for a positive parameter such as
    the degrees of freedom ``nu`` of a Student-t random-effects distribution.

    The default ``Gamma(2, 0.1)`` (mean 20) is the prior of Juárez & Steel (2010,
    Journal of Business & Economic Statistics 28:52-66).

    Parameters
    ----------
    alpha : float, default 2
        Shape (> 0).
    beta : float, default 0.1
        Rate (> 0).

    Examples
    --------
    >>> Gamma()
    Gamma(alpha=2, beta=0.1)
    """

    family = "Gamma"
    target = "nu"
    _positive = ("alpha", "beta")
    _pm_name = "Gamma"

    def __init__(self, alpha: float = 2.0, beta: float = 0.1) -> None:
        super().__init__(alpha=alpha, beta=beta)

    def _frozen(self):
        p = self._params
        return _stats().gamma(a=p["alpha"], scale=1.0 / p["beta"])

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


#: family name -> class
FAMILIES: dict[str, type[Prior]] = {
    cls.family: cls
    for cls in (
        Normal,
        StudentT,
        Cauchy,
        HalfNormal,
        HalfCauchy,
        HalfStudentT,
        Exponential,
        Uniform,
        LogNormal,
        LogStudentT,
        InverseGamma,
        InverseGammaTau,
        Gamma,
        Flat,
        HalfFlat,
        DuMouchel,
        UniformShrinkage,
    )
}
