"""Shared pieces of the frequentist fits: argument checks, critical values, the
projection matrix P of the weighted least-squares fit, and the Wald tests of the
coefficients (metafor's conventions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")


TESTS = ("z", "knha", "adhoc")


def _check_method(method: str) -> str:
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, one of {METHODS}")
    m = method.upper()
    if m in ("EE", "CE"):
        m = "FE"
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    return m


def _level(level: float) -> float:
    level = float(level)
    if level > 1:
        level /= 100.0
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1) or (0, 100), got {level}")
    return level


def _crit(level: float, dfs: int | None) -> float:
    alpha = 1 - level
    if dfs is not None:
        return float(stats.t.isf(alpha / 2, dfs)) if dfs > 0 else np.nan
    return float(stats.norm.isf(alpha / 2))


def _sqrt_ci(ci):
    return None if ci is None else tuple(float(np.sqrt(c)) for c in ci)


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
    stat = beta / np.sqrt(np.diag(vb))
    if dfs is not None:
        QM = QM / m
        QMp = float(stats.f.sf(QM, m, dfs)) if dfs > 0 and np.isfinite(QM) else np.nan
        pval = 2.0 * stats.t.sf(np.abs(stat), dfs) if dfs > 0 else np.full(p, np.nan)
    else:
        QMp = float(stats.chi2.sf(QM, m))
        pval = 2.0 * stats.norm.sf(np.abs(stat))
    return btt, QM, QMp, pval


class _Projection:
    """P = W - W X (X'WX)^-1 X'W for diagonal weights w, without forming the k x k matrix.

    Every quantity metafor computes from P (quadratic forms, traces of P, P², PV...)
    reduces to p x p algebra, so rma() costs O(k p²) and works for k = 100,000.
    """

    def __init__(self, X: np.ndarray, w: np.ndarray):
        self.X, self.w = X, w
        self.A_inv = np.linalg.inv((X.T * w) @ X)

    def _xdx(self, d: np.ndarray) -> np.ndarray:
        return (self.X.T * d) @ self.X

    def apply(self, y: np.ndarray) -> np.ndarray:
        """P y."""
        return self.w * (y - self.X @ (self.A_inv @ ((self.X.T * self.w) @ y)))

    def quad(self, y: np.ndarray) -> float:
        """y' P y."""
        b = (self.X.T * self.w) @ y
        return float(np.sum(self.w * y * y) - b @ self.A_inv @ b)

    def trace(self) -> float:
        """tr(P)."""
        return float(np.sum(self.w) - np.sum(self.A_inv * self._xdx(self.w**2)))

    def trace_dpp(self, d: np.ndarray | None = None) -> float:
        """tr(D P P) for diagonal D (identity by default): sum(P * P) when D = I."""
        w, Ai = self.w, self.A_inv
        d = np.ones_like(w) if d is None else d
        B = self._xdx(w**2)
        C = self._xdx(d * w**2)
        return float(np.sum(d * w**2) - 2 * np.sum(Ai * self._xdx(d * w**3)) + np.sum((Ai @ C) * (Ai @ B).T))

    def trace_pdpd(self, d: np.ndarray) -> float:
        """tr(P D P D) for diagonal D: sum(PV * t(PV)) with D = V."""
        w, Ai = self.w, self.A_inv
        C = self._xdx(w**2 * d)
        return float(np.sum(w**2 * d**2) - 2 * np.sum(Ai * self._xdx(w**3 * d**2)) + np.sum((Ai @ C) * (Ai @ C).T))



def coef_table(res) -> pd.DataFrame:
    """Coefficient table of a fit (rma or rma_mv): estimate, se, statistic, p-value, interval."""
    stat = "tval" if res.dfs is not None else "zval"
    return pd.DataFrame(
        {
            "estimate": res.beta,
            "se": res.se,
            stat: res.stat,
            "pval": res.pval,
            "ci_lb": res.ci_lb,
            "ci_ub": res.ci_ub,
        },
        index=pd.Index(res.coef_names, name="coef"),
    )
