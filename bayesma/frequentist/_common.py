"""Shared pieces of the frequentist fits: argument checks, the projection matrix P of the
weighted least-squares fit, the coefficient table (metafor's conventions). The tests of the
coefficients (``test=``) live in :mod:`bayesma.frequentist.inference`; their names are
re-exported here for the modules that import them from this one."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import align, check_level
from bayesma.errors import ArgumentTypeError, DataWarning, InputError
from bayesma.frequentist.inference import TESTS, knha_factor, wald_tests

__all__ = ["METHODS", "TESTS", "knha_factor", "wald_tests", "coef_table", "warn_vi_ratio"]

METHODS = ("FE", "DL", "REML", "ML", "PM", "PMM", "HS", "HSk", "SJ", "HE", "EB", "GENQ", "GENQM")


def _check_method(method: str) -> str:
    """The canonical spelling of *method* (case-insensitive; "EE" and "CE" are "FE", as in metafor)."""
    if not isinstance(method, str):
        raise ArgumentTypeError(f"method must be a string, one of {METHODS}")
    m = method.upper()
    if m in ("EE", "CE"):
        m = "FE"
    canonical = {name.upper(): name for name in METHODS}
    if m not in canonical:
        raise InputError(f"unknown method {method!r}; use one of {METHODS}")
    return canonical[m]


def _level(level: float) -> float:
    """A confidence level as a fraction: 0.95 or 95 (percent) both mean 95%.

    Raises
    ------
    ValueError
        For a level that is neither a fraction in (0, 1) nor a percentage in [50, 100)
        (1.5 is ambiguous: 150% or 1.5%? metafor would read 1.5%), and for non-numbers.
    """
    return check_level(level)


def _sqrt_ci(ci):
    return None if ci is None else tuple(float(np.sqrt(c)) for c in ci)


class _BatchProjection:
    """P = W - W X (X'WX)^-1 X'W for B weight vectors w (B, k) sharing the design X (k, p),
    without forming k x k matrices for large k.

    Every quantity metafor computes from P (quadratic forms, traces of P, P², PV...)
    reduces to p x p algebra, so rma() costs O(k p²) and works for k = 100,000. The
    algebra goes through the QR decomposition of W^(1/2) X (P = W^(1/2) (I - QQ') W^(1/2)),
    not through the normal equations, so that weights spanning many orders of magnitude
    (one tiny sampling variance) do not cancel catastrophically; the traces of P² are sums
    of non-negative terms accumulated pair by pair (:meth:`_cross`), so they need no
    subtraction of large numbers either, at any k.
    """

    def __init__(self, X: np.ndarray, w: np.ndarray):
        w = np.atleast_2d(np.asarray(w, dtype=float))
        self.X, self.w = X, w
        self.sw = np.sqrt(w)
        Xw = self.sw[:, :, None] * X[None, :, :]
        if X.shape[1] == 1:
            R = np.sqrt(np.sum(Xw * Xw, axis=1, keepdims=True))
            self.Q, self.R = Xw / R, R
        else:
            self.Q, self.R = np.linalg.qr(Xw)
        self.h = np.sum(self.Q * self.Q, axis=-1)  # leverages of the weighted fits, (B, k)

    def _qt(self, z: np.ndarray) -> np.ndarray:
        return np.einsum("bkp,bk->bp", self.Q, z)

    def _resid(self, y: np.ndarray) -> np.ndarray:
        z = self.sw * y
        return z - np.einsum("bkp,bp->bk", self.Q, self._qt(z))

    def coef(self, y: np.ndarray) -> np.ndarray:
        """Weighted least-squares coefficients (X'WX)^-1 X'W y, shape (B, p)."""
        return np.linalg.solve(self.R, self._qt(self.sw * y)[..., None])[..., 0]

    def A_inv(self) -> np.ndarray:
        """(X'WX)^-1, shape (B, p, p)."""
        r_inv = np.linalg.inv(self.R)
        return r_inv @ np.swapaxes(r_inv, 1, 2)

    def logdet_xtwx(self) -> np.ndarray:
        """log det(X'WX), shape (B,)."""
        return 2.0 * np.sum(np.log(np.abs(np.diagonal(self.R, axis1=1, axis2=2))), axis=-1)

    def apply(self, y: np.ndarray) -> np.ndarray:
        """P y, shape (B, k)."""
        return self.sw * self._resid(y)

    def quad(self, y: np.ndarray) -> np.ndarray:
        """y' P y (the weighted residual sum of squares), shape (B,)."""
        r = self._resid(y)
        return np.sum(r * r, axis=-1)

    def trace(self) -> np.ndarray:
        """tr(P), shape (B,)."""
        return np.sum(self.w * (1.0 - self.h), axis=-1)

    def _cross(self, a: np.ndarray, c: np.ndarray) -> np.ndarray:
        """sum over i != j of a_i c_j (q_i'q_j)², shape (B,).

        Every term is a product of non-negative factors when a, c >= 0, so it is summed
        without subtracting large numbers (the closed form through (Q'AQ)(Q'CQ) cancels
        catastrophically when one weight dominates): the pairs i < j are accumulated by an
        exclusive running sum of a_i q_i q_i' in O(k p²) time and memory, never k x k.
        """
        Q = self.Q
        if Q.shape[2] == 1:  # (q_i'q_j)² = h_i h_j: running sums of vectors suffice
            zero = np.zeros_like(a[:, :1])
            ah, ch = a * self.h, c * self.h
            before_a = np.concatenate([zero, np.cumsum(ah, axis=1)[:, :-1]], axis=1)
            before_c = np.concatenate([zero, np.cumsum(ch, axis=1)[:, :-1]], axis=1)
            return np.sum(ch * before_a + ah * before_c, axis=1)
        outer_a = a[:, :, None, None] * Q[:, :, :, None] * Q[:, :, None, :]
        outer_c = c[:, :, None, None] * Q[:, :, :, None] * Q[:, :, None, :]
        zero = np.zeros_like(outer_a[:, :1])
        before_a = np.concatenate([zero, np.cumsum(outer_a, axis=1)[:, :-1]], axis=1)
        before_c = np.concatenate([zero, np.cumsum(outer_c, axis=1)[:, :-1]], axis=1)
        both = c[:, :, None, None] * before_a + a[:, :, None, None] * before_c
        return np.einsum("bkp,bkpq,bkq->b", Q, both, Q)

    def trace_dpp(self, d: np.ndarray | None = None) -> np.ndarray:
        """tr(D P P) for diagonal D (identity by default), shape (B,).

        With P_ii = w_i (1 - h_i) and P_ij = -sqrt(w_i w_j) q_i'q_j, tr(D P P) is
        sum_i d_i w_i² (1 - h_i)² + sum_{i != j} d_i w_i w_j (q_i'q_j)².
        """
        w = self.w
        d = np.ones_like(w) if d is None else np.broadcast_to(d, w.shape)
        diag = np.sum(d * (w * (1.0 - self.h)) ** 2, axis=-1)
        return diag + self._cross(d * w, w)

    def trace_pdpd(self, d: np.ndarray) -> np.ndarray:
        """tr(P D P D) for diagonal D, shape (B,): sum_ij d_i d_j P_ij²."""
        dw = np.broadcast_to(d, self.w.shape) * self.w
        return np.sum((dw * (1.0 - self.h)) ** 2, axis=-1) + self._cross(dw, dw)



class _Projection:
    """:class:`_BatchProjection` of one weight vector (a batch of one), with float results."""

    def __init__(self, X: np.ndarray, w: np.ndarray):
        self.X, self.w = X, w
        self._batch = _BatchProjection(X, np.asarray(w, dtype=float)[None])
        self.h = self._batch.h[0]
        self._a_inv: np.ndarray | None = None

    @property
    def A_inv(self) -> np.ndarray:
        """(X'WX)^-1."""
        if self._a_inv is None:
            self._a_inv = self._batch.A_inv()[0]
        return self._a_inv

    def coef(self, y: np.ndarray) -> np.ndarray:
        """Weighted least-squares coefficients (X'WX)^-1 X'W y."""
        return self._batch.coef(y[None])[0]

    def apply(self, y: np.ndarray) -> np.ndarray:
        """P y."""
        return self._batch.apply(y[None])[0]

    def quad(self, y: np.ndarray) -> float:
        """y' P y (the weighted residual sum of squares)."""
        return float(self._batch.quad(y[None])[0])

    def trace(self) -> float:
        """tr(P)."""
        return float(self._batch.trace()[0])

    def trace_dpp(self, d: np.ndarray | None = None) -> float:
        """tr(D P P) for diagonal D (identity by default): sum(P * P) when D = I."""
        return float(self._batch.trace_dpp(None if d is None else d[None])[0])

    def trace_pdpd(self, d: np.ndarray) -> float:
        """tr(P D P D) for diagonal D: sum(PV * t(PV)) with D = V."""
        return float(self._batch.trace_pdpd(d[None])[0])

    def logdet_xtwx(self) -> float:
        """log det(X'WX)."""
        return float(self._batch.logdet_xtwx()[0])


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


def warn_vi_ratio(vi: np.ndarray, stacklevel: int = 4) -> None:
    """metafor's warning when max(vi) / min(vi) >= 1e7 (``rma.uni`` and ``rma.mv``)."""
    if len(vi) > 1 and vi.min() > 0 and vi.max() / vi.min() >= 1e7:
        warnings.warn("Ratio of largest to smallest sampling variance extremely large "
                      f"({vi.max() / vi.min():.3g}); the results may not be stable (as metafor warns)",
                      DataWarning, stacklevel=stacklevel)
