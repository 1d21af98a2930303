"""Cluster-robust inference (robust, coef_test, wald_test) against metafor 3.8.1 and clubSandwich 0.5.8.

Two kinds of reference cases:

* fits bayesma makes itself (rma, the three-level rma_mv): the whole path, fit + sandwich, is
  compared with R (tests/data/reference/clubsandwich/clubsandwich_rve.json and the robust_uni cases);
* CHE and multivariate fits with a V matrix (metafor_cases_v3.json, metafor_mv_more.json): the
  working model is metafor's fitted one, rebuilt here from its printed estimates (V from the
  reference or from vcalc's formula, the variance components, beta), so the sandwich, the
  Satterthwaite df and the HTZ test are checked on their own at 1e-6.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json
from scipy import sparse

import bayesma as bm
from bayesma.design import design_matrix
from bayesma.frequentist.rve import coef_test, robust, wald_test

RTOL = 1e-6
V3 = load_json("metafor/metafor_cases_v3.json")["cases"]
MORE = load_json("metafor/metafor_mv_more.json")["cases"]
OURS = load_json("clubsandwich/clubsandwich_rve.json")["cases"]


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol,
                               atol=1e-12)


# ---------------------------------------------------------------------------------------------
# metafor's fitted working model, rebuilt from the reference (for fits with a V matrix)


def _same(values):
    v = np.asarray(values, dtype=object).astype(str)
    return v[:, None] == v[None, :]


def _vcalc_obs(vi, cluster, rho):
    """metafor's vcalc(vi, cluster, obs, rho) when every obs differs within a cluster."""
    sd = np.sqrt(vi)
    same = _same(cluster)
    return np.where(same, rho * np.outer(sd, sd), 0.0) + np.diag((1 - rho) * vi)


def _struct_G(df, model):
    """Z G Z' of random = ~ outcome | study for metafor's CS, HCS and DIAG estimates."""
    same_study, same_out = _same(df["study"]), _same(df["outcome"])
    levels = sorted(df["outcome"].unique())
    tau2 = np.broadcast_to(np.asarray(model["tau2"], dtype=float), (len(levels),))
    t = tau2[[levels.index(o) for o in df["outcome"]]]
    cor = np.where(same_out, 1.0, float(np.atleast_1d(model["rho"])[0]))
    return np.where(same_study, cor * np.sqrt(np.outer(t, t)), 0.0)


def metafor_fit(case):
    """A stand-in for metafor's fitted model: X, yi, beta and the marginal covariance V + ZGZ'."""
    df = pd.DataFrame(case["input"]).drop(columns=["V"], errors="ignore")
    expect = case["expect"]
    model = expect.get("model", expect)
    mods = case.get("mods")
    needed = ["yi", "vi"] + ([] if not mods else [c for c in df.columns if c in mods.replace("~", " ").split()])
    keep = df[needed].notna().all(axis=1).to_numpy()
    df = df[keep].reset_index(drop=True)
    k = len(df)
    if "V" in case["input"]:
        V = np.asarray(case["input"]["V"], dtype=float)[np.ix_(keep, keep)]
    elif "V" in expect:
        V = np.asarray(expect["V"], dtype=float)
    else:
        V = _vcalc_obs(df["vi"].to_numpy(), df[case["cluster"]], case["rho"])
    if case["kind"] == "che_rve":
        cl = df[case["cluster"]]
        s1, s2 = model["sigma2"]
        M = V + s1 * _same(cl) + s2 * np.eye(k)
    else:
        M = V + _struct_G(df, model)
    if mods:
        X, names = design_matrix(mods, df, k, None)
    else:
        X, names = np.ones((k, 1)), ["intrcpt"]
    # bayesma names a no-intercept factor's columns outcome[dropout], metafor outcomedropout
    assert [n.replace("[", "").replace("]", "") for n in names] == list(np.atleast_1d(model["coef_names"]))
    intercept = names[0] == "intrcpt"
    return SimpleNamespace(
        X=X, yi=df["yi"].to_numpy(float), beta=np.atleast_1d(np.asarray(model["beta"], dtype=float)),
        coef_names=names, btt=list(range(1, len(names))) if intercept and len(names) > 1 else list(range(len(names))),
        level=0.95, data=SimpleNamespace(data=df, labels=None, cluster=None),
        marginal_vcov=lambda: sparse.csr_matrix(M),
    )


