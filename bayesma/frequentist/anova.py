"""Model comparison of frequentist fits, as metafor's ``fitstats``, ``logLik`` and ``anova``.

* :func:`fitstats`: log likelihood, deviance, AIC, BIC and AICc (ML or REML) of one or more
  fits (``fitstats.rma``).
* :func:`anova`: the likelihood-ratio test of two nested fits, with their fit statistics,
  QE, tau² and the pseudo R² (``anova.rma`` with two models), or a Wald test of chosen
  coefficients (``btt=``) or of linear combinations (``X=``) of one fit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._format import format_p, frame_text
from bayesma.coefs import resolve_btt
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist._printing import _fmt_p
from bayesma.frequentist.tau2 import loglik

__all__ = ["AnovaResult", "WaldResult", "anova", "fit_stats_table", "fitstats"]

_ROWS = ["ll", "dev", "AIC", "BIC", "AICc"]
_LABELS = ["logLik", "deviance", "AIC", "BIC", "AICc"]
_LOG2PI = float(np.log(2 * np.pi))


def _parms(res: Any) -> int:
    """Number of estimated parameters: coefficients plus estimated variance components."""
    if hasattr(res, "parms"):
        return int(res.parms)
    if hasattr(res, "sigma2"):  # rma_mv: two variance components
        return int(res.p) + len(np.atleast_1d(res.sigma2))
    fixed = res.method == "FE" or bool(getattr(res, "tau2_fix", False))
    return int(res.p) + (0 if fixed else 1)


def fit_stats_table(res: Any) -> pd.DataFrame:
    """The 5 x 2 table of fit statistics (rows ll, dev, AIC, BIC, AICc; columns ML, REML), as
    metafor stores in ``res$fit.stats``.

    Parameters
    ----------
    res : RMAResult, RMAMVResult or MHResult

    Returns
    -------
    pandas.DataFrame

    Notes
    -----
    ``ll_ML = -k/2 log(2 pi) - 1/2 sum log(v_i + tau2) - 1/2 RSS`` and
    ``ll_REML = -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 sum log(v_i + tau2) - 1/2 log|X'WX| - 1/2 RSS``;
    ``dev_ML = -2 (ll_ML - ll_saturated)``, ``dev_REML = -2 ll_REML``; ``AIC = -2 ll + 2 q``,
    ``BIC = -2 ll + q log(n)``, ``AICc = -2 ll + 2 q max(n, q+2) / (max(n, q+2) - q - 1)``
    with q parameters and n = k (ML) or k - p (REML).
    """
    existing = getattr(res, "fit_stats", None)
    if isinstance(existing, pd.DataFrame):
        return existing.copy()
    if not all(hasattr(res, a) for a in ("X", "data", "beta", "tau2")) or res.X is None:
        raise ArgumentTypeError(f"fit statistics need a frequentist fit of bayesma (got {type(res).__name__})")
    yi, vi, X = res.data.yi, res.data.vi, res.X
    k, p = X.shape
    q = _parms(res)
    beta = np.asarray(res.beta, dtype=float)
    ll_ml = loglik("ML", yi, vi, X, res.tau2, beta)
    ll_reml = loglik("REML", yi, vi, X, res.tau2, beta)
    dev_ml = -2.0 * (ll_ml - float(np.sum(-0.5 * (_LOG2PI + np.log(vi))))) if k > p else 0.0
    return pd.DataFrame({"ML": _criteria(ll_ml, dev_ml, q, k), "REML": _criteria(ll_reml, -2.0 * ll_reml, q, k - p)},
                        index=_ROWS)


def _criteria(ll: float, dev: float, q: int, n: int) -> list[float]:
    nn = max(n, q + 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        bic = -2 * ll + q * np.log(n) if n > 0 else np.nan
    return [ll, dev, -2 * ll + 2 * q, float(bic), -2 * ll + 2 * q * nn / (nn - q - 1)]


def fitstats(*results: Any, REML: bool | None = None) -> pd.DataFrame:
    """Log likelihood, deviance, AIC, BIC and AICc of one or more fits (metafor's ``fitstats``).

    Parameters
    ----------
    *results : RMAResult, RMAMVResult or MHResult
        One or more fits (of the same data, for a comparison).
    REML : bool, optional
        Restricted (True) or full (False) likelihood; default: REML for a REML fit, else ML
        (of the first fit).

    Returns
    -------
    pandas.DataFrame
        Rows ``logLik, deviance, AIC, BIC, AICc``; one column per fit (``"REML"`` or
        ``"ML"`` for a single fit, ``"model 1"``, ``"model 2"``, ... for several).

    Raises
    ------
    TypeError
        An argument is not a frequentist fit.

    References
    ----------
    metafor 3.8-1, ``fitstats.rma``, ``logLik.rma``, ``AIC.rma``, ``BIC.rma``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="ML")
    >>> round(float(bm.fitstats(res).loc["logLik", "ML"]), 4)
    1.9387
    """
    if not results:
        raise ArgumentTypeError("fitstats needs at least one fit")
    if REML is None:
        REML = results[0].method == "REML"
    col = "REML" if REML else "ML"
    tables = [fit_stats_table(r)[col].to_numpy() for r in results]
    if len(results) > 1:
        first = np.asarray(results[0].data.yi) if getattr(results[0], "data", None) is not None else None
        for r in results[1:]:
            other = np.asarray(r.data.yi) if getattr(r, "data", None) is not None else None
            if first is None or other is None or first.shape != other.shape or not np.array_equal(first, other):
                warnings.warn("fitstats: the models are not all fitted to the same data", stacklevel=2)
                break
    names = [col] if len(results) == 1 else [f"model {i + 1}" for i in range(len(results))]
    return pd.DataFrame(np.column_stack(tables), index=_LABELS, columns=names)


# ---------------------------------------------------------------------------
# likelihood-ratio test


@dataclass
class AnovaResult:
    """Likelihood-ratio test of two nested fits (metafor's ``anova(full, reduced)``).

    Attributes
    ----------
    LRT, pval : float
        The likelihood-ratio statistic (never below 0) and its chi-square p-value with
        ``parms_f - parms_r`` degrees of freedom.
    parms_f, parms_r : int
        Estimated parameters of the full and the reduced model.
    fit_stats_f, fit_stats_r : pandas.Series
        logLik, deviance, AIC, BIC, AICc of each (REML when the full model is a REML fit).
    QE_f, QE_r, tau2_f, tau2_r : float
        The residual heterogeneity statistics and tau² of each model.
    R2 : float
        Pseudo R² (%): the share of tau² of the reduced model accounted for by the full
        one (for common-effect models: from the residual variances of the weighted
        least-squares fits); NaN for three-level models.
    method : str
    """

    LRT: float
    pval: float
    parms_f: int
    parms_r: int
    fit_stats_f: pd.Series
    fit_stats_r: pd.Series
    QE_f: float
    QE_r: float
    tau2_f: float
    tau2_r: float
    R2: float
    method: str

    @property
    def df(self) -> int:
        return self.parms_f - self.parms_r

    def summary(self) -> pd.DataFrame:
        """metafor's table: df, AIC, BIC, AICc, logLik, LRT, pval, QE, tau2, R2 for Full and Reduced."""
        rows = []
        for name, parms, fs, QE, tau2 in (("Full", self.parms_f, self.fit_stats_f, self.QE_f, self.tau2_f),
                                          ("Reduced", self.parms_r, self.fit_stats_r, self.QE_r, self.tau2_r)):
            rows.append({"df": parms, "AIC": fs["AIC"], "BIC": fs["BIC"], "AICc": fs["AICc"], "logLik": fs["logLik"],
                         "LRT": np.nan, "pval": np.nan, "QE": QE, "tau2": tau2, "R2": np.nan})
        rows[1].update(LRT=self.LRT, pval=self.pval, R2=self.R2)
        return pd.DataFrame(rows, index=["Full", "Reduced"])

    def __repr__(self) -> str:
        t = self.summary()
        out = pd.DataFrame(index=t.index)
        out["df"] = t["df"].astype(int).astype(str)
        for c in ("AIC", "BIC", "AICc", "logLik"):
            out[c] = [f"{v:.4f}" for v in t[c]]
        out["LRT"] = ["", f"{self.LRT:.4f}"]
        out["pval"] = ["", _fmt_p(self.pval)]
        out["QE"] = [f"{v:.4f}" for v in t["QE"]]
        if not np.all(np.isnan(t["tau2"])):
            out["tau^2"] = [f"{v:.4f}" for v in t["tau2"]]
        if np.isfinite(self.R2):
            out["R^2"] = ["", f"{self.R2:.2f}%"]
        return out.to_string()


def _same_data(a: Any, b: Any) -> bool:
    ya, yb = np.asarray(a.data.yi), np.asarray(b.data.yi)
    va, vb = np.asarray(a.data.vi), np.asarray(b.data.vi)
    return ya.shape == yb.shape and np.array_equal(ya, yb) and np.array_equal(va, vb)


def _wls_sigma2(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Residual variance of R's ``lm(yi ~ X, weights = 1/vi)`` (an intercept is always added)."""
    Z = np.column_stack([np.ones(len(yi)), X])
    sw = np.sqrt(1.0 / vi)
    coef, _, rank, _ = np.linalg.lstsq(Z * sw[:, None], yi * sw, rcond=None)
    resid = (yi - Z @ coef) * sw
    return float(resid @ resid / (len(yi) - rank))


def _lrt(full: Any, reduced: Any, refit: bool) -> AnovaResult:
    if type(full) is not type(reduced):
        raise ArgumentTypeError(f"anova: both models must be of the same kind (got {type(full).__name__} and "
                        f"{type(reduced).__name__})")
    pf, pr = _parms(full), _parms(reduced)
    if pf == pr:
        raise InputError("anova: the models have the same number of parameters; a likelihood-ratio test "
                         "is not meaningful")
    if pf < pr:
        full, reduced, pf, pr = reduced, full, pr, pf
    if not _same_data(full, reduced):
        raise InputError("anova: the observed outcomes and/or sampling variances differ between the full and "
                         "the reduced model")
    mf, mr = full.method, reduced.method
    if mf == "FE" and mr != "FE":
        raise InputError("anova: the full model is a common-effect (FE) model and the reduced model a "
                         "random/mixed-effects model")
    if {mf, mr} == {"ML", "REML"}:
        raise InputError(f"anova: mismatch between {mf} and {mr} estimation in the full and the reduced model")
    if mf not in ("FE", "ML", "REML") or mr not in ("FE", "ML", "REML"):
        warnings.warn("anova: likelihood-ratio tests should be based on ML/REML estimation", stacklevel=3)
    same_x = full.X.shape == reduced.X.shape and np.array_equal(full.X, reduced.X)
    if mf == "REML" and not same_x:
        if refit:
            if not hasattr(full, "refit"):
                raise ArgumentTypeError(f"anova: refit=True is not available for {type(full).__name__}")
            full, reduced = full.refit(method="ML"), reduced.refit(method="ML")
            pf, pr = _parms(full), _parms(reduced)
            mf = "ML"
        else:
            warnings.warn("anova: REML comparisons are not meaningful for models with different fixed effects "
                          "(use refit=True to refit both models with ML)", stacklevel=3)
    col = "REML" if mf == "REML" else "ML"
    fs_f, fs_r = fit_stats_table(full)[col], fit_stats_table(reduced)[col]
    LRT = max(0.0, float(fs_r["dev"] - fs_f["dev"]))
    pval = float(stats.chi2.sf(LRT, pf - pr))
    if hasattr(full, "sigma2"):  # three-level models: no single tau², no R²
        R2, tau2_f, tau2_r = np.nan, np.nan, np.nan
    else:
        tau2_f, tau2_r = float(full.tau2), float(reduced.tau2)
        if mf == "FE":
            s2f = _wls_sigma2(full.data.yi, full.data.vi, full.X)
            s2r = _wls_sigma2(reduced.data.yi, reduced.data.vi, reduced.X)
            R2 = 100.0 * max(0.0, (s2r - s2f) / s2r)
        elif tau2_r == 0:
            R2 = 0.0
        else:
            R2 = 100.0 * max(0.0, (tau2_r - tau2_f) / tau2_r)
    relabel = dict(zip(_ROWS, _LABELS))
    return AnovaResult(LRT=LRT, pval=pval, parms_f=pf, parms_r=pr, fit_stats_f=fs_f.rename(relabel),
                       fit_stats_r=fs_r.rename(relabel), QE_f=float(full.QE), QE_r=float(reduced.QE),
                       tau2_f=tau2_f, tau2_r=tau2_r, R2=float(R2), method=mf)


# ---------------------------------------------------------------------------
# Wald tests


@dataclass
class WaldResult:
    """Wald test of coefficients (``btt=``) or of linear combinations (``X=``) of one fit.

    Attributes
    ----------
    QM, QMp : float
        The omnibus statistic (chi-square, or F for t-test fits) and its p-value.
    QMdf : tuple
        ``(m, None)`` for a chi-square test, ``(m, df2)`` for an F test.
    btt : list of int
        The tested coefficients (0-based), for a ``btt`` test.
    names : list of str
        Their names.
    table : pandas.DataFrame or None
        For ``X=``: one row per combination, with ``hyp`` (the hypothesis), ``estimate``,
        ``se``, ``zval``/``tval``, ``pval``.
    """

    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    btt: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """The combinations table (``X=``) or a one-row table of the omnibus test."""
        if self.table is not None:
            return self.table.copy()
        return pd.DataFrame({"QM": [self.QM], "df1": [self.QMdf[0]], "df2": [self.QMdf[1]], "pval": [self.QMp]})

    def __repr__(self) -> str:
        stat = (f"F(df1 = {self.QMdf[0]}, df2 = {self.QMdf[1]})" if self.QMdf[1] is not None
                else f"QM(df = {self.QMdf[0]})")
        p = format_p(self.QMp, relation=True)
        lines = []
        if self.table is not None:
            lines += ["Hypotheses:", *(f"{i + 1}: {h}" for i, h in enumerate(self.table["hyp"])), "",
                      "Results:", frame_text(self.table.drop(columns="hyp")), ""]
            if np.isfinite(self.QM):
                lines.append(f"Omnibus Test of Hypotheses:\n{stat} = {self.QM:.4f}, p-val {p}")
            return "\n".join(lines)
        idx = [b + 1 for b in self.btt]
        what = f"coefficients {idx[0]}:{idx[-1]}" if len(idx) > 1 and idx == list(range(idx[0], idx[-1] + 1)) \
            else ("coefficient " + str(idx[0]) if len(idx) == 1 else "coefficients " + ",".join(map(str, idx)))
        return f"Test of Moderators ({what}):\n{stat} = {self.QM:.4f}, p-val {p}"


def _resolve_btt(btt: Any, names: list[str]) -> list[int]:
    return resolve_btt(btt, names)


def _wald_statistic(b: np.ndarray, V: np.ndarray, dfs: int | None) -> tuple[float, float]:
    """``(QM, QMp)`` of the Wald test of ``b = 0`` with covariance *V*: chi-square on m = len(b)
    df, or with *dfs* the F statistic QM / m on (m, dfs) df (NaN p where dfs <= 0)."""
    m = len(b)
    try:
        QM = float(b @ np.linalg.solve(V, b))
    except np.linalg.LinAlgError:
        QM = np.nan
    if dfs is not None:
        QM /= m
        return QM, (float(stats.f.sf(QM, m, dfs)) if dfs > 0 else np.nan)
    return QM, float(stats.chi2.sf(QM, m))


def _wald(res: Any, btt: Any, X: Any, rhs: Any) -> WaldResult:
    names = list(res.coef_names)
    beta = np.asarray(res.beta, dtype=float)
    vb = np.asarray(res.vb, dtype=float)
    dfs = res.dfs
    if X is None:
        bt = list(res.btt) if btt is None else _resolve_btt(btt, names)
        m = len(bt)
        r = np.broadcast_to(np.asarray(0.0 if rhs is None else rhs, dtype=float), (m,))
        b = beta[bt] - r
        QM, QMp = _wald_statistic(b, vb[np.ix_(bt, bt)], dfs)
        return WaldResult(QM, QMp, (m, dfs), bt, [names[j] for j in bt])
    L = np.atleast_2d(np.asarray(X, dtype=float))
    if L.shape[1] == len(names) - 1 and names[0] == "intrcpt":
        L = np.column_stack([np.ones(L.shape[0]), L])
    if L.shape[1] != len(names):
        raise InputError(f"anova: X must have {len(names)} columns (one per coefficient: {names}), got {L.shape[1]}")
    m = L.shape[0]
    r = np.broadcast_to(np.asarray(0.0 if rhs is None else rhs, dtype=float), (m,))
    Xb = L @ beta - r
    vXb = L @ vb @ L.T
    se = np.sqrt(np.diag(vXb))
    z = Xb / se
    if dfs is not None:
        pval = 2 * stats.t.sf(np.abs(z), dfs) if dfs > 0 else np.full(m, np.nan)
    else:
        pval = 2 * stats.norm.sf(np.abs(z))
    QM, QMp, QMdf = np.nan, np.nan, (m, dfs)
    if np.linalg.matrix_rank(L) == m:
        QM, QMp = _wald_statistic(Xb, vXb, dfs)
    hyp = []
    for j in range(m):
        terms = [f"{'' if c == 1 else ('-' if c == -1 else f'{c:g}*')}{n}" for c, n in zip(np.round(L[j], 4), names)
                 if c != 0]
        text = " + ".join(terms).replace("+ -", "- ")
        hyp.append(f"{text} = {r[j]:g}")
    stat = "tval" if dfs is not None else "zval"
    table = pd.DataFrame({"hyp": hyp, "estimate": Xb, "se": se, stat: z, "pval": pval},
                         index=pd.RangeIndex(1, m + 1))
    return WaldResult(QM, QMp, QMdf, table=table)


def anova(full: Any, reduced: Any = None, *, btt: Any = None, X: Any = None, rhs: Any = None,
          refit: bool = False) -> AnovaResult | WaldResult:
    """Compare two nested fits by a likelihood-ratio test, or test coefficients of one fit
    (metafor's ``anova``).

    Parameters
    ----------
    full : RMAResult or RMAMVResult
        A fit. With *reduced*, the two are compared whichever has more parameters.
    reduced : RMAResult or RMAMVResult, optional
        A fit of the same data nested in *full* (e.g. without some moderators). Both
        should be ML fits when their fixed effects differ (REML likelihoods of
        different fixed effects are not comparable; ``refit=True`` refits both by ML).
    btt : int, str or sequence, optional
        One fit: the coefficients to test jointly (1-based numbers as in metafor, or
        names; a string matches every coefficient whose name contains it, e.g.
        ``"factor(alloc)"``). Default: the moderators (all but the intercept).
    X : array_like, optional
        One fit: a matrix of linear combinations of the coefficients to test (one row
        per hypothesis; the intercept column may be left out).
    rhs : float or array_like, optional
        The hypothesised values (default 0).
    refit : bool
        Refit two REML fits with different fixed effects by ML before comparing.

    Returns
    -------
    AnovaResult or WaldResult
        The likelihood-ratio test (two fits) or the Wald test (one fit).

    Raises
    ------
    ValueError
        The fits differ in data, have the same number of parameters, or mix ML and
        REML; *btt* names no coefficient; *X* has the wrong number of columns.
    TypeError
        The two fits are of different kinds.

    References
    ----------
    metafor 3.8-1, ``anova.rma``. Raudenbush, S. W. (2009). Analyzing effect sizes:
    random-effects models. In *The Handbook of Research Synthesis and Meta-Analysis* (2nd ed.).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> full = bm.rma("yi", "vi", data=es, mods="~ ablat", method="ML")
    >>> reduced = bm.rma("yi", "vi", data=es, method="ML")
    >>> round(bm.anova(full, reduced).LRT, 4)
    9.9588
    """
    if reduced is not None:
        if btt is not None or X is not None:
            raise ArgumentTypeError("anova: give either a second model (likelihood-ratio test) or btt=/X= (Wald test)")
        return _lrt(full, reduced, refit)
    if btt is not None and X is not None:
        raise ArgumentTypeError("anova: give either btt= or X=, not both")
    return _wald(full, btt, X, rhs)
