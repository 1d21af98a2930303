"""The conditional likelihood of a 2x2 table: Fisher's non-central hypergeometric distribution.

Given both margins of a table (n1 = a + b and n2 = c + d patients, m = a + c events), the
number of events ``a`` in group 1 has probability

    P(a | psi) = C(n1, a) C(n2, m - a) psi**a  /  sum_x C(n1, x) C(n2, m - x) psi**x,

psi the odds ratio, x over the support max(0, m - n2) ... min(n1, m). It does not depend on
the groups' baseline risks, which is why the conditional model (metafor's ``CM.EL``;
van Houwelingen, Zwinderman & Stijnen 1993) needs no study intercepts. In log psi it is an
exponential family: the score is ``a - E[X]`` and the information ``Var[X]``, both sums over
the support, which this module computes exactly (no approximation) and vectorised over
tables (the supports stored back to back).

The random-effects version integrates log psi_i = mu_i + u_i, u_i ~ N(0, tau^2), by adaptive
Gauss-Hermite quadrature (:func:`nch_marginal_loglik`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from bayesma.frequentist.glmm.likelihood import gauss_hermite

__all__ = ["NCHTables", "nch_logpmf", "nch_moments", "nch_marginal_loglik", "nch_mle"]

_LOG2PI = float(np.log(2 * np.pi))


class NCHTables:
    """The supports of k tables, stored back to back (one flat array, no padding).

    Parameters
    ----------
    a, b, c, d : numpy.ndarray, shape (k,)
        Cells of the tables (integers >= 0).

    Attributes
    ----------
    x : numpy.ndarray, shape (T,)
        Support points of all tables, table after table (T = total support size).
    logw : numpy.ndarray, shape (T,)
        log C(n1, x) + log C(n2, m - x).
    seg : numpy.ndarray, shape (T,)
        The table of each support point.
    starts : numpy.ndarray, shape (k,)
        Where each table's support starts in the flat arrays.
    a : numpy.ndarray, shape (k,)
    lo, hi : numpy.ndarray, shape (k,)
        Ends of each support.
    const : numpy.ndarray, shape (k,)
        log C(n1, a) + log C(n2, m - a).
    cells : tuple of numpy.ndarray
        The tables (a, b, c, d).
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> None:
        a, b, c, d = (np.asarray(v, dtype=float) for v in (a, b, c, d))
        n1, n2, m = a + b, c + d, a + c
        lo = np.maximum(0.0, m - n2)
        hi = np.minimum(n1, m)
        size = (hi - lo + 1).astype(int)
        self.starts = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(int)
        self.seg = np.repeat(np.arange(a.size), size)
        self.x = lo[self.seg] + (np.arange(int(size.sum())) - self.starts[self.seg])
        self.logw = _lchoose(n1[self.seg], self.x) + _lchoose(n2[self.seg], m[self.seg] - self.x)
        self.a, self.lo, self.hi = a, lo, hi
        self.cells = (a, b, c, d)
        self.const = _lchoose(n1, a) + _lchoose(n2, m - a)


def _lchoose(n: np.ndarray, r: np.ndarray) -> np.ndarray:
    return gammaln(n + 1) - gammaln(r + 1) - gammaln(n - r + 1)


_CUT = 50.0  # support points whose term is below the largest by more than this (e^-50) are left out


