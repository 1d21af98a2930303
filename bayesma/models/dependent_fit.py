"""Fitting the dependent-effects models (CHE, multivariate across outcomes): engine choice, warnings.

``MetaAnalysis.fit`` hands a model with a :class:`~bayesma.models.dependence.Dependence` here.
``engine="auto"`` takes the exact engine when it can fit the model (:func:`exact_can_fit`:
CHE with normal priors on the coefficients and proper tau priors; CS across outcomes) and NUTS
otherwise.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

from bayesma.errors import InputError

__all__ = ["choose_engine", "exact_can_fit"]

ENGINES = ("auto", "exact", "nuts")


def exact_can_fit(spec: ModelSpec) -> tuple[bool, str]:
    """Whether the exact engine can fit a dependent-effects *spec*, and why not.

    Returns
    -------
    tuple of (bool, str)
        ``(True, "")`` or ``(False, reason)``.
    """
    from bayesma.exact.capability import exact_support

    support = exact_support(spec)  # the one engine rule, which holds these models' rules too
    return support.ok, support.reason


def choose_engine(spec: ModelSpec, engine: str = "auto") -> str:
    """The engine that fits a CHE or multivariate *spec* (``"auto"``: exact where it can), after
    warning about few clusters or outcomes with few studies.

    Raises
    ------
    ValueError
        An unknown engine, or ``engine="exact"`` for a model it cannot fit (the reason is named).
    """
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {ENGINES}, got {engine!r}")
    ok, why = exact_can_fit(spec)
    if engine == "exact" and not ok:
        raise InputError(f"engine='exact' cannot fit this model: {why}. Use engine='nuts' (or 'auto').")
    _warn_small_k(spec)
    return "exact" if engine == "exact" or (engine == "auto" and ok) else "nuts"


def _warn_small_k(spec: ModelSpec) -> None:
    """Few clusters, or (multivariate) outcomes reported by fewer than 5 studies: named, with what to do."""
    from bayesma.models import SmallKWarning

    n = len(spec.cluster_names)
    dep = spec.dependence
    tau = spec.priors.get("tau", spec.priors.get(f"tau[{dep.outcome_names[0]}]" if dep.multivariate else "tau"))
    if n < 5:
        warnings.warn(f"{n} clusters (< 5): the prior on the between-cluster tau ({tau!r}) matters "
                      "for the result; check how conclusions change with bayesma.compare_priors().",
                      SmallKWarning, stacklevel=4)
    if dep.multivariate:
        counts = np.bincount(dep.outcome_index, minlength=len(dep.outcome_names))
        small = [f"{o!r} (k = {c})" for o, c in zip(dep.outcome_names, counts) if c < 5]
        if small:
            warnings.warn(f"outcome{'s' if len(small) > 1 else ''} {', '.join(small)} reported by fewer than 5 "
                          f"studies: their {'coefficients' if spec.is_regression else 'means'} borrow strength "
                          "from the other outcomes through the correlation rho, so they depend on the prior of rho "
                          "and on the structure; compare with a separate random-effects fit of each "
                          f"({'without mods=: ' if spec.is_regression else ''}"
                          "bayesma.models.dependence_report.borrowing).",
                          SmallKWarning, stacklevel=4)
