"""Mantel-Haenszel and Peto common-effect meta-analysis of 2x2 tables and of rates
(metafor's ``rma.mh`` and ``rma.peto``).

The pooled estimate comes from the tables themselves, not from inverse-variance weights of
the study estimates: the Mantel-Haenszel estimators of the odds ratio, the risk ratio and
the risk difference (with the variances of Robins, Breslow & Greenland 1986 for the odds
ratio, Greenland & Robins 1985 for the others), of the incidence rate ratio and
difference, and Peto's one-step odds ratio (Yusuf et al. 1985). The test of heterogeneity
uses the study estimates (computed as :func:`bayesma.escalc` does, with the zero-cell
correction ``add``/``to``/``drop00``) against the pooled estimate; for odds ratios the
Cochran-Mantel-Haenszel test and the Breslow-Day and Tarone tests of homogeneity are
reported as well.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._validate import label_alias, study_name
from bayesma.effects import escalc
from bayesma.errors import ArgumentTypeError, InputError, MissingDataWarning
from bayesma.frequentist.mh.result import (
    MHResult,
    _check_options,
    _correct,
    _finish,
    _omit_missing,
    _tables,
    _two_by_two,
)

__all__ = ["MHResult", "rma_mh", "rma_peto"]


# ---------------------------------------------------------------------------
# Mantel-Haenszel


@label_alias
def rma_mh(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    measure: str = "OR",
    data: pd.DataFrame | None = None,
    slab: Any = None,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    correct: bool = True,
    level: float = 0.95,
) -> MHResult:
    """Mantel-Haenszel common-effect meta-analysis (metafor's ``rma.mh``).

    Parameters
    ----------
    ai, bi, ci, di : array_like or str, optional
        2x2 tables: events and non-events in group 1 (ai, bi) and group 2 (ci, di); or
        give *n1i*, *n2i* (group sizes) instead of *bi*, *di*. For OR, RR and RD.
    n1i, n2i : array_like or str, optional
        Group sizes (with *ai*, *ci*), instead of *bi*, *di*.
    x1i, x2i, t1i, t2i : array_like or str, optional
        Events and person-times in groups 1 and 2, for IRR and IRD.
    measure : {"OR", "RR", "RD", "IRR", "IRD"}
        Odds ratio, risk ratio, risk difference, incidence rate ratio or difference
        (ratios are estimated on the log scale).
    data : pandas.DataFrame, optional
        Table holding the named columns.
    slab : array_like or str, optional
        Study labels.
    add, to, drop00 : optional
        metafor's zero-cell options, one value or a pair: the first for the study
        estimates of the heterogeneity test (default ``add=1/2``, ``to="only0"``,
        ``drop00=True``: studies without events in both groups are left out), the
        second for the Mantel-Haenszel estimate (default no correction: 0, "none",
        False).
    correct : bool
        Continuity correction of the Cochran-Mantel-Haenszel test (default True).
    level : float
        Confidence level, 0.95 or 95.

    Returns
    -------
    MHResult

    Raises
    ------
    TypeError
        Missing arguments for the measure.
    ValueError
        Unknown measure or option; negative counts; more events than the group size.

    References
    ----------
    Mantel, N., & Haenszel, W. (1959). J Natl Cancer Inst, 22, 719-748. Robins, J., Breslow,
    N., & Greenland, S. (1986). Biometrics, 42, 311-323. Greenland, S., & Robins, J. M.
    (1985). Biometrics, 41, 55-68. Breslow, N. E., & Day, N. E. (1980). Statistical Methods
    in Cancer Research I. Tarone, R. E. (1985). Biometrika, 72, 91-95. metafor 3.8-1, ``rma.mh``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, measure="OR")
    >>> round(res.beta, 4), round(res.se, 4)
    (-0.4734, 0.041)
    """
    if measure not in ("OR", "RR", "RD", "IRR", "IRD"):
        raise InputError(f"the Mantel-Haenszel method takes measure 'OR', 'RR', 'RD', 'IRR' or 'IRD', got {measure!r}")
    add1, add2, to1, to2, drop1, drop2, level = _check_options(add, to, drop00, level)
    if measure in ("IRR", "IRD"):
        if any(v is not None for v in (ai, bi, ci, di, n1i, n2i)):
            raise ArgumentTypeError(f"measure {measure!r} takes x1i, x2i, t1i, t2i (events and person-times), not 2x2 tables")
        return _mh_rates(x1i, x2i, t1i, t2i, measure, data, slab, add1, add2, to1, to2, drop1, drop2, correct, level)
    if any(v is not None for v in (x1i, x2i, t1i, t2i)):
        raise ArgumentTypeError(f"measure {measure!r} takes 2x2 tables (ai, bi, ci, di or ai, n1i, ci, n2i), not rates")
    a, b, c, d, labels = _two_by_two(ai, bi, ci, di, n1i, n2i, data, slab)
    tables = {"ai": a.copy(), "bi": b.copy(), "ci": c.copy(), "di": d.copy()}
    options = {"measure": measure, "add": (add1, add2), "to": (to1, to2), "drop00": (drop1, drop2),
               "correct": correct, "level": level}
    # study estimates for the heterogeneity test
    a1, b1, c1, d1 = _study_tables(a, b, c, d, drop1, labels, drop2)
    es = _study_estimates(measure, a1, b1, c1, d1, add1, to1)
    yi, vi = es["yi"].to_numpy(), es["vi"].to_numpy()
    # the tables pooled
    a, b, c, d = _pooled_tables(a, b, c, d, labels, drop2, add2, to2)
    k = len(a)
    n1, n2 = a + b, c + d
    N = n1 + n2
    extra: dict[str, Any] = {}
    if measure == "OR":
        P, Q = (a + d) / N, (b + c) / N
        R, S = a * d / N, b * c / N
        Rs, Ss = R.sum(), S.sum()
        if Rs == 0 or Ss == 0:
            beta = se = np.nan
        else:
            beta = float(np.log(Rs / Ss))
            se = float(np.sqrt(0.5 * (np.sum(P * R) / Rs**2 + np.sum(P * S + Q * R) / (Rs * Ss) + np.sum(Q * S) / Ss**2)))
        xt, yt = a + c, b + d
        if xt.sum() > 0 and yt.sum() > 0:
            num = (abs(np.sum(a - (n1 / N) * xt)) - (0.5 if correct else 0.0)) ** 2
            CO = num / np.sum((n1 / N) * (n2 / N) * (xt * (yt / N)))
            MH = num / np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1))))
            extra.update(CO=float(CO), COp=float(stats.chi2.sf(CO, 1)), MH=float(MH), MHp=float(stats.chi2.sf(MH, 1)))
        extra.update(_breslow_day(a, n1, n2, N, xt, yt, beta))
    elif measure == "RR":
        R, S = np.sum(a * n2 / N), np.sum(c * n1 / N)
        if a.sum() == 0 or c.sum() == 0:
            beta = se = np.nan
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c) / (R * S)))
    else:  # RD
        W = np.sum(n1 * n2 / N)
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / W)
        se = float(np.sqrt((beta * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2)
                            + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2) / W**2))
    return _finish("MH", measure, level, beta, se, yi, vi, k, labels, extra, tables=tables, options=options,
                   fitter=rma_mh)


def _study_tables(a, b, c, d, drop, labels=None, drop_pooled=True):
    """Copies of the tables for the study-level estimates; with *drop* (``drop00[0]``) the
    tables with no events or no non-events in both groups set to NaN, with a warning that
    names them as double-zero studies (not as missing values) and says what happens to them."""
    a1, b1, c1, d1 = a.copy(), b.copy(), c.copy(), d.copy()
    if drop:
        both = ((a1 == 0) & (c1 == 0)) | ((b1 == 0) & (d1 == 0))
        if np.any(both):
            _warn_double_zero(both, (b1 == 0) & (d1 == 0), labels, drop_pooled)
        for arr in (a1, b1, c1, d1):
            arr[both] = np.nan
    return a1, b1, c1, d1


def _warn_double_zero(both: np.ndarray, all_events: np.ndarray, labels: Any, drop_pooled: bool) -> None:
    idx = np.flatnonzero(both)
    names = ", ".join(study_name(labels, int(i)) for i in idx[:10]) + (" and more" if idx.size > 10 else "")
    what = ("no events in either group" if not np.any(all_events[idx])
            else "no events (or only events) in both groups")
    pooled = ("is also left out of the pooled estimate (drop00's second value)" if drop_pooled
              else "still counts in the pooled estimate")
    warnings.warn(
        f"{names}: double-zero stud{'y' if idx.size == 1 else 'ies'} ({what}); as metafor's drop00=TRUE, "
        f"{'its' if idx.size == 1 else 'their'} study-level estimate (yi, vi) is left undefined, so "
        f"{'it is' if idx.size == 1 else 'they are'} left out of the test for heterogeneity (Q, I²), and "
        f"{'it' if idx.size == 1 else 'each'} {pooled}", MissingDataWarning, stacklevel=4)


def _pooled_tables(a, b, c, d, labels, drop, add, to):
    """The tables that are pooled: missing ones omitted, with *drop* (``drop00[1]``) the
    double-zero ones removed, then the continuity correction *add* applied *to* them."""
    a, b, c, d = _omit_missing([a, b, c, d], labels)
    if drop:
        keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    a, b, c, d = _correct([a, b, c, d], add, to)
    return a, b, c, d


def _study_estimates(measure, a, b, c, d, add, to):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return escalc(measure, ai=a, bi=b, ci=c, di=d, add=add, to=to)


def _breslow_day(a, n1, n2, N, xt, yt, beta) -> dict[str, Any]:
    if not np.isfinite(beta):
        return {"k_pos": 0}
    psi = np.exp(beta)
    if psi == 1:
        N11 = (n1 / N) * xt
    else:
        A = psi * (n1 + xt) + (n2 - xt)
        B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
        N11 = (A - B) / (2 * (psi - 1))
    pos = (N11 > 0) & (xt > 0) & (yt > 0)
    k_pos = int(pos.sum())
    N11 = N11[pos]
    N12 = n1[pos] - N11
    N21 = xt[pos] - N11
    N22 = N11 - n1[pos] - xt[pos] + N[pos]
    v = 1.0 / (1 / N11 + 1 / N12 + 1 / N21 + 1 / N22)
    BD = max(0.0, float(np.sum((a[pos] - N11) ** 2 / v)))
    TA = max(0.0, BD - float(np.sum(a[pos] - N11) ** 2 / np.sum(v)))
    out: dict[str, Any] = {"BD": BD, "TA": TA, "k_pos": k_pos}
    if k_pos > 1:
        out.update(BDp=float(stats.chi2.sf(BD, k_pos - 1)), TAp=float(stats.chi2.sf(TA, k_pos - 1)))
    return out


def _mh_rates(x1i, x2i, t1i, t2i, measure, data, slab, add1, add2, to1, to2, drop1, drop2, correct, level):
    if any(v is None for v in (x1i, x2i, t1i, t2i)):
        raise ArgumentTypeError(f"measure {measure!r} needs x1i, x2i, t1i, t2i (events and person-times of groups 1 and 2)")
    x, labels = _tables({"x1i": x1i, "x2i": x2i, "t1i": t1i, "t2i": t2i}, data, slab)
    x1, x2, t1, t2 = x["x1i"], x["x2i"], x["t1i"], x["t2i"]
    tables = {name: v.copy() for name, v in x.items()}
    options = {"measure": measure, "add": (add1, add2), "to": (to1, to2), "drop00": (drop1, drop2),
               "correct": correct, "level": level}
    e1, e2 = x1.copy(), x2.copy()
    if drop1:
        both = (e1 == 0) & (e2 == 0)
        e1[both] = np.nan
        e2[both] = np.nan
    e1, e2 = _correct([e1, e2], add1, to1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "IRR":
            yi = np.log(e1 / t1) - np.log(e2 / t2)
            vi = 1 / e1 + 1 / e2
        else:
            yi = e1 / t1 - e2 / t2
            vi = e1 / t1**2 + e2 / t2**2
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    x1, x2, t1, t2 = _omit_missing([x1, x2, t1, t2], labels)
    if drop2:
        keep = ~((x1 == 0) & (x2 == 0))
        x1, x2, t1, t2 = x1[keep], x2[keep], t1[keep], t2[keep]
    x1, x2 = _correct([x1, x2], add2, to2)
    T = t1 + t2
    extra: dict[str, Any] = {}
    if measure == "IRR":
        R, S = np.sum(x1 * t2 / T), np.sum(x2 * t1 / T)
        if x1.sum() == 0 or x2.sum() == 0:
            beta = se = np.nan
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((t1 / T) * (t2 / T) * (x1 + x2)) / (R * S)))
        xt = x1 + x2
        if xt.sum() > 0:
            MH = (abs(np.sum(x1 - xt * (t1 / T))) - (0.5 if correct else 0.0)) ** 2 / np.sum(xt * (t1 / T) * (t2 / T))
            extra.update(MH=float(MH), MHp=float(stats.chi2.sf(MH, 1)))
    else:
        W = np.sum(t1 * t2 / T)
        beta = float(np.sum((x1 * t2 - x2 * t1) / T) / W)
        se = float(np.sqrt(np.sum((t1 * t2 / T) ** 2 * (x1 / t1**2 + x2 / t2**2))) / W)
    return _finish("MH", measure, level, beta, se, yi, vi, len(x1), labels, extra, tables=tables, options=options,
                   fitter=rma_mh)


# ---------------------------------------------------------------------------
# Peto


@label_alias
def rma_peto(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    data: pd.DataFrame | None = None,
    slab: Any = None,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    level: float = 0.95,
) -> MHResult:
    """Peto's one-step common-effect meta-analysis of odds ratios (metafor's ``rma.peto``).

    Parameters
    ----------
    ai, bi, ci, di : array_like or str, optional
        2x2 tables: events and non-events in groups 1 and 2 (or give *n1i*, *n2i*).
    n1i, n2i : array_like or str, optional
        Group sizes.
    data : pandas.DataFrame, optional
    slab : array_like or str, optional
    add, to, drop00 : optional
        Zero-cell options for the study estimates and (second value) for the pooling,
        as in :func:`rma_mh`.
    level : float

    Returns
    -------
    MHResult
        ``method="Peto"``, ``measure="OR"`` (log odds ratio).

    Raises
    ------
    ValueError
        One of the outcomes never occurs in any table; negative counts.

    References
    ----------
    Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade during
    and after myocardial infarction. Progress in Cardiovascular Diseases, 27, 335-371.
    metafor 3.8-1, ``rma.peto``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_peto(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> round(res.beta, 4)
    -0.4744
    """
    add1, add2, to1, to2, drop1, drop2, level = _check_options(add, to, drop00, level)
    a, b, c, d, labels = _two_by_two(ai, bi, ci, di, n1i, n2i, data, slab)
    tables = {"ai": a.copy(), "bi": b.copy(), "ci": c.copy(), "di": d.copy()}
    options = {"add": (add1, add2), "to": (to1, to2), "drop00": (drop1, drop2), "level": level}
    a1, b1, c1, d1 = _study_tables(a, b, c, d, drop1, labels, drop2)
    a1, b1, c1, d1 = _correct([a1, b1, c1, d1], add1, to1)
    with np.errstate(divide="ignore", invalid="ignore"):
        n1s, n2s = a1 + b1, c1 + d1
        Ns = n1s + n2s
        Vs = (a1 + c1) * (b1 + d1) * (n1s / Ns) * (n2s / Ns) / (Ns - 1)
        yi = (a1 - (a1 + c1) * n1s / Ns) / Vs
        vi = 1 / Vs
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    a, b, c, d = _pooled_tables(a, b, c, d, labels, drop2, add2, to2)
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    if V.sum() == 0:
        raise InputError("one of the two outcomes never occurs in any of the tables; Peto's method cannot be used")
    beta = float(np.sum(a - E) / V.sum())
    se = float(np.sqrt(1.0 / V.sum()))
    k_pos = int(np.sum(V > 0))
    Vn = np.where(V == 0, np.nan, V)
    QE_peto = max(0.0, float(np.nansum((a - E) ** 2 / Vn) - np.sum(a - E) ** 2 / np.nansum(Vn)))

    def qe(k_yi: int):
        if k_pos > 1:
            return (QE_peto, float(stats.chi2.sf(QE_peto, k_yi - 1)),
                    max(0.0, 100.0 * (QE_peto - (k_yi - 1)) / QE_peto) if QE_peto > 0 else 0.0, QE_peto / (k_yi - 1))
        return QE_peto, 1.0, 0.0, 1.0

    return _finish("Peto", "OR", level, beta, se, yi, vi, len(a), labels, {"k_pos": k_pos}, qe=qe, tables=tables,
                   options=options, fitter=rma_peto)
