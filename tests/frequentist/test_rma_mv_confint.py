"""Profile-likelihood intervals of the variance components of rma_mv against metafor 3.8.1.

metafor_cases_v2.json (kind rma.mv.confint) holds metafor's printed bounds, found by
``uniroot`` with its default tolerance eps^0.25 = 1.2e-4 (absolute): they can be off by that
much, i.e. up to ~7e-4 relative for the small lower bounds, so the v2 case is checked to that
absolute tolerance (and its upper bounds and estimates to rtol 1e-4). metafor_toolbox.json
holds the same intervals with a tolerance of 1e-12 (ML and REML, with and without a
moderator): those are checked to rtol 1e-6.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

REF = REFERENCE_DIR
V2 = json.loads((REF / "metafor/metafor_cases_v2.json").read_text())["cases"]
TB = json.loads((REF / "metafor/metafor_toolbox.json").read_text())["cases"]
METAFOR_UNIROOT_TOL = np.finfo(float).eps ** 0.25


def fit(case):
    i = case["input"]
    df = pd.DataFrame({"yi": i["yi"], "vi": i["vi"], "cl": i.get("study") or i.get("district"),
                       "lab": i.get("id") or i.get("school"), **({"year": i["year"]} if "year" in i else {})})
    return bm.rma_mv("yi", "vi", data=df, cluster="cl", labels="lab", method=case.get("method", "REML"),
                     mods=case.get("mods"))


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in V2 if c["kind"] == "rma.mv.confint"])
def test_profile_intervals_match_metafor_printout(case):
    res = fit(case)
    ci = res.confint()
    e = case["expect"]
    np.testing.assert_allclose(res.sigma2, e["sigma2"], rtol=1e-6)
    for j, key in enumerate(("sigma2_1_ci", "sigma2_2_ci")):
        got = ci.iloc[j][["ci_lb", "ci_ub"]].to_numpy(float)
        np.testing.assert_allclose(got, e[key], rtol=0, atol=METAFOR_UNIROOT_TOL)
        np.testing.assert_allclose(got[1], e[key][1], rtol=1e-4)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in TB if c["kind"] == "rma.mv.confint"])
def test_profile_intervals_match_metafor_tight(case):
    res = fit(case)
    ci = res.confint()
    e = case["expect"]
    np.testing.assert_allclose(res.sigma2, e["sigma2"], rtol=1e-6)
    for j, key in enumerate(("sigma2_1_ci", "sigma2_2_ci")):
        np.testing.assert_allclose(ci.iloc[j][["ci_lb", "ci_ub"]].to_numpy(float), e[key], rtol=1e-6)
    np.testing.assert_allclose(ci.loc["sigma.1", "ci_lb"] ** 2, ci.loc["sigma^2.1", "ci_lb"], rtol=1e-12)
    assert not ci["ub_reached"].any()


def test_profile_interval_lower_bound_at_zero():
    # a within-cluster variance estimated at 0: the interval starts at 0
    df = pd.DataFrame({"yi": [0.1, 0.12, 0.5, 0.52, -0.2, -0.21, 0.3, 0.31], "vi": [0.01] * 8,
                       "cl": list("aabbccdd")})
    res = bm.rma_mv("yi", "vi", data=df, cluster="cl")
    ci = res.confint()
    assert res.sigma2[1] == 0 and ci.loc["sigma^2.2", "ci_lb"] == 0
    assert ci.loc["sigma^2.1", "ci_lb"] < res.sigma2[0] < ci.loc["sigma^2.1", "ci_ub"]
