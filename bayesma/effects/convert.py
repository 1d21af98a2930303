"""Conversions between effect measures: d, r, Fisher's z and log odds ratios.

Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to Meta-Analysis*,
chapter 7.

A missing input (NaN) gives NaN in the result, with a warning naming the argument and
the element; sample sizes (``n``, ``n1``, ``n2``) must be whole numbers (ValueError).
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np

from bayesma._validate import series_by_index
from bayesma.effects._common import ArrayLike, _fmt
from bayesma.errors import ArgumentTypeError, InputError, MissingDataWarning

__all__ = [
    "convert_d_to_logor",
    "convert_d_to_r",
    "convert_d_to_z",
    "convert_logor_to_d",
    "convert_logor_to_r",
    "convert_r_to_d",
    "convert_r_to_logor",
    "convert_r_to_z",
    "convert_z_to_d",
    "convert_z_to_r",
]


def _arr(value: ArrayLike, name: str) -> np.ndarray:
    """*value* as floats; a missing value (NaN) warns, a sample size that is not whole is an error."""
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be numeric, got {value!r}") from None
    if name in ("n", "n1", "n2"):
        _check(name, out, np.isfinite(out) & (out != np.round(out)),
               "a sample size must be a whole number (round an effective sample size first)")
    missing = np.isnan(out)
    if np.any(missing):
        where = [f"{name}[{i}]" for i in np.flatnonzero(np.atleast_1d(missing))[:10]] if out.ndim else [name]
        warnings.warn(f"{', '.join(where)}{' and more' if int(missing.sum()) > 10 else ''} "
                      f"{'is' if int(missing.sum()) == 1 else 'are'} missing (NaN), so the converted "
                      "value and/or its variance is NaN there", MissingDataWarning, stacklevel=_caller_level())
    return out


def _caller_level() -> int:
    """The *stacklevel* of a warning raised here that points at the caller of this module."""
    from bayesma import _validate

    skip = (__file__, _validate.__file__)  # this module and its decorators
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in skip:
        level, frame = level + 1, frame.f_back
    return level


def _where(name: str, arr: np.ndarray, mask: np.ndarray) -> str:
    """Name the first element where *mask* holds, e.g. ``r[3] = 1.2``."""
    if arr.ndim == 0:
        return f"{name} = {_fmt(float(arr))}"
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    pos = idx[0] if len(idx) == 1 else idx
    return f"{name}[{pos}] = {_fmt(float(arr[idx]))}"


def _check(name: str, arr: np.ndarray, mask: np.ndarray, what: str) -> None:
    mask = np.broadcast_to(mask, arr.shape)
    if np.any(mask):
        raise InputError(f"{_where(name, arr, mask)}: {what}")


def _out(est: np.ndarray, var: np.ndarray) -> tuple[Any, Any]:
    if np.ndim(est) == 0 and np.ndim(var) == 0:
        return float(est), float(var)
    return np.asarray(est, dtype=float), np.asarray(var, dtype=float)


def _check_r(r: np.ndarray, name: str = "r") -> None:
    _check(name, r, np.abs(r) >= 1, "a correlation must lie strictly between -1 and 1")


def _check_var(v: np.ndarray, name: str) -> None:
    _check(name, v, v < 0, "a variance must not be negative")


def _n_or_var_r(n: ArrayLike, var_r: ArrayLike, fname: str) -> None:
    """TypeError unless exactly one of the sample size *n* and the variance *var_r* is given."""
    if n is None and var_r is None:
        raise ArgumentTypeError(f"{fname}() needs the sample size n or the variance var_r")
    if n is not None and var_r is not None:
        raise ArgumentTypeError(f"{fname}(): give the sample size n or the variance var_r, not both")


def _r_variance(r: np.ndarray, n: ArrayLike, var_r: ArrayLike, fname: str, min_n: int) -> np.ndarray:
    """var_r from n (the large-sample (1 - r^2)^2 / (n - 1)) or as given."""
    _n_or_var_r(n, var_r, fname)
    if var_r is not None:
        v = _arr(var_r, "var_r")
        _check_var(v, "var_r")
        return v
    nn = _arr(n, "n")
    _check("n", nn, nn <= min_n, f"the sample size must be larger than {min_n}")
    return (1 - r**2) ** 2 / (nn - 1)


@series_by_index
def convert_r_to_d(
    r: ArrayLike, *, n: ArrayLike = None, var_r: ArrayLike = None, n1: ArrayLike = None, n2: ArrayLike = None
) -> tuple[Any, Any]:
    """Convert a (point-biserial) correlation to a standardized mean difference.

    ``d = sqrt(a) r / sqrt(1 - r^2)`` and ``var_d = a var_r / (1 - r^2)^3``
    with ``a = (n1 + n2)^2 / (n1 n2)``, or ``a = 4`` (equal groups) when the
    group sizes are not given; ``var_r = (1 - r^2)^2 / (n - 1)`` when the
    sample size is given (Borenstein et al. 2009, eqs. 7.5-7.8). This is the
    exact inverse of :func:`convert_d_to_r` with the same group sizes.

    Which relation: the correlation of a dichotomy with an outcome whose
    groups have n1 and n2 members is ``r = d / sqrt(d^2 + a)``. Borenstein et
    al.'s constant ``a = (n1 + n2)^2 / (n1 n2)`` is used in both directions
    (rather than the exact point-biserial relation via t, whose constant
    ``(n1 + n2)(n1 + n2 - 2) / (n1 n2)`` uses n1 + n2 - 2 degrees of freedom):
    it is the formula of the reference text that meta-analyses cite, it needs
    only the group proportions, and it reproduces published conversions (for
    r = -0.22, n = 124, equal groups: d = -0.451; the exact relation would
    give -0.447). The two differ by a factor ``sqrt(N / (N - 2))`` in d, under
    1% for N > 200.

    Parameters
    ----------
    r : float or array_like
        Correlation(s), strictly between -1 and 1.
    n : float or array_like, optional
        Total sample size(s) (> 1), for the variance of *r*. Give *n*, *var_r*,
        or the group sizes (then ``n = n1 + n2``).
    var_r : float or array_like, optional
        Sampling variance(s) of *r*.
    n1, n2 : float or array_like, optional
        Group sizes (give both or neither); without them the groups are taken
        to be equal (``a = 4``).

    Returns
    -------
    (d, var_d) : floats, or arrays for array input

    Raises
    ------
    ValueError
        ``|r| >= 1``, ``n <= 1``, a group size <= 0, ``n != n1 + n2`` or a
        negative variance, naming the element.
    TypeError
        Neither *n*, *var_r* nor the group sizes given; both *n* and *var_r*;
        only one of *n1*, *n2*.

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). *Introduction to
    Meta-Analysis*, chapter 7. Wiley.

    Examples
    --------
    >>> from bayesma import convert_r_to_d
    >>> d, v = convert_r_to_d(-0.22, n=124)
    >>> round(d, 3), round(v, 4)
    (-0.451, 0.0342)
    >>> d, v = convert_r_to_d(-0.22, n1=31, n2=93)
    >>> round(d, 3), round(v, 4)
    (-0.521, 0.0456)
    """
    rr = _arr(r, "r")
    _check_r(rr)
    a = _d_to_r_a(n1, n2, "convert_r_to_d")
    if n1 is not None:
        total = _arr(n1, "n1") + _arr(n2, "n2")
        if n is None and var_r is None:
            n = total
        elif n is not None:
            nn = _arr(n, "n")
            _check("n", nn, np.abs(nn - total) > 1e-9 * np.maximum(1.0, np.abs(total)),
                   "the total sample size differs from n1 + n2")
    vr = _r_variance(rr, n, var_r, "convert_r_to_d", 1)
    d = np.sqrt(a) * rr / np.sqrt(1 - rr**2)
    vd = a * vr / (1 - rr**2) ** 3
    return _out(d, vd)


def _d_to_r_a(n1: ArrayLike, n2: ArrayLike, fname: str) -> Any:
    if (n1 is None) != (n2 is None):
        raise ArgumentTypeError(f"{fname}(): give both group sizes n1 and n2, or neither")
    if n1 is None:
        return 4.0
    a1, a2 = _arr(n1, "n1"), _arr(n2, "n2")
    _check("n1", a1, a1 <= 0, "a group size must be positive")
    _check("n2", a2, a2 <= 0, "a group size must be positive")
    return (a1 + a2) ** 2 / (a1 * a2)


@series_by_index
def convert_d_to_r(d: ArrayLike, var_d: ArrayLike, *, n1: ArrayLike = None, n2: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a standardized mean difference to a (point-biserial) correlation.

    ``r = d / sqrt(d^2 + a)`` and ``var_r = a^2 var_d / (d^2 + a)^3`` with
    ``a = (n1 + n2)^2 / (n1 n2)``, or ``a = 4`` (equal groups) when the group
    sizes are not given (Borenstein et al. 2009, eqs. 7.7-7.8). The exact
    inverse of :func:`convert_r_to_d` with the same group sizes (which says
    why this constant rather than the exact point-biserial one).

    Parameters
    ----------
    d, var_d : float or array_like
        Standardized mean difference(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes (give both or neither).

    Returns
    -------
    (r, var_r) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_d_to_r
    >>> r, v = convert_d_to_r(0.5, 0.04)
    >>> round(r, 4), round(v, 5)
    (0.2425, 0.00834)
    """
    dd = _arr(d, "d")
    vd = _arr(var_d, "var_d")
    _check_var(vd, "var_d")
    a = _d_to_r_a(n1, n2, "convert_d_to_r")
    r = dd / np.sqrt(dd**2 + a)
    vr = a**2 * vd / (dd**2 + a) ** 3
    return _out(r, vr)


