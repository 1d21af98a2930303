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


def rho_sensitivity(data: Any, rho: Sequence[float] = (0.3, 0.5, 0.7, 0.9), engine: str = "auto",
                    seed: int = 1, **kwargs: Any) -> pd.DataFrame:
    """Fit a CHE model once per assumed sampling correlation.

    Parameters
    ----------
    data : pandas.DataFrame
        The effects.
    rho : sequence of float
        Sampling correlations within a cluster, each in (-1, 1).
    engine : str
        ``"auto"`` (exact), ``"exact"`` or ``"nuts"``.
    seed : int
        Seed of every fit.
    **kwargs
        The other arguments of :class:`bayesma.MetaAnalysis` (``yi``, ``vi``, ``cluster``, ``priors``...).

    Returns
    -------
    pandas.DataFrame
        Index ``(rho, parameter)`` for ``mu`` (or the coefficients), ``tau``, ``tau_within``,
        ``theta_new``; columns of :meth:`MetaPosterior.summary`.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.assink2016")
    >>> tab = bm.rho_sensitivity(dat, rho=[0.3, 0.9], yi="yi", vi="vi", cluster="study", labels="id")  # doctest: +SKIP
    """
    from bayesma.models import MetaAnalysis

    out = []
    for r in np.atleast_1d(rho):
        s = MetaAnalysis(data, rho=float(r), **kwargs).fit(engine=engine, seed=seed).summary()
        s = s.loc[[i for i in s.index if not i.startswith("theta[")]]
        s.index = pd.MultiIndex.from_product([[float(r)], s.index], names=["rho", "parameter"])
        out.append(s)
    return pd.concat(out)
