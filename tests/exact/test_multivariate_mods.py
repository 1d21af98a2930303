"""Moderators in the multivariate model across outcomes (compound symmetry, exact engine), dat.berkey1998.

References: an independent quadrature written here (each trial's dense covariance
V_j + tau^2 [(1 - rho) I + rho 1 1'] inverted directly, the coefficients integrated by generalized
least squares with their normal prior, a tensor Gauss-Legendre grid over (tau, rho)), and metafor 3.8.1's
``rma.mv(yi, V, mods = ..., random = ~ outcome | trial, struct = "CS")`` by ML and REML
(tests/data/reference/metafor/metafor_mv_mods.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesma as bm
from bayesma.exact import exact_posterior

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_mv_mods.json"
PRIORS = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "rho": bm.priors.Uniform(0, 1)}
SLOPES = "~ 0 + outcome + outcome:I(year - 1983)"
SHARED = "~ 0 + outcome + I(year - 1983)"
NO_OUTCOME = "~ I(year - 1983)"  # allowed: one intercept for both outcomes (metafor allows it too)


def berkey() -> tuple[pd.DataFrame, np.ndarray]:
    inp = dict(json.loads(REF.read_text())["input"])
    V = np.array(inp.pop("V"))
    return pd.DataFrame(inp), V


def expected(struct: str, method: str, mods: str) -> dict:
    cases = {c["name"]: c for c in json.loads(REF.read_text())["cases"]}
    return cases[f"berkey1998 {struct} {method} {mods}"]["expect"]


def _one(value) -> float:
    """A scalar stored by R's jsonlite (auto_unbox) as a number or a one-element list."""
    return float(np.atleast_1d(value)[0])


def _gl(lo, hi, panels, n=14):
    t, w = np.polynomial.legendre.leggauss(n)
    e = np.linspace(lo, hi, panels + 1)
    h = np.diff(e)[:, None] / 2
    return (e[:-1, None] + h * (t + 1)).ravel(), (h * w).ravel()


def independent_cs(df, V, X, s0=1.0, tau_box=(0.0, 2.5), panels=16):
    """Posterior means and sds of the coefficients, tau and rho: N(0, s0^2) priors on the coefficients,
    HalfNormal(0.5) on tau, Uniform(0, 1) on rho (tau's tail is longer with four coefficients for ten
    effects: the box reaches 2.5, where the posterior density is negligible)."""
    y = df["yi"].to_numpy()
    tb, wb = _gl(*tau_box, panels=panels)
    rb, wr = _gl(0.0, 1.0, panels=4)
    T, R = (a.ravel() for a in np.meshgrid(tb, rb, indexing="ij"))
    N, p = T.size, X.shape[1]
    logdet, yy, XX, Xy = np.zeros(N), np.zeros(N), np.zeros((N, p, p)), np.zeros((N, p))
    for trial in df["trial"].unique():
        rows = np.flatnonzero(df["trial"].to_numpy() == trial)
        n = rows.size
        G = T[:, None, None] ** 2 * ((1 - R)[:, None, None] * np.eye(n) + R[:, None, None] * np.ones((n, n)))
        S = V[np.ix_(rows, rows)][None] + G
        Si = np.linalg.inv(S)
        logdet += np.linalg.slogdet(S)[1]
        Xj, yj = X[rows], y[rows]
        yy += np.einsum("i,nil,l->n", yj, Si, yj)
        XX += np.einsum("ip,nil,lq->npq", Xj, Si, Xj)
        Xy += np.einsum("ip,nil,l->np", Xj, Si, yj)
    P = XX + np.eye(p) / s0**2
    Vb = np.linalg.inv(P)
    b = np.einsum("npq,nq->np", Vb, Xy)
    ll = -0.5 * (logdet + np.linalg.slogdet(P)[1] + yy - (Xy * b).sum(-1))
    logf = ll + stats.halfnorm(scale=0.5).logpdf(T)
    wt = np.exp(logf - logf.max()) * np.outer(wb, wr).ravel()
    wt /= wt.sum()
    out = {}
    for j in range(p):
        m = wt @ b[:, j]
        out[j] = (m, np.sqrt(wt @ (Vb[:, j, j] + b[:, j] ** 2) - m * m))
    for name, val in (("tau", T), ("rho", R)):
        m = wt @ val
        out[name] = (m, np.sqrt(wt @ val**2 - m * m))
    return out


def _design(df: pd.DataFrame, mods: str) -> np.ndarray:
    """The design written out by hand (R's column order: outcomeAL, outcomePD, then the slope(s))."""
    al = (df["outcome"] == "AL").to_numpy(float)
    year = df["year"].to_numpy(float) - 1983
    return {SLOPES: np.column_stack([al, 1 - al, al * year, (1 - al) * year]),
            SHARED: np.column_stack([al, 1 - al, year]),
            NO_OUTCOME: np.column_stack([np.ones_like(year), year])}[mods]


