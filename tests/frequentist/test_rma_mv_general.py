"""rma_mv() beyond the reference cases: the global optimum on random data (against a dense
likelihood maximised by brute force in this file), the forms of V, missing values, fixed
components, t tests with metafor's dfs, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import bayesma as bm

LOG2PI = np.log(2 * np.pi)


def dense_loglik(y, X, M, reml=True):
    """(Restricted) log likelihood with metafor's constants, dense k x k algebra."""
    k, p = X.shape
    Mi = np.linalg.inv(M)
    XtMX = X.T @ Mi @ X
    beta = np.linalg.solve(XtMX, X.T @ Mi @ y)
    r = y - X @ beta
    ll = -0.5 * (np.linalg.slogdet(M)[1] + r @ Mi @ r)
    if reml:
        return ll - 0.5 * ((k - p) * LOG2PI - np.linalg.slogdet(X.T @ X)[1] + np.linalg.slogdet(XtMX)[1])
    return ll - 0.5 * k * LOG2PI


def che_data(seed, m=None, k=None):
    rng = np.random.default_rng(seed)
    m = m or int(rng.integers(3, 9))
    k = k or m + int(rng.integers(2, 20))
    study = np.concatenate([np.arange(m), rng.integers(0, m, k - m)])
    study.sort()
    esid = np.concatenate([np.arange((study == s).sum()) for s in range(m)])
    vi = rng.uniform(0.005, 0.2, k)
    s1, s2 = (rng.choice([0.0, rng.uniform(0, 0.3)]) for _ in range(2))
    y = rng.normal(0, np.sqrt(s1), m)[study] + rng.normal(0, np.sqrt(s2 + vi))
    return pd.DataFrame({"study": study, "esid": esid, "vi": vi, "yi": y})


