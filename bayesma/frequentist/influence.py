"""Case-deletion diagnostics of a frequentist fit, as metafor's ``influence``, ``leave1out``,
``cumul`` and ``baujat``.

These are the *frequentist* diagnostics: every step refits :func:`bayesma.rma` (the same
tau² estimator, test and level) without a study, or on the first studies of an ordering.
The Bayesian counterparts, which refit a posterior, are
:func:`bayesma.leave_one_out` and :func:`bayesma.cumulative`.

* :func:`influence`: externally studentized residuals, DFFITS, Cook's distances,
  covariance ratios, leave-one-out tau² and QE, hat values, weights and DFBETAS, with
  the studies metafor marks as influential (``influence.rma.uni``; Viechtbauer & Cheung
  2010).
* :func:`leave1out`: the pooled estimate, its interval, Q, tau², I² and H² without each
  study (``leave1out.rma.uni``).
* :func:`cumul`: the same quantities as the studies are added one by one in a chosen
  order (``cumul.rma.uni``).
* :func:`baujat_values`: the coordinates of the Baujat plot (``baujat.rma``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._plotting import draw
from bayesma.frequentist.transf import apply_transf, psort

__all__ = [
    "InfluenceDiagnostics",
    "StepResult",
    "baujat_values",
    "cumul",
    "influence",
    "leave1out",
]

_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------
# helpers


def _check_rma(res: Any, what: str) -> None:
    """*res* must be a fitted ``rma`` result that keeps its data and design matrix."""
    if hasattr(res, "sigma2") and hasattr(res, "X"):
        raise TypeError(f"{what} is available for fits of bayesma.rma(), not for three-level rma_mv fits")
    if not all(hasattr(res, a) for a in ("X", "data", "beta", "vb", "tau2", "refit")) or res.X is None:
        raise TypeError(
            f"{what} needs a result of bayesma.rma() (got {type(res).__name__}); "
            "for a Bayesian fit use bayesma.leave_one_out / bayesma.cumulative"
        )
    if getattr(res, "data", None) is None:
        raise ValueError(f"{what}: the result holds no data (it was not made by bayesma.rma)")


def _is_mh(res: Any) -> bool:
    """A Mantel-Haenszel or Peto fit (:func:`bayesma.rma_mh`, :func:`bayesma.rma_peto`)."""
    return hasattr(res, "tables") and hasattr(res, "refit") and hasattr(res, "labels")


def _labels(res: Any) -> list[str]:
    return list(res.labels) if _is_mh(res) else list(res.data.labels)


def _check_steps(res: Any, what: str) -> None:
    """leave1out / cumul: an intercept-only ``rma`` fit, or an ``rma_mh`` / ``rma_peto`` fit."""
    if _is_mh(res):
        return
    _check_rma(res, what)
    if res.X.shape[1] != 1 or not np.allclose(res.X[:, 0], 1.0):
        raise ValueError(f"{what} is only for models without moderators (as metafor); "
                         "for a meta-regression use influence()")


def _refit(res: Any, keep: np.ndarray) -> Any | None:
    """*res* refitted to the studies in *keep*; None where metafor's refit fails (``try``)."""
    if _is_mh(res):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = res.refit(keep)
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return None
        return fit  # a NaN estimate (no events in one group) keeps its Q, as metafor
    X = res.X[keep]
    if X.shape[0] == 0 or np.linalg.matrix_rank(X) < X.shape[1]:
        return None  # metafor: a coefficient becomes inestimable (coef.na) -> NA row
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return res.refit(keep)
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
        return None


def _hat(res: Any) -> np.ndarray:
    """Diagonal of the hat matrix X (X'WX)^-1 X'W, W = diag(1 / (vi + tau2)) (``hatvalues.rma.uni``)."""
    X = res.X
    w = 1.0 / (res.data.vi + res.tau2)
    A_inv = np.linalg.inv((X.T * w) @ X)
    h = np.einsum("ij,jk,ik->i", X, A_inv, X) * w
    h[h > 1 - 10 * _EPS] = 1.0
    return h


