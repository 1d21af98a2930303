"""escalc flags standardized mean differences beyond |5| (raw-unit or variance columns), naming the study."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm


def test_an_implausible_smd_is_flagged_naming_the_study():
    from bayesma.errors import DataWarning

    with pytest.warns(DataWarning, match=r"implausible standardized mean difference.*study 'B' \(row 2\)"):
        bm.escalc("SMD", m1i=[10.0, 300.0], sd1i=[20.0, 1.0], n1i=[20, 20], m2i=[8.0, 0.0], sd2i=[20.0, 1.0],
                  n2i=[20, 20], slab=["A", "B"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        bm.escalc("SMD", m1i=[10.0], sd1i=[20.0], n1i=[20], m2i=[8.0], sd2i=[20.0], n2i=[20])
