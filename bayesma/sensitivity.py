"""Sensitivity analyses for few studies: priors, influence of single studies, small-k simulation.

* :func:`compare_priors` fits the same data under several priors (one row per
  prior combination): how much does the prior decide?
* :func:`leave_one_out` refits without each study, :func:`cumulative` adds the
  studies one at a time: would the conclusion survive one study less?
* :func:`small_k_simulation` simulates meta-analyses with few studies and
  compares the frequentist coverage, width, bias and RMSE of Bayesian intervals
  (exact engine) with DL, REML, REML + Knapp-Hartung and Paule-Mandel intervals,
  as in Friede et al. (2017, Research Synthesis Methods 8:79-91) and Seide et al.
  (2019, BMC Medical Research Methodology 19:8).

The exact engine (:mod:`bayesma.exact`) makes these many-fit analyses take
seconds; ``engine="nuts"`` is available for :func:`compare_priors`,
:func:`leave_one_out` and :func:`cumulative` (the compiled PyMC model is reused
across refits of the same structure). PyMC is imported only then.

Examples
--------
>>> import bayesma as bm
>>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
>>> cmp = bm.compare_priors(dat, tau_priors={"HN(0.5)": "halfnormal(0.5)", "HC(0.5)": "halfcauchy(0.5)"},
...                         measure="RR")                                     # doctest: +SKIP
>>> cmp.table[["mu_mean", "mu_lower", "mu_upper", "tau_median"]]              # doctest: +SKIP
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.frequentist.batch import frequentist_batch
from bayesma.frequentist.batch import mu_batch as _mu_batch
from bayesma.frequentist.tau2 import tau2_batch as _tau2_batch

__all__ = [
    "compare_priors",
    "PriorComparison",
    "leave_one_out",
    "cumulative",
    "InfluenceResult",
    "small_k_simulation",
    "SimulationResult",
    "LogUniformSampleSize",
    "EmpiricalVariances",
    "frequentist_batch",
]

_TABLE_COLUMNS = ["mu_mean", "mu_sd", "mu_lower", "mu_upper", "tau_median", "tau_lower", "tau_upper",
                  "new_lower", "new_upper", "p_mu_positive"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _as_prior(value: Any):
    from bayesma import priors as pr

    if isinstance(value, str):
        return pr.parse(value)
    if isinstance(value, pr.Prior):
        return value
    raise TypeError(f"expected a bayesma.priors object or a string such as 'halfnormal(0.5)', got {value!r}")


def _labelled(priors: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any] | None:
    if priors is None:
        return None
    if isinstance(priors, Mapping):
        return {str(k): _as_prior(v) for k, v in priors.items()}
    out = {}
    for p in priors:
        p = _as_prior(p)
        out[repr(p)] = p
    return out


def _location_row(summary: pd.DataFrame) -> str:
    if "mu" in summary.index:
        return "mu"
    rows = [r for r in summary.index if r.startswith("beta[")]
    return rows[0]


def _tau_row(summary: pd.DataFrame) -> str | None:
    if "tau" in summary.index:
        return "tau"
    rows = [r for r in summary.index if r.startswith("tau[")]
    return rows[0] if rows else None


def _new_row(summary: pd.DataFrame) -> str | None:
    if "theta_new" in summary.index:
        return "theta_new"
    rows = [r for r in summary.index if r.startswith("theta_new[")]
    return rows[0] if rows else None


def _row_from_summary(s: pd.DataFrame, p_pos: float) -> dict[str, float]:
    loc, tau, new = _location_row(s), _tau_row(s), _new_row(s)
    nan = float("nan")
    return {
        "mu_mean": s.loc[loc, "mean"], "mu_sd": s.loc[loc, "sd"],
        "mu_lower": s.loc[loc, "eti_lower"], "mu_upper": s.loc[loc, "eti_upper"],
        "tau_median": s.loc[tau, "median"] if tau else 0.0,
        "tau_lower": s.loc[tau, "eti_lower"] if tau else 0.0,
        "tau_upper": s.loc[tau, "eti_upper"] if tau else 0.0,
        "new_lower": s.loc[new, "eti_lower"] if new else nan,
        "new_upper": s.loc[new, "eti_upper"] if new else nan,
        "p_mu_positive": p_pos,
    }


def _fit_row(spec: Any, engine: str, fit_kwargs: Mapping[str, Any], base: Any = None) -> tuple[dict, Any]:
    """Fit one spec; return the table row and the posterior object (ExactPosterior or MetaPosterior)."""
    if engine == "exact":
        from bayesma.exact import exact_posterior

        ep = exact_posterior(spec)
        s = ep.summary(theta=False)
        loc = _location_row(s)
        return _row_from_summary(s, ep.prob(loc, 0.0)), ep
    model = _model_with_spec(base, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = model.fit(engine="nuts", **fit_kwargs)
    s = post.summary()
    loc = _location_row(s)
    var, lab = ("mu", None) if loc == "mu" else ("beta", loc[5:-1])
    p = float(np.mean(post.draws(var, lab) > 0))
    return _row_from_summary(s, p), post


def _model_with_spec(base: Any, spec: Any):
    """A MetaAnalysis with the given spec that shares *base*'s compiled-model cache."""
    from bayesma.models import MetaAnalysis

    new = object.__new__(MetaAnalysis)
    new.spec = spec
    new._pymc_cache = getattr(base, "_pymc_cache", None)
    return new


