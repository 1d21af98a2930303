"""rma_mv() against metafor's rma.mv on every rma_mv_V and che_rve case (the model part):
beta, se and the variance components within 1e-4 relative (metafor optimises numerically; our
logLik must then be >= metafor's - 1e-6), QE and QM, from tests/data/reference/
metafor_cases_v3.json and metafor_mv_more.json (made by metafor_mv_more.R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm

CASES = [c for f in ("metafor/metafor_cases_v3.json", "metafor/metafor_mv_more.json") for c in load_json(f)["cases"]
         if c["kind"] in ("rma_mv_V", "che_rve")]

DEFAULTS = {"berkey1998": ("~ outcome - 1", "~ outcome | trial"), "ishak2007": ("~ factor(time) - 1", "~ time | study")}


def fit_case(case: dict) -> bm.frequentist.RMAMVResult:
    """The rma_mv call of a reference case (its R call is in case['call'])."""
    inp = {k: v for k, v in case["input"].items() if k != "V"}
    df = pd.DataFrame(inp)
    mods, random = DEFAULTS.get(case["name"].split("_")[0], (None, None))
    mods = case.get("mods", mods)
    random = case.get("random", random)
    if case["kind"] == "che_rve":
        V = bm.vcalc("vi", cluster=case["cluster"], obs=case["obs"], rho=case["rho"], data=df)
        random = random or f"~ 1 | {case['cluster']}/{case['obs']}"
    elif "V" in case["input"]:
        V = np.array(case["input"]["V"], dtype=float)  # metafor's V as a dense matrix
    else:
        V = "vi"
    sigma2 = case.get("sigma2_fixed")
    if case["kind"] != "che_rve" and "obs" in case:  # a CHE model fitted with fixed components
        V = bm.vcalc("vi", cluster=case["cluster"], obs=case["obs"], rho=case["rho"], data=df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma_mv("yi", V, mods=mods, random=random, struct=case.get("struct", "CS"), data=df,
                         method=case.get("method", "REML"), test=case.get("test", "z"), sigma2=sigma2)


def expected(case: dict) -> dict:
    return case["expect"]["model"] if case["kind"] == "che_rve" else case["expect"]


def _components(res, e) -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    for name in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        got = np.atleast_1d(getattr(res, name))
        want = np.atleast_1d(np.asarray(e[name], dtype=float))
        if len(got) == 0:
            assert np.all(want == 0), f"{name}: metafor has {want}, we have none"
            continue
        out.append((name, got, want))
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_rma_mv_matches_metafor(case):
    res = fit_case(case)
    e = expected(case)
    assert res.logLik >= e["logLik"] - 1e-6, (res.logLik, e["logLik"])
    np.testing.assert_allclose(res.beta, np.atleast_1d(e["beta"]), rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(res.se, np.atleast_1d(e["se"]), rtol=1e-4)
    np.testing.assert_allclose(res.vb, np.atleast_2d(e["vb"]), rtol=2e-4, atol=1e-10)
    for name, got, want in _components(res, e):
        scale = max(np.max(np.abs(want)), 1e-8) if name in ("sigma2", "tau2", "gamma2") else 1.0
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale, err_msg=name)
    np.testing.assert_allclose(res.QE, e["QE"], rtol=1e-8)
    np.testing.assert_allclose(res.QM, e["QM"], rtol=1e-4)
    np.testing.assert_allclose(res.zval, np.atleast_1d(e["zval"]), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(res.ci_lb, np.atleast_1d(e["ci_lb"]), rtol=1e-4, atol=1e-6)
