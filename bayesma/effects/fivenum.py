"""Means and standard deviations from medians, quartiles and ranges, as ``metafor::conv.fivenum``.

Three cases by what a study reports: the minimum, median and maximum (S1); the quartiles and
median (S2); all five numbers (S3). The default estimates the mean as Luo et al. (2018) and the
SD as Wan et al. (2014) for S1 and S2 and Shi et al. (2020) for S3 (metafor's ``"luo/wan/shi"``),
after Shi et al.'s (2023) test for skewness: a study whose numbers are too asymmetric for a
normal distribution gets no estimate (with a warning naming it), since every formula here
assumes one.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import quad
from scipy.stats import norm

from bayesma._validate import study_name
from bayesma.effects._common import ArrayLike
from bayesma.effects._fill import check_replace, fill_columns
from bayesma.effects.published import _fail, _inputs, _var_names
from bayesma.errors import ArgumentTypeError, DataWarning, InputError

__all__ = ["FIVENUM_METHODS", "conv_fivenum"]

#: method -> (estimates the mean, estimates the SD); metafor's names
FIVENUM_METHODS: dict[str, tuple[bool, bool]] = {
    "luo/wan/shi": (True, True), "luo2016": (True, False), "wan2014": (True, True), "shi2020": (False, True),
    "hozo2005": (True, True), "bland2015": (True, True), "walter2007": (True, True),
}


def _methods(method: str | Sequence[str]) -> tuple[str, str]:
    """(method for the mean, method for the SD); ``"default"`` is ``"luo/wan/shi"``."""
    pair = [method, method] if isinstance(method, str) else list(method)
    if len(pair) != 2:
        raise InputError(f"method must be one name or a pair (mean, SD), got {method!r}")
    out = []
    for which, name in zip((0, 1), pair):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"method must be a string, got {name!r}")
        name = "luo/wan/shi" if name.lower() == "default" else name.lower()
        if name not in FIVENUM_METHODS or not FIVENUM_METHODS[name][which]:
            known = [m for m, can in FIVENUM_METHODS.items() if can[which]]
            raise InputError(f"method {name!r} cannot estimate the {('mean', 'SD')[which]}; choose one of "
                             f"{['default'] + known}")
        out.append(name)
    return out[0], out[1]


def _skew_test(case: np.ndarray, v: dict[str, np.ndarray], n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shi et al. (2023): the statistic and its critical value for each study's case."""
    mn, q1, md, q3, mx = (v[c] for c in ("min", "q1", "median", "q3", "max"))
    with np.errstate(invalid="ignore", divide="ignore"):
        t1 = np.abs((mn + mx - 2 * md) / (mx - mn))
        t2 = np.abs((q1 + q3 - 2 * md) / (q3 - q1))
        t3 = np.maximum(2.65 * np.log(0.6 * n) / np.sqrt(n) * t1, t2)
        stat = np.select([case == 1, case == 2, case == 3], [t1, t2, t3], np.nan)
        crit = np.select([case == 1, case == 2, case == 3],
                         [1 / np.log(n + 9) + 2.5 / (n + 1), 2.65 / np.sqrt(n) - 6 / n**2, 3 / np.sqrt(n) - 40 / n**3],
                         np.nan)
    return stat, crit


def _walter_constant(n: float) -> float:
    """Expected range of n standard normal draws (Walter & Yao 2007)."""
    return quad(lambda z: 1 - (1 - norm.cdf(z)) ** n - norm.cdf(z) ** n, -np.inf, np.inf)[0]


