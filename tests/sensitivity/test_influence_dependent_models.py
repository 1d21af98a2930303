"""leave_one_out and cumulative of the models with clusters (three-level, CHE, multivariate across outcomes):
a cluster (study) leaves or enters with all its effects, its block of V and its level of the random effects.

Each row is checked against the model built directly on the data without that cluster (or with the first
clusters), with the same priors, both fitted by the exact engine: equal to rtol 1e-8. (They raised a typed
UnsupportedModelError before, and a numpy shape error before that.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm

PRIORS_CHE = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)", "tau_within": "halfnormal(0.3)"}
PRIORS_MV = {"mu": "normal(0, 2)", "tau": "halfnormal(0.5)", "rho": bm.priors.UniformCorrelation(-1, 1)}
COLS = ["mu_mean", "mu_sd", "mu_lower", "mu_upper", "tau_median", "tau_lower", "tau_upper", "new_lower",
        "new_upper", "p_mu_positive"]


def _quiet(fun, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fun(*args, **kwargs)


def _row(post, loc: str = "mu", tau: str = "tau", new: str = "theta_new") -> dict[str, float]:
    """The table's quantities read from a directly fitted posterior's summary."""
    s = post.summary(studies=False)
    return {"mu_mean": s.loc[loc, "mean"], "mu_sd": s.loc[loc, "sd"], "mu_lower": s.loc[loc, "eti_lower"],
            "mu_upper": s.loc[loc, "eti_upper"], "tau_median": s.loc[tau, "median"],
            "tau_lower": s.loc[tau, "eti_lower"], "tau_upper": s.loc[tau, "eti_upper"],
            "new_lower": s.loc[new, "eti_lower"], "new_upper": s.loc[new, "eti_upper"],
            "p_mu_positive": post.p_greater(loc, 0.0)}


def _same(table_row: pd.Series, direct: dict[str, float]) -> None:
    np.testing.assert_allclose(table_row[COLS].to_numpy(dtype=float), [direct[c] for c in COLS], rtol=1e-8, atol=1e-12)


@pytest.fixture(scope="module")
def assink() -> pd.DataFrame:
    return bm.load_dataset("dat.assink2016")


@pytest.fixture(scope="module")
def berkey() -> pd.DataFrame:
    case = load_json("metafor/metafor_mv_influence.json")["cases"][-1]
    return pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})


def test_che_leave_one_cluster_out_equals_the_fit_without_the_cluster(assink):
    loo = _quiet(bm.leave_one_out, assink, "yi", "vi", cluster="study", rho=0.6, priors=PRIORS_CHE,
                 engine="exact", seed=1)
    studies = list(pd.unique(assink["study"]))
    assert list(loo.table.index) == studies and loo.table.index.name == "omitted"
    assert loo.table["k"].tolist() == [int((assink["study"] != s).sum()) for s in studies]
    for s in (studies[0], 11, studies[-1]):  # 11: the study with 22 effects
        direct = _quiet(bm.MetaAnalysis, assink[assink["study"] != s], "yi", "vi", cluster="study", rho=0.6,
                        priors=PRIORS_CHE).fit(engine="exact", seed=1)
        _same(loo.table.loc[s], _row(direct))
    full = _quiet(bm.MetaAnalysis, assink, "yi", "vi", cluster="study", rho=0.6, priors=PRIORS_CHE).fit(
        engine="exact", seed=1)
    np.testing.assert_allclose(loo.full[COLS].to_numpy(dtype=float), [_row(full)[c] for c in COLS], rtol=1e-8)


def test_che_with_V_and_three_level_models_leave_clusters_out(assink):
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=assink)
    by_V = _quiet(bm.leave_one_out, assink, "yi", "vi", cluster="study", V=V.toarray(), priors=PRIORS_CHE,
                  engine="exact", seed=1)
    by_rho = _quiet(bm.leave_one_out, assink, "yi", "vi", cluster="study", rho=0.6, priors=PRIORS_CHE,
                    engine="exact", seed=1)
    np.testing.assert_allclose(by_V.table[COLS].to_numpy(float), by_rho.table[COLS].to_numpy(float), rtol=1e-8)
    dat = bm.load_dataset("dat.konstantopoulos2011")
    loo = _quiet(bm.leave_one_out, dat, "yi", "vi", cluster="district", priors=PRIORS_CHE, engine="exact", seed=1)
    assert len(loo.table) == 11
    direct = _quiet(bm.MetaAnalysis, dat[dat["district"] != 71], "yi", "vi", cluster="district",
                    priors=PRIORS_CHE).fit(engine="exact", seed=1)
    _same(loo.table.loc[71], _row(direct))


def test_multivariate_leave_one_cluster_out_has_a_row_per_outcome(berkey):
    kw = dict(cluster="trial", outcome="outcome", struct="CS", rho=0.4, priors=PRIORS_MV)
    loo = _quiet(bm.leave_one_out, berkey, "yi", "vi", engine="exact", seed=1, **kw)
    assert loo.table.index.names == ["omitted", "outcome"]
    assert list(loo.table.index) == [(t, o) for t in range(1, 6) for o in ("AL", "PD")]
    assert {"rho_median", "rho_lower", "rho_upper"} <= set(loo.table.columns)
    direct = _quiet(bm.MetaAnalysis, berkey[berkey["trial"] != 2], "yi", "vi", **kw).fit(engine="exact", seed=1)
    for o in ("AL", "PD"):
        _same(loo.table.loc[(2, o)], _row(direct, f"mu[{o}]", "tau", f"theta_new[{o}]"))
    assert list(loo.full.index) == ["AL", "PD"] and loo.full["k"].tolist() == [10, 10]
    assert "PD" in repr(loo)


def test_multivariate_cumulative_adds_trials_in_order(berkey):
    kw = dict(cluster="trial", outcome="outcome", struct="CS", rho=0.4, priors=PRIORS_MV)
    cum = _quiet(bm.cumulative, berkey, "yi", "vi", order="year", engine="exact", seed=1, **kw)
    order = berkey.drop_duplicates("trial").sort_values("year", kind="stable")["trial"].tolist()
    assert [t for t, _ in cum.table.index][::2] == order
    first3 = berkey[berkey["trial"].isin(order[:3])]
    direct = _quiet(bm.MetaAnalysis, first3, "yi", "vi", **kw).fit(engine="exact", seed=1)
    _same(cum.table.loc[(order[2], "AL")], _row(direct, "mu[AL]", "tau", "theta_new[AL]"))
    bad = berkey.assign(year=np.arange(len(berkey)))
    with pytest.raises(bm.InputError, match="cluster") as err:
        _quiet(bm.cumulative, bad, "yi", "vi", order="year", engine="exact", **kw)
    assert err.value.column == "year"


def test_che_cumulative_equals_the_fit_of_the_first_clusters(assink):
    key = -assink["study"].to_numpy()  # one value per effect, constant within a study: the last study first
    cum = _quiet(bm.cumulative, assink, "yi", "vi", cluster="study", rho=0.6, priors=PRIORS_CHE, engine="exact",
                 order=key, seed=1)
    order = list(range(17, 0, -1))
    assert list(cum.table.index) == order
    assert cum.table["k"].iloc[-1] == len(assink)
    first = assink[assink["study"].isin(order[:4])]
    direct = _quiet(bm.MetaAnalysis, first, "yi", "vi", cluster="study", rho=0.6, priors=PRIORS_CHE).fit(
        engine="exact", seed=1)
    _same(cum.table.loc[order[3]], _row(direct))


def test_a_cluster_whose_outcome_would_vanish_gives_nan_rows_and_a_warning():
    rng = np.random.default_rng(3)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(6) for o in (["a", "b"] if s < 5 else ["a", "c"])]
    df = pd.DataFrame(rows)
    with pytest.warns(bm.errors.DataWarning, match="outcome 'c'"):
        loo = bm.leave_one_out(df, "yi", "vi", cluster="study", outcome="outcome", struct="CS", rho=0.5,
                               priors={**PRIORS_MV, "rho": bm.priors.Uniform(0, 1)}, engine="exact", seed=1)
    assert loo.table.loc[(5, "a"), "k"] == 10
    assert np.isnan(loo.table.loc[(5, "a"), "mu_mean"])
    assert np.isfinite(loo.table.loc[(0, "c"), "mu_mean"])


def test_leave_one_cluster_out_plots(berkey, assink):
    import matplotlib

    matplotlib.use("Agg")
    kw = dict(cluster="trial", outcome="outcome", struct="CS", rho=0.4, priors=PRIORS_MV)
    fig = _quiet(bm.leave_one_out, berkey, "yi", "vi", engine="exact", seed=1, **kw).plot()
    assert len(fig.axes) == 3  # mu of each outcome, tau
    fig2 = _quiet(bm.leave_one_out, assink[assink["study"] <= 6], "yi", "vi", cluster="study", rho=0.6,
                  priors=PRIORS_CHE, engine="exact", seed=1).plot()
    assert len(fig2.axes) == 2


@pytest.mark.slow
def test_nuts_leave_one_cluster_out_agrees_with_exact():
    """HCS and UN have no exact engine; NUTS refits the compiled CHE model on each subset: checked here against
    the exact engine on a small CHE (3 clusters), within Monte Carlo error."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame([{"study": s, "yi": rng.normal(0.3, 0.25), "vi": 0.03} for s in range(4) for _ in range(2)])
    kw = dict(cluster="study", rho=0.5, priors=PRIORS_CHE)
    exact = _quiet(bm.leave_one_out, df, "yi", "vi", engine="exact", seed=1, **kw)
    nuts = _quiet(bm.leave_one_out, df, "yi", "vi", engine="nuts", draws=1500, chains=2, seed=1, **kw)
    assert nuts.engine == "nuts"
    diff = np.abs(nuts.table["mu_mean"] - exact.table["mu_mean"]) / exact.table["mu_sd"]
    assert float(diff.max()) < 0.15
    np.testing.assert_allclose(nuts.table["tau_median"], exact.table["tau_median"], rtol=0.25)


