"""compare_priors, leave_one_out, cumulative and small_k_simulation."""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma import priors as pr
from bayesma.data import MetaData
from bayesma.exact import bayes_factor_effect, exact_posterior
from bayesma.frequentist import fit_rma
from bayesma.sensitivity import EmpiricalVariances, LogUniformSampleSize, frequentist_batch
from bayesma.spec import build_spec


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


TAU_PRIORS = {"HN(0.25)": pr.HalfNormal(0.25), "HN(0.5)": "halfnormal(0.5)", "HC(0.5)": pr.HalfCauchy(0.5),
              "Turner": pr.turner2015()}


def test_compare_priors_rows_are_the_single_exact_fits(bcg):
    cmp = bm.compare_priors(bcg, tau_priors=TAU_PRIORS, mu_priors={"N(0,1)": pr.Normal(0, 1)}, seed=1)
    t = cmp.table
    assert list(t.index) == list(TAU_PRIORS)
    for label, prior in TAU_PRIORS.items():
        prior = pr.parse(prior) if isinstance(prior, str) else prior
        spec = build_spec(bcg, priors={"mu": pr.Normal(0, 1), "tau": prior})
        s = exact_posterior(spec).summary()
        row = t.loc[label]
        assert row["mu_mean"] == pytest.approx(s.loc["mu", "mean"], rel=1e-12)
        assert row["mu_lower"] == pytest.approx(s.loc["mu", "eti_lower"], rel=1e-12)
        assert row["tau_median"] == pytest.approx(s.loc["tau", "median"], rel=1e-12)
        assert row["new_upper"] == pytest.approx(s.loc["theta_new", "eti_upper"], rel=1e-12)
        assert row["bf10_effect"] == pytest.approx(bayes_factor_effect(spec), rel=1e-9)
        assert row["tau_prior"] == repr(prior)
    assert (t["p_mu_positive"] < 0.01).all()  # BCG vaccine: a clear protective effect
    # wider heterogeneity priors: wider intervals for mu
    assert t.loc["HN(0.25)", "mu_upper"] - t.loc["HN(0.25)", "mu_lower"] < t.loc["HC(0.5)", "mu_upper"] - t.loc[
        "HC(0.5)", "mu_lower"]
    fig = cmp.plot()
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) >= 2 * len(TAU_PRIORS)
    assert "PriorComparison" in repr(cmp)


def test_compare_priors_grid_of_mu_and_tau_priors_small_k():
    y, v = [0.31, 0.12, 0.55], [0.04, 0.02, 0.09]
    cmp = bm.compare_priors(yi=y, vi=v, tau_priors=["halfnormal(0.5)", "halfcauchy(1)"],
                            mu_priors={"narrow": "normal(0, 0.5)", "wide": "normal(0, 10)"}, seed=1)
    assert len(cmp.table) == 4
    assert "narrow | HalfNormal(sigma=0.5)" in cmp.table.index
    narrow = cmp.table.loc["narrow | HalfNormal(sigma=0.5)"]
    wide = cmp.table.loc["wide | HalfNormal(sigma=0.5)"]
    assert narrow["mu_sd"] < wide["mu_sd"]
    # a wide prior on mu lowers the Bayes factor for an effect (Lindley)
    assert wide["bf10_effect"] < narrow["bf10_effect"]


def test_compare_priors_nuts_path_uses_with_priors(monkeypatch, bcg):
    """The NUTS branch: refits built by with_priors, table from MetaPosterior draws. The sampler
    itself is replaced by the exact engine here (NUTS against exact is tested in test_exact)."""
    from bayesma.models import MetaAnalysis

    calls = []
    original = MetaAnalysis.fit

    def fake_fit(self, engine="nuts", **kw):
        calls.append(dict(self.spec.priors))
        return original(self, engine="exact", draws=kw.get("draws", 1000), chains=kw.get("chains", 2),
                        seed=kw.get("seed"))

    monkeypatch.setattr(MetaAnalysis, "fit", fake_fit)
    cmp = bm.compare_priors(bcg, tau_priors={"a": "halfnormal(0.3)", "b": "halfcauchy(0.5)"},
                            mu_priors={"N(0,1)": "normal(0, 1)"}, engine="nuts", draws=4000, chains=2, seed=2)
    assert [c["tau"] for c in calls] == [pr.HalfNormal(0.3), pr.HalfCauchy(0.5)]
    ex = bm.compare_priors(bcg, tau_priors={"a": "halfnormal(0.3)", "b": "halfcauchy(0.5)"},
                           mu_priors={"N(0,1)": "normal(0, 1)"}, seed=1)
    np.testing.assert_allclose(cmp.table["mu_mean"], ex.table["mu_mean"], rtol=1e-10)  # exact summaries
    # the Bayes factor is shown where the posterior has log p(y): here the stand-in fit's exact marginals
    np.testing.assert_allclose(cmp.table["bf10_effect"], ex.table["bf10_effect"], rtol=1e-10)
    assert cmp.table["p_mu_positive"].max() < 0.01
    cmp.plot()


