"""Default priors per effect measure: the unit-information SD and :func:`default_priors`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bayesma import measures
from bayesma.errors import InputError
from bayesma.priors.base import Prior, _fmt
from bayesma.priors.empirical import rhodes2015, turner2015
from bayesma.priors.families import HalfCauchy, HalfNormal, Normal, Uniform

__all__ = ["UNIT_INFORMATION_SD", "RAW_MEASURES", "unit_information_sd", "default_priors",
           "sensitivity_tau_priors"]

#: unit-information standard deviations sigma_u (se_i^2 ~ sigma_u^2 / n_i) of measures
#: with a known value (read from bayesma.measures); see unit_information_sd().
UNIT_INFORMATION_SD: dict[str, float] = {
    m.name: m.unit_sd for m in measures.MEASURES.values() if m.unit_sd is not None
}

#: measures on a raw (data-dependent) scale: sigma_u must be estimated from sample sizes
RAW_MEASURES = tuple(m.name for m in measures.MEASURES.values() if m.scale == "raw" or m.name == "ROM") + ("GENERIC",)


def _measure_key(measure: str | None) -> str | None:
    """The registry name of *measure*; ValueError listing the known measures if unknown."""
    return measures.lookup(measure)


def _positive_array(values: Any, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1:
        raise InputError(f"{what} must be one-dimensional, got shape {arr.shape}")
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{what} must be positive and finite; the study in row {i + 1} has {arr[i]!r}"
        )
    return arr


def unit_information_sd(
    measure: str | None,
    yi: Any = None,
    vi: Any = None,
    ni: Any = None,
) -> float:
    """Unit-information standard deviation sigma_u of an effect measure.

    sigma_u is the standard deviation of one "unit" of information, so that a
    study of size n_i has sampling variance ``vi ~ sigma_u**2 / n_i`` (Röver et
    al. 2021, Research Synthesis Methods 12:448-474, Sec. 2.3). It sets the
    scale of the default priors (:func:`default_priors`).

    Fixed values (``ni`` = total number of participants of a study, or of
    events where noted; two arms of equal size):

    - ``OR``, ``PETO``, ``RR``, ``HR``, ``IRR`` (log ratios): **2**.
      var(log OR) ~ 4/m with m the total number of events (Spiegelhalter,
      Abrams & Myles 2004, *Bayesian Approaches to Clinical Trials and
      Health-Care Evaluation*, Sec. 2.4; the same for log RR and log HR with
      rare events); the value used for log odds ratios by Röver et al. (2021).
      With tau ~ HalfNormal(sigma_u / 4) this gives HalfNormal(0.5), the prior
      Friede et al. (2017, Biometrical Journal 59:658-671) found well
      calibrated for log odds ratios with few studies.
    - ``SMD``, ``SMDH``: **2**. var(d) ~ 1/n1 + 1/n2 = 4/N for equal arms of
      total size N (Hedges & Olkin 1985); Röver et al. (2021) give sigma_u ~ 2
      for standardized differences. (Per participant *per arm* it would be
      sqrt(2).)
    - ``ZCOR``: **1**. var(z) = 1/(n - 3) ~ 1/n (Fisher 1921; Röver et al. 2021).
    - ``COR``: **1**. var(r) = (1 - rho^2)^2 / (n - 1) <= 1/n: the value at
      rho = 0, an upper bound.
    - ``RD``: **1**. var = p1 q1/n1 + p2 q2/n2 <= 1/N: the value at p = 1/2, an
      upper bound.

    For raw measures (``MD``, ``ROM``, ``GEN``, ``None``) and any measure not
    listed above, sigma_u depends on the outcome's scale and is estimated
    from the data as ``sqrt(sum(ni) / sum(1 / vi))`` (Röver et al. 2021,
    Eq. 6; bayesmeta's ``uisd()``), which needs ``vi`` and ``ni``.

    Parameters
    ----------
    measure : str or None
        metafor's measure name (case-insensitive).
    yi : array-like, optional
        Accepted for symmetry with :func:`default_priors`; not used.
    vi : array-like, optional
        Sampling variances.
    ni : array-like, optional
        Total sample sizes of the studies.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a raw measure without ``vi`` and ``ni``: give sample sizes or
        choose priors explicitly.

    Examples
    --------
    >>> unit_information_sd("OR"), unit_information_sd("ZCOR")
    (2.0, 1.0)
    >>> round(unit_information_sd("MD", vi=[0.5, 0.25], ni=[20, 40]), 4)
    3.1623
    """
    key = _measure_key(measure)
    if key in UNIT_INFORMATION_SD:
        return UNIT_INFORMATION_SD[key]
    if vi is None or ni is None:
        what = "a generic effect (measure=None)" if key is None else f"measure {measure!r}"
        raise InputError(
            f"the unit-information SD of {what} depends on the outcome's scale: give the "
            f"sampling variances vi and the sample sizes ni to estimate it as "
            f"sqrt(sum(ni) / sum(1/vi)), or choose the priors explicitly, e.g. "
            f"priors={{'mu': Normal(0, 10), 'tau': HalfNormal(1)}}. Measures with a known "
            f"value: {', '.join(UNIT_INFORMATION_SD)}"
        )
    v = _positive_array(vi, "vi")
    n = _positive_array(ni, "ni")
    if v.shape != n.shape:
        raise InputError(f"vi and ni must have the same length, got {v.size} and {n.size}")
    return float(math.sqrt(n.sum() / np.sum(1.0 / v)))


def default_priors(
    measure: str | None = None,
    yi: Any = None,
    vi: Any = None,
    ni: Any = None,
) -> dict[str, Prior]:
    """Default priors for the overall effect mu and the heterogeneity tau.

    With the measure's unit-information SD sigma_u (:func:`unit_information_sd`):

    - ``tau ~ HalfNormal(sigma_u / 4)``: Röver et al. (2021) recommend
      half-normal priors with scale a fraction of sigma_u; sigma_u / 4 is
      HalfNormal(0.5) for log odds ratios (Friede et al. 2017), HalfNormal(0.5)
      for SMDs and HalfNormal(0.25) for Fisher's z. Its median, 0.17 sigma_u, is
      "moderate" heterogeneity and it gives 5% probability to tau > 0.49 sigma_u.
    - ``mu ~ Normal(0, 4 * sigma_u)``: a proper but wide prior. A study of n
      units has standard error sigma_u / sqrt(n); for n >= 10 the prior SD is at
      least 12 times a single study's standard error, so the prior carries
      less than 1% of a study's information and the posterior of mu is close to
      what a flat prior gives. For log odds ratios it is Normal(0, 8).

    Fallback when sigma_u cannot be known (``measure`` raw, generic or
    ``None``, and no ``ni``): a data-scaled weakly informative choice with
    ``s = max(sd(yi), sqrt(median(vi)))`` (only the terms available):
    ``tau ~ HalfNormal(s)`` and ``mu ~ Normal(0, 10 * max(s, max|yi|))``
    (the ``max|yi|`` keeps the prior wide when effects on a raw scale are far
    from zero). The prior is scaled from the data (the data are used twice:
    once to set the prior, once in the likelihood), and its ``label`` says so;
    state it when reporting. Better: give the sample sizes ``ni`` (then sigma_u
    is estimated from ``vi`` and ``ni`` only), or choose priors on the
    outcome's scale.

    Parameters
    ----------
    measure : str, optional
        metafor's measure name (``"OR"``, ``"SMD"``, ``"ZCOR"``, ...).
    yi, vi, ni : array-like, optional
        Effects, sampling variances and total sample sizes; used only when
        sigma_u must be estimated or for the fallback.

    Returns
    -------
    dict
        ``{"mu": Normal, "tau": HalfNormal}``.

    Examples
    --------
    >>> default_priors("OR")
    {'mu': Normal(mu=0, sigma=8), 'tau': HalfNormal(sigma=0.5)}
    >>> default_priors("ZCOR")["tau"]
    HalfNormal(sigma=0.25)
    """
    key = _measure_key(measure)
    if key in UNIT_INFORMATION_SD or (vi is not None and ni is not None):
        su = unit_information_sd(measure, yi=yi, vi=vi, ni=ni)
        out = {"mu": Normal(0.0, 4.0 * su), "tau": HalfNormal(su / 4.0)}
        source = (
            f"unit-information SD {_fmt(su)} for {key}"
            if key in UNIT_INFORMATION_SD
            else f"unit-information SD {su:.4g} estimated from vi and ni"
        )
        for p in out.values():
            p.label = f"default ({source})"
        return out
    if ni is not None and vi is None:
        raise InputError("ni was given without vi: the unit-information SD needs both")
    scales: dict[str, float] = {}
    y = None
    if yi is not None:
        y = np.atleast_1d(np.asarray(yi, dtype=float))
        y = y[np.isfinite(y)]
        if y.size >= 2:
            scales["sd(yi)"] = float(np.std(y, ddof=1))
    if vi is not None:
        v = _positive_array(vi, "vi")
        scales["sqrt(median(vi))"] = float(math.sqrt(np.median(v)))
    s = max(scales.values()) if scales else 0.0
    if not s > 0:
        raise InputError(
            "cannot choose default priors: give the effect measure (e.g. measure='SMD'), "
            "or vi (and ideally ni) so the prior scale can be estimated, or choose the "
            "priors explicitly"
        )
    big = max(s, float(np.max(np.abs(y)))) if y is not None and y.size else s
    out = {"mu": Normal(0.0, 10.0 * big), "tau": HalfNormal(s)}
    source = max(scales, key=scales.__getitem__)
    why = "no measure and no sample sizes" if key is None else f"no sample sizes for {key}"
    how = {"tau": f"{source} = {s:.3g}", "mu": (f"10 x max({source}, max|yi|) = {10.0 * big:.3g}" if y is not None and y.size
                  else f"10 x {source} = {10.0 * big:.3g}")}
    for name, p in out.items():
        p.label = (f"data-scaled fallback: scaled from the data ({how[name]}; {why}), so the data are "
                   "used twice; choose priors on the outcome's scale (priors= or --tau-prior), or use "
                   "default_priors(measure, vi=..., ni=...) with the sample sizes")
    return out


def sensitivity_tau_priors(
    measure: str | None = None,
    yi: Any = None,
    vi: Any = None,
    ni: Any = None,
) -> dict[str, Prior]:
    """The standard set of heterogeneity priors for a prior-sensitivity analysis.

    Scaled to the measure's default tau prior ``HalfNormal(s)`` (:func:`default_priors`,
    ``s = sigma_u / 4``): the default itself, a wider ``HalfNormal(2 s)``, a heavy-tailed
    ``HalfCauchy(s)`` (Gelman 2006) and a flat ``Uniform(0, 8 s)``; for odds ratios also
    the general empirical prior of Turner et al. (2015), for standardized mean
    differences the one of Rhodes et al. (2015). Scales are rounded to 3 significant
    digits. Used by :func:`bayesma.compare_priors` and ``bayesma priors`` (CLI) when no
    priors are given.

    Parameters
    ----------
    measure : str, optional
        metafor's measure name.
    yi, vi, ni : array-like, optional
        As for :func:`default_priors` (needed only when the measure has no fixed
        unit-information SD).

    Returns
    -------
    dict[str, Prior]
        ``{label: prior}``, four or five entries.

    Raises
    ------
    ValueError
        When no default scale can be chosen (see :func:`default_priors`).

    References
    ----------
    Röver C, Bender R, Dias S, et al. (2021). On weakly informative prior distributions
    for the heterogeneity parameter in Bayesian random-effects meta-analysis. Research
    Synthesis Methods 12:448-474.

    Examples
    --------
    >>> list(sensitivity_tau_priors("OR"))
    ['HalfNormal(0.5) (default)', 'HalfNormal(1) (wider)', 'HalfCauchy(0.5)', 'Uniform(0, 4)', 'Turner 2015 (general)']
    """
    base = default_priors(measure, yi=yi, vi=vi, ni=ni)["tau"]
    s = float(base.params["sigma"])

    def r(x: float) -> float:
        return float(f"{x:.3g}")

    out: dict[str, Prior] = {
        f"HalfNormal({r(s):g}) (default)": HalfNormal(r(s)),
        f"HalfNormal({r(2 * s):g}) (wider)": HalfNormal(r(2 * s)),
        f"HalfCauchy({r(s):g})": HalfCauchy(r(s)),
        f"Uniform(0, {r(8 * s):g})": Uniform(lower=0.0, upper=r(8 * s)),
    }
    empirical = measures.get(measure).empirical_tau_prior if measure is not None else None
    if empirical == "turner2015":
        out["Turner 2015 (general)"] = turner2015()
    elif empirical == "rhodes2015":
        out["Rhodes 2015 (general)"] = rhodes2015()
    return out
