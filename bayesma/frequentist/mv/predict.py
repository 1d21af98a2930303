"""Predictions and random effects of an ``rma_mv`` fit (metafor's ``predict.rma.mv`` and
``ranef.rma.mv``), block by block.

With the fitted marginal covariance M (block diagonal), W = M⁻¹, the residuals e = y - X beta and
P = W - W X (X'WX)⁻¹ X'W:

* ``predict``: ``x'beta`` with ``se = sqrt(x' Var(beta) x)``, the confidence interval, and the
  prediction interval ``x'beta ± crit sqrt(se² + sum(sigma²) [+ tau² + gamma²])``, where a
  heteroscedastic structure (HCS, UN, DIAG, HAR) takes the level of its inner factor from
  ``tau2_levels`` / ``gamma2_levels``, as metafor;
* ``ranef``: for every ``~ 1 | f`` term, the effects of the levels of f, ``u = sigma² Z'W e``
  with variances ``sigma² - sigma⁴ diag(Z'PZ)``; for an ``~ inner | outer`` term, the effects of
  each outer level's inner levels, ``b = G Z'W e`` (one row per ``outer.inner`` combination in
  the data) with variances ``diag(G - G Z'PZ G)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import check_level
from bayesma.errors import InputError
from bayesma.frequentist.inference import critical_value
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


def _pi_variance(res: Any, n: int, tau2_levels: Any, gamma2_levels: Any) -> np.ndarray | None:
    """The random-effects variance a prediction interval adds (None if a level is needed and missing)."""
    extra = np.full(n, float(np.sum(res.sigma2)))
    for info, comp, levels, name in zip(getattr(res, "struct_info", []), (res.tau2, res.gamma2),
                                        (tau2_levels, gamma2_levels), ("tau2_levels", "gamma2_levels")):
        comp = np.atleast_1d(comp)
        if len(comp) == 1:
            extra += float(comp[0])
            continue
        if levels is None:
            return None
        lv = np.atleast_1d(np.asarray(levels, dtype=object))
        lv = np.repeat(lv, n) if lv.size == 1 else lv
        if lv.size != n:
            raise InputError(f"{name} has {lv.size} values for {n} predictions")
        names = [str(v) for v in info["levels"]]
        pos = [names.index(str(v)) if str(v) in names else (int(v) - 1 if str(v).isdigit() else -1) for v in lv]
        if any(p < 0 or p >= len(names) for p in pos):
            raise InputError(f"{name}: levels must be among {names} (or their positions 1..{len(names)})")
        extra += comp[np.array(pos)]
    return extra


def predict_mv(res: Any, newmods: Any = None, level: float | None = None,
               transf: Callable[[np.ndarray], np.ndarray] | None = None, tau2_levels: Any = None,
               gamma2_levels: Any = None) -> pd.DataFrame:
    """Predicted average effects of an ``rma_mv`` fit with confidence and prediction intervals
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
    tau2_levels, gamma2_levels : str, int or array_like, optional
        For a heteroscedastic ``~ inner | outer`` term (HCS, UN, DIAG, HAR): the inner level (name
        or 1-based position) of each prediction, whose tau² enters the prediction interval.

    Returns
    -------
    pandas.DataFrame
        ``pred, se, ci_lb, ci_ub, pi_lb, pi_ub``; the prediction interval adds the variance
        components to the variance of the prediction (NaN when a needed level is not given).

    Raises
    ------
    ValueError
        *newmods* has the wrong number of columns, or a level is not in the data.

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
    dfs = res.dfs if np.ndim(res.dfs) == 0 else np.min(res.dfs)
    crit = critical_value(check_level(res.level if level is None else level), dfs)
    pred = X @ res.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, res.vb, X))
    extra = _pi_variance(res, len(pred), tau2_levels, gamma2_levels)
    pi_se = np.sqrt(se**2 + extra) if extra is not None else np.full(len(pred), np.nan)
    out = pd.DataFrame({"pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se,
                        "pi_lb": pred - crit * pi_se, "pi_ub": pred + crit * pi_se})
    return transform_table(out, transf, "pred", (("ci_lb", "ci_ub"), ("pi_lb", "pi_ub")))


