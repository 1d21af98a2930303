"""The frequentist fits set beside a Bayesian one in the report and the command line's tables."""

from __future__ import annotations

from typing import Any

__all__ = ["estimator_fits"]


def estimator_fits(yi: Any, vi: Any, *, cluster: Any = None, **common: Any) -> dict[str, Any]:
    """metafor's estimators on the same data: FE, DL, REML and REML + Knapp-Hartung, or with
    *cluster* the 3-level REML alone; *common* is passed to :func:`bayesma.rma` for each fit."""
    from bayesma.frequentist import rma  # scipy: loaded when a report is made, so `bayesma --help` stays quick

    if cluster is not None:
        return {"REML (3-level)": rma(yi, vi, cluster=cluster, **common)}
    fits = {}
    for name, kwargs in (("FE", dict(method="FE")), ("DL", dict(method="DL")), ("REML", dict(method="REML")),
                         ("REML + KH", dict(method="REML", test="knha"))):
        fits[name] = rma(yi, vi, **common, **kwargs)
    return fits
