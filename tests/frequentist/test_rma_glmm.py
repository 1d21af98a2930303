"""rma_glmm against metafor 3.8-1's rma.glmm (lme4 / BiasedUrn), and its inputs.

References: tests/data/reference/metafor/metafor_cases_v3.json (kind "rma_glmm") and
metafor_glmm.json (made by metafor_glmm.R beside it).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import bayesma as bm
from bayesma.errors import ConvergenceWarning, InputError, MissingDataWarning
from bayesma.frequentist.glmm.hypergeometric import NCHTables, nch_marginal_loglik
from bayesma.frequentist.glmm.likelihood import marginal_loglik

REF = Path(__file__).resolve().parents[1] / "data" / "reference" / "metafor"


def _cases():
    v3 = [c for c in json.loads((REF / "metafor_cases_v3.json").read_text())["cases"] if c["kind"] == "rma_glmm"]
    more = json.loads((REF / "metafor_glmm.json").read_text())["cases"]
    return v3 + [c for c in more if c.get("options") is None]  # cases with options: test_rma_glmm_options.py


CASES = {c["name"]: c for c in _cases()}

# metafor's numbers that bayesma does not reproduce to 2e-3, and why (checked separately below)
_LOOSE = {
    # lme4's standard errors for UM.RS come from its finite-difference Hessian of the Laplace deviance;
    # ours invert the observed information of the same likelihood: 0.4% (bcg) to 1.3% (nielweise) apart
    "se": {"bcg_glmm_UMRS": 6e-3, "bcg_glmm_UMRS_ablat": 6e-3, "nielweise2008_glmm_IRR_UMRS": 2e-2},
    "QM": {"bcg_glmm_UMRS": 1e-2, "bcg_glmm_UMRS_ablat": 1e-2, "nielweise2008_glmm_IRR_UMRS": 3e-2},
    "QE_Wld": {"bcg_glmm_UMRS": 6e-3, "bcg_glmm_UMRS_ablat": 2e-2, "nielweise2008_glmm_IRR_UMRS": 3e-2,
               "zerocells_glmm_UMRS": None},
}
# CM.EL's Wald test: metafor's comes from optim's stopping point on the saturated model (see
# test_cmel_wald_test_is_the_exact_one); near tau2 = 0 (ablat) metafor's bobyqa stops short of the optimum.
_SKIP = {("bcg_glmm_CMEL", "QE_Wld"), ("bcg_glmm_CMEL_FE", "QE_Wld"), ("bcg_glmm_CMEL_ablat", "QE_Wld")}


def _fit(case, **kw):
    df = pd.DataFrame(case["input"])
    args = {a: col for a, col in zip(case["args"], case["cols"])}
    model = case["model"] if case["measure"] in ("OR", "IRR") else "UM.FS"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        return bm.rma_glmm(case["measure"], **args, mods=case.get("mods"), model=model,
                           method=case.get("method", "ML"), data=df, nAGQ=case.get("nAGQ"),
                           test=case.get("test", "z"), **kw)


@pytest.fixture(scope="module")
def fits():
    return {name: _fit(c) for name, c in CASES.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_estimates_match_metafor(fits, name):
    case, res = CASES[name], fits[name]
    e = case["expect"]
    rtol_beta = 5e-3 if name == "bcg_glmm_CMEL_ablat" else 2e-3
    # beta: relative to the coefficient's standard error where the coefficient is near 0
    beta, ref_b = np.atleast_1d(res.beta), np.atleast_1d(np.asarray(e["beta"], dtype=float))
    assert np.all(np.abs(beta - ref_b) <= rtol_beta * np.maximum(np.abs(ref_b), np.atleast_1d(e["se"])))
    if name == "bcg_glmm_CMEL_ablat":
        assert res.tau2 == pytest.approx(e["tau2"], abs=5e-4)  # ours has the higher log-likelihood
    else:
        # zerocells with dose: tau2 = 4.9 on 7 studies, where lme4 stops 3e-3 short (it warns: max|grad| 0.006)
        assert res.tau2 == pytest.approx(e["tau2"], rel=4e-3 if name == "zerocells_glmm_UMFS_dose" else 2e-3, abs=1e-7)
    for key in ("se", "QE_Wld", "QE_LRT", "I2", "H2", "QM"):
        if (name, key) in _SKIP or e.get(key) is None:
            continue
        tol = _LOOSE.get(key, {}).get(name, 2e-3)
        if tol is None:
            continue
        if name == "bcg_glmm_CMEL_ablat":
            tol = max(tol, 0.1)
        if name == "zerocells_glmm_UMFS_dose":
            tol = max(tol, 4e-3)
        assert np.allclose(np.atleast_1d(getattr(res, key)), e[key], rtol=tol, atol=1e-4 if key == "QM" else 1e-6), key
    if e.get("sigma2") is not None:
        assert res.sigma2 == pytest.approx(e["sigma2"], rel=2e-3)
    # confidence limits: within 2e-3 of metafor's (or of the standard error, near 0; UM.RS's looser se)
    tol_ci = max(rtol_beta, 2 * _LOOSE["se"].get(name, 0.0), 0.05 if name == "bcg_glmm_CMEL_ablat" else 0.0)
    for key in ("ci_lb", "ci_ub"):
        ref = np.atleast_1d(np.asarray(e[key], dtype=float))
        assert np.all(np.abs(np.atleast_1d(getattr(res, key)) - ref)
                      <= tol_ci * np.maximum(np.abs(ref), np.atleast_1d(e["se"]))), key
    assert res.k == e.get("k", res.k)
    assert res.logLik == pytest.approx(e["logLik"], rel=2e-4, abs=1e-2 if name == "zerocells_glmm_UMFS_dose" else 2e-3)


@pytest.mark.parametrize("name", ["bcg_glmm_CMEL", "bcg_glmm_CMEL_FE", "zerocells_glmm_CMEL"])
def test_cmel_matches_metafor_to_1e5(fits, name):
    e, res = CASES[name]["expect"], fits[name]
    # metafor's integrate() works to rel.tol 1.2e-4; the one-sided integrand of the zero-cell set leaves 1.2e-5
    rtol = 2e-5 if name.startswith("zerocells") else 1e-5
    assert np.allclose(res.beta, e["beta"], rtol=rtol)
    assert res.tau2 == pytest.approx(e["tau2"], rel=rtol, abs=1e-12)
    assert res.logLik == pytest.approx(e["logLik"], rel=1e-7)
    if e["QE_LRT"] is not None:  # metafor's saturated fit failed on the zero-cell set (NA)
        assert res.QE_LRT == pytest.approx(e["QE_LRT"], rel=1e-6)


def test_random_effects_optimum_is_at_least_metafors(fits):
    """Where metafor reports the marginal log-likelihood (UM.RS; CM.EL), ours at our optimum is >= it."""
    for name in ("bcg_glmm_UMRS", "bcg_glmm_UMRS_ablat", "nielweise2008_glmm_IRR_UMRS", "zerocells_glmm_UMRS",
                 "bcg_glmm_CMEL", "bcg_glmm_CMEL_ablat", "zerocells_glmm_CMEL"):
        assert fits[name].logLik_marginal >= CASES[name]["expect"]["logLik"] - 1e-6, name


def test_cmel_wald_test_is_the_exact_one(fits):
    """CM.EL's QE_Wld: sum of I_i (theta_i - theta_w)^2 over the conditional MLEs, by an independent route."""
    c = CASES["bcg_glmm_CMEL"]["input"]
    a, b, cc, d = (np.array(c[n], dtype=float) for n in ("tpos", "tneg", "cpos", "cneg"))
    th, info = [], []
    for i in range(a.size):
        M, n, N = a[i] + b[i] + cc[i] + d[i], a[i] + b[i], a[i] + cc[i]

        def nll(t):
            return -stats.nchypergeom_fisher.logpmf(a[i], M, n, N, np.exp(t))
        from scipy.optimize import minimize_scalar
        t = minimize_scalar(nll, bounds=(-10, 10), method="bounded", options={"xatol": 1e-10}).x
        h = 1e-4
        info.append((nll(t + h) - 2 * nll(t) + nll(t - h)) / h**2)
        th.append(t)
    th, info = np.array(th), np.array(info)
    q = np.sum(info * th**2) - np.sum(info * th) ** 2 / np.sum(info)
    assert fits["bcg_glmm_CMEL"].QE_Wld == pytest.approx(q, rel=1e-5)


