"""Shared pieces of the frequentist fits: argument checks, critical values, the
projection matrix P of the weighted least-squares fit, and the Wald tests of the
coefficients (metafor's conventions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from bayesma._validate import align, check_level

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
    """A confidence level as a fraction: 0.95 or 95 (percent) both mean 95%.

    Raises
    ------
    ValueError
        For a level that is neither a fraction in (0, 1) nor a percentage in [50, 100)
        (1.5 is ambiguous: 150% or 1.5%? metafor would read 1.5%), and for non-numbers.
    """
    return check_level(level)


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


class _Projection:
    """P = W - W X (X'WX)^-1 X'W for diagonal weights w, without forming the k x k matrix.

    Every quantity metafor computes from P (quadratic forms, traces of P, P², PV...)
    reduces to p x p algebra, so rma() costs O(k p²) and works for k = 100,000. The
    algebra goes through the QR decomposition of W^(1/2) X (P = W^(1/2) (I - QQ') W^(1/2)),
    not through the normal equations, so that weights spanning many orders of magnitude
    (one tiny sampling variance) do not cancel catastrophically.
    """

    def __init__(self, X: np.ndarray, w: np.ndarray):
        self.X, self.w = X, w
        self.sw = np.sqrt(w)
        self.Q, self.R = np.linalg.qr(X * self.sw[:, None])
        r_inv = linalg.solve_triangular(self.R, np.eye(self.R.shape[0]))
        self.A_inv = r_inv @ r_inv.T  # (X'WX)^-1
        self.h = np.einsum("ij,ij->i", self.Q, self.Q)  # leverages of the weighted fit

    def _resid(self, y: np.ndarray) -> np.ndarray:
        z = self.sw * y
        return z - self.Q @ (self.Q.T @ z)

    def coef(self, y: np.ndarray) -> np.ndarray:
        """Weighted least-squares coefficients (X'WX)^-1 X'W y."""
        return linalg.solve_triangular(self.R, self.Q.T @ (self.sw * y))

    def apply(self, y: np.ndarray) -> np.ndarray:
        """P y."""
        return self.sw * self._resid(y)

    def quad(self, y: np.ndarray) -> float:
        """y' P y (the weighted residual sum of squares)."""
        r = self._resid(y)
        return float(r @ r)

    def trace(self) -> float:
        """tr(P)."""
        return float(np.sum(self.w * (1.0 - self.h)))

    def _dense(self) -> np.ndarray | None:
        """P itself when k is small: its traces then need no subtraction of large numbers
        (the p x p identities below cancel catastrophically when one weight dwarfs the others)."""
        if self.X.shape[0] > _DENSE_K:
            return None
        M = -(self.Q @ self.Q.T)
        M[np.diag_indices_from(M)] += 1.0
        return self.sw[:, None] * M * self.sw[None, :]

    def trace_dpp(self, d: np.ndarray | None = None) -> float:
        """tr(D P P) for diagonal D (identity by default): sum(P * P) when D = I."""
        w, Q = self.w, self.Q
        d = np.ones_like(w) if d is None else d
        P = self._dense()
        if P is not None:
            return float(np.sum(d[:, None] * P * P))
        G = (Q.T * w) @ Q
        pp = w * (w * (1.0 - 2.0 * self.h) + np.einsum("ij,jk,ik->i", Q, G, Q))
        return float(np.sum(d * pp))

    def trace_pdpd(self, d: np.ndarray) -> float:
        """tr(P D P D) for diagonal D: sum(PV * t(PV)) with D = V."""
        P = self._dense()
        if P is not None:
            return float(np.sum(d[:, None] * d[None, :] * P * P))
        dw = d * self.w
        G = (self.Q.T * dw) @ self.Q
        return float(np.sum(dw**2 * (1.0 - 2.0 * self.h)) + np.sum(G * G))


_DENSE_K = 2000  # up to this k the traces of P are computed from P itself (k x k doubles: 32 MB)


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


def _aligned_mods(mods: Any, data: pd.DataFrame | None, yi: Any) -> Any:
    """A Series / DataFrame of moderators in the order of the rows of *data* (or of *yi*),
    matched by index (see :func:`bayesma._validate.align`); other values pass unchanged."""
    ref = data.index if data is not None else (yi.index if isinstance(yi, pd.Series) else None)
    mods = align(mods, ref, "mods")
    return mods.reset_index(drop=True) if isinstance(mods, (pd.Series, pd.DataFrame)) else mods
