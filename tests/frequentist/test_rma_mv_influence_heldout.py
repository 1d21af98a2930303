"""Influence diagnostics of rma_mv fits on held-out data and options, against metafor 3.8.1
(metafor_mv_influence_heldout.R / .json beside it): a three-level model with a moderator and
``test="t"`` (dat.crede2010; ``btt=`` for Cook's distance), one random term with clusters of a
higher level, two random terms with clusters of a lower level (samples within studies), rows with a missing yi (dat.bornmann2007; ``cluster=`` of the data's length, as
metafor), ``~ outcome | study`` with struct CS and HCS (dat.kalaian1996), two random terms, and an
AR struct over time (dat.ishak2007, ML).

Tolerances: the full fit's formulas (hat values, rstandard, the diagnostics with
``reestimate=False``) to rtol 1e-6; with ``reestimate=True`` metafor re-optimises each deleted fit
numerically: rtol 1e-4 (absolute 2e-6 near zero), and each of our deleted fits reaches metafor's log
likelihood - 1e-6. Where metafor optimises the full fit numerically (structured terms) all to 1e-4.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.frequentist.mv.deletion import _clusters, refit_without

CASES = load_json("metafor/metafor_mv_influence_heldout.json")["cases"]
NAMES = [c["name"] for c in CASES]
BY_NAME = dict(zip(NAMES, CASES))


def _frame(case: dict) -> pd.DataFrame:
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    df["yi"] = df["yi"].astype(float)  # JSON null -> NaN
    return df


def _fit(case: dict):
    df = _frame(case)
    V = np.array(case["input"]["V"]) if "V" in case["input"] else "vi"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma_mv("yi", V, mods=case.get("mods"), random=case["random"], struct=case.get("struct", "CS"),
                         method=case.get("method", "REML"), test=case.get("test", "z"), data=df)


@pytest.fixture(scope="module")
def fits() -> dict:
    return {c["name"]: _fit(c) for c in CASES}


def _close(actual, expected, rtol: float, atol: float = 0.0) -> None:
    a = np.asarray(actual, dtype=float)
    b = np.asarray(expected, dtype=float).reshape(a.shape)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _numeric(name: str) -> bool:
    """metafor optimises the full fit numerically (a structured term): compare to 1e-4."""
    return "struct" in BY_NAME[name]


def _by_id(values, ids_ours, ids_ref) -> np.ndarray:
    """Our per-cluster values in the reference's order of clusters (R sorts strings by locale)."""
    pos = {str(v): i for i, v in enumerate(ids_ours)}
    assert sorted(pos) == sorted(ids_ref)
    a = np.asarray(values, dtype=float)
    return a[[pos[i] for i in ids_ref]]