def _window(t: NCHTables, logpsi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The support points that matter for log odds ratios in each table's range of *logpsi*.

    The terms ``logw_x + theta x`` are log-concave in x with a mode that grows with theta, so a
    point left of the mode that is negligible at the smallest theta stays negligible at larger
    ones (and symmetrically on the right): two evaluations decide the window.
    """
    lo_t, hi_t = logpsi.min(axis=1), logpsi.max(axis=1)
    pos = np.arange(t.x.size)
    e_lo = t.logw + lo_t[t.seg] * t.x
    big_lo = e_lo >= np.maximum.reduceat(e_lo, t.starts)[t.seg] - _CUT
    e_hi = t.logw + hi_t[t.seg] * t.x
    big_hi = e_hi >= np.maximum.reduceat(e_hi, t.starts)[t.seg] - _CUT
    keep = (pos >= _first_index(big_lo, t)) & (pos <= _last_index(big_hi, t))
    idx = np.flatnonzero(keep)
    seg = t.seg[idx]
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    return idx, seg, starts


def _first_index(mask: np.ndarray, t: NCHTables) -> np.ndarray:
    """Per support point: the first index of its table where *mask* holds."""
    pos = np.where(mask, np.arange(mask.size), mask.size)
    first = np.minimum.reduceat(pos, t.starts)
    return first[t.seg]


def _last_index(mask: np.ndarray, t: NCHTables) -> np.ndarray:
    """Per support point: the last index of its table where *mask* holds."""
    pos = np.where(mask, np.arange(mask.size), -1)
    last = np.maximum.reduceat(pos, t.starts)
    return last[t.seg]


def _log_norm(t: NCHTables, logpsi: np.ndarray):
    """log of the normalising sum (k, Q), the normalised probabilities (Q, T') of the support
    points that matter, and those points (values, tables, table starts)."""
    idx, seg, starts = _window(t, logpsi)
    x = t.x[idx]
    e = t.logw[idx][None, :] + logpsi[seg].T * x[None, :]               # (Q, T')
    mx = np.maximum.reduceat(e, starts, axis=1)                          # (Q, k)
    p = np.exp(e - mx[:, seg])
    s = np.add.reduceat(p, starts, axis=1)
    return (mx + np.log(s)).T, p / s[:, seg], x, seg, starts


def nch_logpmf(t: NCHTables, logpsi: np.ndarray) -> np.ndarray:
    """log P(a_i | psi) for each table and each column of *logpsi*.

    Parameters
    ----------
    t : NCHTables
    logpsi : numpy.ndarray, shape (k,) or (k, Q)
        Log odds ratios.

    Returns
    -------
    numpy.ndarray, same shape as *logpsi*.
    """
    lp = np.asarray(logpsi, dtype=float)
    two = lp.reshape(lp.shape[0], -1)
    lz = _log_norm(t, two)[0]
    return (t.const[:, None] + t.a[:, None] * two - lz).reshape(lp.shape)


def nch_moments(t: NCHTables, logpsi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of X given psi (shape of *logpsi*, which is (k,) or (k, Q))."""
    lp = np.asarray(logpsi, dtype=float)
    two = lp.reshape(lp.shape[0], -1)
    _, p, x, seg, starts = _log_norm(t, two)
    mean = np.add.reduceat(p * x[None, :], starts, axis=1)               # (Q, k)
    var = np.add.reduceat(p * (x[None, :] - mean[:, seg]) ** 2, starts, axis=1)
    return mean.T.reshape(lp.shape), var.T.reshape(lp.shape)


def nch_mle(t: NCHTables) -> tuple[np.ndarray, np.ndarray]:
    """Each table's conditional maximum likelihood log odds ratio and its information.

    Returns
    -------
    logpsi : numpy.ndarray, shape (k,)
        -inf / +inf when ``a`` is at the low / high end of its support.
    info : numpy.ndarray, shape (k,)
        Var[X] at the estimate (0 where the estimate is infinite).
    """
    at_lo, at_hi = t.a <= t.lo, t.a >= t.hi
    inner = ~(at_lo | at_hi)
    lp = np.zeros(t.a.shape)
    ai = np.where(inner, t.a, 0.5)
    for _ in range(200):
        mean, var = nch_moments(t, lp)
        step = np.where(inner, (ai - mean) / np.maximum(var, 1e-300), 0.0)
        step = np.clip(step, -2.0, 2.0)
        lp = lp + step
        if np.max(np.abs(step)) < 1e-12:
            break
    _, info = nch_moments(t, lp)
    lp = np.where(at_lo, -np.inf, np.where(at_hi, np.inf, lp))
    return lp, np.where(inner, info, 0.0)


def nch_marginal_loglik(t: NCHTables, mu: np.ndarray, tau: float | np.ndarray, n_nodes: int = 21) -> np.ndarray:
    """Each table's log-likelihood with a normal random log odds ratio.

    ``log integral P(a_i | exp(mu_i + u)) N(u; 0, tau^2) du`` by adaptive Gauss-Hermite
    quadrature centred at the integrand's mode (found by Newton steps, which are exact here:
    the score and information are ``a - E[X] - u/tau^2`` and ``Var[X] + 1/tau^2``).

    Parameters
    ----------
    t : NCHTables
    mu : numpy.ndarray, shape (k,)
        Mean log odds ratio of each table.
    tau : float or numpy.ndarray, shape (k,)
        Standard deviation of the random effect (0: no random effect).
    n_nodes : int
        Quadrature nodes.

    Returns
    -------
    numpy.ndarray, shape (k,)
    """
    mu = np.asarray(mu, dtype=float)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), mu.shape)
    if np.all(tau == 0):
        return nch_logpmf(t, mu)
    prec = 1.0 / tau**2
    u = np.zeros(mu.shape)
    for _ in range(100):
        mean, var = nch_moments(t, mu + u)
        step = np.clip((t.a - mean - prec * u) / (var + prec), -3.0, 3.0)
        u = u + step
        if np.max(np.abs(step)) < 1e-11:
            break
    _, var = nch_moments(t, mu + u)
    s = 1.0 / np.sqrt(var + prec)
    x, lw = gauss_hermite(int(n_nodes), 1)
    nodes = u[:, None] + np.sqrt(2.0) * s[:, None] * x[None, :, 0]
    g = nch_logpmf(t, mu[:, None] + nodes) - 0.5 * nodes**2 * prec[:, None] - 0.5 * np.log(tau**2)[:, None] \
        - 0.5 * _LOG2PI
    terms = g + lw[None, :] + x[None, :, 0] ** 2
    m = np.max(terms, axis=1)
    return m + np.log(np.sum(np.exp(terms - m[:, None]), axis=1)) + 0.5 * np.log(2.0) + np.log(s)
