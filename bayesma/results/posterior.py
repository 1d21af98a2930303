"""MetaPosterior: the posterior of a Bayesian meta-analysis, from either engine.

A :class:`MetaPosterior` wraps an :class:`arviz.InferenceData` and the
:class:`~bayesma.models.spec.ModelSpec` it came from. It summarizes (mean, sd,
median, equal-tailed intervals, R-hat and ESS), answers probability questions
(``post.prob("mu > 0")``), checks the sampler (:meth:`MetaPosterior.diagnostics`),
puts the frequentist estimates beside the posterior
(:meth:`MetaPosterior.compare_frequentist`), reports how much the data moved
the prior (:meth:`MetaPosterior.prior_influence`), plots, and saves to netCDF
without loss (:meth:`MetaPosterior.to_netcdf`, :func:`load_posterior`).

ArviZ, xarray and matplotlib are imported inside the methods that need them.

Constructing one (for engines)
------------------------------
``MetaPosterior(idata, spec, engine, exact_summary=None, fit_seconds=None)``:

- ``idata``: InferenceData whose ``posterior`` group has dims ``(chain, draw, ...)``
  and the variables of :mod:`bayesma.models.spec` (``mu`` or ``beta``, ``tau``,
  ``tau_within``, ``nu``, ``theta``, ``theta_new``) with the spec's coords
  (``study``, ``coef``, ``subgroup``). Optional groups: ``prior``,
  ``sample_stats`` (``diverging``), ``observed_data``, ``constant_data``.
- ``spec``: the :class:`ModelSpec`.
- ``engine``: ``"nuts"`` or ``"exact"`` (any string; it labels the output).
- ``exact``: the engine's exact posterior (an object with ``summary(prob=)``,
  ``prob(name, threshold)``...; :class:`bayesma.exact.ExactPosterior`): every
  summary number and probability it can give comes from it.
- ``exact_summary``: a DataFrame indexed like :meth:`MetaPosterior.summary`
  (``mu``, ``tau``, ``theta[<label>]``, ``theta_new``...) with columns
  ``mean, sd, median, eti_lower, eti_upper`` (95% intervals) computed without
  Monte Carlo error; :meth:`summary` uses those rows and sets R-hat and ESS to NaN.
- ``fit_seconds``: wall time of the fit.
"""


from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma.exact import exact_posterior
from bayesma.plots import forest_plot, prior_posterior_plot, trace_plot
from bayesma.priors import describe

from .diagnostics import MAX_R_HAT, MIN_ESS, Diagnostics
from .expr import _eval_expr

_SIMPLE = re.compile(r"\s*([A-Za-z_]\w*(?:\[[^\]]*\])?)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")
from .influence import influence_lines, prior_data_conflict, prior_influence
from .io import read_posterior, write_posterior
from .summary import compare_frequentist, summary_table, var_dim

if TYPE_CHECKING:  # pragma: no cover
    import arviz as az
    from matplotlib.figure import Figure

    from bayesma.models.spec import ModelSpec

__all__ = ["MetaPosterior", "load_posterior"]


