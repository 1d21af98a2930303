"""Leave-one-out and cumulative analyses of a frequentist fit (metafor's ``leave1out`` and ``cumul``).

Every step refits :func:`bayesma.rma` (or :func:`bayesma.rma_mh` / :func:`bayesma.rma_peto`)
with the same estimator, test and level: without each study in turn (:func:`leave1out`), or on
the first studies of an ordering (:func:`cumul`). The Bayesian counterparts are
:func:`bayesma.leave_one_out` and :func:`bayesma.cumulative`; the case-deletion diagnostics
are :func:`bayesma.influence`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma._format import frame_text
from bayesma._validate import align_to_studies
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist._refit import _check_steps, _check_two_studies, _is_mh, _labels, _refit, _without_each
from bayesma.frequentist.transf import apply_transf, psort

__all__ = ["StepResult", "cumul", "leave1out"]


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

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> loo = bm.leave1out(res)
    >>> loo.kind, loo.table.shape
    ('leave1out', (13, 11))
    """

    kind: str
    table: pd.DataFrame
    level: float
    method: str
    transf: Callable[[np.ndarray], np.ndarray] | None = None
    full: tuple[float, ...] | None = None

    def summary(self) -> pd.DataFrame:
        """The table (a copy).

        Returns
        -------
        pandas.DataFrame
            One row per step (study left out, or study added).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> round(float(bm.leave1out(res).summary().loc["1", "estimate"]), 4)
        -0.7071
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

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> fig = bm.leave1out(res).plot()    # doctest: +SKIP
        """
        from bayesma.plots.influence import steps_plot
        return steps_plot(self, **kwargs)

    def __repr__(self) -> str:
        title = ("Leave-one-out analysis (frequentist; each row omits one study)" if self.kind == "leave1out"
                 else "Cumulative meta-analysis (frequentist; each row adds one study)")
        if self.transf is not None:
            title += f"\n(estimate and interval transformed with {getattr(self.transf, '__name__', 'transf')})"
        return title + "\n\n" + frame_text(self.table)


_STEP_COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")


def _steps(res: Any, fits: Iterable[Any], index: pd.Index, kind: str, transf: Any) -> StepResult:
    """The table of the refits *fits* (consumed one at a time, so memory stays O(k): each
    refit's k weights are dropped once its row is read), one per label of *index*."""
    n = len(index)
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
    _check_two_studies("leave1out", k, _labels(res)[0])
    fits = (fit for _, fit in _without_each(res, k))
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
                raise ArgumentTypeError("cumul: for an rma_mh / rma_peto fit give order as values, one per table")
            if order not in res.data.data.columns:
                raise InputError(f"cumul: order={order!r} is not a column of the data the model was fitted with "
                                 f"(columns: {list(res.data.data.columns)})")
            values = res.data.data[order]
        else:  # a Series pairs with the studies by index (the rows the model was fitted with)
            index = getattr(getattr(res, "data", None), "row_index", None)
            values = align_to_studies(order, pd.RangeIndex(k) if index is None else index, "order")
        key = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
        if key.ndim != 1 or len(key) != k:
            raise InputError(f"cumul: order has {key.size} values; one per study (k = {k}) is needed")
        if pd.isna(pd.Series(key)).any():
            i = int(np.flatnonzero(pd.isna(pd.Series(key)).to_numpy())[0])
            raise InputError(f"cumul: order is missing for study {labels[i]!r} (row {i + 1})")
    idx = np.argsort(key, kind="stable")
    if decreasing:
        # R's order(decreasing = TRUE) keeps ties in data order
        ranks = pd.Series(key).rank(method="dense").to_numpy()
        idx = np.argsort(-ranks, kind="stable")
    fits = (_refit_ordered(res, idx[: j + 1]) for j in range(k))
    index = pd.Index([labels[i] for i in idx], name="added")
    return _steps(res, fits, index, "cumul", transf)


def _refit_ordered(res: Any, rows: np.ndarray) -> Any | None:
    """Refit on the studies *rows*; the order of the studies does not change the estimates."""
    keep = np.zeros(len(_labels(res)), dtype=bool)
    keep[rows] = True
    return _refit(res, keep)
