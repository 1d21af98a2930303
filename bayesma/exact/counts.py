"""Exact posterior of the binomial- and Poisson-normal models (:mod:`bayesma.models.counts`).

Given ``(mu, tau)`` the studies are independent and study i contributes
``L_i(mu, tau) = int g_i(theta) N(theta; mu, tau^2) dtheta``, where ``g_i`` is the probability of
its counts given its effect (:mod:`bayesma.exact.count_study`: closed form for single proportions
and rates, the fixed baseline integrated out for two-group tables and rates). ``L_i`` is computed
by adaptive Gauss-Hermite quadrature (16 nodes at the mode of the integrand), and the posterior of
``(log tau, mu)`` on the adaptive tensor Gauss-Legendre grid of :func:`bayesma.exact.grids._grid_2d`
(the one of the two-tau normal models); the common-effect model (``tau = 0``) on the 1-D grid
over mu. Reported exactly: ``mu`` and ``tau`` (their marginal cdfs on the grid), ``theta_new``
(a normal mixture over the nodes: given (mu, tau) it is N(mu, tau^2)) and each study's
``theta[<label>]`` (mean and sd from the per-node moments of its conditional posterior, quantiles
from its Gram-Charlier (Hermite) cdf at each node, summed over the grid).

Supported: intercept-only models (``model="random"`` or ``"common"``) of all four measures, with
fixed baselines for OR and IRR (a Normal prior on the baselines), Normal priors on mu and a proper
prior on tau. Refused (:func:`bayesma.exact.capability.exact_support` says why): moderators (the
coefficients are no longer a 1-D integral), random baselines (two more hyperparameters).
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

from .count_study import StudyCurves, log_marginal, study_curves
from .grids import _cdf_edges, _Grid1D, _grid_2d, _locate_1d, _panel_nodes, _prior_range
from .likelihood import _check_supported, _logpdf_tau_fn, _scale
from .quadrature import (
    _LEVELS_1D,
    _N_GL_1D,
    _N_GL_2D,
    _Q,
    LazyDensity,
    _lagrange_weights,
    _mixture_cdf,
    _mixture_moments,
    _mixture_pdf,
    _mixture_quantiles,
    hdi_from_quantiles,
)

__all__ = ["CountsExactPosterior", "counts_posterior", "log_ml_null_effect"]

_HERMITE = 12  # Hermite terms of each study's conditional cdf given (mu, tau)


class _MuAxis:
    """The prior of mu presented to the grid as a 'tau' whose log is ``u = (mu - centre) / scale``."""

    def __init__(self, prior: Any, centre: float, scale: float) -> None:
        self.prior, self.centre, self.scale = prior, centre, scale

    def ppf_tau(self, q: Any) -> np.ndarray:
        u = (np.asarray(self.prior.ppf(q), float) - self.centre) / self.scale
        return np.exp(np.clip(u, -10.0, 10.0))

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)


def _log_lik(curves: StudyCurves, mu: np.ndarray, tau: np.ndarray | None) -> np.ndarray:
    """log prod_i L_i(mu, tau) (tau None: the common-effect model, prod_i g_i(mu))."""
    out = np.zeros(np.shape(mu))
    for i in range(curves.k):
        out += curves(i, mu) if tau is None else log_marginal(curves, i, mu, tau)
    return out


@dataclass
class CountsExactPosterior:  # numpydoc ignore=PR01
    """Exact posterior of an intercept-only binomial- or Poisson-normal model.

    Follows :class:`bayesma.posterior.MarginalSource` (``names``, ``summary``, ``quantiles``,
    ``cdf``, ``hdi``, ``density``) and draws independent samples (:meth:`draws`). ``kind`` is
    ``"random"`` (grid over ``(log tau, mu)``) or ``"common"`` (grid over mu).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(xi=[3, 8, 5, 12], ni=[20, 30, 25, 40], measure="PLO", likelihood="binomial")
    >>> ep = bm.exact.exact_posterior(m)
    >>> ep.summary().loc[["mu", "tau"], "median"].round(2).tolist()
    [-1.17, 0.22]
    """

    spec: Any
    kind: str
    grid: Any
    curves: StudyCurves
    centre: float
    scale: float
    log_marginal_likelihood: float
    _cache: dict = field(default_factory=dict, repr=False)

    # -- names and nodes -------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        tau = ["tau"] if self.kind == "random" else []
        return ["mu", *tau, *(f"theta[{lab}]" for lab in self.spec.labels), "theta_new", "pooled"]

    def _mu(self, u: np.ndarray) -> np.ndarray:
        return self.centre + self.scale * np.asarray(u, float)

    def _nodes(self, cut: float = 1e-14) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights, mu, tau) at the grid's nodes of weight above *cut* times the largest."""
        if ("nodes", cut) not in self._cache:
            g = self.grid
            if self.kind == "common":
                w = g.weights[0]
                mu, tau = self._mu(g.u.reshape(-1)), np.zeros(w.size)
            else:
                W = g.weights
                keep = W > W.max() * cut
                i1, i2 = np.nonzero(keep)
                w, tau, mu = W[keep], np.exp(g.u1.reshape(-1)[i1]), self._mu(g.u2.reshape(-1)[i2])
            self._cache[("nodes", cut)] = (w / w.sum(), mu, tau)
        return self._cache[("nodes", cut)]

    def _theta_parts(self) -> tuple[np.ndarray, ...]:
        """Per study and node: the conditional mean, sd and Hermite cdf terms of theta_i given (mu, tau)."""
        if "theta" not in self._cache:
            w, mu, tau = self._nodes(1e-10)
            k = self.curves.k
            fac = np.array([math.factorial(j) for j in range(_HERMITE + 1)], float)
            mean, sd, centre, scale = (np.empty((k, w.size)) for _ in range(4))
            coef = np.empty((k, _HERMITE + 1, w.size))
            for i in range(k):
                _, (delta, s, z, lr) = log_marginal(self.curves, i, mu, tau, nodes=True)
                z_, lw = np.polynomial.hermite_e.hermegauss(z.size)
                r = np.exp(lr - lr.max(-1, keepdims=True)) * (lw / lw.sum())  # (J, n)
                a0 = r.sum(-1)
                he = np.polynomial.hermite_e.hermevander(z, _HERMITE)  # (n, H + 1)
                coef[i] = (r @ he / a0[:, None] / fac).T
                ez = (r * z).sum(-1) / a0
                ez2 = (r * z * z).sum(-1) / a0
                mean[i] = mu + delta + s * ez
                sd[i] = s * np.sqrt(np.maximum(ez2 - ez * ez, 0.0))
                centre[i], scale[i] = mu + delta, s
            self._cache["theta"] = (w, mean, sd, centre, scale, coef)
        return self._cache["theta"]

    def _theta_cdf(self, i: int, x: np.ndarray, pdf: bool = False):
        """P(theta_i <= x) (and with *pdf* its density) at each x: the nodes' Hermite cdfs, weighted."""
        w, _, _, centre, scale, coef = self._theta_parts()
        zx = (np.asarray(x, float)[..., None] - centre[i]) / scale[i]
        phi = np.exp(-0.5 * zx * zx) / math.sqrt(2 * math.pi)
        tail = np.polynomial.hermite_e.hermeval(zx, coef[i, 1:], tensor=False)
        cdf = (np.clip(special.ndtr(zx) - phi * tail, 0.0, 1.0) * w).sum(-1)
        if not pdf:
            return cdf
        dens = phi * np.polynomial.hermite_e.hermeval(zx, coef[i], tensor=False) / scale[i]
        return cdf, (np.maximum(dens, 0.0) * w).sum(-1)

    def _theta_quantiles(self, i: int, q: Sequence[float]) -> np.ndarray:
        """Newton's method from the normal approximation, safeguarded by bisection."""
        w, mean, sd, *_ = self._theta_parts()
        m, s = _mixture_moments(w[None], mean[i][None], sd[i][None])
        qs = np.asarray(q, float)
        lo = np.full(qs.shape, float(np.min(mean[i] - 40 * sd[i])) - 1e-9)
        hi = np.full(qs.shape, float(np.max(mean[i] + 40 * sd[i])) + 1e-9)
        x = float(m[0]) + float(s[0]) * special.ndtri(qs)
        for _ in range(80):
            F, f = self._theta_cdf(i, x, pdf=True)
            lo, hi = np.where(F < qs, x, lo), np.where(F > qs, x, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = (F - qs) / f
            new = x - step
            bad = ~np.isfinite(new) | (new < lo) | (new > hi)
            if not bad.any() and np.all(np.abs(step) < 1e-12 * float(s[0])):
                return new
            x = np.where(bad, 0.5 * (lo + hi), new)
        return x

    def _study(self, name: str) -> int | None:
        if not (name.startswith("theta[") and name.endswith("]")):
            return None
        labels = [str(v) for v in self.spec.labels]
        if name[6:-1] not in labels:
            raise UnknownParameterError(f"no study {name[6:-1]!r}")
        return labels.index(name[6:-1])

    def _mixture(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """theta_new (and, with tau = 0, mu's stand-ins) as a normal mixture over the nodes; else None."""
        if name == "theta_new" and self.kind == "random":
            w, mu, tau = self._nodes()
            return w, mu, tau
        return None

    def _check(self, name: str) -> str:
        if name not in self.names:
            raise UnknownParameterError(f"no parameter {name!r} in the exact posterior of this count model; "
                                        f"it has {self.names[:3]}...")
        if name == "pooled" or (self.kind == "common" and (name == "theta_new" or name.startswith("theta["))):
            return "mu"  # with tau = 0 every study effect (and a new study's) is mu
        return name

    # -- one quantity ----------------------------------------------------------------
    def quantiles(self, name: str, q: Sequence[float] | np.ndarray) -> np.ndarray:
        """Posterior quantiles of ``mu``, ``tau``, ``theta[<label>]``, ``theta_new`` or ``pooled``."""
        qs = [float(v) for v in np.atleast_1d(q)]
        name = self._check(name)
        mix = self._mixture(name)
        if mix is not None:
            return np.asarray(_mixture_quantiles(*mix, tuple(qs)), float)
        i = self._study(name)
        if i is not None:
            return self._theta_quantiles(i, qs)
        g = self.grid
        if self.kind == "common":
            return self._mu(g.u_quantiles(np.asarray(qs))[0])
        if name == "tau":
            return np.exp(g.u_quantiles(0, qs))
        return self._mu(g.u_quantiles(1, qs))

    def cdf(self, name: str, x: float) -> float:
        """Posterior ``P(name <= x)``."""
        name = self._check(name)
        mix = self._mixture(name)
        if mix is not None:
            return float(_mixture_cdf(float(x), *mix))
        i = self._study(name)
        if i is not None:
            return float(self._theta_cdf(i, np.asarray(float(x))))
        if name == "tau":
            return 0.0 if x <= 0 else float(self.grid.tau_cdf(0, float(x)))
        u = float(np.clip((float(x) - self.centre) / self.scale, -700.0, 700.0))
        if self.kind == "common":
            return float(min(1.0, self.grid.tau_cdf(math.exp(u))[0]))
        return float(self.grid.tau_cdf(1, math.exp(u)))

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        """Median and equal-tailed interval."""
        lo, med, hi = self.quantiles(name, [(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2])
        return float(med), float(lo), float(hi)

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        """Shortest interval from the quantile function (unimodal marginals)."""
        return hdi_from_quantiles(lambda p: self.quantiles(name, p), prob)

    def prob(self, name: str = "mu", threshold: float = 0.0) -> float:
        """Posterior probability that *name* exceeds *threshold*."""
        return 1.0 - self.cdf(name, threshold)

    def density(self, name: str, x: Any) -> np.ndarray:
        """Posterior density of ``mu``, ``tau`` or ``theta_new`` (KeyError for the study effects)."""
        x = np.asarray(x, float)
        name = self._check(name)
        mix = self._mixture(name)
        if mix is not None:
            return _mixture_pdf(x, *mix)
        if name not in ("mu", "tau"):
            raise KeyError(f"no exact density for {name!r}")
        g = self.grid
        if self.kind == "common":
            u, d, e = g.u[0], g.dens[0], g.edges[0]
        else:
            u, _, d, e = g.marginal(0 if name == "tau" else 1)
        ux = (np.log(np.maximum(x, 1e-300)) if name == "tau" else (x - self.centre) / self.scale).reshape(-1)
        j = np.clip(np.searchsorted(e, ux, side="right") - 1, 0, u.shape[0] - 1)
        h = (e[j + 1] - e[j]) / 2.0
        t = (ux - e[j]) / np.where(h > 0, h, 1.0) - 1.0
        val = np.maximum((_lagrange_weights(np.clip(t, -1, 1), g.n) * d[j]).sum(-1), 0.0)
        val = val / (np.maximum(x.reshape(-1), 1e-300) if name == "tau" else self.scale)
        return np.where((ux >= e[0]) & (ux <= e[-1]), val, 0.0).reshape(x.shape)

    def _moments(self, name: str) -> tuple[float, float]:
        mix = self._mixture(name)
        if mix is not None:
            m, s = _mixture_moments(mix[0][None], mix[1][None], mix[2][None])
            return float(m[0]), float(s[0])
        i = self._study(name)
        if i is not None:
            w, mean, sd, *_ = self._theta_parts()
            m, s = _mixture_moments(w[None], mean[i][None], sd[i][None])
            return float(m[0]), float(s[0])
        w, mu, tau = self._nodes()
        val = tau if name == "tau" else mu
        avg = float(w @ val)
        return avg, float(np.sqrt(max(float(w @ (val - avg) ** 2), 0.0)))

    def summary(self, theta: bool = True, prob: float = 0.95) -> pd.DataFrame:
        """Exact summaries: mean, sd, median, eti_lower, eti_upper of every quantity (effect scale)."""
        qs = _Q if prob == 0.95 else ((1 - prob) / 2, 0.5, 1 - (1 - prob) / 2)
        key = ("summary", theta, float(prob))
        if key not in self._cache:
            rows = {}
            for name in self.names:
                if name == "pooled" or (name.startswith("theta[") and not theta):
                    continue
                base = self._check(name)
                lo, med, hi = self.quantiles(base, qs)
                rows[name] = (*self._moments(base), med, lo, hi)
            self._cache[key] = pd.DataFrame.from_dict(
                rows, orient="index", columns=["mean", "sd", "median", "eti_lower", "eti_upper"]).astype(float)
        return self._cache[key].copy()

    # -- draws ---------------------------------------------------------------------
    def draws(self, n: int, rng: np.random.Generator, theta: bool = True) -> dict[str, np.ndarray]:
        """Independent draws: (tau, mu) by inverting the grid's cdfs (mu's marginal, then tau given mu),
        each study's effect given (mu, tau) by inverting its conditional cdf on a grid, a new study's
        effect from N(mu, tau^2)."""
        g = self.grid
        if self.kind == "common":
            mu = self._mu(g.u_quantiles(rng.random(n)[None])[0])
            out = {"mu": mu, "theta_new": mu.copy()}
            if theta:
                out["theta"] = np.repeat(mu[:, None], self.curves.k, axis=1)
            return out
        u1s, u2s = g.draw(rng.random(n), rng)
        tau, mu = np.exp(u1s), self._mu(u2s)
        out = {"mu": mu, "tau": tau, "theta_new": mu + tau * rng.standard_normal(n)}
        if theta:
            out["theta"] = np.column_stack([_draw_theta(self.curves, i, mu, tau, rng) for i in range(self.curves.k)])
        return out


def _draw_theta(curves: StudyCurves, i: int, mu: np.ndarray, tau: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """theta_i given (mu, tau) and the study, by inverting its density on 161 points of the Laplace scale."""
    from .count_study import centring

    delta, P = centring(curves, i, mu, tau)
    sd = 1.0 / np.sqrt(P)
    z = np.linspace(-9.0, 9.0, 161)
    off = delta[:, None] + sd[:, None] * z
    lf = curves(i, mu[:, None] + off) - 0.5 * (off / tau[:, None]) ** 2
    f = np.exp(lf - lf.max(-1, keepdims=True))
    cdf = np.concatenate([np.zeros((mu.size, 1)), np.cumsum(0.5 * (f[:, 1:] + f[:, :-1]), -1)], -1)
    cdf /= cdf[:, -1:]
    u = rng.random(mu.size)
    j = np.clip((cdf < u[:, None]).sum(-1) - 1, 0, z.size - 2)
    rows = np.arange(mu.size)
    c0, c1 = cdf[rows, j], cdf[rows, j + 1]
    zz = z[j] + (z[1] - z[0]) * np.clip((u - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0, 1.0)
    return mu + delta + sd * zz


def _joint_density(curves: StudyCurves, centre: float, scale: float, m0: float, s0: float, tau_prior: Any):
    """The log posterior density of (log tau, standardised mu) (a LazyDensity factory: picklable)."""
    lp_tau, log_scale = _logpdf_tau_fn(tau_prior), math.log(scale)

    def logf2(u1, u2, full):
        tau, mu = np.exp(u1)[:, None], (centre + scale * u2)[None, :]
        T, M = np.broadcast_arrays(tau, mu)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp = (lp_tau(np.exp(u1)) + u1)[:, None] - 0.5 * ((mu - m0) / s0) ** 2
        lp = lp - math.log(s0 * math.sqrt(2 * math.pi)) + log_scale
        f = np.where(np.isfinite(lp), _log_lik(curves, M, T) + lp, -np.inf)
        return (f, None, None) if full else f

    return logf2


def counts_posterior(spec: Any, n: int | None = None) -> CountsExactPosterior:
    """Integrate the posterior of an intercept-only binomial- or Poisson-normal model (see the module).

    Parameters
    ----------
    spec : CountsSpec
        The model (``MetaAnalysis(..., likelihood="binomial" | "poisson").spec``).
    n : int, optional
        Gauss-Legendre nodes per panel (default 12 for the common-effect model, 7 per axis).

    Returns
    -------
    CountsExactPosterior
    """
    _check_supported(spec)
    curves = _curves(spec)
    prec = float(curves.curv.sum())
    centre = float((curves.curv * curves.mode).sum() / prec)
    spread = float(np.sqrt((curves.curv * (curves.mode - centre) ** 2).sum() / prec))
    scale = float(np.sqrt(1.0 / prec + spread**2))
    mu_prior = spec.location_prior(0)
    m0, s0 = float(mu_prior.params["mu"]), float(mu_prior.params["sigma"])
    log_scale = math.log(scale)

    if spec.model == "common":
        def logf(u):
            mu = centre + scale * u
            return _log_lik(curves, mu, None) - 0.5 * ((mu - m0) / s0) ** 2 - math.log(s0 * math.sqrt(2 * math.pi)) \
                + log_scale

        lo, hi, floor, ceil = (np.array([v]) for v in (-10.0, 10.0, -40.0, 40.0))
        u2, f2 = _locate_1d(logf, lo, hi, floor, ceil)
        edges = _cdf_edges(u2, f2, _LEVELS_1D)
        U, WQ = _panel_nodes(edges, n or _N_GL_1D)
        P, nn = U.shape[1], U.shape[2]
        f = logf(U.reshape(1, -1))
        fmax = float(f.max())
        dens = np.exp(f - fmax).reshape(1, P, nn)
        Z = float((WQ * dens).sum())
        grid = _Grid1D(u=U, wq=WQ, dens=dens / Z, edges=edges, atom=np.zeros(1), logml=np.array([fmax + math.log(Z)]),
                       b=None, V=None, b0=None, V0=None, n=nn)
        return CountsExactPosterior(spec, "common", grid, curves, centre, scale, float(grid.logml[0]))

    logf2 = LazyDensity(_joint_density, curves, centre, scale, m0, s0, spec.priors["tau"])
    gr = _grid_2d(logf2, (spec.priors["tau"], _MuAxis(mu_prior, centre, scale)), (_tau_scale(spec), 1.0),
                  n=n or _N_GL_2D)
    return CountsExactPosterior(spec, "random", gr, curves, centre, scale, gr.logml)


def _curves(spec: Any) -> StudyCurves:
    return study_curves(spec.counts, np.asarray(spec.yi, float), np.asarray(spec.vi, float),
                        spec.priors.get("baseline"))


def _tau_scale(spec: Any) -> float:
    y = np.nan_to_num(np.asarray(spec.yi, float))[None]
    return float(_scale(y, np.nan_to_num(np.asarray(spec.vi, float), nan=1.0)[None])[0])


def log_ml_null_effect(spec: Any) -> float:
    """``log p(y | mu = 0)`` of an intercept-only count model: ``sum_i log g_i(0)`` with tau = 0, else
    the 1-D integral over log tau of ``prod_i L_i(0, tau)`` under tau's prior (the adaptive 1-D rule
    of the normal model, with the prior mass below its grid as an atom at tau = 0).

    Parameters
    ----------
    spec : CountsSpec
        The model.

    Returns
    -------
    float
    """
    _check_supported(spec)
    curves = _curves(spec)
    at0 = float(sum(float(curves(i, np.zeros(1))[0]) for i in range(curves.k)))
    if spec.model == "common":
        return at0
    prior = spec.priors["tau"]
    lp_tau = _logpdf_tau_fn(prior)

    def logf(u):
        tau = np.exp(u)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lp = lp_tau(tau) + u
        return np.where(np.isfinite(lp), _log_lik(curves, np.zeros_like(u), tau) + lp, -np.inf)

    lo, hi, floor, ceil = _prior_range(prior, np.array([_tau_scale(spec)]))
    u2, f2 = _locate_1d(logf, lo, hi, floor, ceil)
    edges = _cdf_edges(u2, f2, _LEVELS_1D)
    U, WQ = _panel_nodes(edges, _N_GL_1D)
    f = logf(U.reshape(1, -1))
    fmax = float(f.max())
    with np.errstate(divide="ignore"):
        below = float(np.asarray(prior.cdf_tau(math.exp(float(edges[0, 0])))))
    total = float((WQ.reshape(-1) * np.exp(f[0] - fmax)).sum()) + math.exp(at0 - fmax) * below
    return fmax + math.log(total)
