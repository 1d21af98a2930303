"""Exact leave-one-out: ``log p(y_i | y_-i) = log p(y) - log p(y_-i)`` and the refits without each study.

The marginal likelihoods come from the quadrature (:func:`bayesma.exact.marginal_likelihood`), so the
leave-one-out predictive densities need no approximation; :meth:`bayesma.MetaPosterior.loo` shows them
beside the PSIS estimates and their Pareto k.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesma.exact.bayes import marginal_likelihood
from bayesma.exact.posterior import exact_posterior

__all__ = ["exact_leave_one_out"]


def _without(spec: Any, i: int) -> Any:
    mask = np.ones(spec.k, dtype=bool)
    mask[i] = False
    return spec.subset(mask, rebuild_priors=False)  # one prior: log p(y) - log p(y_-i) is the LOO density


def exact_leave_one_out(spec: Any) -> pd.DataFrame:
    """Exact leave-one-out of a model the exact engine fits.

    Parameters
    ----------
    spec : ModelSpec
        The model (one effect per study).

    Returns
    -------
    pandas.DataFrame
        One row per study (index: the labels): ``elpd_exact`` (``log p(y) - log p(y_-i)``),
        ``mu_without`` (posterior mean of mu without the study; intercept-only models) and
        ``tau_without`` (posterior median of tau without it; NaN with ``tau_by``).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> exact_leave_one_out(m.spec).columns.tolist()
    ['elpd_exact', 'mu_without', 'tau_without']
    """
    full = marginal_likelihood(spec)
    rows = []
    for i in range(spec.k):
        sub = _without(spec, i)
        summary = exact_posterior(sub).summary(theta=False)
        rows.append({"elpd_exact": full - marginal_likelihood(sub),
                     "mu_without": float(summary.loc["mu", "mean"]) if "mu" in summary.index else np.nan,
                     "tau_without": float(summary.loc["tau", "median"]) if "tau" in summary.index else np.nan})
    return pd.DataFrame(rows, index=[str(v) for v in spec.labels])
