"""Influence of single studies, Bayesian: :func:`leave_one_out` and :func:`cumulative`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._format import frame_text
from bayesma._validate import align_to_studies, study_index
from bayesma.errors import ArgumentTypeError, DataWarning, InputError
from bayesma.sensitivity._common import (
    check_engine,
    fit_row,
    outcome_rows,
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
        study; columns ``k`` (effects in the refit) and those of :class:`PriorComparison`
        (mu mean, sd, 95% interval; tau median and interval; new-study interval; P(mu > 0)).
        For a model with clusters (three-level, CHE, multivariate) the rows are the clusters,
        named by their ids as given to ``cluster=`` (numbers stay numbers, as in the
        ``cluster=`` tables of :func:`~bayesma.cooks_distance` and metafor's);
        a multivariate model across outcomes (no ``mods=``) has one row per cluster and
        outcome (index ``(cluster, outcome)``, with the ``rho_*`` columns). A subset the model
        cannot be fitted to (an improper posterior, an outcome without effects) is a row of
        NaN, with a warning.
    full : pandas.Series or pandas.DataFrame
        The same quantities with all studies (a DataFrame with a row per outcome for a
        multivariate model across outcomes).
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
        return f"{self.kind} ({self.engine} engine)\n" + frame_text(self.table[cols], digits=4)

    def plot(self, figsize: tuple[float, float] | None = None):
        """mu and tau (median / mean and 95% interval) for each refit, beside the full-data values; a
        multivariate model across outcomes has a mu panel per outcome (and the first outcome's tau).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from bayesma.plots.refits import refit_plot

        panels = self._panels()
        title = "Leave-one-out" if self.kind == "leave_one_out" else "Cumulative meta-analysis"
        unit = "studies" if self.table.index.nlevels == 1 else "clusters"
        return refit_plot(panels, list(panels[0][0].index), title=f"{title} (shaded: all {unit})",
                          prefix="without " if self.kind == "leave_one_out" else "+ ", figsize=figsize)

    def _panels(self) -> list[tuple[pd.DataFrame, pd.Series, tuple[str, str, str], str]]:
        mu = ("mu_mean", "mu_lower", "mu_upper")
        tau = ("tau_median", "tau_lower", "tau_upper")
        if self.table.index.nlevels == 1:
            return [(self.table, self.full, mu, "mu (mean, 95% interval)"),
                    (self.table, self.full, tau, "tau (median, 95% interval)")]
        outcomes = list(dict.fromkeys(self.table.index.get_level_values(-1)))
        out = [(self.table.xs(o, level=-1), self.full.loc[o], mu, f"mu[{o}] (mean, 95% interval)") for o in outcomes]
        o = outcomes[0]
        out.append((self.table.xs(o, level=-1), self.full.loc[o], tau, "tau (median, 95% interval; first outcome's)"))
        return out


def _cluster_ids(spec: ModelSpec) -> list[Any]:
    """The clusters' ids as the user gave them (numbers stay numbers, as the frequentist diagnostics'
    ``cluster=`` tables and metafor's), in the order of ``spec.cluster_names``."""
    ci, names = spec.cluster_index, spec.cluster_names
    typed = getattr(spec.meta, "cluster_ids", None)
    if typed is None or len(typed) != len(ci):
        return list(names)
    first = np.unique(ci, return_index=True)[1]
    return [typed[i] for i in first]


def _cluster_masks(spec: ModelSpec, order: Any = None, cumulative: bool = False):
    """(cluster id, mask) per cluster: without it (leave-one-out) or with the first clusters in *order*."""
    ci, names = spec.cluster_index, _cluster_ids(spec)
    J = len(names)
    if not cumulative:
        for j in range(J):
            yield names[j], ci != j
        return
    keys = np.arange(J) if order is None else _cluster_order(spec, order)
    idx = np.argsort(keys, kind="stable")
    for n in range(1, J + 1):
        yield names[idx[n - 1]], np.isin(ci, idx[:n])


def _cluster_order(spec: ModelSpec, order: Any) -> np.ndarray:
    """One ordering key per cluster: *order*'s value, which must be the same for all of a cluster's effects."""
    values = _order_keys(spec, order)
    keys = []
    for j, name in enumerate(spec.cluster_names):
        rows = np.flatnonzero(spec.cluster_index == j)
        vals = pd.unique(pd.Series(values[rows], dtype=object))
        if len(vals) > 1:
            col = order if isinstance(order, str) else "order"
            raise InputError(f"cumulative: the effects of cluster {name!r} have different values of {col!r} "
                             f"({', '.join(map(str, vals[:3]))}); a cluster enters as a whole, so give one value per "
                             f"cluster (e.g. the study's year)", study=str(spec.labels[rows[0]]), row=int(rows[0]) + 1,
                             column=str(col))
        keys.append(vals[0])
    return np.asarray(keys)


def _order_keys(spec: ModelSpec, order: Any) -> np.ndarray:
    """The ordering key of each row: a column of the data or one value per row."""
    if isinstance(order, str):
        if order not in spec.meta.data.columns:
            raise InputError(f"order={order!r} is not a column of the data; columns are "
                             f"{list(spec.meta.data.columns)}")
        return spec.meta.data[order].to_numpy()
    # a Series pairs with the studies by index (the rows the model was built from)
    keys = np.asarray(align_to_studies(order, study_index(spec.meta), "order"))
    if keys.shape[0] != spec.k:
        raise InputError(f"order has {keys.shape[0]} values for {spec.k} studies")
    return keys


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
    engine = resolve_engine(engine, spec, fit_kwargs)  # "auto": decided once, from the full model
    dep = getattr(spec, "dependence", None)
    by_outcome = bool(dep is not None and dep.multivariate and not spec.is_regression)
    full_row, full_post = fit_row(spec, engine, fit_kwargs, base=base)
    rows: dict[Any, dict[str, Any]] = {}
    improper = []
    for label, mask in masks_labels(spec):
        k_sub = int(np.sum(mask))
        try:
            sub = spec.subset(mask)
            check_priors(sub)  # as a direct fit of these studies: refused when the posterior is improper
        except InputError as err:
            improper.append((label, str(err)))
            for key in ([(label, o) for o in spec.outcome_names] if by_outcome else [label]):
                rows[key] = {"k": k_sub}
            continue
        row, post = fit_row(sub, engine, fit_kwargs, base=base)
        if by_outcome:
            for o, orow in outcome_rows(post).items():
                rows[(label, o)] = {"k": k_sub, **orow}
        else:
            rows[label] = {"k": k_sub, **row}
    table = pd.DataFrame.from_dict(rows, orient="index")
    if improper:
        warnings.warn(f"bm.{kind}: {len(improper)} refit(s) not computed (NaN rows: "
                      f"{', '.join(repr(lab) for lab, _ in improper)}): {improper[0][1]}", DataWarning, stacklevel=3)
    name = "omitted" if kind == "leave_one_out" else "added"
    if by_outcome:
        table.index = pd.MultiIndex.from_tuples(list(rows), names=[name, "outcome"])
        full: Any = pd.DataFrame.from_dict({o: {"k": spec.k, **orow} for o, orow in outcome_rows(full_post).items()},
                                           orient="index")
        full.index.name = "outcome"
    else:
        table.index.name = name
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
    so only the data change. In a model with clusters (``cluster=``: three-level, CHE with
    ``V=`` or ``rho=``, multivariate across outcomes) a whole cluster (study) is left out: all
    its effects, its block of ``V`` and its random effect; the rows are named by cluster.

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
        if spec.cluster_index is not None:  # a cluster (study) leaves with all its effects
            yield from _cluster_masks(spec)
            return
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

    In a model with clusters (three-level, CHE, multivariate across outcomes) a cluster (study)
    enters with all its effects, in the order of *order*, which must then be the same for all of
    a cluster's effects (e.g. the study's publication year). A subset on which the model is not
    defined (a multivariate model before every outcome has an effect) is a row of NaN, with a
    warning. (metafor's ``cumul`` has no ``rma.mv`` method: the frequentist counterpart is a
    loop of :func:`bayesma.rma_mv` fits.)

    Parameters
    ----------
    data, yi, vi
        As :class:`bayesma.MetaAnalysis`; *data* may also be a fitted
        :class:`bayesma.MetaPosterior` or a :class:`bayesma.MetaAnalysis`, as for
        :func:`leave_one_out`.
    order : str or array_like, optional
        The order of adding: a column of *data* (sorted ascending, e.g. ``"year"``),
        or a key per study (per effect, constant within a cluster, for a model with
        clusters); default: the order of the rows (of the clusters' first rows).
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
        if spec.cluster_index is not None:  # a cluster (study) enters with all its effects
            yield from _cluster_masks(spec, order, cumulative=True)
            return
        keys = np.arange(spec.k) if order is None else _order_keys(spec, order)
        idx = np.argsort(keys, kind="stable")
        for j in range(spec.k):
            mask = np.zeros(spec.k, dtype=bool)
            mask[idx[: j + 1]] = True
            yield spec.labels[idx[j]], mask

    return _influence(data, yi, vi, masks, "cumulative", priors, engine, model_kwargs)