@pytest.mark.parametrize("mods", [SLOPES, SHARED, NO_OUTCOME])
def test_cs_with_moderators_matches_an_independent_quadrature(mods):
    df, V = berkey()
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS", mods=mods,
                            priors=PRIORS)
    names = expected("CS", "ML", mods)["coef_names"]  # R's names of the coefficients
    assert model.spec.coef_names == names
    s = exact_posterior(model.spec).summary(theta=False)
    assert list(s.index) == [f"beta[{c}]" for c in names] + ["tau", "rho"]  # no theta_new[<outcome>]
    ref = independent_cs(df, V, _design(df, mods))
    for key, (m, sd) in ref.items():
        row = key if isinstance(key, str) else f"beta[{names[key]}]"
        assert abs(s.loc[row, "mean"] - m) < 1e-4 * sd, row
        assert abs(s.loc[row, "sd"] - sd) < 1e-4 * sd, row


def test_cs_flat_prior_limit_is_metafor_ml_with_moderators():
    """Very wide priors (flat in the limit): the joint posterior mode of (coefficients, tau, rho) is the
    likelihood's maximum, metafor's ML fit with the same mods; the coefficients' posterior medians sit
    within a small fraction of a posterior sd of metafor's REML coefficients."""
    from scipy import optimize, special

    df, V = berkey()
    ml, reml = expected("CS", "ML", SLOPES), expected("CS", "REML", SLOPES)
    wide = {"mu": bm.priors.Normal(0, 1000), "tau": bm.priors.Uniform(0, 5)}  # rho: uniform on (-1, 1)
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS", mods=SLOPES,
                            priors=wide)
    ep = exact_posterior(model.spec)
    g = ep.grid

    def joint(u):  # max over the coefficients of log p(y, beta | tau, rho): the marginal minus 0.5 log|2 pi V_beta|
        f, b, Vb = g.logf2(np.array([u[0]]), np.array([u[1]]), True)
        x = special.expit(u[1])
        logf = f[0, 0] - u[0] - np.log(2 * x * (1 - x))  # minus the Jacobians of (log tau, logit)
        return logf - 0.5 * np.linalg.slogdet(2 * np.pi * Vb[0, 0])[1], b[0, 0]

    x0 = [0.5 * np.log(_one(ml["tau2"])) + 0.3, special.logit((_one(ml["rho"]) + 1) / 2) - 0.3]
    res = optimize.minimize(lambda u: -joint(u)[0], x0=x0, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
    np.testing.assert_allclose(np.exp(2 * res.x[0]), _one(ml["tau2"]), rtol=1e-3)
    np.testing.assert_allclose(2 * special.expit(res.x[1]) - 1, _one(ml["rho"]), rtol=1e-3)
    np.testing.assert_allclose(joint(res.x)[1], ml["beta"], rtol=1e-3, atol=1e-5)
    s = ep.summary(theta=False)
    for name, beta in zip(reml["coef_names"], reml["beta"]):
        assert abs(s.loc[f"beta[{name}]", "median"] - beta) < 0.1 * s.loc[f"beta[{name}]", "sd"], name


def test_outcome_means_as_coefficients_equal_the_model_without_moderators():
    df, V = berkey()
    plain = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", priors=PRIORS)
    coded = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", mods="~ 0 + outcome",
                            priors=PRIORS)
    a, b = exact_posterior(plain.spec).summary(), exact_posterior(coded.spec).summary()
    for o in ("AL", "PD"):
        np.testing.assert_allclose(b.loc[f"beta[outcome{o}]"], a.loc[f"mu[{o}]"], rtol=1e-10)
    np.testing.assert_allclose(b.loc[["tau", "rho", "theta[3]"]], a.loc[["tau", "rho", "theta[3]"]], rtol=1e-10)


@pytest.mark.parametrize("mods", [SHARED, NO_OUTCOME])
def test_compare_frequentist_puts_rma_mv_with_the_same_moderators_beside_it(mods):
    df, V = berkey()
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS", mods=mods,
                            priors=PRIORS)
    post = model.fit(seed=1)  # engine="auto": exact for CS
    assert post.engine == "exact"
    tab = post.compare_frequentist()
    for method in ("ML", "REML"):
        exp = expected("CS", method, mods)
        rows = tab.loc[method].loc[[f"beta[{c}]" for c in exp["coef_names"]]]
        np.testing.assert_allclose(rows["estimate"], exp["beta"], rtol=1e-5)
        np.testing.assert_allclose(rows["ci_lb"], exp["ci_lb"], rtol=1e-5)
        np.testing.assert_allclose(rows["tau"], np.sqrt(_one(exp["tau2"])), rtol=1e-5)
        np.testing.assert_allclose(rows["rho"], _one(exp["rho"]), rtol=1e-5)
    bayes = tab.loc["Bayesian (exact)"]
    np.testing.assert_allclose(bayes.loc["beta[I(year - 1983)]", "estimate"],
                               post.summary().loc["beta[I(year - 1983)]", "median"])


