"""Named heterogeneity priors from the literature: :func:`preset` and :func:`presets`.

The medical presets are Turner et al.'s (2015, log odds ratios) and Rhodes et al.'s (2015,
standardized mean differences, :mod:`bayesma.priors.empirical`); for psychology and the social
sciences, the heterogeneity prior of RoBMA (Bartoš et al. 2021), ``tau ~ InvGamma(1, 0.15)`` on
Cohen's d, which BayesTools / RoBMA distribute as the "van Erp" informed prior: it summarises the
heterogeneity estimates of van Erp et al. (2017) for 705 meta-analyses published in
Psychological Bulletin (1990-2013). Every name is accepted wherever a prior is
(:func:`bayesma.priors.parse`, ``compare_priors(tau_priors=...)``, the command line's
``--tau-prior``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bayesma import measures
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.priors.base import Prior
from bayesma.priors.empirical import rhodes2015, turner2015
from bayesma.priors.families import InverseGammaTau

__all__ = ["PRESETS", "preset", "presets"]

def _psychology(measure: str | None = None) -> Prior:
    factor = 1.0
    if measure is not None:
        unit_sd = measures.get(measure).unit_sd
        if unit_sd is None:
            raise InputError(f"the psychology preset is on Cohen's d; measure {measure!r} has no unit-information "
                             "SD to rescale it by (a raw scale): give a prior in the data's units instead")
        factor = unit_sd / SMD_UNIT_SD
    prior = InverseGammaTau(1.0, round(0.15 * factor, 6))
    scale = "Cohen's d" if factor == 1.0 else f"{measure} (0.15 on d times {factor:.4g})"
    prior.label = f"psychology: RoBMA's default, van Erp et al. (2017) estimates; tau on {scale}"
    return prior


#: the unit-information SD of a standardized mean difference (the scale the psychology preset is on)
SMD_UNIT_SD = 2.0


@dataclass(frozen=True)
class PresetInfo:
    """One named prior: what builds it, the measure it is for, and its source."""

    build: Callable[..., Prior]
    measure: str
    field: str
    source: str


PRESETS: dict[str, PresetInfo] = {
    "psychology": PresetInfo(
        _psychology, "SMD (Cohen's d)", "psychology",
        "Bartoš F, Maier M, Quintana DS, Wagenmakers E-J (2022). Adjusting for publication bias in JASP and "
        "R: selection models, PET-PEESE, and robust Bayesian meta-analysis. Advances in Methods and Practices "
        "in Psychological Science 5(3); RoBMA's default tau ~ InvGamma(1, 0.15), based on van Erp S, "
        "Verhagen J, Grasman RPPP, Wagenmakers E-J (2017). Estimates of between-study heterogeneity for "
        "705 meta-analyses reported in Psychological Bulletin from 1990-2013. Journal of Open Psychology "
        "Data 5(1), doi:10.5334/jopd.33"),
    "turner2015": PresetInfo(
        turner2015, "OR (log odds ratio)", "medicine",
        "Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Statistics in Medicine 34:984-998"),
    "rhodes2015": PresetInfo(
        rhodes2015, "SMD", "medicine",
        "Rhodes KM, Turner RM, Higgins JPT (2015). Journal of Clinical Epidemiology 68:52-60"),
}
"""The named heterogeneity priors: name -> how to build it, its measure, field and source."""

#: other spellings of the preset names (lower case, without spaces, hyphens and underscores)
ALIASES: dict[str, str] = {"psychology": "psychology", "robmapsychology": "psychology", "robma": "psychology",
                           "vanerp2017": "psychology", "vanerp": "psychology", "bartos2021": "psychology",
                           "turner2015": "turner2015", "rhodes2015": "rhodes2015"}


def preset_key(name: str) -> str | None:
    """The preset a (case- and punctuation-insensitive) name means, or None."""
    return ALIASES.get("".join(ch for ch in name.lower() if ch.isalnum()))


def preset(name: str, *args: Any, **kwargs: Any) -> Prior:
    """A named heterogeneity prior from the literature.

    Parameters
    ----------
    name : str
        ``"psychology"`` (also ``"robma_psychology"``, ``"vanerp2017"``): RoBMA's default
        heterogeneity prior for psychology, ``tau ~ InvGamma(1, 0.15)`` on Cohen's d;
        ``"turner2015"`` (log odds ratios) and ``"rhodes2015"`` (standardized mean
        differences in medicine). Case, spaces, hyphens and underscores are ignored.
    *args, **kwargs
        Passed on: the row of :func:`turner2015` / :func:`rhodes2015` (outcome, comparison,
        area); for ``"psychology"`` the keyword ``measure=`` rescales tau from d to that
        measure by the ratio of unit-information SDs, as the default priors are scaled
        (:func:`default_priors`; Röver et al. 2021): halved for correlations and Fisher's
        z (sigma_u = 1), unchanged for log odds ratios (sigma_u = 2, as for d).

    Returns
    -------
    Prior
        A prior on tau (or tau^2), labelled with its source.

    Raises
    ------
    InputError
        Unknown name (the message lists the presets), or a measure the preset cannot be
        rescaled to.
    ArgumentTypeError
        *name* not a string.

    Notes
    -----
    ``InvGamma(1, 0.15)`` on tau has median 0.15 / ln 2 = 0.216 and puts little mass below
    0.05: it assumes the moderate heterogeneity typical of psychology, unlike the half-normal
    defaults, which allow tau = 0. RoBMA (Bartoš et al. 2021, 2022) cites van Erp et al. (2017)
    for it, and BayesTools' ``prior_informed("van Erp")`` is this distribution. van Erp et al.
    (2017) published the estimates (705 meta-analyses from Psychological Bulletin, 1990-2013),
    not a fitted distribution: other summaries of their data (by effect measure, by subfield)
    are not offered here because their numbers could not be checked against a published
    source.

    References
    ----------
    Bartoš F, Maier M, Wagenmakers E-J, Doucouliagos H, Stanley TD (2023; preprint 2021). Robust
    Bayesian meta-analysis: model-averaging across complementary publication bias adjustment
    methods. Research Synthesis Methods 14(1):99-116. Bartoš F, Maier M, Quintana DS,
    Wagenmakers E-J (2022). Adjusting for publication bias in JASP and R. Advances in Methods and
    Practices in Psychological Science 5(3). van Erp S, Verhagen J, Grasman RPPP, Wagenmakers
    E-J (2017). Estimates of between-study heterogeneity for 705 meta-analyses reported in
    Psychological Bulletin from 1990-2013. Journal of Open Psychology Data 5(1),
    doi:10.5334/jopd.33. BayesTools 0.2.22 (R), ``prior_informed("van Erp")``.

    Examples
    --------
    >>> from bayesma import priors
    >>> priors.preset("psychology")
    InverseGammaTau(alpha=1, beta=0.15)
    >>> round(float(priors.preset("psychology").ppf_tau(0.5)), 3)
    0.216
    >>> priors.preset("psychology", measure="ZCOR")
    InverseGammaTau(alpha=1, beta=0.075)
    >>> priors.preset("turner2015")
    LogNormal(mu=-3.95, sigma=1.34)
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"a preset name must be a string, got {name!r}")
    key = preset_key(name)
    if key is None:
        raise InputError(f"unknown prior preset {name!r}; presets: {', '.join(PRESETS)} "
                         "(see bayesma.priors.presets())")
    try:
        return PRESETS[key].build(*args, **kwargs)
    except TypeError as exc:
        raise ArgumentTypeError(f"preset {key!r}: {exc}") from None


def presets() -> Any:
    """The named heterogeneity priors, one row each.

    Returns
    -------
    pandas.DataFrame
        Index: the preset name; columns ``prior`` (its default form), ``measure``, ``field``,
        ``tau_median`` and ``tau_95`` (the prior's median and 95% upper quantile of tau) and
        ``source``.

    Examples
    --------
    >>> from bayesma import priors
    >>> priors.presets().loc["psychology", "prior"]
    'InverseGammaTau(alpha=1, beta=0.15)'
    """
    import pandas as pd

    rows = []
    for name, info in PRESETS.items():
        prior = info.build()
        med, hi = (float(v) for v in prior.ppf_tau([0.5, 0.95]))
        rows.append({"name": name, "prior": repr(prior), "measure": info.measure, "field": info.field,
                     "tau_median": med, "tau_95": hi, "source": info.source})
    return pd.DataFrame(rows).set_index("name")
