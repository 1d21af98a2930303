"""Effect sizes, their sampling variances, and conversions between effect measures.

:func:`escalc` follows R's ``metafor::escalc`` (measure names, argument names,
zero-cell correction, variance types) and reproduces its numbers; the
``convert_<from>_to_<to>`` functions implement the conversions between
standardized mean differences (d), correlations (r), Fisher's z and log odds
ratios of Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to
Meta-Analysis*, chapter 7; :func:`aggregate` combines dependent effects of one
study (chapter 24; metafor's ``aggregate.escalc``).

Modules: :mod:`~bayesma.effects.escalc` (the measures table and ``escalc``),
:mod:`~bayesma.effects.families` (the computations per family of measures),
:mod:`~bayesma.effects.convert` (the conversions), :mod:`~bayesma.effects.aggregate`.

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

from bayesma.effects.aggregate import aggregate
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
from bayesma.effects.escalc import MEASURES, escalc

__all__ = [
    "MEASURES",
    "aggregate",
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