def _mean(method: str, case: np.ndarray, v: dict[str, np.ndarray], n: np.ndarray) -> np.ndarray:
    mn, q1, md, q3, mx = (v[c] for c in ("min", "q1", "median", "q3", "max"))
    nan = np.full(n.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method in ("luo/wan/shi", "luo2016"):  # Luo et al. (2018)
            w1 = 4 / (4 + n**0.75)
            s1 = w1 * (mn + mx) / 2 + (1 - w1) * md
            w2 = 0.7 + 0.39 / n
            s2 = w2 * (q1 + q3) / 2 + (1 - w2) * md
            a, b = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
            s3 = a * (mn + mx) / 2 + b * (q1 + q3) / 2 + (1 - a - b) * md
        elif method == "wan2014":  # Wan et al. (2014)
            s1, s2, s3 = (mn + 2 * md + mx) / 4, (q1 + md + q3) / 3, (mn + 2 * q1 + 2 * md + 2 * q3 + mx) / 8
        elif method == "bland2015":
            s1, s2, s3 = nan, nan, (mn + 2 * q1 + 2 * md + 2 * q3 + mx) / 8
        elif method == "hozo2005":
            s1, s2, s3 = np.where(n <= 25, (mn + 2 * md + mx) / 4, md), nan, nan
        else:  # walter2007
            s1, s2, s3 = md, nan, nan
    return np.select([case == 1, case == 2, case == 3], [s1, s2, s3], np.nan)


def _sd(method: str, case: np.ndarray, v: dict[str, np.ndarray], n: np.ndarray) -> np.ndarray:
    mn, q1, md, q3, mx = (v[c] for c in ("min", "q1", "median", "q3", "max"))
    nan = np.full(n.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        xi = 2 * norm.ppf((n - 0.375) / (n + 0.25))       # Wan et al. (2014), expected range / sigma
        eta = 2 * norm.ppf((0.75 * n - 0.125) / (n + 0.25))  # and expected IQR / sigma
        wan1, wan2 = (mx - mn) / xi, (q3 - q1) / eta
        if method in ("luo/wan/shi", "shi2020", "wan2014"):
            s1, s2 = (wan1, wan2) if method != "shi2020" else (nan, nan)  # Shi et al. is for S3 only
            if method == "wan2014":
                s3 = (wan1 + wan2) / 2
            else:  # Shi et al. (2020)
                w = 1 / (1 + 0.07 * n**0.6)
                s3 = w * wan1 + (1 - w) * wan2
        elif method == "bland2015":
            s1, s2 = nan, nan
            s3 = np.sqrt((mn**2 + 2 * q1**2 + 2 * md**2 + 2 * q3**2 + mx**2) / 16
                         + (mn * q1 + q1 * md + md * q3 + q3 * mx) / 8
                         - (mn + 2 * q1 + 2 * md + 2 * q3 + mx) ** 2 / 64)
        elif method == "hozo2005":
            small = np.sqrt(((mn - 2 * md + mx) ** 2 / 4 + (mx - mn) ** 2) / 12)
            s1 = np.where(n <= 15, small, np.where(n <= 70, (mx - mn) / 4, (mx - mn) / 6))
            s2, s3 = nan, nan
        else:  # walter2007
            const = np.array([_walter_constant(float(m)) if np.isfinite(m) else np.nan for m in n])
            s1, s2, s3 = (mx - mn) / const, nan, nan
    return np.select([case == 1, case == 2, case == 3], [s1, s2, s3], np.nan)


def conv_fivenum(
    min: ArrayLike = None,  # noqa: A002 - metafor's argument names
    q1: ArrayLike = None,
    median: ArrayLike = None,
    q3: ArrayLike = None,
    max: ArrayLike = None,  # noqa: A002
    *,
    n: ArrayLike,
    data: pd.DataFrame | None = None,
    method: str | Sequence[str] = "default",
    test: bool = True,
    var_names: Sequence[str] = ("mean", "sd"),
    replace: str | bool = "ifna",
    labels: ArrayLike = None,
) -> pd.DataFrame:
    """Estimate means and SDs from the median with the range and/or quartiles, as ``metafor::conv.fivenum``.

    A study reports the minimum, median and maximum (case S1), the first quartile, median and
    third quartile (S2), or all five (S3); other combinations get no estimate.

    Parameters
    ----------
    min, q1, median, q3, max : array_like or str, optional
        The five-number summary (one value per study, NaN where not reported), or columns of
        *data*.
    n : array_like or str
        Sample sizes (at least 5, as metafor requires; keyword-only).
    data : pandas.DataFrame, optional
        Table holding the named columns; the result is this table with *var_names* filled.
    method : str or (str, str)
        ``"default"`` (metafor's ``"luo/wan/shi"``): mean of Luo et al. (2018), SD of Wan et
        al. (2014) in S1 and S2 and of Shi et al. (2020) in S3. Also ``"wan2014"`` (mean and
        SD of Wan et al.), ``"hozo2005"`` (S1 only), ``"bland2015"`` (S3 only),
        ``"walter2007"`` (S1: the median, and the range over the expected normal range),
        and a pair (mean method, SD method) such as ``("luo2016", "shi2020")``.
    test : bool
        Shi et al.'s (2023) test for skewness first (default): a study whose summary is too
        asymmetric for a normal distribution gets NaN, with a DataWarning naming it.
    var_names : (str, str)
        Names of the mean and SD columns.
    replace : {"ifna", "all"} or bool
        Keep existing means and SDs in *data* (default) or overwrite them (see
        :func:`conv_wald`).
    labels : array_like or str, optional
        Study labels for the messages (``slab=`` is its alias).

    Returns
    -------
    pandas.DataFrame
        *data* (or a new table) with the columns *var_names*; ``attrs["skew_test"]`` holds a
        table of each study's case, test statistic, critical value and whether it was
        significant.

    Raises
    ------
    InputError
        A summary out of order (not min <= q1 <= median <= q3 <= max), an n below 5, or an
        unknown method, naming the study.

    Notes
    -----
    Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample
    size, median, mid-range, and/or mid-quartile range. Statistical Methods in Medical Research
    27(6):1785-1805. Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and
    standard deviation from the sample size, median, range and/or interquartile range. BMC
    Medical Research Methodology 14:135. Shi J, Luo D, Weng H, et al. (2020). Optimally
    estimating the sample standard deviation from the five-number summary. Research Synthesis
    Methods 11(5):641-654. Shi J, Luo D, Wan X, et al. (2023). Detecting the skewness of data
    from the five-number summary and its application in meta-analysis. Statistical Methods in
    Medical Research 32(7):1338-1360. Hozo SP, Djulbegovic B, Hozo I (2005), BMC Med Res
    Methodol 5:13; Bland M (2015), Int J Stat Med Res 4:57-64; Walter SD, Yao X (2007), J Clin
    Epidemiol 60:849-852. Follows metafor 4's ``conv.fivenum`` (normal data; its ``dist="lnorm"``
    and the methods of the packages estmeansd and metaBLUE are not here); checked against
    metafor 5.0-1's sources (tests/data/reference/metafor/metafor_conv.R).

    Examples
    --------
    >>> import bayesma as bm
    >>> bm.conv_fivenum(min=[2, None, 2], q1=[None, 4, 4], median=[6, 6, 6], q3=[None, 10, 10],
    ...                 max=[14, None, 14], n=[20, 20, 20]).round(4)
         mean      sd
    0  6.5945  3.2116
    1  6.7195  4.7871
    2  6.9388  3.6794
    """
    m_mean, m_sd = _methods(method)
    replace = check_replace(replace)
    names = _var_names(var_names)
    given = {"min": min, "q1": q1, "median": median, "q3": q3, "max": max, "n": n}
    if all(given[c] is None for c in ("min", "q1", "median", "q3", "max")):
        raise ArgumentTypeError("conv_fivenum needs some of min, q1, median, q3, max")
    x, lab, k = _inputs(data, given, labels)
    cols = {c: (s if isinstance(s, str) else c) for c, s in given.items()}
    nn = x["n"]
    _fail(nn < 5, lab, cols["n"], "has a sample size below 5, too small to estimate a mean and SD from quantiles")
    _check_order(x, lab, cols)
    has = {c: ~np.isnan(x[c]) for c in ("min", "q1", "median", "q3", "max")}
    both_q, both_r = has["q1"] & has["q3"], has["min"] & has["max"]
    case = np.select([has["median"] & both_r & ~has["q1"] & ~has["q3"],
                      has["median"] & both_q & ~has["min"] & ~has["max"],
                      has["median"] & both_r & both_q], [1, 2, 3], 0)
    case = np.where(np.isnan(nn), 0, case)
    stat, crit = _skew_test(case, x, nn)
    sig = (case > 0) & (stat >= crit)
    means, sds = _mean(m_mean, case, x, nn), _sd(m_sd, case, x, nn)
    if test and sig.any():
        means[sig], sds[sig] = np.nan, np.nan
        rows = np.flatnonzero(sig)
        warnings.warn(f"conv_fivenum: the summary of {', '.join(study_name(lab, int(i)) for i in rows)} is too "
                      "skewed for a normal distribution (Shi et al. 2023's test), so no mean and SD are "
                      "estimated there (test=False estimates them anyway)", DataWarning, stacklevel=2)
    out = fill_columns(data, {names[0]: means, names[1]: sds}, replace, lab, "conv_fivenum", stacklevel=3)
    out.attrs["skew_test"] = pd.DataFrame({"case": np.where(case > 0, np.char.add("S", case.astype(str)), ""),
                                           "stat": stat, "crit": crit, "sig": sig})
    return out


def _check_order(x: dict[str, np.ndarray], lab: list[Any] | None, cols: dict[str, str]) -> None:
    order = ("min", "q1", "median", "q3", "max")
    for i in range(k := len(x["median"])):
        vals = [(c, x[c][i]) for c in order if not np.isnan(x[c][i])]
        for (c1, v1), (c2, v2) in zip(vals, vals[1:]):
            if v1 > v2:
                mask = np.zeros(k, dtype=bool)
                mask[i] = True
                _fail(mask, lab, cols[c1], f"has {c1} = {v1:g} above {c2} = {v2:g} "
                      "(a summary must satisfy min <= q1 <= median <= q3 <= max)")
