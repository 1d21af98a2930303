"""The frequentist fits set beside a Bayesian one in the report and the command line's tables.

A dependent-effects model's counterpart (:func:`fit_counterpart`) is ``rma_mv`` with the same V:
CHE ``random="~ 1 | cluster/obs"`` (``tau^2 = sigma2[0]``, ``tau_within^2 = sigma2[1]``);
multivariate ``mods="~ outcome - 1"``, ``random="~ outcome | cluster", struct=...``. A model with
moderators gives ``rma_mv`` its own formula over the same data (a matrix of moderators: the design's
columns after the intercept), so the coefficients pair up by name with the posterior's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["estimator_fits", "fit_counterpart"]


def estimator_fits(yi: Any, vi: Any, *, cluster: Any = None, pi_type: str | None = None,
                   **common: Any) -> dict[str, Any]:
    """metafor's estimators on the same data: FE, DL, REML and REML + Knapp-Hartung, or with
    *cluster* the 3-level REML alone; *common* is passed to :func:`bayesma.rma` for each fit; *pi_type*
    chooses their prediction interval (``RMAResult.with_pi_type``)."""
    from bayesma.frequentist import rma  # scipy: loaded when a report is made, so `bayesma --help` stays quick

    if cluster is not None:
        return {"REML (3-level)": rma(yi, vi, cluster=cluster, **common)}
    fits = {}
    for name, kwargs in (("FE", dict(method="FE")), ("DL", dict(method="DL")), ("REML", dict(method="REML")),
                         ("REML + KH", dict(method="REML", test="knha"))):
        fits[name] = rma(yi, vi, **common, **kwargs)
        if pi_type is not None:
            fits[name] = fits[name].with_pi_type(pi_type)
    return fits


def fit_counterpart(spec: Any, method: str = "REML", level: float = 0.95) -> Any:
    """``bayesma.rma_mv`` with the V and the random structure of a dependent model *spec*.

    Parameters
    ----------
    spec : DependentSpec
        The model's specification (``spec.dependence`` not None).
    method : str
        ``"REML"`` or ``"ML"``.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    RMAMVResult
        The frequentist fit; its ``coef_names`` follow the posterior's means.

    Examples
    --------
    >>> fit_counterpart(post.spec, "ML").beta.round(3)                  # doctest: +SKIP
    """
    from bayesma.frequentist import rma_mv

    dep = spec.dependence
    cl_idx = np.asarray(spec.cluster_index)
    cols = {"cluster": np.asarray(spec.cluster_names, dtype=object)[cl_idx], "obs": np.arange(spec.k)}
    if dep.multivariate:
        cols["outcome"] = np.asarray(dep.outcome_names, dtype=object)[np.asarray(dep.outcome_index)]
    mods: Any = "~ outcome - 1" if dep.multivariate else None
    pre, frame = "", pd.DataFrame(cols)
    if spec.is_regression and isinstance(spec.mods, str):  # the formula reads the data's columns (as fitted),
        pre, mods = "_bm_", spec.mods  # with the helper columns under names of our own
        frame = spec.meta.data.reset_index(drop=True).assign(**{f"_bm_{c}": v for c, v in cols.items()})
    elif spec.is_regression:  # a matrix of moderators: the design after its intercept (design_matrix adds one)
        mods = np.asarray(spec.X, dtype=float)[:, 1:]
    random = f"~ {pre}outcome | {pre}cluster" if dep.multivariate else f"~ 1 | {pre}cluster/{pre}obs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rma_mv(np.asarray(spec.yi, dtype=float), dep.dense(cl_idx), mods=mods, random=random,
                      struct=dep.struct if dep.multivariate else "CS", data=frame, method=method, level=level)