def test_more_nodes_converge(fits):
    """UM.FS with 1, 7 and 21 nodes: 7 is within 1e-5 of 21, the Laplace approximation 2e-5 away; the
    7-to-21 difference is metafor's (lme4's) to 2e-5: the quadrature is the same."""
    b7, b21, b1 = (fits[n].beta[0] for n in ("bcg_glmm_UMFS", "bcg_glmm_UMFS_nAGQ21", "bcg_glmm_UMFS_nAGQ1"))
    e7, e21, e1 = (CASES[n]["expect"]["beta"] for n in ("bcg_glmm_UMFS", "bcg_glmm_UMFS_nAGQ21", "bcg_glmm_UMFS_nAGQ1"))
    assert abs(b7 - b21) < 1e-5 < abs(b1 - b21) < 1e-4
    assert abs((b7 - b21) - (e7 - e21)) < 2e-5
    # lme4's Laplace fit (nAGQ=1) lands 1e-4 from its 21-node one, ours 2e-5: both within 2e-3 of each other
    assert abs(b1 - e1) < 2e-3 * abs(e1)


def test_binomial_normal_likelihood_against_quad():
    y, n = np.array([[4.0, 11.0], [0.0, 3.0]]), np.array([[123.0, 139.0], [30.0, 31.0]])
    fixed = np.array([[-3.0, -2.5], [-2.0, -2.2]])
    ll = marginal_loglik(y, fixed, np.array([[0.5], [-0.5]]), np.array([0.8]), size=n, n_nodes=21)
    for i in range(2):
        def g(u):
            p1, p2 = 1 / (1 + np.exp(-(fixed[i, 0] + u / 2))), 1 / (1 + np.exp(-(fixed[i, 1] - u / 2)))
            return np.exp(stats.binom.logpmf(y[i, 0], n[i, 0], p1) + stats.binom.logpmf(y[i, 1], n[i, 1], p2)) \
                * stats.norm.pdf(u, 0, 0.8)
        assert ll[i] == pytest.approx(np.log(integrate.quad(g, -8, 8, epsabs=0, epsrel=1e-12)[0]), rel=1e-9)


