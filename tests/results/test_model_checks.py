"""Checking a Bayesian fit: PSIS-LOO and WAIC (through ArviZ) against exact leave-one-out from marginal
likelihoods, the two engines against each other, Pareto k against influence(), posterior predictive checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import quiet_fit
from scipy.stats import norm

import bayesma as bm
from bayesma.errors import InputError, UnsupportedModelError

PRIORS = {"mu": "normal(0, 2)", "tau": "halfnormal(0.5)"}


def _fit(data, engine="exact", seed=1, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(data, "yi", "vi", priors=PRIORS, **kw).fit(engine=engine, seed=seed)


@pytest.fixture(scope="module")
def bcg_exact(bcg_rr):
    return _fit(bcg_rr, labels="trial")


def test_log_likelihood_is_the_marginal_normal_density(bcg_exact, bcg_rr):
    ll = bcg_exact.log_likelihood()
    p = bcg_exact.posterior
    assert ll.shape == (p.sizes["chain"], p.sizes["draw"], 13)
    mu, tau = p["mu"].values[0, 5], p["tau"].values[0, 5]
    want = norm.logpdf(bcg_rr["yi"], mu, np.sqrt(bcg_rr["vi"] + tau**2))
    np.testing.assert_allclose(ll[0, 5], want, rtol=1e-12)


def test_psis_loo_equals_exact_leave_one_out(bcg_exact):
    # exact: log p(y_i | y_-i) = log p(y) - log p(y_-i), from the exact engine's marginal likelihoods
    res = bcg_exact.loo()
    t = res.table
    assert {"elpd", "pareto_k", "reliable", "elpd_exact", "mu_without", "tau_without"} <= set(t.columns)
    assert t["pareto_k"].max() < 0.7
    np.testing.assert_allclose(t["elpd"], t["elpd_exact"], atol=0.05)
    assert res.elpd == pytest.approx(t["elpd_exact"].sum(), abs=0.1)
    assert res.ic == pytest.approx(-2 * res.elpd)
    waic = bcg_exact.waic()
    assert waic.elpd == pytest.approx(t["elpd_exact"].sum(), abs=0.15)
    assert "pareto_k" not in waic.table
    # the exact refits beside Pareto k are bm.leave_one_out's
    refit = bm.leave_one_out(bcg_exact, engine="exact", seed=1).table
    np.testing.assert_allclose(t["mu_without"], refit["mu_mean"], rtol=1e-10)


def test_loo_equal_for_the_two_engines_smoke(smoke_post, smoke_exact):
    # 2 chains x 100 NUTS draws: PSIS's elpd moves by 0.18 (sd over 16 seeds; 0.61 at seed 1), so
    # another machine's draws need about 5 sd
    a, b = smoke_post.loo(exact=False), smoke_exact.loo(exact=False)
    assert a.elpd == pytest.approx(b.elpd, abs=1.0)
    np.testing.assert_allclose(a.table["elpd"], b.table["elpd"], atol=0.3)  # largest study: 0.02-0.19 over 12 seeds


@pytest.mark.slow
def test_loo_and_waic_equal_for_the_two_engines(bcg_rr):
    model = bm.MetaAnalysis(bcg_rr, "yi", "vi", labels="trial", priors=PRIORS)
    nuts = quiet_fit(model, engine="nuts", draws=1000, tune=1000, chains=4, seed=3)
    exact = _fit(bcg_rr, labels="trial")
    truth = exact.loo().table["elpd_exact"]
    # NUTS seeds 3-13 (another machine's draws): PSIS elpd - truth has sd 0.037 (max 0.084), WAIC's
    # 0.05 +- 0.035 (max 0.124), the largest study's 0.016 +- 0.009: about 4 sd each
    for post in (nuts, exact):
        loo, waic = post.loo(exact=False), post.waic()
        assert loo.elpd == pytest.approx(truth.sum(), abs=0.15)
        assert waic.elpd == pytest.approx(truth.sum(), abs=0.2)
        np.testing.assert_allclose(loo.table["elpd"], truth, atol=0.06)


def test_pareto_k_flags_the_study_influence_flags(bcg_rr):
    # dat.bcg with trial 7's log risk ratio moved to 3: metafor's influence() flags it, and so does Pareto k
    data = bcg_rr.copy()
    data.loc[6, "yi"] = 3.0
    infl = bm.influence(bm.rma("yi", "vi", data=data))
    assert np.flatnonzero(infl.is_infl).tolist() == [6]
    res = _fit(data, labels="trial").loo()
    k = res.pareto_k
    assert k.idxmax() == "7" and k["7"] > 0.7
    assert (k.drop("7") < 0.5).all()
    assert res.table.loc["7", "reliable"] == np.False_
    assert "Pareto k > 0.7 for 7" in repr(res)
    # the exact value beside the unreliable PSIS estimate
    assert np.isfinite(res.table.loc["7", "elpd_exact"])


def test_ppc_matches_an_independent_computation(bcg_exact, bcg_rr):
    check = bcg_exact.ppc(seed=2)
    p = bcg_exact.posterior
    mu, tau = p["mu"].values.ravel(), p["tau"].values.ravel()
    y, v = bcg_rr["yi"].to_numpy(), bcg_rr["vi"].to_numpy()
    # P(y_rep >= y) averaged analytically over the posterior draws
    want = norm.sf((y[None, :] - mu[:, None]) / np.sqrt(v[None, :] + tau[:, None] ** 2)).mean(axis=0)
    np.testing.assert_allclose(check.table["p_ppc"], want, atol=4 * 0.5 / np.sqrt(mu.size))
    assert check.y_rep.shape == (mu.size, 13)
    assert 0.05 < check.p_discrepancy < 0.95
    assert check.table["z_obs"].tolist() == pytest.approx((y / np.sqrt(v)).tolist())
    cond = bcg_exact.ppc(kind="conditional")
    assert cond.kind == "conditional" and (cond.table["p_ppc"].between(0.02, 0.98)).all()
    fig = check.plot()
    assert len(fig.axes) == 1 and len(fig.axes[0].get_yticklabels()) == 13


def test_ppc_flags_an_outlier(bcg_rr):
    data = bcg_rr.copy()
    data.loc[6, "yi"] = 3.0
    check = _fit(data, labels="trial").ppc()
    assert check.table["p_ppc"].idxmin() == "7" and check.table.loc["7", "p_ppc"] < 0.025
    assert "outside their replicated 95% range: 7" in repr(check)


def test_compare_models(bcg_rr):
    a = _fit(bcg_rr, labels="trial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = bm.MetaAnalysis(bcg_rr, "yi", "vi", labels="trial", mods="~ ablat",
                            priors={"beta": "normal(0, 2)", "tau": "halfnormal(0.5)"}).fit(engine="exact", seed=1)
    table = bm.compare_models([a, b], names=["intercept", "latitude"])
    assert set(table.index) == {"intercept", "latitude"}
    assert table.loc["latitude", "rank"] == 0   # latitude explains much of the heterogeneity of the BCG trials
    assert table["weight"].sum() == pytest.approx(1.0)
    assert table.loc["latitude", "elpd_loo"] == pytest.approx(b.loo(exact=False).elpd)
    other = _fit(bcg_rr.iloc[:10], labels="trial")
    with pytest.raises(InputError, match="other studies"):
        bm.compare_models([a, other])
    nudged = _fit(bcg_rr.assign(yi=bcg_rr["yi"] * (1 + 1e-7)), labels="trial")  # within np.allclose's 1e-5
    with pytest.raises(InputError, match="other effect sizes"):
        bm.compare_models([a, nudged])
    reordered = _fit(bcg_rr.iloc[::-1], labels="trial")
    with pytest.raises(InputError, match="another order"):
        bm.compare_models([a, reordered])
    with pytest.raises(InputError, match="at least two"):
        bm.compare_models([a])
    with pytest.raises(bm.ArgumentTypeError):
        bm.compare_models([a, bm.rma("yi", "vi", data=bcg_rr)])


def test_k3_note_and_unsupported_models():
    data = pd.DataFrame({"yi": [-0.451, -0.181, -0.770], "vi": [0.0374, 0.0466, 0.0961]})
    res = _fit(data).loo()
    assert "k = 3" in repr(res) and "exact refits" in repr(res)
    assert len(res.table) == 3 and res.table["elpd_exact"].notna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_model = bm.MetaAnalysis(data, "yi", "vi", likelihood="student_t")
    with pytest.raises(UnsupportedModelError, match="Student-t"):
        from bayesma.posterior.checks import check_supported
        check_supported(t_model.spec, "post.loo()")
