"""MetaPosterior: the posterior of a Bayesian meta-analysis, from either engine.

A :class:`MetaPosterior` wraps an :class:`arviz.InferenceData` and the
:class:`~bayesma.spec.ModelSpec` it came from. It summarizes (mean, sd,
median, equal-tailed intervals, R-hat and ESS), answers probability questions
(``post.prob("mu > 0")``), checks the sampler (:meth:`MetaPosterior.diagnostics`),
puts the frequentist estimates beside the posterior
(:meth:`MetaPosterior.compare_frequentist`), reports how much the data moved
the prior (:meth:`MetaPosterior.prior_influence`), plots, and saves to netCDF
without loss (:meth:`MetaPosterior.to_netcdf`, :func:`load_posterior`).

ArviZ, xarray and matplotlib are imported inside the methods that need them.

Every number it shows comes from one :class:`bayesma.posterior.Posterior` (``post.source``):
:class:`~bayesma.posterior.DrawsPosterior` for NUTS, :class:`~bayesma.posterior.MarginalPosterior`
for the exact engine. A ``MetaPosterior`` is not changed after it is built.

Constructing one (for engines)
------------------------------
``MetaPosterior(source, spec, fit_seconds=None, fit_info=None, cache_entry=None)`` with a
:class:`~bayesma.posterior.Posterior` (:mod:`bayesma.posterior.engines` builds one per engine), or
``MetaPosterior(idata, spec, engine, exact=None, ...)`` with an InferenceData whose ``posterior``
group has dims ``(chain, draw, ...)`` and the variables of :mod:`bayesma.spec` (``mu`` or
``beta``, ``tau``, ``tau_within``, ``nu``, ``theta``, ``theta_new``) with the spec's coords (``study``,
``coef``, ``subgroup``); optional groups ``prior``, ``sample_stats`` (``diverging``),
``observed_data``, ``constant_data``. ``exact``: the exact engine's marginals
(:class:`bayesma.exact.ExactPosterior`, any :class:`bayesma.posterior.MarginalSource`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._validate import check_level
from bayesma.posterior import DrawsPosterior, MarginalPosterior, Posterior
from bayesma.posterior.engines import posterior_of
from bayesma.priors.improper import apply_moment_flags, moment_flags
from bayesma.report import posterior_report

from .diagnostics import Diagnostics, diagnose
from .expr import _eval_expr
from .influence import prior_data_conflict, prior_influence
from .io import pickle_state, write_posterior
from .levels import PredictionMixin
from .model_checks import ModelChecks
from .query import SIMPLE_STATEMENT, posterior_repr
from .summary import compare_frequentist
from .summary_table import SummaryTable

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.figure import Figure

    from bayesma._arviz import InferenceData
    from bayesma.posterior import MarginalSource
    from bayesma.spec import ModelSpec

__all__ = ["MetaPosterior"]


class MetaPosterior(ModelChecks, PredictionMixin):
    """Posterior of a Bayesian meta-analysis (from ``MetaAnalysis.fit``).

    Parameters
    ----------
    source : bayesma.posterior.Posterior or arviz.InferenceData
        The posterior every number comes from; or the draws (an InferenceData with at least a
        ``posterior`` group with dims ``(chain, draw, ...)``, see the module docstring).
    spec : ModelSpec
        The model specification the posterior belongs to.
    engine : str, optional
        With draws: ``"nuts"`` (default) or ``"exact"``; it labels the output.
    fit_seconds : float, optional
        Wall time of the fit.
    exact : bayesma.posterior.MarginalSource, optional
        With draws: the exact engine's marginals (:class:`bayesma.exact.ExactPosterior`);
        summaries, intervals and probabilities then come from them.
    fit_info : mapping, optional
        Engine details (sampler, seed, whether the model was compiled...).
    cache_entry : object, optional
        The compiled NUTS model, kept for fast refits (never pickled).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat, labels="trial", measure="RR").fit(engine="exact", seed=1)
    >>> round(post.prob("mu < 0"), 4)     # the methods' examples below use this post
    0.9996
    """

    def __init__(
        self,
        source: Posterior | InferenceData,
        spec: ModelSpec,
        engine: str | None = None,
        fit_seconds: float | None = None,
        exact: MarginalSource | None = None,
        fit_info: Mapping[str, Any] | None = None,
        cache_entry: Any = None,
    ) -> None:
        # the concrete classes first: a runtime Protocol check reads every attribute, and
        # reading ``idata`` would build the exact engine's InferenceData (and import ArviZ)
        if not isinstance(source, (DrawsPosterior, MarginalPosterior)) and not isinstance(source, Posterior):
            if not hasattr(source, "posterior"):
                raise ValueError("idata must have a posterior group")
            source = posterior_of(source, spec, engine or "nuts", exact)
        if source.posterior is None:
            raise ValueError("a MetaPosterior needs posterior draws (plots, statements about several parameters)")
        self._source: Posterior = source
        self._spec = spec
        self._fit_seconds = None if fit_seconds is None else float(fit_seconds)
        self._fit_info: dict[str, Any] = dict(fit_info or {})
        self._cache_entry = cache_entry
        self._summary_cache: dict[tuple[bool, float, bool], pd.DataFrame] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickling (process pools, Dask) keeps the draws, spec and summaries, not the compiled sampler
        a NUTS fit keeps for fast refits (compiled code is not picklable; a refit compiles again)."""
        return pickle_state(self.__dict__)

    # -- what it is (read-only) ------------------------------------------
    @property
    def source(self) -> Posterior:
        """The :class:`bayesma.posterior.Posterior` every number of this fit comes from."""
        return self._source

    @property
    def idata(self) -> InferenceData:
        """The posterior draws (an :class:`arviz.InferenceData`)."""
        idata = self._source.idata
        assert idata is not None  # checked when built
        return idata

    @property
    def spec(self) -> ModelSpec:
        """The model specification."""
        return self._spec

    @property
    def engine(self) -> str:
        """The engine that computed the posterior (``"nuts"``, ``"exact"``)."""
        return self._source.engine

    @property
    def exact(self) -> Any:
        """The exact engine's own posterior (:class:`bayesma.exact.ExactPosterior`), None for NUTS."""
        return self._source.exact

    @property
    def fit_seconds(self) -> float | None:
        """Wall time of the fit (seconds)."""
        return self._fit_seconds

    @property
    def fit_info(self) -> Mapping[str, Any]:
        """Engine details (sampler, seed, whether the model was compiled...), read-only."""
        return MappingProxyType(self._fit_info)

    # -- draws -----------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group (an xarray Dataset)."""
        posterior = self._source.posterior
        assert posterior is not None  # checked when built
        return posterior

    @property
    def priors(self) -> dict[str, Any]:
        """The priors of the fit."""
        return dict(self.spec.priors)

    @property
    def n_draws(self) -> int:
        """Number of posterior draws, all chains together (``chain * draw``).

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> m.fit(engine="exact").n_draws
        4000
        """
        p = self.posterior
        return int(p.sizes["chain"] * p.sizes["draw"])

    def draws(self, name: str, label: str | None = None) -> np.ndarray:
        """Flattened posterior draws of a parameter (``label`` picks one element of a vector).

        Parameters
        ----------
        name : str
            ``"mu"``, ``"tau"``, ``"theta"``, ``"beta"``, ``"tau2"``, ... or a summary row (``"beta[intrcpt]"``).
        label : str, optional
            Coordinate label (study label, coefficient name, subgroup name).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_draws,)`` or ``(n_draws, n)`` for a vector without *label*.

        Examples
        --------
        >>> import bayesma as bm
        >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> m.fit(engine="exact").draws("mu").shape
        (4000,)
        """
        if label is None and name.endswith("]") and "[" in name:  # a summary row: "beta[intrcpt]"
            name, _, label = name[:-1].partition("[")
        return self._source.draws(name, label)

    # -- summaries -------------------------------------------------------------
    def summary(self, hdi: bool = False, prob: float = 0.95, studies: bool = True) -> pd.DataFrame:
        """Posterior summary table.

        Parameters
        ----------
        hdi : bool
            Add highest-density interval columns ``hdi_lower``, ``hdi_upper``.
        prob : float
            Interval probability (0.95).
        studies : bool
            Include the rows of the study effects ``theta[<label>]``.

        Returns
        -------
        pandas.DataFrame
            Rows ``mu`` (or ``beta[<coef>]``), ``tau`` (or ``tau[<subgroup>]``),
            ``tau_within``, ``nu``, ``theta[<label>]``, ``theta_new`` (or
            ``theta_new[<subgroup>]``), as the model has them; columns
            ``mean, sd, median, eti_lower, eti_upper, r_hat, ess_bulk, ess_tail``
            (R-hat and ESS are NaN for the exact engine and single chains; the printout of the table
            leaves out such all-NaN diagnostic columns, the DataFrame keeps them:
            :class:`~bayesma.results.summary_table.SummaryTable`).

        Examples
        --------
        >>> post.summary().loc["tau", ["median", "eti_lower", "eti_upper"]].round(3).tolist()
        [0.554, 0.345, 0.902]
        """
        prob = check_level(prob, "prob")  # 0.95 or 95, as rma's level
        key = (bool(hdi), float(prob), bool(studies))
        if key not in self._summary_cache:
            # moments that do not exist are never shown as numbers (a sample mean of NUTS draws included)
            self._summary_cache[key] = apply_moment_flags(self._source.summary(prob=prob, hdi=hdi, studies=studies),
                                                          moment_flags(self.spec))
        return SummaryTable(self._summary_cache[key].copy())

    # -- probability statements ------------------------------------------------
    def prob(self, expr: str) -> float:
        """Posterior probability of a statement about the parameters.

        Parameters
        ----------
        expr : str
            A comparison of parameters and numbers: ``"mu > 0"``,
            ``"mu < -0.2"``, ``"tau > 0.5"``, ``"theta_new < 0"``,
            ``"beta[ablat] < 0"``, ``"theta[Aronson] < mu"``,
            ``"mu < 0 and tau < 0.3"``, ``"abs(mu) > 0.1"``. Labels are
            matched as written first (``"beta[rater type] > 0"``), then without
            surrounding spaces or quotes.

        Returns
        -------
        float
            A statement about one quantity against a number (``"mu > 0"``,
            ``"beta[x] < -0.1"``, ``"tau > 0.5"``, ``"theta_new < 0"``) is the same number as
            :meth:`p_greater` / :meth:`p_less` (exact for ``engine="exact"``); statements that
            combine parameters (``"theta[A] < mu"``, ``"mu < 0 and tau < 0.3"``) are shares
            of the draws.

        Examples
        --------
        >>> round(post.prob("mu < 0"), 4)
        0.9996
        """
        simple = SIMPLE_STATEMENT.fullmatch(expr.strip())
        if simple and self._source.has(simple.group(1)):
            name, op, value = simple.group(1), simple.group(2), float(simple.group(3))
            return self.p_greater(name, value) if op in (">", ">=") else self.p_less(name, value)
        val = _eval_expr(expr, self.draws)
        if val.dtype != bool:
            raise ValueError(f"{expr!r} is not a statement (use a comparison such as 'mu > 0')")
        return float(np.mean(val))

    probability = prob

    def p_greater(self, var: str, value: float = 0.0) -> float:
        """Posterior probability ``P(var > value | y)`` of one quantity.

        The name is matched exactly, as in :meth:`summary` (labels with spaces, quotes or
        brackets included). Exact engine: from the exact posterior; NUTS: the share of draws.

        Parameters
        ----------
        var : str
            ``"mu"``, ``"beta[<coef>]"``, ``"tau"``, ``"tau[<subgroup>]"``, ``"tau_within"``,
            ``"theta[<label>]"``, ``"theta_new"`` or ``"pooled"``.
        value : float
            Threshold (0).

        Returns
        -------
        float

        Examples
        --------
        >>> round(post.p_greater("mu", -0.5), 4)
        0.1205
        """
        return self._source.p_greater(var, float(value))

    def p_less(self, var: str, value: float = 0.0) -> float:
        """Posterior probability ``P(var < value | y)`` of one quantity (see :meth:`p_greater`).

        Parameters
        ----------
        var : str
            As for :meth:`p_greater`.
        value : float
            Threshold (0).

        Returns
        -------
        float

        Examples
        --------
        >>> round(post.p_less("mu", -0.2), 4)
        0.9956
        """
        return self._source.p_less(var, float(value))

    def density(self, name: str, x: Any) -> np.ndarray | None:
        """Exact posterior density of one quantity (exact engine), or None.

        Parameters
        ----------
        name : str
            ``"mu"``, ``"beta[<coef>]"``, ``"tau"``, ``"tau[<g>]"``, ``"tau_within"``, ``"theta_new"``.
        x : array_like
            Values.

        Returns
        -------
        numpy.ndarray or None
            The density at *x*; None when there is no exact density (NUTS: plots then
            estimate it from the draws).

        Examples
        --------
        >>> post.density("tau", [0.3, 0.6]).round(3)
        array([0.214, 2.552])
        """
        return self._source.density(name, np.asarray(x, dtype=float))

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        """Posterior median and equal-tailed *prob* interval of one quantity.

        The one place the printouts, the report, the forest plot and the CLI take an
        interval from: exact for ``engine="exact"``, the draws for NUTS.

        Parameters
        ----------
        name : str
            As in :meth:`summary` (``"mu"``, ``"beta[<coef>]"``, ``"tau"``,
            ``"theta[<label>]"``, ``"theta_new"``), or ``"pooled"`` (mu, or the effect at
            the mean moderators).
        prob : float
            Interval probability (0.95).

        Returns
        -------
        tuple of float
            ``(median, lower, upper)`` on the effect scale.

        Raises
        ------
        ValueError
            If *prob* is not in (0, 1).
        KeyError
            For a name the posterior does not have.

        Examples
        --------
        >>> [round(v, 3) for v in post.interval("mu", 0.95)]   # median, lower, upper
        [-0.709, -1.091, -0.347]
        """
        prob = check_level(prob, "prob")  # 0.95 or 95, as rma's level
        return self._source.interval(name, prob)

    # -- diagnostics -----------------------------------------------------------
    def diagnostics(self) -> Diagnostics:
        """Sampler diagnostics over mu/beta, tau (all variance parameters), theta and theta_new.

        ``passed`` means max R-hat <= 1.01, min bulk and tail ESS >= 400 and no
        divergent transitions. A failed NUTS fit warns with advice
        (:class:`SamplingWarning`) right after sampling.

        Returns
        -------
        Diagnostics
            A dict with ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
            ``n_draws``, ``passed``, ``problems``, ``advice``.

        Examples
        --------
        >>> post.diagnostics().passed
        True
        """
        return diagnose(self)

    # -- prior influence -------------------------------------------------------
    def prior_influence(self, prob: float = 0.95, threshold: float = 0.8) -> pd.DataFrame:
        """How far the data narrowed each prior, and whether a prior sets an interval.

        For ``mu`` (or each coefficient), ``tau`` (per subgroup), ``tau_within``:
        the width of the central *prob* interval of the posterior divided by that
        of the prior (exact prior quantiles: ``ppf_tau`` for heterogeneity
        priors). ``set_by_prior`` says when the prior, not the data, decides the
        interval (rules in :mod:`bayesma.results.influence`): a ratio above
        *threshold*; for a location parameter a prior that supplies more than a
        quarter of the information; for a heterogeneity SD an interval the data do
        not bound (very wide priors at small k).

        Parameters
        ----------
        prob : float, default 0.95
            Probability of the central intervals compared.
        threshold : float, default 0.8
            Posterior-to-prior width ratio above which the prior sets the interval.

        Returns
        -------
        pandas.DataFrame
            Rows ``mu``/``beta[...]``, ``tau``..., columns ``prior``, ``prior_lower``,
            ``prior_upper``, ``posterior_lower``, ``posterior_upper``, ``ratio``,
            ``set_by_prior`` (bool) and ``note`` (a sentence when set by the prior).

        Examples
        --------
        >>> float(post.prior_influence().loc["tau", "ratio"].round(3))
        0.503
        """
        return prior_influence(self, prob=prob, threshold=threshold)

    def prior_data_conflict(self) -> pd.DataFrame:
        """Heterogeneity SDs whose posterior median lies far in a tail of their prior.

        See :func:`bayesma.results.influence.prior_data_conflict` (beyond the prior's 0.5% or
        99.5% quantile); the printout flags each one.

        Returns
        -------
        pandas.DataFrame
            Rows ``tau``..., columns ``posterior_median``, ``prior_cdf``, ``conflict``, ``note``.

        Examples
        --------
        >>> bool(post.prior_data_conflict()["conflict"].any())
        False
        """
        return prior_data_conflict(self)

    # -- frequentist comparison ------------------------------------------------
    def compare_frequentist(self, level: float = 0.95) -> pd.DataFrame:
        """The frequentist estimates (:func:`bayesma.rma`) beside the posterior.

        See :func:`bayesma.results.summary.compare_frequentist`; the Bayesian row comes from
        :meth:`summary` at the same level (exact numbers for ``engine="exact"``).

        Parameters
        ----------
        level : float
            Interval level (0.95; 95 means 95%).

        Returns
        -------
        pandas.DataFrame
            Rows ``FE``, ``DL``, ``REML``, ``REML + KH``, ``Bayesian (<engine>)``; columns
            ``estimate, ci_lb, ci_ub, tau, tau_ci_lb, tau_ci_ub, pi_lb, pi_ub``.

        Examples
        --------
        >>> post.compare_frequentist().loc[["REML", "Bayesian (exact)"], "estimate"].round(3).tolist()
        [-0.715, -0.709]
        """
        return compare_frequentist(self, level)

    # -- save / load -----------------------------------------------------------
    def to_netcdf(self, path: str) -> str:
        """Save the posterior, its data, priors and model description to a netCDF file.

        :func:`bayesma.load_posterior` restores an equivalent object (same draws, summary,
        priors, spec; for the exact engine the exact posterior is integrated again).

        Parameters
        ----------
        path : str
            File to write.

        Returns
        -------
        str
            The path written.

        Examples
        --------
        >>> import os, tempfile
        >>> path = post.to_netcdf(os.path.join(tempfile.mkdtemp(), "bcg.nc"))
        """
        return write_posterior(self, str(path))

    # -- display ---------------------------------------------------------------
    def __repr__(self) -> str:
        return posterior_repr(self)

    # -- plots -----------------------------------------------------------------
    def forest(self, **kwargs: Any) -> Figure:
        """Plot with :func:`bayesma.plots.forest_plot` (see there).

        Parameters
        ----------
        **kwargs
            Passed to :func:`bayesma.plots.forest_plot`.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> fig = post.forest()
        """
        from bayesma.plots.forest import forest_plot
        return forest_plot(self, **kwargs)

    def plot_forest(self, **kwargs: Any) -> Figure:
        """ArviZ's forest plot of the study effects with R-hat and ESS (see :func:`bayesma.plots.arviz_forest`)."""
        from bayesma.plots.forest import arviz_forest
        return arviz_forest(self, **kwargs)

    def plot_prior_posterior(self, var_names: Iterable[str] | None = None, **kwargs: Any) -> Figure:
        """Plot with :func:`bayesma.plots.prior_posterior_plot` (see there).

        Parameters
        ----------
        var_names : iterable of str, optional
            Default: mu (or the coefficients) and tau when the model has it.
        **kwargs
            Passed to :func:`bayesma.plots.prior_posterior_plot`.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> fig = post.plot_prior_posterior()
        """
        if var_names is None:
            var_names = [v for v in ("mu", "tau") if v == "mu" or v in self.posterior]
        from bayesma.plots.priors import prior_posterior_plot
        return prior_posterior_plot(self, var_names=var_names, **kwargs)

    def plot_trace(self, var_names: Iterable[str] | None = None, **kwargs: Any) -> Figure:
        """Plot with :func:`bayesma.plots.trace_plot` (see there).

        Parameters
        ----------
        var_names : iterable of str, optional
            Default: mu/beta, tau, tau_within, nu, theta_new.
        **kwargs
            Passed to :func:`bayesma.plots.trace_plot`.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> fig = post.plot_trace()
        """
        from bayesma.plots.trace import trace_plot
        return trace_plot(self, var_names=var_names, **kwargs)

    def report(self, title: str | None = None, **kwargs: Any) -> str:
        """The report ``bayesma fit`` writes as report.md (Markdown): an APA/MARS-style results paragraph
        (k, measure, FE and RE estimates, Q(df), p, I², tau², prediction interval, the Bayesian estimate,
        P(effect > 0), the priors and how much they mattered) and the tables behind it. *title*: the
        heading; other arguments as :func:`bayesma.report.posterior_report`."""
        return posterior_report(self, title=title, **kwargs)
