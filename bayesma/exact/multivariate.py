"""Exact posterior of the multivariate model across outcomes with compound symmetry (``struct="CS"``).

Study j's true effects over the outcomes are ``N(X_j beta, tau^2 [(1 - rho) I + rho 1 1'])`` and
its effects ``y_j ~ N(X_j beta, V_j + tau^2 (1 - rho) I + tau^2 rho 1 1')`` (one effect per outcome;
``X`` is the outcome indicators, ``beta`` the means ``mu[<outcome>]``, or with ``mods=`` any design
of full column rank, ``beta`` its coefficients ``beta[<name>]``):
the CHE covariance with ``tau_b^2 = tau^2 rho`` (negative when rho < 0) and
``tau_w^2 = tau^2 (1 - rho)``. Given ``(tau, rho)`` the means integrate out in closed form
(normal priors); the 2-D posterior of ``(log tau, z)``, ``rho = lo + (hi - lo) expit(z)`` over the
support ``(lo, hi)`` of rho's prior, is integrated on the adaptive tensor Gauss-Legendre grid of
:func:`bayesma.exact.grids._grid_2d`, the likelihood at each node from the rotated clusters of
:mod:`bayesma.exact.che` (linear in the number of studies). Every reported number follows:
``mu[<outcome>]`` (or ``beta[<name>]``) and ``theta_new[<outcome>]`` (without moderators only: with
them a new study's effect needs its moderator values, ``post.predict(newmods=)``) are normal mixtures
over the nodes, ``tau`` and ``rho`` have their marginal cdfs on the grid, the study effects are normal
mixtures too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from bayesma.errors import UnknownParameterError

from .che import draw_theta_rotated, rotated_clusters, theta_rotated
from .grids import _grid_2d
from .likelihood import _CHUNK, _finish, _location_prior, _logpdf_tau_fn, _scale
from .quadrature import (
    _Q,
    LazyDensity,
    _mixture_cdf,
    _mixture_moments,
    _mixture_pdf,
    _mixture_quantiles,
)

__all__ = ["MultivariateExactPosterior", "multivariate_posterior"]


def _ll_pairs(t2b: np.ndarray, t2w: np.ndarray, cl: Any, loc: Any):
    """log p(y | tau_b^2, tau_w^2) (means integrated out) at paired values (N,), with b (N, p), V (N, p, p)."""
    N, k = t2b.size, cl.y.size
    p = loc.p
    ll, b, V = np.empty(N), np.empty((N, p)), np.empty((N, p, p))
    XX = (cl.X[:, :, None] * cl.X[:, None, :]).reshape(k, p * p)
    step = max(1, int(_CHUNK // max(k * p, 1)))
    for s0 in range(0, N, step):
        sl = slice(s0, s0 + step)
        d = cl.v[None] + t2w[sl, None]
        w = 1.0 / d
        s, r, ax = cl.block_sums(w)
        tb = t2b[sl, None]
        c = tb / (1.0 + tb * s)
        with np.errstate(invalid="ignore", divide="ignore"):
            part = np.log(d).sum(-1) + np.log1p(tb * s).sum(-1) + w @ (cl.y * cl.y) - (c * r * r).sum(-1)
        A = (w @ XX).reshape(-1, p, p) - np.einsum("nj,njp,njq->npq", c, ax, ax)
        h = w @ (cl.y[:, None] * cl.X) - np.einsum("nj,njp,nj->np", c, ax, r)
        ll[sl], b[sl], V[sl] = _finish(part, A, h, k, loc)
    return np.where(np.isfinite(ll), ll, -np.inf), b, V


class _ZPrior:
    """The prior of z = logit((rho - lo) / (hi - lo)) presented to the grid as a 'tau' with u = z."""

    def __init__(self, prior: Any, lo: float, hi: float) -> None:
        self.prior, self.lo, self.hi = prior, lo, hi

    def ppf_tau(self, q: Any) -> np.ndarray:
        x = (np.asarray(self.prior.ppf(q), float) - self.lo) / (self.hi - self.lo)
        return np.exp(special.logit(np.clip(x, 1e-12, 1 - 1e-12)))

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


@dataclass
class MultivariateExactPosterior:  # numpydoc ignore=PR01
    """Exact posterior of a CS multivariate model: quadrature over (tau, rho), mixtures for the rest.

    Follows :class:`bayesma.posterior.MarginalSource` (``names``, ``summary``, ``quantiles``, ``cdf``,
    ``hdi``, ``density``) and draws independent samples (:meth:`draws`).

    Examples
    --------
    >>> ep.summary().loc[["tau", "rho"]]                                          # doctest: +SKIP
    """

    spec: Any
    grid: Any
    cl: Any
    loc: Any
    lo: float
    hi: float
    log_marginal_likelihood: float
    kind: str = "multivariate"
    _cache: dict = field(default_factory=dict, repr=False)

    # -- nodes ---------------------------------------------------------------------
    def _rho(self, z: np.ndarray) -> np.ndarray:
        return self.lo + (self.hi - self.lo) * special.expit(z)

    def _nodes(self):
        if "nodes" not in self._cache:
            g = self.grid
            W = g.weights
            keep = W > W.max() * 1e-14
            i1, i2 = np.nonzero(keep)
            tau, rho = np.exp(g.u1.reshape(-1)[i1]), self._rho(g.u2.reshape(-1)[i2])
            w = W[keep] / W[keep].sum()
            self._cache["nodes"] = (w, tau, rho, g.b[keep], g.V[keep])
        return self._cache["nodes"]

    @property
    def outcomes(self) -> list[str]:
        return list(self.spec.outcome_names)

    @property
    def coefficients(self) -> list[str]:
        """The rows of the means: ``mu[<outcome>]``, or ``beta[<name>]`` with moderators."""
        if self.spec.is_regression:
            return [f"beta[{c}]" for c in self.spec.coef_names]
        return [f"mu[{o}]" for o in self.outcomes]

    @property
    def names(self) -> list[str]:
        new = [] if self.spec.is_regression else [f"theta_new[{o}]" for o in self.outcomes]
        return self.coefficients + ["tau", "rho"] + [f"theta[{lab}]" for lab in self.spec.labels] + new

    def _theta(self):
        if "theta" not in self._cache:
            w, tau, rho, b, V = self._nodes()
            m, s2 = theta_rotated(self.cl, tau**2 * rho, tau**2 * (1 - rho), b, V)
            self._cache["theta"] = (w, m, np.sqrt(np.maximum(s2, 1e-300)))
        return self._cache["theta"]

    def _mixture(self, name: str):
        w, tau, rho, b, V = self._nodes()
        if name in self.coefficients:
            j = self.coefficients.index(name)
            return w, b[:, j], np.sqrt(V[:, j, j])
        if name.startswith("theta_new[") and not self.spec.is_regression:
            o = name[name.index("[") + 1:-1]
            if o not in self.outcomes:
                raise KeyError(f"no outcome {o!r}; the outcomes are {self.outcomes}")
            j = self.outcomes.index(o)
            return w, b[:, j], np.sqrt(V[:, j, j] + tau**2)
        if name.startswith("theta["):
            labels = [str(x) for x in self.spec.labels]
            i = labels.index(name[6:-1])
            tw, m, s = self._theta()
            return tw, m[i], s[i]
        if name in ("tau", "rho"):
            return None
        raise UnknownParameterError(f"no parameter {name!r} in the exact posterior; it has {self.names[:4]}...")

    # -- one quantity -------------------------------------------------------------
    def _axis(self, name: str) -> int:
        return 0 if name == "tau" else 1

    def _to_value(self, name: str, u: np.ndarray) -> np.ndarray:
        return np.exp(u) if name == "tau" else self._rho(u)

    def quantiles(self, name: str, q: Sequence[float] | np.ndarray) -> np.ndarray:
        """Posterior quantiles of one quantity (``mu[<o>]`` or ``beta[<name>]``, ``tau``, ``rho``,
        ``theta[<label>]``, ``theta_new[<o>]``)."""
        qs = tuple(float(v) for v in np.atleast_1d(q))
        mix = self._mixture(name)
        if mix is not None:
            w, mean, sd = mix
            return np.asarray(_mixture_quantiles(w, mean, sd, qs), dtype=float)
        return self._to_value(name, self.grid.u_quantiles(self._axis(name), qs))

    def cdf(self, name: str, x: float) -> float:
        """Posterior ``P(name <= x)``."""
        mix = self._mixture(name)
        if mix is not None:
            return float(_mixture_cdf(float(x), *mix))
        if name == "tau":
            return self.grid.tau_cdf(0, float(x))
        t = (float(x) - self.lo) / (self.hi - self.lo)
        if t <= 0 or t >= 1:
            return float(t >= 1)
        return self.grid.tau_cdf(1, math.exp(special.logit(t)))

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        """Median and equal-tailed interval."""
        lo, med, hi = self.quantiles(name, [(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2])
        return float(med), float(lo), float(hi)

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        """Shortest interval from the quantile function (unimodal marginals)."""
        p = np.linspace(0.0, 1.0 - prob, 201)[1:-1]
        lo, hi = self.quantiles(name, p), self.quantiles(name, p + prob)
        i = int(np.argmin(hi - lo))
        return float(lo[i]), float(hi[i])

    def density(self, name: str, x: Any) -> np.ndarray:
        """Posterior density of a mean or a new study's effect (normal mixtures)."""
        mix = self._mixture(name)
        if mix is None:
            raise KeyError(f"no exact density for {name!r}")
        return _mixture_pdf(np.asarray(x, float), *mix)

    def _moments(self, name: str) -> tuple[float, float]:
        mix = self._mixture(name)
        if mix is not None:
            mm, ss = _mixture_moments(mix[0][None], np.atleast_1d(mix[1])[None], np.atleast_1d(mix[2])[None])
            return float(np.ravel(mm)[0]), float(np.ravel(ss)[0])
        u, wq, d, _ = self.grid.marginal(self._axis(name))
        pw = (wq * d).reshape(-1)
        pw = pw / pw.sum()
        val = self._to_value(name, u.reshape(-1))
        mean = float(pw @ val)
        return mean, float(np.sqrt(pw @ (val - mean) ** 2))

    def summary(self, theta: bool = True, prob: float = 0.95) -> pd.DataFrame:
        """Exact summaries: mean, sd, median, eti_lower, eti_upper of every quantity."""
        qs = _Q if prob == 0.95 else ((1 - prob) / 2, 0.5, 1 - (1 - prob) / 2)
        key = ("summary", theta, float(prob))
        if key not in self._cache:
            rows = {}
            for name in self.names:
                if name.startswith("theta[") and not theta:
                    continue
                lo, med, hi = self.quantiles(name, qs)
                rows[name] = (*self._moments(name), med, lo, hi)
            self._cache[key] = pd.DataFrame.from_dict(
                rows, orient="index", columns=["mean", "sd", "median", "eti_lower", "eti_upper"]).astype(float)
        return self._cache[key].copy()

    # -- draws --------------------------------------------------------------------
    def draws(self, n: int, rng: np.random.Generator, theta: bool = True) -> dict[str, np.ndarray]:
        """Independent draws: (tau, rho) by inverting the grid's cdfs, then the means (``mu``, or ``beta``
        with moderators), the study effects (Matheron's rule, :mod:`bayesma.exact.che`) and (without
        moderators) a new study's effects."""
        g = self.grid
        u1s, u2s = g.draw(rng.random(n), rng)
        tau, rho = np.exp(u1s), self._rho(u2s)
        _, b, V = _ll_pairs(tau**2 * rho, tau**2 * (1 - rho), self.cl, self.loc)
        coef = b + np.einsum("npq,nq->np", np.linalg.cholesky(V), rng.standard_normal(b.shape))
        out = {"tau": tau, "rho": rho}
        if self.spec.is_regression:
            out["beta"] = coef
        else:
            m = len(self.outcomes)
            omega = (1 - rho)[:, None, None] * np.eye(m) + rho[:, None, None]
            z = rng.standard_normal((n, m))
            out.update(mu=coef, theta_new=coef + tau[:, None] * np.einsum("npq,nq->np", np.linalg.cholesky(omega), z))
        if theta:
            xb = coef @ np.asarray(self.spec.X, dtype=float).T
            out["theta"] = draw_theta_rotated(self.cl, tau**2 * rho, tau**2 * (1 - rho), xb, rng)
        return out


