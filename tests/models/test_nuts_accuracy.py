"""The PyMC engine (bayesma.models.build, bayesma.models.nuts) and MetaPosterior (bayesma.results).

NUTS posteriors are checked against a brute-force numerical integration of the
normal-normal posterior written here (independent of bayesma.exact), against
brms (tests/data/reference/brms/brms_bcg_random_effects.json), and against the
frequentist limits (FE, REML, meta-regression). Fitted posteriors are shared
through module-scoped fixtures: each model structure is compiled once.
"""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases, reference_dir
from scipy import stats
from scipy.optimize import brentq
from scipy.special import logsumexp

import bayesma as bm
from bayesma.models import SmallKWarning
from bayesma.models import build as pmm
from bayesma.results import Diagnostics, SamplingWarning

# draws for the accuracy checks: nutpie samples these in well under a second
ACC = dict(draws=2500, tune=1000, chains=4)
SMALL = dict(draws=1000, tune=1000, chains=2)


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def _case(name: str) -> dict:
    return next(c for c in load_cases() if c["name"] == name)


# ---------------------------------------------------------------------------
# brute-force posterior of the normal-normal model (1-D grid over tau; mu integrated analytically)
# ---------------------------------------------------------------------------


def quadrature(yi, vi, mu_prior: tuple[float, float], tau_logpdf, tau_max: float = 60.0) -> dict:
    """Posterior mean, sd, 2.5% and 97.5% quantiles of mu and tau for
    y_i ~ N(mu, v_i + tau^2), mu ~ N(m0, s0), tau ~ tau prior.

    Given tau, mu is normal (conjugate), so p(mu | y) is a mixture of normals
    over a fine tau grid, and p(tau | y) is the grid itself.
    """
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    m0, s0 = mu_prior
    tau = np.unique(np.concatenate([np.linspace(0.0, 3.0, 30001), np.geomspace(3.0, tau_max, 4000)]))
    w = 1.0 / (vi[None, :] + tau[:, None] ** 2)
    P = 1.0 / s0**2 + w.sum(1)
    M = (m0 / s0**2 + (w * yi).sum(1)) / P
    loglik = (0.5 * np.log(w).sum(1) - 0.5 * (w * yi**2).sum(1) - 0.5 * m0**2 / s0**2
              + 0.5 * M**2 * P - 0.5 * np.log(P))
    with np.errstate(divide="ignore"):
        logpost = loglik + np.asarray(tau_logpdf(tau), float)
    dt = np.gradient(tau)  # trapezoid-like weights on a non-uniform grid
    logw = logpost + np.log(dt)
    wt = np.exp(logw - logsumexp(logw))

    def quantiles_of_cdf(grid, cdf):
        return [float(np.interp(q, cdf, grid)) for q in (0.025, 0.975)]

    # tau
    t_mean = float((wt * tau).sum())
    t_sd = float(np.sqrt((wt * tau**2).sum() - t_mean**2))
    cdf_t = np.cumsum(wt)
    t_q = quantiles_of_cdf(tau, cdf_t)
    # mu: mixture of N(M_j, 1/P_j)
    sd_j = 1.0 / np.sqrt(P)
    m_mean = float((wt * M).sum())
    m_sd = float(np.sqrt((wt * (sd_j**2 + M**2)).sum() - m_mean**2))
    keep = wt > 1e-13
    wk, Mk, sk = wt[keep] / wt[keep].sum(), M[keep], sd_j[keep]

    def mix_cdf(x):
        return float((wk * stats.norm.cdf((x - Mk) / sk)).sum())

    lo, hi = m_mean - 20 * m_sd, m_mean + 20 * m_sd
    m_q = [brentq(lambda x, q=q: mix_cdf(x) - q, lo, hi, xtol=1e-10) for q in (0.025, 0.975)]
    return {"mu": {"mean": m_mean, "sd": m_sd, "q025": m_q[0], "q975": m_q[1]},
            "tau": {"mean": t_mean, "sd": t_sd, "q025": t_q[0], "q975": t_q[1]}}


def assert_agrees(post, ref: dict, mean_tol: float = 0.1, q_tol: float = 0.2) -> None:
    """NUTS vs reference: means within mean_tol posterior sd, 2.5%/97.5% quantiles within q_tol sd."""
    for name in ("mu", "tau"):
        x = post.draws(name)
        r = ref[name]
        sd = r["sd"]
        got = {"mean": x.mean(), "q025": np.quantile(x, 0.025), "q975": np.quantile(x, 0.975)}
        assert abs(got["mean"] - r["mean"]) < mean_tol * sd, (name, "mean", got["mean"], r["mean"], sd)
        for q in ("q025", "q975"):
            assert abs(got[q] - r[q]) < q_tol * sd, (name, q, got[q], r[q], sd)
        assert abs(x.std() - sd) < 0.1 * sd, (name, "sd", x.std(), sd)


def _fit(ma, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        return ma.fit(**{**ACC, "seed": 11, **kw})


# ---------------------------------------------------------------------------
# shared fits
# ---------------------------------------------------------------------------

HN = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}