@series_by_index
def convert_r_to_z(r: ArrayLike, *, n: ArrayLike = None, var_r: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a correlation to Fisher's z.

    ``z = atanh(r) = 0.5 log((1 + r) / (1 - r))`` with ``var_z = 1 / (n - 3)``
    when the sample size is given (Borenstein et al. 2009, eqs. 6.2-6.3), or
    by the delta method ``var_z = var_r / (1 - r^2)^2`` from *var_r*.

    Parameters
    ----------
    r : float or array_like
        Correlation(s), strictly between -1 and 1.
    n : float or array_like, optional
        Sample size(s), larger than 3. Give *n* or *var_r*.
    var_r : float or array_like, optional
        Sampling variance(s) of *r*.

    Returns
    -------
    (z, var_z) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_r_to_z
    >>> z, v = convert_r_to_z(0.5, n=103)
    >>> round(z, 4), v
    (0.5493, 0.01)
    """
    rr = _arr(r, "r")
    _check_r(rr)
    _n_or_var_r(n, var_r, "convert_r_to_z")
    z = np.arctanh(rr)
    if n is not None:
        nn = _arr(n, "n")
        _check("n", nn, nn <= 3, "the variance of Fisher's z needs a sample size larger than 3")
        vz = 1 / (nn - 3) + 0 * rr
    else:
        vr = _arr(var_r, "var_r")
        _check_var(vr, "var_r")
        vz = vr / (1 - rr**2) ** 2
    return _out(z, vz)


@series_by_index
def convert_z_to_r(z: ArrayLike, var_z: ArrayLike) -> tuple[Any, Any]:
    """Convert Fisher's z back to a correlation.

    ``r = tanh(z)`` and, by the delta method, ``var_r = (1 - r^2)^2 var_z``;
    the inverse of :func:`convert_r_to_z` with ``var_r``.

    Parameters
    ----------
    z, var_z : float or array_like
        Fisher's z value(s) and their sampling variance(s).

    Returns
    -------
    (r, var_r) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_z_to_r
    >>> r, v = convert_z_to_r(0.5493, 0.01)
    >>> round(r, 3), round(v, 5)
    (0.5, 0.00563)
    """
    zz = _arr(z, "z")
    vz = _arr(var_z, "var_z")
    _check_var(vz, "var_z")
    r = np.tanh(zz)
    vr = (1 - r**2) ** 2 * vz
    return _out(r, vr)


@series_by_index
def convert_d_to_z(d: ArrayLike, var_d: ArrayLike, *, n1: ArrayLike = None, n2: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a standardized mean difference to Fisher's z, through r.

    :func:`convert_d_to_r`, then :func:`convert_r_to_z` with the variance of r.

    Parameters
    ----------
    d, var_d : float or array_like
        Standardized mean difference(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes (give both or neither).

    Returns
    -------
    (z, var_z) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_d_to_z
    >>> z, v = convert_d_to_z(0.5, 0.04)
    >>> round(z, 4), round(v, 5)
    (0.2475, 0.00941)
    """
    r, vr = convert_d_to_r(d, var_d, n1=n1, n2=n2)
    return convert_r_to_z(r, var_r=vr)


@series_by_index
def convert_z_to_d(z: ArrayLike, var_z: ArrayLike, *, n1: ArrayLike = None, n2: ArrayLike = None) -> tuple[Any, Any]:
    """Convert Fisher's z to a standardized mean difference, through r.

    :func:`convert_z_to_r`, then :func:`convert_r_to_d` with the variance of r.

    Parameters
    ----------
    z, var_z : float or array_like
        Fisher's z value(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes for the r-to-d step (give both or neither).

    Returns
    -------
    (d, var_d) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_z_to_d
    >>> d, v = convert_z_to_d(0.2475, 0.00941)
    >>> round(d, 2), round(v, 3)
    (0.5, 0.04)
    """
    r, vr = convert_z_to_r(z, var_z)
    return convert_r_to_d(r, var_r=vr, n1=n1, n2=n2)


@series_by_index
def convert_logor_to_d(logor: ArrayLike, var_logor: ArrayLike) -> tuple[Any, Any]:
    """Convert a log odds ratio to a standardized mean difference.

    ``d = log(OR) sqrt(3) / pi`` and ``var_d = var_logor 3 / pi^2``
    (the logistic-distribution method; Borenstein et al. 2009, eqs. 7.1-7.2).

    Parameters
    ----------
    logor, var_logor : float or array_like
        Log odds ratio(s) and their sampling variance(s).

    Returns
    -------
    (d, var_d) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_logor_to_d
    >>> d, v = convert_logor_to_d(0.9069, 0.0676)
    >>> round(d, 4), round(v, 4)
    (0.5, 0.0205)
    """
    lo = _arr(logor, "logor")
    vl = _arr(var_logor, "var_logor")
    _check_var(vl, "var_logor")
    return _out(lo * math.sqrt(3) / math.pi, vl * 3 / math.pi**2)


@series_by_index
def convert_d_to_logor(d: ArrayLike, var_d: ArrayLike) -> tuple[Any, Any]:
    """Convert a standardized mean difference to a log odds ratio.

    ``log(OR) = d pi / sqrt(3)`` and ``var_logor = var_d pi^2 / 3``
    (Borenstein et al. 2009, eqs. 7.3-7.4).

    Parameters
    ----------
    d, var_d : float or array_like
        Standardized mean difference(s) and their sampling variance(s).

    Returns
    -------
    (logor, var_logor) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_d_to_logor
    >>> lo, v = convert_d_to_logor(0.5, 0.0205)
    >>> round(lo, 4), round(v, 4)
    (0.9069, 0.0674)
    """
    dd = _arr(d, "d")
    vd = _arr(var_d, "var_d")
    _check_var(vd, "var_d")
    return _out(dd * math.pi / math.sqrt(3), vd * math.pi**2 / 3)


@series_by_index
def convert_r_to_logor(
    r: ArrayLike, *, n: ArrayLike = None, var_r: ArrayLike = None, n1: ArrayLike = None, n2: ArrayLike = None
) -> tuple[Any, Any]:
    """Convert a correlation to a log odds ratio, through d.

    :func:`convert_r_to_d`, then :func:`convert_d_to_logor`.

    Parameters
    ----------
    r : float or array_like
        Correlation(s), strictly between -1 and 1.
    n : float or array_like, optional
        Sample size(s). Give *n* or *var_r*.
    var_r : float or array_like, optional
        Sampling variance(s) of *r*.
    n1, n2 : float or array_like, optional
        Group sizes for the r-to-d step (give both or neither).

    Returns
    -------
    (logor, var_logor) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_r_to_logor
    >>> lo, v = convert_r_to_logor(-0.22, n=124)
    >>> round(lo, 3), round(v, 3)
    (-0.818, 0.112)
    """
    d, vd = convert_r_to_d(r, n=n, var_r=var_r, n1=n1, n2=n2)
    return convert_d_to_logor(d, vd)


@series_by_index
def convert_logor_to_r(
    logor: ArrayLike, var_logor: ArrayLike, *, n1: ArrayLike = None, n2: ArrayLike = None
) -> tuple[Any, Any]:
    """Convert a log odds ratio to a correlation, through d.

    :func:`convert_logor_to_d`, then :func:`convert_d_to_r`.

    Parameters
    ----------
    logor, var_logor : float or array_like
        Log odds ratio(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes for the d-to-r step (give both or neither).

    Returns
    -------
    (r, var_r) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_logor_to_r
    >>> r, v = convert_logor_to_r(-0.818, 0.112)
    >>> round(r, 2)
    -0.22
    """
    d, vd = convert_logor_to_d(logor, var_logor)
    return convert_d_to_r(d, vd, n1=n1, n2=n2)
