"""Predictions and random effects of a three-level fit (metafor's ``predict.rma.mv`` and
``ranef.rma.mv``), block by block.

With V = diag(v + sigma²₂) + sigma²₁ Z Z' (one block per cluster), W = V⁻¹, the residuals
e = y - X beta and P = W - W X (X'WX)⁻¹ X'W:

* ``predict``: ``x'beta`` with ``se = sqrt(x' Var(beta) x)``, the confidence interval, and the
  prediction interval ``x'beta ± crit sqrt(se² + sigma²₁ + sigma²₂)``;
* ``ranef``: the cluster effects ``u = sigma²₁ Z'W e`` with variances
  ``sigma²₁ - sigma²₁² diag(Z'PZ)``, and the effects within clusters ``w = sigma²₂ W e`` with
  variances ``sigma²₂ - sigma²₂² diag(P)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import check_level
from bayesma.errors import InputError
from bayesma.frequentist._common import _crit
from bayesma.frequentist.transf import transform_table

__all__ = ["predict_mv", "ranef_mv"]


def _newmods(res: Any, newmods: Any) -> np.ndarray:
    p, names = res.p, list(res.coef_names)
    if newmods is None:
        return np.ones((1, 1)) if names == ["intrcpt"] else np.asarray(res.X, dtype=float)
    raw = np.asarray(newmods, dtype=float)
    X = np.atleast_2d(raw)
    if raw.ndim == 1 and p == 2 and names[0] == "intrcpt":
        X = raw.reshape(-1, 1)  # metafor: a vector for a single moderator is one value per prediction
    if p == 1 and X.shape[1] != 1:
        X = X.T
    if X.shape[1] == p - 1 and names[0] == "intrcpt":
        X = np.column_stack([np.ones(X.shape[0]), X])
    if X.shape[1] != p:
        raise InputError(f"newmods must have {p - 1} columns (one per moderator: {names[1:]})")
    return X


def predict_mv(res: Any, newmods: Any = None, level: float | None = None,
               transf: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    """Predicted average effects of a three-level fit with confidence and prediction intervals
    (metafor's ``predict.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    newmods : array_like, optional
        Moderator values (without the intercept), one row per prediction (a vector for a
        single moderator). Default: the intercept-only prediction, or the fitted values.
    level : float, optional
        Default: the fit's level.
    transf : callable, optional
        Applied to ``pred`` and the bounds (``se`` is then NaN).

    Returns
    -------
    pandas.DataFrame
        ``pred, se, ci_lb, ci_ub, pi_lb, pi_ub``; the prediction interval adds both variance
        components to the variance of the prediction.

    Raises
    ------
    ValueError
        *newmods* has the wrong number of columns.

    References
    ----------
    metafor 3.8-1, ``predict.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> bm.frequentist.mv.predict.predict_mv(res)[["pred", "pi_lb", "pi_ub"]].round(4).values.tolist()
    [[0.1847, -0.4502, 0.8197]]
    """
    X = _newmods(res, newmods)
    crit = _crit(check_level(res.level if level is None else level), res.dfs)
    pred = X @ res.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, res.vb, X))
    pi_se = np.sqrt(se**2 + float(np.sum(res.sigma2)))
    out = pd.DataFrame({"pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se,
                        "pi_lb": pred - crit * pi_se, "pi_ub": pred + crit * pi_se})
    return transform_table(out, transf, "pred", (("ci_lb", "ci_ub"), ("pi_lb", "pi_ub")))


def ranef_mv(res: Any, level: float | None = None,
             transf: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, pd.DataFrame]:
    """Best linear unbiased predictions of the random effects of a three-level fit (metafor's
    ``ranef.rma.mv``).

    Parameters
    ----------
    res : RMAMVResult
        A fit of :func:`bayesma.rma_mv`.
    level : float, optional
        Level of the prediction intervals (default: the fit's).
    transf : callable, optional
        Applied to ``pred`` and the interval bounds (``se`` is then NaN).

    Returns
    -------
    dict of str to pandas.DataFrame
        Two tables, keyed by the names of the levels (``res.s_names``): the cluster effects
        (one row per cluster) and the effects within clusters (one row per effect, index
        the effect labels); columns ``pred, se, pi_lb, pi_ub``.

    References
    ----------
    metafor 3.8-1, ``ranef.rma.mv``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> re = bm.frequentist.mv.predict.ranef_mv(res)
    >>> sorted(re)
    ['district', 'district/school']
    """
    y, vi, X = res.data.yi, res.data.vi, np.asarray(res.X, dtype=float)
    levels, cid = np.unique(np.asarray(res.data.cluster), return_inverse=True)
    m = len(levels)
    s1, s2 = (float(v) for v in res.sigma2)
    w = 1.0 / (vi + s2)
    S = np.bincount(cid, weights=w, minlength=m)
    c = s1 / (1.0 + s1 * S)

    def solve(M: np.ndarray) -> np.ndarray:  # V^-1 M for a vector or matrix M (Sherman-Morrison per block)
        wM = w * M if M.ndim == 1 else w[:, None] * M
        if M.ndim == 1:
            return wM - c[cid] * w * np.bincount(cid, weights=wM, minlength=m)[cid]
        sums = np.column_stack([np.bincount(cid, weights=wM[:, j], minlength=m) for j in range(M.shape[1])])
        return wM - (c[cid] * w)[:, None] * sums[cid]

    WX = solve(X)
    A_inv = np.linalg.inv(X.T @ WX)
    e = y - X @ res.beta
    We = solve(e)
    crit = _crit(check_level(res.level if level is None else level), res.dfs)
    # clusters: Z'WZ is diagonal (S - c S^2); Z'WX sums the rows of WX per cluster
    B = np.column_stack([np.bincount(cid, weights=WX[:, j], minlength=m) for j in range(X.shape[1])])
    zpz = S - c * S**2 - np.einsum("ij,jk,ik->i", B, A_inv, B)
    u = s1 * np.bincount(cid, weights=We, minlength=m)
    u_se = np.sqrt(np.maximum(s1 - s1**2 * zpz, 0.0))
    # effects within clusters: diag(W) = w - c w^2
    p_diag = w - c[cid] * w**2 - np.einsum("ij,jk,ik->i", WX, A_inv, WX)
    v = s2 * We
    v_se = np.sqrt(np.maximum(s2 - s2**2 * p_diag, 0.0))

    def table(pred: np.ndarray, se: np.ndarray, index: list[str]) -> pd.DataFrame:
        out = pd.DataFrame({"pred": pred, "se": se, "pi_lb": pred - crit * se, "pi_ub": pred + crit * se},
                           index=pd.Index(index, name="level"))
        return transform_table(out, transf, "pred", (("pi_lb", "pi_ub"),))

    names = tuple(getattr(res, "s_names", ("cluster", "cluster/id")))
    return {names[0]: table(u, u_se, [str(lv) for lv in levels]),
            names[1]: table(v, v_se, [str(lab) for lab in res.data.labels])}
