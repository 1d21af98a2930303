"""Influence diagnostics of rma_mv fits (cooks_distance, dfbetas, hatvalues, rstandard, rstudent)
against metafor 3.8.1's ``*.rma.mv`` methods (metafor_mv_influence.R / .json beside it).

Three models: the three-level model of dat.konstantopoulos2011 (cluster = district), the CHE
model of dat.assink2016 with V from vcalc(rho = 0.6) (cluster = study; also an ML fit with
``~ deltype + year``, where deleting study 16 leaves the ``deltypecovert`` coefficient
inestimable: metafor's NA, our NaN) and the UN model across two outcomes of dat.berkey1998
(cluster = trial); with and without ``cluster=``, with ``reestimate=True`` and ``False``.

Tolerances: the full fits' formulas (hat values, rstandard, and every diagnostic with
``reestimate=False``) to rtol 1e-6 (1e-4 and an absolute 2e-6 for the UN model, whose full fit
metafor optimises numerically: its estimates differ from ours in the 6th digit, our logLik being
higher by 7e-11).
With ``reestimate=True`` metafor re-optimises each deleted fit numerically: rtol 1e-4, with an
absolute 2e-6 for values near zero (a DFBETAS of 4e-5 differs by 4e-7); each of our deleted fits
has a log likelihood at least metafor's - 1e-6 (the largest gain is 7e-12).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.frequentist.mv.deletion import _clusters, refit_without

CASES = load_json("metafor/metafor_mv_influence.json")["cases"]
NAMES = [c["name"] for c in CASES]


def _fit(case: dict) -> bm.frequentist.mv.result.RMAMVResult:
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    name = case["name"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.startswith("konstantopoulos"):
            return bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=df)
        if name.startswith("assink"):
            V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
            return bm.rma_mv("yi", V, mods=case.get("mods"), random="~ 1 | study/esid",
                             method=case.get("method", "REML"), data=df)
        return bm.rma_mv("yi", np.array(case["input"]["V"]), mods="~ outcome - 1", random="~ outcome | trial",
                         struct="UN", data=df)


@pytest.fixture(scope="module")
def fits() -> dict:
    return {c["name"]: _fit(c) for c in CASES}


def _case(name: str) -> dict:
    return CASES[NAMES.index(name)]


def _close(actual, expected, rtol: float, atol: float = 0.0) -> None:
    a = np.asarray(actual, dtype=float)
    b = np.asarray(expected, dtype=float).reshape(a.shape)  # JSON null -> NaN
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _rtol(name: str) -> float:
    return 1e-4 if name.startswith("berkey") else 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_full_fit_matches_metafor(fits, name):
    res, case = fits[name], _case(name)
    assert res.logLik >= case["model"]["logLik"] - 1e-6
    _close(res.beta, case["model"]["beta"], rtol=_rtol(name))


@pytest.mark.parametrize("name", NAMES)
def test_hatvalues_and_rstandard_match_metafor(fits, name):
    res, e = fits[name], _case(name)["expect"]
    cl, rtol = _case(name)["cluster"], _rtol(name)
    _close(bm.hatvalues(res), e["hat"], rtol)
    r = bm.rstandard(res)
    assert r.cluster is None
    for col in ("resid", "se", "z"):
        _close(r.obs[col], e["rstandard"][col], rtol, 1e-12)
    rc = bm.rstandard(res, cluster=cl)
    for col in ("resid", "se", "z"):
        _close(rc.obs[col], e["rstandard_cluster"]["obs"][col], rtol, 1e-12)
    _close(rc.cluster["X2"], e["rstandard_cluster"]["cluster"]["X2"], rtol)
    _close(rc.cluster["k"], e["rstandard_cluster"]["cluster"]["k"], 0)
    assert [str(v) for v in rc.cluster.index] == e["rstandard_cluster"]["cluster"]["ids"]


def _tols(name: str, reestimate: bool) -> tuple[float, float]:
    if reestimate or name.startswith("berkey"):
        return 1e-4, 2e-6
    return 1e-6, 1e-9


@pytest.mark.parametrize("reestimate", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_cluster_deletion_matches_metafor(fits, name, reestimate):
    res, case = fits[name], _case(name)
    E = case["expect"]["reestimate" if reestimate else "fixed"]["cluster"]
    rtol, atol = _tols(name, reestimate)
    cd = bm.cooks_distance(res, cluster=case["cluster"], reestimate=reestimate)
    assert [str(v) for v in cd.index] == E["ids"]
    _close(cd, E["cooks"], rtol, atol)
    dfb = bm.dfbetas(res, cluster=case["cluster"], reestimate=reestimate)
    assert list(dfb.columns) == list(res.coef_names)
    _close(dfb, E["dfbetas"], rtol, atol)
    rt = bm.rstudent(res, cluster=case["cluster"], reestimate=reestimate)
    for col in ("resid", "se", "z"):
        _close(rt.obs[col], E["rstudent_obs"][col], rtol, atol)
    _close(rt.cluster["X2"], E["rstudent_cluster"]["X2"], rtol, atol)
    assert [str(v) for v in rt.cluster.index] == E["rstudent_cluster"]["ids"]


@pytest.mark.parametrize("reestimate", [pytest.param(True, marks=pytest.mark.slow), False])
@pytest.mark.parametrize("name", NAMES)
def test_effect_deletion_matches_metafor(fits, name, reestimate):
    res, case = fits[name], _case(name)
    E = case["expect"]["reestimate" if reestimate else "fixed"]["obs"]
    rtol, atol = _tols(name, reestimate)
    cd = bm.cooks_distance(res, reestimate=reestimate)
    assert list(cd.index) == list(res.data.labels)
    _close(cd, E["cooks"], rtol, atol)
    _close(bm.dfbetas(res, reestimate=reestimate), E["dfbetas"], rtol, atol)
    rt = bm.rstudent(res, reestimate=reestimate)
    assert rt.cluster is None
    for col in ("resid", "se", "z"):
        _close(rt.obs[col], E["rstudent"][col], rtol, atol)


@pytest.mark.parametrize("name", NAMES)
def test_each_refit_likelihood_is_at_least_metafors(fits, name):
    """Each fit without a cluster reaches metafor's log likelihood (rma.mv(subset=) started at the full
    fit's estimates), and the same coefficients."""
    res, case = fits[name], _case(name)
    cl = _clusters(res, case["cluster"], "test")
    compared = 0
    for ref, rows in zip(case["deleted"], cl.rows):
        keep = np.ones(res.k, dtype=bool)
        keep[rows] = False
        fit = refit_without(res, keep)
        if fit is None or not ref["ok"]:  # a coefficient inestimable without this cluster
            continue
        compared += 1
        assert fit.ll >= ref["logLik"] - 1e-6
        np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-4, atol=1e-6)
    assert compared >= len(cl.ids) - 1


