"""Influence of single studies, Bayesian: :func:`leave_one_out` and :func:`cumulative`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._validate import align_to_studies, study_index
from bayesma.errors import ArgumentTypeError, DataWarning, InputError, UnsupportedModelError
from bayesma.priors.reference import rebuilt_for
from bayesma.sensitivity._common import (
    check_engine,
    fit_row,
    resolve_engine,
    split_fit_kwargs,
)

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

__all__ = ["leave_one_out", "cumulative", "InfluenceResult"]


@dataclass
class InfluenceResult:
    """Refits on subsets of the studies (leave-one-out or cumulative).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per refit: index the omitted (leave-one-out) or added (cumulative)
        study; columns ``k`` and those of :class:`PriorComparison` (mu mean, sd,
        95% interval; tau median and interval; new-study interval; P(mu > 0)).
    full : pandas.Series
        The same quantities with all studies.
    kind : str
        ``"leave_one_out"`` or ``"cumulative"``.
    engine : str
    """

    table: pd.DataFrame
    full: pd.Series
    kind: str
    engine: str

    def __repr__(self) -> str:
        cols = ["k", "mu_mean", "mu_lower", "mu_upper", "tau_median", "tau_lower", "tau_upper", "p_mu_positive"]
        return f"{self.kind} ({self.engine} engine)\n" + self.table[cols].to_string(float_format=lambda x: f"{x:.4g}")

    def plot(self, figsize: tuple[float, float] | None = None):
        """mu and tau (median / mean and 95% interval) for each refit, beside the full-data values.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        t = self.table
        n = len(t)
        fig, axes = plt.subplots(1, 2, figsize=figsize or (10, 1.2 + 0.32 * n), sharey=True)
        ypos = np.arange(n)[::-1]
        for ax, (mid, lo, hi, name) in zip(axes, (("mu_mean", "mu_lower", "mu_upper", "mu"),
                                                  ("tau_median", "tau_lower", "tau_upper", "tau"))):
            ax.axvspan(self.full[lo], self.full[hi], color="0.9", zorder=0)
            ax.axvline(self.full[mid], color="0.4", lw=1, zorder=1)
            ax.hlines(ypos, t[lo], t[hi], color="C0", lw=1.5)
            ax.plot(t[mid], ypos, "s", color="C0", ms=4)
            ax.set_xlabel(f"{name} ({'mean' if name == 'mu' else 'median'}, 95% interval)")
        axes[0].axvline(0.0, color="0.6", lw=0.8, ls=":")
        prefix = "without " if self.kind == "leave_one_out" else "+ "
        axes[0].set_yticks(ypos)
        axes[0].set_yticklabels([f"{prefix}{lab}" for lab in t.index])
        title = "Leave-one-out" if self.kind == "leave_one_out" else "Cumulative meta-analysis"
        fig.suptitle(f"{title} (shaded: all studies)")
        fig.tight_layout()
        return fig


def _subset_spec(spec: ModelSpec, mask: np.ndarray) -> ModelSpec:
    mask = np.asarray(mask, dtype=bool)
    gi = None if spec.group_index is None else spec.group_index[mask]
    ci = None if spec.cluster_index is None else spec.cluster_index[mask]
    if gi is not None and len(np.unique(gi)) < len(spec.group_names):
        raise InputError("a subgroup of tau_by= has no studies left in this subset")
    meta = spec.meta.subset(mask)
    # a prior built from the studies (Jeffreys) is rebuilt for the subset, as fitting it alone would
    priors = rebuilt_for(spec.priors, meta.vi)
    return replace(spec, meta=meta, X=spec.X[mask], group_index=gi, cluster_index=ci, priors=priors)


