"""Tests and intervals of the coefficients of a frequentist fit (metafor's ``test=`` argument).

Which tests each fit accepts, as metafor 3.8-1 does:

==============================  =======================================================
fit                             ``test=``
==============================  =======================================================
``rma`` (``rma.uni``), also     ``"z"``, ``"t"``, ``"knha"``, ``"adhoc"``
with ``scale=``, ``regtest``,
``trimfill``, ``subgroup``
``rma_mv`` (``rma.mv``)         ``"z"``, ``"t"``
``rma_glmm`` (``rma.glmm``)     ``"z"``, ``"t"``
``rma_mh``, ``rma_peto``        none (always z, as metafor)
``selmodel``                    none (always z: metafor sets ``test = "z"``)
==============================  =======================================================

What each test does to the coefficients (k studies, p coefficients):

* ``"z"``: Wald z tests and intervals, the omnibus test QM is chi-square with m df;
* ``"t"``: the same standard errors, but t tests and intervals with k - p df and the
  omnibus test an F(m, k - p) statistic QM / m (no rescaling of the variances);
* ``"knha"``: as ``"t"``, with the variance matrix multiplied by the Knapp-Hartung
  factor s² = RSS / (k - p) (Knapp & Hartung 2003; Hartung & Knapp 2001);
* ``"adhoc"``: as ``"knha"`` with the factor truncated below at 1, max(1, s²), so the
  interval is never narrower than the z-based one's standard error (Knapp & Hartung
  2003, the "ad hoc" modification; metafor 3.8-1 has it already).

Prediction intervals of a t-test fit use the t(k - p) quantile (metafor's ``predict.rma``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["TESTS", "T_TESTS", "KNHA_TESTS", "MV_TESTS", "check_test", "t_dfs", "knha_factor", "wald_tests",
           "critical_value"]

TESTS = ("z", "t", "knha", "adhoc")  # metafor's rma.uni
T_TESTS = ("t", "knha", "adhoc")  # t / F tests with k - p degrees of freedom
KNHA_TESTS = ("knha", "adhoc")  # the variances rescaled by the Knapp-Hartung factor
MV_TESTS = ("z", "t")  # metafor's rma.mv and rma.glmm


def check_test(test: Any, allowed: tuple[str, ...] = TESTS, where: str = "rma") -> str:
    """*test* if *where* (a function's name) accepts it, else a typed error listing what it accepts.

    Parameters
    ----------
    test : str
        The requested test.
    allowed : tuple of str
        The tests *where* accepts (metafor's for the same function).
    where : str
        The function's name, for the message.

    Returns
    -------
    str
        *test*, unchanged.

    Raises
    ------
    bayesma.errors.ArgumentTypeError
        *test* is not a string.
    bayesma.errors.InputError
        *test* is not one of *allowed* (the message lists them, and says where the
        Knapp-Hartung adjustment can be had when it was asked of a model without it).

    Examples
    --------
    >>> check_test("t")
    't'
    >>> try:
    ...     check_test("knha", MV_TESTS, "rma_mv")
    ... except InputError as err:
    ...     print(str(err)[:60])
    rma_mv: test='knha' is not available (as metafor 3.8-1's rma
    """
    if not isinstance(test, str):
        raise ArgumentTypeError(f"{where}: test must be a string, one of {', '.join(map(repr, allowed))}; "
                                f"got {type(test).__name__}")
    if test in allowed:
        return test
    choices = ", ".join(map(repr, allowed))
    if test in KNHA_TESTS:
        raise InputError(f"{where}: test={test!r} is not available (as metafor 3.8-1's "
                         f"{_R_NAMES.get(where, where)}); use one of {choices} ('t' gives t and F tests with "
                         "k - p degrees of freedom, without the Knapp-Hartung rescaling, which only rma() has)",
                         column="test")
    raise InputError(f"{where}: test must be one of {choices} (as metafor 3.8-1's {_R_NAMES.get(where, where)}), "
                     f"got {test!r}", column="test")


_R_NAMES = {"rma_mv": "rma.mv", "rma_glmm": "rma.glmm", "rma": "rma.uni", "trimfill": "trimfill.rma.uni",
            "frequentist_batch": "rma.uni"}


def t_dfs(test: str, k: int, p: int) -> int | None:
    """The t (and F denominator) degrees of freedom of *test*: k - p for the t tests, None for z."""
    return k - p if test in T_TESTS else None


def critical_value(level: float, dfs: float | None) -> float:
    """The two-sided critical value of a *level* interval: the z quantile, or the t quantile with
    *dfs* degrees of freedom (NaN when dfs <= 0, as metafor's NA)."""
    alpha = 1 - level
    if dfs is not None:
        return float(stats.t.isf(alpha / 2, dfs)) if dfs > 0 else np.nan
    return float(stats.norm.isf(alpha / 2))


def knha_factor(rss: Any, df: int, test: str) -> Any:
    """The Knapp-Hartung variance factor s² = RSS / (k - p) (0 where RSS vanishes, as metafor),
    at least 1 for the modified method ``test="adhoc"``, 1 for other tests (``"z"``, ``"t"``);
    elementwise on arrays (the case-deletion refits use a scalar, the permutation test a batch)."""
    if test not in KNHA_TESTS:
        return np.ones_like(np.asarray(rss, dtype=float)) if np.ndim(rss) else 1.0
    s2w = np.where(np.asarray(rss) <= np.finfo(float).eps, 0.0, np.asarray(rss, dtype=float) / df)
    if test == "adhoc":
        s2w = np.maximum(s2w, 1.0)
    return s2w if np.ndim(rss) else float(s2w)


def wald_tests(beta: np.ndarray, vb: np.ndarray, has_intercept: bool, dfs: int | None):
    """Tests of the coefficients, as metafor: the omnibus test of the moderators
    (all coefficients but the intercept, or all when there is none) and a p-value per
    coefficient; z / chi-square tests, or t / F tests with *dfs* degrees of freedom.

    Returns ``(btt, QM, QMp, pval)``; QM is the F statistic (QM / m) for t tests.
    """
    p = beta.shape[0]
    btt = list(range(1, p)) if (has_intercept and p > 1) else list(range(p))
    m = len(btt)
    bb = beta[btt]
    try:
        QM = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb))
    except np.linalg.LinAlgError:  # e.g. Knapp-Hartung with k = 1: metafor reports NA
        QM = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0 (knha with RSS = 0), as metafor
        stat = beta / np.sqrt(np.diag(vb))
    if dfs is not None:
        QM = QM / m
        QMp = float(stats.f.sf(QM, m, dfs)) if dfs > 0 and np.isfinite(QM) else np.nan
        pval = 2.0 * stats.t.sf(np.abs(stat), dfs) if dfs > 0 else np.full(p, np.nan)
    else:
        QMp = float(stats.chi2.sf(QM, m))
        pval = 2.0 * stats.norm.sf(np.abs(stat))
    return btt, QM, QMp, pval
