"""Prior distributions for Bayesian meta-analysis.

A prior is a small immutable object with a family name and ordered
hyperparameters.  It knows its own density (numpy/scipy, for the exact
quadrature engine), how to draw from itself, and how to create itself as a
PyMC random variable (imported only when :meth:`Prior.pymc` is called, so
``import bayesma.priors`` stays cheap).

Families and their *target* (the parameter they are meant for):

- ``"location"`` (mu, beta): :class:`Normal`, :class:`StudentT`, :class:`Cauchy`
- ``"tau"`` (on tau): :class:`HalfNormal`, :class:`HalfCauchy`, :class:`HalfStudentT`,
  :class:`Exponential`, :class:`Uniform`
- ``"tau2"`` (on tau^2): :class:`LogNormal`, :class:`LogStudentT`, :class:`InverseGamma`
- ``"nu"`` (Student-t degrees of freedom, nu > 0): :class:`Gamma`

Priors of target ``"tau"`` and ``"tau2"`` are *heterogeneity priors*.  The
model parameter is always tau; a tau^2 prior's :meth:`~Prior.logpdf` is the
density of tau^2 and :meth:`~Prior.logpdf_tau` the density it implies for tau
(Jacobian included).

Also here: :func:`parse` (prior specs as strings, used by the CLI),
:func:`unit_information_sd` and :func:`default_priors` (defaults per effect
measure), the empirical presets :func:`turner2015` and :func:`rhodes2015`,
and :func:`describe`.

Examples
--------
>>> from bayesma import priors
>>> p = priors.HalfNormal(0.5)
>>> p
HalfNormal(sigma=0.5)
>>> priors.parse("halfnormal(0.5)") == p
True
>>> round(float(p.ppf_tau(0.5)), 4)
0.3372
>>> priors.default_priors("OR")["tau"]
HalfNormal(sigma=0.5)
"""

from __future__ import annotations

import ast
import math
import re
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Prior",
    "Normal",
    "StudentT",
    "Cauchy",
    "HalfNormal",
    "HalfCauchy",
    "HalfStudentT",
    "Exponential",
    "Uniform",
    "LogNormal",
    "LogStudentT",
    "InverseGamma",
    "Gamma",
    "parse",
    "as_prior",
    "squared_name",
    "unit_information_sd",
    "default_priors",
    "turner2015",
    "rhodes2015",
    "turner2015_table",
    "rhodes2015_table",
    "describe",
    "FAMILIES",
]

_LOG2 = math.log(2.0)


def _stats():
    """scipy.stats, imported on first use (it costs a few hundred milliseconds)."""
    from scipy import stats

    return stats


def _fmt(value: float) -> str:
    """Shortest faithful text for a hyperparameter: 0.5, 5, -3.95, 1000, 1e-06."""
    return f"{value:.15g}"


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def squared_name(name: str) -> str:
    """Name of the random variable a tau^2 prior creates for the model parameter *name*.

    ``name.replace("tau", "tau2")`` when *name* contains ``"tau"``, else ``name + "_sq"``.

    Examples
    --------
    >>> squared_name("tau"), squared_name("tau_study"), squared_name("sigma")
    ('tau2', 'tau2_study', 'sigma_sq')
    """
    return name.replace("tau", "tau2") if "tau" in name else name + "_sq"


# ---------------------------------------------------------------------------
# base class
# ---------------------------------------------------------------------------


