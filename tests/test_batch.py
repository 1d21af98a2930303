"""fit_many: one meta-analysis per group equals fitting each group alone; failures stay in their row;
serial and Dask (LocalCluster, two worker processes) give the same numbers."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

POST = ["mean", "sd", "median", "eti_lower", "eti_upper"]


@pytest.fixture(scope="module")
def hackshaw():
    """Passive smoking (log OR), grouped by design (2 groups) and country (9 groups, some k = 1-2)."""
    return bm.load_dataset("dat.hackshaw1998")


@pytest.fixture(scope="module")
def bcg():
    dat = bm.load_dataset("dat.bcg")
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    es["study"] = es["author"] + " " + es["year"].astype(str)
    return es


def _alone(sub, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(sub, **kw).fit(engine="exact", seed=1)


@pytest.mark.parametrize("by", ["design", "country"])
def test_vectorised_exact_equals_each_group_alone(hackshaw, by):
    many = bm.fit_many(hackshaw, by=by, labels="study", measure="OR", seed=1)
    assert many.settings["n_vectorised"] >= 2
    assert (many.groups["error"] == "").all()
    for key, sub in hackshaw.groupby(by):
        post = _alone(sub, labels="study", measure="OR")
        names = [n for n in ("mu", "tau", "theta_new")]
        mine = many.table.loc[key].loc[names, POST].to_numpy(float)
        ref = post.summary().loc[names, POST].to_numpy(float)
        scale = post.summary().loc["mu", "sd"]
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-8 * scale)
        assert many.groups.loc[key, "k"] == len(sub)
        assert many.groups.loc[key, "p_mu_positive"] == pytest.approx(post.p_greater("mu", 0.0), abs=1e-8)


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_frequentist_columns_are_rma(hackshaw, method):
    many = bm.fit_many(hackshaw, by="design", measure="OR", method=method, seed=1)
    for key, sub in hackshaw.groupby("design"):
        res = bm.rma("yi", "vi", data=sub, method=method)
        fe = bm.rma("yi", "vi", data=sub, method="FE")
        g = many.groups.loc[key]
        tol = 2e-3 if method == "PM" else 1e-8  # metafor stops PM's root search at uniroot's tolerance (1.2e-4)
        assert g["RE"] == pytest.approx(res.beta[0], rel=tol)
        assert g["RE_lower"] == pytest.approx(res.ci_lb[0], rel=tol)
        assert g["tau2"] == pytest.approx(res.tau2, rel=tol, abs=1.2e-4 if method == "PM" else 1e-12)
        assert g["I2"] == pytest.approx(res.I2, rel=tol, abs=1e-10)
        assert g["H2"] == pytest.approx(res.H2, rel=tol)
        assert g["Q"] == pytest.approx(res.QE, rel=1e-10)
        assert g["Q_p"] == pytest.approx(res.QEp, rel=1e-8)
        assert g["pi_lower"] == pytest.approx(res.pi_lb, rel=tol)
        assert g["FE"] == pytest.approx(fe.beta[0], rel=1e-10)
        assert g["FE_upper"] == pytest.approx(fe.ci_ub[0], rel=1e-10)
        # Q-profile bounds: metafor's uniroot stops at tol 1.2e-4; the batch solves to machine precision
        assert g["tau2_upper"] == pytest.approx(res.tau2_ci[1], rel=1e-3)


def test_meta_regressions_equal_each_group_alone(bcg):
    many = bm.fit_many(bcg, by="alloc", labels="study", measure="RR", mods="~ ablat",
                       priors={"mu": "normal(0, 1)", "beta": "normal(0, 1)"}, seed=1)
    assert many.settings["n_vectorised"] == 3  # the vectorised meta-regressions (tests/test_batch_regression.py)
    for key, sub in bcg.groupby("alloc"):
        if key == "alternate":  # two studies and two coefficients: still fits (priors make it proper)
            pass
        post = _alone(sub, labels="study", measure="RR", mods="~ ablat",
                      priors={"mu": "normal(0, 1)", "beta": "normal(0, 1)"})
        s = post.summary()
        rows = [r for r in s.index if not r.startswith("theta[")]
        np.testing.assert_allclose(many.table.loc[key].loc[rows, POST].to_numpy(float),
                                   s.loc[rows, POST].to_numpy(float), rtol=1e-10)


def test_a_bad_group_is_recorded_and_the_rest_goes_on(hackshaw):
    bad = hackshaw.copy()
    row = int(np.flatnonzero(bad["design"] == "cohort")[1])
    bad.loc[bad.index[row], "vi"] = -0.1
    many = bm.fit_many(bad, by="design", labels="study", measure="OR", seed=1)
    err = many.groups.loc["cohort", "error"]
    assert "negative" in err or "positive" in err
    assert bad.loc[bad.index[row], "study"].astype(str) in err if hasattr(bad.loc[bad.index[row], "study"], "astype") \
        else str(bad.loc[bad.index[row], "study"]) in err
    assert "vi" in err
    assert many.groups.loc["case-control", "error"] == ""
    assert np.isfinite(many.groups.loc["case-control", "mu_mean"])
    assert list(many.errors.index) == ["cohort"]
    with pytest.raises(ValueError, match="cohort"):
        many.fit("cohort")


def test_single_study_group_and_small_k_notes(hackshaw):
    many = bm.fit_many(hackshaw, by="country", labels="study", measure="OR", seed=1)
    sizes = hackshaw["country"].value_counts()
    one = sizes[sizes == 1].index
    assert len(one) >= 1
    for key in one:
        assert many.groups.loc[key, "error"] == ""
        assert many.groups.loc[key, "k"] == 1
        res = bm.rma("yi", "vi", data=hackshaw[hackshaw["country"] == key])  # metafor: tau2 = 0, z-interval
        g = many.groups.loc[key]
        assert (g["RE"], g["RE_lower"], g["pi_upper"], g["I2"], g["Q_p"]) == pytest.approx(
            (res.beta[0], res.ci_lb[0], res.pi_ub, res.I2, res.QEp), rel=1e-12)
    small = sizes[(sizes > 1) & (sizes < 5)].index
    for key in small:
        assert "prior on tau" in many.groups.loc[key, "warnings"]


def test_fit_returns_the_groups_posterior(hackshaw):
    many = bm.fit_many(hackshaw, by="design", labels="study", measure="OR", seed=3)
    post = many.fit("cohort")
    assert post.summary().loc["mu", "mean"] == pytest.approx(many.table.loc[("cohort", "mu"), "mean"], abs=1e-8)
    seeds = bm.fit_many(hackshaw, by="design", labels="study", measure="OR", seed=3).groups["seed"]
    pd.testing.assert_series_equal(seeds, many.groups["seed"])


def test_input_errors(hackshaw):
    with pytest.raises(ValueError, match="nosuch"):
        bm.fit_many(hackshaw, by="nosuch")
    with pytest.raises(ValueError, match="engine"):
        bm.fit_many(hackshaw, by="design", engine="gibbs")
    with pytest.raises(TypeError, match="seed"):
        bm.fit_many(hackshaw, by="design", seed=1.5)
    gap = hackshaw.copy()
    gap["design"] = gap["design"].astype(object)
    gap.loc[gap.index[4], "design"] = None
    with pytest.raises(ValueError, match=r"row\(s\) \[5\]"):
        bm.fit_many(gap, by="design")
    with pytest.raises(TypeError, match="executor"):
        bm.fit_many(hackshaw, by="design", executor="threads")


def test_two_by_columns(bcg):
    bcg = bcg.assign(era=np.where(bcg["year"] < 1950, "early", "late"))
    many = bm.fit_many(bcg, by=["alloc", "era"], labels="study", measure="RR", seed=1)
    assert many.groups.index.names == ["alloc", "era"]
    assert int(many.groups["k"].sum()) == len(bcg)
    for key, sub in bcg.groupby(["alloc", "era"]):
        assert many.groups.loc[key, "k"] == len(sub)


def test_thread_pool_equals_serial(bcg):
    args = dict(by="alloc", labels="study", measure="RR", mods="~ ablat",
                priors={"mu": "normal(0, 1)", "beta": "normal(0, 1)"})
    serial = bm.fit_many(bcg, seed=1, **args)
    with ThreadPoolExecutor(2) as ex:
        pooled = bm.fit_many(bcg, executor=ex, seed=1, **args)
    pd.testing.assert_frame_equal(serial.table, pooled.table)


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(bcg):
    distributed = pytest.importorskip("distributed")
    args = dict(by="alloc", labels="study", measure="RR", mods="~ ablat",
                priors={"mu": "normal(0, 1)", "beta": "normal(0, 1)"})
    sim_args = dict(k=[3], tau=[0.3], n_sim=400, seed=7, chunk_size=100, progress=False)
    serial = bm.fit_many(bcg, seed=1, **args)
    sim_serial = bm.small_k_simulation(**sim_args)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        on_dask = bm.fit_many(bcg, executor=client, seed=1, **args)
        sim_dask = bm.small_k_simulation(executor=client, **sim_args)
    pd.testing.assert_frame_equal(serial.table, on_dask.table)
    pd.testing.assert_frame_equal(sim_serial.table, sim_dask.table)


@pytest.mark.parametrize("by", ["design", "country"])
def test_data_scaled_default_priors_run_vectorised_and_equal_each_group_alone(hackshaw, by):
    """Without a measure each group's default priors are scaled from its own data; the vectorised
    path rescales each group by its tau prior's scale and must give each group's own posterior."""
    hackshaw = hackshaw.copy()
    hackshaw.attrs = {}  # the dataset records measure OR, which fit_many (as MetaAnalysis) would use
    many = bm.fit_many(hackshaw, by=by, labels="study", seed=1)
    sizes = hackshaw.groupby(by).size()
    assert many.settings["n_vectorised"] == int((sizes >= 2).sum())
    assert many.settings["priors"].startswith("resolved per group")
    for key, sub in hackshaw.groupby(by):
        if len(sub) < 2:
            continue
        assert many.groups.loc[key, "engine"] == "exact (vectorised)"
        post = _alone(sub, labels="study")
        names = ["mu", "tau", "theta_new"]
        mine = many.table.loc[key].loc[names, POST].to_numpy(float)
        ref = post.summary().loc[names, POST].to_numpy(float)
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-8 * post.summary().loc["mu", "sd"])
        assert many.groups.loc[key, "p_mu_positive"] == pytest.approx(post.p_greater("mu", 0.0), abs=1e-8)
        assert post.spec.priors["tau"].short() in many.groups.loc[key, "warnings"] or len(sub) >= 5


def test_the_measure_recorded_on_the_frame_is_used_as_by_metaanalysis(hackshaw):
    assert hackshaw.attrs.get("measure") == "OR"
    recorded = bm.fit_many(hackshaw, by="design", labels="study", seed=1)
    given = bm.fit_many(hackshaw, by="design", labels="study", measure="OR", seed=1)
    pd.testing.assert_frame_equal(recorded.table, given.table)
    assert recorded.settings["priors"] == "shared"


def test_fit_many_says_why_groups_were_fitted_one_by_one():
    rng = np.random.default_rng(4)
    sizes = np.array([3, 4, 5])
    vi = rng.uniform(0.02, 0.2, sizes.sum())
    dat = pd.DataFrame({"review": np.repeat(np.arange(3), sizes), "yi": rng.normal(0.2, 0.4, sizes.sum()),
                        "vi": vi, "x": rng.normal(size=sizes.sum())})
    reg = bm.fit_many(dat, by="review", mods="~ x", priors={"beta": bm.priors.Flat()}, seed=1)
    assert "0 vectorised, 3 fitted one by one (3 with coefficient priors that are not Normal" in " ".join(repr(reg).split())  # wrapped
    plain = bm.fit_many(dat, by="review", seed=1)
    assert "3 vectorised, 0 fitted one by one;" in " ".join(repr(plain).split())
