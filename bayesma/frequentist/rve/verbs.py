"""clubSandwich's verbs on bayesma fits: :func:`coef_test` and :func:`wald_test`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.coefs import resolve_btt
from bayesma.errors import InputError
from bayesma.frequentist.rve.sandwich import Sandwich, hotelling, sandwich
from bayesma.frequentist.rve.working import WorkingModel, working_model

__all__ = ["coef_test", "wald_test", "constraint_matrix"]

_COEF_TESTS = ("z", "naive-t", "naive-tp", "Satterthwaite")
_WALD_TESTS = ("chi-sq", "Naive-F", "Naive-Fp", "HTZ")


def _tests(test: str | Sequence[str], known: tuple[str, ...]) -> list[str]:
    chosen = list(known) if test == "All" else [test] if isinstance(test, str) else list(test)
    for t in chosen:
        if t not in known:
            raise InputError(f"test must be one of {known} (or 'All'), got {t!r}")
    return chosen


def _two_sided(t: np.ndarray, df: Any) -> np.ndarray:
    return 2.0 * stats.t.sf(np.abs(t), df)


def coef_test(
    res: Any,
    vcov: str = "CR2",
    cluster: Any = None,
    test: str | Sequence[str] = "Satterthwaite",
    null_constants: Any = 0.0,
) -> pd.DataFrame:
    """Cluster-robust t tests of each coefficient, as clubSandwich's ``coef_test``.

    The robust variance of *vcov* type (computed with the fit's own marginal
    covariance as the working model) and, by default, Satterthwaite degrees of
    freedom (Tipton & Pustejovsky 2015; Pustejovsky & Tipton 2018).

    Parameters
    ----------
    res : RMAResult or RMAMVResult
        A fit of :func:`bayesma.rma` or :func:`bayesma.rma_mv`.
    vcov : {"CR2", "CR0", "CR1", "CR1p", "CR1S", "CR3"}
        The sandwich estimator, with clubSandwich's names (CR1: J / (J - 1); CR1p:
        J / (J - p), metafor's ``robust(adjust=TRUE)``; CR1S: Stata's).
    cluster : str or array_like, optional
        Column name of the fit's data, or one value per effect of the fit. Default
        for an ``rma_mv`` fit: the outermost grouping of its random effects (for an
        ``rma`` fit it must be given).
    test : str or list of str
        ``"Satterthwaite"`` (default), ``"z"``, ``"naive-t"`` (J - 1 df), ``"naive-tp"``
        (J - p df), a list of them, or ``"All"``.
    null_constants : float or array_like, shape (p,)
        Values of the coefficients under the null hypotheses.

    Returns
    -------
    pandas.DataFrame
        One row per coefficient (index: coefficient names), columns ``beta``, ``SE``,
        ``tstat`` and per test ``df_Satt``/``p_Satt``, ``df_z``/``p_z``,
        ``df_t``/``p_t``, ``df_tp``/``p_tp``.

    Raises
    ------
    ValueError
        For an unknown test or vcov type, a bad cluster variable (see :func:`bayesma.robust`).

    See Also
    --------
    bayesma.wald_test, bayesma.robust

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> ct = bm.coef_test(res, vcov="CR2")
    >>> ct.round(4).loc["intrcpt", ["beta", "SE", "df_Satt"]].tolist()
    [0.1847, 0.0845, 9.8632]
    """
    chosen = _tests(test, _COEF_TESTS)
    wm = working_model(res, cluster)
    sw = sandwich(wm, vcov)
    return coef_table(wm, sw, chosen, null_constants)


def coef_table(wm: WorkingModel, sw: Sandwich, chosen: list[str], null_constants: Any = 0.0) -> pd.DataFrame:
    """The table of :func:`coef_test` from a computed sandwich."""
    null = np.broadcast_to(np.asarray(null_constants, dtype=float), wm.beta.shape)
    se = sw.se
    t = (wm.beta - null) / se
    out = pd.DataFrame({"beta": wm.beta, "SE": se, "null_value": null, "tstat": t},
                       index=pd.Index(wm.coef_names, name="Coef"))
    dfs = {"z": ("df_z", "p_z", np.inf), "naive-t": ("df_t", "p_t", wm.J - 1),
           "naive-tp": ("df_tp", "p_tp", wm.J - wm.p)}
    for name in chosen:
        col_df, col_p, df = ("df_Satt", "p_Satt", sw.satterthwaite()) if name == "Satterthwaite" else dfs[name]
        out[col_df] = np.broadcast_to(np.asarray(df, dtype=float), t.shape)
        out[col_p] = _two_sided(t, out[col_df].to_numpy())
    return out


def constraint_matrix(constraints: Any, coef_names: list[str]) -> np.ndarray:
    """The q x p constraint matrix of coefficient names or numbers (from 1, as clubSandwich's
    ``constrain_zero(2:3)``; :func:`bayesma.coefs.resolve_btt`), or a matrix given as is."""
    p = len(coef_names)
    arr = np.asarray(constraints, dtype=object)
    if arr.ndim == 2:
        C = np.asarray(constraints, dtype=float)
        if C.shape[1] != p:
            raise InputError(f"a constraint matrix must have {p} columns (one per coefficient), got {C.shape[1]}")
        return C
    idx = resolve_btt(constraints, coef_names, "constraints")
    C = np.zeros((len(idx), p))
    C[np.arange(len(idx)), idx] = 1.0
    return C


def wald_test(
    res: Any,
    constraints: Any,
    vcov: str = "CR2",
    cluster: Any = None,
    test: str | Sequence[str] = "HTZ",
    null_constant: Any = 0.0,
) -> pd.DataFrame:
    """A cluster-robust Wald test that some coefficients are zero, as clubSandwich's ``Wald_test``.

    The default is the Hotelling's T² approximation with Zhang's degrees of
    freedom ("HTZ"; Tipton & Pustejovsky 2015; Pustejovsky & Tipton 2018), which
    clubSandwich recommends with CR2.

    Parameters
    ----------
    res : RMAResult or RMAMVResult
        A fit of :func:`bayesma.rma` or :func:`bayesma.rma_mv`.
    constraints : list of str or int, or array_like, shape (q, p)
        The coefficients tested to be zero, by R name or number counted from 1 (clubSandwich's
        ``constrain_zero(2:3)``, metafor's ``btt``; :func:`bayesma.coefs.resolve_btt`), or a
        constraint matrix C for the hypothesis C beta = c.
    vcov : {"CR2", "CR0", "CR1", "CR1p", "CR1S", "CR3"}
        The sandwich estimator (see :func:`bayesma.coef_test`).
    cluster : str or array_like, optional
        Column name of the fit's data or one value per effect; default for an
        ``rma_mv`` fit: the outermost grouping of its random effects.
    test : str or list of str
        ``"HTZ"`` (default), ``"chi-sq"``, ``"Naive-F"`` (J - 1 denominator df),
        ``"Naive-Fp"`` (J - p), a list of them, or ``"All"``.
    null_constant : float or array_like, shape (q,)
        The right-hand side c of C beta = c.

    Returns
    -------
    pandas.DataFrame
        One row per test (index ``test``), columns ``Fstat``, ``delta`` (the HTZ
        scaling of the statistic), ``df_num``, ``df_denom`` and ``p_val``.

    Raises
    ------
    ValueError
        For an unknown coefficient, test or vcov type, or a bad cluster variable.

    See Also
    --------
    bayesma.coef_test, bayesma.robust

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school", mods="~ year")
    >>> wt = bm.wald_test(res, constraints=["year"], vcov="CR2")
    >>> wt.round(4).loc["HTZ", ["Fstat", "df_num", "df_denom"]].tolist()
    [0.282, 1.0, 4.189]
    """
    chosen = _tests(test, _WALD_TESTS)
    wm = working_model(res, cluster)
    sw = sandwich(wm, vcov)
    return wald_table(wm, sw, constraint_matrix(constraints, wm.coef_names), chosen, null_constant)


def wald_table(wm: WorkingModel, sw: Sandwich, C: np.ndarray, chosen: list[str],
               null_constant: Any = 0.0) -> pd.DataFrame:
    """The table of :func:`wald_test` from a computed sandwich."""
    q = C.shape[0]
    cb = C @ wm.beta - np.broadcast_to(np.asarray(null_constant, dtype=float), (q,))
    try:
        Q = float(cb @ np.linalg.solve(C @ sw.vcov @ C.T, cb))
    except np.linalg.LinAlgError:
        Q = np.nan
    rows = {}
    for name in chosen:
        if name == "HTZ":
            F, delta, df, p = hotelling(Q, q, sw.htz_nu(C))
            rows[name] = (F, delta, q, df, p)
        else:
            df = {"chi-sq": np.inf, "Naive-F": wm.J - 1, "Naive-Fp": wm.J - wm.p}[name]
            p = float(stats.chi2.sf(Q, q)) if name == "chi-sq" else float(stats.f.sf(Q / q, q, df))
            rows[name] = (Q / q, 1.0, q, float(df), p)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["Fstat", "delta", "df_num", "df_denom", "p_val"])
    out.index.name = "test"
    return out
