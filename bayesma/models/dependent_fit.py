"""Fitting the dependent-effects models (CHE, multivariate across outcomes): engine choice, warnings.

``MetaAnalysis.fit`` hands a model with a :class:`~bayesma.models.dependence.Dependence` here.
``engine="auto"`` takes the exact engine when it can fit the model (:func:`exact_can_fit`:
CHE with normal priors on the coefficients and proper tau priors; CS across outcomes) and NUTS
otherwise.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["choose_engine", "exact_can_fit"]

ENGINES = ("auto", "exact", "nuts")


def exact_can_fit(spec: Any) -> tuple[bool, str]:
    """Whether the exact engine can fit a dependent-effects *spec*, and why not.

    Returns
    -------
    tuple of (bool, str)
        ``(True, "")`` or ``(False, reason)``.
    """
    dep = spec.dependence
    if dep.multivariate and dep.struct != "CS":
        return False, (f"struct={dep.struct!r} has more than two variance parameters; the exact engine "
                       "integrates two (CHE: tau, tau_within; CS: tau, rho)")
    for j, name in enumerate(spec.coef_names):
        fam = spec.location_prior(j).family
        if fam not in ("Normal", "Flat"):
            return False, f"the prior of {name!r} is {fam}; the exact engine needs Normal (or Flat) priors on the means"
    keys = ("tau", "rho") if dep.multivariate else ("tau", "tau_within")
    for key in keys:
        prior = spec.priors[key]
        if prior.family in ("HalfFlat", "Jeffreys"):
            return False, f"priors[{key!r}] = {prior!r} is improper; the 2-D exact engine needs proper priors"
    return True, ""


def choose_engine(spec: Any, engine: str = "auto") -> str:
    """The engine that fits a CHE or multivariate *spec* (``"auto"``: exact where it can), after
    warning about few clusters or outcomes with few studies.

    Raises
    ------
    ValueError
        An unknown engine, or ``engine="exact"`` for a model it cannot fit (the reason is named).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    ok, why = exact_can_fit(spec)
    if engine == "exact" and not ok:
        raise ValueError(f"engine='exact' cannot fit this model: {why}. Use engine='nuts' (or 'auto').")
    _warn_small_k(spec)
    return "exact" if engine == "exact" or (engine == "auto" and ok) else "nuts"


def _warn_small_k(spec: Any) -> None:
    from bayesma.models import SmallKWarning

    n = len(spec.cluster_names)
    if n < 5:
        warnings.warn(f"{n} clusters (< 5): the prior on the between-cluster tau ({spec.priors['tau']!r}) matters "
                      "for the result; check how conclusions change with bayesma.compare_priors().",
                      SmallKWarning, stacklevel=4)