@pytest.fixture(scope="module")
def ma_hn(bcg):
    return bm.MetaAnalysis(bcg, priors=HN)


@pytest.fixture(scope="module")
def post_hn(ma_hn):
    return _fit(ma_hn)


@pytest.fixture(scope="module")
def post_hn_noncentered(ma_hn):
    return _fit(ma_hn, parameterization="noncentered")


@pytest.fixture(scope="module")
def post_hc(bcg):
    return _fit(bm.MetaAnalysis(bcg, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfCauchy(0.5)}))


@pytest.fixture(scope="module")
def post_unif(bcg):
    # very vague: mu ~ N(0, 100), tau ~ U(0, 10)
    return _fit(bm.MetaAnalysis(bcg, priors={"mu": bm.priors.Normal(0, 100), "tau": bm.priors.Uniform(0, 10)}))


@pytest.fixture(scope="module")
def post_k3(bcg):
    return _fit(bm.MetaAnalysis(bcg.iloc[:3], priors=HN))


@pytest.fixture(scope="module")
def post_common(bcg):
    return _fit(bm.MetaAnalysis(bcg, model="common", priors={"mu": bm.priors.Normal(0, 100)}))


@pytest.fixture(scope="module")
def post_reg(bcg):
    ma = bm.MetaAnalysis(bcg, mods="~ ablat",
                         priors={"mu": bm.priors.Normal(0, 100), "beta": bm.priors.Normal(0, 10),
                                 "tau": bm.priors.HalfCauchy(1)})
    return _fit(ma)


@pytest.fixture(scope="module")
def post_tau_by(bcg):
    return _fit(bm.MetaAnalysis(bcg, tau_by="alloc", priors=HN))


@pytest.fixture(scope="module")
def post_3level():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    ma = bm.MetaAnalysis(dat, labels=[f"{d}.{s}" for d, s in zip(dat["district"], dat["school"])],
                         cluster="district",
                         priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                 "tau_within": bm.priors.HalfNormal(0.5)})
    # ACC's 4 x 2500 draws: test_family_fits_without_divergences asks for R-hat <= 1.01, which 2 x 1000
    # draws miss on some seeds (max R-hat 1.0062-1.0176 over 8 seeds; 1.0019-1.0046 with 4 x 2500)
    return _fit(ma)


@pytest.fixture(scope="module")
def post_student(bcg):
    return _fit(bm.MetaAnalysis(bcg, likelihood="student_t", priors=HN))  # ACC: as post_3level


# ---------------------------------------------------------------------------
# model structure (no sampling)
# ---------------------------------------------------------------------------


def test_build_model_names_coords_and_data(bcg):
    ma = bm.MetaAnalysis(bcg, mods="~ ablat", priors={"mu": "normal(0, 10)", "tau": "halfnormal(0.5)"})
    model, handles = pmm.build_model(ma.spec)
    assert set(model.coords) == {"study", "coef"}
    assert list(model.coords["coef"]) == ["intrcpt", "ablat"]
    assert len(model.coords["study"]) == 13
    assert {"beta", "tau", "theta", "theta_new", "yi"} <= set(model.named_vars)
    assert "mu" not in model.named_vars
    assert {"yi_data", "vi", "X", "x_new", "hyper_beta_mu", "hyper_beta_sigma", "hyper_tau_sigma"} <= set(handles.data)
    assert handles.hyper["tau"] == {"sigma": "hyper_tau_sigma"}
    np.testing.assert_allclose(handles.data["vi"].get_value(), bcg["vi"].values)


@pytest.mark.parametrize(
    "kwargs, present, absent",
    [
        ({"model": "common"}, {"mu", "theta", "theta_new"}, {"tau", "z"}),
        ({}, {"mu", "tau", "z", "z_new", "theta", "theta_new"}, {"beta"}),
        ({"tau_by": "alloc"}, {"tau", "theta_new", "group_idx"}, set()),
        ({"likelihood": "student_t"}, {"nu", "tau", "z"}, set()),
        ({"priors": {"tau": bm.priors.LogNormal(-2, 1)}}, {"tau", "tau2"}, set()),
    ],
)
def test_families_build(bcg, kwargs, present, absent):
    ma = bm.MetaAnalysis(bcg, **kwargs)
    model, handles = pmm.build_model(ma.spec)
    names = set(model.named_vars)
    assert present <= names, present - names
    assert not (absent & names)
    if "tau_by" in kwargs:
        assert model["tau"].type.ndim == 1 and list(model.coords["subgroup"]) == ["alternate", "random", "systematic"]


def test_three_level_builds():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    ma = bm.MetaAnalysis(dat, labels=[str(i) for i in range(len(dat))], cluster="district")
    model, handles = pmm.build_model(ma.spec)
    assert {"tau", "tau_within", "u", "z", "u_new", "z_new", "theta_new", "cluster_idx"} <= set(model.named_vars)
    assert len(model.coords["cluster"]) == 11