def test_poisson_normal_two_effects_against_dblquad():
    y, off = np.array([[7.0, 11.0]]), np.log(np.array([[1344.0, 1988.0]]))
    fixed = off + np.array([[-5.0, -5.2]])
    Z = np.array([[1.0, 0.5], [1.0, -0.5]])
    ll = marginal_loglik(y, fixed, Z, np.array([0.7, 0.4]), family="poisson", n_nodes=15)

    def g(u, b):
        eta = fixed[0] + Z @ np.array([b, u])
        return np.exp(np.sum(stats.poisson.logpmf(y[0], np.exp(eta)))) * stats.norm.pdf(b, 0, 0.7) * stats.norm.pdf(u, 0, 0.4)
    ref = integrate.dblquad(g, -4, 4, -3, 3, epsabs=0, epsrel=1e-10)[0]
    assert ll[0] == pytest.approx(np.log(ref), rel=1e-7)


def test_hypergeometric_likelihood_against_scipy():
    t = NCHTables(np.array([29.0]), np.array([7470.0]), np.array([45.0]), np.array([7232.0]))
    ll = nch_marginal_loglik(t, np.array([-0.5]), 0.6, n_nodes=21)

    def g(u):
        return np.exp(stats.nchypergeom_fisher.logpmf(29, 14776, 7499, 74, np.exp(-0.5 + u))) * stats.norm.pdf(u, 0, 0.6)
    assert ll[0] == pytest.approx(np.log(integrate.quad(g, -5, 5, epsabs=0, epsrel=1e-12)[0]), rel=1e-9)


