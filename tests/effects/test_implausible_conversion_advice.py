"""The warning on an implausible standardized difference gives advice that fits the input: for d converted
from a correlation (R2D) the correlation, not 'the sd columns' the data do not have."""

from __future__ import annotations

import pytest

import bayesma as bm
from bayesma.errors import DataWarning


def test_r2d_names_the_correlation():
    with pytest.warns(DataWarning, match=r"row 2: 44\.7.*point-biserial correlations") as rec:
        bm.escalc("R2D", ri=[0.2, 0.999, -0.1], ni=[50, 60, 70])
    assert all("sd columns" not in str(w.message) for w in rec)


def test_smd_still_names_the_sd_columns():
    with pytest.warns(DataWarning, match="sd columns hold standard deviations"):
        bm.escalc("SMD", m1i=[10.0], sd1i=[0.5], n1i=[20], m2i=[1.0], sd2i=[0.5], n2i=[20])