@pytest.mark.parametrize("par, free", [("marginal", {"z"}), ("noncentered", {"z"}), ("centered", {"theta"})])
def test_parameterizations_build(bcg, par, free):
    ma = bm.MetaAnalysis(bcg, priors=HN)
    model, handles = pmm.build_model(ma.spec, par)
    assert handles.parameterization == par
    assert free <= {v.name for v in model.free_RVs}
    assert pmm.structure_key(ma.spec, par) == handles.key
    with pytest.raises(ValueError, match="Student-t"):
        pmm.build_model(bm.MetaAnalysis(bcg, likelihood="student_t").spec, "marginal")
    assert pmm.resolve_parameterization(bm.MetaAnalysis(bcg, likelihood="student_t").spec) == "noncentered"


def test_mixed_coefficient_families(bcg):
    ma = bm.MetaAnalysis(bcg, mods="~ ablat + year", priors={"mu": bm.priors.Normal(0, 10), "beta": bm.priors.StudentT(3, 0, 1)})
    model, _ = pmm.build_model(ma.spec)
    assert {"beta_Normal", "beta_StudentT", "beta"} <= set(model.named_vars)
    assert model["beta"].type.ndim == 1


def test_structure_key_ignores_hyperparameters_and_data(bcg):
    ma = bm.MetaAnalysis(bcg, priors=HN)
    ma2 = ma.with_priors({"tau": bm.priors.HalfNormal(2.0), "mu": bm.priors.Normal(1, 3)})
    shifted = bcg.assign(yi=bcg["yi"] + 1)
    ma3 = bm.MetaAnalysis(shifted, priors=HN)
    assert pmm.structure_key(ma.spec) == pmm.structure_key(ma2.spec) == pmm.structure_key(ma3.spec)
    ma4 = ma.with_priors({"tau": bm.priors.HalfCauchy(0.5)})
    assert pmm.structure_key(ma4.spec) != pmm.structure_key(ma.spec)
    assert pmm.structure_key(bm.MetaAnalysis(bcg.iloc[:5], priors=HN).spec) != pmm.structure_key(ma.spec)
    v = pmm.data_values(ma2.spec)
    assert v["hyper_tau_sigma"] == 2.0 and v["hyper_mu_mu"] == 1.0


def test_bad_arguments(ma_hn):
    with pytest.raises(ValueError, match="sampler"):
        ma_hn.fit(sampler="stan")
    with pytest.raises(ValueError, match="draws"):
        ma_hn.fit(draws=0)
    with pytest.raises(ValueError, match="target_accept"):
        ma_hn.fit(target_accept=1.5)


