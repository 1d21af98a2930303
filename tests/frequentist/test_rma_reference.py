"""Every rma case of tests/data/reference/metafor/metafor_cases.json, to rtol 1e-6.

The expected numbers are metafor 3.8.1's (R 4.2.2), never computed by bayesma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases

import bayesma as bm

RTOL = 1e-6
ATOL = 0.0  # exact zeros (tau2 = 0) must come out as exact zeros

CASES = [c for c in load_cases() if c["kind"] == "rma"]

SCALAR_FIELDS = ["tau2", "se_tau2", "I2", "H2", "QE", "QEp", "QM", "QMp", "R2", "pi_lb", "pi_ub", "dfs", "k"]
VECTOR_FIELDS = ["beta", "se", "ci_lb", "ci_ub", "stat", "pval"]
INTERVAL_FIELDS = ["tau2_ci", "I2_ci"]


def _fit(case):
    inp = case["input"]
    data = pd.DataFrame(inp)
    mods = case.get("mods")
    return bm.rma("yi", "vi", data=data, method=case["method"], test=case["test"], mods=mods)


@pytest.fixture(scope="module")
def fits():
    return {c["name"]: _fit(c) for c in CASES}


def _pairs():
    for case in CASES:
        for key in case["expect"]:
            yield pytest.param(case, key, id=f"{case['name']}-{key}")


@pytest.mark.parametrize("case,key", list(_pairs()))
def test_matches_metafor(fits, case, key):
    res = fits[case["name"]]
    expected = case["expect"][key]
    actual = getattr(res, key)
    if key == "coef_names":
        expected = [expected] if isinstance(expected, str) else expected
        assert list(actual) == expected
        return
    if expected is None:
        assert actual is None, f"{key}: metafor gives no value, bayesma gives {actual}"
        return
    np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, dtype=float)),
                               np.atleast_1d(np.asarray(expected, dtype=float)),
                               rtol=RTOL, atol=ATOL, err_msg=f"{case['name']}: {key}")


def test_every_rma_case_is_checked():
    assert len(CASES) >= 30
    assert {c["method"] for c in CASES} >= {"FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"}
