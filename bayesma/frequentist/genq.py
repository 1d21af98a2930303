"""The generalized Q-statistic estimators of tau² (GENQ, GENQM) and their interval, as ``metafor::rma.uni``.

With user weights a_i (``weights=``) the generalized Q statistic is Q_a = y' P_a y, with
P_a = A - A X (X'AX)^-1 X'A. Its expectation is tr(P_a V) + tau² tr(P_a), so the method-of-moments
estimator GENQ is (Q_a - tr(P_a V)) / tr(P_a) (DerSimonian and Kacker 2007). Under the model Q_a is
distributed as a weighted sum of chi-square(1) variables, sum lambda_j(tau²) chi²_1, the weights being
the k - p non-zero eigenvalues of S P_a S with S = diag(sqrt(vi + tau²)) (Jackson 2013). GENQM is the
tau² at which the observed Q_a is the median of that distribution (median-unbiased; Jackson et al.
2014), and the interval for tau² (metafor's ``confint(type="GENQ")``, the default for these two
methods) is where Q_a is at its alpha/2 and 1 - alpha/2 quantiles.

The distribution function is Ruben's (1962) series, the algorithm of Farebrother (1984, AS 204)
that metafor calls through ``CompQuadForm::farebrother``: sum_j lambda_j chi²_1 is a mixture of
beta chi²_(m + 2n), beta = min lambda, with mixing weights from a power series; it is summed here
until the neglected mass is below 1e-14. The roots are R's ``uniroot`` step for step
(:func:`bayesma._rootfind.uniroot_batch`), on metafor's ranges.

References
----------
DerSimonian, R., & Kacker, R. (2007). Random-effects model for meta-analysis of clinical trials:
an update. *Contemporary Clinical Trials*, 28, 105-114.
Jackson, D. (2013). Confidence intervals for the between-study variance in random effects
meta-analysis using generalised Cochran heterogeneity statistics. *Research Synthesis Methods*, 4, 220-229.
Jackson, D., Turner, R., Rhodes, K., & Viechtbauer, W. (2014). Methods for calculating confidence
and credible intervals for the residual between-study variance in random effects meta-regression
models. *BMC Medical Research Methodology*, 14, 103.
Farebrother, R. W. (1984). Algorithm AS 204. *Applied Statistics*, 33, 332-339.
metafor 3.8-1: ``rma.uni(method="GENQ"/"GENQM")``, ``confint.rma.uni(type="GENQ")``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from bayesma._rootfind import R_UNIROOT_TOL, uniroot_batch
from bayesma.errors import InputError
from bayesma.frequentist._common import _BatchProjection

__all__ = ["sf_chi2_mixture", "genq_sf", "genq_moments", "genq_median", "genq_ci", "MAXITER_ROOT"]

MAXITER_ROOT = 1000  # R's uniroot default, which metafor's confint(type="GENQ") keeps
_SERIES_EPS = 1e-14
_SERIES_MAX = 200_000


def sf_chi2_mixture(q: float, lam: np.ndarray) -> float:
    """P(sum_j lam_j chi²_1 > q) for positive weights *lam* (Ruben's series; Farebrother's AS 204).

    Parameters
    ----------
    q : float
        The point (>= 0).
    lam : numpy.ndarray, shape (m,)
        Positive weights of the chi-square(1) variables.

    Returns
    -------
    float
        The survival probability.

    Raises
    ------
    InputError
        A weight that is not positive.

    Examples
    --------
    >>> round(sf_chi2_mixture(3.841458820694124, np.array([1.0])), 10)
    0.05
    """
    lam = np.asarray(lam, dtype=float)
    if lam.size == 0 or np.any(~np.isfinite(lam)) or np.any(lam <= 0):
        raise InputError("the generalized Q statistic's distribution needs positive eigenvalues; "
                         "give positive weights= (a zero weight removes a study from Q)")
    if q <= 0:
        return 1.0
    m = lam.size
    beta = float(lam.min())
    gamma = 1.0 - beta / lam  # in [0, 1)
    x = q / beta
    a0 = float(np.exp(0.5 * np.sum(np.log(beta / lam))))
    g_max = float(gamma.max())
    if g_max <= 0.0:  # all weights equal: a scaled chi-square
        return float(stats.chi2.sf(x, m))
    # coefficients c_n of prod_j (1 - gamma_j z)^(-1/2) = exp(sum_r g_r z^r), g_r = sum_j gamma_j^r / (2 r):
    # P(Q <= q) = sum_n a0 c_n F(x; m + 2n); the terms left after n are below (1 - sum a) F(x; m + 2n + 2)
    c = np.empty(_SERIES_MAX + 1)
    rg = np.empty(_SERIES_MAX + 1)  # rg[r] = r g_r = sum_j gamma_j^r / 2
    c[0] = 1.0
    powers = gamma.copy()
    mass = a0
    n = 0
    while n < _SERIES_MAX:
        n += 1
        rg[n] = 0.5 * powers.sum()
        powers *= gamma
        c[n] = np.dot(rg[1:n + 1], c[n - 1::-1] if n > 1 else c[:1]) / n
        mass += a0 * c[n]
        if n % 32 == 0 and (1.0 - mass) * stats.chi2.cdf(x, m + 2 * n + 2) < _SERIES_EPS:
            break
    c = c[:n + 1]
    a = a0 * np.asarray(c)
    cdf = float(np.dot(a, stats.chi2.cdf(x, m + 2 * np.arange(a.size))))
    return float(min(1.0, max(0.0, 1.0 - cdf)))


def _complement(X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sqrt(a) (k,) and an orthonormal basis N (k, k - p) of the complement of sqrt(A) X."""
    sa = np.sqrt(a)
    q_full, _ = np.linalg.qr(sa[:, None] * X, mode="complete")
    return sa, q_full[:, X.shape[1]:]