@pytest.mark.parametrize("name", NAMES)
def test_full_fit_matches_metafor(fits, name):
    res, m = fits[name], BY_NAME[name]["model"]
    assert res.logLik >= m["logLik"] - 1e-6
    _close(res.beta, m["beta"], rtol=1e-4 if _numeric(name) else 1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_hatvalues_and_rstandard_match_metafor(fits, name):
    res, case = fits[name], BY_NAME[name]
    e = case["expect"]
    rtol, atol = (1e-4, 2e-6) if _numeric(name) else (1e-6, 1e-12)
    _close(bm.hatvalues(res), e["hat"], rtol, atol)
    r = bm.rstandard(res)
    for col in ("resid", "se", "z"):
        _close(r.obs[col], e["rstandard"][col], rtol, atol)
    rc = bm.rstandard(res, cluster=case["cluster"])
    for col in ("resid", "se", "z"):
        _close(rc.obs[col], e["rstandard_cluster"]["obs"][col], rtol, atol)
    ref = e["rstandard_cluster"]["cluster"]
    _close(_by_id(rc.cluster["X2"], rc.cluster.index, ref["ids"]), ref["X2"], rtol)
    _close(_by_id(rc.cluster["k"], rc.cluster.index, ref["ids"]), ref["k"], 0)


# the re-estimated deletions refit the model once per cluster and diagnostic: two cases in the fast
# tier (the refits of every case are also checked, once each, by the log-likelihood test below)
FAST_REESTIMATE = ("crede2010_three_level_t", "bornmann2007_na", "kalaian1996_two_terms")
DELETION_CASES = [(n, False) for n in NAMES] + [
    pytest.param(n, True, marks=() if n in FAST_REESTIMATE else pytest.mark.slow) for n in NAMES]


@pytest.mark.parametrize(("name", "reestimate"), DELETION_CASES)
def test_cluster_deletion_matches_metafor(fits, name, reestimate):
    res, case = fits[name], BY_NAME[name]
    E = case["expect"]["reestimate" if reestimate else "fixed"]["cluster"]
    if reestimate and all(v is None for v in E["cooks"]):
        # the two-term kalaian model has rho = -1 (a boundary): metafor's refits, started there,
        # all fail (NA); ours are fitted (compared with rma_mv on the subset in the next tests)
        assert name == "kalaian1996_two_terms" and not any(d["ok"] for d in case["deleted"])
        assert np.isfinite(bm.cooks_distance(res, cluster=case["cluster"]).to_numpy()).all()
        return
    rtol, atol = (1e-4, 2e-6) if (reestimate or _numeric(name)) else (1e-6, 1e-9)
    cd = bm.cooks_distance(res, cluster=case["cluster"], reestimate=reestimate)
    ids = E["ids"]
    _close(_by_id(cd, cd.index, ids), E["cooks"], rtol, atol)
    if "cooks_btt" in E:
        cdb = bm.cooks_distance(res, cluster=case["cluster"], reestimate=reestimate, btt=case["btt"])
        _close(_by_id(cdb, cdb.index, ids), E["cooks_btt"], rtol, atol)
    if E["dfbetas"] is not None:  # metafor's dfbetas fails where a refit drops a component's level
        dfb = bm.dfbetas(res, cluster=case["cluster"], reestimate=reestimate)
        pos = {str(v): i for i, v in enumerate(dfb.index)}
        _close(dfb.to_numpy()[[pos[i] for i in ids]], E["dfbetas"], rtol, atol)
    rt = bm.rstudent(res, cluster=case["cluster"], reestimate=reestimate)
    for col in ("resid", "se", "z"):
        _close(rt.obs[col], E["rstudent_obs"][col], rtol, atol)
    ref = E["rstudent_cluster"]
    _close(_by_id(rt.cluster["X2"], rt.cluster.index, ref["ids"]), ref["X2"], rtol, atol)


@pytest.mark.parametrize("name", NAMES)
def test_effect_deletion_with_components_held_matches_metafor(fits, name):
    res, E = fits[name], BY_NAME[name]["expect"]["fixed"]["obs"]
    rtol, atol = (1e-4, 2e-6) if _numeric(name) else (1e-6, 1e-9)
    _close(bm.cooks_distance(res, reestimate=False), E["cooks"], rtol, atol)
    _close(bm.dfbetas(res, reestimate=False), E["dfbetas"], rtol, atol)
    rt = bm.rstudent(res, reestimate=False)
    for col in ("resid", "se", "z"):
        _close(rt.obs[col], E["rstudent"][col], rtol, atol)


@pytest.mark.parametrize("name", NAMES)
def test_each_refit_likelihood_is_at_least_metafors(fits, name):
    res, case = fits[name], BY_NAME[name]
    cl = _clusters(res, case["cluster"], "test")
    pos = {str(v): i for i, v in enumerate(cl.ids)}
    compared = 0
    if name == "kalaian1996_two_terms":  # metafor's refits fail (above): each is rma_mv on the subset
        df, V = _frame(case), np.array(case["input"]["V"])
        for study in ("Reynolds & Oberman", "FTC", "Whitla"):
            keep = (df["study"] != study).to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                direct = bm.rma_mv("yi", V[np.ix_(keep, keep)], mods=case["mods"], random=case["random"],
                                   struct="CS", data=df[keep])
            fit = refit_without(res, keep)
            assert fit.ll >= direct.logLik - 1e-6
            np.testing.assert_allclose(fit.beta, direct.beta, rtol=1e-4, atol=2e-6)
        return
    for ref in case["deleted"]:
        if not ref["ok"]:
            continue
        keep = np.ones(res.k, dtype=bool)
        keep[cl.rows[pos[ref["id"]]]] = False
        fit = refit_without(res, keep)
        assert fit is not None, ref["id"]
        compared += 1
        assert fit.ll >= ref["logLik"] - 1e-6, ref["id"]
        np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-4, atol=2e-6)
    assert compared >= 10


