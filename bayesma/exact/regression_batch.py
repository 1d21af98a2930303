"""Exact summaries of many meta-regressions at once: one design matrix per data set.

:func:`bayesma.fit_many` with ``mods=`` fits one meta-regression per group; the groups that share
their number of studies k and of coefficients p are stacked here, and every step of the one-group
engine (:func:`bayesma.exact.grids.integrate`, :meth:`bayesma.exact.ExactPosterior.summary`) runs
on whole arrays: for each value of tau on each data set's own adaptive grid, the generalised least
squares estimate of beta and its conditional normal posterior are p x p solves, stacked with numpy.
The numbers are those of fitting each data set alone (the same grids, rules and tail corrections,
summed in another order: the tests compare each group with its own fit to 1e-10).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from bayesma.errors import InputError
from bayesma.priors.improper import moment_flags

from .grids import _Grid1D, grid_log_tau, search_range
from .likelihood import _finish, _logpdf_tau_fn, _NormalRows, _scale
from .quadrature import _BATCH, _LEVELS_1D, _LOG2PI, _N_GL_1D, _Q, _mixture_moments, _mixture_quantiles

__all__ = ["regression_summaries", "ROW_COLUMNS"]

#: the columns of each summary row (as :meth:`bayesma.exact.ExactPosterior.summary`)
ROW_COLUMNS = ("mean", "sd", "median", "eti_lower", "eti_upper")


class _TauRows:
    """The heterogeneity prior of each data set: one prior for all, or HalfNormal priors of per-row scales
    (the data-scaled defaults), with the densities and quantiles the 1-D grid needs, row by row."""

    def __init__(self, prior: Any, B: int):
        self.B = B
        if hasattr(prior, "family"):
            self.shared, self.sigma = prior, None
        else:
            priors = list(prior)
            if len(priors) != B or any(p.family != "HalfNormal" for p in priors):
                raise InputError("per-data-set tau priors must all be HalfNormal (of any scale), one per data set")
            self.shared = None
            self.sigma = np.array([p.params["sigma"] for p in priors], dtype=float)

    def rows(self, sl: slice) -> _TauRows:
        out = object.__new__(_TauRows)
        out.B, out.shared = len(range(*sl.indices(self.B))), self.shared
        out.sigma = None if self.sigma is None else self.sigma[sl]
        return out

    def logpdf(self):
        """log density of tau at (B, G) values (as :func:`bayesma.exact.likelihood._logpdf_tau_fn`)."""
        if self.shared is not None:
            return _logpdf_tau_fn(self.shared)
        s = self.sigma[:, None]
        c = math.log(2.0) - 0.5 * _LOG2PI - np.log(s)
        return lambda t: c - 0.5 * (t / s) ** 2

    def log_quantiles(self) -> tuple[np.ndarray, np.ndarray]:
        """log of the 1e-8 and 1 - 1e-8 quantiles of tau, per row."""
        with np.errstate(divide="ignore"):
            if self.shared is not None:
                lo, hi = (float(np.log(q)) for q in self.shared.ppf_tau([1e-8, 1.0 - 1e-8]))
                return np.full(self.B, lo), np.full(self.B, hi)
            return (np.log(stats.halfnorm.ppf(1e-8, scale=self.sigma)),
                    np.log(stats.halfnorm.ppf(1.0 - 1e-8, scale=self.sigma)))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        if self.shared is not None:
            return np.asarray(self.shared.cdf_tau(x), dtype=float)
        return stats.halfnorm.cdf(x, scale=self.sigma)

    def support(self) -> tuple[float, float]:
        return self.shared.support() if self.shared is not None else (0.0, math.inf)

    def first(self) -> Any:
        """A prior of the family (for the rule of which moments exist, the same for every scale)."""
        from bayesma import priors as pr

        if self.shared is not None:
            return self.shared
        assert self.sigma is not None  # one HalfNormal scale per row when no prior is shared
        return pr.HalfNormal(float(self.sigma[0]))


def _loglik_rows(t2: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray, prior: _NormalRows):
    """:func:`bayesma.exact.likelihood._loglik_re` with one design matrix per data set: X (B, k, p)."""
    B, k, p = X.shape
    d = v[:, None, :] + t2[:, :, None]
    w = 1.0 / d
    part = np.log(d).sum(-1) + np.matmul(w, (y * y)[:, :, None])[..., 0]
    XX = (X[:, :, :, None] * X[:, :, None, :]).reshape(B, k, p * p)
    A = np.matmul(w, XX).reshape(B, -1, p, p)
    h = np.matmul(w, y[:, :, None] * X)
    return _finish(part, A, h, k, prior)


def _prior_range(tau: _TauRows, scale: np.ndarray):
    """:func:`bayesma.exact.grids._prior_range` with per-row prior quantiles."""
    plo, phi = tau.log_quantiles()
    return search_range(plo, phi, tau.support(), scale)


def _grid_rows(y, v, X, loc: _NormalRows, tau: _TauRows, n: int = _N_GL_1D) -> _Grid1D:
    """:func:`bayesma.exact.grids._grid_1d` with one design matrix and one tau prior per data set."""
    return grid_log_tau(lambda t2: _loglik_rows(t2, y, v, X, loc), _prior_range(tau, _scale(y, v)), tau,
                        tau.logpdf(), tau.cdf, n=n, levels=_LEVELS_1D)


def _mixture_rows(w: np.ndarray, m: np.ndarray, s: np.ndarray, qs) -> np.ndarray:
    """(B, R, 5) rows mean, sd, median, lower, upper of B x R normal mixtures: w (B, G), m and s (B, R, G)."""
    B, R, G = m.shape
    wr = np.broadcast_to(w[:, None, :], m.shape).reshape(B * R, G)
    mean, sd = _mixture_moments(w[:, None, :], m, s)
    q = _mixture_quantiles(wr, m.reshape(B * R, G), s.reshape(B * R, G), qs).reshape(B, R, 3)
    return np.stack([mean, sd, q[..., 1], q[..., 0], q[..., 2]], axis=-1)


def _tail_rows(out: np.ndarray, g: _Grid1D, flags: dict) -> None:
    """The analytic tail of tau beyond the grid and moments that do not exist, on the tau and theta_new
    rows (the last two), as :func:`bayesma.exact.moments.tail_adjusted_rows` with proper coefficient priors."""
    t2 = g.tail_moment(2.0)
    extra = np.where(np.isfinite(t2), t2, np.inf)
    for r, name, positive, add in ((-1, "theta_new", False, extra), (-2, "tau", True, None)):
        has_mean, has_sd = flags[name]
        if not has_mean:
            out[:, r, 0] = math.inf if positive else math.nan
        if not has_sd:
            out[:, r, 1] = math.inf
        elif add is not None:
            with np.errstate(over="ignore"):
                out[:, r, 1] = np.where(add != 0, np.sqrt(out[:, r, 1] ** 2 + add), out[:, r, 1])


def _summaries_block(y, v, X, loc: _NormalRows, tau: _TauRows | None, flags: dict, qs) -> np.ndarray:
    """Rows beta[0..p-1], (tau,) theta_new of B data sets of one k and p: (B, R, 5)."""
    B, k, p = X.shape
    if tau is None:  # common effect: the closed form
        _, b, V = _loglik_rows(np.zeros((B, 1)), y, v, X, loc)
        w, taus = np.ones((B, 1)), np.zeros((B, 1))
    else:
        g = _grid_rows(y, v, X, loc, tau)
        assert g.b is not None and g.V is not None and g.b0 is not None and g.V0 is not None  # a model with coefficients
        w = np.concatenate([g.weights, g.atom[:, None]], axis=1)
        b = np.concatenate([g.b, g.b0[:, None]], axis=1)
        V = np.concatenate([g.V, g.V0[:, None]], axis=1)
        taus = np.concatenate([g.tau, np.zeros((B, 1))], axis=1)
    sd = np.sqrt(np.einsum("bgjj->bgj", V))
    coef = _mixture_rows(w, b.transpose(0, 2, 1), sd.transpose(0, 2, 1), qs)
    x = X.mean(axis=1)  # the prediction row of theta_new: the column means of each design
    mean = np.einsum("bgp,bp->bg", b, x)
    var0 = np.einsum("bp,bgpq,bq->bg", x, V, x)
    new = _mixture_rows(w, mean[:, None], np.sqrt(var0 + taus**2)[:, None], qs)
    if tau is None:
        return np.concatenate([coef, new], axis=1)
    tq = g.tau_quantiles(qs)
    tm, ts = g.tau_moments()
    out = np.concatenate([coef, np.stack([tm, ts, tq[:, 1], tq[:, 0], tq[:, 2]], axis=-1)[:, None], new], axis=1)
    _tail_rows(out, g, flags)
    return out


def regression_summaries(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray,
    m0: np.ndarray,
    sd0: np.ndarray,
    tau_prior: Any | None,
    *,
    level: float = 0.95,
    chunk: int | None = None,
) -> np.ndarray:
    """Exact posterior summaries of B normal-normal meta-regressions of one size at once.

    Parameters
    ----------
    y, v : array_like, shape (B, k)
        Effects and sampling variances, one row per data set.
    X : array_like, shape (B, k, p)
        The design matrix of each data set (full column rank).
    m0, sd0 : array_like, shape (B, p)
        Means and standard deviations of the Normal priors of the coefficients (all proper).
    tau_prior : heterogeneity prior, a sequence of B HalfNormal priors, or None
        The prior of tau (one for all data sets, or one HalfNormal per data set); None for the
        common-effect model.
    level : float
        Probability of the equal-tailed intervals.
    chunk : int, optional
        Data sets per block (default: blocks of about 4e6 values).

    Returns
    -------
    numpy.ndarray, shape (B, R, 5)
        Per data set the rows ``beta[0]`` ... ``beta[p-1]``, ``tau`` (random effects only) and
        ``theta_new`` (a new study at the column means of X), columns :data:`ROW_COLUMNS`: the rows of :meth:`bayesma.exact.ExactPosterior.summary` of each
        data set fitted alone.

    Raises
    ------
    InputError
        Shapes that do not match, a non-positive prior sd, or per-row tau priors that are not all HalfNormal.

    Examples
    --------
    >>> import numpy as np
    >>> from bayesma import priors
    >>> X = np.stack([np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])] * 2)
    >>> out = regression_summaries(np.array([[0.1, 0.3, 0.2, 0.5], [0.0, 0.1, 0.1, 0.3]]), np.full((2, 4), 0.02), X,
    ...                            np.zeros((2, 2)), np.ones((2, 2)), priors.HalfNormal(0.5))
    >>> out.shape                      # 2 data sets; beta[0], beta[1], tau, theta_new; 5 columns
    (2, 4, 5)
    """
    y, v, X = (np.asarray(a, dtype=float) for a in (y, v, X))
    m0, sd0 = np.asarray(m0, dtype=float), np.asarray(sd0, dtype=float)
    if y.ndim != 2 or v.shape != y.shape or X.shape[:2] != y.shape or X.ndim != 3 or m0.shape != (y.shape[0], X.shape[2]) \
            or sd0.shape != m0.shape:
        raise InputError(f"shapes do not match: y {y.shape}, v {v.shape}, X {X.shape}, m0 {m0.shape}, sd0 {sd0.shape}")
    if not np.all(sd0 > 0):
        raise InputError("the coefficients' prior sds must be positive (a flat prior is fitted one group at a time)")
    B, k, p = X.shape
    with np.errstate(over="ignore"):  # as _location_prior: the precision of a huge sd underflows to 0
        p0 = 1.0 / np.square(sd0)
    qs = _Q if level == 0.95 else ((1.0 - level) / 2.0, 0.5, 1.0 - (1.0 - level) / 2.0)  # as ExactPosterior.summary
    tau = None if tau_prior is None else _TauRows(tau_prior, B)
    flags = {} if tau is None else _flags(tau, k, p)
    size = chunk or max(1, int(_BATCH // (320 * k * max(p, 2))))
    out = np.empty((B, p + (1 if tau is None else 2), len(ROW_COLUMNS)))
    for s0 in range(0, B, size):
        sl = slice(s0, min(B, s0 + size))
        loc = _NormalRows(m0[sl], p0[sl])
        out[sl] = _summaries_block(y[sl], v[sl], X[sl], loc, None if tau is None else tau.rows(sl), flags, qs)
    return out


def _flags(tau: _TauRows, k: int, p: int) -> dict:
    """Which moments of tau and theta_new exist (:func:`bayesma.priors.improper.moment_flags`)."""
    from types import SimpleNamespace

    from bayesma import priors as pr

    spec = SimpleNamespace(priors={"tau": tau.first(), "mu": pr.Normal(0.0, 1.0)}, model="random", k=k,
                           coef_names=[f"c{j}" for j in range(p)], is_regression=True,
                           location_prior=lambda j: pr.Normal(0.0, 1.0))
    return moment_flags(spec)