def test_double_zero_studies_are_dropped_with_a_message():
    c = CASES["zerocells_glmm_UMFS"]["input"]
    df = pd.DataFrame(c)
    with pytest.warns(MissingDataWarning, match="'A'.*double|double.*'A'|study 'A'"):
        res = bm.rma_glmm("OR", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=df, slab="study")
    assert res.k == 7 and res.dropped == ["A (double zero)"]


@pytest.mark.parametrize("change, column, match", [
    ({"ai": [0, 2, 5, 0, 99, 3, 7, 1]}, "ai", "more events"),
    ({"ci": [0, 6, -9, 3, 20, 0, 11, 20]}, "ci", "negative"),
])
def test_bad_tables_name_the_study_and_column(change, column, match):
    df = pd.DataFrame(CASES["zerocells_glmm_UMFS"]["input"])
    for k, v in change.items():
        df[k] = v
    with pytest.raises(InputError, match=match) as err:
        bm.rma_glmm("OR", ai="ai", n1i="n1i", ci="ci", n2i="n2i", data=df, slab="study")
    assert err.value.column == column and err.value.study is not None and err.value.row is not None


def test_zero_person_time_names_the_study():
    df = pd.DataFrame(CASES["nielweise2008_glmm_IRR"]["input"])
    df.loc[2, "t2i"] = 0
    with pytest.raises(InputError, match="person-time") as err:
        bm.rma_glmm("IRR", x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i", data=df)
    assert err.value.row == 3 and err.value.column == "t2i"


def test_printout_and_summary(fits):
    res = fits["bcg_glmm_UMFS_ablat"]
    text = repr(res)
    assert "Mixed-Effects Model (k = 13" in text and "Test of Moderators (coefficient 2)" in text
    assert "Unconditional Model with Fixed Study Effects" in text
    s = res.summary()
    assert list(s.index) == ["intrcpt", "ablat"] and list(s.columns)[:2] == ["estimate", "se"]


@pytest.mark.parametrize("name", ["bcg_glmm_UMFS", "bcg_glmm_UMFS_alloc", "zerocells_glmm_UMFS_dose",
                                  "bcg_glmm_UMFS_nAGQ1"])
def test_umfs_optimum_is_at_least_metafors_with_the_same_quadrature(fits, name):
    """metafor reports UM.FS's conditional log-likelihood, so compare marginals: the same quadrature at
    metafor's beta and tau2 (the study intercepts profiled) is not above ours at our optimum. Where the
    estimates differ by more than 1e-3 (alloc, dose), lme4 stopped short (it warns about convergence)."""
    from bayesma.frequentist.glmm.data import glmm_data
    from bayesma.frequentist.glmm.models import counts_for, problem
    from bayesma.frequentist.glmm.newton import LocalProblem, maximize

    case, res = CASES[name], fits[name]
    e = case["expect"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        gd = glmm_data("OR", dict(zip(case["args"], case["cols"])), case.get("mods"), pd.DataFrame(case["input"]),
                       None)
    cnt = counts_for("OR", "UM.FS", gd.counts)
    k, p = gd.X.shape
    prob = problem("UM.FS", cnt, gd.X, True, res.nAGQ)
    fixed = np.zeros(prob.A.shape[2])
    fixed[:p] = e["beta"]
    fixed[-1] = 0.5 * np.log(e["tau2"])
    off = np.einsum("krP,P->kr", prob.A, fixed)
    sub = LocalProblem(prob.A[:, :, p:p + k], lambda S: prob.f(S + off), prob.names[p:p + k])
    start = np.log((cnt.y[:, 1] + 0.5) / (cnt.size[:, 1] - cnt.y[:, 1] + 0.5))
    _, ll_metafor, _ = maximize(sub, start)
    assert res.logLik_marginal >= ll_metafor - 1e-9


def test_proportion_larger_than_its_size_names_the_study():
    df = pd.DataFrame(CASES["pritz1997_glmm_PLO"]["input"])
    df.loc[4, "xi"] = 11
    with pytest.raises(InputError, match="more events") as err:
        bm.rma_glmm("PLO", xi="xi", ni="ni", data=df)
    assert err.value.row == 5 and err.value.column == "xi"


def test_measure_without_two_groups_refuses_a_conditional_model():
    df = pd.DataFrame(CASES["pritz1997_glmm_PLO"]["input"])
    with pytest.raises(bm.UnsupportedModelError):
        bm.rma_glmm("PLO", xi="xi", ni="ni", data=df, model="CM.EL")


@pytest.mark.parametrize("name", sorted(n for n in CASES if "AIC" in CASES[n]["expect"]))
def test_fit_statistics_and_se_tau2_match_metafor(fits, name):
    e, res = CASES[name]["expect"], fits[name]
    tol = 1e-2 if name == "zerocells_glmm_UMFS_dose" else 2e-3
    assert res.fit_stats.loc["AIC", "ML"] == pytest.approx(e["AIC"], abs=tol * 5)
    if e.get("se_tau2") is not None and name != "bcg_glmm_CMEL_ablat":
        assert res.se_tau2 == pytest.approx(e["se_tau2"], rel=2e-3)
    elif e.get("se_tau2") is None:
        assert not np.isfinite(res.se_tau2)


def test_um_rs_with_more_nodes_converges_beyond_laplace():
    """UM.RS's two random effects on a tensor-product grid: 9 and 15 nodes agree to 1e-6, the Laplace
    approximation (metafor's only option for UM.RS) is 1e-4 away in beta and 0.6% in tau2."""
    dat = bm.load_dataset("dat.bcg")
    fit = {n: bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, model="UM.RS", nAGQ=n)
           for n in (1, 9, 15)}
    assert fit[9].beta[0] == pytest.approx(fit[15].beta[0], rel=1e-6)
    assert fit[9].tau2 == pytest.approx(fit[15].tau2, rel=1e-5)
    assert fit[15].logLik_marginal > fit[1].logLik_marginal
    assert abs(fit[1].tau2 / fit[15].tau2 - 1) > 1e-3


@pytest.mark.parametrize("name", ["bcg_glmm_UMFS_ablat_t", "pritz1997_glmm_PLO_t"])
def test_t_tests_match_metafor(fits, name):
    """test="t": t(k - p) p-values and limits, QM as F(m, k - p)."""
    e, res = CASES[name]["expect"], fits[name]
    assert res.dfs == res.k - res.p and list(res.QMdf) == list(e["QMdf"])
    assert np.allclose(res.pval, e["pval"], rtol=2e-3)
    assert np.allclose(res.ci_lb, e["ci_lb"], rtol=2e-3) and np.allclose(res.ci_ub, e["ci_ub"], rtol=2e-3)
    assert res.QM == pytest.approx(e["QM"], rel=2e-3) and res.QMp == pytest.approx(e["QMp"], rel=2e-3)
    assert ("F(df1 = 1, df2 = 11)" in repr(res)) == (res.p > 1)


def test_single_study_fixed_effects_has_no_heterogeneity_statistics():
    res = bm.rma_glmm("OR", ai=[4], bi=[100], ci=[8], di=[95], method="FE")
    a, b, c, d = 4, 100, 8, 95
    assert res.beta[0] == pytest.approx(np.log(a * d / (b * c)), rel=1e-8)
    assert res.se[0] == pytest.approx(np.sqrt(1 / a + 1 / b + 1 / c + 1 / d), rel=1e-6)
    assert np.isnan(res.I2) and np.isnan(res.QE_Wld) and "Wld(df = NA)" in repr(res)


def test_no_events_in_a_group_warns_that_the_estimate_is_infinite():
    with pytest.warns(ConvergenceWarning, match="no study has an event in group 1"):
        bm.rma_glmm("OR", ai=[0, 0, 0], bi=[20, 19, 18], ci=[1, 3, 2], di=[19, 17, 18], model="CM.EL")