def test_import_is_cheap():
    import subprocess
    import sys

    code = ("import sys, bayesma as bm; bm.MetaAnalysis; bm.MetaPosterior; import bayesma.plots; "
            "print(any(m in sys.modules for m in ('pymc', 'arviz', 'matplotlib', 'pytensor')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_prob_expressions_without_sampling():
    from bayesma.results import _eval_expr

    draws = {"mu": np.array([-1.0, 0.5, 2.0, -0.1]), "tau": np.array([0.1, 0.2, 0.3, 0.4])}
    look = lambda name, label: draws[name]  # noqa: E731
    assert _eval_expr("mu > 0", look).mean() == 0.5
    assert _eval_expr("mu < -0.2 and tau < 0.2", look).mean() == 0.25
    assert _eval_expr("abs(mu) > 0.4 or not tau > 0.35", look).mean() == 0.75
    assert _eval_expr("0 < mu < 1", look).mean() == 0.25
    with pytest.raises(ValueError):
        _eval_expr("__import__('os')", look)


# ---------------------------------------------------------------------------
# (a) NUTS vs brute-force integration; (b) vs brms
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_half_normal_matches_quadrature(post_hn, bcg):
    ref = quadrature(bcg["yi"], bcg["vi"], (0, 1), bm.priors.HalfNormal(0.5).logpdf_tau)
    assert_agrees(post_hn, ref)


@pytest.mark.slow
def test_noncentered_matches_quadrature(post_hn_noncentered, bcg):
    assert post_hn_noncentered.fit_info["parameterization"] == "noncentered"
    ref = quadrature(bcg["yi"], bcg["vi"], (0, 1), bm.priors.HalfNormal(0.5).logpdf_tau)
    assert_agrees(post_hn_noncentered, ref)
    assert post_hn_noncentered.diagnostics()["divergences"] == 0


@pytest.mark.slow
def test_parameterizations_agree_on_study_effects(post_hn, post_hn_noncentered):
    assert post_hn.fit_info["parameterization"] == "marginal"
    a, b = post_hn.summary(), post_hn_noncentered.summary()
    rows = [r for r in a.index if r.startswith("theta")]
    assert (abs(a.loc[rows, "mean"] - b.loc[rows, "mean"]) < 0.1 * a.loc[rows, "sd"]).all()
    assert (abs(a.loc[rows, "sd"] / b.loc[rows, "sd"] - 1) < 0.1).all()


@pytest.mark.slow
def test_prior_theta_is_data_free(post_hn):
    prior = post_hn.idata.prior
    np.testing.assert_allclose(prior["theta"].values, (prior["mu"] + prior["tau"] * prior["z"]).values)
    sd_prior = prior["theta"].std(("chain", "draw"))
    sd_post = post_hn.idata.posterior["theta"].std(("chain", "draw"))
    assert float(sd_prior.min()) > 2 * float(sd_post.max())


@pytest.mark.slow
def test_half_cauchy_matches_quadrature(post_hc, bcg):
    ref = quadrature(bcg["yi"], bcg["vi"], (0, 1), bm.priors.HalfCauchy(0.5).logpdf_tau)
    assert_agrees(post_hc, ref)


@pytest.mark.slow
def test_uniform_matches_quadrature(post_unif, bcg):
    ref = quadrature(bcg["yi"], bcg["vi"], (0, 100), bm.priors.Uniform(0, 10).logpdf_tau, tau_max=10.0)
    assert_agrees(post_unif, ref)


@pytest.mark.slow
def test_k3_matches_quadrature(post_k3, bcg):
    sub = bcg.iloc[:3]
    ref = quadrature(sub["yi"], sub["vi"], (0, 1), bm.priors.HalfNormal(0.5).logpdf_tau)
    assert_agrees(post_k3, ref)
    assert post_k3.diagnostics()["divergences"] == 0


@pytest.mark.slow
def test_agrees_with_brms_reference(post_hn):
    ref = json.loads((reference_dir() / "brms/brms_bcg_random_effects.json").read_text())["posterior"]
    # brms is itself MCMC (Monte Carlo error ~0.005 on means): same tolerances
    assert_agrees(post_hn, ref)


def test_quadrature_matches_reference_integration(bcg):
    """The test's own integrator reproduces the integration quoted in the brms reference file."""
    ref = quadrature(bcg["yi"], bcg["vi"], (0, 1), bm.priors.HalfNormal(0.5).logpdf_tau)
    assert ref["mu"]["mean"] == pytest.approx(-0.68777, abs=2e-4)
    assert ref["mu"]["q025"] == pytest.approx(-1.05273, abs=5e-4)
    assert ref["tau"]["mean"] == pytest.approx(0.57011, abs=2e-4)
    assert ref["tau"]["q975"] == pytest.approx(0.89918, abs=5e-4)


# ---------------------------------------------------------------------------
# (c) limiting cases
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_common_effect_recovers_fe(post_common, bcg):
    fe = bm.rma("yi", "vi", data=bcg, method="FE")
    mu = post_common.draws("mu")
    assert abs(mu.mean() - fe.beta[0]) < 0.05 * fe.se[0]
    assert mu.std() == pytest.approx(fe.se[0], rel=0.05)
    assert "tau" not in post_common.idata.posterior
    np.testing.assert_allclose(post_common.draws("theta_new"), mu)
    assert post_common.diagnostics()["divergences"] == 0


@pytest.mark.slow
def test_vague_priors_median_near_reml(post_unif, bcg):
    reml = bm.rma("yi", "vi", data=bcg, method="REML")
    assert abs(np.median(post_unif.draws("mu")) - reml.beta[0]) < 0.25 * reml.se[0]


@pytest.mark.slow
def test_meta_regression_near_reml(post_reg, bcg):
    case = _case("bcg_metareg_ablat_REML")["expect"]
    s = post_reg.summary()
    assert list(s.index[:2]) == ["beta[intrcpt]", "beta[ablat]"]
    for j, coef in enumerate(["intrcpt", "ablat"]):
        med = s.loc[f"beta[{coef}]", "median"]
        assert abs(med - case["beta"][j]) < 0.3 * case["se"][j], (coef, med, case["beta"][j])
    assert post_reg.prob("beta[ablat] < 0") > 0.99
    assert post_reg.diagnostics()["divergences"] == 0


# ---------------------------------------------------------------------------
# (d) every family fits without divergences
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["post_hn", "post_common", "post_reg", "post_tau_by", "post_3level", "post_student"])
def test_family_fits_without_divergences(fixture, request):
    post = request.getfixturevalue(fixture)
    d = post.diagnostics()
    assert d["divergences"] == 0, d
    assert d["max_r_hat"] <= 1.01, d
    s = post.summary()
    assert s[["mean", "sd", "median", "eti_lower", "eti_upper"]].notna().all().all()


@pytest.mark.slow
def test_tau_by_rows(post_tau_by):
    s = post_tau_by.summary()
    for g in ("alternate", "random", "systematic"):
        assert f"tau[{g}]" in s.index and f"theta_new[{g}]" in s.index
    assert "theta_new" not in s.index
    fig = post_tau_by.forest()
    assert fig.__class__.__name__ == "Figure"


