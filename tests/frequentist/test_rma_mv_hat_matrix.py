"""The hat matrix of rma_mv fits, ``hatvalues(res, type="matrix")``, against metafor 3.8.1's
``hatvalues.rma.mv(type = "matrix")`` (metafor_mv_hat.R / .json beside it): a three-level model
(also with two effects dropped for missing values), a CHE model with V from vcalc (REML, and ML
with moderators) and a UN model across two outcomes.

Tolerances: rtol 1e-6 (1e-4 for the UN model, whose estimates metafor optimises numerically; its
logLik is checked to be at most ours + 1e-6), with an absolute 1e-10 for the entries that are 0 up
to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm

CASES = load_json("metafor/metafor_mv_hat.json")["cases"]
NAMES = [c["name"] for c in CASES]


def _fit(case: dict):
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    name = case["name"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.startswith("konstantopoulos"):
            return bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=df, missing="drop")
        if name.startswith("assink"):
            V = bm.vcalc("vi", cluster="study", obs="esid", rho=case["rho"], data=df)
            return bm.rma_mv("yi", V, mods=case.get("mods"), random="~ 1 | study/esid",
                             method=case.get("method", "REML"), data=df)
        return bm.rma_mv("yi", np.array(case["input"]["V"]), mods="~ outcome - 1", random="~ outcome | trial",
                         struct="UN", data=df)


@pytest.fixture(scope="module")
def fits() -> dict:
    return {c["name"]: _fit(c) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=NAMES)
def test_hat_matrix_matches_metafor(fits, case):
    res = fits[case["name"]]
    rtol = 1e-4 if case["name"].startswith("berkey") else 1e-6
    assert res.logLik >= case["model"]["logLik"] - 1e-6
    H = bm.hatvalues(res, type="matrix")
    expected = np.array(case["expect"]["matrix"], dtype=float)
    assert H.shape == expected.shape == (res.k, res.k)
    np.testing.assert_allclose(H.to_numpy(), expected, rtol=rtol, atol=1e-10)
    assert [str(v) for v in H.index] == case["expect"]["labels"]
    assert list(H.columns) == list(H.index)
    np.testing.assert_allclose(bm.hatvalues(res, type="diagonal"), case["expect"]["diagonal"], rtol=rtol)


def test_hat_matrix_is_a_projection_onto_the_design(fits):
    """H X = X and H H = H: the fitted values of the model are H y (an identity metafor's output also obeys)."""
    res = fits["assink2016_che_rho06_deltype_year_ML"]
    H = bm.hatvalues(res, type="matrix").to_numpy()
    np.testing.assert_allclose(H @ res.X, res.X, atol=1e-9)
    np.testing.assert_allclose(H @ H, H, atol=1e-9)
    np.testing.assert_allclose(H @ res.yi, res.X @ res.beta, atol=1e-9)
    np.testing.assert_allclose(np.trace(H), res.p, rtol=1e-10)


def test_hat_matrix_of_the_fitted_effects_only(fits):
    res = fits["konstantopoulos2011_three_level_two_missing"]
    H = bm.hatvalues(res, type="matrix")
    assert H.shape == (54, 54)
    assert "3" not in [str(v) for v in H.index] and "20" not in [str(v) for v in H.index]


def test_hatvalues_type_is_checked(fits):
    res = fits["konstantopoulos2011_three_level"]
    for bad in ("full", "Matrix", 1, None):
        with pytest.raises(bm.ArgumentTypeError, match="type="):
            bm.hatvalues(res, type=bad)
