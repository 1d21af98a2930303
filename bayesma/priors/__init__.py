"""Prior distributions for Bayesian meta-analysis.

A prior is a small immutable object with a family name and ordered
hyperparameters.  It knows its own density (numpy/scipy, for the exact
quadrature engine), how to draw from itself, and how to create itself as a
PyMC random variable (imported only when :meth:`Prior.pymc` is called, so
``import bayesma.priors`` stays cheap).

Families and their *target* (the parameter they are meant for):

- ``"location"`` (mu, beta): :class:`Normal`, :class:`StudentT`, :class:`Cauchy`
- ``"tau"`` (on tau): :class:`HalfNormal`, :class:`HalfCauchy`, :class:`HalfStudentT`,
  :class:`Exponential`, :class:`Uniform`
- ``"tau2"`` (on tau^2): :class:`LogNormal`, :class:`LogStudentT`, :class:`InverseGamma`
- ``"nu"`` (Student-t degrees of freedom, nu > 0): :class:`Gamma`

Priors of target ``"tau"`` and ``"tau2"`` are *heterogeneity priors*.  The
model parameter is always tau; a tau^2 prior's :meth:`~Prior.logpdf` is the
density of tau^2 and :meth:`~Prior.logpdf_tau` the density it implies for tau
(Jacobian included).

Also here: :func:`parse` (prior specs as strings, used by the CLI),
:func:`unit_information_sd` and :func:`default_priors` (defaults per effect
measure), the named presets :func:`preset` / :func:`presets` (psychology: RoBMA's
``InvGamma(1, 0.15)`` on tau; medicine: :func:`turner2015` and :func:`rhodes2015`),
and :func:`describe`.

Examples
--------
>>> from bayesma import priors
>>> p = priors.HalfNormal(0.5)
>>> p
HalfNormal(sigma=0.5)
>>> priors.parse("halfnormal(0.5)") == p
True
>>> round(float(p.ppf_tau(0.5)), 4)
0.3372
>>> priors.default_priors("OR")["tau"]
HalfNormal(sigma=0.5)
"""

from __future__ import annotations

from bayesma.priors.base import Prior, squared_name
from bayesma.priors.correlation import LKJ, UniformCorrelation
from bayesma.priors.defaults import (
    RAW_MEASURES,
    UNIT_INFORMATION_SD,
    default_priors,
    sensitivity_tau_priors,
    unit_information_sd,
)
from bayesma.priors.empirical import rhodes2015, rhodes2015_table, turner2015, turner2015_table
from bayesma.priors.families import (
    FAMILIES,
    Cauchy,
    Exponential,
    Gamma,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    InverseGamma,
    InverseGammaTau,
    LogNormal,
    LogStudentT,
    Normal,
    StudentT,
    Uniform,
)
from bayesma.priors.improper import Flat, HalfFlat, check_propriety, is_improper
from bayesma.priors.named import PRESETS, preset, presets
from bayesma.priors.parsing import as_prior, describe, parse
from bayesma.priors.reference import DuMouchel, Jeffreys, UniformShrinkage

__all__ = ["LKJ", "UniformCorrelation", 
    "Prior",
    "Flat",
    "HalfFlat",
    "DuMouchel",
    "UniformShrinkage",
    "Jeffreys",
    "check_propriety",
    "is_improper",
    "Normal",
    "StudentT",
    "Cauchy",
    "HalfNormal",
    "HalfCauchy",
    "HalfStudentT",
    "Exponential",
    "Uniform",
    "LogNormal",
    "LogStudentT",
    "InverseGamma",
    "InverseGammaTau",
    "Gamma",
    "preset",
    "presets",
    "PRESETS",
    "parse",
    "as_prior",
    "squared_name",
    "unit_information_sd",
    "default_priors",
    "sensitivity_tau_priors",
    "turner2015",
    "rhodes2015",
    "turner2015_table",
    "rhodes2015_table",
    "describe",
    "FAMILIES",
    "UNIT_INFORMATION_SD",
    "RAW_MEASURES",
]