def _model_of_fit(data: Any, yi: Any, vi: Any, model_kwargs: dict, kind: str):
    """The :class:`~bayesma.MetaAnalysis` of a fitted posterior or a model passed as *data* (else None).

    Its spec holds the data, the resolved priors and the model's options, so arguments that
    would change them (``yi``, ``vi``, ``sei``, ``mods``, ...) are an error.
    """
    from bayesma.models import MetaAnalysis
    from bayesma.spec import ModelSpec

    if isinstance(data, MetaAnalysis):
        model = data
    elif isinstance(getattr(data, "spec", None), ModelSpec):  # MetaPosterior, ExactPosterior
        model = MetaAnalysis.from_spec(data.spec)
    else:
        return None
    given = ([] if isinstance(yi, str) and yi == "yi" else ["yi"]) + ([] if vi is None else ["vi"])
    given += list(model_kwargs)
    if given:
        raise ArgumentTypeError(
            f"bm.{kind}({type(data).__name__}) refits that model (its studies, priors and options), so "
            f"{', '.join(given)} cannot be given with it; to change them pass the data instead: "
            f"bm.{kind}(data, yi=..., vi=..., ...)")
    return model


def _influence(data, yi, vi, masks_labels, kind, priors, engine, model_kwargs) -> InfluenceResult:
    from bayesma.models import MetaAnalysis
    from bayesma.spec import check_priors

    if all(hasattr(data, a) for a in ("X", "tau2", "refit")):  # a frequentist fit, not data
        other = "leave1out" if kind == "leave_one_out" else "cumul"
        raise ArgumentTypeError(f"bm.{kind} refits a Bayesian model from data; for a frequentist fit of bm.rma() "
                        f"use bm.{other}(res)")
    check_engine(engine)
    fit_kwargs = split_fit_kwargs(model_kwargs)
    base = _model_of_fit(data, yi, vi, model_kwargs, kind)
    if base is not None:
        if priors is not None:
            base = base.with_priors(priors)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = MetaAnalysis(data, yi, vi, priors=priors, **model_kwargs)
    spec = base.spec
    dep = getattr(spec, "dependence", None)
    if dep is not None:  # a subset must also cut V's blocks, the clusters and the outcomes: not done here
        raise UnsupportedModelError(
            f"bm.{kind} refits a model on subsets of its rows; the {dep.model_name} model's dependent effects "
            "(V blocks by cluster, outcomes) are not subset here: fit the model on the data without a study "
            "(e.g. MetaAnalysis(data[data[cluster] != s], ...)) for each study s, or use bm.compare_priors "
            "(also with rho=[...]) for the sensitivity to the priors and the sampling correlation")
    engine = resolve_engine(engine, spec, fit_kwargs)  # "auto": decided once, from the full model
    full_row, _ = fit_row(spec, engine, fit_kwargs, base=base)
    rows, improper = {}, []
    for label, mask in masks_labels(spec):
        sub = _subset_spec(spec, mask)
        try:
            check_priors(sub)  # as a direct fit of these studies: refused when the posterior is improper
        except InputError as err:
            improper.append((label, str(err)))
            rows[label] = {"k": int(np.sum(mask))}
            continue
        row, _ = fit_row(sub, engine, fit_kwargs, base=base)
        rows[label] = {"k": int(np.sum(mask)), **row}
    table = pd.DataFrame.from_dict(rows, orient="index")
    if improper:
        warnings.warn(f"bm.{kind}: {len(improper)} refit(s) not computed (NaN rows: "
                      f"{', '.join(repr(lab) for lab, _ in improper)}): {improper[0][1]}", DataWarning, stacklevel=3)
    table.index.name = "omitted" if kind == "leave_one_out" else "added"
    full = pd.Series({"k": spec.k, **full_row}, name="all studies")
    return InfluenceResult(table, full, kind, engine)


