"""Prior sensitivity: :func:`compare_priors` fits one data set under several priors."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._format import frame_text, wrap_text
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.posterior.names import split_name
from bayesma.priors import sensitivity_tau_priors
from bayesma.sensitivity._common import (
    check_engine,
    fit_row,
    labelled,
    outcome_rows,
    resolve_engine,
    split_fit_kwargs,
)

__all__ = ["compare_priors", "PriorComparison"]

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior import Posterior


@dataclass
class PriorComparison:
    """Posteriors of one data set under several priors.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per prior combination (index: the label, ``"<mu label> | <tau label>"``
        when several mu priors are compared). Columns ``mu_prior``, ``tau_prior``
        (the priors' repr), ``mu_mean``, ``mu_sd``, ``mu_lower``, ``mu_upper``
        (95% interval), ``tau_median``, ``tau_lower``, ``tau_upper``,
        ``new_lower``, ``new_upper`` (95% interval for a new study's effect),
        ``p_mu_positive`` (P(mu > 0 | y)) and, for the exact engine and
        intercept-only models, ``bf10_effect`` (Bayes factor of mu ~ ``mu_prior``
        against mu = 0; > 1 favours an effect). The Bayes factor depends on the
        width of the mu prior (Lindley's paradox; see "Bayes factors depend on the
        prior of mu" in the documentation's models page): the repr and
        :meth:`bayes_factor_note` name that prior. A multivariate model across outcomes
        (``outcome=`` without ``mods=``) has one row per prior and outcome (index
        ``(prior, outcome)``: that outcome's mean, tau and new study) and the columns
        ``rho_median``, ``rho_lower``, ``rho_upper`` (the correlation across outcomes).
    posteriors : dict
        Label -> :class:`bayesma.posterior.Posterior` (exact marginals for the exact engine,
        the draws for NUTS).
    priors : dict
        Label -> ``{"mu": prior, "tau": prior}``.
    engine : str
    """

    table: pd.DataFrame
    posteriors: dict[str, Any]
    priors: dict[str, dict[str, Any]]
    engine: str

    def __repr__(self) -> str:
        cols = ["mu_mean", "mu_lower", "mu_upper", "tau_median", "p_mu_positive"]
        if "bf10_effect" in self.table:
            if self.table["mu_prior"].nunique() > 1:
                cols.insert(0, "mu_prior")  # each Bayes factor next to the prior it depends on
            cols.append("bf10_effect")
        note = self.bayes_factor_note()
        return (f"PriorComparison ({self.engine}, {len(self.posteriors)} priors)\n"
                + frame_text(self.table[cols], digits=4)
                + (f"\n{wrap_text(note)}" if note else ""))

    def bayes_factor_note(self) -> str:
        """The mu prior the ``bf10_effect`` column depends on, as one sentence ("" without that column).

        Returns
        -------
        str
            E.g. ``"bf10_effect: Bayes factor of mu ~ Normal(mu=0, sigma=8) against mu = 0; ..."``;
            with several mu priors it points at the ``mu_prior`` column.

        Examples
        --------
        >>> import bayesma as bm
        >>> cmp = bm.compare_priors(yi=[0.1, 0.35, 0.2], vi=[0.02, 0.03, 0.05],
        ...                         tau_priors={"HN(0.5)": "halfnormal(0.5)"},
        ...                         mu_priors={"N(0,1)": "normal(0, 1)"})
        >>> cmp.bayes_factor_note()[:66]
        'bf10_effect: Bayes factor of mu ~ Normal(mu=0, sigma=1) against mu'
        """
        if "bf10_effect" not in self.table:
            return ""
        mu = self.table["mu_prior"].unique()
        against = f"mu ~ {mu[0]}" if len(mu) == 1 else "mu ~ the prior in column mu_prior"
        return (f"bf10_effect: Bayes factor of {against} against mu = 0 (> 1 favours an effect). "
                "It depends on the width of that prior (Lindley's paradox): a wider mu prior gives a "
                "smaller BF10 for the same data, so report it with the prior, and under more than one.")

    def plot(self, figsize: tuple[float, float] | None = None):
        """Posterior densities under each prior, with the prior densities dashed: the pooled effect
        and tau; a multivariate model across outcomes has a panel for the mean of each outcome
        (and tau, or one tau per outcome under HCS / UN).

        Parameters
        ----------
        figsize : (float, float), optional
            Default 5.5 x 4.2 inches per panel.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import bayesma as bm
        >>> cmp = bm.compare_priors(yi=[0.1, 0.35, 0.2], vi=[0.02, 0.03, 0.05],
        ...                         tau_priors={"HN(0.5)": "halfnormal(0.5)"}, mu_priors={"N(0,1)": "normal(0, 1)"})
        >>> len(cmp.plot().axes)
        2
        """
        from bayesma.plots.prior_comparison import prior_comparison_plot

        panels, ncols = self._density_panels()
        return prior_comparison_plot(panels, ncols=ncols, figsize=figsize,
                                     title=f"Posterior under {len(self.posteriors)} priors ({self.engine} engine)")

    def _parameters(self) -> tuple[list[tuple[str, str, pd.DataFrame, str]], int | None]:
        """(posterior name, kind "loc"/"tau", the table rows it spans, axis label) per panel, and the
        panels per row."""
        spec = next(iter(self.posteriors.values())).spec
        t = self.table
        if t.index.nlevels == 1:
            loc = "mu" if not spec.is_regression else f"beta[{spec.coef_names[0]}]"
            out = [(loc, "loc", t, f"{loc} ({'pooled effect' if loc == 'mu' else 'first coefficient'})")]
            if spec.model == "random":
                tau = "tau" if spec.tau_by is None else f"tau[{spec.group_names[0]}]"
                out.append((tau, "tau", t, f"{tau} (between-study SD)"))
            return out, None
        outcomes = list(dict.fromkeys(t.index.get_level_values("outcome")))
        rows = {o: t.xs(o, level="outcome") for o in outcomes}
        out = [(f"mu[{o}]", "loc", rows[o], f"mu[{o}] (mean of outcome {o})") for o in outcomes]
        if spec.dependence.struct == "CS":
            return out + [("tau", "tau", t, "tau (between-study SD, every outcome)")], None
        out += [(f"tau[{o}]", "tau", rows[o], f"tau[{o}] (between-study SD of outcome {o})") for o in outcomes]
        return out, len(outcomes)

    def _density_panels(self) -> tuple[list[Any], int | None]:
        from bayesma.plots.prior_comparison import DensityPanel

        params, ncols = self._parameters()
        panels = []
        for name, kind, rows, xlabel in params:
            if kind == "loc":
                lo = float((rows["mu_lower"] - 1.5 * rows["mu_sd"]).min())
                hi = float((rows["mu_upper"] + 1.5 * rows["mu_sd"]).max())
                xs = np.linspace(lo, hi, 400)
            else:
                xs = np.linspace(0.0, float(np.nanmax(rows["tau_upper"])) * 1.4 or 1.0, 400)
            post_d, prior_d = {}, {}
            for label, post in self.posteriors.items():
                post_d[label] = _density(post, name, xs, bounded=kind == "tau")
                prior_d[label] = _prior_density(post.spec, name, kind, xs)
            panels.append(DensityPanel(xlabel, xs, post_d, prior_d, zero_line=kind == "loc"))
        return panels, ncols


def _density(post: Posterior, name: str, xs: np.ndarray, bounded: bool) -> np.ndarray:
    """The posterior density of *name* on *xs*: the posterior's own (exact marginals), else the slope of
    its exact cdf (the multivariate model's tau), else a kernel density estimate of its draws (reflected
    at 0 for an SD)."""
    d = post.density(name, xs)
    if d is not None:
        return d
    if getattr(post, "engine", None) == "exact":
        cdf = np.array([post.cdf(name, float(x)) for x in xs])
        return np.gradient(cdf, xs)
    draws = post.draws(*split_name(name))
    if bounded:
        return 2.0 * stats.gaussian_kde(np.concatenate([draws, -draws]))(xs)
    return stats.gaussian_kde(draws)(xs)


def _prior_density(spec: Any, name: str, kind: str, xs: np.ndarray) -> np.ndarray | None:
    """The prior density of *name* on *xs* (NaN at tau = 0, where some priors are infinite)."""
    if kind == "loc":
        prior = spec.location_prior(0) if name.startswith("beta[") else spec.priors.get(name)
        return None if prior is None else np.exp(prior.logpdf(xs))
    prior = spec.priors.get(name, spec.priors.get("tau"))
    if prior is None or not hasattr(prior, "pdf_tau"):
        return None
    out = np.full(xs.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = prior.pdf_tau(xs[1:])
    return out


def compare_priors(
    data: pd.DataFrame | None = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    tau_priors: Mapping[str, Any] | Sequence[Any] | None = None,
    mu_priors: Mapping[str, Any] | Sequence[Any] | None = None,
    engine: str = "auto",
    **model_kwargs: Any,
) -> PriorComparison:
    """Fit one data set under several priors and tabulate what changes.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        The studies; *yi*, *vi* (and ``sei=``, ``labels=``, ``mods=``...) name its columns.
    yi, vi : str or array_like
        Effects and sampling variances.
    tau_priors : dict or list
        ``{label: prior}`` for the heterogeneity (prior objects or strings such as
        ``"halfcauchy(0.5)"``; a list is labelled by the priors' repr). Default:
        :func:`bayesma.priors.sensitivity_tau_priors` for the measure (the default
        half-normal, a wider one, a half-Cauchy, a uniform and, for OR and SMD, the
        empirical prior of Turner et al. 2015 or Rhodes et al. 2015).
    mu_priors : dict or list, optional
        ``{label: prior}`` for the pooled effect (Normal for the exact engine);
        default: the model's default prior. Every combination with *tau_priors* is fitted.
    engine : {"auto", "exact", "nuts"}
        ``"auto"`` (default): for each prior, the exact engine when it can fit the model, else
        NUTS (as :meth:`bayesma.MetaAnalysis.fit`). ``"exact"``: milliseconds per prior, exact summaries and Bayes factors.
        ``"nuts"``: one :class:`bayesma.MetaAnalysis` refitted with
        :meth:`~bayesma.MetaAnalysis.with_priors` (compiled once; the prior
        hyperparameters are data of the compiled model).
    **model_kwargs
        Passed to :class:`bayesma.MetaAnalysis` (``sei``, ``labels``, ``mods``,
        ``measure``, ``tau_by``, ``cluster``, ``outcome``, ``struct``, ``V``, ``rho``,
        ``model``...), except the NUTS options ``draws``, ``tune``, ``chains``, ``seed``,
        ``target_accept``, ``sampler``. ``priors=`` holds the priors of the parameters not
        compared (``beta``, ``tau_within``, ``rho``..., and ``mu`` when *mu_priors* is not
        given) fixed in every row. For a dependent-effects model (CHE, or multivariate
        across outcomes) ``rho`` may be a list of sampling correlations, e.g.
        ``rho=[0.3, 0.5, 0.7, 0.9]``: every prior combination is fitted under each (labels
        ``"rho = 0.3 | <prior label>"``, a ``sampling_rho`` column), so the sensitivity to the
        assumed correlation and to the priors comes from one call.

    Returns
    -------
    PriorComparison
        ``.table`` (one row per prior combination, per sampling rho of a sweep, and per
        outcome of a multivariate model) and ``.plot()``.

    Raises
    ------
    InputError
        An empty list of priors or of ``rho`` values, a ``rho`` value given twice, two
        prior combinations with one label, or ``priors=`` giving a prior that is compared
        (``tau``; ``mu`` together with *mu_priors*).
    ArgumentTypeError
        ``priors=`` that is not a dict.

    Examples
    --------
    >>> import bayesma as bm
    >>> cmp = bm.compare_priors(yi=[0.1, 0.35, 0.2], vi=[0.02, 0.03, 0.05],
    ...                         tau_priors={"HN(0.25)": "halfnormal(0.25)", "HN(1)": "halfnormal(1)"},
    ...                         mu_priors={"N(0,1)": "normal(0, 1)"})
    >>> list(cmp.table.index)
    ['HN(0.25)', 'HN(1)']
    >>> bool((cmp.table["tau_upper"].iloc[0] < cmp.table["tau_upper"].iloc[1]))
    True
    """
    check_engine(engine)
    fit_kwargs = split_fit_kwargs(model_kwargs)
    model_kwargs = {**model_kwargs, "priors": _held_priors(model_kwargs.get("priors"), tau_priors, mu_priors)}
    for name, given in (("tau_priors", tau_priors), ("mu_priors", mu_priors)):
        if given is not None and len(given) == 0:
            raise InputError(f"compare_priors: {name} is empty; give at least one prior, or None for the defaults")
    tau_map = labelled(tau_priors, "tau_priors", ("tau", "tau2"))
    mu_map = labelled(mu_priors, "mu_priors", "location")
    rhos = _rho_sweep(model_kwargs.get("rho"))
    grid = _Grid(engine, fit_kwargs)
    for r in rhos if rhos is not None else [None]:
        kwargs = model_kwargs if r is None else {**model_kwargs, "rho": r}
        grid.fit_all(data, yi, vi, kwargs, tau_map, mu_map, sweep=r)
    table = pd.DataFrame.from_dict(grid.rows, orient="index")
    if grid.by_outcome:
        table.index = pd.MultiIndex.from_tuples(list(grid.rows), names=["prior", "outcome"])
    else:
        table.index.name = "prior"
    return PriorComparison(table, grid.posts, grid.used, " and ".join(sorted(grid.engines)) or engine)


def _held_priors(priors: Any, tau_priors: Any, mu_priors: Any) -> dict[str, Any]:
    """The priors held fixed across the comparison (``priors=``: moderators, ``tau_within``, ``rho``...);
    the ones compared come from *tau_priors* / *mu_priors*, so ``priors=`` may not give them too."""
    if priors is None:
        return {}
    if not isinstance(priors, Mapping):
        raise ArgumentTypeError(f"compare_priors: priors= must be a dict of the priors held fixed, "
                                f"got {type(priors).__name__}")
    held = dict(priors)
    if {"tau", "tau2"} & set(held):
        raise InputError("compare_priors: priors= gives the heterogeneity prior, which is what the comparison "
                         "varies; pass the tau priors to compare as tau_priors={label: prior}")
    if "mu" in held and mu_priors is not None:
        raise InputError("compare_priors: both priors= and mu_priors= give the prior of mu; pass the mu priors to "
                         "compare as mu_priors= only (or hold one mu prior with priors= and leave mu_priors out)")
    return held


def _rho_sweep(rho: Any) -> list[float] | None:
    """The sampling correlations of a ``rho=[0.3, 0.5, ...]`` sweep (None for one value or none)."""
    if rho is None or np.ndim(rho) == 0:
        return None
    values = [float(r) for r in np.asarray(rho, dtype=float).ravel()]
    if not values:
        raise InputError("compare_priors: rho= is an empty list; give the sampling correlations to compare, "
                         "e.g. rho=[0.3, 0.5, 0.7, 0.9]")
    if len(set(values)) < len(values):
        raise InputError(f"compare_priors: rho= lists a value twice ({values}); give each sampling correlation once")
    return values


class _Grid:
    """The rows, posteriors and priors of compare_priors, filled one model (one sampling rho) at a time."""

    def __init__(self, engine: str, fit_kwargs: dict[str, Any]) -> None:
        self.engine, self.fit_kwargs = engine, fit_kwargs
        self.rows: dict[Any, dict[str, Any]] = {}
        self.posts: dict[str, Any] = {}
        self.used: dict[str, dict[str, Any]] = {}
        self.engines: set[str] = set()
        self.by_outcome = False

    def fit_all(self, data: Any, yi: Any, vi: Any, model_kwargs: dict[str, Any], tau_map: dict[str, Any] | None,
                mu_map: dict[str, Any] | None, sweep: float | None) -> None:
        """Every combination of *mu_map* and *tau_map* for the model of *model_kwargs*; with *sweep* (that
        model's sampling rho) the labels start ``"rho = <value> | "`` and the rows get a ``sampling_rho`` column."""
        from bayesma.models import MetaAnalysis

        held = model_kwargs.get("priors") or {}
        first = dict(held)
        if tau_map:
            first["tau"] = next(iter(tau_map.values()))
        if mu_map:
            first["mu"] = next(iter(mu_map.values()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = MetaAnalysis(data, yi, vi, **{**model_kwargs, "priors": first or None})
        spec0 = base.spec
        if tau_map is None:
            tau_map = (sensitivity_tau_priors(spec0.measure, yi=spec0.yi, vi=spec0.vi)
                       if spec0.model == "random" else {"common": None})
        self.by_outcome = getattr(getattr(spec0, "dependence", None), "multivariate", False) and not spec0.is_regression
        if mu_map is None:  # a mean per outcome keeps its own default (priors["mu[<outcome>]"])
            mu_map = {"default": spec0.priors["mu"] if "mu" in spec0.priors else None}
        simple = (not spec0.is_regression and spec0.tau_by is None and spec0.cluster_index is None)
        null_ml: dict[Any, float] = {}
        for mu_label, mu_p in mu_map.items():
            for tau_label, tau_p in tau_map.items():
                label = tau_label if len(mu_map) == 1 else f"{mu_label} | {tau_label}"
                if len(tau_map) == 1 and len(mu_map) > 1:
                    label = mu_label
                if sweep is not None:
                    label = f"rho = {sweep:g} | {label}"
                if label in self.rows or label in self.posts:
                    raise InputError(f"two prior combinations have the label {label!r}: choose labels of "
                                     "mu_priors and tau_priors that tell them apart")
                new_priors = {key: p for key, p in (("mu", mu_p), ("tau", tau_p)) if p is not None}
                if tau_p is not None and "tau_within" in spec0.priors and "tau_within" not in held:
                    # as MetaAnalysis(priors={"tau": p}) does, unless priors= holds tau_within
                    new_priors["tau_within"] = tau_p
                model = base.with_priors(new_priors)
                ran = resolve_engine(self.engine, model.spec, self.fit_kwargs)
                self.engines.add(ran)
                row, post = fit_row(model.spec, ran, self.fit_kwargs, base=model)
                names: dict[str, Any] = {"mu_prior": repr(mu_p) if mu_p is not None else "default",
                                         "tau_prior": repr(tau_p) if tau_p is not None else ""}
                if sweep is not None:
                    names["sampling_rho"] = sweep
                self.posts[label], self.used[label] = post, {"mu": mu_p, "tau": tau_p}
                if self.by_outcome:  # one row per prior and outcome: (label, outcome)
                    for o, orow in outcome_rows(post).items():
                        self.rows[(label, o)] = {**names, **orow}
                    continue
                full: dict[str, Any] = {**names, **row}
                log_ml = post.log_marginal_likelihood  # the exact engine's p(y); None for draws
                if simple and log_ml is not None:
                    from bayesma.exact import marginal_likelihood_null_effect

                    key = repr(tau_p)
                    if key not in null_ml:
                        null_ml[key] = marginal_likelihood_null_effect(model.spec, log=True)
                    log_bf = log_ml - null_ml[key]
                    full["bf10_effect"] = math.exp(log_bf) if log_bf < 709.0 else math.inf
                self.rows[label] = full
