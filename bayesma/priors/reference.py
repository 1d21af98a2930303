"""bayesmeta's proper reference priors for tau: DuMouchel's and the uniform shrinkage prior.

Both have one scale ``s0``, which bayesmeta sets from the studies' standard errors; the
``from_vi`` constructors do the same, so ``DuMouchel.from_vi(dat["vi"])`` is bayesmeta's
``tau.prior = "DuMouchel"``. Both are a monotone transformation of a uniform variable, which is
how they enter the PyMC model (the sampler moves on the uniform scale; no custom density is
needed), and their densities, distribution functions and quantiles are closed forms for the
exact engine.

References
----------
DuMouchel W (1990). Bayesian metaanalysis. In Berry DA (ed.), Statistical Methodology in the
Pharmaceutical Sciences, 509-529. Daniels MJ (1999). A prior for the variance in hierarchical
models. Canadian Journal of Statistics 27(3):567-578. Röver C (2020). Bayesian random-effects
meta-analysis using the bayesmeta R package. Journal of Statistical Software 93(6), section 3.3.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Statistics in
Medicine 21:1539-1558 (the typical within-study variance of :meth:`UniformShrinkage.i2_uniform`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bayesma.errors import InputError
from bayesma.priors.base import Prior, _rng, _unbox

__all__ = ["DuMouchel", "UniformShrinkage", "Jeffreys"]


def _vi(vi: Any) -> np.ndarray:
    v = np.asarray(vi, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v) & (v > 0)):
        raise InputError("vi must be positive, finite sampling variances")
    return v


def _harmonic_scale(vi: Any) -> float:
    """bayesmeta's scale of the DuMouchel and shrinkage priors: ``s0^2 = k / sum(1 / vi)``."""
    v = _vi(vi)
    return math.sqrt(v.size / np.sum(1.0 / v))


class _UniformTransform(Prior):
    """A tau prior that is ``g(U)`` for U ~ Uniform(0, 1) with a scale ``s0``."""

    target: ClassVar[str] = "tau"
    _positive = ("s0",)

    def __init__(self, s0: float = 1.0) -> None:
        super().__init__(s0=s0)

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def _from_u(self, u, s0):  # tau = g(u)
        raise NotImplementedError

    def ppf(self, q: Any) -> np.ndarray | float:
        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore"):
            out = self._from_u(q, self._params["s0"])
        return _unbox(out)

    def rvs(self, size=None, rng=None):
        return self.ppf(_rng(rng).uniform(size=size))

    def pymc(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any):
        """tau = g(u) with u ~ Uniform(0, 1) named ``name + "_u"``; returns ``pm.Deterministic(name, tau)``."""
        import pymc as pm

        s0 = self._hyper(params)["s0"]
        dims = kwargs.pop("dims", None)
        u = pm.Uniform(f"{name}_u", 0.0, 1.0, dims=dims, **kwargs)
        return pm.Deterministic(name, self._from_u(u, s0), dims=dims)