def brute_force_che(df, V, reml):
    """max over sigma2 >= 0 of the dense likelihood: a grid, then L-BFGS-B from the best 5 points."""
    y, X = df["yi"].to_numpy(), np.ones((len(df), 1))
    same = (df["study"].to_numpy()[:, None] == df["study"].to_numpy()[None, :]).astype(float)
    f = lambda t: -dense_loglik(y, X, V + t[0] * same + t[1] * np.eye(len(y)), reml)  # noqa: E731
    grid = np.concatenate([[0.0], np.geomspace(1e-4, 3, 14)])
    pts = sorted((f((a, b)), (a, b)) for a in grid for b in grid)[:5]
    best = -pts[0][0]
    for _, x0 in pts:
        opt = optimize.minimize(f, x0, method="L-BFGS-B", bounds=[(0, None)] * 2,
                                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
        best = max(best, -opt.fun)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_che_reaches_the_global_maximum_on_random_data(seed):
    df = che_data(seed)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
    for method in ("REML", "ML"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df, method=method)
        assert res.logLik >= brute_force_che(df, V.toarray(), method == "REML") - 1e-8
        M = res.marginal_vcov().toarray()
        np.testing.assert_allclose(res.logLik, dense_loglik(df["yi"].to_numpy(), res.X, M, method == "REML"),
                                   rtol=1e-10)


def test_six_effects_in_three_clusters_leave_the_boundary():
    # the case of the issue: one start at a boundary used to stop at sigma2[0] = 0
    found = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        cl = np.repeat([0, 1, 2], 2)
        vi = rng.uniform(0.01, 0.1, 6)
        y = rng.normal(0, 0.4, 3)[cl] + rng.normal(0, np.sqrt(vi + 0.01))
        df = pd.DataFrame({"study": cl, "esid": np.tile([0, 1], 3), "vi": vi, "yi": y})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.rma_mv(y, vi, cluster=cl)
        best = brute_force_che(df, np.diag(vi), True)
        assert res.logLik >= best - 1e-8, seed
        found += res.sigma2[0] > 0
        if seed >= 10:
            break
    assert found > 0


def test_struct_cs_reaches_the_maximum_of_a_dense_search():
    rng = np.random.default_rng(5)
    m = 12
    rows = [(s, o) for s in range(m) for o in ("a", "b", "c") if rng.random() < 0.7]
    df = pd.DataFrame(rows, columns=["study", "outcome"])
    df["vi"] = rng.uniform(0.01, 0.05, len(df))
    u = rng.multivariate_normal(np.zeros(3), 0.04 * (0.5 * np.eye(3) + 0.5), m)
    df["yi"] = [u[s, "abc".index(o)] + 0.2 for s, o in rows] + rng.normal(0, np.sqrt(df["vi"]))
    V = bm.vcalc("vi", cluster="study", type="outcome", rho=0.4, data=df)
    res = bm.rma_mv("yi", V, mods="~ outcome - 1", random="~ outcome | study", struct="CS", data=df)
    y, X, Vd = df["yi"].to_numpy(), res.X, V.toarray()
    same = (df["study"].to_numpy()[:, None] == df["study"].to_numpy()[None, :])
    eq = (df["outcome"].to_numpy()[:, None] == df["outcome"].to_numpy()[None, :])

    def negll(t):
        G = same * t[0] * np.where(eq, 1.0, t[1])
        try:
            return -dense_loglik(y, X, Vd + G)
        except np.linalg.LinAlgError:
            return np.inf

    best = max(-optimize.minimize(negll, x0, method="L-BFGS-B", bounds=[(0, None), (-0.49, 1)]).fun
               for x0 in ([0.01, 0.2], [0.1, 0.8], [0.001, -0.3]))
    assert res.logLik >= best - 1e-8
    assert res.tau2.shape == (1,) and res.rho.shape == (1,)


def test_three_level_call_is_the_nested_random_term():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    a = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    b = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    np.testing.assert_allclose(b.sigma2, a.sigma2, rtol=1e-8)
    np.testing.assert_allclose(b.beta, a.beta, rtol=1e-10)
    assert b.s_names == ("district", "district/school")
    c = bm.rma_mv("yi", vi="vi", random="~ 1 | district/school", data=dat)
    np.testing.assert_array_equal(c.sigma2, b.sigma2)


def test_every_form_of_V_gives_the_same_fit():
    df = che_data(3, m=6, k=20)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    ref = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)
    forms = [V.toarray(), V.tocsr(), pd.DataFrame(V.toarray()), V.blocks]
    for form in forms:
        res = bm.rma_mv("yi", form, random="~ 1 | study/esid", data=df)
        np.testing.assert_allclose(res.logLik, ref.logLik, rtol=1e-12)
        np.testing.assert_allclose(res.beta, ref.beta, rtol=1e-10)
    diag = bm.rma_mv("yi", "vi", random="~ 1 | study/esid", data=df)
    np.testing.assert_allclose(diag.QE, bm.rma_mv("yi", np.diag(df["vi"]), random="~ 1 | study/esid",
                                                  data=df).QE, rtol=1e-12)


def test_rows_with_missing_values_are_dropped_as_metafor():
    df = che_data(4, m=6, k=24)
    df["x"] = np.linspace(0, 1, len(df))
    df.loc[3, "x"] = np.nan
    df.loc[10, "yi"] = np.nan
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    with pytest.warns(UserWarning, match="Rows with NAs omitted from model fitting"):
        res = bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid", data=df)
    keep = df.index.difference([3, 10])
    kept = df.loc[keep].reset_index(drop=True)
    ref = bm.rma_mv("yi", bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=kept), mods="~ x",
                    random="~ 1 | study/esid", data=kept)
    assert res.k == len(df) - 2
    np.testing.assert_allclose(res.beta, ref.beta, rtol=1e-10)
    np.testing.assert_allclose(res.yi, kept["yi"].to_numpy())
    with pytest.raises(ValueError, match="row 4"):
        bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid", data=df, missing="raise")


