"""The base class of bayesma's priors and the helpers every family shares.

A prior is a small immutable object with a family name and ordered
hyperparameters. It knows its own density (numpy/scipy, for the exact
quadrature engine), how to draw from itself, and how to create itself as a
PyMC random variable (imported only when :meth:`Prior.pymc` is called).
The concrete families are in :mod:`bayesma.priors.families`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["Prior", "squared_name"]

_LOG2 = math.log(2.0)



def _stats():
    """scipy.stats, imported on first use (it costs a few hundred milliseconds)."""
    from scipy import stats

    return stats


def _fmt(value: float) -> str:
    """Shortest faithful text for a hyperparameter: 0.5, 5, -3.95, 1000, 1e-06."""
    return f"{value:.15g}"


def short_text(prior: Any) -> str:
    """A prior as a message shows it: :meth:`Prior.short` (rounded), or ``repr`` of anything else."""
    return prior.short() if hasattr(prior, "short") else repr(prior)


def _unbox(out: np.ndarray) -> np.ndarray | float:
    """A 0-d result as a numpy scalar (scalar in, scalar out), any other as the array."""
    return out[()] if np.ndim(out) == 0 else out


def _rng(rng: Any) -> np.random.Generator:
    """A generator, or a new one seeded by *rng* (an integer >= 0 or None)."""
    if isinstance(rng, np.random.Generator):
        return rng
    from bayesma._validate import check_seed  # pandas stays out of `import bayesma.priors`

    return np.random.default_rng(check_seed(rng, name="rng (a seed or a numpy Generator)"))


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


class Prior:  # numpydoc ignore=PR01
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

    Examples
    --------
    >>> from bayesma.priors import HalfNormal, parse
    >>> p = HalfNormal(0.5)
    >>> p.family, p.target, p.params
    ('HalfNormal', 'tau', {'sigma': 0.5})
    >>> parse(repr(p)) == p
    True
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
                raise InputError(
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
            raise InputError(
                f"{self.family}: {key} must be a real number, got {value!r} "
                f"({type(value).__name__})"
            )
        value = float(value)
        if not math.isfinite(value):
            raise InputError(f"{self.family}: {key} must be finite, got {value!r}")
        return value

    @property
    def params(self) -> dict[str, float]:
        return dict(self._params)

    def with_params(self, **updates: float) -> Prior:
        """A copy with some hyperparameters replaced.

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
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

    def short(self, digits: int = 3) -> str:
        """The prior for a message: hyperparameters to *digits* significant digits (``repr`` is exact).

        Parameters
        ----------
        digits : int
            Significant digits.

        Returns
        -------
        str

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
        >>> HalfNormal(0.152970585407784).short()
        'HalfNormal(sigma=0.153)'
        """
        if not self._params:
            return repr(self)
        inner = ", ".join(f"{k}={v:.{digits}g}" for k, v in self._params.items())
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

        Parameters
        ----------
        x : float or array-like
            Values of the parameter on the prior's own scale.

        Returns
        -------
        float or numpy.ndarray
            Log density, same shape as ``x``.

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
        >>> round(float(HalfNormal(1).logpdf(0.5)), 4)
        -0.3508
        """
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._frozen().logpdf(x)
        return _unbox(out)

    def logpdf_tau(self, tau: Any) -> np.ndarray | float:
        """Log density of tau, Jacobian included (heterogeneity priors only).

        For tau priors this equals :meth:`logpdf`; for tau^2 priors it is
        ``logpdf(tau**2) + log(2 * tau)``.

        Parameters
        ----------
        tau : float or array-like
            Values of tau (>= 0).

        Returns
        -------
        float or numpy.ndarray
            Log density of tau, same shape as ``tau``.

        Raises
        ------
        TypeError
            For a prior that is not a heterogeneity prior.

        Examples
        --------
        >>> from bayesma.priors import LogNormal
        >>> round(float(LogNormal(-2, 1).logpdf_tau(0.3)), 4)
        0.895
        """
        self._require_heterogeneity("logpdf_tau")
        tau = np.asarray(tau, dtype=float)
        if self.target == "tau":
            return self.logpdf(tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(
                tau > 0, self.logpdf(tau**2) + _LOG2 + np.log(np.where(tau > 0, tau, 1.0)), -np.inf
            )
        return _unbox(out)

    def pdf_tau(self, tau: Any) -> np.ndarray | float:
        """Density of tau (``exp(logpdf_tau(tau))``)."""
        return np.exp(self.logpdf_tau(tau))

    def ppf(self, q: Any) -> np.ndarray | float:
        """Quantiles on the prior's own scale (tau^2 for tau^2 priors).

        Parameters
        ----------
        q : float or array-like
            Probabilities in [0, 1].

        Returns
        -------
        float or numpy.ndarray
            Quantiles, same shape as ``q``.

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
        >>> round(float(HalfNormal(1).ppf(0.5)), 4)
        0.6745
        """
        out = self._frozen().ppf(np.asarray(q, dtype=float))
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        """Distribution function on the prior's own scale.

        Parameters
        ----------
        x : float or array-like
            Values of the parameter on the prior's own scale.

        Returns
        -------
        float or numpy.ndarray
            ``P(parameter <= x)``, same shape as ``x``.

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
        >>> round(float(HalfNormal(1).cdf(1.0)), 4)
        0.6827
        """
        out = self._frozen().cdf(np.asarray(x, dtype=float))
        return _unbox(out)

    def ppf_tau(self, q: Any) -> np.ndarray | float:
        """Quantiles of tau for heterogeneity priors (exact, via scipy); :meth:`ppf` otherwise.

        For tau^2 priors this is ``sqrt(ppf(q))`` (the square root is monotone).

        Parameters
        ----------
        q : float or array-like
            Probabilities in [0, 1].

        Returns
        -------
        float or numpy.ndarray
            Quantiles of tau, same shape as ``q``.

        Examples
        --------
        >>> from bayesma.priors import LogNormal
        >>> round(float(LogNormal(-2, 1).ppf_tau(0.5)), 4)  # exp(-2 / 2)
        0.3679
        """
        out = self.ppf(q)
        if self.target == "tau2":
            out = np.sqrt(out)
        return out

    def cdf_tau(self, tau: Any) -> np.ndarray | float:
        """Distribution function of tau (heterogeneity priors only).

        Parameters
        ----------
        tau : float or array-like
            Values of tau.

        Returns
        -------
        float or numpy.ndarray
            ``P(tau' <= tau)``, same shape as ``tau``.

        Raises
        ------
        TypeError
            For a prior that is not a heterogeneity prior.

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
        >>> round(float(HalfNormal(1).cdf_tau(1.96)), 3)
        0.95
        """
        self._require_heterogeneity("cdf_tau")
        tau = np.asarray(tau, dtype=float)
        if self.target == "tau":
            return self.cdf(tau)
        out = np.where(tau > 0, self.cdf(np.where(tau > 0, tau, 0.0) ** 2), 0.0)
        return _unbox(out)

    def rvs(self, size: int | tuple[int, ...] | None = None, rng: Any = None) -> np.ndarray | float:
        """Random draws on the scale of the model parameter.

        For heterogeneity priors the draws are of tau (for tau^2 priors, the
        square roots of tau^2 draws); otherwise of the parameter itself.

        Parameters
        ----------
        size : int or tuple of int, optional
        rng : numpy.random.Generator, int or None
            A generator, or a seed for :func:`numpy.random.default_rng`.

        Returns
        -------
        float or numpy.ndarray
            Draws of shape ``size`` (a float when ``size`` is None).

        Examples
        --------
        >>> from bayesma.priors import HalfNormal
        >>> HalfNormal(1).rvs(3, rng=1).shape
        (3,)
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
            raise ArgumentTypeError(
                f"{what}() is defined for heterogeneity priors (on tau or tau^2); "
                f"{self!r} is a prior of target {self.target!r}"
            )

    # -- PyMC ----------------------------------------------------------------
    def _hyper(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        hp: dict[str, Any] = dict(self._params)
        if params:
            unknown = set(params) - set(hp)
            if unknown:
                raise InputError(
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
        >>> import pymc as pm
        >>> from bayesma.priors import HalfNormal
        >>> with pm.Model() as m:
        ...     s = pm.Data("tau_scale", 0.5)
        ...     tau = HalfNormal(0.5).pymc("tau", params={"sigma": s})
        >>> m.free_RVs, bool(pm.draw(tau, random_seed=1) > 0)
        ([tau], True)
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
