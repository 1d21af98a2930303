"""GridMarginals: a :class:`~bayesma.posterior.protocol.MarginalSource` from densities on grids
or weighted draws, for engines that give one-dimensional marginals but no quadrature object
of their own (multivariate models, importance sampling)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayesma.errors import UnknownParameterError
from bayesma.exact.quadrature import hdi_from_quantiles

from .protocol import MOMENT_COLUMNS

__all__ = ["Marginal", "GridMarginals"]


@dataclass(frozen=True)
class Marginal:
    """One quantity's marginal as a piecewise-linear cdf over sorted support points.

    Build it with :meth:`from_grid` (a density on a grid) or :meth:`from_weighted_draws`.

    Parameters
    ----------
    x : numpy.ndarray
        Sorted support points, shape ``(n,)``.
    cdf_values : numpy.ndarray
        The cdf at *x*, non-decreasing from about 0 to about 1.
    pdf_values : numpy.ndarray or None
        The density at *x* (None for weighted draws: no density).
    mean, sd : float
        Moments.

    Examples
    --------
    >>> Marginal.from_weighted_draws([0.0, 1.0, 2.0]).cdf(1.0)
    0.5
    """

    x: np.ndarray
    cdf_values: np.ndarray
    pdf_values: np.ndarray | None
    mean: float
    sd: float

    @classmethod
    def from_grid(cls, x: Sequence[float] | np.ndarray, density: Sequence[float] | np.ndarray) -> Marginal:
        """A marginal from its (unnormalised) density on a fine grid (trapezoid rule).

        Parameters
        ----------
        x : array_like
            Grid, shape ``(n,)``, increasing, covering the mass.
        density : array_like
            Density at *x* (normalised here).

        Returns
        -------
        Marginal

        Examples
        --------
        >>> import numpy as np
        >>> x = np.linspace(-8, 8, 4001)
        >>> m = Marginal.from_grid(x, np.exp(-x ** 2 / 2))
        >>> round(float(m.quantiles([0.975])[0]), 3)
        1.96
        """
        xs = np.asarray(x, dtype=float)
        d = np.maximum(np.asarray(density, dtype=float), 0.0)
        if xs.ndim != 1 or xs.shape != d.shape or xs.size < 2 or np.any(np.diff(xs) <= 0):
            raise ValueError("x must be an increasing grid and density the same shape")
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(xs))])
        z = cum[-1]
        if not z > 0:
            raise ValueError("the density has no mass on the grid")
        pdf = d / z
        w = np.concatenate([[0.0], 0.5 * np.diff(xs)]) + np.concatenate([0.5 * np.diff(xs), [0.0]])
        mean = float(np.sum(w * pdf * xs))
        sd = float(np.sqrt(max(np.sum(w * pdf * (xs - mean) ** 2), 0.0)))
        return cls(xs, cum / z, pdf, mean, sd)

    @classmethod
    def from_weighted_draws(cls, values: Sequence[float] | np.ndarray,
                            weights: Sequence[float] | np.ndarray | None = None) -> Marginal:
        """A marginal from (importance-)weighted draws.

        Parameters
        ----------
        values : array_like
            Draws, shape ``(n,)``.
        weights : array_like, optional
            Non-negative weights (equal by default).

        Returns
        -------
        Marginal

        Examples
        --------
        >>> Marginal.from_weighted_draws([0.0, 1.0, 2.0], [1, 2, 1]).mean
        1.0
        """
        v = np.asarray(values, dtype=float).reshape(-1)
        w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float).reshape(-1)
        if v.size < 2 or w.shape != v.shape or np.any(w < 0) or not w.sum() > 0:
            raise ValueError("values need at least two draws and non-negative weights of the same shape")
        order = np.argsort(v, kind="stable")
        v, w = v[order], w[order] / w.sum()
        cdf = np.cumsum(w) - 0.5 * w  # mid-point rule: the cdf through the middle of each step
        mean = float(w @ v)
        sd = float(np.sqrt(max(float(w @ (v - mean) ** 2), 0.0)))
        return cls(v, cdf, None, mean, sd)

    def cdf(self, x: float) -> float:
        """``P(X <= x)``."""
        return float(np.interp(float(x), self.x, self.cdf_values, left=0.0, right=1.0))

    def quantiles(self, q: Sequence[float] | np.ndarray) -> np.ndarray:
        """Quantiles at probabilities *q* (the cdf inverted linearly)."""
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        keep = np.concatenate([[True], np.diff(self.cdf_values) > 0])
        return np.interp(qs, self.cdf_values[keep], self.x[keep])

    def density(self, x: np.ndarray) -> np.ndarray:
        """The density at *x* (KeyError for weighted draws, which have none)."""
        if self.pdf_values is None:
            raise KeyError("weighted draws have no exact density")
        return np.interp(np.asarray(x, dtype=float), self.x, self.pdf_values, left=0.0, right=0.0)


class GridMarginals:
    """Named :class:`Marginal` objects as a :class:`~bayesma.posterior.protocol.MarginalSource`.

    Parameters
    ----------
    marginals : mapping of str to Marginal
        One per quantity, named as summary rows (``"mu"``, ``"tau"``, ``"theta[<label>]"``...),
        in the order of the summary.
    log_marginal_likelihood : float
        ``log p(y)`` when known (NaN).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-8, 8, 4001)
    >>> src = GridMarginals({"mu": Marginal.from_grid(x, np.exp(-x ** 2 / 2))})
    >>> src.summary().loc["mu", ["eti_lower", "eti_upper"]].round(2).tolist()
    [-1.96, 1.96]
    """

    def __init__(self, marginals: Mapping[str, Marginal], log_marginal_likelihood: float = float("nan")) -> None:
        self._m = dict(marginals)
        self._lml = float(log_marginal_likelihood)

    @property
    def names(self) -> list[str]:
        return list(self._m)

    @property
    def log_marginal_likelihood(self) -> float:
        return self._lml

    def _get(self, name: str) -> Marginal:
        try:
            return self._m[name]
        except KeyError:
            raise UnknownParameterError(f"no parameter {name!r}; the marginals are {list(self._m)}") from None

    def summary(self, theta: bool = True, prob: float = 0.95) -> pd.DataFrame:
        rows = {}
        for name, m in self._m.items():
            if not theta and name.startswith("theta["):
                continue
            lo, med, hi = m.quantiles([(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2])
            rows[name] = (m.mean, m.sd, med, lo, hi)
        return pd.DataFrame.from_dict(rows, orient="index", columns=MOMENT_COLUMNS).astype(float)

    def quantiles(self, name: str, q: Sequence[float]) -> np.ndarray:
        return self._get(name).quantiles(q)

    def cdf(self, name: str, x: float) -> float:
        return self._get(name).cdf(x)

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        return hdi_from_quantiles(self._get(name).quantiles, prob)

    def density(self, name: str, x: np.ndarray) -> np.ndarray:
        return self._get(name).density(x)