class DuMouchel(_UniformTransform):
    """DuMouchel's prior on tau: density ``s0 / (s0 + tau)^2`` (the log-logistic with median s0).

    Proper, with a heavy tail (``tau^-2``, like a half-Cauchy). bayesmeta's ``"DuMouchel"``
    takes ``s0`` as the square root of the harmonic mean of the sampling variances
    (:meth:`from_vi`).

    Parameters
    ----------
    s0 : float, default 1
        Scale (> 0), on the scale of tau: the prior median of tau.

    Examples
    --------
    >>> DuMouchel(0.3)
    DuMouchel(s0=0.3)
    >>> float(DuMouchel(0.3).ppf_tau(0.5))
    0.3
    """

    family = "DuMouchel"

    @classmethod
    def from_vi(cls, vi: Any) -> DuMouchel:
        """bayesmeta's choice: ``s0^2 = k / sum(1 / vi)``.

        Parameters
        ----------
        vi : array-like
            Sampling variances of the studies (positive, finite).

        Returns
        -------
        DuMouchel

        Raises
        ------
        ValueError
            If a sampling variance is not positive and finite.

        Examples
        --------
        >>> DuMouchel.from_vi([0.01, 0.02, 0.04])
        DuMouchel(s0=0.130930734141595)
        """
        return cls(_harmonic_scale(vi))

    def _from_u(self, u, s0):
        return s0 * u / (1.0 - u)

    def logpdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        s0 = self._params["s0"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(x >= 0, math.log(s0) - 2.0 * np.log(s0 + np.maximum(x, 0.0)), -np.inf)
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        out = x / (self._params["s0"] + x)
        return _unbox(out)


class UniformShrinkage(_UniformTransform):
    """The uniform shrinkage prior on tau: ``s0^2 / (s0^2 + tau^2)`` is uniform on (0, 1).

    Density ``2 s0^2 tau / (s0^2 + tau^2)^2`` (tail ``tau^-3``). With ``s0^2`` the harmonic
    mean of the sampling variances (:meth:`from_vi`) it is bayesmeta's ``"shrinkage"`` prior;
    with Higgins & Thompson's typical within-study variance (:meth:`i2_uniform`) it is the
    prior under which I^2 is uniform, bayesmeta's ``"I2"``.

    Parameters
    ----------
    s0 : float, default 1
        Scale (> 0), on the scale of tau: the prior median of tau is ``s0``.

    Examples
    --------
    >>> UniformShrinkage(0.2)
    UniformShrinkage(s0=0.2)
    """

    family = "UniformShrinkage"

    @classmethod
    def from_vi(cls, vi: Any) -> UniformShrinkage:
        """bayesmeta's ``"shrinkage"``: ``s0^2 = k / sum(1 / vi)``.

        Parameters
        ----------
        vi : array-like
            Sampling variances of the studies (positive, finite).

        Returns
        -------
        UniformShrinkage

        Raises
        ------
        ValueError
            If a sampling variance is not positive and finite.

        Examples
        --------
        >>> UniformShrinkage.from_vi([0.01, 0.02, 0.04])
        UniformShrinkage(s0=0.130930734141595)
        """
        return cls(_harmonic_scale(vi))

    @classmethod
    def i2_uniform(cls, vi: Any) -> UniformShrinkage:
        """bayesmeta's ``"I2"``: I^2 uniform, ``s0^2 = (k - 1) sum(w) / (sum(w)^2 - sum(w^2))``, w = 1/vi.

        Parameters
        ----------
        vi : array-like
            Sampling variances of the studies (positive, finite).

        Returns
        -------
        UniformShrinkage

        Raises
        ------
        ValueError
            If a sampling variance is not positive and finite, or fewer than two studies.

        Examples
        --------
        >>> UniformShrinkage.i2_uniform([0.01, 0.02, 0.04])
        UniformShrinkage(s0=0.14142135623731)
        """
        v = _vi(vi)
        if v.size < 2:
            raise InputError("the I^2 prior needs at least two studies")
        w = 1.0 / v
        return cls(math.sqrt((v.size - 1) * w.sum() / (w.sum() ** 2 - (w * w).sum())))

    def _from_u(self, u, s0):
        return s0 * (u / (1.0 - u)) ** 0.5

    def logpdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        s2 = self._params["s0"] ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            xx = np.maximum(x, 0.0)
            out = np.where(x >= 0, math.log(2 * s2) + np.log(xx) - 2.0 * np.log(s2 + xx * xx), -np.inf)
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        out = x * x / (self._params["s0"] ** 2 + x * x)
        return _unbox(out)


class Jeffreys(Prior):
    """The Jeffreys prior on tau for the normal-normal model (bayesmeta's ``"Jeffreys"``).

    Density proportional to ``sqrt(sum_i (tau / (vi_i + tau^2))^2)``: the square root of the
    Fisher information for tau, so it depends on the sampling variances (Bodnar et al. 2017).
    Improper, with tail ``tau^-1``: with a flat prior on mu the posterior is proper for k >= 2.
    Build it for the data at hand with :meth:`from_vi`. The exact engine only (a NUTS model
    would need the variances inside the prior; use HalfFlat or a proper prior there).

    Parameters
    ----------
    vi : array-like
        Sampling variances of the studies (positive, finite).

    References
    ----------
    Bodnar O, Link A, Arendacká B, Possolo A, Elster C (2017). Bayesian estimation in random
    effects meta-analysis using a non-informative prior. Statistics in Medicine 36:378-399.

    Examples
    --------
    >>> Jeffreys.from_vi([0.01, 0.02, 0.04])
    Jeffreys(k=3)
    """

    family = "Jeffreys"
    target: ClassVar[str] = "tau"

    def __init__(self, vi: Any) -> None:
        super().__init__()
        self._vi = tuple(float(x) for x in _vi(vi))

    @classmethod
    def from_vi(cls, vi: Any) -> Jeffreys:
        """The Jeffreys prior for studies with sampling variances *vi*.

        Parameters
        ----------
        vi : array-like
            Sampling variances of the studies (positive, finite).

        Returns
        -------
        Jeffreys

        Raises
        ------
        ValueError
            If a sampling variance is not positive and finite.

        Examples
        --------
        >>> Jeffreys.from_vi([0.01, 0.02, 0.04])
        Jeffreys(k=3)
        """
        return cls(vi)

    def __repr__(self) -> str:
        return f"Jeffreys(k={len(self._vi)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Jeffreys) and self._vi == other._vi

    def __hash__(self) -> int:
        return hash((self.family, self._vi))

    def __reduce__(self):
        return (Jeffreys, (self._vi,))

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def logpdf(self, x: Any) -> np.ndarray | float:
        x = np.asarray(x, dtype=float)
        v = np.asarray(self._vi)
        with np.errstate(divide="ignore", invalid="ignore"):
            xx = np.maximum(x, 0.0)[..., None]
            out = 0.5 * np.log(((xx / (v + xx * xx)) ** 2).sum(-1))
            out = np.where(x >= 0, out, -np.inf)
        return _unbox(out)

    def cdf(self, x: Any) -> np.ndarray | float:
        """The (unnormalised) prior mass below x: the prior is improper."""
        from scipy import integrate

        x = np.asarray(x, dtype=float)
        flat = np.atleast_1d(x).ravel()
        out = np.array([integrate.quad(lambda t: math.exp(float(self.logpdf(t))), 0.0, max(b, 0.0),
                                       epsabs=0, epsrel=1e-12)[0] if b > 0 else 0.0 for b in flat])
        out = out.reshape(np.shape(x))
        return _unbox(out)

    def ppf(self, q: Any) -> np.ndarray | float:
        q = np.asarray(q, dtype=float)
        out = np.where(q <= 0, 0.0, np.inf)
        return _unbox(out)

    def rvs(self, size=None, rng=None):
        raise InputError("the Jeffreys prior is improper: it has no random draws")

    def pymc(self, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any):
        raise InputError("the Jeffreys prior on tau is available with engine='exact'; for NUTS use HalfFlat() "
                         "or a proper prior")


def check_built_for(priors: Any, vi: Any) -> None:
    """Refuse a prior built from other studies' sampling variances than *vi* (the Jeffreys prior).

    The Jeffreys prior on tau depends on the studies (its density is built from their
    variances): fitted to other studies (after ``missing="drop"``, in another group of
    :func:`bayesma.fit_many`, ...) it is not the Jeffreys prior of those studies.

    Parameters
    ----------
    priors : mapping
        The model's priors.
    vi : array-like
        Sampling variances of the studies being fitted.

    Raises
    ------
    InputError
        When a Jeffreys prior's variances are not those of the studies fitted.

    Examples
    --------
    >>> check_built_for({"tau": Jeffreys.from_vi([0.01, 0.02])}, [0.02, 0.01])
    >>> check_built_for({"tau": Jeffreys.from_vi([0.01, 0.02])}, [0.01, 0.02, 0.03])
    Traceback (most recent call last):
    ...
    bayesma.errors.InputError: tau ~ Jeffreys(k=2) was built from the sampling variances of other studies (2 variances) than the 3 fitted here; the Jeffreys prior depends on the studies: build it for these, bayesma.priors.Jeffreys.from_vi(vi) of the studies fitted
    """
    v = np.sort(np.asarray(vi, dtype=float).ravel())
    for key, prior in priors.items():
        if getattr(prior, "family", None) != "Jeffreys":
            continue
        built = np.sort(np.asarray(prior._vi, dtype=float))
        if built.shape != v.shape or not np.allclose(built, v, rtol=1e-12, atol=0.0):
            raise InputError(
                f"{key} ~ {prior!r} was built from the sampling variances of other studies ({built.size} "
                f"variances) than the {v.size} fitted here; the Jeffreys prior depends on the studies: build it "
                "for these, bayesma.priors.Jeffreys.from_vi(vi) of the studies fitted")


def rebuilt_for(priors: Any, vi: Any) -> dict[str, Any]:
    """*priors* with each Jeffreys prior rebuilt for the studies with variances *vi* (a subset refit).

    Parameters
    ----------
    priors : mapping
        The model's priors.
    vi : array-like
        Sampling variances of the studies of the subset.

    Returns
    -------
    dict
        The priors, Jeffreys priors replaced by ``Jeffreys.from_vi(vi)``.

    Examples
    --------
    >>> rebuilt_for({"tau": Jeffreys.from_vi([0.01, 0.02, 0.04])}, [0.01, 0.02])["tau"]
    Jeffreys(k=2)
    """
    return {key: Jeffreys.from_vi(vi) if getattr(p, "family", None) == "Jeffreys" else p
            for key, p in priors.items()}