def ranef_mv(res: Any, level: float | None = None,
             transf: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, pd.DataFrame]:
    """Best linear unbiased predictions of the random effects of an ``rma_mv`` fit (metafor's
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
        One table per random term, keyed by its name (``res.s_names`` for the ``~ 1 | f``
        terms, ``"inner | outer"`` for a structured term), one row per level (index: the level;
        for the three-level model's inner term, the effect labels); columns
        ``pred, se, pi_lb, pi_ub``.

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
    layout = res.layout
    theta = layout.internal(np.asarray(res.theta, dtype=float))
    ev = layout.evaluate(theta, res.method == "REML")
    dfs = res.dfs if np.ndim(res.dfs) == 0 else np.min(res.dfs)
    crit = critical_value(check_level(res.level if level is None else level), dfs)
    H, p = ev.vb, layout.p

    def table(pred: np.ndarray, var: np.ndarray, index: list[str]) -> pd.DataFrame:
        se = np.sqrt(np.maximum(var, 0.0))
        out = pd.DataFrame({"pred": pred, "se": se, "pi_lb": pred - crit * se, "pi_ub": pred + crit * se},
                           index=pd.Index(index, name="level"))
        return transform_table(out, transf, "pred", (("pi_lb", "pi_ub"),))

    out: dict[str, pd.DataFrame] = {}
    nested = res.data is not None and res.data.cluster is not None  # the three-level cluster= call
    for t_i, (term, s2) in enumerate(zip(layout.sigmas, res.sigma2)):
        zwe = np.zeros(term.n_levels)
        zwz = np.zeros(term.n_levels)
        zwx = np.zeros((term.n_levels, p))
        for g, (Mi, MiX, Py) in zip(layout.groups, ev.parts):
            codes = term.codes[g.rows]
            same = (codes[:, :, None] == codes[:, None, :])
            np.add.at(zwe, codes.ravel(), Py.ravel())
            np.add.at(zwz, codes.ravel(), (Mi * same).sum(axis=2).ravel())
            np.add.at(zwx, codes.ravel(), MiX.reshape(-1, p))
        zpz = zwz - np.einsum("ij,jk,ik->i", zwx, H, zwx)
        labels = list(res.data.labels) if (nested and t_i == 1) else [str(v) for v in term.levels]
        out[term.name] = table(s2 * zwe, s2 - s2**2 * zpz, labels)
    for term, (tau2, rho) in zip(layout.structs, layout.split(theta)[1]):
        out[f"{term.inner_name} | {term.outer_name}"] = _struct_ranef(term, tau2, rho, layout, ev, table)
    return out


def _struct_ranef(term: Any, tau2: np.ndarray, rho: np.ndarray, layout: Any, ev: Any, table: Any) -> pd.DataFrame:
    """BLUPs of an ``~ inner | outer`` term: one per (outer, inner) combination in the data."""
    G = term.struct.G(tau2, rho)
    H, q = ev.vb, term.struct.q
    preds, vars_, keys = [], [], []
    for g, (Mi, MiX, Py) in zip(layout.groups, ev.parts):
        oc, ic = term.outer_codes[g.rows], term.inner_codes[g.rows]
        s = oc.shape[1]
        for a in range(s):  # each outer level of a block, at the first row that holds it
            first = ~(oc[:, :a] == oc[:, a:a + 1]).any(axis=1)
            same = oc == oc[:, a:a + 1]
            for i in range(q):
                blocks = np.flatnonzero(first & (same & (ic == i)).any(axis=1))
                if not len(blocks):
                    continue
                w = np.where(same[blocks], G[i][ic[blocks]], 0.0)  # G[i, inner_j] on the rows of this outer level
                preds.append(np.sum(w * Py[blocks], axis=1))
                wMw = np.einsum("na,nab,nb->n", w, Mi[blocks], w)
                wMX = np.einsum("na,nap->np", w, MiX[blocks])
                vars_.append(G[i, i] - (wMw - np.einsum("np,pq,nq->n", wMX, H, wMX)))
                keys.append(oc[blocks, a] * q + i)
    if not preds:
        return table(np.zeros(0), np.zeros(0), [])
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    labels = [f"{term.outer_levels[k // q]}.{term.inner_levels[k % q]}" for k in key[order]]
    return table(np.concatenate(preds)[order], np.concatenate(vars_)[order], labels)