def leave_one_out(
    data: pd.DataFrame | None = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    priors: Mapping[str, Any] | None = None,
    engine: str = "auto",
    **model_kwargs: Any,
) -> InfluenceResult:
    """Refit without each study in turn, to see whether a single study carries the conclusion.

    The priors are those of the full model (defaults resolved once on all studies),
    so only the data change.

    Parameters
    ----------
    data, yi, vi, priors
        As :class:`bayesma.MetaAnalysis`. *data* may also be a fitted
        :class:`bayesma.MetaPosterior` (``model.fit()``) or a
        :class:`bayesma.MetaAnalysis`: its studies, priors and options are
        refitted (then *yi*, *vi* and model options cannot be given; *priors*
        replaces some of its priors).
    engine : {"auto", "exact", "nuts"}
        The engine of the refits (also for a posterior fitted with NUTS); ``"auto"``: the
        exact engine when it can fit the model, else NUTS (as :meth:`bayesma.MetaAnalysis.fit`).
    **model_kwargs
        Passed to :class:`bayesma.MetaAnalysis` (``sei``, ``labels``, ``mods``,
        ``measure``...), plus NUTS options (``draws``, ``chains``, ``seed``...).

    Returns
    -------
    InfluenceResult
        ``.table`` (one row per omitted study), ``.full``, ``.plot()``.

    Raises
    ------
    TypeError
        For a frequentist fit (use :func:`bayesma.leave1out`), or *yi*, *vi* or model
        options given with a fitted model.

    Examples
    --------
    >>> import bayesma as bm
    >>> loo = bm.leave_one_out(yi=[0.1, 0.35, 0.2, 0.9], vi=[0.02, 0.03, 0.05, 0.04],
    ...                        labels=["A", "B", "C", "D"], priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> list(loo.table.index)
    ['A', 'B', 'C', 'D']
    >>> int(loo.table.loc["D", "k"])
    3
    """

    def masks(spec):
        for i, lab in enumerate(spec.labels):
            mask = np.ones(spec.k, dtype=bool)
            mask[i] = False
            yield lab, mask

    return _influence(data, yi, vi, masks, "leave_one_out", priors, engine, model_kwargs)


def cumulative(
    data: pd.DataFrame | None = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    order: Any = None,
    priors: Mapping[str, Any] | None = None,
    engine: str = "auto",
    **model_kwargs: Any,
) -> InfluenceResult:
    """Cumulative meta-analysis: add the studies one at a time.

    Parameters
    ----------
    data, yi, vi
        As :class:`bayesma.MetaAnalysis`; *data* may also be a fitted
        :class:`bayesma.MetaPosterior` or a :class:`bayesma.MetaAnalysis`, as for
        :func:`leave_one_out`.
    order : str or array_like, optional
        The order of adding: a column of *data* (sorted ascending, e.g. ``"year"``),
        or a key per study; default: the order of the rows.
    priors : mapping, optional
        As :class:`bayesma.MetaAnalysis`; resolved once on all studies.
    engine : {"auto", "exact", "nuts"}
        As :func:`leave_one_out`.
    **model_kwargs
        Passed to :class:`bayesma.MetaAnalysis`, plus NUTS options.

    Returns
    -------
    InfluenceResult
        ``.table`` (row *i*: the first *i* studies; index the study added), ``.full``, ``.plot()``.

    Examples
    --------
    >>> import bayesma as bm
    >>> cum = bm.cumulative(yi=[0.1, 0.35, 0.2], vi=[0.02, 0.03, 0.05], labels=["A", "B", "C"],
    ...                     order=[2001, 1999, 2005], priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> list(cum.table.index), list(cum.table["k"])
    (['B', 'A', 'C'], [1, 2, 3])
    """

    def masks(spec):
        if order is None:
            keys = np.arange(spec.k)
        elif isinstance(order, str):
            if order not in spec.meta.data.columns:
                raise InputError(f"order={order!r} is not a column of the data; columns are "
                                 f"{list(spec.meta.data.columns)}")
            keys = spec.meta.data[order].to_numpy()
        else:  # a Series pairs with the studies by index (the rows the model was built from)
            keys = np.asarray(align_to_studies(order, study_index(spec.meta), "order"))
            if keys.shape[0] != spec.k:
                raise InputError(f"order has {keys.shape[0]} values for {spec.k} studies")
        idx = np.argsort(keys, kind="stable")
        for j in range(spec.k):
            mask = np.zeros(spec.k, dtype=bool)
            mask[idx[: j + 1]] = True
            yield spec.labels[idx[j]], mask

    return _influence(data, yi, vi, masks, "cumulative", priors, engine, model_kwargs)