def genq_sf(tau2: float, q_obs: float, vi: np.ndarray, X: np.ndarray, a: np.ndarray) -> float:
    """P(Q_a > q_obs) when the between-study variance is *tau2* (metafor's ``.GENQ.func`` before its shift).

    The non-zero eigenvalues of S P_a S equal those of N' D N, D = diag(a (vi + tau²)), with N
    an orthonormal basis of the complement of sqrt(A) X (since P_a = sqrt(A) N N' sqrt(A)).
    """
    sa, N = _complement(X, a)
    d = a * (vi + tau2)
    lam = np.linalg.eigvalsh((N * d[:, None]).T @ N)
    return sf_chi2_mixture(q_obs, lam)


def genq_moments(yc: np.ndarray, vi: np.ndarray, X: np.ndarray, a: np.ndarray) -> tuple[float, float, float]:
    """(Q_a, tr(P_a V), tr(P_a)) of one data set: the GENQ estimate is (Q_a - tr(P_a V)) / tr(P_a)."""
    P = _BatchProjection(X, np.asarray(a, dtype=float)[None])
    diag = P.w[0] * (1.0 - P.h[0])
    return float(P.quad(yc[None])[0]), float(np.sum(diag * vi)), float(diag.sum())


def _root(f, lo: float, hi: float, tol: float, maxiter: int) -> float:
    return float(uniroot_batch(lambda t, sub: np.array([f(float(t[0]))]), np.array([lo]), np.array([hi]),
                               tol=tol, maxiter=maxiter)[0])


def genq_median(yc: np.ndarray, vi: np.ndarray, X: np.ndarray, a: np.ndarray, tau2_max: float,
                tol: float = R_UNIROOT_TOL) -> float:
    """GENQM: the tau² in [0, tau2_max] at which the observed Q_a is the median of its distribution;
    0 where P(Q_a > q_obs) already exceeds 1/2 at tau² = 0 (metafor's rule).

    Raises
    ------
    InputError
        The root lies above *tau2_max* (metafor: "Value of 'tau2.max' too low").
    """
    q_obs = genq_moments(yc, vi, X, a)[0]
    if genq_sf(0.0, q_obs, vi, X, a) > 0.5:
        return 0.0
    if genq_sf(tau2_max, q_obs, vi, X, a) < 0.5:
        raise InputError(f"the GENQM root lies above the search limit tau2_max = {tau2_max:.6g} (metafor's "
                         "max(100, 10 mad(yi)²); metafor stops here too: \"Value of 'tau2.max' too low\"); "
                         "use method='GENQ' or another method")
    return _root(lambda t: (1.0 - genq_sf(t, q_obs, vi, X, a)) - 0.5, 0.0, tau2_max, tol, MAXITER_ROOT)


def genq_ci(yc: np.ndarray, vi: np.ndarray, X: np.ndarray, a: np.ndarray, level: float,
            tau2: float, tol: float = R_UNIROOT_TOL) -> tuple[float, float, tuple[str, str]]:
    """The generalized Q-statistic interval for tau² (metafor's ``confint(type="GENQ")``).

    Bounds are where P(Q_a > q_obs) equals alpha/2 (lower) and 1 - alpha/2 (upper), searched by
    ``uniroot`` on [0, max(100, 10 tau²)]; a bound beyond the search limit is the limit (sign ">"),
    an interval wholly below 0 is (0, 0).

    Returns
    -------
    lower, upper : float
    signs : tuple of str
        ``(">" or "", ">" or "")`` as metafor's ``lb.sign`` / ``ub.sign``.
    """
    alpha = 1.0 - level
    q_obs = genq_moments(yc, vi, X, a)[0]
    t_min = min(0.0, tau2)
    t_max = max(100.0, 10.0 * tau2, 10.0 * t_min)
    sf_max = genq_sf(t_max, q_obs, vi, X, a)
    sf_min = genq_sf(t_min, q_obs, vi, X, a)
    lb_sign = ub_sign = ""
    if sf_min > 1.0 - alpha / 2:  # Q_a below its 1 - alpha/2 tail at the lower end: an empty interval
        ub = t_min
    elif sf_max < 1.0 - alpha / 2:
        ub, ub_sign = t_max, ">"
    else:
        ub = _root(lambda t: (1.0 - genq_sf(t, q_obs, vi, X, a)) - alpha / 2, t_min, t_max, tol, MAXITER_ROOT)
    if sf_max < alpha / 2:
        lb, ub, lb_sign, ub_sign = t_max, t_max, ">", ">"
    elif sf_min > alpha / 2:
        lb = t_min
    else:
        lb = _root(lambda t: genq_sf(t, q_obs, vi, X, a) - alpha / 2, t_min, t_max, tol, MAXITER_ROOT)
    return max(0.0, float(lb)), max(0.0, float(ub)), (lb_sign, ub_sign)