def test_fixed_components_are_held():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat, sigma2=[None, 0.05])
    assert res.sigma2[1] == 0.05 and res.parms == 2
    assert "yes" in res.variance_components()["fixed"].tolist()
    both = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat, sigma2=[0.1, 0.05])
    np.testing.assert_array_equal(both.sigma2, [0.1, 0.05])
    free = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    at_est = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat, sigma2=list(free.sigma2))
    np.testing.assert_allclose(at_est.beta, free.beta, rtol=1e-12)


def test_t_tests_with_residual_and_contain_dfs():
    df = che_data(7, m=8, k=30)
    rng = np.random.default_rng(0)
    df["x_study"] = rng.normal(size=8)[df["study"]]
    df["x_effect"] = rng.normal(size=len(df))
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    res = bm.rma_mv("yi", V, mods="~ x_study + x_effect", random="~ 1 | study/esid", data=df, test="t")
    assert res.dfs == len(df) - 3
    con = bm.rma_mv("yi", V, mods="~ x_study + x_effect", random="~ 1 | study/esid", data=df, dfs="contain")
    assert con.test == "t"
    np.testing.assert_array_equal(con.dfs, [8 - 3, 8 - 3, len(df) - 3])  # metafor's containment rule
    assert con.QMdf == (2, 5.0)


def test_bad_V_names_the_first_offending_study():
    df = che_data(1, m=4, k=10)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df).toarray()
    asym = V.copy()
    i = np.flatnonzero(V[np.triu_indices(10, 1)])[0]
    r, c = np.triu_indices(10, 1)[0][i], np.triu_indices(10, 1)[1][i]
    asym[r, c] += 0.01
    with pytest.raises(ValueError, match=rf"not symmetric at study .*row {r + 1}\b"):
        bm.rma_mv("yi", asym, random="~ 1 | study", data=df)
    neg = V.copy()
    neg[r, c] = neg[c, r] = 2 * np.sqrt(V[r, r] * V[c, c])
    with pytest.raises(ValueError, match="not positive semi-definite"):
        bm.rma_mv("yi", neg, random="~ 1 | study", data=df)
    with pytest.raises(ValueError, match="V is 9 x 9 but there are 10 effects"):
        bm.rma_mv("yi", V[:9, :9], random="~ 1 | study", data=df)
    other = df["vi"].to_numpy().copy()
    other[6] *= 2
    with pytest.raises(ValueError, match=r"differs from vi .*\(row 7\)"):
        bm.rma_mv("yi", V, random="~ 1 | study", data=df, vi=other)
    bm.rma_mv("yi", V, random="~ 1 | study", data=df, vi="vi")  # the same diagonal is fine


def test_bad_random_terms_and_structs():
    df = che_data(2, m=5, k=12)
    df["outcome"] = np.where(np.arange(12) % 2, "a", "b")
    with pytest.raises(ValueError, match="column 'studies'"):
        bm.rma_mv("yi", "vi", random="~ 1 | studies", data=df)
    with pytest.raises(ValueError, match="must look like"):
        bm.rma_mv("yi", "vi", random="1 | study", data=df)
    with pytest.raises(ValueError, match="struct must be one of"):
        bm.rma_mv("yi", "vi", random="~ outcome | study", struct="XYZ", data=df)
    tiny = df.iloc[:4]
    with pytest.raises(ValueError, match="needs more levels"):
        bm.rma_mv("yi", "vi", mods="~ outcome - 1", random="~ outcome | study", struct="UN", data=tiny)
    with pytest.raises(ValueError, match="tau2= was given but the model has no"):
        bm.rma_mv("yi", "vi", random="~ 1 | study", data=df, tau2=0.1)
    with pytest.raises(ValueError, match="give either cluster"):
        bm.rma_mv("yi", "vi", random="~ 1 | study", cluster="study", data=df)


def test_printout_names_the_structure():
    df = che_data(9, m=10, k=30)
    df["outcome"] = np.array(["a", "b", "c"])[np.arange(30) % 3]
    res = bm.rma_mv("yi", "vi", mods="~ outcome - 1", random="~ outcome | study", struct="HCS", data=df)
    text = repr(res)
    assert "outer factor: study (nlvls = 10)" in text and "inner factor: outcome (nlvls = 3)" in text
    assert "tau^2.1" in text and "rho" in text
    assert list(res.variance_components().index) == ["tau^2.1", "tau^2.2", "tau^2.3", "rho"]


