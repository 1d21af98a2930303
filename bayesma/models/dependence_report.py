"""What a user needs to trust a dependent-effects model: borrowing of strength and a sweep over rho.

- :func:`borrowing`: each outcome's mean under the multivariate model beside a separate
  random-effects fit of that outcome alone (same priors), and how far it moved (in posterior sds
  of the separate fit): the strength an outcome with few studies borrows from the others.
- :func:`rho_sensitivity`: the CHE model refitted over several assumed sampling correlations
  ``rho`` (metafor's ``vcalc`` constant correlation), one row per rho and parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["borrowing", "rho_sensitivity"]


def borrowing(ma: Any, engine: str = "auto", seed: int = 1) -> pd.DataFrame:
    """Each outcome's mean: multivariate model vs the outcome alone.

    Parameters
    ----------
    ma : MetaAnalysis
        A multivariate model (``outcome=``).
    engine : str
        Engine of both fits.
    seed : int
        Seed.

    Returns
    -------
    pandas.DataFrame
        Rows per outcome; columns ``k``, ``joint_mean``, ``joint_lower``, ``joint_upper``,
        ``alone_mean``, ``alone_lower``, ``alone_upper``, ``shift_sd`` (joint minus alone, in
        sds of the separate fit), ``width_ratio`` (joint interval width / alone).

    Raises
    ------
    bayesma.errors.UnsupportedModelError
        For a model with moderators (``mods=``): it has no mean per outcome.

    Examples
    --------
    >>> borrowing(model)                                             # doctest: +SKIP
    """
    import warnings

    from bayesma.models import SmallKWarning
    from bayesma.report.dependent import borrowing_table, check_means

    check_means(ma.spec)  # a model with moderators has no mean per outcome
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        joint = ma.fit(engine=engine, seed=seed).summary()
    return borrowing_table(ma.spec, joint)


def rho_sensitivity(data: Any = None, yi: Any = None, vi: Any = None, *,
                    rho: Sequence[float] = (0.3, 0.5, 0.7, 0.9), engine: str = "auto",
                    seed: int | None = None, **kwargs: Any) -> pd.DataFrame:
    """Fit a CHE model once per assumed sampling correlation.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        The effects.
    yi, vi : str or array-like
        Effect sizes and sampling variances (column names of *data* or arrays), as
        :class:`bayesma.MetaAnalysis`.
    rho : sequence of float
        Sampling correlations within a cluster, each in (-1, 1).
    engine : str
        ``"auto"`` (exact), ``"exact"`` or ``"nuts"``.
    seed : int, optional
        Seed of every fit: each rho is fitted with the same seed, so the rows differ by rho and not by
        Monte Carlo noise; ``None`` (the default) draws one fresh seed for the whole sweep.
    **kwargs
        The other arguments of :class:`bayesma.MetaAnalysis` (``cluster``, ``labels``, ``priors``...).

    Returns
    -------
    pandas.DataFrame
        Index ``(rho, parameter)`` for ``mu`` (or the coefficients), ``tau``, ``tau_within``,
        ``theta_new``; columns of :meth:`MetaPosterior.summary`.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.assink2016")
    >>> tab = bm.rho_sensitivity(dat, "yi", "vi", rho=[0.3, 0.9], cluster="study", labels="id", seed=1)
    >>> tab.index.names
    FrozenList(['rho', 'parameter'])
    >>> round(float(tab.loc[(0.9, "mu"), "mean"]), 2)
    0.35
    """
    from bayesma.errors import ArgumentTypeError, InputError
    from bayesma.models import MetaAnalysis

    try:
        rhos = np.atleast_1d(np.asarray(rho, dtype=float))
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"rho= takes a sequence of sampling correlations (numbers in (-1, 1)); got {rho!r}")
    if rhos.ndim != 1 or rhos.size == 0:
        raise InputError(f"rho= takes a non-empty sequence of sampling correlations; got {rho!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    out = []
    for r in rhos:
        s = MetaAnalysis(data, yi, vi, rho=float(r), **kwargs).fit(engine=engine, seed=seed).summary()
        s = s.loc[[i for i in s.index if not i.startswith("theta[")]]
        s.index = pd.MultiIndex.from_product([[float(r)], s.index], names=["rho", "parameter"])
        out.append(s)
    return pd.concat(out)
