"""Test statistics to effect sizes: t and F of two-group comparisons to d, t of correlations to r.

The relations are metafor's (``escalc("SMD", ti=, n1i=, n2i=)`` and ``escalc("COR", ti=, ni=)``,
metafor >= 4.0), the same as the R package esc's ``esc_t``/``esc_f`` and Lakens (2013): for two
independent groups ``d = t sqrt(1/n1 + 1/n2)``; an F of a one-degree-of-freedom contrast is
``t^2`` (its sign, which F does not carry, must be given); for a correlation
``r = t / sqrt(t^2 + n - 2)``. A two-sided p-value gives ``|t|`` through the t quantile with the
test's degrees of freedom, and its sign must come from the reported direction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import t as t_dist

from bayesma._validate import series_by_index
from bayesma.effects._common import ArrayLike, _hedges_correction
from bayesma.effects.convert import _arr, _check, _out

__all__ = ["convert_f_to_d", "convert_f_to_r", "convert_p_to_t", "convert_t_to_d", "convert_t_to_r"]


def _groups(n1: ArrayLike, n2: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a, b = _arr(n1, "n1"), _arr(n2, "n2")
    _check("n1", a, a < 2, "each group needs at least 2 members for a standardized mean difference")
    _check("n2", b, b < 2, "each group needs at least 2 members for a standardized mean difference")
    return a, b


def _sign(sign: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    s = np.broadcast_to(_arr(sign, "sign"), shape)
    _check("sign", s, ~np.isin(s, (-1.0, 1.0)), "the sign of the effect must be +1 or -1")
    return s


@series_by_index
def convert_t_to_d(t: ArrayLike, *, n1: ArrayLike, n2: ArrayLike, correct: bool = True) -> tuple[Any, Any]:
    """Convert the t statistic of an independent-samples t-test to a standardized mean difference.

    ``d = t sqrt(1/n1 + 1/n2)``; with ``correct=True`` Hedges' g, ``g = c(n1 + n2 - 2) d`` with
    the exact correction of :func:`bayesma.escalc`'s ``SMD``. The variance is metafor's
    large-sample one, ``1/n1 + 1/n2 + y^2 / (2 (n1 + n2))`` with ``y`` the returned value.

    Parameters
    ----------
    t : float or array_like
        Student t statistic(s) of the pooled-variance two-sample test, signed by the direction
        of the difference (group 1 minus group 2).
    n1, n2 : float or array_like
        Group sizes (whole numbers >= 2).
    correct : bool
        Apply the small-sample correction (Hedges' g, default, as metafor's ``SMD``).

    Returns
    -------
    (d, var_d) : (float, float) or (ndarray, ndarray)
        The standardized mean difference and its sampling variance.

    Raises
    ------
    InputError
        A group with fewer than 2 members, a sample size that is not a whole number.

    Notes
    -----
    Borenstein et al. (2009), Introduction to Meta-Analysis, chapter 4; Lakens D (2013),
    Calculating and reporting effect sizes, Frontiers in Psychology 4:863. Equals
    metafor 5.0's ``escalc("SMD", ti=, n1i=, n2i=)`` (checked in the tests). A paired t (one
    group measured twice) is not this relation: use the change-score measures of
    :func:`bayesma.escalc` (``SMCC``, ``SMCR``).

    Examples
    --------
    >>> import bayesma as bm
    >>> d, v = bm.convert_t_to_d(2.12, n1=95, n2=99)
    >>> round(d, 4), round(v, 4)
    (0.3033, 0.0209)
    """
    tt = _arr(t, "t")
    a, b = _groups(n1, n2)
    d = tt * np.sqrt(1 / a + 1 / b)
    if correct:
        d = _hedges_correction(a + b - 2) * d
    return _out(d, 1 / a + 1 / b + d**2 / (2 * (a + b)))


@series_by_index
def convert_f_to_d(f: ArrayLike, *, n1: ArrayLike, n2: ArrayLike, sign: ArrayLike = 1,
                   correct: bool = True) -> tuple[Any, Any]:
    """Convert the F statistic of a two-group comparison (one numerator df) to a standardized mean difference.

    An F with one numerator degree of freedom is the square of the t statistic, so
    ``d = sign sqrt(F) sqrt(1/n1 + 1/n2)`` (then as :func:`convert_t_to_d`).

    Parameters
    ----------
    f : float or array_like
        F statistic(s) ``F(1, n1 + n2 - 2)``, >= 0.
    n1, n2 : float or array_like
        Group sizes (whole numbers >= 2).
    sign : float or array_like
        +1 where group 1 has the higher mean, -1 where it has the lower (F carries no
        direction; take it from the reported means).
    correct : bool
        Apply the small-sample correction (Hedges' g, default).

    Returns
    -------
    (d, var_d) : (float, float) or (ndarray, ndarray)
        The standardized mean difference and its sampling variance.

    Raises
    ------
    InputError
        A negative F, a sign other than +1 or -1, a group with fewer than 2 members.

    Notes
    -----
    Lakens (2013) with ``t = sqrt(F)``; the R package esc's ``esc_f``. An F with more
    than one numerator df (three or more groups) has no single d.

    Examples
    --------
    >>> import bayesma as bm
    >>> d, v = bm.convert_f_to_d(2.12**2, n1=95, n2=99)
    >>> round(d, 4)
    0.3033
    """
    ff = _arr(f, "f")
    _check("f", ff, ff < 0, "an F statistic cannot be negative")
    return convert_t_to_d(_sign(sign, ff.shape) * np.sqrt(ff), n1=n1, n2=n2, correct=correct)


@series_by_index
def convert_t_to_r(t: ArrayLike, *, n: ArrayLike) -> tuple[Any, Any]:
    """Convert the t statistic of a test of a correlation to the correlation.

    ``r = t / sqrt(t^2 + n - 2)`` and ``var_r = (1 - r^2)^2 / (n - 1)`` (metafor's ``COR``).

    Parameters
    ----------
    t : float or array_like
        t statistic(s) of the test of zero correlation, with ``n - 2`` degrees of freedom.
    n : float or array_like
        Sample size(s) (whole numbers > 3).

    Returns
    -------
    (r, var_r) : (float, float) or (ndarray, ndarray)
        The correlation and its sampling variance.

    Raises
    ------
    InputError
        A sample size of 3 or less, or not a whole number.

    Notes
    -----
    Equals metafor 5.0's ``escalc("COR", ti=, ni=)`` (checked in the tests). Fisher's z is
    :func:`bayesma.convert_r_to_z` of the result.

    Examples
    --------
    >>> import bayesma as bm
    >>> r, v = bm.convert_t_to_r(2.85, n=182)
    >>> round(r, 4), round(v, 5)
    (0.2078, 0.00506)
    """
    tt, nn = _arr(t, "t"), _arr(n, "n")
    _check("n", nn, nn <= 3, "the sample size must be larger than 3")
    r = tt / np.sqrt(tt**2 + nn - 2)
    return _out(r, (1 - r**2) ** 2 / (nn - 1))


@series_by_index
def convert_f_to_r(f: ArrayLike, *, n: ArrayLike, sign: ArrayLike = 1) -> tuple[Any, Any]:
    """Convert an F(1, n - 2) statistic of a correlation (or of a two-group contrast) to r.

    ``r = sign sqrt(F / (F + n - 2))``: the square root of the share of variance explained.

    Parameters
    ----------
    f : float or array_like
        F statistic(s) with one numerator and ``n - 2`` denominator degrees of freedom.
    n : float or array_like
        Sample size(s) (whole numbers > 3).
    sign : float or array_like
        +1 or -1: the direction of the association (F carries none).

    Returns
    -------
    (r, var_r) : (float, float) or (ndarray, ndarray)
        The correlation and its sampling variance ``(1 - r^2)^2 / (n - 1)``.

    Raises
    ------
    InputError
        A negative F, a sign other than +1 or -1, a sample size of 3 or less.

    Notes
    -----
    ``r^2 = F / (F + df_error)`` is eta squared of a one-df effect (Lakens 2013, Frontiers in
    Psychology 4:863, with one effect df); this is :func:`convert_t_to_r` with
    ``t = sign sqrt(F)``.

    Examples
    --------
    >>> import bayesma as bm
    >>> r, v = bm.convert_f_to_r(2.85**2, n=182)
    >>> round(r, 4)
    0.2078
    """
    ff = _arr(f, "f")
    _check("f", ff, ff < 0, "an F statistic cannot be negative")
    return convert_t_to_r(_sign(sign, ff.shape) * np.sqrt(ff), n=n)


@series_by_index
def convert_p_to_t(p: ArrayLike, *, df: ArrayLike, sign: ArrayLike = 1) -> Any:
    """The t statistic of a reported two-sided p-value: ``sign * t_{df}^{-1}(1 - p / 2)``.

    Parameters
    ----------
    p : float or array_like
        Two-sided p-value(s), strictly between 0 and 1 (an exact p; a bound such as
        ``p < .05`` gives a conservative t when its bound is used).
    df : float or array_like
        Degrees of freedom of the test: ``n1 + n2 - 2`` for two groups, ``n - 2`` for a
        correlation.
    sign : float or array_like
        +1 or -1, the direction of the reported effect.

    Returns
    -------
    float or ndarray
        The signed t statistic(s), for :func:`convert_t_to_d` or :func:`convert_t_to_r`.

    Raises
    ------
    InputError
        A p-value of 0 or 1 or outside (0, 1), a df <= 0, a sign other than +1 or -1.

    Notes
    -----
    metafor 5.0's ``escalc`` takes signed p-values (``pi=``) the same way (its
    ``.convp2t``); a p of 0 or 1 gives no finite t.

    Examples
    --------
    >>> import bayesma as bm
    >>> t = bm.convert_p_to_t(0.035, df=95 + 99 - 2)
    >>> round(float(t), 4)
    2.1234
    """
    pp, dd = _arr(p, "p"), _arr(df, "df")
    _check("p", pp, (pp <= 0) | (pp >= 1), "a p-value of 0 or 1 (or outside (0, 1)) gives no finite t statistic")
    _check("df", dd, dd <= 0, "the degrees of freedom must be positive")
    out = _sign(sign, np.broadcast(pp, dd).shape) * t_dist.isf(pp / 2, dd)
    return float(out) if np.ndim(out) == 0 else out