def test_che_leave_one_cluster_out_on_held_out_data_equals_the_fit_without_the_cluster():
    """dat.crede2010 (68 studies, 97 effects; from the held-out metafor reference's input), CHE with
    rho = 0.6: the rows of studies with several effects equal the model fitted without them."""
    case = load_json("metafor/metafor_mv_influence_heldout.json")["cases"][0]
    crede = pd.DataFrame({k: case["input"][k] for k in ("studyid", "sid", "yi", "vi")})
    kw = dict(cluster="studyid", rho=0.6, priors=PRIORS_CHE)
    loo = _quiet(bm.leave_one_out, crede, "yi", "vi", engine="exact", seed=1, **kw)
    sizes = crede["studyid"].value_counts()
    assert list(loo.table.index) == list(pd.unique(crede["studyid"]))
    assert loo.table["k"].tolist() == [int(97 - sizes[s]) for s in pd.unique(crede["studyid"])]
    for s in [int(sizes.idxmax()), int(sizes.index[sizes == 1][0])]:
        direct = _quiet(bm.MetaAnalysis, crede[crede["studyid"] != s], "yi", "vi", **kw).fit(engine="exact", seed=1)
        _same(loo.table.loc[s], _row(direct))


def test_che_leave_one_cluster_out_with_components_pinned_is_the_frequentist_deletion():
    """A flat prior on mu and priors on tau^2 and tau_within^2 concentrated at rma_mv's REML estimates
    (log-normal, sd 2e-4 on the log scale): each leave-one-cluster-out posterior of mu is then normal
    with the GLS estimate and standard error without the cluster at those components, i.e.
    rma_mv's deletion with the components held (metafor's reestimate=FALSE): mu's mean gives
    metafor-style Cook's distances, and mu's sd the fit on the subset with sigma2 fixed."""
    case = load_json("metafor/metafor_mv_influence_heldout.json")["cases"][0]
    crede = pd.DataFrame({k: case["input"][k] for k in ("studyid", "yi", "vi")})
    crede["esid"] = np.arange(len(crede))
    V = bm.vcalc("vi", cluster="studyid", obs="esid", rho=0.6, data=crede)
    res = _quiet(bm.rma_mv, "yi", V, random="~ 1 | studyid/esid", data=crede)
    s2b, s2w = res.sigma2
    priors = {"mu": bm.priors.Flat(), "tau": bm.priors.LogNormal(np.log(s2b), 2e-4),
              "tau_within": bm.priors.LogNormal(np.log(s2w), 2e-4)}
    loo = _quiet(bm.leave_one_out, crede, "yi", "vi", cluster="studyid", rho=0.6, priors=priors, engine="exact", seed=1)
    np.testing.assert_allclose([loo.full["mu_mean"], loo.full["mu_sd"]], [res.beta[0], res.se[0]], rtol=1e-6)
    cooks = bm.cooks_distance(res, cluster="studyid", reestimate=False)
    mu = loo.table.loc[list(cooks.index), "mu_mean"].to_numpy()
    np.testing.assert_allclose((res.beta[0] - mu) ** 2 / res.vb[0, 0], cooks.to_numpy(), rtol=1e-5, atol=1e-9)
    V = V.toarray() if hasattr(V, "toarray") else np.asarray(V)
    for s in (int(crede["studyid"].value_counts().idxmax()), 1):
        keep = (crede["studyid"] != s).to_numpy()
        sub = _quiet(bm.rma_mv, "yi", V[np.ix_(keep, keep)], random="~ 1 | studyid/esid", data=crede[keep],
                     sigma2=[s2b, s2w])
        np.testing.assert_allclose(loo.table.loc[s, ["mu_mean", "mu_sd"]].to_numpy(float),
                                   [sub.beta[0], sub.se[0]], rtol=1e-6)