@pytest.mark.slow
def test_three_level_near_rma_mv(post_3level):
    case = _case("konstantopoulos_3level_REML")["expect"]
    s = post_3level.summary()
    assert {"mu", "tau", "tau_within", "theta_new"} <= set(s.index)
    assert abs(s.loc["mu", "median"] - case["beta"]) < 0.5 * case["se"]
    assert s.loc["tau", "eti_lower"] < np.sqrt(case["sigma2"][0]) < s.loc["tau", "eti_upper"]
    assert s.loc["tau_within", "eti_lower"] < np.sqrt(case["sigma2"][1]) < s.loc["tau_within", "eti_upper"]


@pytest.mark.slow
def test_student_t_has_nu(post_student):
    s = post_student.summary()
    assert "nu" in s.index
    assert s.loc["nu", "mean"] > 0


# ---------------------------------------------------------------------------
# (e) reproducibility and compile once
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_identical_draws(ma_hn, post_hn):
    again = _fit(ma_hn)
    for name in ("mu", "tau", "theta", "theta_new"):
        np.testing.assert_array_equal(again.idata.posterior[name].values, post_hn.idata.posterior[name].values)
    np.testing.assert_array_equal(again.idata.prior["tau"].values, post_hn.idata.prior["tau"].values)
    other = _fit(ma_hn, seed=12)
    assert not np.array_equal(other.draws("mu"), post_hn.draws("mu"))


@pytest.mark.slow
def test_refit_new_prior_scale_and_data_reuses_compiled_model(ma_hn, post_hn, bcg):
    entry = post_hn._cache_entry
    compiled = entry.nutpie_compiled
    assert compiled is not None and entry.compiles["nutpie"] == 1
    ma2 = ma_hn.with_priors({"tau": bm.priors.HalfNormal(1.0)})
    assert ma2._pymc_cache is ma_hn._pymc_cache
    post2 = _fit(ma2, **SMALL)
    assert post2._cache_entry is entry
    assert entry.nutpie_compiled is compiled
    # prior draws are made when read: compiled at most once
    assert entry.compiles["nutpie"] == 1 and entry.compiles["prior"] <= 1
    assert post2.fit_info["compiled"] is False and post2.fit_info["model_built"] is False
    # the new hyperparameter is in effect: a wider prior lets tau grow
    assert post2.draws("tau").mean() > post_hn.draws("tau").mean()
    assert repr(post2.spec.priors["tau"]) == "HalfNormal(sigma=1)"
    # new data of the same shape: same compiled model, new numbers
    post3 = _fit(bm.MetaAnalysis(bcg.assign(yi=bcg["yi"] + 1.0), priors=HN), **SMALL)
    assert post3._cache_entry is entry and entry.compiles["nutpie"] == 1
    assert post3.draws("mu").mean() == pytest.approx(post_hn.draws("mu").mean() + 1.0, abs=0.1)


@pytest.mark.slow
def test_pymc_sampler_reproducible_and_reuses_step(bcg):
    ma = bm.MetaAnalysis(bcg, model="common", priors={"mu": bm.priors.Normal(0, 10)})
    kw = dict(draws=200, tune=200, chains=2, seed=5, sampler="pymc", cores=1, warn=False)
    p1 = ma.fit(**kw)
    p2 = ma.with_priors({"mu": bm.priors.Normal(0, 5)}).fit(**kw)
    p3 = ma.fit(**kw)
    assert p1.fit_info["sampler"] == "pymc"
    assert p2.fit_info["compiled"] is False and p1._cache_entry.compiles["pymc"] == 1
    np.testing.assert_array_equal(p1.draws("mu"), p3.draws("mu"))
    fe = bm.rma("yi", "vi", data=bcg, method="FE")
    assert abs(p1.draws("mu").mean() - fe.beta[0]) < 0.3 * fe.se[0]


# ---------------------------------------------------------------------------
# (f) results: summary, probabilities, diagnostics, comparison, save/load, plots
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_summary_rows_and_columns(post_hn, bcg):
    s = post_hn.summary()
    assert list(s.columns) == ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
    labels = [str(v) for v in bm.MetaAnalysis(bcg).spec.labels]
    assert list(s.index) == ["mu", "tau"] + [f"theta[{lab}]" for lab in labels] + ["theta_new"]
    h = post_hn.summary(hdi=True, prob=0.9)
    assert {"hdi_lower", "hdi_upper"} <= set(h.columns)
    # the shortest interval of the draws holds one draw more than the interpolated ETI spans, so for a
    # near-symmetric theta it can be wider by a draw spacing (up to 2.7e-4 relative over 6 seeds)
    assert (h["hdi_upper"] - h["hdi_lower"] <= (h["eti_upper"] - h["eti_lower"]) * (1 + 1e-3)).all()
    assert (h["eti_upper"] - h["eti_lower"] < s["eti_upper"] - s["eti_lower"]).all()


@pytest.mark.slow
def test_probabilities(post_hn):
    mu = post_hn.draws("mu")
    assert post_hn.prob("mu > 0") == pytest.approx(np.mean(mu > 0))
    assert post_hn.probability("mu < -0.2") == pytest.approx(np.mean(mu < -0.2))
    assert post_hn.p_greater("mu", 0) == post_hn.prob("mu > 0")
    assert post_hn.p_less("mu", -0.2) == post_hn.prob("mu < -0.2")
    assert post_hn.p_less("mu", -0.2) > 0.95
    assert 0 <= post_hn.prob("theta[1] < mu") <= 1
    with pytest.raises(KeyError):
        post_hn.prob("beta > 0")