def test_refit_without_a_cluster_is_rma_mv_on_the_rest(fits):
    """The deleted fit is the model fitted directly to the data without that cluster (REML and a UN struct)."""
    case = _case("berkey1998_UN")
    res = fits["berkey1998_UN"]
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    V = np.array(case["input"]["V"])
    keep = (df["trial"] != 3).to_numpy()
    direct = bm.rma_mv("yi", V[np.ix_(keep, keep)], mods="~ outcome - 1", random="~ outcome | trial", struct="UN",
                       data=df[keep].reset_index(drop=True))
    fit = refit_without(res, keep)
    assert fit.ll >= direct.logLik - 1e-9
    np.testing.assert_allclose(fit.beta, direct.beta, rtol=1e-5)
    np.testing.assert_allclose(fit.theta, direct.theta, rtol=1e-4)
    res3 = fits["konstantopoulos2011_three_level"]
    df3 = pd.DataFrame(_case("konstantopoulos2011_three_level")["input"])
    keep3 = (df3["district"] != 71).to_numpy()
    direct3 = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=df3[keep3])
    fit3 = refit_without(res3, keep3)
    np.testing.assert_allclose(fit3.ll, direct3.logLik, rtol=1e-10)
    np.testing.assert_allclose(fit3.beta, direct3.beta, rtol=1e-7)
    # an array of clusters is the column
    by_array = bm.cooks_distance(res3, cluster=df3["district"].to_numpy(), reestimate=False)
    np.testing.assert_array_equal(by_array.to_numpy(), bm.cooks_distance(res3, cluster="district",
                                                                          reestimate=False).to_numpy())


def test_bad_input_is_a_typed_error(fits):
    res = fits["konstantopoulos2011_three_level"]
    uni = bm.rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.015])
    for fun in (bm.cooks_distance, bm.dfbetas, bm.hatvalues, bm.rstandard, bm.rstudent):
        with pytest.raises(bm.ArgumentTypeError, match="bm.influence"):
            fun(uni)
    with pytest.raises(bm.InputError, match="not a column"):
        bm.cooks_distance(res, cluster="county")
    with pytest.raises(bm.InputError, match="56 effects"):
        bm.rstudent(res, cluster=[1, 2, 3])
    clusters = pd.DataFrame(_case("konstantopoulos2011_three_level")["input"])["district"].astype(object)
    clusters.iloc[4] = None
    with pytest.raises(bm.InputError, match="row 5") as err:
        bm.dfbetas(res, cluster=clusters.to_numpy())
    assert err.value.row == 5


def test_results_print_and_summarise(fits):
    res = fits["konstantopoulos2011_three_level"]
    r = bm.rstudent(res, cluster="district", reestimate=False)
    text = repr(r)
    assert "rstudent" in text and "By cluster" in text and "held" in text
    assert r.summary().equals(r.cluster)
    with pytest.raises(Exception):
        r.kind = "x"  # immutable