def test_leave_one_out_rows_are_fits_without_each_study(bcg):
    priors = {"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)}
    loo = bm.leave_one_out(bcg, priors=priors, labels="trial", seed=1)
    assert len(loo.table) == len(bcg) and (loo.table["k"] == len(bcg) - 1).all()
    for i in (0, 5, 12):
        sub = bcg.drop(index=i).reset_index(drop=True)
        s = exact_posterior(build_spec(sub, priors=priors, labels="trial")).summary()
        row = loo.table.loc[str(bcg["trial"][i])]
        assert row["mu_mean"] == pytest.approx(s.loc["mu", "mean"], rel=1e-10)
        assert row["tau_upper"] == pytest.approx(s.loc["tau", "eti_upper"], rel=1e-10)
    full = exact_posterior(build_spec(bcg, priors=priors)).summary()
    assert loo.full["mu_mean"] == pytest.approx(full.loc["mu", "mean"], rel=1e-12)
    fig = loo.plot()
    assert len(fig.axes) == 2


def test_leave_one_out_keeps_the_full_data_default_priors(bcg):
    loo = bm.leave_one_out(bcg, measure="RR", seed=1)
    model = bm.MetaAnalysis(bcg, measure="RR")
    sub = bcg.iloc[1:].reset_index(drop=True)
    s = exact_posterior(build_spec(sub, priors=model.priors)).summary()
    assert loo.table.iloc[0]["mu_mean"] == pytest.approx(s.loc["mu", "mean"], rel=1e-10)


def test_cumulative_by_year(bcg):
    priors = {"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)}
    cum = bm.cumulative(bcg, order="year", priors=priors, labels="trial", seed=1)
    years = bcg.set_index(bcg["trial"].astype(str))["year"]
    assert list(cum.table["k"]) == list(range(1, len(bcg) + 1))
    assert list(years[cum.table.index]) == sorted(bcg["year"])
    last = cum.table.iloc[-1]
    assert last["mu_mean"] == pytest.approx(cum.full["mu_mean"], rel=1e-10)
    first = bcg.loc[bcg["year"].idxmin()]
    s = exact_posterior(build_spec(None, [first["yi"]], [first["vi"]], priors=priors)).summary()
    assert cum.table.iloc[0]["mu_mean"] == pytest.approx(s.loc["mu", "mean"], rel=1e-10)
    cum.plot()
    with pytest.raises(ValueError, match="column"):
        bm.cumulative(bcg, order="nope", priors=priors)


def test_meta_regression_and_common_model_in_sensitivity(bcg):
    loo = bm.leave_one_out(bcg, mods="~ ablat", priors={"mu": "normal(0, 2)", "beta": "normal(0, 0.5)",
                                                         "tau": "halfnormal(0.5)"}, seed=1)
    assert np.isfinite(loo.table["mu_mean"]).all()
    cmp = bm.compare_priors(bcg, model="common", mu_priors=["normal(0, 1)", "normal(0, 10)"], seed=1)
    assert (cmp.table["tau_median"] == 0).all()


# ---------------------------------------------------------------------------
# the vectorized frequentist estimators
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 6])
def test_frequentist_batch_matches_fit_rma(k):
    rng = np.random.default_rng(k)
    B = 60
    v = rng.uniform(0.005, 0.2, (B, k))
    y = rng.normal(0.2, np.sqrt(v + rng.choice([0.0, 0.05, 0.3], (B, 1))))
    for method, test in (("DL", "z"), ("REML", "z"), ("REML", "knha"), ("PM", "z"), ("DL", "adhoc")):
        out = frequentist_batch(y, v, method, test)
        for i in range(B):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fit_rma(MetaData.create(y[i], v[i]), np.ones((k, 1)), ["intrcpt"], method=method, test=test)
            # PM and the Q-profile bounds: metafor stops uniroot at tol 1.2e-4, we solve exactly
            tol = 1e-9 if method != "PM" else 3e-4
            assert out["tau2"][i] == pytest.approx(r.tau2, abs=tol)
            assert out["mu"][i] == pytest.approx(r.beta[0], abs=max(tol, 1e-12))
            assert out["mu_lower"][i] == pytest.approx(r.ci_lb[0], abs=max(tol, 1e-9))
            for mine, ref in zip((out["tau2_lower"][i], out["tau2_upper"][i]), r.tau2_ci):
                assert mine == ref or mine == pytest.approx(ref, abs=2e-4)