class Prior:
    """Base class of all priors.

    Attributes
    ----------
    family : str
        Distribution family, e.g. ``"HalfNormal"`` (the class name).
    params : dict[str, float]
        Hyperparameters in their canonical order, under PyMC's names
        (a fresh copy on every access; priors are immutable).
    target : str
        ``"location"`` (mu, regression coefficients), ``"tau"`` (prior on tau),
        ``"tau2"`` (prior on tau^2) or ``"nu"`` (a positive parameter such as a
        Student-t degrees of freedom).
    label : str or None
        Optional provenance (e.g. the table row of an empirical preset). It is
        shown by :func:`describe` but is not part of equality or ``repr``.

    Notes
    -----
    Equality and hashing use ``(family, params)``; ``repr`` is a valid
    :func:`parse` spec, so ``parse(repr(p)) == p``.
    """

    family: ClassVar[str] = "Prior"
    target: ClassVar[str] = ""
    #: positive hyperparameters (validated > 0 and finite)
    _positive: ClassVar[tuple[str, ...]] = ()
    #: pymc class name
    _pm_name: ClassVar[str] = ""

    def __init__(self, **params: float) -> None:
        clean: dict[str, float] = {}
        for key, value in params.items():
            clean[key] = self._check_number(key, value)
        for key in self._positive:
            if not clean[key] > 0:
                raise ValueError(
                    f"{self.family}: {key} must be positive, got {_fmt(clean[key])}"
                )
        self._params = clean
        self.label: str | None = None

    # -- construction helpers ------------------------------------------------
    def _check_number(self, key: str, value: Any) -> float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            if isinstance(value, np.ndarray) and value.ndim == 0:
                value = value.item()
                return self._check_number(key, value)
            raise ValueError(
                f"{self.family}: {key} must be a real number, got {value!r} "
                f"({type(value).__name__})"
            )
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{self.family}: {key} must be finite, got {value!r}")
        return value

    @property
    def params(self) -> dict[str, float]:
        return dict(self._params)

    def with_params(self, **updates: float) -> "Prior":
        """A copy with some hyperparameters replaced.

        Examples
        --------
        >>> HalfNormal(0.5).with_params(sigma=1)
        HalfNormal(sigma=1)
        """
        new = type(self)(**self._hyper(updates))
        new.label = self.label
        return new

    # -- identity ------------------------------------------------------------
    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self._params.items())
        return f"{self.family}({inner})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prior):
            return NotImplemented
        return self.family == other.family and self._params == other._params

    def __hash__(self) -> int:
        return hash((self.family, tuple(self._params.items())))

    def __reduce__(self):
        return (_rebuild, (type(self), self._params, self.label))

    @property
    def is_heterogeneity(self) -> bool:
        """True for priors on tau or tau^2."""
        return self.target in ("tau", "tau2")

    # -- densities -----------------------------------------------------------
    def _frozen(self):  # scipy frozen distribution on the prior's own scale
        raise NotImplementedError

    def logpdf(self, x: Any) -> np.ndarray | float:
        """Log density on the prior's own scale (for tau^2 priors: the density of tau^2).

        Outside the support the value is ``-inf``. Accepts scalars and arrays.
        """
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._frozen().logpdf(x)
        return out[()] if np.ndim(out) == 0 else out

    def logpdf_tau(self, tau: Any) -> np.ndarray | float:
        """Log density of tau, Jacobian included (heterogeneity priors only).

        For tau priors this equals :meth:`logpdf`; for tau^2 priors it is
        ``logpdf(tau**2) + log(2 * tau)``.
        """
        self._require_heterogeneity("logpdf_tau")
        tau = np.asarray(tau, dtype=float)
        if self.target == "tau":
            return self.logpdf(tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(
                tau > 0, self.logpdf(tau**2) + _LOG2 + np.log(np.where(tau > 0, tau, 1.0)), -np.inf
            )
        return out[()] if np.ndim(out) == 0 else out

    def pdf_tau(self, tau: Any) -> np.ndarray | float:
        """Density of tau (``exp(logpdf_tau(tau))``)."""
        return np.exp(self.logpdf_tau(tau))

    def ppf(self, q: Any) -> np.ndarray | float:
        """Quantiles on the prior's own scale (tau^2 for tau^2 priors)."""
        out = self._frozen().ppf(np.asarray(q, dtype=float))
        return out[()] if np.ndim(out) == 0 else out

    def cdf(self, x: Any) -> np.ndarray | float:
        """Distribution function on the prior's own scale."""
        out = self._frozen().cdf(np.asarray(x, dtype=float))
        return out[()] if np.ndim(out) == 0 else out

    def ppf_tau(self, q: Any) -> np.ndarray | float:
        """Quantiles of tau for heterogeneity priors (exact, via scipy); :meth:`ppf` otherwise.

        For tau^2 priors this is ``sqrt(ppf(q))`` (the square root is monotone).
        """
        out = self.ppf(q)
        if self.target == "tau2":
            out = np.sqrt(out)
        return out

    def cdf_tau(self, tau: Any) -> np.ndarray | float:
        """Distribution function of tau (heterogeneity priors only)."""
        self._require_heterogeneity("cdf_tau")
        tau = np.asarray(tau, dtype=float)
        if self.target == "tau":
            return self.cdf(tau)
        out = np.where(tau > 0, self.cdf(np.where(tau > 0, tau, 0.0) ** 2), 0.0)
        return out[()] if np.ndim(out) == 0 else out

    def rvs(self, size: int | tuple[int, ...] | None = None, rng: Any = None) -> np.ndarray | float:
        """Random draws on the scale of the model parameter.

        For heterogeneity priors the draws are of tau (for tau^2 priors, the
        square roots of tau^2 draws); otherwise of the parameter itself.

        Parameters
        ----------
        size : int or tuple of int, optional
        rng : numpy.random.Generator, int or None
            A generator, or a seed for :func:`numpy.random.default_rng`.
        """
        out = self._frozen().rvs(size=size, random_state=_rng(rng))
        if self.target == "tau2":
            out = np.sqrt(out)
        return out

    def support(self) -> tuple[float, float]:
        """Support of the model parameter (on the tau scale for heterogeneity priors)."""
        return (-math.inf, math.inf)

    def _require_heterogeneity(self, what: str) -> None:
        if not self.is_heterogeneity:
            raise TypeError(
                f"{what}() is defined for heterogeneity priors (on tau or tau^2); "
                f"{self!r} is a prior of target {self.target!r}"
            )

    # -- PyMC ----------------------------------------------------------------
    def _hyper(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        hp: dict[str, Any] = dict(self._params)
        if params:
            unknown = set(params) - set(hp)
            if unknown:
                raise ValueError(
                    f"{self.family} has no hyperparameter {sorted(unknown)}; "
                    f"its hyperparameters are {list(hp)}"
                )
            hp.update(params)
        return hp

    def pymc(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any):
        """Create this prior in the current ``pm.Model`` context.

        Parameters
        ----------
        name : str
            Name of the model parameter, e.g. ``"mu"`` or ``"tau"``.
        params : mapping, optional
            Hyperparameter name -> tensor (e.g. a ``pm.Data``) used instead of
            the float constant, so that a compiled model can be refit with new
            hyperparameters via ``pm.set_data``. Unlisted hyperparameters stay
            constants.
        **kwargs
            Passed to the PyMC distribution (``dims=``, ``shape=``, ...).

        Returns
        -------
        TensorVariable
            The model parameter named *name* (tau for heterogeneity priors).

        Notes
        -----
        Location, tau and nu priors create one random variable named *name*
        and return it. A tau^2 prior creates the random variable
        ``squared_name(name)`` (``"tau2"`` for ``"tau"``) on its own scale and
        returns ``pm.Deterministic(name, sqrt(tau2))``; :class:`LogStudentT`
        creates ``"log_" + squared_name(name)`` (Student-t) and the
        deterministics ``squared_name(name)`` and *name*.

        Examples
        --------
        >>> import pymc as pm                                   # doctest: +SKIP
        >>> with pm.Model() as m:                               # doctest: +SKIP
        ...     s = pm.Data("tau_scale", 0.5)
        ...     tau = HalfNormal(0.5).pymc("tau", params={"sigma": s})
        """
        import pymc as pm

        dist = getattr(pm, self._pm_name)
        return dist(name, **self._hyper(params), **kwargs)


def _rebuild(cls, params, label):
    obj = cls(**params)
    obj.label = label
    return obj


class _Tau2Prior(Prior):
    """Shared PyMC construction for priors on tau^2."""

    target: ClassVar[str] = "tau2"

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def pymc(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any):
        import pymc as pm

        dims = kwargs.get("dims")
        dist = getattr(pm, self._pm_name)
        tau2 = dist(squared_name(name), **self._hyper(params), **kwargs)
        return pm.Deterministic(name, pm.math.sqrt(tau2), dims=dims)

    pymc.__doc__ = Prior.pymc.__doc__


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
        return out[()] if np.ndim(out) == 0 else out

    def cdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        out = np.where(x > 0, 2.0 * self._t().cdf(np.maximum(x, 0.0)) - 1.0, 0.0)
        return out[()] if np.ndim(out) == 0 else out

    def ppf(self, q: Any) -> np.ndarray | float:
        q = np.asarray(q, dtype=float)
        out = self._t().ppf((1.0 + q) / 2.0)
        return out[()] if np.ndim(out) == 0 else out

    def rvs(self, size=None, rng=None):
        return np.abs(self._t().rvs(size=size, random_state=_rng(rng)))


class Exponential(_TauPrior):
    """Exponential prior on tau with rate ``lam`` (mean ``1 / lam``; PyMC's name).

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

    Note the argument order: ``Uniform(upper, lower=0.0)``, because the lower
    bound is almost always 0. The hyperparameters are stored (and printed) in
    PyMC's order ``lower, upper``; in :func:`parse`, ``uniform(2)`` means
    ``upper=2`` and ``uniform(0, 2)`` means ``lower=0, upper=2``.

    Examples
    --------
    >>> Uniform(2)
    Uniform(lower=0, upper=2)
    """

    family = "Uniform"
    _pm_name = "Uniform"

    def __init__(self, upper: float, lower: float = 0.0) -> None:
        super().__init__(lower=lower, upper=upper)
        lo, hi = self._params["lower"], self._params["upper"]
        if lo < 0:
            raise ValueError(f"Uniform: lower must be >= 0 (tau is non-negative), got {_fmt(lo)}")
        if not hi > lo:
            raise ValueError(
                f"Uniform: upper must be greater than lower, got lower={_fmt(lo)}, "
                f"upper={_fmt(hi)} (the signature is Uniform(upper, lower=0.0))"
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
        return out[()] if np.ndim(out) == 0 else out

    def logpdf_tau(self, tau: Any) -> np.ndarray | float:
        # log tau^2 = 2 log tau:  f(tau) = t(2 log tau) * 2 / tau
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = tau > 0
            lt = np.log(np.where(pos, tau, 1.0))
            out = np.where(pos, self._t().logpdf(2.0 * lt) + _LOG2 - lt, -np.inf)
        return out[()] if np.ndim(out) == 0 else out

    def cdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            out = np.where(x > 0, self._t().cdf(np.log(np.where(x > 0, x, 1.0))), 0.0)
        return out[()] if np.ndim(out) == 0 else out

    def ppf(self, q: Any) -> np.ndarray | float:
        out = np.exp(self._t().ppf(np.asarray(q, dtype=float)))
        return out[()] if np.ndim(out) == 0 else out

    def ppf_tau(self, q: Any) -> np.ndarray | float:
        out = np.exp(0.5 * self._t().ppf(np.asarray(q, dtype=float)))
        return out[()] if np.ndim(out) == 0 else out

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


# ---------------------------------------------------------------------------
# priors on positive parameters (degrees of freedom)
# ---------------------------------------------------------------------------


class Gamma(Prior):
    """Gamma prior (shape ``alpha``, rate ``beta``) for a positive parameter such as
    the degrees of freedom ``nu`` of a Student-t random-effects distribution.

    The default ``Gamma(2, 0.1)`` (mean 20) is the prior of Juárez & Steel (2010,
    Journal of Business & Economic Statistics 28:52-66).

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
        Gamma,
    )
}

# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------

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
    "gamma": "Gamma",
}

def _known_families_text() -> str:
    return ", ".join(list(FAMILIES) + ["turner2015", "rhodes2015"])


def _signature(cls: type[Prior]) -> str:
    import inspect

    return f"{cls.family}{inspect.signature(cls.__init__)}".replace("(self, ", "(").replace(
        " -> None", ""
    )


def parse(spec: str | Prior) -> Prior:
    """Build a prior from a text spec such as ``"halfnormal(0.5)"``.

    Family names are case-insensitive (underscores and hyphens ignored; a few
    aliases: ``t``, ``halft``, ``logt``, ``exp``, ``invgamma``, ``unif``).
    Arguments are numbers (or strings for the presets), positional in the
    order of the class signature or keywords under PyMC's names. A family
    without parentheses takes its defaults. ``repr(prior)`` is always a valid
    spec. Special case: ``uniform(a)`` is ``Uniform(upper=a)`` and
    ``uniform(a, b)`` is ``Uniform(lower=a, upper=b)``.

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
    """
    if isinstance(spec, Prior):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"a prior spec must be a string or a Prior, got {type(spec).__name__}")
    text = spec.strip()
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ValueError(
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
                    raise ValueError
                kwargs[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            raise ValueError(
                f"cannot parse prior {spec!r}: arguments must be numbers (or quoted "
                f"strings for turner2015/rhodes2015), positional or keyword"
            ) from None
    else:
        raise ValueError(
            f"cannot parse prior {spec!r}: expected a family name and arguments, e.g. "
            f"'halfnormal(0.5)'; known families: {_known_families_text()}"
        )

    key = re.sub(r"[_\-\s]", "", fname).lower()
    if key in ("turner2015", "rhodes2015"):
        func = turner2015 if key == "turner2015" else rhodes2015
        try:
            return func(*args, **kwargs)
        except TypeError as exc:
            raise ValueError(f"cannot parse prior {spec!r}: {exc}") from None
    if key not in _ALIASES:
        raise ValueError(
            f"unknown prior family {fname!r} in {spec!r}; known families: {_known_families_text()}"
        )
    cls = FAMILIES[_ALIASES[key]]
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, str):
            raise ValueError(
                f"cannot parse prior {spec!r}: {cls.family} takes numbers, got the string {value!r}"
            )
    if cls is Uniform and args:
        if len(args) == 1:
            kwargs = {"upper": args[0], **kwargs}
        elif len(args) == 2:
            kwargs = {"lower": args[0], "upper": args[1], **kwargs}
        else:
            raise ValueError(f"cannot parse prior {spec!r}: Uniform takes (lower, upper) or (upper)")
        args = []
    try:
        return cls(*args, **kwargs)
    except TypeError as exc:
        msg = str(exc).replace("__init__()", cls.family)
        raise ValueError(
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
    prior = parse(value)
    if target is not None:
        allowed = (target,) if isinstance(target, str) else tuple(target)
        if prior.target not in allowed:
            families = [f for f, c in FAMILIES.items() if c.target in allowed]
            raise ValueError(
                f"the prior for {name!r} must be a prior on {' or '.join(allowed)} "
                f"({', '.join(families)}); got {prior!r}, a prior of target {prior.target!r}"
            )
    return prior


# ---------------------------------------------------------------------------
# defaults per effect measure
# ---------------------------------------------------------------------------

#: unit-information standard deviations sigma_u (se_i^2 ~ sigma_u^2 / n_i) of measures
#: with a known value; see unit_information_sd() for the derivations and sources.
UNIT_INFORMATION_SD: dict[str, float] = {
    "OR": 2.0,
    "PETO": 2.0,
    "RR": 2.0,
    "HR": 2.0,
    "IRR": 2.0,
    "SMD": 2.0,
    "SMDH": 2.0,
    "ZCOR": 1.0,
    "COR": 1.0,
    "UCOR": 1.0,
    "RD": 1.0,
}

#: measures on a raw (data-dependent) scale: sigma_u must be estimated from sample sizes
RAW_MEASURES = ("MD", "ROM", "GEN", "GENERIC")


def _measure_key(measure: str | None) -> str | None:
    if measure is None:
        return None
    if not isinstance(measure, str):
        raise TypeError(f"measure must be a string such as 'OR' or 'SMD', got {measure!r}")
    return measure.strip().upper()


def _positive_array(values: Any, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{what} must be positive and finite; the study in row {i + 1} has {arr[i]!r}"
        )
    return arr


def unit_information_sd(
    measure: str | None,
    yi: Any = None,
    vi: Any = None,
    ni: Any = None,
) -> float:
    """Unit-information standard deviation sigma_u of an effect measure.

    sigma_u is the standard deviation of one "unit" of information, so that a
    study of size n_i has sampling variance ``vi ~ sigma_u**2 / n_i`` (Röver et
    al. 2021, Research Synthesis Methods 12:448-474, Sec. 2.3). It sets the
    scale of the default priors (:func:`default_priors`).

    Fixed values (``ni`` = total number of participants of a study, or of
    events where noted; two arms of equal size):

    - ``OR``, ``PETO``, ``RR``, ``HR``, ``IRR`` (log ratios): **2**.
      var(log OR) ~ 4/m with m the total number of events (Spiegelhalter,
      Abrams & Myles 2004, *Bayesian Approaches to Clinical Trials and
      Health-Care Evaluation*, Sec. 2.4; the same for log RR and log HR with
      rare events); the value used for log odds ratios by Röver et al. (2021).
      With tau ~ HalfNormal(sigma_u / 4) this gives HalfNormal(0.5), the prior
      Friede et al. (2017, Biometrical Journal 59:658-671) found well
      calibrated for log odds ratios with few studies.
    - ``SMD``, ``SMDH``: **2**. var(d) ~ 1/n1 + 1/n2 = 4/N for equal arms of
      total size N (Hedges & Olkin 1985); Röver et al. (2021) give sigma_u ~ 2
      for standardized differences. (Per participant *per arm* it would be
      sqrt(2).)
    - ``ZCOR``: **1**. var(z) = 1/(n - 3) ~ 1/n (Fisher 1921; Röver et al. 2021).
    - ``COR``: **1**. var(r) = (1 - rho^2)^2 / (n - 1) <= 1/n: the value at
      rho = 0, an upper bound.
    - ``RD``: **1**. var = p1 q1/n1 + p2 q2/n2 <= 1/N: the value at p = 1/2, an
      upper bound.

    For raw measures (``MD``, ``ROM``, ``GEN``, ``None``) and any measure not
    listed above, sigma_u depends on the outcome's scale and is estimated
    from the data as ``sqrt(sum(ni) / sum(1 / vi))`` (Röver et al. 2021,
    Eq. 6; bayesmeta's ``uisd()``), which needs ``vi`` and ``ni``.

    Parameters
    ----------
    measure : str or None
        metafor's measure name (case-insensitive).
    yi : array-like, optional
        Accepted for symmetry with :func:`default_priors`; not used.
    vi : array-like, optional
        Sampling variances.
    ni : array-like, optional
        Total sample sizes of the studies.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a raw measure without ``vi`` and ``ni``: give sample sizes or
        choose priors explicitly.

    Examples
    --------
    >>> unit_information_sd("OR"), unit_information_sd("ZCOR")
    (2.0, 1.0)
    >>> round(unit_information_sd("MD", vi=[0.5, 0.25], ni=[20, 40]), 4)
    3.1623
    """
    key = _measure_key(measure)
    if key in UNIT_INFORMATION_SD:
        return UNIT_INFORMATION_SD[key]
    if vi is None or ni is None:
        what = "a generic effect (measure=None)" if key is None else f"measure {measure!r}"
        raise ValueError(
            f"the unit-information SD of {what} depends on the outcome's scale: give the "
            f"sampling variances vi and the sample sizes ni to estimate it as "
            f"sqrt(sum(ni) / sum(1/vi)), or choose the priors explicitly, e.g. "
            f"priors={{'mu': Normal(0, 10), 'tau': HalfNormal(1)}}. Measures with a known "
            f"value: {', '.join(UNIT_INFORMATION_SD)}"
        )
    v = _positive_array(vi, "vi")
    n = _positive_array(ni, "ni")
    if v.shape != n.shape:
        raise ValueError(f"vi and ni must have the same length, got {v.size} and {n.size}")
    return float(math.sqrt(n.sum() / np.sum(1.0 / v)))


def default_priors(
    measure: str | None = None,
    yi: Any = None,
    vi: Any = None,
    ni: Any = None,
) -> dict[str, Prior]:
    """Default priors for the overall effect mu and the heterogeneity tau.

    With the measure's unit-information SD sigma_u (:func:`unit_information_sd`):

    - ``tau ~ HalfNormal(sigma_u / 4)``: Röver et al. (2021) recommend
      half-normal priors with scale a fraction of sigma_u; sigma_u / 4 is
      HalfNormal(0.5) for log odds ratios (Friede et al. 2017), HalfNormal(0.5)
      for SMDs and HalfNormal(0.25) for Fisher's z. Its median, 0.17 sigma_u, is
      "moderate" heterogeneity and it gives 5% probability to tau > 0.49 sigma_u.
    - ``mu ~ Normal(0, 4 * sigma_u)``: a proper but wide prior. A study of n
      units has standard error sigma_u / sqrt(n); for n >= 10 the prior SD is at
      least 12 times a single study's standard error, so the prior carries
      less than 1% of a study's information and the posterior of mu is close to
      what a flat prior gives. For log odds ratios it is Normal(0, 8).

    Fallback when sigma_u cannot be known (``measure`` raw, generic or
    ``None``, and no ``ni``): a data-scaled weakly informative choice with
    ``s = max(sd(yi), sqrt(median(vi)))`` (only the terms available):
    ``tau ~ HalfNormal(s)`` and ``mu ~ Normal(0, 10 * max(s, max|yi|))``
    (the ``max|yi|`` keeps the prior wide when effects on a raw scale are far
    from zero). It depends on the data, so state it when reporting; better,
    choose priors on the outcome's scale.

    Parameters
    ----------
    measure : str, optional
        metafor's measure name (``"OR"``, ``"SMD"``, ``"ZCOR"``, ...).
    yi, vi, ni : array-like, optional
        Effects, sampling variances and total sample sizes; used only when
        sigma_u must be estimated or for the fallback.

    Returns
    -------
    dict
        ``{"mu": Normal, "tau": HalfNormal}``.

    Examples
    --------
    >>> default_priors("OR")
    {'mu': Normal(mu=0, sigma=8), 'tau': HalfNormal(sigma=0.5)}
    >>> default_priors("ZCOR")["tau"]
    HalfNormal(sigma=0.25)
    """
    key = _measure_key(measure)
    if key in UNIT_INFORMATION_SD or (vi is not None and ni is not None):
        su = unit_information_sd(measure, yi=yi, vi=vi, ni=ni)
        out = {"mu": Normal(0.0, 4.0 * su), "tau": HalfNormal(su / 4.0)}
        source = (
            f"unit-information SD {_fmt(su)} for {key}"
            if key in UNIT_INFORMATION_SD
            else f"unit-information SD {su:.4g} estimated from vi and ni"
        )
        for p in out.values():
            p.label = f"default ({source})"
        return out
    if ni is not None and vi is None:
        raise ValueError("ni was given without vi: the unit-information SD needs both")
    scales: list[float] = []
    y = None
    if yi is not None:
        y = np.atleast_1d(np.asarray(yi, dtype=float))
        y = y[np.isfinite(y)]
        if y.size >= 2:
            scales.append(float(np.std(y, ddof=1)))
    if vi is not None:
        v = _positive_array(vi, "vi")
        scales.append(float(math.sqrt(np.median(v))))
    s = max(scales) if scales else 0.0
    if not s > 0:
        raise ValueError(
            "cannot choose default priors: give the effect measure (e.g. measure='SMD'), "
            "or vi (and ideally ni) so the prior scale can be estimated, or choose the "
            "priors explicitly"
        )
    big = max(s, float(np.max(np.abs(y)))) if y is not None and y.size else s
    out = {"mu": Normal(0.0, 10.0 * big), "tau": HalfNormal(s)}
    for p in out.values():
        p.label = "data-scaled fallback (measure unknown, no sample sizes)"
    return out


# ---------------------------------------------------------------------------
# empirical presets
# ---------------------------------------------------------------------------

_TURNER_FILE = "turner2015_logor_tau2_priors.csv"
_RHODES_FILE = "rhodes2015_smd_tau2_priors.csv"
_TABLES: dict[str, "pd.DataFrame"] = {}


def _read_table(name: str) -> "pd.DataFrame":
    if name not in _TABLES:
        import importlib.resources

        import pandas as pd

        with (importlib.resources.files("bayesma") / "data" / name).open("r", encoding="utf-8") as f:
            _TABLES[name] = pd.read_csv(f)
    return _TABLES[name].copy()


def turner2015_table() -> "pd.DataFrame":
    """Turner et al. (2015) predictive distributions for tau^2 of log odds ratios.

    Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015), Statistics in
    Medicine 34(6):984-998, Table IV: ``tau^2 ~ LogNormal(meanlog, sdlog)`` by
    outcome type and type of comparison.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome_type``, ``comparison_type``,
        ``tau2_lognormal_meanlog``, ``tau2_lognormal_sdlog``.
    """
    return _read_table(_TURNER_FILE)


def rhodes2015_table() -> "pd.DataFrame":
    """Rhodes et al. (2015) predictive distributions for tau^2 of standardized mean differences.

    Rhodes KM, Turner RM, Higgins JPT (2015), Journal of Clinical Epidemiology
    68(1):52-60, Table 3 and Appendix Tables A.3.1-A.3.2:
    ``log(tau^2) = location + scale * T_5``. The first row (all ``any``) is the
    general-purpose prior.

    Returns
    -------
    pandas.DataFrame
        Columns ``medical_area``, ``outcome_type``, ``comparison_type``,
        ``tau2_logt5_location``, ``tau2_logt5_scale``.
    """
    return _read_table(_RHODES_FILE)


def _norm_text(s: str) -> str:
    return re.sub(r"\s+", " ", str(s)).strip().lower()


def _match_column(df: "pd.DataFrame", column: str, query: str, arg: str) -> str:
    """The unique value of *column* matching *query*: exact (case-insensitive), else substring."""
    if not isinstance(query, str):
        raise TypeError(f"{arg} must be a string, got {query!r}")
    values = list(dict.fromkeys(df[column].astype(str)))
    q = _norm_text(query)
    exact = [v for v in values if _norm_text(v) == q]
    if exact:
        return exact[0]
    sub = [v for v in values if q in _norm_text(v)]
    if len(sub) == 1:
        return sub[0]
    listing = "\n  ".join(values)
    if not sub:
        raise ValueError(f"no {arg} matches {query!r}; available:\n  {listing}")
    raise ValueError(
        f"{arg}={query!r} matches several rows ({'; '.join(sub)}); be more specific. "
        f"Available:\n  {listing}"
    )


def _select_row(
    df: "pd.DataFrame", criteria: list[tuple[str, str, str]], source: str, hint: str = ""
):
    chosen = {col: _match_column(df, col, q, arg) for col, q, arg in criteria}
    mask = np.ones(len(df), dtype=bool)
    for col, value in chosen.items():
        mask &= (df[col].astype(str) == value).to_numpy()
    rows = df[mask]
    if len(rows) != 1:
        cols = [c for c, _, _ in criteria]
        listing = "\n  ".join(" | ".join(str(r[c]) for c in cols) for _, r in df.iterrows())
        wanted = ", ".join(f"{arg}={chosen[col]!r}" for col, _, arg in criteria)
        raise ValueError(
            f"{source} has no row with {wanted}{hint}; available rows "
            f"({' | '.join(cols)}):\n  {listing}"
        )
    return rows.iloc[0], chosen


def turner2015(
    outcome: str = "all-cause mortality",
    comparison: str = "pharmacological vs. placebo / control",
) -> LogNormal:
    """Empirical log-normal prior for tau^2 of a log odds ratio (Turner et al. 2015).

    Parameters
    ----------
    outcome : str
        Outcome type, matched case-insensitively against the table's
        ``outcome_type``: exactly, else as a unique substring (e.g.
        ``"pain"``, ``"adverse"``).
    comparison : str
        Type of comparison, matched the same way against ``comparison_type``
        (``"pharmacological vs. placebo / control"``, ``"pharmacological vs.
        pharmacological"``, ``"non-pharmacological vs. placebo / control"``,
        ``"non-pharmacological vs. pharmacological"``, ``"non-pharmacological vs.
        non-pharmacological"``).

    Returns
    -------
    LogNormal
        ``LogNormal(mu=meanlog, sigma=sdlog)`` on tau^2, with a ``label`` naming
        the row.

    Raises
    ------
    ValueError
        When no row or several rows match; the message lists the available ones.

    Examples
    --------
    >>> turner2015()
    LogNormal(mu=-3.95, sigma=1.34)
    >>> turner2015("pain", "pharmacological vs. pharmacological")
    LogNormal(mu=-2.06, sigma=1.58)
    """
    df = turner2015_table()
    row, chosen = _select_row(
        df,
        [("outcome_type", outcome, "outcome"), ("comparison_type", comparison, "comparison")],
        "Turner et al. (2015) Table IV",
    )
    prior = LogNormal(float(row["tau2_lognormal_meanlog"]), float(row["tau2_lognormal_sdlog"]))
    prior.label = (
        f"Turner et al. (2015), log OR: {chosen['outcome_type']}; {chosen['comparison_type']}"
    )
    return prior


def rhodes2015(outcome: str = "any", comparison: str = "any", area: str = "any") -> LogStudentT:
    """Empirical log-t(5) prior for tau^2 of a standardized mean difference (Rhodes et al. 2015).

    ``log(tau^2) = location + scale * T_5``. With the defaults (all ``"any"``)
    it is the general-purpose prior ``LogStudentT(5, -3.44, 2.59)``; otherwise
    give all three of medical area, outcome type and comparison type.

    Parameters
    ----------
    outcome : str
        Outcome type (``outcome_type``), matched case-insensitively: exactly,
        else as a unique substring (e.g. ``"mental health"``).
    comparison : str
        ``"pharmacological vs. placebo / control"``, ``"pharmacological vs.
        pharmacological"`` or ``"non-pharmacological (any)"``.
    area : str
        Medical area: ``"respiratory"``, ``"cancer"`` or ``"other"``.

    Returns
    -------
    LogStudentT
        ``LogStudentT(nu=5, mu=location, sigma=scale)``, labelled with its row.

    Raises
    ------
    ValueError
        When no row or several rows match; the message lists the available ones.

    Examples
    --------
    >>> rhodes2015()
    LogStudentT(nu=5, mu=-3.44, sigma=2.59)
    >>> rhodes2015("mental health", "non-pharmacological", "other")
    LogStudentT(nu=5, mu=-3.85, sigma=1.93)
    """
    df = rhodes2015_table()
    row, chosen = _select_row(
        df,
        [
            ("medical_area", area, "area"),
            ("outcome_type", outcome, "outcome"),
            ("comparison_type", comparison, "comparison"),
        ],
        "Rhodes et al. (2015)",
        hint=" (leave all three at 'any' for the general-purpose prior, or give all three)",
    )
    prior = LogStudentT(5.0, float(row["tau2_logt5_location"]), float(row["tau2_logt5_scale"]))
    prior.label = (
        f"Rhodes et al. (2015), SMD: area {chosen['medical_area']}; "
        f"{chosen['outcome_type']}; {chosen['comparison_type']}"
    )
    return prior


# ---------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------


def describe(priors: Mapping[str, Prior | str]) -> str:
    """One line per prior, for printing the priors a fit used.

    Heterogeneity priors also show the prior median and central 95% interval
    of tau; tau^2 priors say that they are on tau^2. A prior's ``label``
    (e.g. the table row of a preset) is appended in brackets.

    Examples
    --------
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
        if prior.is_heterogeneity:
            lo, med, hi = (float(v) for v in prior.ppf_tau([0.025, 0.5, 0.975]))
            line += f"  (tau: median {med:.3g}, 95% interval {lo:.3g} to {hi:.3g})"
        if prior.label:
            line += f"  [{prior.label}]"
        lines.append(line)
    return "\n".join(lines)