def _cluster(case):
    return case.get("cluster", "study")


V_CASES = [c for c in V3 + MORE if c["kind"] == "che_rve" or (c["kind"] == "rma_mv_V" and "robust_cr2" in c["expect"])]


def _check_robust(rob, exp, rtol=RTOL):
    for name in ("se", "tval", "df", "pval", "ci_lb", "ci_ub", "QM", "QMp"):
        actual = np.asarray(getattr(rob, name), dtype=float)
        expected = np.asarray(exp[name], dtype=float)
        close(actual if expected.ndim else actual.ravel()[0] if actual.size == 1 or name == "df" else actual,
              np.broadcast_to(expected, actual.shape) if expected.ndim == 0 and actual.ndim else expected, rtol)
    close(rob.QMdf, exp["QMdf"], rtol)
    close(rob.vb, np.atleast_2d(np.asarray(exp["vb"], dtype=float)), rtol)


@pytest.mark.parametrize("case", V_CASES, ids=lambda c: c["name"])
def test_cr2_with_satterthwaite_df_equals_clubsandwich(case):
    fit = metafor_fit(case)
    rob = robust(fit, cluster=_cluster(case), clubSandwich=True)
    _check_robust(rob, case["expect"]["robust_cr2"])
    close(rob.beta, case["expect"]["robust_cr2"]["beta"])


@pytest.mark.parametrize("case", [c for c in V_CASES if "robust_cr1" in c["expect"]], ids=lambda c: c["name"])
def test_cr1_equals_metafor_robust(case):
    fit = metafor_fit(case)
    _check_robust(robust(fit, cluster=_cluster(case)), case["expect"]["robust_cr1"])
    if "robust_cr1_noadjust" in case["expect"]:
        _check_robust(robust(fit, cluster=_cluster(case), adjust=False), case["expect"]["robust_cr1_noadjust"])


def _coef_cases(cases):
    out = []
    for c in cases:
        tests = c["expect"].get("coef_tests") or ([dict(c["expect"]["coef_test"], vcov="CR2")]
                                                  if "coef_test" in c["expect"] else [])
        out += [(c, t) for t in tests]
    return out


@pytest.mark.parametrize(("case", "exp"), _coef_cases(V_CASES), ids=lambda x: x["name"] if "name" in x else x["vcov"])
def test_coef_test_equals_clubsandwich(case, exp):
    if case["name"] == "assink2016_che_ML_deltype_year" and exp["vcov"] == "CR3":
        # study 16 alone determines a coefficient: I - H_jj has condition number 2e16, and
        # clubSandwich's CR3 (1.40 for the intercept's SE, against 0.099 with CR2) is rounding error
        with pytest.raises(ValueError, match="CR3 is undefined here: I - H_jj of cluster '16' is singular"):
            coef_test(metafor_fit(case), vcov="CR3", cluster="study")
        return
    table = coef_test(metafor_fit(case), vcov=exp["vcov"], cluster=_cluster(case))
    close(table["SE"], exp["se"])
    close(table["tstat"], exp["tstat"])
    close(table["df_Satt"], exp["df"])
    close(table["p_Satt"], exp["pval"])


def _wald_cases(cases):
    out = []
    for c in cases:
        e = c["expect"]
        if "wald_htz" in e:
            out.append((c, dict(e["wald_htz"], vcov="CR2", test="HTZ")))
        out += [(c, w) for w in e.get("wald", [])]
    return out


@pytest.mark.parametrize(("case", "exp"), _wald_cases(V_CASES), ids=lambda x: x["name"] if "name" in x else x["test"])
def test_wald_test_equals_clubsandwich(case, exp):
    fit = metafor_fit(case)
    coefs = [fit.coef_names[i - 1] for i in np.atleast_1d(exp["coefs"])]  # by name
    table = wald_test(fit, constraints=coefs, vcov=exp["vcov"], cluster=_cluster(case), test=exp["test"])
    row = table.loc[exp["test"]]
    close(row["Fstat"], exp["Fstat"])
    close(row["df_num"], exp["df_num"])
    if exp["df_denom"] is not None:
        close(row["df_denom"], exp["df_denom"])
    close(row["p_val"], exp["pval"])
    by_index = wald_test(fit, constraints=[int(i) for i in np.atleast_1d(exp["coefs"])], vcov=exp["vcov"],
                         cluster=_cluster(case), test=exp["test"])
    close(by_index["Fstat"], table["Fstat"], 1e-14)