@pytest.mark.slow
def test_diagnostics_flag_bad_fit(ma_hn, post_hn):
    good = post_hn.diagnostics()
    assert isinstance(good, Diagnostics) and good.passed, good
    with pytest.warns(SamplingWarning, match="target_accept|draws|tune|chains"):
        bad = ma_hn.fit(draws=20, tune=0, chains=2, seed=3)
    d = bad.diagnostics()
    assert not d["passed"] and d["problems"] and d["advice"]
    assert "FAILED" in repr(bad)


@pytest.mark.slow
def test_prior_influence(post_hn, post_k3, bcg):
    pi = post_hn.prior_influence()
    assert list(pi.index) == ["mu", "tau"]
    assert 0 < pi.loc["tau", "ratio"] < 0.8 and pi.loc["tau", "note"] == ""
    lo, hi = bm.priors.HalfNormal(0.5).ppf_tau([0.025, 0.975])
    assert pi.loc["tau", "prior_lower"] == pytest.approx(lo) and pi.loc["tau", "prior_upper"] == pytest.approx(hi)
    # k = 3: the prior dominates. The exact engine's ratio is 0.835 (quadrature quantiles); NUTS's,
    # from 10,000 draws, moves by 0.015 (sd over seeds 11-16: 0.823 to 0.862), so it may fall below
    # the 0.8 threshold on another machine (other rounding, other draws): within 4 sd of the exact
    # one, and with the note exactly when its ratio is above the threshold
    exact = bm.MetaAnalysis(bcg.iloc[:3], priors=HN).fit(engine="exact", seed=1).prior_influence().loc["tau"]
    assert exact["ratio"] > 0.8 and "prior dominates" in exact["note"]
    pk = post_k3.prior_influence().loc["tau"]
    assert abs(pk["ratio"] - exact["ratio"]) < 4 * 0.015, (pk["ratio"], exact["ratio"])
    assert ("prior dominates" in pk["note"]) == (pk["ratio"] > 0.8)


@pytest.mark.slow
def test_compare_frequentist(post_hn, post_reg, bcg):
    c = post_hn.compare_frequentist()
    assert list(c.index) == ["FE", "DL", "REML", "REML + KH", "Bayesian (nuts)"]
    assert list(c.columns) == ["estimate", "ci_lb", "ci_ub", "tau", "tau_ci_lb", "tau_ci_ub", "pi_lb", "pi_ub"]
    reml = bm.rma("yi", "vi", data=bcg, method="REML")
    assert c.loc["REML", "estimate"] == pytest.approx(reml.beta[0])
    assert c.loc["REML", "tau"] == pytest.approx(reml.tau)
    assert c.loc["FE", "tau"] == 0
    assert c.loc["REML + KH", "ci_ub"] - c.loc["REML + KH", "ci_lb"] != pytest.approx(c.loc["REML", "ci_ub"] - c.loc["REML", "ci_lb"])
    assert c.loc["Bayesian (nuts)", "estimate"] == pytest.approx(np.median(post_hn.draws("mu")))
    r = post_reg.compare_frequentist()
    assert r.index.names == ["method", "coef"]
    assert r.loc[("REML", "ablat"), "estimate"] == pytest.approx(_case("bcg_metareg_ablat_REML")["expect"]["beta"][1], rel=1e-6)
    assert ("Bayesian (nuts)", "intrcpt") in r.index


@pytest.mark.slow
def test_netcdf_round_trip(post_reg, post_tau_by, post_3level, tmp_path):
    for post in (post_reg, post_tau_by, post_3level):
        path = tmp_path / "post.nc"
        post.to_netcdf(path)
        again = bm.load_posterior(path)
        pd.testing.assert_frame_equal(again.summary(), post.summary())
        for name in post.idata.posterior.data_vars:
            np.testing.assert_array_equal(again.idata.posterior[name].values, post.idata.posterior[name].values)
        assert {k: repr(v) for k, v in again.spec.priors.items()} == {k: repr(v) for k, v in post.spec.priors.items()}
        np.testing.assert_array_equal(again.spec.X, post.spec.X)
        assert again.spec.coef_names == post.spec.coef_names and again.spec.labels == post.spec.labels
        assert again.spec.tau_by == post.spec.tau_by and again.spec.group_names == post.spec.group_names
        assert again.spec.cluster_names == post.spec.cluster_names
        if post.spec.cluster_index is not None:
            np.testing.assert_array_equal(again.spec.cluster_index, post.spec.cluster_index)
        assert again.engine == post.engine and again.fit_info["seed"] == post.fit_info["seed"]
        assert {"prior", "observed_data", "constant_data", "sample_stats"} <= set(again.idata.groups())
        assert again.diagnostics()["divergences"] == post.diagnostics()["divergences"]
        pd.testing.assert_frame_equal(again.compare_frequentist(), post.compare_frequentist())