def test_predict_at_a_design_row_with_moderators():
    """A new study's effect needs its moderator values: predict at a design row; its mean is the
    coefficients' combination (as in the posterior summary) and its interval adds tau (CS)."""
    df, V = berkey()
    post = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", mods=SHARED,
                           priors=PRIORS).fit(seed=1, draws=4000)
    pred = post.predict(design=[[0.0, 1.0, 0.0]])
    s = post.summary()
    sd = s.loc["beta[outcomePD]", "sd"]
    assert abs(pred.loc[0, "median"] - s.loc["beta[outcomePD]", "median"]) < 0.05 * sd
    assert pred.loc[0, "pi_upper"] - pred.loc[0, "pi_lower"] > pred.loc[0, "eti_upper"] - pred.loc[0, "eti_lower"]
    assert "theta_new[PD]" not in s.index
    assert "no theta_new[<outcome>] with moderators" in repr(post)


def test_moderator_errors_name_the_columns_and_studies():
    df, V = berkey()
    df = df.assign(lab=[f"t{t}-{o}" for t, o in zip(df["trial"], df["outcome"])],
                   al=(df["outcome"] == "AL").astype(float))
    with pytest.raises(bm.errors.InputError, match=r"not of full column rank: 'al' is a.*outcomeAL") as err:
        bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", mods="~ 0 + outcome + al")
    assert err.value.column == "al"
    with pytest.raises(bm.errors.InputError, match="'dose'.*not a column of the data"):
        bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", mods="~ 0 + outcome + dose")
    gap = df.copy()
    gap.loc[3, "year"] = np.nan
    with pytest.raises(bm.errors.InputError, match=r"'year'.*'t2-AL'.*row 4.*missing") as err:
        bm.MetaAnalysis(gap, yi="yi", vi="vi", rho=0.5, cluster="trial", outcome="outcome", labels="lab",
                        mods=SHARED)
    assert (err.value.study, err.value.row, err.value.column) == ("t2-AL", 4, "year")
    with pytest.raises(bm.errors.InputError, match=r"priors\['mu'\].*dict of priors by outcome"):
        bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", mods=SHARED,
                        priors={"mu": {"AL": bm.priors.Normal(0, 1)}})


def test_with_priors_refits_the_multivariate_model_with_moderators():
    """``with_priors`` (behind compare_priors) keeps the moderators and the priors by outcome."""
    df, V = berkey()
    kw = dict(yi="yi", V=V, cluster="trial", outcome="outcome", mods=SHARED)
    direct = bm.MetaAnalysis(df, priors={**PRIORS, "tau": bm.priors.HalfNormal(1.0)}, **kw)
    swapped = bm.MetaAnalysis(df, priors=PRIORS, **kw).with_priors({"tau": bm.priors.HalfNormal(1.0)})
    assert swapped.priors == direct.priors
    np.testing.assert_allclose(exact_posterior(swapped.spec).summary(theta=False),
                               exact_posterior(direct.spec).summary(theta=False), rtol=1e-12)
    hcs = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="HCS",
                          priors={"tau": {"AL": bm.priors.HalfNormal(0.3)}})
    assert hcs.with_priors({"rho": bm.priors.Uniform(0, 1)}).priors["tau[AL]"] == bm.priors.HalfNormal(0.3)


def test_che_counterpart_of_a_formula_without_intercept_pairs_coefficients_by_name():
    """The CHE model with ``mods="~ 0 + outcome"``: rma_mv is given the same formula, so its rows are
    outcomeAL and outcomePD as the posterior's (not an intercept and a contrast), metafor's numbers."""
    df, V = berkey()
    exp = {c["name"]: c for c in json.loads(REF.read_text())["cases"]}["berkey1998 CHE REML ~ 0 + outcome"]["expect"]
    post = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", mods="~ 0 + outcome").fit(seed=1)
    reml = post.compare_frequentist().loc["REML"]
    assert list(reml.index) == [f"beta[{c}]" for c in exp["coef_names"]]
    np.testing.assert_allclose(reml["estimate"], exp["beta"], rtol=1e-5)
    np.testing.assert_allclose(reml["tau"], np.sqrt(exp["sigma2"][0]), rtol=1e-4)
