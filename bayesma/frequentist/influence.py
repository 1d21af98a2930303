"""Case-deletion diagnostics of a frequentist fit, as metafor's ``influence``, ``leave1out``,
``cumul`` and ``baujat`` (``leave1out`` and ``cumul`` live in :mod:`bayesma.frequentist.steps`
and are importable from here).

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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.coefs import resolve_btt
from bayesma.frequentist._refit import _check_rma, _check_two_studies, _without_each
from bayesma.frequentist.steps import StepResult, cumul, leave1out
from bayesma.frequentist.weights import refuse_user_weights

__all__ = [
    "InfluenceDiagnostics",
    "StepResult",
    "baujat",
    "baujat_values",
    "cumul",
    "influence",
    "leave1out",
]

_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------
# helpers


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
    """Coefficients (0-based) from *btt*: None (all), numbers (from 1, as metafor) or names."""
    return list(range(p)) if btt is None else resolve_btt(btt, names)


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

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> inf = bm.influence(res)
    >>> inf.k, inf.influential
    (13, [])
    """

    table: pd.DataFrame
    dfbetas: pd.DataFrame
    k: int
    p: int
    m: int
    tau2: float
    QE: float
    method: str = "REML"
    resid: np.ndarray | None = field(default=None, repr=False)
    se_resid: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_infl(self) -> np.ndarray:
        return self.table["inf"].to_numpy(dtype=bool)

    @property
    def influential(self) -> list[str]:
        """Labels of the studies marked as influential.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> bm.influence(res).influential
        []
        """
        return [str(s) for s in self.table.index[self.is_infl]]

    def summary(self) -> pd.DataFrame:
        """The diagnostics and the DFBETAS in one table (DFBETAS columns prefixed ``dfbs_``
        when the model has several coefficients; a single column ``dfbs`` otherwise).

        Returns
        -------
        pandas.DataFrame
            One row per study: the columns of ``table`` (``inf`` last) with the DFBETAS.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> bm.influence(res).summary().columns.tolist()
        ['rstudent', 'dffits', 'cook_d', 'cov_r', 'tau2_del', 'QE_del', 'hat', 'weight', 'dfbs', 'inf']
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

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> fig = bm.influence(res).plot()    # doctest: +SKIP
        """
        from bayesma.plots.influence import influence_plot
        return influence_plot(self, **kwargs)

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
    refuse_user_weights(res, "influence()")
    _check_rma(res, "influence")
    k, p = res.X.shape
    _check_two_studies("influence", k, res.data.labels[0])
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
    for i, fit in _without_each(res, k):
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

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> bm.baujat_values(res).loc["2"].round(3).tolist()
    [1.493, 0.112]
    """
    refuse_user_weights(res, "baujat()")
    _check_rma(res, "baujat")
    k = res.X.shape[0]
    _check_two_studies("baujat", k, res.data.labels[0], "must compare each study with the fit of the others")
    X = res.X
    pred = X @ res.beta
    y = np.full(k, np.nan)
    for i, fit in _without_each(res, k):
        if fit is None:
            continue
        dp = X[i] @ fit.beta
        y[i] = (dp - pred[i]) ** 2 / (X[i] @ fit.vb @ X[i])
    x = (res.data.yi - pred) ** 2 / (res.tau2 + res.data.vi)
    return pd.DataFrame({"x": x, "y": y}, index=pd.Index(list(res.data.labels), name="study"))


def baujat(res: Any, *, ax: Any = None, figsize: tuple[float, float] = (6.0, 5.0)) -> Any:
    """Baujat plot of a frequentist fit (metafor's ``baujat``).

    Each study's contribution to the (residual) heterogeneity statistic (x) against its
    influence on the pooled result (y); studies in the top right corner both drive the
    heterogeneity and move the estimate. Each study is a dot with its label; where labels
    would overlap (large k) the most extreme studies (top right) keep theirs. The
    coordinates are :func:`baujat_values`; :func:`bayesma.plots.baujat_plot` draws them.

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma`.
    ax : matplotlib Axes, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Baujat, B., et al. (2002). A graphical method for exploring heterogeneity in
    meta-analyses. Statistics in Medicine, 21, 2641-2652.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    >>> fig = bm.baujat(res)
    """
    values = baujat_values(res)
    from bayesma.plots.influence import baujat_plot
    return baujat_plot(values, fe=res.method == "FE", mods=res.X.shape[1] > 1, ax=ax, figsize=figsize)