@pytest.mark.slow
def test_idata_groups(post_hn, bcg):
    idata = post_hn.idata
    assert {"posterior", "sample_stats", "prior", "observed_data", "constant_data"} <= set(idata.groups())
    np.testing.assert_allclose(idata.observed_data["yi"].values, bcg["yi"].values)
    np.testing.assert_allclose(idata.constant_data["vi"].values, bcg["vi"].values)
    assert idata.prior["tau"].shape == (1, 1000)
    assert idata.posterior["theta"].dims == ("chain", "draw", "study")
    assert idata.posterior.attrs["sampler"] in ("nutpie", "pymc") and idata.posterior.attrs["seed"] == 11


@pytest.mark.slow
def test_repr_and_plots(post_hn, post_reg):
    from matplotlib.figure import Figure

    text = repr(post_hn)
    for piece in ("HalfNormal(sigma=0.5)", "Normal(mu=0, sigma=1)", "theta_new", "diagnostics: passed", "random-effects"):
        assert piece in text, piece
    fig = post_hn.forest()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Pooled effect" in labels and "Prediction (new study)" in labels
    assert ax.get_xlabel() == "Log risk ratio"
    assert isinstance(post_hn.plot_prior_posterior(), Figure)
    assert isinstance(post_hn.plot_trace(), Figure)
    assert isinstance(post_reg.forest(), Figure)
    assert isinstance(post_reg.plot_prior_posterior(), Figure)


# ---------------------------------------------------------------------------
# issue 9: priors the model does not use, small k counted in clusters, seeds
# ---------------------------------------------------------------------------

Y10 = np.linspace(-0.2, 0.4, 10)
V10 = np.full(10, 0.02)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(priors={"tau_within": "halfnormal(0.5)"}), "tau_within"),  # no cluster=
        (dict(priors={"nu": "gamma(2, 0.1)"}), "nu"),  # normal random effects
        (dict(model="common", priors={"tau": "halfnormal(0.5)"}), "tau"),
        (dict(model="common", priors={"nu": "gamma(2, 0.1)"}, likelihood="student_t"), "nu"),
        (dict(priors={"beta": "normal(0, 1)"}), "beta"),  # no moderators
        (dict(priors={"beta": "normal(0, 1)"}, mods="~ 1"), "beta"),  # intercept only: no slopes
    ],
)
def test_prior_for_a_parameter_the_model_does_not_have_is_an_error(kwargs, key):
    with pytest.raises(ValueError, match=f"priors\\['{key}'\\] was given but the model does not use it"):
        bm.MetaAnalysis(pd.DataFrame({"yi": Y10, "vi": V10, "x": np.arange(10.0)}), **kwargs)


def test_priors_the_model_uses_are_accepted_and_with_priors_checks_too():
    df = pd.DataFrame({"yi": Y10, "vi": V10, "x": np.arange(10.0), "c": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]})
    bm.MetaAnalysis(df, cluster="c", priors={"tau_within": "halfnormal(0.5)"})
    bm.MetaAnalysis(df, likelihood="student_t", priors={"nu": "gamma(2, 0.1)"})
    ma = bm.MetaAnalysis(df, mods="~ x", priors={"beta": "normal(0, 1)"})
    assert ma.priors["beta"] == bm.priors.Normal(0, 1)
    with pytest.raises(ValueError, match="does not use it"):
        bm.MetaAnalysis(df).with_priors({"nu": "gamma(2, 0.1)"})


@pytest.mark.parametrize("n_clusters, expected", [(1, "only 1 cluster (10 effects)"),
                                                  (2, "only 2 clusters (10 effects)"),
                                                  (4, "4 clusters (10 effects) (< 5)")])
def test_small_k_warning_of_three_level_models_counts_clusters(n_clusters, expected):
    cluster = np.arange(10) % n_clusters
    ma = bm.MetaAnalysis(yi=Y10, vi=V10, cluster=cluster)
    with pytest.warns(SmallKWarning, match=re.escape(expected)) as rec:
        ma._warn_small_k()
    assert "between-cluster tau" in str(rec[0].message)


def test_small_k_warning_of_subgroup_tau_counts_the_smallest_subgroup():
    df = pd.DataFrame({"yi": Y10, "vi": V10, "g": ["a"] * 8 + ["b"] * 2})
    with pytest.warns(SmallKWarning, match="only k = 2 studies in subgroup 'b'"):
        bm.MetaAnalysis(df, tau_by="g")._warn_small_k()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallKWarning)
        bm.MetaAnalysis(yi=Y10, vi=V10)._warn_small_k()  # ten studies: no warning


@pytest.mark.parametrize("engine", ["exact", "nuts"])
@pytest.mark.parametrize("bad, error", [(1.5, TypeError), ("1", TypeError), (True, TypeError), (-3, ValueError)])
def test_seed_must_be_a_nonnegative_integer(engine, bad, error):
    ma = bm.MetaAnalysis(yi=Y10, vi=V10)
    with pytest.raises(error, match="seed"):
        ma.fit(engine=engine, seed=bad)  # refused before anything is compiled or sampled


