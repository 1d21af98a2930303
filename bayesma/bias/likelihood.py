"""Likelihoods of the publication-bias models, vectorised over parameter draws (numpy).

One function, :func:`loglik`, evaluates every model of the RoBMA ensemble on the
fitting scale: the random-effects (or common-effect) normal likelihood with the
study effects integrated out, ``y_i ~ N(m_i, se_i^2 + tau^2)``, with

- no bias: ``m_i = mu``;
- PET: ``m_i = mu + b * se_i``; PEESE: ``m_i = mu + b * se_i^2``;
- a step-function selection model: the density above multiplied by the weight
  ``omega_j`` of the p-value interval the study falls in and divided by the
  study's normalising constant ``A_i = sum_j omega_j P(c_{j-1} <= Y_i < c_j)``,
  a sum of normal-CDF differences (closed form).

The cut points ``c_ij`` are study-specific effect sizes on the fitting scale
(:func:`cutoffs`); one-sided weight functions act on ``y_i``, two-sided ones on
``|y_i|`` with symmetric cut points (as RoBMA's ``dwnorm_1s``/``dwnorm_2s``).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["d_to_z", "se_d_to_z", "cutoffs", "loglik", "interval_index"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def d_to_z(d: np.ndarray) -> np.ndarray:
    """Cohen's d to Fisher's z through the correlation ``r = d / sqrt(d^2 + 4)`` (RoBMA's map)."""
    d = np.asarray(d, dtype=float)
    return np.arctanh(d / np.sqrt(d**2 + 4.0))


def z_to_d(z: np.ndarray) -> np.ndarray:
    """Inverse of :func:`d_to_z`: ``d = 2 r / sqrt(1 - r^2)`` with ``r = tanh(z)``."""
    r = np.tanh(np.asarray(z, dtype=float))
    return 2.0 * r / np.sqrt(1.0 - r**2)


def n_from_d(d: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Total sample size implied by d and its standard error, ``n = (d^2 + 8) / (2 se^2)``."""
    return (np.asarray(d, float) ** 2 + 8.0) / (2.0 * np.asarray(se, float) ** 2)


def se_d_to_z(d: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Standard error of Fisher's z, ``1 / sqrt(n - 3)``, with n from :func:`n_from_d`."""
    return 1.0 / np.sqrt(n_from_d(d, se) - 3.0)


def cutoffs(y: np.ndarray, se: np.ndarray, steps, sides: str, measure: str) -> np.ndarray:
    """Study-specific cut points on the fitting scale, ascending, shape ``(k, len(steps))``.

    Parameters
    ----------
    y, se : array of shape (k,)
        Effects and standard errors on the *original* scale of ``measure``.
    steps : sequence of float
        p-value cut points (one-sided, or two-sided for ``sides="two"``).
    sides : {"one", "two"}
    measure : {"SMD", "COR", "ZCOR", "LOR", "GEN"}
        ``"SMD"``: the cut point is the d whose t statistic ``d sqrt(n) / 2`` with
        ``n - 2`` degrees of freedom has the p-value of the step, moved to Fisher's z
        (:func:`d_to_z`), as RoBMA 3 does; ``"COR"`` (``y`` correlations, ``se`` the
        standard errors of their Fisher's z): the r whose t statistic
        ``r sqrt(n - 2) / sqrt(1 - r^2)`` with ``n - 2`` df has the step's p-value,
        ``t / sqrt(t^2 + n - 2)``, moved to z (``n = 1 / se^2 + 3``); ``"ZCOR"``: ``t * se`` with
        ``t`` from a t distribution with ``n - 2`` df (``n = 1 / se^2 + 3``, RoBMA's ``n_z``);
        ``"LOR"`` (log odds ratios and their standard errors): ``z * se`` with the standard
        normal quantile, moved to Fisher's z through d (``d = logOR sqrt(3) / pi``);
        ``"GEN"``: ``z * se`` with the standard normal quantile.

    Returns
    -------
    numpy.ndarray of shape (k, len(steps))
    """
    y = np.asarray(y, float)
    se = np.asarray(se, float)
    p = np.sort(np.asarray(steps, float))[::-1]  # descending p -> ascending cut point
    if sides == "two":
        p = p / 2.0
    if measure == "SMD":
        n = n_from_d(y, se)
        t = stats.t.isf(p[None, :], (n - 2.0)[:, None])
        return d_to_z(2.0 * t / np.sqrt(n)[:, None])
    if measure in ("ZCOR", "COR"):
        n = (3.0 * se**2 + 1.0) / se**2
        t = stats.t.isf(p[None, :], (n - 2.0)[:, None])
        if measure == "COR":
            return np.arctanh(t / np.sqrt(t**2 + (n - 2.0)[:, None]))
        return t * se[:, None]
    crit = stats.norm.isf(p)[None, :] * se[:, None]
    if measure == "LOR":
        return d_to_z(crit * np.sqrt(3.0) / np.pi)
    return crit


def interval_index(y: np.ndarray, crit: np.ndarray, sides: str) -> np.ndarray:
    """Index (0 = the largest p-values) of the weight interval each study falls in, shape (k,)."""
    x = np.abs(y) if sides == "two" else np.asarray(y, float)
    return (x[:, None] >= crit).sum(axis=1)


def _log_norm_pdf(y, m, s2):
    return -0.5 * (_LOG_2PI + np.log(s2) + (y - m) ** 2 / s2)


def loglik(y: np.ndarray, se: np.ndarray, mu: np.ndarray, tau: np.ndarray, *,
           pet: np.ndarray | None = None, peese: np.ndarray | None = None,
           omega: np.ndarray | None = None, crit: np.ndarray | None = None,
           sides: str = "one", per_study: bool = False) -> np.ndarray:
    """Log-likelihood of draws of the parameters on the fitting scale.

    Parameters
    ----------
    y, se : array of shape (k,)
        Effects and standard errors on the fitting scale.
    mu : array of shape (n,) or (n, k)
        Mean effect (or each study's expected effect, for a meta-regression).
    tau : array of shape (n,)
        Heterogeneity SD (tau = 0: common effect).
    pet, peese : array of shape (n,), optional
        PET (``b * se``) or PEESE (``b * se^2``) coefficient.
    omega : array of shape (n, J), optional
        Step weights, ``omega[:, 0]`` for the largest p-values (y below ``crit[:, 0]``).
    crit : array of shape (k, J - 1), optional
        Ascending cut points (:func:`cutoffs`), required with ``omega``.
    sides : {"one", "two"}
    per_study : bool
        Return the ``(n, k)`` matrix instead of its row sums.

    Returns
    -------
    numpy.ndarray of shape (n,) (or (n, k))
    """
    y = np.asarray(y, float)[None, :]
    se = np.asarray(se, float)[None, :]
    mu = np.asarray(mu, float)
    mu = mu[:, None] if mu.ndim == 1 else mu  # (n, k): a mean per study (meta-regression)
    s2 = se**2 + np.asarray(tau, float)[:, None] ** 2
    m = mu
    if pet is not None:
        m = m + np.asarray(pet, float)[:, None] * se
    if peese is not None:
        m = m + np.asarray(peese, float)[:, None] * se**2
    ll = _log_norm_pdf(y, m, s2)
    if omega is not None:
        omega = np.asarray(omega, float)
        idx = interval_index(y[0], crit, sides)
        ll = ll + np.log(omega[:, idx])
        inv_s = (1.0 / np.sqrt(s2))[..., None]
        m3 = m[..., None] if np.ndim(m) == 2 else np.broadcast_to(m, ll.shape)[..., None]
        # F_j = P(Y < c_j) for every cut point (one-sided) or P(|Y| < c_j) (two-sided), ascending in j
        cdf = special.ndtr((crit[None, :, :] - m3) * inv_s)
        if sides == "two":
            cdf -= special.ndtr((-crit[None, :, :] - m3) * inv_s)
        # A = sum_j omega_j (F_j - F_{j-1}) with F_0 = 0, F_J = 1, summed by parts:
        # A = omega_J - sum_{j<J} F_j (omega_{j+1} - omega_j)
        norm = omega[:, -1:] - np.einsum("nkj,nj->nk", cdf, np.diff(omega, axis=1))
        ll = ll - np.log(norm)
    return ll if per_study else ll.sum(axis=1)