class MetaPosterior:
    """Posterior of a Bayesian meta-analysis (from ``MetaAnalysis.fit``).

    Parameters
    ----------
    idata : arviz.InferenceData
        At least a ``posterior`` group with dims ``(chain, draw, ...)`` (see the
        module docstring for the variables and coords).
    spec : ModelSpec
        The model specification the posterior belongs to.
    engine : str
        ``"nuts"`` or ``"exact"``.
    exact_summary : pandas.DataFrame, optional
        Exact summary rows (columns ``mean, sd, median, eti_lower, eti_upper``).
    fit_seconds : float, optional
        Wall time of the fit.

    Attributes
    ----------
    idata, spec, engine, exact_summary, fit_seconds
    fit_info : dict
        Engine details (sampler, seed, whether the model was compiled...).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat).fit(draws=500, chains=2, seed=1)     # doctest: +SKIP
    >>> post.summary().loc[["mu", "tau"]]                                 # doctest: +SKIP
    >>> post.prob("mu < 0")                                               # doctest: +SKIP
    """

    def __init__(
        self,
        idata: az.InferenceData,
        spec: ModelSpec,
        engine: str,
        exact_summary: pd.DataFrame | None = None,
        fit_seconds: float | None = None,
        exact: Any = None,
    ) -> None:
        if not hasattr(idata, "posterior"):
            raise ValueError("idata must have a posterior group")
        self.idata = idata
        self.spec = spec
        self.engine = str(engine)
        self.exact_summary = exact_summary
        self.fit_seconds = None if fit_seconds is None else float(fit_seconds)
        self.exact = exact
        self.fit_info: dict[str, Any] = {}
        self._summary_cache: dict[tuple, pd.DataFrame] = {}

    # ------------------------------------------------------------------
    # draws
    # ------------------------------------------------------------------
    @property
    def posterior(self):
        """The posterior group (an xarray Dataset)."""
        return self.idata.posterior

    @property
    def priors(self) -> dict[str, Any]:
        """The priors of the fit."""
        return dict(self.spec.priors)

    @property
    def n_draws(self) -> int:
        p = self.idata.posterior
        return int(p.sizes["chain"] * p.sizes["draw"])

    def draws(self, name: str, label: str | None = None) -> np.ndarray:
        """Flattened posterior draws of a parameter (``label`` picks one element of a vector).

        Parameters
        ----------
        name : str
            ``"mu"``, ``"tau"``, ``"theta"``, ``"beta"``, ... ; also ``"tau2"`` (tau squared) and,
            for intercept-only models, ``"mu"``.
        label : str, optional
            Coordinate label (study label, coefficient name, subgroup name).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_draws,)`` or ``(n_draws, n)`` for a vector without *label*.
        """
        post = self.idata.posterior
        if name not in post:
            if name == "tau2" and "tau" in post:
                return self.draws("tau", label) ** 2
            if name == "mu" and "beta" in post and "intrcpt" in list(post["beta"].coords.get("coef", [])):
                return self.draws("beta", "intrcpt")
            known = [v for v in post.data_vars if not v.endswith("__")]
            raise KeyError(f"no parameter {name!r} in the posterior; parameters: {known}")
        da = post[name]
        dim = var_dim(self.idata.posterior, name)
        if label is not None:
            if dim is None:
                raise KeyError(f"{name!r} is a scalar; it has no element {label!r}")
            labels = [str(c) for c in da.coords[dim].values]
            if label not in labels:
                raise KeyError(f"{name!r} has no element {label!r}; its {dim} labels are {labels}")
            da = da.isel({dim: labels.index(label)})
            dim = None
        vals = np.asarray(da.values, dtype=float)
        n = vals.shape[0] * vals.shape[1]
        return vals.reshape(n) if dim is None else vals.reshape((n,) + vals.shape[2:])

    # ------------------------------------------------------------------
    # summaries
    # ------------------------------------------------------------------
    def summary(self, hdi: bool = False, prob: float = 0.95) -> pd.DataFrame:
        """Posterior summary table.

        Parameters
        ----------
        hdi : bool
            Add highest-density interval columns ``hdi_lower``, ``hdi_upper``.
        prob : float
            Interval probability (0.95).

        Returns
        -------
        pandas.DataFrame
            Rows ``mu`` (or ``beta[<coef>]``), ``tau`` (or ``tau[<subgroup>]``),
            ``tau_within``, ``nu``, ``theta[<label>]``, ``theta_new`` (or
            ``theta_new[<subgroup>]``), as the model has them; columns
            ``mean, sd, median, eti_lower, eti_upper, r_hat, ess_bulk, ess_tail``
            (R-hat and ESS are NaN for the exact engine and single chains).

        Examples
        --------
        >>> post.summary().loc["tau", ["median", "eti_lower", "eti_upper"]]   # doctest: +SKIP
        """
        if not 0 < prob < 1:
            raise ValueError(f"prob must be in (0, 1), got {prob}")
        key = (bool(hdi), float(prob))
        if key not in self._summary_cache:
            self._summary_cache[key] = summary_table(self, hdi=hdi, prob=prob)
        return self._summary_cache[key].copy()

    # ------------------------------------------------------------------
    # probability statements
    # ------------------------------------------------------------------
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
            For ``engine="exact"`` a statement about one quantity against a number
            (``"mu > 0"``, ``"beta[x] < -0.1"``, ``"tau > 0.5"``, ``"theta_new < 0"``)
            is exact, the same number as :meth:`p_greater`; statements that combine
            parameters (``"theta[A] < mu"``, ``"mu < 0 and tau < 0.3"``) are shares
            of the draws, as for NUTS.

        Examples
        --------
        >>> post.prob("mu < 0")            # doctest: +SKIP
        0.9995
        """
        simple = _SIMPLE.fullmatch(expr.strip())
        if simple and self.exact is not None:
            name, op, value = simple.group(1), simple.group(2), float(simple.group(3))
            if name in self._exact_names():
                return self.p_greater(name, value) if op in (">", ">=") else self.p_less(name, value)
        val = _eval_expr(expr, self.draws)
        if val.dtype != bool:
            raise ValueError(f"{expr!r} is not a statement (use a comparison such as 'mu > 0')")
        return float(np.mean(val))

    probability = prob

    def _exact_names(self) -> set[str]:
        ep = self.exact
        if ep is None:
            return set()
        names = {"pooled", *ep.tau_names, *(f"theta[{lab}]" for lab in self.spec.labels)}
        names |= {"mu"} if not self.spec.is_regression else {f"beta[{c}]" for c in self.spec.coef_names}
        names |= ({f"theta_new[{g}]" for g in self.spec.group_names} if ep.kind == "tau_by" else {"theta_new"})
        return names

    def _split(self, name: str) -> tuple[str, str | None]:
        """``"beta[a b]"`` -> ("beta", "a b"): the label between the first "[" and the final "]", verbatim."""
        if name.endswith("]") and "[" in name:
            i = name.index("[")
            return name[:i], name[i + 1:-1]
        return name, None

    def _values(self, name: str) -> np.ndarray:
        """Draws of one quantity named as in the summary (``"pooled"``: x_new' beta)."""
        if name == "pooled":
            if "beta" in self.idata.posterior:
                return self.draws("beta") @ np.asarray(self.spec.x_new, dtype=float)
            return self.draws("mu")
        return self.draws(*self._split(name))

    def p_greater(self, var: str, value: float = 0.0) -> float:
        """P(var > value) for one quantity named as in :meth:`summary`, e.g. ``"mu"``, ``"beta[ablat]"``,
        ``"theta_new"``, ``"tau"``; the name is matched exactly (labels with spaces, quotes or
        brackets included). Exact engine: from the exact posterior; NUTS: the share of draws."""
        if self.exact is not None and var in self._exact_names():
            return float(self.exact.prob(var, float(value)))
        return float(np.mean(self._values(var) > float(value)))

    def p_less(self, var: str, value: float = 0.0) -> float:
        """P(var < value), e.g. ``post.p_less("mu", -0.2)`` (see :meth:`p_greater`)."""
        if self.exact is not None and var in self._exact_names():
            return float(self.exact.cdf(var, float(value)))
        return float(np.mean(self._values(var) < float(value)))

    def density(self, name: str, x: Any) -> np.ndarray | None:
        """Exact posterior density of one quantity at *x* (``mu``, ``beta[<coef>]``, ``tau``,
        ``tau[<g>]``, ``tau_within``, ``theta_new``) for ``engine="exact"``; None when there is
        no exact density (NUTS: plots then estimate it from the draws)."""
        if self.exact is None:
            return None
        try:
            return np.asarray(self.exact.density(name, np.asarray(x, dtype=float)), dtype=float)
        except (KeyError, ValueError):
            return None

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        """(median, lower, upper): the posterior median and equal-tailed *prob* interval of one quantity.

        The one place the printouts, the report, the forest plot and the CLI take an
        interval from: exact for ``engine="exact"``, the draws for NUTS. *name* as in
        :meth:`summary` (``"mu"``, ``"beta[<coef>]"``, ``"tau"``, ``"theta[<label>]"``,
        ``"theta_new"``), or ``"pooled"`` (mu, or the effect at the mean moderators).

        Examples
        --------
        >>> post.interval("mu", 0.95)        # doctest: +SKIP
        """
        if not 0 < prob < 1:
            raise ValueError(f"prob must be in (0, 1), got {prob}")
        if self.exact is not None and name in self._exact_names():
            return self.exact.interval(name, prob)
        x = self._values(name)
        lo, hi = np.quantile(x, [(1 - prob) / 2, 1 - (1 - prob) / 2])
        return float(np.median(x)), float(lo), float(hi)

    # ------------------------------------------------------------------
    # diagnostics
    # ------------------------------------------------------------------
    def diagnostics(self) -> Diagnostics:
        """Sampler diagnostics over mu/beta, tau (all variance parameters), theta and theta_new.

        ``passed`` means max R-hat <= 1.01, min bulk and tail ESS >= 400 and no
        divergent transitions. A failed NUTS fit warns with advice
        (:class:`SamplingWarning`) right after sampling.

        Examples
        --------
        >>> post.diagnostics().passed      # doctest: +SKIP
        True
        """
        n_draws = self.n_draws
        if self.engine == "exact" or self.exact_summary is not None:
            return Diagnostics(max_r_hat=float("nan"), min_ess_bulk=float("nan"), min_ess_tail=float("nan"),
                               divergences=0, n_draws=n_draws, passed=True, problems=[], advice=[])
        s = self.summary()
        rhat = float(np.nanmax(s["r_hat"].values)) if s["r_hat"].notna().any() else float("nan")
        bulk = float(np.nanmin(s["ess_bulk"].values)) if s["ess_bulk"].notna().any() else float("nan")
        tail = float(np.nanmin(s["ess_tail"].values)) if s["ess_tail"].notna().any() else float("nan")
        div = 0
        stats = getattr(self.idata, "sample_stats", None)
        if stats is not None and "diverging" in stats:
            div = int(np.asarray(stats["diverging"].values).sum())
        problems, advice = [], []
        if div > 0:
            problems.append(f"{div} divergent transitions")
            ta = self.fit_info.get("target_accept")
            nxt = 0.95 if ta is None or ta < 0.95 else 0.99
            advice.append(f"Raise target_accept (e.g. fit(..., target_accept={nxt})); with few studies "
                          "a more informative prior on tau also removes the funnel.")
        if math.isnan(rhat) or rhat > MAX_R_HAT:
            problems.append("R-hat not computable (one chain)" if math.isnan(rhat) else f"max R-hat {rhat:.3f} > {MAX_R_HAT}")
            advice.append("Run more chains and longer tuning (e.g. chains=4, tune=2000).")
        if math.isnan(bulk) or bulk < MIN_ESS or tail < MIN_ESS:
            if not math.isnan(bulk):
                problems.append(f"min ESS bulk {bulk:.0f} / tail {tail:.0f} < {MIN_ESS}")
            advice.append("Draw more samples (e.g. draws=2000) and tune longer.")
        return Diagnostics(max_r_hat=rhat, min_ess_bulk=bulk, min_ess_tail=tail, divergences=div,
                           n_draws=n_draws, passed=not problems, problems=problems, advice=list(dict.fromkeys(advice)))

    # ------------------------------------------------------------------
    # prior influence
    # ------------------------------------------------------------------
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

        Returns
        -------
        pandas.DataFrame
            Rows ``mu``/``beta[...]``, ``tau``..., columns ``prior``, ``prior_lower``,
            ``prior_upper``, ``posterior_lower``, ``posterior_upper``, ``ratio``,
            ``set_by_prior`` (bool) and ``note`` (a sentence when set by the prior).

        Examples
        --------
        >>> post.prior_influence().loc["tau", "ratio"]    # doctest: +SKIP
        """
        return prior_influence(self, prob=prob, threshold=threshold)

    def prior_data_conflict(self) -> pd.DataFrame:
        """Heterogeneity SDs whose posterior median lies beyond the 0.5% / 99.5% quantile of their prior;
        see :func:`bayesma.results.influence.prior_data_conflict`.

        Examples
        --------
        >>> post.prior_data_conflict()["conflict"].any()    # doctest: +SKIP
        """
        return prior_data_conflict(self)

    # ------------------------------------------------------------------
    # frequentist comparison
    # ------------------------------------------------------------------
    def compare_frequentist(self, level: float = 0.95) -> pd.DataFrame:
        """The frequentist estimates (``bayesma.rma``) beside the posterior; see
        :func:`bayesma.results.summary.compare_frequentist`.

        Examples
        --------
        >>> post.compare_frequentist().round(3)            # doctest: +SKIP
        """
        return compare_frequentist(self, level)

    # ------------------------------------------------------------------
    # save / load
    # ------------------------------------------------------------------
    def to_netcdf(self, path: str) -> str:
        """Save the posterior, its data, priors and model description to a netCDF file.

        :func:`bayesma.load_posterior` restores an equivalent object (same
        draws, summary, priors, spec).

        Examples
        --------
        >>> post.to_netcdf("bcg.nc")           # doctest: +SKIP
        >>> again = bm.load_posterior("bcg.nc")  # doctest: +SKIP
        """
        return write_posterior(self, str(path))

    # ------------------------------------------------------------------
    # display
    # ------------------------------------------------------------------
    def __repr__(self) -> str:
        info = self.fit_info
        head = f"MetaPosterior ({self.engine}"
        if info.get("sampler"):
            head += f", {info['sampler']}"
        p = self.idata.posterior
        head += f": {p.sizes['chain']} chains x {p.sizes['draw']} draws"
        if self.fit_seconds is not None:
            head += f", {self.fit_seconds:.2f} s"
        head += ")"
        s = self.summary()
        keep = [r for r in s.index if not r.startswith("theta[")]
        cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
        if self.exact_summary is None:
            cols += ["r_hat", "ess_bulk"]
        table = s.loc[keep, cols].to_string(float_format=lambda v: f"{v:.4g}")
        return "\n".join([
            head,
            self.spec.describe(),
            "priors:",
            describe(self.spec.priors),
            table,
            f"({self.spec.k} study effects theta[...] in .summary())",
            *influence_lines(self),
            f"diagnostics: {self.diagnostics().line()}",
        ])

    # ------------------------------------------------------------------
    # plots
    # ------------------------------------------------------------------
    def forest(self, **kwargs: Any) -> Figure:
        """Forest plot (observed effects, shrunken estimates, pooled and predictive); see
        :func:`bayesma.plots.forest_plot`."""
        return forest_plot(self, **kwargs)

    def plot_prior_posterior(self, var_names: Iterable[str] | None = None, **kwargs: Any) -> Figure:
        """Prior density against posterior density; see :func:`bayesma.plots.prior_posterior_plot`.
        Default: mu (or the coefficients) and tau when the model has it."""
        if var_names is None:
            var_names = [v for v in ("mu", "tau") if v == "mu" or v in self.idata.posterior]
        return prior_posterior_plot(self, var_names=var_names, **kwargs)

    def plot_trace(self, var_names: Iterable[str] | None = None, **kwargs: Any) -> Figure:
        """Trace plot (ArviZ); see :func:`bayesma.plots.trace_plot`."""
        return trace_plot(self, var_names=var_names, **kwargs)



def load_posterior(path: str) -> MetaPosterior:
    """Load a posterior saved with :meth:`MetaPosterior.to_netcdf`.

    The model specification (data, design matrix, coefficient names, subgroup
    and cluster structure, priors rebuilt from their repr with
    :func:`bayesma.priors.parse`) is restored from the file; for the exact engine
    the exact posterior is integrated again (deterministic: the same numbers), so
    summaries at any level and probabilities stay exact.

    Examples
    --------
    >>> post = bm.load_posterior("bcg.nc")     # doctest: +SKIP
    """
    parts = read_posterior(path)
    fit_info = parts.pop("fit_info")
    exact = exact_posterior(parts["spec"]) if parts["engine"] == "exact" else None
    post = MetaPosterior(**parts, exact=exact)
    post.fit_info = fit_info
    return post