def _dense_P(res):
    M = res.marginal_vcov().toarray()
    Mi = np.linalg.inv(M)
    X = res.X
    return Mi, Mi - Mi @ X @ np.linalg.solve(X.T @ Mi @ X, X.T @ Mi)


def test_ranef_equals_dense_blups():
    df = che_data(11, m=7, k=25)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    res = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)
    Mi, P = _dense_P(res)
    e = res.yi - res.X @ res.beta
    Z = (df["study"].to_numpy()[:, None] == np.unique(df["study"])[None, :]).astype(float)
    re = res.ranef()
    s1, s2 = res.sigma2
    np.testing.assert_allclose(re["study"]["pred"], s1 * Z.T @ Mi @ e, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(re["study"]["se"] ** 2, s1 - s1**2 * np.diag(Z.T @ P @ Z), rtol=1e-9)
    np.testing.assert_allclose(re["study/esid"]["pred"], s2 * Mi @ e, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(re["study/esid"]["se"] ** 2, s2 - s2**2 * np.diag(P), rtol=1e-9)
    assert re["study/esid"].index[1] == f"{df['study'][1]}/{df['esid'][1]}"


def test_struct_ranef_and_prediction_intervals():
    df = che_data(12, m=9, k=27)
    df["outcome"] = np.array(["a", "b", "c"])[np.arange(27) % 3]
    res = bm.rma_mv("yi", "vi", mods="~ outcome - 1", random="~ outcome | study", struct="HCS", data=df)
    Mi, P = _dense_P(res)
    e = res.yi - res.X @ res.beta
    G = res.layout.structs[0].struct.G(res.tau2, res.rho)
    re = res.ranef()["outcome | study"]
    first = re.index[0]
    study, outcome = first.split(".")
    rows = (df["study"].astype(str) == study).to_numpy()
    w = np.where(rows, G["abc".index(outcome)][df["outcome"].map("abc".index).to_numpy()], 0.0)
    np.testing.assert_allclose(re["pred"].iloc[0], w @ Mi @ e, rtol=1e-10)
    np.testing.assert_allclose(re["se"].iloc[0] ** 2, G["abc".index(outcome)]["abc".index(outcome)] - w @ P @ w,
                               rtol=1e-9)
    p = res.predict(newmods=np.eye(3), tau2_levels=["a", "b", "c"])
    np.testing.assert_allclose(p["pi_ub"] - p["pred"], 1.959963984540054 * np.sqrt(p["se"] ** 2 + res.tau2),
                               rtol=1e-9)
    assert res.predict(newmods=np.eye(3))["pi_lb"].isna().all()


def test_profile_interval_bounds_and_anova_of_a_che_model():
    df = che_data(3, m=10, k=40)
    df["x"] = np.random.default_rng(1).normal(size=40)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    full = bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid", data=df, method="ML")
    reduced = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df, method="ML")
    a = bm.anova(full, reduced)
    np.testing.assert_allclose(a.LRT, 2 * (full.logLik - reduced.logLik), rtol=1e-10)
    assert (full.parms, reduced.parms) == (4, 3)
    ci = full.confint()
    crit = 3.841458820694124
    for j, name in enumerate(full.params.names):
        for bound in ci.loc[name, ["ci_lb", "ci_ub"]]:
            if bound > 0:
                fixed = np.array([np.nan, np.nan])
                fixed[j] = bound
                prof = bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid", data=df, method="ML",
                                 sigma2=list(fixed))
                np.testing.assert_allclose(2 * (full.logLik - prof.logLik), crit, rtol=1e-6)


