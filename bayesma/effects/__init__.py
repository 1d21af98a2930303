"""Effect sizes, their sampling variances, and conversions between effect measures.

:func:`escalc` follows R's ``metafor::escalc`` (measure names, argument names,
zero-cell correction, variance types) and reproduces its numbers; the
``convert_<from>_to_<to>`` functions implement the conversions between
standardized mean differences (d), correlations (r), Fisher's z and log odds
ratios of Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to
Meta-Analysis*, chapter 7; :func:`aggregate` combines dependent effects of one
study (chapter 24; metafor's ``aggregate.escalc``).

Modules: :mod:`~bayesma.effects.compute` (``escalc``: checks the input, dispatches to the
measure's module, builds the table), one module per input type holding its measures
(:mod:`~bayesma.effects.two_by_two`, :mod:`~bayesma.effects.means`,
:mod:`~bayesma.effects.single_group` (one group's mean or SD), :mod:`~bayesma.effects.change`
(pre-post and matched designs), :mod:`~bayesma.effects.correlations`,
:mod:`~bayesma.effects.proportions`, :mod:`~bayesma.effects.rates`,
:mod:`~bayesma.effects.reliability` (Cronbach's alpha; heterozygosity)),
:mod:`~bayesma.effects.convert` (the conversions), :mod:`~bayesma.effects.statistics` (t, F
and p statistics to d and r), :mod:`~bayesma.effects.published` (``conv_wald``: estimates with
a CI or p-value; ``conv_delta``: delta-method transforms), :mod:`~bayesma.effects.fivenum`
(``conv_fivenum``: means and SDs from medians, quartiles, ranges) and
:mod:`~bayesma.effects.aggregation` (``aggregate``). The names, labels and scales of the measures are in the one registry,
:mod:`bayesma.measures`.

Examples
--------
>>> import bayesma as bm
>>> es = bm.escalc("ZCOR", ri=[0.3, 0.1], ni=[50, 120])
>>> es.round(4)
       yi      vi
0  0.3095  0.0213
1  0.1003  0.0085
"""

from __future__ import annotations

from bayesma.effects.aggregation import aggregate
from bayesma.effects.compute import MEASURES, escalc
from bayesma.effects.convert import (
    convert_d_to_logor,
    convert_d_to_r,
    convert_d_to_z,
    convert_logor_to_d,
    convert_logor_to_r,
    convert_r_to_d,
    convert_r_to_logor,
    convert_r_to_z,
    convert_z_to_d,
    convert_z_to_r,
)
from bayesma.effects.fivenum import conv_fivenum
from bayesma.effects.published import conv_delta, conv_wald
from bayesma.effects.statistics import (
    convert_f_to_d,
    convert_f_to_r,
    convert_p_to_t,
    convert_t_to_d,
    convert_t_to_r,
)

__all__ = [
    "MEASURES",
    "aggregate",
    "conv_delta",
    "conv_fivenum",
    "conv_wald",
    "convert_f_to_d",
    "convert_f_to_r",
    "convert_p_to_t",
    "convert_t_to_d",
    "convert_t_to_r",
    "convert_d_to_logor",
    "convert_d_to_r",
    "convert_d_to_z",
    "convert_logor_to_d",
    "convert_logor_to_r",
    "convert_r_to_d",
    "convert_r_to_logor",
    "convert_r_to_z",
    "convert_z_to_d",
    "convert_z_to_r",
    "escalc",
]
