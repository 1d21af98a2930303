"""Priors on correlations between outcomes: :class:`UniformCorrelation` (one rho) and :class:`LKJ`.

For the multivariate models across outcomes (:class:`bayesma.MetaAnalysis` with ``outcome=``):
``rho`` of a compound-symmetric structure (``struct="CS"``/``"HCS"``) takes any prior whose
support lies inside its valid range ``(-1/(m-1), 1)`` for m outcomes (:class:`UniformCorrelation`,
or :class:`bayesma.priors.Uniform` for a range inside [0, 1]); the correlation matrix of
``struct="UN"`` takes :class:`LKJ` (Lewandowski, Kurowicka & Joe 2009).
"""

from __future__ import annotations

import math

from bayesma.errors import InputError
from bayesma.priors.base import Prior, _fmt, _stats

__all__ = ["UniformCorrelation", "LKJ"]


class UniformCorrelation(Prior):
    """Uniform prior on a correlation over ``[lower, upper]``, ``-1 <= lower < upper <= 1``.

    Parameters
    ----------
    lower, upper : float
        The range (default -1, 1: for two outcomes the marginal of the LKJ(1) prior).

    Examples
    --------
    >>> UniformCorrelation(-1, 1)
    UniformCorrelation(lower=-1, upper=1)
    >>> UniformCorrelation(0, 1).support()
    (0.0, 1.0)
    """

    family = "UniformCorrelation"
    target = "rho"
    _pm_name = "Uniform"

    def __init__(self, lower: float = -1.0, upper: float = 1.0) -> None:
        super().__init__(lower=lower, upper=upper)
        lo, hi = self._params["lower"], self._params["upper"]
        if not (-1.0 <= lo < hi <= 1.0):
            raise InputError(f"UniformCorrelation: need -1 <= lower < upper <= 1, got lower={_fmt(lo)}, "
                             f"upper={_fmt(hi)}")

    def _frozen(self):
        lo, hi = self._params["lower"], self._params["upper"]
        return _stats().uniform(loc=lo, scale=hi - lo)

    def support(self) -> tuple[float, float]:
        return (self._params["lower"], self._params["upper"])


class LKJ(Prior):
    """LKJ prior on a correlation matrix, density proportional to ``det(Omega)^(eta - 1)``.

    ``eta = 1`` is uniform over correlation matrices (Lewandowski, Kurowicka & Joe 2009,
    J. Multivariate Anal. 100:1989-2001; Stan's and brms's default); larger eta shrinks the
    correlations towards 0. Each correlation's marginal is Beta(eta - 1 + m/2, eta - 1 + m/2)
    on (-1, 1) for m outcomes.

    Parameters
    ----------
    eta : float
        Shape (> 0).

    Examples
    --------
    >>> LKJ(2)
    LKJ(eta=2)
    """

    family = "LKJ"
    target = "corr"
    _positive = ("eta",)

    def __init__(self, eta: float = 1.0) -> None:
        super().__init__(eta=eta)

    def support(self) -> tuple[float, float]:
        return (-1.0, 1.0)

    def marginal_logpdf(self, r: float, m: int) -> float:
        """Log density of one correlation under LKJ(eta) in dimension *m*."""
        a = self._params["eta"] - 1.0 + m / 2.0
        return float((a - 1.0) * math.log1p(-r * r) - (2 * a - 1) * math.log(2.0)
                     - (math.lgamma(a) * 2 - math.lgamma(2 * a)))