# ---------------------------------------------------------------------------
# the simulation
# ---------------------------------------------------------------------------


def test_simulation_known_answer():
    """k = 3, moderate heterogeneity: DL intervals undercover (Friede et al. 2017); Bayesian intervals
    with a half-normal prior that covers the true tau reach nominal coverage (they are conservative)."""
    n = 1000
    sim = bm.small_k_simulation(k=[3], tau=[0.2, 0.5], n_sim=n, seed=11, progress=False,
                                priors={"HN(1)": {"mu": pr.Normal(0, 8), "tau": pr.HalfNormal(1.0)}},
                                methods=("DL", "REML-KH"))
    t = sim.table
    se = math.sqrt(0.95 * 0.05 / n)
    assert t.loc[(3, 0.5, "DL"), "coverage_mu"] < 0.90
    assert t.loc[(3, 0.2, "DL"), "coverage_mu"] < 0.95 - 3 * se
    for tau in (0.2, 0.5):
        assert t.loc[(3, tau, "HN(1)"), "coverage_mu"] >= 0.95 - 2 * se
        assert t.loc[(3, tau, "REML-KH"), "coverage_mu"] > t.loc[(3, tau, "DL"), "coverage_mu"]
    # Knapp-Hartung intervals are wider than DL's Wald intervals
    assert t.loc[(3, 0.5, "REML-KH"), "width_mu"] > t.loc[(3, 0.5, "DL"), "width_mu"]
    assert abs(t.loc[(3, 0.5, "DL"), "bias_mu"]) < 4 * t.loc[(3, 0.5, "DL"), "rmse_mu"] / math.sqrt(n)
    assert set(t.columns) >= {"coverage_mu", "width_mu", "bias_mu", "rmse_mu", "coverage_tau", "bias_tau",
                              "rmse_tau", "mcse_coverage_mu"}
    fig = sim.plot()
    assert len(fig.axes) == 4
    assert "SimulationResult" in repr(sim)


def test_simulation_identical_whatever_the_executor():
    kw = dict(k=[2, 4], tau=[0.0, 0.3], n_sim=150, seed=5, chunk_size=50, progress=False,
              methods=("REML", "PM-KH"), priors={"HN(0.5)": pr.HalfNormal(0.5)})
    serial = bm.small_k_simulation(**kw)
    with ThreadPoolExecutor(max_workers=3) as ex:
        threads = bm.small_k_simulation(executor=ex, **kw)
    with ProcessPoolExecutor(max_workers=2) as ex:
        procs = bm.small_k_simulation(executor=ex, **kw)
    pd.testing.assert_frame_equal(serial.table, threads.table)
    pd.testing.assert_frame_equal(serial.table, procs.table)
    for key, est in serial.estimates.items():
        np.testing.assert_array_equal(est["mu_lower"], procs.estimates[key]["mu_lower"])
    other = bm.small_k_simulation(**{**kw, "seed": 6})
    assert not serial.table.equals(other.table)
    assert np.isnan(serial.table.loc[(2, 0.0, "REML"), "coverage_tau"])