# ---------------------------------------------------------------------------
# issue 15: one compiled model for every k of a family (padding to size buckets)
# ---------------------------------------------------------------------------


def test_padded_structure_key_and_data_do_not_depend_on_k():
    specs = [bm.MetaAnalysis(yi=np.linspace(0, 1, k), vi=np.full(k, 0.05), priors=HN).spec for k in (3, 7, 20, 55)]
    keys = {pmm.structure_key(s, pad=True) for s in specs}
    assert len(keys) == 1
    assert len({pmm.structure_key(s) for s in specs}) == 4  # unpadded: one model per k, as before
    v = pmm.data_values(specs[0], pad=True)
    assert v["yi_data"].shape == v["vi"].shape == v["mask"].shape == (pmm.STUDY_BUCKET,)
    assert v["mask"].sum() == 3 and np.all(v["vi"] > 0)
    big = bm.MetaAnalysis(yi=np.zeros(65), vi=np.ones(65), priors=HN).spec
    assert pmm.padded_sizes(big, pad=True) == (128, 0) and pmm.structure_key(big, pad=True) not in keys


@pytest.mark.slow
def test_nuts_compiles_once_across_k_and_matches_exact():
    from bayesma.models.nuts import ModelCache

    cache = ModelCache()
    rng = np.random.default_rng(7)
    for k in (3, 7, 20, 55):
        ma = bm.MetaAnalysis(yi=rng.normal(0.3, 0.3, k), vi=rng.uniform(0.01, 0.1, k), priors=HN)
        ma._pymc_cache = cache
        post = ma.fit(draws=1000, tune=400, chains=2, seed=3, warn=False)
        assert post.idata.posterior["theta"].shape == (2, 1000, k)
        assert list(post.idata.posterior["study"].values) == ma.spec.labels
        assert post.idata.prior["theta"].shape[-1] == k
        # the padded studies do not change the posterior: NUTS agrees with the exact engine
        exact = ma.fit(engine="exact", seed=3).summary()
        s = post.summary()
        for row in ("mu", "tau", s.index[s.index.str.startswith("theta[")][-1]):
            tol = 5 * s.loc[row, "sd"] / math.sqrt(s.loc[row, "ess_bulk"]) + 0.01
            assert abs(s.loc[row, "mean"] - exact.loc[row, "mean"]) < tol, (k, row)
    assert len(cache) == 1
    entry = post._cache_entry
    assert entry.compiles == {"nutpie": 1, "pymc": 0, "prior": 1}


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs, par",
    [
        ({}, "auto"),
        ({"model": "common"}, "auto"),
        ({"mods": "~ ablat"}, "auto"),
        ({"tau_by": "alloc"}, "auto"),
        ({"likelihood": "student_t"}, "auto"),
        ({"likelihood": "student_t"}, "centered"),
        ({}, "noncentered"),
        ({"cluster": "alloc", "likelihood": "student_t"}, "auto"),
        ({"cluster": "alloc"}, "auto"),
    ],
)
def test_padding_adds_only_a_constant_to_the_log_posterior(bcg, kwargs, par):
    """The padded model's log density minus the unpadded one's does not depend on the real
    parameters (padded auxiliaries held fixed): the posterior of the real parameters is the same."""
    ma = bm.MetaAnalysis(bcg, priors={"mu": HN["mu"]} if kwargs.get("model") == "common" else HN, **kwargs)
    m0, _ = pmm.build_model(ma.spec, par)
    m1, _ = pmm.build_model(ma.spec, par, pad=True)
    assert len(m1.coords["study"]) == pmm.STUDY_BUCKET
    if "cluster" in kwargs:
        assert len(m1.coords["cluster"]) == pmm.CLUSTER_BUCKET
    f0, f1 = m0.compile_logp(mode="FAST_COMPILE"), m1.compile_logp(mode="FAST_COMPILE")
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(3):
        p0 = {name: rng.normal(0, 0.7, np.shape(v)) for name, v in m0.initial_point().items()}
        p1 = {}
        for name, v in m1.initial_point().items():
            n = np.shape(p0[name])
            p1[name] = p0[name] if n == np.shape(v) else np.r_[p0[name], np.full(np.shape(v)[0] - n[0], 0.3)]
        diffs.append(float(f1(p1)) - float(f0(p0)))
    np.testing.assert_allclose(diffs, diffs[0], rtol=0, atol=1e-8)


@pytest.mark.slow
def test_nuts_posterior_pickles_without_its_compiled_model(post_hn):
    """Process pools and Dask return fits by pickling them: the compiled sampler stays behind."""
    import pickle

    back = pickle.loads(pickle.dumps(post_hn))
    assert not hasattr(back, "_cache_entry")
    pd.testing.assert_frame_equal(back.summary(), post_hn.summary())
    assert back.diagnostics().line() == post_hn.diagnostics().line()