def _weights(res: Any) -> np.ndarray:
    w = 1.0 / (res.data.vi + res.tau2)
    return 100.0 * w / w.sum()


def _btt(btt: Any, p: int, names: list[str]) -> list[int]:
    """Coefficients (0-based) from *btt*: None (all), indices (1-based, as metafor) or names."""
    if btt is None:
        return list(range(p))
    items = [btt] if isinstance(btt, (int, np.integer, str)) else list(btt)
    out = []
    for b in items:
        if isinstance(b, str):
            if b not in names:
                raise ValueError(f"btt: no coefficient named {b!r}; the coefficients are {names}")
            out.append(names.index(b))
        elif isinstance(b, (int, np.integer)) and 1 <= int(b) <= p:
            out.append(int(b) - 1)
        else:
            raise ValueError(f"btt: {b!r} is not a coefficient number in 1..{p} (metafor counts from 1)")
    return sorted(set(out))


# ---------------------------------------------------------------------------
# influence


@dataclass
class InfluenceDiagnostics:  # numpydoc ignore=PR01
    """Case-deletion diagnostics of an ``rma`` fit (metafor's ``influence.rma.uni``).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per study (index: study labels) with ``rstudent`` (externally
        studentized residual), ``dffits``, ``cook_d`` (Cook's distance), ``cov_r``
        (covariance ratio), ``tau2_del`` and ``QE_del`` (tau² and QE without the
        study), ``hat`` (leverage), ``weight`` (%) and ``inf`` (True where metafor
        marks the study with ``*``).
    dfbetas : pandas.DataFrame
        DFBETAS, one column per coefficient.
    is_infl : numpy.ndarray of bool
        The ``inf`` column: ``|DFFITS| > 3 sqrt(p / (k - p))``, or the chi-square(m) cdf
        of Cook's distance > 0.5, or ``hat > 3 p / k``, or any ``|DFBETAS| > 1``.
    k, p, m : int
        Studies, coefficients and the number of coefficients in Cook's distance.
    tau2, QE : float
        tau² and QE of the full fit.

    Plot it with :meth:`plot` / :func:`bayesma.influence_plot` (metafor's ``plot(influence(res))``).
    """

    table: pd.DataFrame
    dfbetas: pd.DataFrame
    k: int
    p: int
    m: int
    tau2: float
    QE: float
    method: str = "REML"
    resid: np.ndarray = field(default=None, repr=False)
    se_resid: np.ndarray = field(default=None, repr=False)

    @property
    def is_infl(self) -> np.ndarray:
        return self.table["inf"].to_numpy(dtype=bool)

    @property
    def influential(self) -> list[str]:
        """Labels of the studies marked as influential."""
        return [str(s) for s in self.table.index[self.is_infl]]

    def summary(self) -> pd.DataFrame:
        """The diagnostics and the DFBETAS in one table (DFBETAS columns prefixed ``dfbs_``
        when the model has several coefficients; a single column ``dfbs`` otherwise).

        Returns
        -------
        pandas.DataFrame
            One row per study: the columns of ``table`` (``inf`` last) with the DFBETAS.
        """
        if self.p == 1:
            extra = pd.DataFrame({"dfbs": self.dfbetas.iloc[:, 0]}, index=self.table.index)
        else:
            extra = self.dfbetas.add_prefix("dfbs_")
        cols = [c for c in self.table.columns if c != "inf"]
        return pd.concat([self.table[cols], extra, self.table[["inf"]]], axis=1)

    def plot(self, **kwargs: Any):
        """The diagnostics against study, as metafor's ``plot(influence(res))``; see
        :func:`bayesma.influence_plot` (``dfbetas=True`` for the DFBETAS).

        Parameters
        ----------
        **kwargs
            Passed to :func:`bayesma.influence_plot`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        return draw("influence_plot", self, **kwargs)

    def __repr__(self) -> str:
        t = self.summary().copy()
        t["inf"] = np.where(self.is_infl, "*", "")
        body = t.to_string(float_format=lambda v: f"{v:.4f}")
        head = (f"Influence diagnostics (k = {self.k}, p = {self.p}; metafor's influence.rma.uni)\n"
                f"Influential (*): {', '.join(self.influential) or 'none'}\n\n")
        return head + body


def influence(res: Any, btt: Any = None) -> InfluenceDiagnostics:
    """Case-deletion influence diagnostics of an ``rma`` fit (metafor's ``influence``).

    Each study is deleted in turn and the model refitted with the same tau² estimator,
    test and level (a fixed tau² stays fixed).

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma`, with or without moderators.
    btt : int, str or sequence, optional
        The coefficients that enter Cook's distances and covariance ratios (1-based
        numbers as in metafor, or names); default all.

    Returns
    -------
    InfluenceDiagnostics
        ``.table`` (rstudent, dffits, cook_d, cov_r, tau2_del, QE_del, hat, weight, inf)
        and ``.dfbetas``, one row per study.

    Raises
    ------
    TypeError
        *res* is not a fit of :func:`bayesma.rma`.
    ValueError
        k = 1, or *btt* names no coefficient.

    Notes
    -----
    With ``beta_(-i)``, ``tau2_(-i)`` and ``s2w_(-i)`` (the Knapp-Hartung factor, 1 for z tests)
    from the fit without study i, and the hat value ``h_i``:
    ``rstudent = (y_i - x_i'beta_(-i)) / sqrt(s2w (v_i + tau2_(-i)) + x_i' Var(beta_(-i)) x_i)``;
    ``dffits = x_i'(beta - beta_(-i)) / sqrt(s2w h_i (tau2_(-i) + v_i))``;
    ``cook_d = (beta - beta_(-i))' Var(beta)^-1 (beta - beta_(-i))``;
    ``cov_r = det Var(beta_(-i)) / det Var(beta)``;
    ``dfbetas = (beta - beta_(-i)) / sqrt(s2w diag((X'W_(-i)X)^-1))`` with
    ``W_(-i) = diag(1 / (v + tau2_(-i)))`` over all k studies.

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for
    meta-analysis. Research Synthesis Methods, 1(2), 112-125.
    metafor 3.8-1, ``influence.rma.uni``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> inf = bm.influence(bm.rma("yi", "vi", data=es))
    >>> round(float(inf.table["cook_d"].iloc[0]), 4)
    0.0017
    """
    _check_rma(res, "influence")
    k, p = res.X.shape
    if k == 1:
        raise ValueError("influence: stopped because k = 1 (nothing to delete)")
    bt = _btt(btt, p, list(res.coef_names))
    m = len(bt)
    X, yi, vi = res.X, res.data.yi, res.data.vi
    beta = np.asarray(res.beta, dtype=float)
    pred_full = X @ beta
    vb_bt = res.vb[np.ix_(bt, bt)]
    svb = np.linalg.inv(vb_bt)
    det_full = np.linalg.det(vb_bt)
    hat = _hat(res)

    nan = lambda: np.full(k, np.nan)  # noqa: E731
    tau2_del, QE_del, delpred, vdelpred, s2w_del = nan(), nan(), nan(), nan(), nan()
    dffits, cook_d, cov_r = nan(), nan(), nan()
    dfbs = np.full((k, p), np.nan)
    for i in range(k):
        keep = np.ones(k, dtype=bool)
        keep[i] = False
        fit = _refit(res, keep)
        if fit is None:
            continue
        tau2_del[i], QE_del[i], s2w_del[i] = fit.tau2, fit.QE, fit.s2w
        xi = X[i]
        delpred[i] = xi @ fit.beta
        vdelpred[i] = xi @ fit.vb @ xi
        dffits[i] = (pred_full[i] - delpred[i]) / np.sqrt(fit.s2w * hat[i] * (fit.tau2 + vi[i]))
        w_del = 1.0 / (vi + fit.tau2)
        vb_del = np.linalg.inv((X.T * w_del) @ X)
        dfb = beta - fit.beta
        dfbs[i] = dfb / np.sqrt(fit.s2w * np.diag(vb_del))
        d = dfb[bt]
        cook_d[i] = d @ svb @ d
        cov_r[i] = np.linalg.det(fit.vb[np.ix_(bt, bt)]) / det_full

    resid = yi - delpred
    resid[np.abs(resid) < 100 * _EPS] = 0.0
    se_resid = np.sqrt(vi * s2w_del + vdelpred + tau2_del * s2w_del)
    rstudent = resid / se_resid
    weight = _weights(res)

    with np.errstate(divide="ignore", invalid="ignore"):
        cut_dffits = 3 * np.sqrt(p / (k - p)) if k > p else np.inf
        is_infl = (
            (np.abs(dffits) > cut_dffits)
            | (stats.chi2.cdf(cook_d, df=m) > 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbs) > 1, axis=1)
        )
    index = pd.Index(list(res.data.labels), name="study")
    table = pd.DataFrame(
        {"rstudent": rstudent, "dffits": dffits, "cook_d": cook_d, "cov_r": cov_r, "tau2_del": tau2_del,
         "QE_del": QE_del, "hat": hat, "weight": weight, "inf": is_infl},
        index=index,
    )
    dfbetas = pd.DataFrame(dfbs, index=index, columns=list(res.coef_names))
    return InfluenceDiagnostics(table=table, dfbetas=dfbetas, k=k, p=p, m=m, tau2=float(res.tau2), QE=float(res.QE),
                           method=res.method, resid=resid, se_resid=se_resid)


# ---------------------------------------------------------------------------
# leave-one-out and cumulative


@dataclass
class StepResult:  # numpydoc ignore=PR01
    """Refits of an ``rma`` model on changing sets of studies: :func:`leave1out` or :func:`cumul`.

    Attributes
    ----------
    kind : {"leave1out", "cumul"}
    table : pandas.DataFrame
        One row per step (index: the study left out, or the study added), columns
        ``estimate, se, zval`` (``tval`` for Knapp-Hartung fits) ``, pval, ci_lb, ci_ub,
        Q, Qp, tau2, I2, H2`` (no ``tau2`` for a common-effect model). With
        ``transf``, ``estimate`` and the bounds are transformed and ``se`` is NaN.
    level : float
    transf : callable or None
    full : tuple of float
        ``(estimate, ci_lb, ci_ub)`` of the fit on all studies (transformed with ``transf``).

    Plot it with :meth:`plot` / :func:`bayesma.steps_plot` (a forest plot of the steps).
    """

    kind: str
    table: pd.DataFrame
    level: float
    method: str
    transf: Callable[[np.ndarray], np.ndarray] | None = None
    full: tuple[float, float, float] | None = None

    def summary(self) -> pd.DataFrame:
        """The table (a copy).

        Returns
        -------
        pandas.DataFrame
            One row per step (study left out, or study added).
        """
        return self.table.copy()

    def plot(self, **kwargs: Any):
        """Forest-style plot of the steps (metafor's ``forest(leave1out(res))`` /
        ``forest(cumul(res))``); see :func:`bayesma.steps_plot`.

        Parameters
        ----------
        **kwargs
            Passed to :func:`bayesma.steps_plot`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        return draw("steps_plot", self, **kwargs)

    def __repr__(self) -> str:
        title = ("Leave-one-out analysis (frequentist; each row omits one study)" if self.kind == "leave1out"
                 else "Cumulative meta-analysis (frequentist; each row adds one study)")
        if self.transf is not None:
            title += f"\n(estimate and interval transformed with {getattr(self.transf, '__name__', 'transf')})"
        return title + "\n\n" + self.table.to_string(float_format=lambda v: f"{v:.4f}")


_STEP_COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")


def _steps(res: Any, fits: list[Any], index: pd.Index, kind: str, transf: Any) -> StepResult:
    n = len(fits)
    cols = {c: np.full(n, np.nan) for c in _STEP_COLUMNS}
    for j, fit in enumerate(fits):
        if fit is None:
            continue
        first = lambda v: float(np.atleast_1d(v)[0])  # noqa: E731  (rma: arrays; rma_mh: numbers)
        for c, v in (("estimate", fit.beta), ("se", fit.se), ("zval", fit.stat), ("pval", fit.pval),
                     ("ci_lb", fit.ci_lb), ("ci_ub", fit.ci_ub), ("Q", fit.QE), ("Qp", fit.QEp),
                     ("tau2", fit.tau2), ("I2", fit.I2), ("H2", fit.H2)):
            cols[c][j] = first(v)
    full = tuple(float(np.atleast_1d(v)[0]) for v in (res.beta, res.ci_lb, res.ci_ub))
    if transf is not None:
        cols["estimate"], cols["ci_lb"], cols["ci_ub"] = apply_transf(transf, cols["estimate"], cols["ci_lb"],
                                                                      cols["ci_ub"])
        cols["se"] = np.full(n, np.nan)
        e, lb, ub = apply_transf(transf, *(np.array([v]) for v in full))
        lo, hi = psort(lb, ub)
        full = (float(e[0]), float(lo[0]), float(hi[0]))
    cols["ci_lb"], cols["ci_ub"] = psort(cols["ci_lb"], cols["ci_ub"])
    table = pd.DataFrame(cols, index=index)
    if res.dfs is not None:
        table = table.rename(columns={"zval": "tval"})
    if res.method in ("FE", "MH", "Peto"):
        table = table.drop(columns="tau2")
    return StepResult(kind=kind, table=table, level=float(res.level), method=res.method, transf=transf, full=full)


def leave1out(res: Any, transf: Callable[[np.ndarray], np.ndarray] | None = None) -> StepResult:
    """Leave-one-out analysis of an intercept-only ``rma`` fit (metafor's ``leave1out``).

    The frequentist counterpart of :func:`bayesma.leave_one_out`: each study is left out
    in turn and the model refitted with the same tau² estimator, test and level.

    Parameters
    ----------
    res : RMAResult or MHResult
        A fit of :func:`bayesma.rma` without moderators, or of :func:`bayesma.rma_mh` /
        :func:`bayesma.rma_peto` (refitted with the same measure and zero-cell options).
    transf : callable, optional
        Applied to the estimates and interval bounds (e.g. ``numpy.exp`` for log
        ratios, ``numpy.tanh`` for Fisher's z); ``se`` is then NaN, as in metafor.

    Returns
    -------
    StepResult
        ``.table``: one row per omitted study (index: its label), columns estimate,
        se, zval (tval), pval, ci_lb, ci_ub, Q, Qp, tau2, I2, H2.

    Raises
    ------
    TypeError
        *res* is not a fit of :func:`bayesma.rma`.
    ValueError
        The model has moderators, or k = 1.

    References
    ----------
    metafor 3.8-1, ``leave1out.rma.uni``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> bm.leave1out(res).table["estimate"].round(4).tolist()
    [0.2251, 0.1511, 0.1274, 0.2323]
    """
    _check_steps(res, "leave1out")
    k = len(_labels(res))
    if k == 1:
        raise ValueError("leave1out: stopped because k = 1")
    fits = []
    for i in range(k):
        keep = np.ones(k, dtype=bool)
        keep[i] = False
        fits.append(_refit(res, keep))
    index = pd.Index(_labels(res), name="omitted")
    return _steps(res, fits, index, "leave1out", transf)


def cumul(res: Any, order: Any = None, *, decreasing: bool = False,
          transf: Callable[[np.ndarray], np.ndarray] | None = None) -> StepResult:
    """Cumulative meta-analysis of an intercept-only ``rma`` fit (metafor's ``cumul``).

    The frequentist counterpart of :func:`bayesma.cumulative`: the studies are added
    one at a time in the order of *order* and the model is refitted at each step
    (the same tau² estimator, test and level).

    Parameters
    ----------
    res : RMAResult or MHResult
        A fit of :func:`bayesma.rma` without moderators, or of :func:`bayesma.rma_mh` /
        :func:`bayesma.rma_peto`.
    order : str or array_like, optional
        The sort key: a column of the data the model was fitted with (e.g. ``"year"``)
        or one value per study. Ties keep the data order. Default: the data order.
    decreasing : bool
        Sort from the largest value down.
    transf : callable, optional
        Applied to the estimates and interval bounds; ``se`` is then NaN.

    Returns
    -------
    StepResult
        ``.table``: one row per step (index: the study added), in the cumulative
        order, columns estimate, se, zval (tval), pval, ci_lb, ci_ub, Q, Qp, tau2, I2, H2.

    Raises
    ------
    TypeError
        *res* is not a fit of :func:`bayesma.rma`.
    ValueError
        The model has moderators; *order* has the wrong length, missing values, or
        names no column.

    References
    ----------
    Lau, J., et al. (1992). Cumulative meta-analysis of therapeutic trials for myocardial
    infarction. New England Journal of Medicine, 327, 248-254. metafor 3.8-1, ``cumul.rma.uni``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> bm.cumul(res, order=[2001, 1999, 2005, 2003]).table.index.tolist()
    ['2', '1', '4', '3']
    """
    _check_steps(res, "cumul")
    labels = _labels(res)
    k = len(labels)
    if order is None:
        key = np.arange(k)
    else:
        if isinstance(order, str):
            if _is_mh(res):
                raise TypeError("cumul: for an rma_mh / rma_peto fit give order as values, one per table")
            if order not in res.data.data.columns:
                raise ValueError(f"cumul: order={order!r} is not a column of the data the model was fitted with "
                                 f"(columns: {list(res.data.data.columns)})")
            values = res.data.data[order]
        else:
            values = order
        key = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
        if key.ndim != 1 or len(key) != k:
            raise ValueError(f"cumul: order has {key.size} values; one per study (k = {k}) is needed")
        if pd.isna(pd.Series(key)).any():
            i = int(np.flatnonzero(pd.isna(pd.Series(key)).to_numpy())[0])
            raise ValueError(f"cumul: order is missing for study {labels[i]!r} (row {i + 1})")
    idx = np.argsort(key, kind="stable")
    if decreasing:
        # R's order(decreasing = TRUE) keeps ties in data order
        ranks = pd.Series(key).rank(method="dense").to_numpy()
        idx = np.argsort(-ranks, kind="stable")
    fits = []
    for j in range(k):
        fits.append(_refit_ordered(res, idx[: j + 1]))
    index = pd.Index([labels[i] for i in idx], name="added")
    return _steps(res, fits, index, "cumul", transf)


def _refit_ordered(res: Any, rows: np.ndarray) -> Any | None:
    """Refit on the studies *rows*; the order of the studies does not change the estimates."""
    keep = np.zeros(len(_labels(res)), dtype=bool)
    keep[rows] = True
    return _refit(res, keep)


# ---------------------------------------------------------------------------
# Baujat


def baujat_values(res: Any) -> pd.DataFrame:
    """Coordinates of the Baujat plot of an ``rma`` fit (metafor's ``baujat``).

    Parameters
    ----------
    res : RMAResult

    Returns
    -------
    pandas.DataFrame
        One row per study (index: label): ``x``, the study's contribution to the
        (residual) heterogeneity, ``(y_i - x_i'beta)^2 / (tau2 + v_i)``; ``y``, its
        influence on the fitted value, ``(x_i'beta_(-i) - x_i'beta)^2 / Var(x_i'beta_(-i))``.

    References
    ----------
    Baujat, B., Mahé, C., Pignon, J.-P., & Hill, C. (2002). A graphical method for
    exploring heterogeneity in meta-analyses. Statistics in Medicine, 21, 2641-2652.
    metafor 3.8-1, ``baujat.rma``.
    """
    _check_rma(res, "baujat")
    k = res.X.shape[0]
    if k == 1:
        raise ValueError("baujat: stopped because k = 1")
    X = res.X
    pred = X @ res.beta
    y = np.full(k, np.nan)
    for i in range(k):
        keep = np.ones(k, dtype=bool)
        keep[i] = False
        fit = _refit(res, keep)
        if fit is None:
            continue
        dp = X[i] @ fit.beta
        y[i] = (dp - pred[i]) ** 2 / (X[i] @ fit.vb @ X[i])
    x = (res.data.yi - pred) ** 2 / (res.tau2 + res.data.vi)
    return pd.DataFrame({"x": x, "y": y}, index=pd.Index(list(res.data.labels), name="study"))
