"""bm.robma against RoBMA 3.6.1 (tests/data/reference/robma/robma_lehmann2018.json), the exact engine
(no-bias models), an independent quadrature (one-cut-point selection model) and the ML selection
model on a large simulated data set."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR
from scipy import optimize, stats

import bayesma as bm
from bayesma.bias import FitData, ModelDef, WeightFunction, fit_model
from bayesma.bias.components import InverseGammaTau, psma_bias

REF = json.loads((REFERENCE_DIR / "robma/robma_lehmann2018.json").read_text())


@pytest.fixture(scope="module")
def lehmann():
    dat = bm.load_dataset("dat.lehmann2018")
    return dat


@pytest.fixture(scope="module")
def fit(lehmann):
    return bm.robma(lehmann, yi="yi", vi="vi", measure="SMD")


def test_input_matches_reference(lehmann):
    np.testing.assert_allclose(lehmann["yi"], REF["input"]["d"], rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(lehmann["vi"]), REF["input"]["se"], rtol=1e-12)
    z = bm.bias.d_to_z(lehmann["yi"].to_numpy())
    sz = bm.bias.se_d_to_z(lehmann["yi"].to_numpy(), np.sqrt(lehmann["vi"].to_numpy()))
    np.testing.assert_allclose(z, REF["input_fitting_scale"]["z"], atol=1e-13)
    np.testing.assert_allclose(sz, REF["input_fitting_scale"]["se_z"], atol=1e-13)


def test_models_priors_and_prior_probabilities(fit):
    ref = pd.DataFrame(REF["models"])
    assert len(fit.models) == 36
    np.testing.assert_allclose(fit.models["prior_prob"], ref["prior_prob"], rtol=1e-12)
    assert list(fit.models["bias"]) == list(ref["Bias"])
    assert list(fit.models["effect"]) == list(ref["Effect"])
    assert list(fit.models["heterogeneity"]) == list(ref["Heterogeneity"])
    assert {c.label for c, _ in psma_bias()} == {p["print"].replace("omega", "omega") for p in REF["priors"]["bias"].values()}
    text = repr(fit)
    for p in REF["priors"]["bias"].values():
        assert p["print"] in text
    assert "InvGamma(1, 0.15)" in text and "Normal(0, 1)" in text


def test_marginal_likelihoods_match_robma(fit):
    ref = np.array([m["marglik"] for m in REF["models"]])
    diff = fit.models["log_ml"].to_numpy() - ref
    # RoBMA's bridge sampling and our importance sampling each carry ~0.005 of MC error
    assert np.max(np.abs(diff)) < 0.03, diff
    assert (fit.models["log_ml_se"] < 0.01).all()


def test_inclusion_bayes_factors_and_probabilities(fit):
    comp = fit.components()
    for name, ref in REF["components"].items():
        assert comp.loc[name, "models"] == ref["models"]
        assert comp.loc[name, "prior_prob"] == pytest.approx(ref["prior_prob"])
        assert comp.loc[name, "post_prob"] == pytest.approx(ref["post_prob"], abs=0.02)
        assert comp.loc[name, "log_BF"] == pytest.approx(math.log(ref["inclusion_BF"]), abs=0.1)


def test_model_class_probabilities(fit):
    ref = pd.DataFrame(REF["models"])
    ref_cls = np.where(ref["Bias"] == "", "none", np.where(ref["Bias"].str.startswith("omega"), "weightfunction",
                                                            ref["Bias"].str.split(" ").str[0]))
    ours = fit.bias_classes()["post_prob"]
    theirs = ref.groupby(ref_cls)["post_prob"].sum()
    for cls in ("none", "weightfunction", "PET", "PEESE"):
        assert ours[cls] == pytest.approx(theirs[cls], abs=0.02)
    # the 4 effect x heterogeneity classes and every single model
    ours_m = fit.models.reset_index()
    for keys, grp in ref.groupby(["Effect", "Heterogeneity"]):
        sel = (ours_m["effect"] == keys[0]) & (ours_m["heterogeneity"] == keys[1])
        assert ours_m.loc[sel, "post_prob"].sum() == pytest.approx(grp["post_prob"].sum(), abs=0.02)
    np.testing.assert_allclose(fit.models["post_prob"], ref["post_prob"], atol=0.02)


def test_model_averaged_estimates(fit):
    est = fit.estimates()
    ref = REF["model_averaged_estimates"]
    for par in ("mu", "tau"):
        for ours, theirs in (("mean", "Mean"), ("median", "Median"), ("0.025", "0.025"), ("0.975", "0.975")):
            assert est.loc[par, ours] == pytest.approx(ref[par][theirs], abs=0.02), (par, ours)
    for par in ("PET", "omega[0.025,0.05]", "omega[0.05,0.5]", "omega[0.5,0.95]", "omega[0.975,1]"):
        for ours, theirs in (("mean", "Mean"), ("median", "Median"), ("0.025", "0.025"), ("0.975", "0.975")):
            assert est.loc[par, ours] == pytest.approx(ref[par][theirs], abs=0.05), (par, ours)
    assert est.loc["PEESE", "mean"] == pytest.approx(ref["PEESE"]["Mean"], abs=0.02)
    assert est.loc["PEESE", "0.975"] == pytest.approx(ref["PEESE"]["0.975"], rel=0.1)
    cond = fit.estimates(conditional=True)
    assert cond.loc["mu", "mean"] > est.loc["mu", "mean"]  # the spike at 0 pulls the averaged mean down


def test_no_bias_ensemble_matches_exact_engine(lehmann):
    d = lehmann["yi"].to_numpy()[40:55]
    se = np.sqrt(lehmann["vi"].to_numpy())[40:55]
    fit = bm.robma(yi=d, sei=se, ensemble="none", priors={"heterogeneity": bm.priors.HalfNormal(0.5)})
    # the same four models on Fisher's z: mu_z = mu_d / 2 ~ N(0, 1/2), tau_z = tau_d / 2 ~ HN(1/4)
    z, sz = bm.bias.d_to_z(d), bm.bias.se_d_to_z(d, se)
    ma = bm.MetaAnalysis(yi=z, vi=sz**2, priors={"mu": bm.priors.Normal(0, 0.5), "tau": bm.priors.HalfNormal(0.25)})
    log_ml = {
        ("Spike(0)", "Spike(0)"): stats.norm.logpdf(z, 0, sz).sum(),
        ("Spike(0)", "HalfNormal(sigma=0.5)"): bm.exact.marginal_likelihood_null_effect(ma),
        ("Normal(0, 1)", "Spike(0)"): bm.exact.model_probabilities(ma).loc["common", "log_marginal_likelihood"],
        ("Normal(0, 1)", "HalfNormal(sigma=0.5)"): bm.exact.marginal_likelihood(ma),
    }
    exact = np.array([log_ml[(e, h)] for e, h in zip(fit.models["effect"], fit.models["heterogeneity"])])
    np.testing.assert_allclose(fit.models["log_ml"], exact, atol=0.005)
    post = np.exp(exact - exact.max())
    post /= post.sum()
    assert np.min(post) > 0.01  # a data set where all four models matter
    np.testing.assert_allclose(fit.models["post_prob"], post, atol=0.01)


# -- one-cut-point selection model: importance sampling vs an independent 3-D quadrature -----------

def _small_data():
    rng = np.random.default_rng(7)
    v = rng.uniform(0.01, 0.06, 10)
    y = rng.normal(0.35, np.sqrt(v + 0.02))
    return y, np.sqrt(v)


def _loglik_selection_loop(y, se, mu, tau, omega, cut=0.025):
    """Weighted normal likelihood written study by study (scipy.stats), as an independent oracle."""
    total = 0.0
    for yi, si in zip(y, se):
        s = math.sqrt(si**2 + tau**2)
        c = stats.norm.ppf(1 - cut) * si
        w = 1.0 if yi >= c else omega
        a = omega * stats.norm.cdf(c, mu, s) + 1.0 * stats.norm.sf(c, mu, s)
        total += stats.norm.logpdf(yi, mu, s) + math.log(w) - math.log(a)
    return total


def _quadrature_one_cut(y, se):
    """Posterior of (mu, tau, omega) of the one-cut (p = .025) selection model by composite
    Gauss-Legendre quadrature; mu ~ N(0, 1), tau ~ HN(0.5), omega ~ U(0, 1)."""
    def rule(lo, hi, panels):
        g, w = np.polynomial.legendre.leggauss(6)
        edges = np.linspace(lo, hi, panels + 1)
        h = np.diff(edges)[:, None] / 2
        return ((edges[:-1, None] + h * (g + 1)).ravel(), (h * w).ravel())

    mu, wmu = rule(-2.0, 1.2, 24)
    tau, wtau = rule(0.0, 1.2, 14)
    om, wom = rule(0.0, 1.0, 6)
    M, T, O = np.meshgrid(mu, tau, om, indexing="ij")
    s = np.sqrt(se[None, None, None, :] ** 2 + T[..., None] ** 2)
    c = stats.norm.ppf(0.975) * se
    ll = stats.norm.logpdf(y, M[..., None], s).sum(-1)
    ll += np.log(np.where(y >= c, 1.0, O[..., None])).sum(-1)
    a = O[..., None] * stats.norm.cdf(c, M[..., None], s) + stats.norm.sf(c, M[..., None], s)
    ll -= np.log(a).sum(-1)
    lp = ll + stats.norm.logpdf(M, 0, 1) + stats.halfnorm.logpdf(T, scale=0.5)
    W = wmu[:, None, None] * wtau[None, :, None] * wom[None, None, :]
    mx = lp.max()
    dens = np.exp(lp - mx)
    # the posterior density at the outer edges is negligible
    assert max(dens[0].max(), dens[-1].max(), dens[:, -1].max()) < 1e-6
    z = np.sum(W * dens)
    # the vectorised likelihood agrees with the loop version at one point
    i, j, kk = 40, 10, 20
    assert ll[i, j, kk] == pytest.approx(_loglik_selection_loop(y, se, mu[i], tau[j], om[kk]), rel=1e-10)
    out = {"log_ml": mx + math.log(z)}
    for name, X in (("mu", M), ("tau", T), ("omega", O)):
        mean = np.sum(W * dens * X) / z
        out[name] = (mean, math.sqrt(np.sum(W * dens * (X - mean) ** 2) / z))
    return out


def test_one_cut_selection_model_matches_quadrature():
    y, se = _small_data()
    model = ModelDef(bm.priors.Normal(0, 1), bm.priors.HalfNormal(0.5), WeightFunction((0.025,)))
    res = fit_model(model, FitData(y, se, y, se, "GEN"), seed=3)
    quad = _quadrature_one_cut(y, se)
    assert res.log_ml == pytest.approx(quad["log_ml"], abs=max(0.01, 4 * res.log_ml_se))
    assert np.sum(res.weights * res.draws["mu"]) == pytest.approx(quad["mu"][0], abs=0.01)
    assert np.sum(res.weights * res.draws["tau"]) == pytest.approx(quad["tau"][0], abs=0.01)
    assert np.sum(res.weights * res.draws["omega"][:, 0]) == pytest.approx(quad["omega"][0], abs=0.01)


@pytest.mark.slow
def test_nuts_selection_model_matches_quadrature():
    """MetaAnalysis(bias=WeightFunction((0.025,))) with NUTS against the quadrature."""
    y, se = _small_data()
    ma = bm.MetaAnalysis(yi=y, sei=se, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)},
                         bias=WeightFunction((0.025,)))
    post = ma.fit(draws=2000, chains=4, seed=2)
    quad = _quadrature_one_cut(y, se)
    p = post.idata.posterior
    assert int(post.idata.sample_stats["diverging"].sum()) == 0
    for name, draws in (("mu", p["mu"].values), ("tau", p["tau"].values), ("omega", p["omega"].values[..., 0])):
        mean, sd = quad[name]
        # 8000 draws: Monte Carlo error of the mean below sd / 40
        assert float(draws.mean()) == pytest.approx(mean, abs=0.1 * sd), name
        assert float(draws.std()) == pytest.approx(sd, rel=0.1), name


# -- wide priors on a large data set: the posterior approaches the ML selection model -------------

def _ml_selection(y, se, cut):
    """Maximum likelihood of the step selection model (one cut point) with scipy, written here."""
    c = stats.norm.ppf(1 - cut) * se
    sig = y >= c

    def nll(p):
        mu, log_tau, logit_om = p
        tau, om = math.exp(log_tau), 1 / (1 + math.exp(-logit_om))
        s = np.sqrt(se**2 + tau**2)
        a = om * stats.norm.cdf(c, mu, s) + stats.norm.sf(c, mu, s)
        return -(stats.norm.logpdf(y, mu, s).sum() + np.log(np.where(sig, 1.0, om)).sum() - np.log(a).sum())

    r = optimize.minimize(nll, [0.1, math.log(0.2), 0.0], method="Nelder-Mead",
                          options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000})
    return r.x[0], math.exp(r.x[1]), 1 / (1 + math.exp(-r.x[2]))


def test_wide_priors_approach_ml_selection_model():
    rng = np.random.default_rng(11)
    k = 5000
    se = np.sqrt(rng.uniform(0.005, 0.1, k))
    y = rng.normal(0.1, np.sqrt(se**2 + 0.15**2))
    c = stats.norm.ppf(0.975) * se
    keep = (y >= c) | (rng.random(k) < 0.4)  # non-significant studies published with probability 0.4
    y, se = y[keep], se[keep]
    model = ModelDef(bm.priors.Normal(0, 10), bm.priors.HalfNormal(5), WeightFunction((0.025,)))
    res = fit_model(model, FitData(y, se, y, se, "GEN"), n=512, replicates=4, seed=5)
    mu_ml, tau_ml, om_ml = _ml_selection(y, se, 0.025)
    w = res.weights
    for name, ml in (("mu", mu_ml), ("tau", tau_ml)):
        x = res.draws[name]
        sd = math.sqrt(np.sum(w * (x - np.sum(w * x)) ** 2))
        assert abs(np.sum(w * x) - ml) < 0.15 * sd + 1e-3, name
    om = res.draws["omega"][:, 0]
    sd = math.sqrt(np.sum(w * (om - np.sum(w * om)) ** 2))
    assert abs(np.sum(w * om) - om_ml) < 0.25 * sd
    assert om_ml == pytest.approx(0.4, abs=0.1)  # and the data carry the truth
    try:  # issue 11's frequentist selmodel, when it is there: the same ML estimate
        sel = bm.selmodel(bm.rma(y, se**2, method="ML"), type="stepfun", steps=[0.025])
    except AttributeError:
        return
    assert float(np.ravel(sel.beta)[0]) == pytest.approx(mu_ml, abs=1e-3)
    assert math.sqrt(sel.tau2) == pytest.approx(tau_ml, abs=1e-3)


# -- input checks ---------------------------------------------------------------------------------

def test_bad_input_is_an_error(lehmann):
    with pytest.raises(ValueError, match=r"measure 'RR'.*'SMD'.*'COR'.*'ZCOR'.*'OR'.*'GEN'"):
        bm.robma(lehmann, yi="yi", vi="vi", measure="RR")
    bad = lehmann[["yi", "vi"]].copy()
    bad.loc[3, "yi"] = np.nan
    with pytest.raises(ValueError, match=r"column 'yi'.*row 4"):
        bm.robma(bad, yi="yi", vi="vi")
    bad = lehmann[["yi", "vi"]].copy()
    bad.loc[5, "vi"] = -1
    with pytest.raises(ValueError, match=r"column 'vi'.*row 6"):
        bm.robma(bad, yi="yi", vi="vi")
    with pytest.raises(ValueError, match="unknown prior keys"):
        bm.robma(lehmann, yi="yi", vi="vi", priors={"mu": bm.priors.Normal(0, 1)})
    with pytest.raises(TypeError, match="heterogeneity"):
        bm.robma(lehmann, yi="yi", vi="vi", priors={"heterogeneity": bm.priors.Normal(0, 1)})
    with pytest.raises(ValueError, match="ensemble"):
        bm.robma(lehmann, yi="yi", vi="vi", ensemble="2w")
    with pytest.raises(ValueError, match="steps"):
        WeightFunction((0.05, 1.2))
    with pytest.raises(TypeError, match="bias component 0"):
        bm.robma(lehmann, yi="yi", vi="vi", ensemble=["PET"])


def test_custom_ensemble_and_plots(lehmann):
    import matplotlib

    matplotlib.use("Agg")
    fit = bm.robma(lehmann.iloc[:30], yi="yi", vi="vi",
                   ensemble=[bm.PET(), (WeightFunction((0.05,), "one"), 2.0)], draws=1024, replicates=4)
    assert len(fit.models) == 12
    probs = fit.models.groupby("bias")["prior_prob"].sum()
    assert probs[""] == pytest.approx(0.5)
    assert probs["omega[one-sided: .05] ~ CumDirichlet(1, 1)"] == pytest.approx(2 / 3 * 0.5)
    assert fit.models["post_prob"].sum() == pytest.approx(1.0)
    assert "omega[0,0.05]" in fit.estimates().index
    fig = fit.plot_mu()
    assert fig.axes
    fig2 = fit.plot_weightfunction()
    assert fig2.axes
    assert isinstance(InverseGammaTau(1, 0.15).logpdf(0.2), float | np.floating | np.ndarray)


def test_negative_effect_direction_mirrors_positive(lehmann):
    sub = lehmann.iloc[:25]
    ens = [bm.PET(), bm.PEESE(), WeightFunction((0.05, 0.025)), WeightFunction((0.05,), "two")]
    fast = {"draws": 1024, "replicates": 4, "seed": 4}
    pos = bm.robma(sub, yi="yi", vi="vi", ensemble=ens, **fast)
    with pytest.warns(UserWarning, match="opposite direction.*pass effect_direction='negative'"):
        bm.robma(yi=-sub["yi"], vi=sub["vi"], ensemble="PP", draws=256, replicates=2)
    neg = bm.robma(yi=-sub["yi"].to_numpy(), vi=sub["vi"].to_numpy(), ensemble=ens, effect_direction="negative",
                   **fast)
    np.testing.assert_allclose(neg.models["log_ml"], pos.models["log_ml"], atol=0.03)
    ep, en = pos.estimates(), neg.estimates()
    assert en.loc["mu", "mean"] == pytest.approx(-ep.loc["mu", "mean"], abs=0.005)
    assert en.loc["mu", "0.025"] == pytest.approx(-ep.loc["mu", "0.975"], abs=0.01)
    assert en.loc["PET", "mean"] == pytest.approx(ep.loc["PET", "mean"], abs=0.02)
    # the printout says why PET and PEESE stay positive on negative effects
    assert "PET and PEESE coefficients refer to the flipped effects" in " ".join(repr(neg).split())  # wrapped
    assert "flipped" not in repr(pos)
    with pytest.raises(ValueError, match="effect_direction"):
        bm.robma(sub, yi="yi", vi="vi", effect_direction="down")


def test_cli_robma(tmp_path, lehmann, capsys):
    from bayesma.cli import main

    path = tmp_path / "effects.csv"
    lehmann[["Short_Title", "yi", "vi"]].iloc[:20].to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["robma", str(path), "--yi", "yi", "--vi", "vi", "--ensemble", "PP", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "PET ~ Cauchy(0, 1)[0, Inf]" in text and "Components" in text and "Model-averaged" in text
    assert {p.name for p in out.iterdir()} == {"robma_models.csv", "robma_summary.csv", "robma_mu.png", "report.md"}
    models = pd.read_csv(out / "robma_models.csv")
    assert len(models) == 12 and models["post_prob"].sum() == pytest.approx(1.0)
    assert "inclusion Bayes factor for an effect" in (out / "report.md").read_text()
    assert main(["robma", str(path), "--yi", "yi", "--vi", "nope", "--out", str(out)]) == 2


@pytest.mark.parametrize("bias", [WeightFunction((0.05, 0.025)), WeightFunction((0.1,), "two"), bm.PET(), bm.PEESE()],
                         ids=["wf-one-sided", "wf-two-sided", "PET", "PEESE"])
def test_pymc_likelihood_equals_numpy_likelihood(bias):
    """MetaAnalysis(bias=...)'s PyMC model and bias.loglik: the same likelihood."""
    from pymc.distributions.transforms import simplex

    rng = np.random.default_rng(5)
    y, se = rng.normal(0.2, 0.3, 9), rng.uniform(0.1, 0.3, 9)
    ma = bm.MetaAnalysis(yi=y, sei=se, bias=bias, priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    m = ma.pymc_model
    f = m.compile_fn(m.logp(vars=[m["yi"]], sum=True) + m.potentiallogp, on_unused_input="ignore",
                     mode="FAST_COMPILE")  # numpy implementations of the ops: no C compile
    mu, tau = 0.13, 0.21
    point = {"mu": mu, "tau_log__": np.log(tau)}
    if isinstance(bias, WeightFunction):
        eta = rng.dirichlet(np.ones(bias.n_weights))
        point["eta_simplex__"] = simplex.forward(eta).eval()
        omega = np.cumsum(eta)
        omega[-1] = 1.0
        kw = {"omega": omega[None], "crit": bm.bias.cutoffs(y, se, bias.steps, bias.sides, "GEN"),
              "sides": bias.sides}
    else:
        point[f"{bias.kind}_log__"] = np.log(0.7)
        kw = {bias.kind.lower(): np.array([0.7])}
    expected = bm.bias.loglik(y, se, np.array([mu]), np.array([tau]), **kw)[0]
    assert float(f(point)) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="engine='exact'"):
        ma.fit(engine="exact")