def test_simulation_inputs(capsys):
    vi = [0.01, 0.02, 0.05]
    sim = bm.small_k_simulation(k=[2], tau=[0.1], n_sim=40, vi=vi, seed=1, progress=False,
                                priors={"mu": pr.Normal(0, 1), "tau": pr.HalfCauchy(0.5)}, methods=("DL",))
    assert list(sim.table.index.get_level_values("method")) == ["Bayes HalfCauchy(beta=0.5)", "DL"]
    assert "EmpiricalVariances" in sim.settings["vi_sampler"]
    rng = np.random.default_rng(0)
    assert set(np.unique(EmpiricalVariances(vi)(rng, (50, 2)))) <= set(vi)
    v = LogUniformSampleSize()(rng, (1000, 3))
    assert v.min() >= 4 / 400 and v.max() <= 4 / 40
    with pytest.raises(ValueError, match="k"):
        bm.small_k_simulation(k=[1], n_sim=10)
    with pytest.raises(ValueError, match="method"):
        bm.small_k_simulation(k=[2], n_sim=10, methods=("XX",))
    with pytest.raises(ValueError, match="Normal"):
        bm.small_k_simulation(k=[2], n_sim=10, priors={"c": {"mu": pr.Cauchy(0, 1), "tau": pr.HalfNormal(1)}})
    bm.small_k_simulation(k=[2], tau=[0.1], n_sim=30, chunk_size=10, seed=1, progress=True, methods=("DL",))


# ---------------------------------------------------------------------------
# issue 9: labels, seeds, levels, prior keys of the simulation
# ---------------------------------------------------------------------------

Y3, V3 = [0.1, 0.35, 0.2], [0.02, 0.03, 0.05]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(tau_priors=["halfnormal(0.5)", "halfnormal(0.5)"]),  # same repr label twice
        dict(tau_priors={1: "halfnormal(0.5)", "1": "halfnormal(1)"}),  # labels equal as text
        dict(mu_priors=["normal(0, 1)", "normal(0, 1)"]),
    ],
)
def test_compare_priors_same_label_twice_is_an_error(kwargs):
    with pytest.raises(ValueError, match="label"):
        bm.compare_priors(yi=Y3, vi=V3, **kwargs)


def test_compare_priors_label_collision_of_combinations():
    # "a | b" as a mu label combined with tau label "c" and mu label "a" with tau label "b | c"
    with pytest.raises(ValueError, match="label"):
        bm.compare_priors(yi=Y3, vi=V3, mu_priors={"a": "normal(0, 1)", "a | b": "normal(0, 2)"},
                          tau_priors={"b | c": "halfnormal(0.5)", "c": "halfnormal(1)"})


def test_compare_priors_checks_the_target_of_each_prior():
    with pytest.raises(ValueError, match="tau_priors\\['x'\\]"):
        bm.compare_priors(yi=Y3, vi=V3, tau_priors={"x": "normal(0, 1)"})


def test_compare_priors_default_set_is_the_shared_sensitivity_set():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD", seed=1)
    assert list(cmp.table.index) == list(pr.sensitivity_tau_priors("SMD"))
    assert cmp.table.loc["Rhodes 2015 (general)", "tau_prior"] == repr(pr.rhodes2015())


@pytest.mark.parametrize(
    "priors, match",
    [
        ({1: "halfnormal(0.5)", "1": "halfnormal(1)"}, "used twice"),
        ({"a": {"tau": "halfnormal(0.5)", "nu": "gamma(2, 0.1)"}}, "keys 'tau'"),
        ({"a": {"mu": "normal(0, 1)"}}, "keys 'tau'"),
        ({"a": "normal(0, 1)"}, "prior on tau"),
    ],
)
def test_small_k_simulation_prior_sets_are_checked(priors, match):
    with pytest.raises(ValueError, match=match):
        bm.small_k_simulation(k=[3], tau=[0.2], n_sim=10, priors=priors, progress=False)


@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("1", TypeError), (None, TypeError), (-1, ValueError)])
def test_small_k_simulation_seed_must_be_an_integer(bad, error):
    with pytest.raises(error, match="seed"):
        bm.small_k_simulation(k=[3], tau=[0.2], n_sim=10, seed=bad, progress=False)


def test_small_k_simulation_level_in_percent_or_fraction():
    a = bm.small_k_simulation(k=[3], tau=[0.2], n_sim=50, seed=2, level=0.9, progress=False, methods=["DL"])
    b = bm.small_k_simulation(k=[3], tau=[0.2], n_sim=50, seed=2, level=90, progress=False, methods=["DL"])
    pd.testing.assert_frame_equal(a.table, b.table)
    for bad in (1.5, 0, 100, -0.5):
        with pytest.raises(ValueError, match="level"):
            bm.small_k_simulation(k=[3], tau=[0.2], n_sim=10, level=bad, progress=False)


def test_influence_nuts_seed_is_checked():
    with pytest.raises(TypeError, match="seed"):
        bm.leave_one_out(yi=Y3 + [0.0], vi=V3 + [0.04], engine="nuts", seed=0.5)