def _joint_density(cl: Any, loc: Any, rho_prior: Any, lo: float, hi: float, tau_prior: Any):
    """The log posterior density of (log tau, logit rho) (a LazyDensity factory: picklable)."""
    lp_tau = _logpdf_tau_fn(tau_prior)

    def logf2(u1, u2, full):
        tau2 = np.exp(2 * u1)[:, None]
        x = special.expit(u2)[None]
        rho = lo + (hi - lo) * x
        t2b, t2w = (tau2 * rho).reshape(-1), (tau2 * (1 - rho)).reshape(-1)
        ll, b, V = _ll_pairs(t2b, t2w, cl, loc)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = (lp_tau(np.exp(u1))[:, None] + u1[:, None] + np.asarray(rho_prior.logpdf(rho), float)
                  + np.log((hi - lo) * x * (1 - x)))
        f = np.where(np.isfinite(lp), ll.reshape(lp.shape) + lp, -np.inf)
        if not full:
            return f
        shape = lp.shape
        return f, b.reshape(shape + b.shape[1:]), V.reshape(shape + V.shape[1:])

    return logf2


def multivariate_posterior(spec: Any, n: int | None = None) -> MultivariateExactPosterior:
    """Integrate the posterior of a CS multivariate model (see the module).

    Parameters
    ----------
    spec : DependentSpec
        ``struct="CS"``.
    n : int, optional
        Gauss-Legendre nodes per panel and axis (default 8).

    Returns
    -------
    MultivariateExactPosterior
    """
    dep = spec.dependence
    cl = rotated_clusters(spec.yi, spec.X, spec.cluster_index, dep.blocks)
    loc = _location_prior(spec)
    rho_prior = spec.priors["rho"]
    lo, hi = (float(v) for v in rho_prior.support())
    logf2 = LazyDensity(_joint_density, cl, loc, rho_prior, lo, hi, spec.priors["tau"])
    gr = _grid_2d(logf2, (spec.priors["tau"], _ZPrior(rho_prior, lo, hi)), (float(_scale(spec.yi, spec.vi)), 1.0),
                  n=n or 8)
    return MultivariateExactPosterior(spec, gr, cl, loc, lo, hi, gr.logml)