# ---------------------------------------------------------------------------------------------
# bayesma's own fits (rma, three-level rma_mv) end to end: fit + sandwich against R


def _own_fit(case):
    df = pd.DataFrame(case["input"])
    if case["kind"] == "uni" or case["kind"] == "robust_uni":
        return bm.rma("yi", "vi", data=df, mods=case.get("mods"), test=case.get("test", "z")), df
    inner = "school" if "school" in df else "esid"
    return bm.rma_mv("yi", "vi", data=df, cluster=case["cluster"], labels=inner, mods=case.get("mods")), df


def _robust_uni_cases():
    return [c for c in V3 + MORE if c["kind"] == "robust_uni"]


@pytest.mark.parametrize("case", OURS, ids=lambda c: c["name"])
def test_robust_on_bayesma_fits_equals_metafor(case):
    res, _ = _own_fit(case)
    close(res.beta, case["expect"]["beta"], 1e-7)  # the fit itself agrees with metafor first
    e = case["expect"]
    _check_robust(robust(res, cluster=case["cluster"], clubSandwich=True), e["robust_cr2"])
    _check_robust(robust(res, cluster=case["cluster"]), e["robust_cr1"] if case.get("test") != "knha"
                  else next(c for c in OURS if c["name"] == "bcg_uni_ablat_z")["expect"]["robust_cr1"])
    if "robust_cr0" in e:
        _check_robust(robust(res, cluster=case["cluster"], adjust=False), e["robust_cr0"])


@pytest.mark.parametrize("case", OURS, ids=lambda c: c["name"])
def test_coef_test_all_types_on_bayesma_fits(case):
    res, _ = _own_fit(case)
    for exp in case["expect"]["coef_tests"]:
        table = coef_test(res, vcov=exp["vcov"], cluster=case["cluster"], test="All")
        close(table["SE"], exp["se"])
        close(table["df_Satt"], exp["df_Satt"])
        for col in ("p_Satt", "p_z", "p_t", "p_tp"):
            close(table[col], exp[col])
    assert {e["vcov"] for e in case["expect"]["coef_tests"]} >= {"CR0", "CR1", "CR1p", "CR1S", "CR2"}


@pytest.mark.parametrize("case", [c for c in OURS if "wald" in c["expect"]], ids=lambda c: c["name"])
def test_wald_tests_on_bayesma_fits(case):
    res, _ = _own_fit(case)
    for exp in case["expect"]["wald"]:
        coefs = [int(i) for i in np.atleast_1d(exp["coefs"])]  # numbered from 1, as clubSandwich
        table = wald_test(res, constraints=coefs, vcov=exp["vcov"], cluster=case["cluster"], test="All")
        for i, name in enumerate(exp["test"]):
            row = table.loc[name]
            for col in ("Fstat", "delta", "df_num", "p_val"):
                close(row[col], np.atleast_1d(exp[col])[i])
            denom = np.atleast_1d(exp["df_denom"])[i]
            close(row["df_denom"], np.inf if denom is None else denom)


def test_assink_cr3_is_refused_where_clubsandwich_fails():
    """R's clubSandwich stops with 'system is computationally singular' on this fit; so do we."""
    case = next(c for c in OURS if c["name"] == "assink2016_mv3_deltype")
    res, _ = _own_fit(case)
    assert "CR3" not in {e["vcov"] for e in case["expect"]["coef_tests"]}
    with pytest.raises(ValueError, match="CR3 is undefined"):
        coef_test(res, vcov="CR3", cluster="study")


def test_knha_fit_gives_the_documented_cr1():
    """metafor 3.8's robust() reuses the Knapp-Hartung-scaled vb as bread (a factor s2w² that its
    documentation does not describe); ours is the documented estimator, the same as for the z fit,
    and metafor's knha number is ours times s2w²."""
    z, knha = (next(c for c in OURS if c["name"] == f"bcg_uni_ablat_{t}") for t in ("z", "knha"))
    res, _ = _own_fit(knha)
    rob = robust(res, cluster="alloc")
    close(rob.vb, np.asarray(z["expect"]["robust_cr1"]["vb"]))
    close(rob.vb * res.s2w**2, np.asarray(knha["expect"]["robust_cr1"]["vb"]))


