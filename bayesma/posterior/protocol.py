"""The one interface every number of a Bayesian fit comes from: :class:`Posterior`.

A fit's summary, intervals, probabilities, forest plot, report, frequentist comparison and
command-line tables all read one object that follows this protocol. Two implementations:

- :class:`~bayesma.posterior.draws.DrawsPosterior`: every number from posterior draws
  (NUTS; any :class:`arviz.InferenceData`), with R-hat and ESS;
- :class:`~bayesma.posterior.marginal.MarginalPosterior`: every number of a quantity from
  its exact one-dimensional marginal (the quadrature of :mod:`bayesma.exact`, or any
  :class:`MarginalSource`: densities on grids, weighted draws), draws only for what the
  marginals do not give (statements that combine parameters, trace plots).

Quantities are named as the rows of the summary: ``"mu"``, ``"beta[<coef>]"``, ``"tau"``,
``"tau[<subgroup>]"``, ``"tau_within"``, ``"nu"``, ``"theta[<label>]"``, ``"theta_new"``
(``"theta_new[<subgroup>]"``), and ``"pooled"`` (mu, or the effect at the mean moderators).
A meta-regression's ``"mu"`` is its intercept ``"beta[intrcpt]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from bayesma._arviz import InferenceData
    from bayesma.spec import ModelSpec

__all__ = ["Posterior", "MarginalSource", "SUMMARY_COLUMNS", "MOMENT_COLUMNS"]

#: columns of every summary table (R-hat and ESS are NaN where no sampler ran)
SUMMARY_COLUMNS = ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
#: the columns a marginal gives without Monte Carlo error
MOMENT_COLUMNS = ["mean", "sd", "median", "eti_lower", "eti_upper"]


@runtime_checkable
class Posterior(Protocol):  # numpydoc ignore=PR01
    """The posterior of one fit, whatever computed it (see the module docstring).

    Attributes
    ----------
    spec : ModelSpec
        The model the posterior belongs to.
    engine : str
        The engine that made it (``"nuts"``, ``"exact"``); it labels output only.
    method : str
        How the posterior was computed, in words (for the report).
    needs_diagnostics : bool
        True for MCMC draws (R-hat, ESS and divergences must be checked); False when the
        numbers are exact or the draws independent ("exact: none needed").
    idata : arviz.InferenceData or None
        The draws (plots, statements that combine parameters), None when none were made.
    posterior : xarray.Dataset or None
        The draws' ``posterior`` group, without building an InferenceData (the exact engine
        builds that only when :attr:`idata` is read, so its fits do not import ArviZ).
    exact : object or None
        The exact engine's own result behind the numbers (None for draws).
    log_marginal_likelihood : float or None
        ``log p(y)`` when the engine computes it.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04])
    >>> post = m.fit(engine="exact", draws=200, chains=2, seed=1)
    >>> isinstance(post.source, bm.posterior.Posterior), post.source.needs_diagnostics
    (True, False)
    """

    @property
    def spec(self) -> ModelSpec: ...

    @property
    def engine(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def needs_diagnostics(self) -> bool: ...

    @property
    def idata(self) -> InferenceData | None: ...

    @property
    def posterior(self) -> xr.Dataset | None: ...

    @property
    def exact(self) -> object | None: ...

    @property
    def log_marginal_likelihood(self) -> float | None: ...

    def names(self) -> list[str]:
        """The rows of :meth:`summary`, in order."""
        ...

    def summary(self, prob: float = 0.95, hdi: bool = False, studies: bool = True) -> pd.DataFrame:
        """Rows :meth:`names` (without ``theta[...]`` unless *studies*); columns :data:`SUMMARY_COLUMNS`
        (+ ``hdi_lower, hdi_upper``)."""
        ...

    def quantiles(self, name: str, q: Sequence[float]) -> np.ndarray:
        """Quantiles of one quantity at probabilities *q*."""
        ...

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        """``(median, lower, upper)``: the equal-tailed *prob* interval of one quantity."""
        ...

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        """The shortest interval holding *prob* of one quantity."""
        ...

    def cdf(self, name: str, x: float) -> float:
        """``P(name <= x | y)``."""
        ...

    def p_greater(self, name: str, x: float) -> float:
        """``P(name > x | y)``."""
        ...

    def p_less(self, name: str, x: float) -> float:
        """``P(name < x | y)``."""
        ...

    def p_between(self, name: str, lower: float, upper: float) -> float:
        """``P(lower < name < upper | y)``."""
        ...

    def moments(self, name: str) -> tuple[float, float]:
        """``(mean, sd)`` of one quantity (inf or NaN where they do not exist)."""
        ...

    def density(self, name: str, x: np.ndarray) -> np.ndarray | None:
        """The exact density at *x*, or None (no exact density: estimate it from the draws)."""
        ...

    def draws(self, name: str, label: str | None = None) -> np.ndarray:
        """Flattened draws ``(n_draws,)`` or ``(n_draws, n)`` of a variable (an element with *label*)."""
        ...

    def has(self, name: str) -> bool:
        """Whether *name* is a quantity of this posterior (a summary row or ``"pooled"``)."""
        ...


@runtime_checkable
class MarginalSource(Protocol):  # numpydoc ignore=PR01
    """What an exact engine gives :class:`~bayesma.posterior.marginal.MarginalPosterior`:
    named one-dimensional marginals (:class:`bayesma.exact.ExactPosterior` is one;
    :class:`~bayesma.posterior.grid.GridMarginals` builds one from densities on grids or
    weighted draws).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04])
    >>> isinstance(bm.exact.exact_posterior(m.spec), bm.posterior.MarginalSource)
    True
    """

    @property
    def names(self) -> list[str]: ...

    @property
    def log_marginal_likelihood(self) -> float: ...

    def summary(self, theta: bool = True, prob: float = 0.95) -> pd.DataFrame:
        """Rows: the names; columns :data:`MOMENT_COLUMNS` (equal-tailed interval at *prob*)."""
        ...

    def quantiles(self, name: str, q: Sequence[float]) -> np.ndarray: ...

    def cdf(self, name: str, x: float) -> float: ...

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]: ...

    def density(self, name: str, x: np.ndarray) -> np.ndarray: ...