def _check_engine(engine: str) -> None:
    if engine not in ("exact", "nuts"):
        raise ValueError(f"engine must be 'exact' or 'nuts', got {engine!r}")


def _split_fit_kwargs(kwargs: dict) -> dict:
    keys = ("draws", "tune", "chains", "seed", "target_accept", "sampler", "progressbar")
    return {k: kwargs.pop(k) for k in keys if k in kwargs}


# ---------------------------------------------------------------------------
# compare_priors
# ---------------------------------------------------------------------------


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
        intercept-only models, ``bf10_effect`` (Bayes factor of mu ~ prior against
        mu = 0; > 1 favours an effect).
    posteriors : dict
        Label -> :class:`bayesma.exact.ExactPosterior` (exact engine) or
        :class:`bayesma.MetaPosterior` (NUTS).
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
            cols.append("bf10_effect")
        return f"PriorComparison ({self.engine}, {len(self.table)} priors)\n" + self.table[cols].to_string(
            float_format=lambda x: f"{x:.4g}")

    def plot(self, figsize: tuple[float, float] | None = None):
        """Posterior densities of mu and tau under each prior, with the prior densities dashed.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=figsize or (11, 4.2))
        colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        t = self.table
        lo = float((t["mu_lower"] - 1.5 * t["mu_sd"]).min())
        hi = float((t["mu_upper"] + 1.5 * t["mu_sd"]).max())
        xs_mu = np.linspace(lo, hi, 400)
        tau_hi = float(np.nanmax(t["tau_upper"])) * 1.4 or 1.0
        xs_tau = np.linspace(0.0, tau_hi, 400)
        for i, (label, post) in enumerate(self.posteriors.items()):
            col = colors[i % len(colors)]
            mu_p, tau_p = self.priors[label]["mu"], self.priors[label].get("tau")
            d_mu, d_tau = _densities(post, xs_mu, xs_tau)
            axes[0].plot(xs_mu, d_mu, color=col, label=label)
            axes[0].plot(xs_mu, np.exp(mu_p.logpdf(xs_mu)), color=col, ls="--", lw=0.9, alpha=0.8)
            if d_tau is not None:
                axes[1].plot(xs_tau, d_tau, color=col, label=label)
            if tau_p is not None:
                with np.errstate(divide="ignore"):
                    axes[1].plot(xs_tau[1:], tau_p.pdf_tau(xs_tau[1:]), color=col, ls="--", lw=0.9, alpha=0.8)
        axes[0].set_xlabel("mu (pooled effect)")
        axes[1].set_xlabel("tau (between-study SD)")
        for ax in axes:
            ax.set_ylabel("density")
            ax.set_ylim(bottom=0)
        axes[0].axvline(0.0, color="0.6", lw=0.8)
        axes[1].legend(fontsize="small", title="posterior (solid), prior (dashed)", title_fontsize="small")
        fig.suptitle(f"Posterior under {len(self.posteriors)} priors ({self.engine} engine)")
        fig.tight_layout()
        return fig


def _densities(post: Any, xs_mu: np.ndarray, xs_tau: np.ndarray):
    """Posterior densities of the pooled effect and tau on grids (exact, or a KDE of draws)."""
    from bayesma.exact import ExactPosterior

    if isinstance(post, ExactPosterior):
        name = "mu" if not post.spec.is_regression else f"beta[{post.spec.coef_names[0]}]"
        d_mu = post.density(name, xs_mu)
        d_tau = None
        if post.kind == "random":
            d_tau = post.density("tau", xs_tau)
        elif post.kind in ("tau_by", "cluster"):
            d_tau = post.density(post.tau_names[0], xs_tau)
        return d_mu, d_tau
    var = "mu" if "mu" in post.idata.posterior else "beta"
    draws = post.draws(var) if var == "mu" else post.draws("beta", post.spec.coef_names[0])
    d_mu = stats.gaussian_kde(draws)(xs_mu)
    d_tau = None
    if "tau" in post.idata.posterior:
        tau = post.draws("tau")
        tau = tau if tau.ndim == 1 else tau[:, 0]
        kde = stats.gaussian_kde(np.concatenate([tau, -tau]))  # reflected at 0
        d_tau = 2.0 * kde(xs_tau)
    return d_mu, d_tau


def _default_tau_priors(spec: Any) -> dict[str, Any]:
    from bayesma import priors as pr

    base = spec.priors.get("tau")
    s = float(base.params.get("sigma", 0.5)) if base is not None and base.family == "HalfNormal" else 0.5
    out = {f"HalfNormal({s / 2:.3g})": pr.HalfNormal(s / 2), f"HalfNormal({s:.3g})": pr.HalfNormal(s),
           f"HalfNormal({2 * s:.3g})": pr.HalfNormal(2 * s), f"HalfCauchy({s:.3g})": pr.HalfCauchy(s)}
    return out


def compare_priors(
    data: pd.DataFrame | None = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    tau_priors: Mapping[str, Any] | Sequence[Any] | None = None,
    mu_priors: Mapping[str, Any] | Sequence[Any] | None = None,
    engine: str = "exact",
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
        ``"halfcauchy(0.5)"``; a list is labelled by the priors' repr). Default: a
        half-normal at half, once and twice the default scale and a half-Cauchy.
    mu_priors : dict or list, optional
        ``{label: prior}`` for the pooled effect (Normal for the exact engine);
        default: the model's default prior. Every combination with *tau_priors* is fitted.
    engine : {"exact", "nuts"}
        ``"exact"``: milliseconds per prior, exact summaries and Bayes factors.
        ``"nuts"``: one :class:`bayesma.MetaAnalysis` refitted with
        :meth:`~bayesma.MetaAnalysis.with_priors` (compiled once; the prior
        hyperparameters are data of the compiled model).
    **model_kwargs
        Passed to :class:`bayesma.MetaAnalysis` (``sei``, ``labels``, ``mods``,
        ``measure``, ``tau_by``, ``cluster``, ``model``...), except the NUTS options
        ``draws``, ``tune``, ``chains``, ``seed``, ``target_accept``, ``sampler``.

    Returns
    -------
    PriorComparison
        ``.table`` (one row per prior combination) and ``.plot()``.

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
    from bayesma.models import MetaAnalysis

    _check_engine(engine)
    fit_kwargs = _split_fit_kwargs(model_kwargs)
    tau_map = _labelled(tau_priors)
    mu_map = _labelled(mu_priors)
    first = {}
    if tau_map:
        first["tau"] = next(iter(tau_map.values()))
    if mu_map:
        first["mu"] = next(iter(mu_map.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = MetaAnalysis(data, yi, vi, priors=first or None, **model_kwargs)
    if tau_map is None:
        tau_map = _default_tau_priors(base.spec) if base.spec.model == "random" else {"common": None}
    if mu_map is None:
        mu_map = {"default": base.spec.priors["mu"]}
    spec0 = base.spec
    simple = (not spec0.is_regression and spec0.tau_by is None and spec0.cluster_index is None)
    rows, posts, used = {}, {}, {}
    null_ml: dict[Any, float] = {}
    for mu_label, mu_p in mu_map.items():
        for tau_label, tau_p in tau_map.items():
            label = tau_label if len(mu_map) == 1 else f"{mu_label} | {tau_label}"
            if len(tau_map) == 1 and len(mu_map) > 1:
                label = mu_label
            new_priors = {"mu": mu_p} if tau_p is None else {"mu": mu_p, "tau": tau_p}
            model = base.with_priors(new_priors)
            row, post = _fit_row(model.spec, engine, fit_kwargs, base=model)
            row = {"mu_prior": repr(mu_p), "tau_prior": repr(tau_p) if tau_p is not None else "", **row}
            if engine == "exact" and simple:
                from bayesma.exact import _log_ml_null_effect

                key = repr(tau_p)
                if key not in null_ml:
                    null_ml[key] = _log_ml_null_effect(model.spec)
                row["bf10_effect"] = math.exp(post.log_marginal_likelihood - null_ml[key])
            rows[label] = row
            posts[label] = post
            used[label] = {"mu": mu_p, "tau": tau_p}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "prior"
    return PriorComparison(table, posts, used, engine)


# ---------------------------------------------------------------------------
# leave-one-out and cumulative
# ---------------------------------------------------------------------------


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


def _subset_spec(spec: Any, mask: np.ndarray):
    mask = np.asarray(mask, dtype=bool)
    gi = None if spec.group_index is None else spec.group_index[mask]
    ci = None if spec.cluster_index is None else spec.cluster_index[mask]
    if gi is not None and len(np.unique(gi)) < len(spec.group_names):
        raise ValueError("a subgroup of tau_by= has no studies left in this subset")
    return replace(spec, meta=spec.meta.subset(mask), X=spec.X[mask], group_index=gi, cluster_index=ci)


def _influence(data, yi, vi, masks_labels, kind, priors, engine, model_kwargs) -> InfluenceResult:
    from bayesma.models import MetaAnalysis

    _check_engine(engine)
    fit_kwargs = _split_fit_kwargs(model_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = MetaAnalysis(data, yi, vi, priors=priors, **model_kwargs)
    spec = base.spec
    full_row, _ = _fit_row(spec, engine, fit_kwargs, base=base)
    rows = {}
    for label, mask in masks_labels(spec):
        sub = _subset_spec(spec, mask)
        row, _ = _fit_row(sub, engine, fit_kwargs, base=base)
        rows[label] = {"k": int(np.sum(mask)), **row}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "omitted" if kind == "leave_one_out" else "added"
    full = pd.Series({"k": spec.k, **full_row}, name="all studies")
    return InfluenceResult(table, full, kind, engine)


def leave_one_out(
    data: pd.DataFrame | None = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    priors: Mapping[str, Any] | None = None,
    engine: str = "exact",
    **model_kwargs: Any,
) -> InfluenceResult:
    """Refit without each study in turn: does any single study carry the conclusion?

    The priors are those of the full model (defaults resolved once on all studies),
    so only the data change.

    Parameters
    ----------
    data, yi, vi, priors
        As :class:`bayesma.MetaAnalysis`.
    engine : {"exact", "nuts"}
    **model_kwargs
        Passed to :class:`bayesma.MetaAnalysis` (``sei``, ``labels``, ``mods``,
        ``measure``...), plus NUTS options (``draws``, ``chains``, ``seed``...).

    Returns
    -------
    InfluenceResult
        ``.table`` (one row per omitted study), ``.full``, ``.plot()``.

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
    engine: str = "exact",
    **model_kwargs: Any,
) -> InfluenceResult:
    """Cumulative meta-analysis: add the studies one at a time.

    Parameters
    ----------
    data, yi, vi, priors
        As :class:`bayesma.MetaAnalysis`.
    order : str or array_like, optional
        The order of adding: a column of *data* (sorted ascending, e.g. ``"year"``),
        or a key per study; default: the order of the rows.
    engine : {"exact", "nuts"}
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
                raise ValueError(f"order={order!r} is not a column of the data; columns are "
                                 f"{list(spec.meta.data.columns)}")
            keys = spec.meta.data[order].to_numpy()
        else:
            keys = np.asarray(order)
            if keys.shape[0] != spec.k:
                raise ValueError(f"order has {keys.shape[0]} values for {spec.k} studies")
        idx = np.argsort(keys, kind="stable")
        for j in range(spec.k):
            mask = np.zeros(spec.k, dtype=bool)
            mask[idx[: j + 1]] = True
            yield spec.labels[idx[j]], mask

    return _influence(data, yi, vi, masks, "cumulative", priors, engine, model_kwargs)


# ---------------------------------------------------------------------------
# small-k simulation
# ---------------------------------------------------------------------------


class LogUniformSampleSize:
    """Default within-study variances: log odds ratios from realistic study sizes.

    Each study's total sample size is log-uniform on ``[n_min, n_max]`` (default 40 to
    400 participants, the range of most trials in a Cochrane review) and its sampling
    variance is ``sigma_u^2 / n`` with the unit-information SD ``sigma_u = 2`` of a log
    odds ratio (Röver et al. 2021, Research Synthesis Methods 12:448-474): standard
    errors from 0.1 to 0.32.

    Parameters
    ----------
    n_min, n_max : float
    sigma_u : float
        Unit-information SD of the effect measure (1 for Fisher z, about 2 for a
        standardized mean difference, 2 for a log odds ratio).
    """

    def __init__(self, n_min: float = 40.0, n_max: float = 400.0, sigma_u: float = 2.0) -> None:
        if not 0 < n_min <= n_max:
            raise ValueError("need 0 < n_min <= n_max")
        self.n_min, self.n_max, self.sigma_u = float(n_min), float(n_max), float(sigma_u)

    def __call__(self, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        n = np.exp(rng.uniform(math.log(self.n_min), math.log(self.n_max), size=size))
        return self.sigma_u**2 / n

    def __repr__(self) -> str:
        return f"LogUniformSampleSize(n_min={self.n_min:g}, n_max={self.n_max:g}, sigma_u={self.sigma_u:g})"


class EmpiricalVariances:
    """Within-study variances resampled (with replacement) from observed ones, e.g. a data set's vi."""

    def __init__(self, vi: Iterable[float]) -> None:
        pool = np.asarray(list(vi), dtype=float)
        if pool.ndim != 1 or pool.size == 0 or not np.all(np.isfinite(pool)) or np.any(pool <= 0):
            raise ValueError("vi must be a non-empty list of positive, finite sampling variances")
        self.pool = pool

    def __call__(self, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        return rng.choice(self.pool, size=size, replace=True)

    def __repr__(self) -> str:
        return f"EmpiricalVariances({self.pool.size} values, median {np.median(self.pool):.3g})"


_METHOD_SPECS = {
    "DL": ("DL", "z"), "REML": ("REML", "z"), "PM": ("PM", "z"), "FE": ("FE", "z"),
    "DL-KH": ("DL", "knha"), "REML-KH": ("REML", "knha"), "PM-KH": ("PM", "knha"),
    "DL-mKH": ("DL", "adhoc"), "REML-mKH": ("REML", "adhoc"), "PM-mKH": ("PM", "adhoc"),
    "HKSJ": ("REML", "knha"),
}


def _normalize_sim_priors(priors: Any) -> dict[str, dict[str, Any]]:
    from bayesma import priors as pr

    default_mu = pr.Normal(0.0, 8.0)
    if priors is None:
        return {"HN(0.5)": {"mu": default_mu, "tau": pr.HalfNormal(0.5)}}
    if not isinstance(priors, Mapping):
        raise TypeError("priors must be a dict {label: {'mu': prior, 'tau': prior}} or {'mu': ..., 'tau': ...}")
    if priors and set(priors) <= {"mu", "tau"} and not any(isinstance(v, Mapping) for v in priors.values()):
        tau = _as_prior(priors.get("tau", pr.HalfNormal(0.5)))
        return {f"Bayes {tau!r}": {"mu": _as_prior(priors.get("mu", default_mu)), "tau": tau}}
    out = {}
    for label, val in priors.items():
        if isinstance(val, Mapping):
            out[str(label)] = {"mu": _as_prior(val.get("mu", default_mu)), "tau": _as_prior(val["tau"])}
        else:
            out[str(label)] = {"mu": default_mu, "tau": _as_prior(val)}
    return out


def _simulate_chunk(task: tuple) -> tuple[int, int, dict[str, dict[str, np.ndarray]]]:
    """One chunk of one (k, tau) cell: simulate, fit every method. Top level (picklable)."""
    from bayesma.exact import batch_summaries

    cell, chunk, k, tau, mu, n, seed_seq, sampler, priors, methods, level = task
    rng = np.random.default_rng(seed_seq)
    v = np.asarray(sampler(rng, (n, k)), dtype=float)
    theta = mu + tau * rng.standard_normal((n, k))
    y = theta + np.sqrt(v) * rng.standard_normal((n, k))
    out: dict[str, dict[str, np.ndarray]] = {}
    for label, pri in priors.items():
        s = batch_summaries(y, v, pri["mu"], pri["tau"], level=level, fast=True, new=False)
        out[label] = {"mu": s["mu_median"], "mu_lower": s["mu_lower"], "mu_upper": s["mu_upper"],
                      "tau": s["tau_median"], "tau_lower": s["tau_lower"], "tau_upper": s["tau_upper"]}
    tau2_est: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # one estimate per tau2 method
    for name in methods:
        method, test = _METHOD_SPECS[name]
        if method not in tau2_est:
            tau2_est[method] = _tau2_batch(y, v, method, level)
        tau2, lo, hi = tau2_est[method]
        m, _, m_lo, m_hi = _mu_batch(y, v, tau2, test, level)
        out[name] = {"mu": m, "mu_lower": m_lo, "mu_upper": m_hi,
                     "tau": np.sqrt(tau2), "tau_lower": np.sqrt(lo), "tau_upper": np.sqrt(hi)}
    return cell, chunk, out


@dataclass
class SimulationResult:
    """Frequentist properties of Bayesian and classical intervals in simulated small meta-analyses.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``(k, tau, method)``; columns ``n_sim``, ``coverage_mu`` (of the 95%
        interval for mu), ``mcse_coverage_mu`` (its Monte Carlo standard error),
        ``width_mu`` (mean width), ``bias_mu``, ``rmse_mu`` (point estimate: the
        posterior median for Bayesian methods), ``coverage_tau`` (NaN at tau = 0,
        where an equal-tailed interval cannot contain the boundary), ``width_tau``
        (median width: Q-profile upper bounds can be the search limit), ``bias_tau``, ``rmse_tau``.
    estimates : dict
        ``(k, tau, method) -> dict`` of per-replicate arrays ``mu``, ``mu_lower``,
        ``mu_upper``, ``tau``, ``tau_lower``, ``tau_upper``.
    settings : dict
        The simulation design (mu, seed, n_sim, chunk_size, sampler, priors, methods, level).
    """

    table: pd.DataFrame
    estimates: dict[tuple, dict[str, np.ndarray]] = field(repr=False)
    settings: dict[str, Any]

    def __repr__(self) -> str:
        cols = ["coverage_mu", "width_mu", "bias_mu", "rmse_mu", "coverage_tau", "bias_tau"]
        return ("SimulationResult\n" + self.table[cols].to_string(float_format=lambda x: f"{x:.3f}"))

    def plot(self, figsize: tuple[float, float] | None = None):
        """Coverage and mean width of the 95% intervals for mu against k, one column per tau.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        t = self.table.reset_index()
        taus = sorted(t["tau"].unique())
        methods = list(dict.fromkeys(t["method"]))
        fig, axes = plt.subplots(2, len(taus), figsize=figsize or (3.6 * len(taus) + 1, 6.4), squeeze=False,
                                 sharex=True)
        level = self.settings.get("level", 0.95)
        for j, tau in enumerate(taus):
            sub = t[t["tau"] == tau]
            for i, m in enumerate(methods):
                d = sub[sub["method"] == m].sort_values("k")
                style = "-o" if m in self.settings.get("bayes", []) else "--s"
                axes[0, j].plot(d["k"], d["coverage_mu"], style, ms=4, label=m, color=f"C{i % 10}")
                axes[1, j].plot(d["k"], d["width_mu"], style, ms=4, label=m, color=f"C{i % 10}")
            axes[0, j].axhline(level, color="0.3", lw=0.8)
            n = int(sub["n_sim"].max())
            band = 2 * math.sqrt(level * (1 - level) / n)
            axes[0, j].axhspan(level - band, level + band, color="0.9", zorder=0)
            axes[0, j].set_title(f"tau = {tau:g}")
            axes[1, j].set_xlabel("k (studies)")
            axes[1, j].set_yscale("log")
        axes[0, 0].set_ylabel(f"coverage of {level:.0%} interval for mu")
        axes[1, 0].set_ylabel("mean interval width")
        axes[0, -1].legend(fontsize="small")
        fig.suptitle(f"Small-k simulation, {self.settings['n_sim']} meta-analyses per cell")
        fig.tight_layout()
        return fig


class _Progress:
    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total, self.done = total, 0
        self.enabled = enabled
        self.start = time.perf_counter()
        self.shown = False
        self.bar = None
        if enabled:
            try:  # pragma: no cover - tqdm optional
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, desc="small_k_simulation", unit="chunk", leave=False)
            except ImportError:
                self.bar = None

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:  # pragma: no cover
            self.bar.update(1)
            return
        elapsed = time.perf_counter() - self.start
        if elapsed > 1.0 or self.shown:
            eta = elapsed / self.done * (self.total - self.done)
            sys.stderr.write(f"\rsmall_k_simulation: {self.done}/{self.total} chunks, "
                             f"{elapsed:.0f}s elapsed, ~{eta:.0f}s left ")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.bar is not None:  # pragma: no cover
            self.bar.close()
        elif self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def small_k_simulation(
    k: Sequence[int] = (2, 3, 5, 10),
    tau: Sequence[float] = (0.0, 0.2, 0.5),
    mu: float = 0.0,
    n_sim: int = 1000,
    priors: Mapping[str, Any] | None = None,
    methods: Sequence[str] = ("DL", "REML", "REML-KH", "PM"),
    vi_sampler: Callable[[np.random.Generator, tuple[int, int]], np.ndarray] | None = None,
    vi: Iterable[float] | None = None,
    seed: int = 1,
    executor: Executor | None = None,
    progress: bool | None = True,
    chunk_size: int = 2000,
    level: float = 0.95,
) -> SimulationResult:
    """Simulate small meta-analyses and compare interval coverage, width, bias and RMSE.

    For each number of studies *k* and heterogeneity *tau*, ``n_sim`` meta-analyses
    are drawn: within-study variances ``v_i`` from *vi_sampler*, true effects
    ``theta_i ~ N(mu, tau^2)``, estimates ``y_i ~ N(theta_i, v_i)``. Each is fitted
    with every Bayesian prior set (exact engine, summaries only: posterior median
    and equal-tailed interval) and every frequentist method, after Friede et al.
    (2017, Research Synthesis Methods 8:79-91) and Seide et al. (2019, BMC Medical
    Research Methodology 19:8).

    Parameters
    ----------
    k : sequence of int
        Numbers of studies (each >= 2).
    tau : sequence of float
        True between-study SDs.
    mu : float
        True mean effect.
    n_sim : int
        Meta-analyses per (k, tau) cell.
    priors : dict, optional
        ``{label: {"mu": prior, "tau": prior}}`` (a bare ``{label: tau_prior}`` uses
        ``mu ~ Normal(0, 8)``; a single ``{"mu": ..., "tau": ...}`` is one set).
        Default ``{"HN(0.5)": {"mu": Normal(0, 8), "tau": HalfNormal(0.5)}}``, the
        default priors for log odds ratios.
    methods : sequence of str
        Frequentist methods: ``"DL"``, ``"REML"``, ``"PM"`` (Wald z intervals),
        with ``"-KH"`` (Knapp-Hartung; ``"HKSJ"`` = ``"REML-KH"``) or ``"-mKH"``
        (modified Knapp-Hartung, never narrower than z), and ``"FE"``. Intervals for
        tau are Q-profile intervals (metafor's ``confint``).
    vi_sampler : callable, optional
        ``vi_sampler(rng, (n, k)) -> array`` of sampling variances. Default
        :class:`LogUniformSampleSize` (log odds ratios from 40 to 400 participants per
        study); with *vi*: :class:`EmpiricalVariances` (resampling the given variances).
        Must be picklable for a process pool.
    vi : array_like, optional
        Observed sampling variances to resample (e.g. ``model.spec.vi``).
    seed : int
        Root seed. Every (k, tau) cell and chunk of ``chunk_size`` replicates gets its own
        :class:`numpy.random.SeedSequence` (spawned from the root in a fixed order), so the
        results are the same whatever the executor and the number of workers.
    executor : concurrent.futures.Executor, optional
        E.g. a ``ProcessPoolExecutor`` or a Dask ``Client.get_executor()``; default: serial.
    progress : bool or None
        Show progress on stderr (tqdm when installed) once a run takes over a second.
    chunk_size : int
        Replicates per task (fixed, so it is part of the random design).
    level : float
        Interval probability.

    Returns
    -------
    SimulationResult
        ``.table`` indexed by ``(k, tau, method)`` and ``.plot()``.

    Examples
    --------
    >>> import bayesma as bm
    >>> sim = bm.small_k_simulation(k=[3], tau=[0.5], n_sim=200, seed=1, progress=False)
    >>> bool(sim.table.loc[(3, 0.5, "DL"), "coverage_mu"] < 0.95)
    True
    """
    ks = [int(x) for x in np.atleast_1d(k)]
    taus = [float(x) for x in np.atleast_1d(tau)]
    if any(kk < 2 for kk in ks):
        raise ValueError("every k must be at least 2")
    if any(t < 0 for t in taus):
        raise ValueError("tau values must be non-negative")
    n_sim = int(n_sim)
    if n_sim < 1:
        raise ValueError("n_sim must be positive")
    methods = list(methods)
    for m in methods:
        if m not in _METHOD_SPECS:
            raise ValueError(f"unknown method {m!r}; choose from {sorted(_METHOD_SPECS)}")
    pri = _normalize_sim_priors(priors)
    for label, p in pri.items():
        if p["mu"].family != "Normal":
            raise ValueError(f"prior set {label!r}: the simulation uses the exact engine, which needs a Normal "
                             f"prior on mu (got {p['mu']!r})")
    overlap = set(pri) & set(methods)
    if overlap:
        raise ValueError(f"prior labels {sorted(overlap)} clash with method names")
    if vi_sampler is None:
        vi_sampler = EmpiricalVariances(vi) if vi is not None else LogUniformSampleSize()
    chunk_size = max(1, int(chunk_size))

    cells = [(kk, t) for kk in ks for t in taus]
    root = np.random.SeedSequence(seed)
    cell_seqs = root.spawn(len(cells))
    n_chunks = -(-n_sim // chunk_size)
    tasks = []
    for ci, ((kk, t), cs) in enumerate(zip(cells, cell_seqs)):
        for j, chunk_seq in enumerate(cs.spawn(n_chunks)):
            n = min(chunk_size, n_sim - j * chunk_size)
            tasks.append((ci, j, kk, t, float(mu), n, chunk_seq, vi_sampler, pri, methods, float(level)))

    bar = _Progress(len(tasks), progress)
    results: dict[tuple[int, int], dict] = {}
    try:
        if executor is None:
            for task in tasks:
                ci, j, out = _simulate_chunk(task)
                results[(ci, j)] = out
                bar.step()
        else:
            futures = [executor.submit(_simulate_chunk, task) for task in tasks]
            for fut in as_completed(futures):
                ci, j, out = fut.result()
                results[(ci, j)] = out
                bar.step()
    finally:
        bar.close()

    labels = list(pri) + methods
    estimates: dict[tuple, dict[str, np.ndarray]] = {}
    rows = []
    for ci, (kk, t) in enumerate(cells):
        for label in labels:
            parts = [results[(ci, j)][label] for j in range(n_chunks)]
            est = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
            estimates[(kk, t, label)] = est
            rows.append({"k": kk, "tau": t, "method": label, **_performance(est, mu, t)})
    table = pd.DataFrame(rows).set_index(["k", "tau", "method"])
    settings = {"mu": mu, "seed": seed, "n_sim": n_sim, "chunk_size": chunk_size, "vi_sampler": repr(vi_sampler),
                "priors": {k_: {p: repr(q) for p, q in v.items()} for k_, v in pri.items()},
                "methods": methods, "level": level, "bayes": list(pri)}
    return SimulationResult(table, estimates, settings)


def _performance(est: dict[str, np.ndarray], mu: float, tau: float) -> dict[str, float]:
    n = est["mu"].size
    cover = np.mean((est["mu_lower"] <= mu) & (mu <= est["mu_upper"]))
    err_mu = est["mu"] - mu
    err_tau = est["tau"] - tau
    cover_tau = np.mean((est["tau_lower"] <= tau) & (tau <= est["tau_upper"])) if tau > 0 else np.nan
    return {
        "n_sim": n,
        "coverage_mu": float(cover),
        "mcse_coverage_mu": float(math.sqrt(max(cover * (1 - cover), 1e-12) / n)),
        "width_mu": float(np.mean(est["mu_upper"] - est["mu_lower"])),
        "bias_mu": float(np.mean(err_mu)),
        "rmse_mu": float(np.sqrt(np.mean(err_mu**2))),
        "coverage_tau": float(cover_tau),
        "width_tau": float(np.median(est["tau_upper"] - est["tau_lower"])),
        "bias_tau": float(np.mean(err_tau)),
        "rmse_tau": float(np.sqrt(np.mean(err_tau**2))),
    }
