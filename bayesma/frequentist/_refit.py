"""Refitting a frequentist fit on a subset of its studies: the shared step of
:mod:`bayesma.frequentist.influence` and :mod:`bayesma.frequentist.steps` (metafor's
``try(rma(...))`` inside ``influence``, ``leave1out``, ``cumul`` and ``baujat``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist._fitcore import refit_numbers


def _check_rma(res: Any, what: str) -> None:
    """*res* must be a fitted ``rma`` result that keeps its data and design matrix."""
    if hasattr(res, "sigma2") and hasattr(res, "X"):
        raise ArgumentTypeError(f"{what} is available for fits of bayesma.rma(), not for three-level rma_mv fits")
    if not all(hasattr(res, a) for a in ("X", "data", "beta", "vb", "tau2", "refit")) or res.X is None:
        raise ArgumentTypeError(
            f"{what} needs a result of bayesma.rma() (got {type(res).__name__}); "
            "for a Bayesian fit use bayesma.leave_one_out / bayesma.cumulative"
        )
    if getattr(res, "data", None) is None:
        raise InputError(f"{what}: the result holds no data (it was not made by bayesma.rma)")


def _is_mh(res: Any) -> bool:
    """A Mantel-Haenszel or Peto fit (:func:`bayesma.rma_mh`, :func:`bayesma.rma_peto`)."""
    return hasattr(res, "tables") and hasattr(res, "refit") and hasattr(res, "labels")


def _labels(res: Any) -> list[str]:
    return list(res.labels) if _is_mh(res) else list(res.data.labels)


def _check_steps(res: Any, what: str) -> None:
    """leave1out / cumul: an intercept-only ``rma`` fit, or an ``rma_mh`` / ``rma_peto`` fit."""
    if _is_mh(res):
        return
    _check_rma(res, what)
    if res.X.shape[1] != 1 or not np.allclose(res.X[:, 0], 1.0):
        raise InputError(f"{what} is only for models without moderators (as metafor); "
                         "for a meta-regression use influence()")


def _refit(res: Any, keep: np.ndarray) -> Any | None:
    """*res* refitted to the studies in the boolean mask *keep*: the numbers of the refit
    (:func:`bayesma.frequentist._fitcore.refit_numbers`; an ``rma_mh`` / ``rma_peto`` fit refits
    itself), or None where metafor's refit fails (``try``)."""
    if _is_mh(res):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = res.refit(keep)
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return None
        return fit  # a NaN estimate (no events in one group) keeps its Q, as metafor
    X = res.X[keep]
    if X.shape[0] == 0 or np.linalg.matrix_rank(X) < X.shape[1]:
        return None  # metafor: a coefficient becomes inestimable (coef.na) -> NA row
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return refit_numbers(res, keep)
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
        return None


def _check_two_studies(what: str, k: int, first: Any,
                       why: str = "must refit without each study in turn") -> None:
    """The leave-one-out diagnostics need k >= 2: *what* names the function, *first* is the
    one study's label."""
    if k == 1:
        raise InputError(f"{what}: the model has k = 1 study ({first!r}); {what} needs at least 2 studies, since it "
                         f"{why} (metafor stops here too); with one study there is nothing to compare: report that "
                         "study's estimate")


def _without_each(res: Any, k: int):
    """``(i, fit)`` for each study i: *res* refitted without study i (None where the refit fails)."""
    for i in range(k):
        keep = np.ones(k, dtype=bool)
        keep[i] = False
        yield i, _refit(res, keep)
