"""The one registry of effect measures: names, labels, scales, back-transforms and prior scales.

Every part of bayesma that needs to know something about an effect measure
(``escalc``'s descriptions, the default priors, the axis labels of the plots,
the report's wording, the command line) looks it up here, so a new measure is
one entry of :data:`MEASURES`.

The unit-information standard deviation sigma_u of a measure (``vi ~ sigma_u^2
/ n_i``; Röver et al. 2021, Research Synthesis Methods 12:448-474) sets the
scale of the default priors: ``mu ~ Normal(0, 4 sigma_u)`` and
``tau ~ HalfNormal(sigma_u / 4)`` (see :func:`bayesma.priors.default_priors`).
Measures on a raw scale (MD, ROM, GEN) have no fixed sigma_u.

Examples
--------
>>> from bayesma import measures
>>> m = measures.get("OR")
>>> m.label, m.unit_sd, round(float(m.back_transform(0.0)), 3)
('Log odds ratio', 2.0, 1.0)
>>> measures.get("d")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
bayesma.errors.InputError: unknown effect measure 'd' (did you mean 'SMD'?); known measures: OR, PETO, RR, ...
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["GENERIC", "MEASURES", "Measure", "get", "label", "lookup", "names"]


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class Measure:  # numpydoc ignore=PR01
    """One effect measure.

    Attributes
    ----------
    name : str
        metafor's name (``"OR"``, ``"SMD"``, ...).
    description : str
        What the effect is, singular (``"log odds ratio"``).
    label : str
        Axis label (``"Log odds ratio"``; ``"Standardized mean difference (Hedges' g)"``).
    plural : str
        For sentences: ``"k = 12 log odds ratios"``.
    scale : str
        ``"log"`` (a log ratio), ``"logit"``, ``"fisher-z"``, ``"raw"`` (data
        units) or ``"bounded"`` (a difference, correlation or proportion).
    back_label : str or None
        The quantity on the back-transformed scale (``"odds ratio"``), or None.
    back_transform : callable or None
        Maps an effect (array) to the back-transformed scale (``np.exp`` for
        log ratios, ``tanh`` for Fisher's z, the inverse logit for PLO).
    unit_sd : float or None
        Unit-information standard deviation sigma_u, or None on a raw scale.
    empirical_tau_prior : str or None
        Name of the empirical heterogeneity prior family of :mod:`bayesma.priors`
        for this measure (``"turner2015"``, ``"rhodes2015"``), or None.
    symbol : str or None
        The effect's symbol in reported sentences (``"g"`` in "g = 0.21, 95% CI ..."; ``"log OR"``),
        or None (the report then says "the estimate").
    conversion : str or None
        For a measure converted from another (``R2D``, ``OR2DN``, ...): the conversion and its
        reference, for the sentence naming the effects and for ``bayesma escalc --also``.
    counts : tuple or None
        For a measure of counts with an exact likelihood (``rma_glmm``, ``MetaAnalysis(...,
        likelihood=)``): ``(likelihood, count arguments)``, e.g. ``("binomial", ("ai", "bi",
        "ci", "di"))``; None otherwise.

    Examples
    --------
    >>> from bayesma import measures
    >>> m = measures.get("OR")
    >>> m.label, m.back_label, m.unit_sd
    ('Log odds ratio', 'odds ratio', 2.0)
    """

    name: str
    description: str
    label: str
    plural: str
    scale: str
    back_label: str | None = None
    back_transform: Callable[[np.ndarray], np.ndarray] | None = None
    unit_sd: float | None = None
    empirical_tau_prior: str | None = None
    symbol: str | None = None
    conversion: str | None = None
    counts: tuple[str, tuple[str, ...]] | None = None

    @property
    def mu_prior_sd(self) -> float | None:
        """Scale of the default Normal(0, s) prior on the pooled effect: 4 sigma_u."""
        return None if self.unit_sd is None else 4.0 * self.unit_sd

    @property
    def tau_prior_scale(self) -> float | None:
        """Scale of the default HalfNormal(s) prior on tau: sigma_u / 4."""
        return None if self.unit_sd is None else self.unit_sd / 4.0

    @property
    def is_log(self) -> bool:
        return self.scale == "log"


_ALL = [
    Measure("OR", "log odds ratio", "Log odds ratio", "log odds ratios", "log", "odds ratio", np.exp, 2.0, "turner2015",
            symbol="log OR", counts=("binomial", ("ai", "bi", "ci", "di"))),
    Measure("PETO", "log odds ratio (Peto's method)", "Log odds ratio (Peto)", "log odds ratios (Peto)", "log",
       "odds ratio", np.exp, 2.0, symbol="log OR"),
    Measure("RR", "log risk ratio", "Log risk ratio", "log risk ratios", "log", "risk ratio", np.exp, 2.0,
            symbol="log RR"),
    Measure("HR", "log hazard ratio", "Log hazard ratio", "log hazard ratios", "log", "hazard ratio", np.exp, 2.0,
            symbol="log HR"),
    Measure("IRR", "log incidence rate ratio", "Log incidence rate ratio", "log incidence rate ratios", "log",
       "incidence rate ratio", np.exp, 2.0, symbol="log IRR", counts=("poisson", ("x1i", "t1i", "x2i", "t2i"))),
    Measure("RD", "risk difference", "Risk difference", "risk differences", "bounded", unit_sd=1.0, symbol="RD"),
    Measure("SMD", "standardized mean difference, bias-corrected (Hedges' g)",
       "Standardized mean difference (Hedges' g)", "standardized mean differences (Hedges' g)", "bounded",
       unit_sd=2.0, empirical_tau_prior="rhodes2015", symbol="g"),
    Measure("SMDH", "standardized mean difference with heteroscedastic variances",
       "Standardized mean difference", "standardized mean differences", "bounded",
       unit_sd=2.0, empirical_tau_prior="rhodes2015", symbol="g"),
    Measure("MD", "raw mean difference", "Mean difference", "mean differences", "raw", symbol="MD"),
    Measure("ROM", "log ratio of means (response ratio)", "Log ratio of means", "log ratios of means", "log",
       "ratio of means", np.exp, symbol="log RoM"),
    Measure("COR", "raw correlation coefficient", "Correlation", "correlations", "bounded", unit_sd=1.0, symbol="r"),
    Measure("UCOR", "raw correlation coefficient, bias-corrected", "Correlation (bias-corrected)",
       "bias-corrected correlations", "bounded", unit_sd=1.0, symbol="r"),
    Measure("ZCOR", "Fisher r-to-z transformed correlation", "Fisher's z", "Fisher z-transformed correlations",
       "fisher-z", "correlation", np.tanh, 1.0, symbol="z"),
    Measure("PR", "raw proportion", "Proportion", "proportions", "bounded", symbol="p"),
    Measure("PLO", "logit transformed proportion (log odds)", "Log odds (proportion)", "logit proportions", "logit",
       "proportion", _expit, symbol="logit", counts=("binomial", ("xi", "ni"))),
    Measure("GEN", "generic effect size", "Effect size", "effect sizes", "raw"),
    # more escalc measures (metafor's names; computed in the modules of bayesma.effects)
    Measure("PHI", "phi coefficient", "Phi coefficient", "phi coefficients", "bounded", unit_sd=1.0),
    Measure("YUQ", "Yule's Q", "Yule's Q", "Yule's Q values", "bounded", unit_sd=1.0),
    Measure("YUY", "Yule's Y", "Yule's Y", "Yule's Y values", "bounded", unit_sd=1.0),
    Measure("AS", "arcsine square-root transformed risk difference", "Arcsine risk difference",
            "arcsine risk differences", "bounded"),
    Measure("PBIT", "probit transformed risk difference", "Probit difference", "probit differences", "raw"),
    Measure("OR2DN", "standardized mean difference from a log odds ratio (normal distribution)",
            "Standardized mean difference", "standardized mean differences", "bounded", unit_sd=2.0,
            empirical_tau_prior="rhodes2015",
            symbol="d",
            conversion=('d converted from log odds ratios assuming normal distributions (ln OR / 1.65; '
                        'Cox, 1970)')),
    Measure("OR2DL", "standardized mean difference from a log odds ratio (logistic distribution)",
            "Standardized mean difference", "standardized mean differences", "bounded", unit_sd=2.0,
            empirical_tau_prior="rhodes2015",
            symbol="d",
            conversion=('d converted from log odds ratios assuming logistic distributions (ln OR × √3/π; '
                        'Hasselblad & Hedges, 1995)')),
    Measure("OR2D", "standardized mean difference from a log odds ratio (logistic distribution; = OR2DL)",
            "Standardized mean difference", "standardized mean differences", "bounded", unit_sd=2.0,
            empirical_tau_prior="rhodes2015"),
    Measure("D2OR", "log odds ratio from a standardized mean difference (logistic distribution; = D2ORL)",
            "Log odds ratio", "log odds ratios", "log", "odds ratio", np.exp, 2.0),
    Measure("R2D", "standardized mean difference from a point-biserial correlation",
            "Standardized mean difference", "standardized mean differences", "bounded", unit_sd=2.0,
            empirical_tau_prior="rhodes2015",
            symbol="d",
            conversion=("Cohen's d converted from point-biserial correlations: r to d, Borenstein et al., "
                        '2009, eq. 7.5')),
    Measure("RPB", "point-biserial correlation", "Point-biserial correlation", "point-biserial correlations",
            "bounded", unit_sd=1.0, symbol="r"),
    Measure("RBIS", "biserial correlation", "Biserial correlation", "biserial correlations", "bounded",
            unit_sd=1.0),
    Measure("D2ORN", "log odds ratio from a standardized mean difference (normal distribution)",
            "Log odds ratio", "log odds ratios", "log", "odds ratio", np.exp, 2.0,
            symbol="log OR",
            conversion=('log odds ratios converted from standardized mean differences (d × 1.65; Cox, '
                        '1970)')),
    Measure("D2ORL", "log odds ratio from a standardized mean difference (logistic distribution)",
            "Log odds ratio", "log odds ratios", "log", "odds ratio", np.exp, 2.0,
            symbol="log OR",
            conversion=('log odds ratios converted from standardized mean differences (d × π/√3; '
                        'Hasselblad & Hedges, 1995)')),
    Measure("CVR", "log coefficient of variation ratio", "Log CV ratio", "log CV ratios", "log", "CV ratio",
            np.exp),
    Measure("VR", "log variability ratio (ratio of SDs)", "Log variability ratio", "log variability ratios", "log",
            "variability ratio", np.exp),
    Measure("MN", "raw mean", "Mean", "means", "raw"),
    Measure("MNLN", "log transformed mean", "Log mean", "log means", "log", "mean", np.exp),
    Measure("CVLN", "log coefficient of variation", "Log coefficient of variation", "log CVs", "log",
            "coefficient of variation", np.exp),
    Measure("SDLN", "log standard deviation", "Log standard deviation", "log standard deviations", "log",
            "standard deviation", np.exp),
    Measure("SMN", "standardized mean", "Standardized mean", "standardized means", "bounded"),
    Measure("MC", "raw mean change", "Mean change", "mean changes", "raw", symbol="MC"),
    Measure("SMCC", "standardized mean change (change-score standardization)", "Standardized mean change",
            "standardized mean changes", "bounded", symbol="d"),
    Measure("SMCR", "standardized mean change (raw-score standardization)", "Standardized mean change",
            "standardized mean changes", "bounded", symbol="d"),
    Measure("SMCRH", "standardized mean change (raw-score standardization, heteroscedastic)",
            "Standardized mean change", "standardized mean changes", "bounded", symbol="d"),
    Measure("ROMC", "log ratio of means (matched groups)", "Log ratio of means", "log ratios of means", "log",
            "ratio of means", np.exp),
    Measure("PCOR", "partial correlation", "Partial correlation", "partial correlations", "bounded",
            unit_sd=1.0, symbol="r"),
    Measure("ZPCOR", "Fisher r-to-z transformed partial correlation", "Fisher's z (partial correlation)",
            "Fisher z-transformed partial correlations", "fisher-z", "partial correlation", np.tanh, 1.0, symbol="z"),
    Measure("SPCOR", "semi-partial correlation", "Semi-partial correlation", "semi-partial correlations",
            "bounded", unit_sd=1.0),
    Measure("IRD", "incidence rate difference", "Incidence rate difference", "incidence rate differences", "raw"),
    Measure("IRSD", "square-root transformed incidence rate difference", "Square-root rate difference",
            "square-root rate differences", "raw"),
    Measure("PAS", "arcsine square-root transformed proportion", "Arcsine proportion", "arcsine proportions",
            "bounded"),
    Measure("PFT", "Freeman-Tukey double arcsine transformed proportion", "Freeman-Tukey proportion",
            "Freeman-Tukey proportions", "bounded"),
    # and the rest of metafor's list short of the tetrachoric correlation
    Measure("SMD1", "standardized mean difference scaled by the SD of group 2 (Glass's Delta)",
            "Standardized mean difference (Glass)", "standardized mean differences (Glass)", "bounded", unit_sd=2.0),
    Measure("SMD1H", "standardized mean difference scaled by the SD of group 2, heteroscedastic variances",
            "Standardized mean difference (Glass)", "standardized mean differences (Glass)", "bounded", unit_sd=2.0),
    Measure("PLN", "log transformed proportion", "Log proportion", "log proportions", "log", "proportion", np.exp),
    Measure("IR", "incidence rate", "Incidence rate", "incidence rates", "raw"),
    Measure("IRLN", "log incidence rate", "Log incidence rate", "log incidence rates", "log", "incidence rate",
            np.exp, counts=("poisson", ("xi", "ti"))),
    Measure("IRS", "square-root transformed incidence rate", "Square-root incidence rate",
            "square-root incidence rates", "raw"),
    Measure("IRFT", "Freeman-Tukey transformed incidence rate", "Freeman-Tukey incidence rate",
            "Freeman-Tukey incidence rates", "raw"),
    Measure("CVRC", "log CV ratio (matched groups)", "Log CV ratio", "log CV ratios", "log", "CV ratio", np.exp),
    Measure("VRC", "log variability ratio (matched groups)", "Log variability ratio", "log variability ratios", "log",
            "variability ratio", np.exp),
    Measure("MPRD", "risk difference of paired proportions", "Risk difference (paired)",
            "paired risk differences", "bounded", unit_sd=1.0),
    Measure("MPRR", "log risk ratio of paired proportions", "Log risk ratio (paired)", "paired log risk ratios",
            "log", "risk ratio", np.exp, 2.0),
    Measure("MPOR", "log odds ratio of paired proportions (marginal)", "Log odds ratio (paired)",
            "paired log odds ratios", "log", "odds ratio", np.exp, 2.0),
    Measure("MPORC", "log odds ratio of paired proportions (conditional)", "Log odds ratio (paired, conditional)",
            "paired conditional log odds ratios", "log", "odds ratio", np.exp, 2.0),
    Measure("MPPETO", "log odds ratio of paired proportions (Peto)", "Log odds ratio (paired, Peto)",
            "paired Peto log odds ratios", "log", "odds ratio", np.exp, 2.0),
    Measure("ARAW", "raw Cronbach's alpha", "Cronbach's alpha", "alphas", "bounded"),
    Measure("AHW", "transformed Cronbach's alpha (Hakstian & Whalen)", "Transformed alpha (Hakstian-Whalen)",
            "transformed alphas", "raw"),
    Measure("ABT", "transformed Cronbach's alpha (Bonett)", "Transformed alpha (Bonett)", "transformed alphas",
            "raw"),
    Measure("REH", "relative excess heterozygosity (log)", "Log relative excess heterozygosity",
            "log relative excess heterozygosities", "log", "relative excess heterozygosity", np.exp),
]

#: every known measure by name
MEASURES: dict[str, Measure] = {m.name: m for m in _ALL}

#: what ``measure=None`` means: a generic effect on an unknown scale
GENERIC = Measure("GEN", "generic effect size", "Effect size", "effect sizes", "raw")

# spellings metafor users write for the generic measure
_ALIASES = {"GENERIC": "GEN"}

# common names that are not measure names: suggested, never accepted silently
_HINTS = {"D": "SMD", "G": "SMD", "HEDGES": "SMD", "COHEN": "SMD", "R": "COR", "Z": "ZCOR",
          "LOGOR": "OR", "LOR": "OR", "LOGRR": "RR", "RRR": "RR"}


def names() -> list[str]:
    """The names of the known measures, in registry order."""
    return list(MEASURES)


def _known() -> str:
    return ", ".join(MEASURES)


def get(name: str | None) -> Measure:
    """The :class:`Measure` called *name* (case-insensitive); *None* gives :data:`GENERIC`.

    Parameters
    ----------
    name : str or None
        metafor's measure name, e.g. ``"OR"`` or ``"smd"``.

    Returns
    -------
    Measure

    Raises
    ------
    ValueError
        *name* is not a known measure; the message lists the known ones
        (``measure=None`` is the way to say "a generic effect size").
    TypeError
        *name* is not a string.

    Examples
    --------
    >>> get("zcor").back_label
    'correlation'
    >>> get(None).label
    'Effect size'
    """
    if name is None:
        return GENERIC
    if isinstance(name, Measure):
        return name
    if not isinstance(name, str):
        raise ArgumentTypeError(f"measure must be a string such as 'OR' or 'SMD' (or None), got {name!r}")
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    if key in MEASURES:
        return MEASURES[key]
    close = _HINTS.get(key) or next(iter(difflib.get_close_matches(key, list(MEASURES), n=1, cutoff=0.6)), None)
    hint = f" (did you mean {close!r}?)" if close else ""
    raise InputError(
        f"unknown effect measure {name!r}{hint}; known measures: {_known()} "
        "(bayesma.measures.MEASURES describes them); for effects on another scale give no measure "
        "(measure=None: a generic effect size)"
    )


def lookup(name: str | None) -> str | None:
    """The canonical name of *name* (``"smd"`` -> ``"SMD"``), *None* for None; ValueError if unknown."""
    return None if name is None else get(name).name


def label(name: str | None, default: str = "Effect size") -> str:
    """The axis label of *name*; *default* for None. Unknown names raise InputError."""
    return default if name is None else get(name).label


def back_transform_scalar(name: str | None, value: float) -> float | None:
    """*value* on the back-transformed scale of measure *name*, or None if it has none."""
    m = get(name)
    if m.back_transform is None:
        return None
    return float(m.back_transform(np.asarray(value, dtype=float)))

