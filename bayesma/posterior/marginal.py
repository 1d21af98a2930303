"""MarginalPosterior: every number of a quantity from its exact one-dimensional marginal.

The exact engine (:mod:`bayesma.exact`) integrates the posterior: each quantity has an exact
cdf, quantile function, density and moments. :class:`MarginalPosterior` answers every question
about one quantity from them (no Monte Carlo error), and turns to the draws only for what a
marginal cannot answer (statements that combine parameters, trace plots). R-hat and ESS are not
needed (NaN in the summary).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .draws import DrawsPosterior, param_rows
from .names import canonical_name, split_name
from .protocol import MOMENT_COLUMNS, SUMMARY_COLUMNS, MarginalSource

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from bayesma._arviz import InferenceData
    from bayesma.spec import ModelSpec

__all__ = ["MarginalPosterior"]


class MarginalPosterior:
    """A posterior known through exact marginals (the exact engine), with draws beside them.

    Parameters
    ----------
    exact : MarginalSource
        The marginals (:class:`bayesma.exact.ExactPosterior`, or
        :class:`bayesma.posterior.GridMarginals`).
    spec : ModelSpec
        The model.
    draws : DrawsPosterior, optional
        Independent draws of the same posterior (plots, statements that combine parameters).
    engine : str
        Labels the output (``"exact"``).
    method : str
        How the marginals were computed, in words.

    Examples
    --------
    >>> import bayesma as bm
    >>> from bayesma.exact import exact_posterior
    >>> from bayesma.posterior import MarginalPosterior
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04])
    >>> p = MarginalPosterior(exact_posterior(m.spec), m.spec)
    >>> round(p.p_greater("mu", 0.0), 4) == round(1 - p.cdf("mu", 0.0), 4)
    True
    """

    def __init__(self, exact: MarginalSource, spec: ModelSpec, draws: DrawsPosterior | None = None,
                 engine: str = "exact", method: str = "exact numerical integration") -> None:
        self._exact = exact
        self._spec = spec
        self._draws = draws
        self._engine = str(engine)
        self._method = str(method)
        self._names = set(exact.names)

    # -- what it is ------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        return self._spec

    @property
    def engine(self) -> str:
        return self._engine

    @property
    def method(self) -> str:
        return self._method

    @property
    def needs_diagnostics(self) -> bool:
        return False  # exact numbers; the draws beside them are independent

    @property
    def idata(self) -> InferenceData | None:
        return None if self._draws is None else self._draws.idata

    @property
    def posterior(self) -> xr.Dataset | None:
        """The draws' posterior group (an xarray Dataset), or None."""
        return None if self._draws is None else self._draws.posterior

    @property
    def exact(self) -> MarginalSource:
        return self._exact

    @property
    def log_marginal_likelihood(self) -> float:
        return float(self._exact.log_marginal_likelihood)

    def _rows(self, studies: bool = True) -> list[tuple[str, str, str | None]]:
        """(row, variable, label): the draws' rows, with the study effects the draws did not keep."""
        table = self._exact.summary(theta=studies, prob=0.95)
        index = table.index.tolist()  # plain strings: iterating a pandas index is slow at large k
        if self._draws is None:
            return [(r, *split_name(r)) for r in index]
        posterior = self._draws.posterior
        rows = param_rows(posterior)
        if "theta" not in posterior:  # draws kept without the study effects (large k)
            known = {r[0] for r in rows}
            new = [r for r in rows if r[1] == "theta_new"]
            rows = [r for r in rows if r[1] != "theta_new"]
            rows += [(r, "theta", r[6:-1]) for r in index if r.startswith("theta[") and r not in known]
            rows += new
        return [r for r in rows if studies or r[1] != "theta"]

    def names(self) -> list[str]:
        return [r[0] for r in self._rows()]

    def _marginal(self, name: str) -> str | None:
        """The marginal's name for *name*, or None when only the draws answer."""
        name = canonical_name(self._spec, name)
        return name if name in self._names else None

    def has(self, name: str) -> bool:
        return self._marginal(name) is not None or (self._draws is not None and self._draws.has(name))

    def _from_draws(self) -> DrawsPosterior:
        if self._draws is None:
            raise KeyError("this posterior has no draws: only the quantities of its exact marginals "
                           f"({sorted(self._names)}) can be asked for")
        return self._draws

    # -- draws ---------------------------------------------------------------------
    def draws(self, name: str, label: str | None = None) -> np.ndarray:
        return self._from_draws().draws(name, label)

    # -- one quantity ----------------------------------------------------------------
    def quantiles(self, name: str, q: Sequence[float]) -> np.ndarray:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().quantiles(name, q)
        return np.asarray(self._exact.quantiles(m, [float(v) for v in np.atleast_1d(q)]), dtype=float)

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().interval(name, prob)
        lo, med, hi = self._exact.quantiles(m, [(1.0 - prob) / 2.0, 0.5, 1.0 - (1.0 - prob) / 2.0])
        return float(med), float(lo), float(hi)

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().hdi(name, prob)
        lo, hi = self._exact.hdi(m, prob)
        return float(lo), float(hi)

    def cdf(self, name: str, x: float) -> float:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().cdf(name, x)
        return float(self._exact.cdf(m, float(x)))

    def p_greater(self, name: str, x: float) -> float:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().p_greater(name, x)
        return float(1.0 - self._exact.cdf(m, float(x)))

    def p_less(self, name: str, x: float) -> float:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().p_less(name, x)
        return float(self._exact.cdf(m, float(x)))

    def p_between(self, name: str, lower: float, upper: float) -> float:
        m = self._marginal(name)
        if m is None:
            return self._from_draws().p_between(name, lower, upper)
        return float(max(self._exact.cdf(m, float(upper)) - self._exact.cdf(m, float(lower)), 0.0))

    def moments(self, name: str) -> tuple[float, float]:
        m = self._marginal(name)
        if m is None or m == "pooled":
            return self._from_draws().moments(name)
        row = self._exact.summary(theta=m.startswith("theta["), prob=0.95).loc[m]
        return float(row["mean"]), float(row["sd"])

    def density(self, name: str, x: np.ndarray) -> np.ndarray | None:
        try:
            return np.asarray(self._exact.density(name, np.asarray(x, dtype=float)), dtype=float)
        except (KeyError, ValueError):
            return None  # no exact density for this quantity: plots estimate it from the draws

    # -- the table ---------------------------------------------------------------------
    def summary(self, prob: float = 0.95, hdi: bool = False, studies: bool = True) -> pd.DataFrame:
        table = self._exact.summary(theta=studies, prob=prob)
        rows = self._rows(studies)
        names = [r[0] for r in rows]
        at = table.index.get_indexer(names)  # the marginals' row of each, -1 where only the draws answer
        data = np.full((len(names), len(SUMMARY_COLUMNS)), np.nan)
        have = at >= 0
        data[have, : len(MOMENT_COLUMNS)] = table[MOMENT_COLUMNS].to_numpy(dtype=float)[at[have]]
        frame = pd.DataFrame(data, index=pd.Index(names, name="parameter"), columns=SUMMARY_COLUMNS)
        if hdi:
            frame["hdi_lower"] = frame["hdi_upper"] = np.nan
        for i in range(len(rows)) if hdi else np.flatnonzero(~have):
            row, var, lab = rows[i]
            if have[i]:
                frame.iloc[i, -2:] = self._exact.hdi(row, prob)
            else:  # a quantity the marginals do not give: from the draws
                rec = self._from_draws().row(var, lab, prob, hdi)
                frame.iloc[i] = [rec.get(c, np.nan) for c in frame.columns]
        frame[["r_hat", "ess_bulk", "ess_tail"]] = np.nan
        return frame