@pytest.mark.parametrize("case", _robust_uni_cases(), ids=lambda c: c["name"])
def test_robust_on_rma_equals_metafor(case):
    res, df = _own_fit(case)
    cluster = "cluster" if "cluster" in df else "grade"
    e = case["expect"]
    _check_robust(robust(res, cluster=cluster, clubSandwich=True), e["robust_cr2"])
    if "robust_cr1_noadjust" in e:
        # v3's key says "noadjust", but its recorded call is robust(res, cluster), metafor's default
        # adjust = TRUE: the values are J / (J - p) times the unadjusted ones
        _check_robust(robust(res, cluster=cluster), e["robust_cr1_noadjust"])
        unadjusted = robust(res, cluster=cluster, adjust=False)
        close(unadjusted.vb * 4 / 3, np.atleast_2d(e["robust_cr1_noadjust"]["vb"]))
    if "robust_cr1" in e:
        _check_robust(robust(res, cluster=cluster), e["robust_cr1"])
    for exp in e.get("coef_tests", []):
        table = coef_test(res, vcov=exp["vcov"], cluster=df[cluster].to_numpy())  # an array works as well
        close(table["SE"], exp["se"])
        close(table["df_Satt"], exp["df"])


# ---------------------------------------------------------------------------------------------
# input checks and output


@pytest.fixture(scope="module")
def konstantopoulos():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    return dat, bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school", mods="~ year")


def test_cluster_defaults_to_the_models_outer_factor(konstantopoulos):
    dat, res = konstantopoulos
    pd.testing.assert_frame_equal(coef_test(res), coef_test(res, cluster="district"))
    pd.testing.assert_frame_equal(coef_test(res), coef_test(res, cluster=dat["district"].to_numpy()))


def test_cluster_must_contain_the_models_clusters(konstantopoulos):
    dat, res = konstantopoulos
    with pytest.raises(bm.InputError, match=r"cluster 'school' is not constant within study '11' of the model: "
                                            r"effect '11/1' \(row 1\) is in cluster '1' and effect '11/2' \(row 2\)"
                       ) as err:
        robust(res, cluster="school")
    assert (err.value.study, err.value.row, err.value.column) == ("11", 2, "school")


def test_nesting_is_checked_on_the_structure_not_the_estimates(konstantopoulos):
    """With the between-district variance fixed at 0 the fitted covariance is diagonal; a cluster
    variable splitting districts is still an error (clubSandwich checks the random factors too)."""
    dat, _ = konstantopoulos
    res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", sigma2=[0, None], data=dat)
    assert res.sigma2[0] == 0
    with pytest.raises(ValueError, match="cluster 'school' is not constant within study"):
        robust(res, cluster="school")
    # a V with correlations across the clusters is caught from the covariance itself
    fit = SimpleNamespace(X=np.ones((4, 1)), yi=np.array([0.1, 0.2, 0.3, 0.4]), beta=np.array([0.25]),
                          coef_names=["intrcpt"], btt=[0], level=0.95, data=SimpleNamespace(data=None, labels=None),
                          marginal_vcov=lambda: sparse.csr_matrix([[1, 0.5, 0, 0], [0.5, 1, 0, 0], [0, 0, 1, 0],
                                                                   [0, 0, 0, 1]]))
    with pytest.raises(ValueError, match=r"row 1 and row 2 are correlated in the model"):
        robust(fit, cluster=[1, 2, 3, 3])