def test_held_out_negative_effects_match_robma():
    """A second RoBMA 3.6.1 reference (robma_heldout_negative.R): k = 14, effects negative."""
    ref = json.loads((REFERENCE_DIR / "robma/robma_heldout_negative.json").read_text())
    fit = bm.robma(yi=ref["input"]["d"], sei=ref["input"]["se"], effect_direction="negative")
    np.testing.assert_allclose(fit.models["prior_prob"], [m["prior_prob"] for m in ref["models"]], rtol=1e-12)
    np.testing.assert_allclose(fit.models["log_ml"], [m["marglik"] for m in ref["models"]], atol=0.03)
    np.testing.assert_allclose(fit.models["post_prob"], [m["post_prob"] for m in ref["models"]], atol=0.02)
    comp = fit.components()
    for name, r in ref["components"].items():
        assert comp.loc[name, "log_BF"] == pytest.approx(math.log(r["inclusion_BF"]), abs=0.1)
        assert comp.loc[name, "post_prob"] == pytest.approx(r["post_prob"], abs=0.02)
    est = fit.estimates()
    for par, r in ref["model_averaged_estimates"].items():
        tol = 0.02 if par in ("mu", "tau") else 0.06
        for ours, theirs in (("mean", "Mean"), ("median", "Median"), ("0.025", "0.025"), ("0.975", "0.975")):
            assert est.loc[par, ours] == pytest.approx(r[theirs], abs=tol), (par, ours)
