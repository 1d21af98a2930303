"""metafor's random-effects estimates for many intercept-only data sets at once (simulations)."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from bayesma._validate import check_level
from bayesma.errors import InputError
from bayesma.frequentist.inference import KNHA_TESTS, T_TESTS, TESTS, check_test, knha_factor
from bayesma.frequentist.tau2 import tau2_batch

__all__ = ["frequentist_batch", "mu_batch", "group_summaries"]


def _fe_parts(y: np.ndarray, w: np.ndarray):
    sw = w.sum(-1)
    return sw, (w * y).sum(-1) / sw


def frequentist_batch(y: np.ndarray, v: np.ndarray, method: str = "REML", test: str = "z",
                      level: float = 0.95) -> dict[str, np.ndarray]:
    """metafor's random-effects estimates for many data sets at once (intercept-only models).

    The same computation as :func:`bayesma.rma` on each data set, vectorised for
    simulations: tau² by :func:`bayesma.frequentist.tau2.tau2_batch` (the one implementation of
    the estimators that :func:`bayesma.rma` also uses; metafor's iterations and ``uniroot``
    steps), Wald (``"z"``), t (``"t"``, k - 1 df), Knapp-Hartung (``"knha"``) and modified
    Knapp-Hartung (``"adhoc"``) intervals for mu, and the Q-profile interval for tau² (searched on
    ``[0, max(100, 10 tau²)]``, metafor's limit, which is reported when the upper
    bound lies beyond it). Unlike metafor, a Paule-Mandel root beyond its search limit
    is found (the search is extended), so that no data set of a simulation stops it.

    Parameters
    ----------
    y, v : array_like, shape (B, k)
    method : {"DL", "REML", "PM", "PMM", "ML", "EB", "HS", "HSk", "SJ", "HE", "FE"}
    test : {"z", "t", "knha", "adhoc"}
    level : float

    Returns
    -------
    dict of arrays (B,)
        ``mu``, ``se``, ``mu_lower``, ``mu_upper``, ``tau2``, ``tau2_lower``, ``tau2_upper``.

    Examples
    --------
    >>> import numpy as np
    >>> out = frequentist_batch(np.array([[0.1, 0.3, 0.35, -0.05]]), np.array([[0.01, 0.02, 0.015, 0.03]]), "DL")
    >>> round(float(out["mu"][0]), 4)
    0.1869
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    if y.shape[1] < 2:
        raise InputError("the frequentist random-effects estimators need k >= 2")
    level = check_level(level)
    tau2, lo, hi = tau2_batch(y, v, method, level)
    mu, se, mu_lower, mu_upper = mu_batch(y, v, tau2, test, level)
    return {"mu": mu, "se": se, "mu_lower": mu_lower, "mu_upper": mu_upper,
            "tau2": tau2, "tau2_lower": lo, "tau2_upper": hi}


def mu_batch(y, v, tau2, test: str, level: float):
    """mu, its standard error and interval (B,) each given tau2, for the test ``z``, ``t``, ``knha`` or ``adhoc``."""
    k = y.shape[1]
    level = check_level(level)
    w = 1.0 / (v + tau2[:, None])
    sw, mu = _fe_parts(y, w)
    se = np.sqrt(1.0 / sw)
    check_test(test, TESTS, "frequentist_batch")
    if test in KNHA_TESTS:
        rss = (w * (y - mu[:, None]) ** 2).sum(-1)
        se = se * np.sqrt(knha_factor(rss, k - 1, test))
    crit = stats.t.ppf(1 - (1 - level) / 2, k - 1) if test in T_TESTS else special.ndtri(1 - (1 - level) / 2)
    return mu, se, mu - crit * se, mu + crit * se


def group_summaries(y: np.ndarray, v: np.ndarray, method: str, test: str, level: float) -> dict[str, np.ndarray]:
    """metafor's FE and random-effects summaries (B,) of B data sets with the same k (rma's numbers).

    The frequentist columns of :func:`bayesma.fit_many`: ``FE``, ``FE_se``, ``FE_lower``,
    ``FE_upper``, ``RE``, ``RE_se``, ``RE_lower``, ``RE_upper``, ``tau2``, ``tau2_lower``,
    ``tau2_upper``, ``I2``, ``H2``, ``Q``, ``Q_df``, ``Q_p``, ``pi_lower``, ``pi_upper``.
    """
    B, k = y.shape
    w = 1.0 / v
    sw = w.sum(1)
    fe = (w * y).sum(1) / sw
    fe_se = np.sqrt(1.0 / sw)
    z = special.ndtri(1 - (1 - level) / 2)
    q = (w * (y - fe[:, None]) ** 2).sum(1)
    out = {"FE": fe, "FE_se": fe_se, "FE_lower": fe - z * fe_se, "FE_upper": fe + z * fe_se,
           "Q": q, "Q_df": np.full(B, k - 1.0), "Q_p": stats.chi2.sf(q, k - 1) if k > 1 else np.ones(B)}
    if k == 1:  # metafor: tau2 = 0, the z-interval (Knapp-Hartung falls back to z), I2 = 0, H2 = 1
        out.update(RE=fe, RE_se=fe_se, RE_lower=out["FE_lower"], RE_upper=out["FE_upper"], tau2=np.zeros(B),
                   tau2_lower=np.full(B, np.nan), tau2_upper=np.full(B, np.nan), I2=np.zeros(B), H2=np.ones(B),
                   pi_lower=out["FE_lower"], pi_upper=out["FE_upper"])
        return out
    if method == "FE":  # the common-effect fit with the chosen test (as rma(method="FE", test=test))
        mu, se, lo, hi = mu_batch(y, v, np.zeros(B), test, level)
        out.update(RE=mu, RE_se=se, RE_lower=lo, RE_upper=hi, tau2=np.zeros(B),
                   tau2_lower=np.full(B, np.nan), tau2_upper=np.full(B, np.nan))
        crit = stats.t.ppf(1 - (1 - level) / 2, k - 1) if test in T_TESTS else z
    else:
        f = frequentist_batch(y, v, method=method, test=test, level=level)
        out.update(RE=f["mu"], RE_se=f["se"], RE_lower=f["mu_lower"], RE_upper=f["mu_upper"], tau2=f["tau2"],
                   tau2_lower=f["tau2_lower"], tau2_upper=f["tau2_upper"])
        crit = stats.t.ppf(1 - (1 - level) / 2, k - 1) if test in T_TESTS else z
    # I2 and H2 with metafor's typical within-study variance
    s2 = (k - 1) * sw / (sw**2 - (w**2).sum(1))
    out["I2"] = 100 * out["tau2"] / (out["tau2"] + s2)
    out["H2"] = (out["tau2"] + s2) / s2
    half = crit * np.sqrt(out["tau2"] + out["RE_se"] ** 2)
    out["pi_lower"], out["pi_upper"] = out["RE"] - half, out["RE"] + half
    return out