def test_cluster_errors(konstantopoulos):
    dat, res = konstantopoulos
    with pytest.raises(ValueError, match="has 3 values but the model has 56 effects"):
        robust(res, cluster=[1, 2, 3])
    with pytest.raises(ValueError, match="'nope' is not in the data"):
        robust(res, cluster="nope")
    with pytest.raises(ValueError, match="single cluster"):
        robust(res, cluster=np.ones(56))
    uni = bm.rma("yi", "vi", data=dat)
    with pytest.raises(ValueError, match="give cluster="):
        robust(uni)
    gaps = dat["district"].astype(object).copy()
    gaps[4] = None
    with pytest.raises(ValueError, match="row 5 of the fit has a missing cluster"):
        robust(uni, cluster=gaps.to_numpy())
    with pytest.raises(ValueError, match=r"number of clusters \(2\) must be larger than the number of coefficients"):
        robust(res, cluster=(dat["district"] > dat["district"].median()).to_numpy())
    with pytest.raises(ValueError, match="vcov must be one of"):
        coef_test(res, vcov="HC3")
    with pytest.raises(ValueError, match="test must be one of"):
        wald_test(res, ["year"], test="EDT")
    with pytest.raises(ValueError, match="constraints: no coefficient matches 'yr'"):
        wald_test(res, ["yr"])
    with pytest.raises(ValueError, match=r"not a coefficient number in 1..2"):
        wald_test(res, [3])
    with pytest.raises(TypeError, match="needs a fitted rma or rma_mv result"):
        robust(object(), cluster=[1, 2])


def test_printout_and_summary(konstantopoulos):
    _, res = konstantopoulos
    rob = robust(res, clubSandwich=True)
    text = repr(rob)
    assert "Number of clusters:    11" in text
    assert "Estimates per cluster: 3-11 (mean: 5.09, median: 4)" in text
    assert f"F(df1 = 1, df2 = {rob.QMdf[1]:.2f}) = {rob.QM:.4f}" in text
    assert "var-cov estimator: CR2" in text
    table = rob.summary()
    assert list(table.columns) == ["estimate", "se", "tval", "df", "pval", "ci_lb", "ci_ub"]
    close(table["se"], rob.se, 1e-15)
    assert "var-cov estimator: CR1" in repr(robust(res))


def test_a_constraint_matrix_tests_a_contrast(konstantopoulos):
    _, res = konstantopoulos
    by_name = wald_test(res, ["year"])
    by_matrix = wald_test(res, [[0.0, 1.0]])
    pd.testing.assert_frame_equal(by_name, by_matrix)
    shifted = wald_test(res, [[0.0, 2.0]], null_constant=2 * float(res.beta[1]))
    assert shifted.loc["HTZ", "Fstat"] == pytest.approx(0.0, abs=1e-20)


def test_the_facade_names_the_functions():
    assert bm.robust is robust and callable(bm.robust)
    assert bm.coef_test is coef_test and bm.wald_test is wald_test


# ---------------------------------------------------------------------------------------------
# the whole path with bayesma's own CHE and multivariate fits (vcalc + rma_mv + robust)


def _bayesma_fit(case):
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    if case["kind"] == "che_rve":
        V = bm.vcalc("vi", cluster=case["cluster"], obs=case["obs"], rho=case["rho"], data=df)
        random = f"~ 1 | {case['cluster']}/{case['obs']}"
        return bm.rma_mv("yi", V, mods=case["mods"], random=random, data=df, method=case.get("method", "REML"))
    V = np.asarray(case["input"]["V"], dtype=float)
    return bm.rma_mv("yi", V, mods=case["mods"], random=case["random"], struct=case["struct"], data=df,
                     method=case["method"])


@pytest.mark.parametrize("case", V_CASES, ids=lambda c: c["name"])
def test_cr2_of_bayesma_fits_equals_clubsandwich(case):
    """vcalc + rma_mv + robust end to end: metafor's optimum is reached to ~1e-8, so CR2 agrees to 1e-6."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metafor's NA-row warning of tannersmith2016
        res = _bayesma_fit(case)
    rob = robust(res, cluster=_cluster(case), clubSandwich=True)
    exp = case["expect"]["robust_cr2"]
    close(rob.se, exp["se"])
    close(rob.df, exp["df"])
    # the rest follows from beta, se and df; near-zero values (a bound at -3e-5, a covariance) get an
    # absolute tolerance on the scale of their neighbours
    for name in ("tval", "pval", "ci_lb", "ci_ub", "vb"):
        expected = np.asarray(exp[name], dtype=float)
        np.testing.assert_allclose(np.asarray(getattr(rob, name)).reshape(expected.shape), expected, rtol=1e-5,
                                   atol=1e-7 * np.abs(expected).max())
    if "robust_cr1" in case["expect"]:
        close(robust(res, cluster=_cluster(case)).se, case["expect"]["robust_cr1"]["se"])