def test_metafor_rules_fix_what_the_data_cannot_inform():
    # outcomes b and c never occur in one study: UN sets their correlation to 0 (metafor's warning)
    rows = [(s, "a") for s in range(8)] + [(s, "b") for s in range(4)] + [(s, "c") for s in range(4, 8)]
    df = pd.DataFrame(rows, columns=["study", "outcome"])
    rng = np.random.default_rng(2)
    df["vi"] = rng.uniform(0.01, 0.05, len(df))
    df["yi"] = rng.normal(0, 0.3, len(df))
    with pytest.warns(UserWarning, match="never occurred. Corresponding rho value"):
        res = bm.rma_mv("yi", "vi", mods="~ outcome - 1", random="~ outcome | study", struct="UN", data=df)
    assert res.rho[2] == 0 and res.variance_components().loc["rho.3", "fixed"] == "yes"
    # an outcome in a single study: its tau2 is fixed at 0 for HCS/DIAG
    one = pd.concat([df, pd.DataFrame({"study": [0], "outcome": ["d"], "vi": [0.02], "yi": [0.1]})], ignore_index=True)
    with pytest.warns(UserWarning, match="k=1 for one or more levels"):
        res = bm.rma_mv("yi", "vi", mods="~ outcome - 1", random="~ outcome | study", struct="DIAG", data=one)
    assert res.tau2[3] == 0
    # a single inner level: rho is fixed at 0
    with pytest.warns(UserWarning, match="only a single level"):
        res = bm.rma_mv("yi", "vi", random="~ outcome | study", struct="CS", data=df[df.outcome == "a"])
    assert res.rho[0] == 0


def test_a_missing_variance_in_vcalc_drops_the_row_in_rma_mv():
    df = che_data(6, m=6, k=22)
    df.loc[5, "vi"] = np.nan
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df)
    assert np.isnan(V.toarray()[5, 5]) and np.isnan(V.diagonal()).sum() == 1
    with pytest.warns(UserWarning, match="Rows with NAs omitted"):
        res = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)
    kept = df.drop(index=5).reset_index(drop=True)
    ref = bm.rma_mv("yi", bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=kept),
                    random="~ 1 | study/esid", data=kept)
    np.testing.assert_allclose(res.logLik, ref.logLik, rtol=1e-12)


def test_bad_V_is_a_typed_input_error():
    df = che_data(1, m=4, k=10)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.5, data=df).toarray()
    V[2, 2] = -V[2, 2]
    with pytest.raises(bm.errors.InputError) as err:
        bm.rma_mv("yi", V, random="~ 1 | study", data=df)
    assert err.value.column == "V" and err.value.row is not None


def test_no_random_terms_is_the_common_effect_model():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    res = bm.rma_mv("yi", "vi", data=dat)
    fe = bm.rma("yi", "vi", data=dat, method="FE")
    np.testing.assert_allclose([res.beta[0], res.se[0], res.QE], [fe.beta[0], fe.se[0], fe.QE], rtol=1e-10)
    assert "Variance Components: none" in repr(res) and res.parms == 1


def test_marginal_vcov_of_a_structured_model_is_v_plus_zgz():
    df = che_data(13, m=8, k=24)
    df["outcome"] = np.array(["a", "b", "c"])[np.arange(24) % 3]
    V = bm.vcalc("vi", cluster="study", type="outcome", obs="esid", rho=[0.5, 0.4], data=df)
    res = bm.rma_mv("yi", V, mods="~ outcome - 1", random=["~ 1 | esid", "~ outcome | study"], struct="CS", data=df)
    same_study = df["study"].to_numpy()[:, None] == df["study"].to_numpy()[None, :]
    same_out = df["outcome"].to_numpy()[:, None] == df["outcome"].to_numpy()[None, :]
    same_esid = df["esid"].to_numpy()[:, None] == df["esid"].to_numpy()[None, :]
    tau2, rho = res.tau2[0], res.rho[0]
    expect = V.toarray() + res.sigma2[0] * same_esid + same_study * tau2 * np.where(same_out, 1.0, rho)
    M = res.marginal_vcov()
    np.testing.assert_allclose(M.toarray(), expect, rtol=1e-12, atol=1e-15)
    assert M.n_blocks == 1  # esid is crossed with study: every row is joined into one block