def test_clusters_of_a_higher_level_than_the_random_terms(fits):
    """cluster = ets (two levels) for a model with two random terms (~ 1 | id, ~ outcome | study)."""
    res, E = fits["kalaian1996_two_terms"], BY_NAME["kalaian1996_two_terms"]["expect_ets"]
    ets = _frame(BY_NAME["kalaian1996_two_terms"])["ets"].to_numpy()
    cdf = bm.cooks_distance(res, cluster=ets, reestimate=False)
    _close(_by_id(cdf, cdf.index, E["ids"]), E["cooks_fixed"], 1e-4, 2e-6)
    assert E["cooks"] == [None, None]  # metafor's refits from rho = -1 fail (see above)
    assert bm.cooks_distance(res, cluster="ets").notna().all()
    # studies nested in ets: one cluster of ets deletes the same rows as its studies together
    df = _frame(BY_NAME["kalaian1996_two_terms"])
    by_study = _clusters(res, "study", "test")
    by_ets = _clusters(res, "ets", "test")
    for rows, level in zip(by_ets.rows, by_ets.ids):
        studies = set(df.loc[rows, "study"])
        assert sorted(np.concatenate([r for r, s in zip(by_study.rows, by_study.ids) if s in studies])) == list(rows)
        assert set(df.loc[df["ets"] == level, "study"]) == studies


def test_cluster_of_the_datas_length_with_dropped_rows_is_metafors():
    """Rows with a missing yi are dropped by the fit; cluster= then takes one value per row of the
    data (metafor's length; the fitted length is also accepted) and the results are those of the
    column."""
    case = BY_NAME["bornmann2007_na"]
    df = _frame(case)
    with pytest.warns(bm.errors.MissingDataWarning):
        res = bm.rma_mv("yi", "vi", mods="~ type", random="~ 1 | study/obs", data=df)
    assert res.k == len(df) - 2 and res.not_na is not None and int(res.not_na.sum()) == res.k
    by_column = bm.cooks_distance(res, cluster="study", reestimate=False)
    by_data_rows = bm.cooks_distance(res, cluster=df["study"].to_numpy(), reestimate=False)
    by_fit_rows = bm.cooks_distance(res, cluster=df["study"][df["yi"].notna()].to_numpy(), reestimate=False)
    pd.testing.assert_series_equal(by_data_rows, by_column, check_names=False, check_index_type=False)
    pd.testing.assert_series_equal(by_fit_rows, by_column, check_names=False, check_index_type=False)
    E = case["expect"]["fixed"]["cluster"]
    _close(_by_id(by_data_rows, by_data_rows.index, E["ids"]), E["cooks"], 1e-6, 1e-9)
    rt = bm.rstudent(res, cluster=df["study"].to_numpy(), reestimate=False)
    _close(rt.obs["z"], E["rstudent_obs"]["z"], 1e-6, 1e-9)
    # a missing cluster value, also on a dropped row, is an error (as metafor), naming the data's row
    assert case["na_cluster_on_dropped_row_error"]
    bad = df["study"].astype(object).to_numpy().copy()
    bad[4] = None
    with pytest.raises(bm.InputError, match="row 5 of the data") as err:
        bm.dfbetas(res, cluster=bad)
    assert err.value.row == 5
    with pytest.raises(bm.InputError, match="66"):
        bm.rstandard(res, cluster=df["study"].to_numpy()[:10])


def test_residuals_print_the_cluster_table_first(fits):
    r = bm.rstudent(fits["crede2010_three_level_t"], cluster="studyid", reestimate=False)
    text = repr(r)
    assert text.index("By cluster:") < text.index("By effect (.obs, 97 rows)")
    assert "held" in text and "X2" in text


def test_cluster_of_the_datas_length_for_the_three_level_call_with_dropped_rows():
    """rma_mv(yi, vi, cluster=, missing="drop") also takes cluster= in the data's rows."""
    case = BY_NAME["crede2010_three_level_t"]
    df = _frame(case)
    df.loc[[3, 40], "yi"] = np.nan
    with pytest.warns(bm.errors.MissingDataWarning):
        res = bm.rma_mv("yi", "vi", cluster="studyid", data=df, missing="drop")
    assert res.k == 95 and int(res.not_na.sum()) == 95 and not res.not_na[[3, 40]].any()
    pd.testing.assert_series_equal(bm.cooks_distance(res, cluster=df["studyid"].to_numpy(), reestimate=False),
                                   bm.cooks_distance(res, cluster="studyid", reestimate=False),
                                   check_names=False, check_index_type=False)
