"""compare_frequentist of dependent-effects fits: rma_mv with the same V and structure beside the posterior."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "metafor" / "metafor_cases_v3.json"


def _case(name: str) -> dict:
    return {c["name"]: c for c in json.loads(REF.read_text())["cases"]}[name]


@pytest.fixture(scope="module")
def che():
    dat = bm.load_dataset("dat.assink2016")
    post = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", rho=0.6).fit(engine="exact", seed=1)
    return dat, post, post.compare_frequentist()


def _rma_mv_che(dat: pd.DataFrame, method: str):
    V = bm.vcalc(vi="vi", cluster="study", obs="esid", rho=0.6, data=dat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma_mv(dat["yi"].to_numpy(), V, random="~ 1 | study/esid", data=dat, method=method)


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_che_rows_equal_rma_mv_with_the_same_v(che, method):
    dat, _, tab = che
    res = _rma_mv_che(dat, method)
    row = tab.loc[(method, "mu")]
    np.testing.assert_allclose(row[["estimate", "ci_lb", "ci_ub"]].to_numpy(dtype=float),
                               [res.beta[0], res.ci_lb[0], res.ci_ub[0]], rtol=1e-6)
    np.testing.assert_allclose(row[["tau", "tau_within"]].to_numpy(dtype=float), np.sqrt(res.sigma2[:2]), rtol=1e-6)


def test_che_cr2_row_is_clubsandwich_interval_of_reml(che):
    dat, _, tab = che
    rob = bm.robust(_rma_mv_che(dat, "REML"), cluster=dat["study"].to_numpy(), clubSandwich=True)
    row = tab.loc[("REML+CR2", "mu")]
    np.testing.assert_allclose([row["ci_lb"], row["ci_ub"]], [rob.ci_lb[0], rob.ci_ub[0]], rtol=1e-6)
    assert row["ci_ub"] - row["ci_lb"] != pytest.approx(tab.loc[("REML", "mu"), "ci_ub"] - tab.loc[("REML", "mu"), "ci_lb"])


def test_che_posterior_row_and_no_univariate_rows(che):
    _, post, tab = che
    s = post.summary()
    row = tab.loc[("Bayesian (exact)", "mu")]
    np.testing.assert_allclose(row[["estimate", "ci_lb", "ci_ub"]].to_numpy(dtype=float),
                               s.loc["mu", ["median", "eti_lower", "eti_upper"]].to_numpy(dtype=float))
    np.testing.assert_allclose([row["tau"], row["tau_within"]], s.loc[["tau", "tau_within"], "median"].to_numpy(dtype=float))
    # the univariate rma (independent errors) is not a counterpart of a model with a V
    assert set(tab.index.get_level_values("method")) == {"ML", "REML", "REML+CR2", "Bayesian (exact)"}


def test_cs_across_outcomes_reml_row_equals_metafor():
    case = _case("berkey1998_CS")
    inp = dict(case["input"])
    V = np.array(inp.pop("V"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(pd.DataFrame(inp), yi="yi", V=V, cluster="trial", outcome="outcome",
                               struct="CS").fit(engine="exact", seed=1)
    tab = post.compare_frequentist()
    exp = case["expect"]
    reml = tab.loc["REML"].loc[["mu[AL]", "mu[PD]"]]  # metafor's outcomeAL, outcomePD
    np.testing.assert_allclose(reml["estimate"], exp["beta"], rtol=1e-4)
    np.testing.assert_allclose(reml["ci_lb"], exp["ci_lb"], rtol=1e-4)
    np.testing.assert_allclose(reml["ci_ub"], exp["ci_ub"], rtol=1e-4)
    np.testing.assert_allclose(reml["tau"], np.sqrt(exp["tau2"]), rtol=1e-4)
    np.testing.assert_allclose(reml["rho"], exp["rho"], rtol=1e-4)
    s = post.summary()
    bayes = tab.loc["Bayesian (exact)"].loc[["mu[AL]", "mu[PD]"]]
    np.testing.assert_allclose(bayes["estimate"], s.loc[["mu[AL]", "mu[PD]"], "median"])
    assert {"ML", "REML+CR2"} <= set(tab.index.get_level_values("method"))


def test_report_names_the_che_model_and_its_counterpart(che):
    dat, post, tab = che
    text = post.report()
    first = next(p for p in text.split("\n\n") if p.startswith("We meta-analysed"))
    assert "correlated and hierarchical effects (CHE), rho = 0.6" in first
    assert "three-level" not in first
    res = _rma_mv_che(dat, "REML")
    rob = bm.robust(res, cluster=dat["study"].to_numpy(), clubSandwich=True)
    assert f"mu = {res.beta[0]:.2f}, 95% CI [{res.ci_lb[0]:.2f}, {res.ci_ub[0]:.2f}]" in first
    assert f"CR2 cluster-robust [{rob.ci_lb[0]:.2f}, {rob.ci_ub[0]:.2f}]" in first


def test_report_names_the_multivariate_cs_model():
    case = _case("berkey1998_CS")
    inp = dict(case["input"])
    V = np.array(inp.pop("V"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(pd.DataFrame(inp), yi="yi", V=V, cluster="trial", outcome="outcome",
                               struct="CS").fit(engine="exact", seed=1)
        text = post.report()
    first = next(p for p in text.split("\n\n") if p.startswith("We meta-analysed"))
    assert "multivariate across outcomes, CS" in first
    b = case["expect"]["beta"]
    assert f"mu[AL] = {b[0]:.2f}" in first and f"mu[PD] = {b[1]:.2f}" in first


def test_che_meta_regression_rows_equal_rma_mv_with_the_same_v():
    dat = bm.load_dataset("dat.assink2016")
    post = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", rho=0.6, mods="~ year").fit(engine="exact", seed=1)
    tab = post.compare_frequentist()
    V = bm.vcalc(vi="vi", cluster="study", obs="esid", rho=0.6, data=dat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma_mv(dat["yi"].to_numpy(), V, mods="~ year", random="~ 1 | study/esid", data=dat)
    reml = tab.loc["REML"].loc[["beta[intrcpt]", "beta[year]"]]
    np.testing.assert_allclose(reml["estimate"], res.beta, rtol=1e-6)
    np.testing.assert_allclose(reml["ci_lb"], res.ci_lb, rtol=1e-6)
    np.testing.assert_allclose(reml["tau_within"], np.sqrt(res.sigma2[1]), rtol=1e-6)
