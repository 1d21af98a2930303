"""NUTS and the exact engine agree on the dependent-effects models (slow tier: MCMC).

dat.assink2016 (CHE, sampling correlation 0.6) and dat.berkey1998 (compound symmetry across two
outcomes): posterior means within 0.1 posterior sd, 95% interval ends within 0.2 sd or 4 Monte
Carlo standard errors of the quantile. The heteroscedastic structure (HCS: a tau per outcome, three
variance parameters, no exact engine) against a 3-D quadrature written here; so is the unstructured
model (UN), which for two outcomes with an LKJ(1) prior is HCS with rho uniform on (-1, 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_cases_v3.json"


def _case(name: str) -> dict:
    return {c["name"]: c for c in json.loads(REF.read_text())["cases"]}[name]


def _agree(nuts, exact, rows):
    s, e = nuts.summary(), exact.summary()
    n_eff = s.loc[rows, "ess_bulk"]
    for row in rows:
        sd = e.loc[row, "sd"]
        # 0.1 sd, or 4 Monte Carlo SEs when the effective sample is below 1600 (another machine's draws)
        assert abs(s.loc[row, "mean"] - e.loc[row, "mean"]) < max(0.1 * sd, 4 * sd / np.sqrt(n_eff[row])), row
        for col in ("eti_lower", "eti_upper"):
            mcse = 2.7 * sd / np.sqrt(s.loc[row, "ess_tail"])  # MC SE of a 2.5% quantile (normal: 2.67 sd / sqrt(ESS))
            assert abs(s.loc[row, col] - e.loc[row, col]) < max(0.2 * sd, 4 * mcse), (row, col)


@pytest.mark.slow
def test_che_nuts_agrees_with_exact_on_assink2016():
    dat = pd.DataFrame(_case("assink2016_che_rho06")["input"])
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6,
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                    "tau_within": bm.priors.HalfNormal(0.5)})
    nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=11)
    assert nuts.diagnostics().divergences == 0
    _agree(nuts, model.fit(engine="exact", seed=1), ["mu", "tau", "tau_within", "theta[1]", "theta[50]", "theta_new"])


@pytest.mark.slow
def test_cs_nuts_agrees_with_exact_on_berkey1998():
    inp = dict(_case("berkey1998_CS")["input"])
    V = np.array(inp.pop("V"))
    model = bm.MetaAnalysis(pd.DataFrame(inp), yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                    "rho": bm.priors.Uniform(0, 1)})
    nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=11)
    assert nuts.diagnostics().divergences == 0
    _agree(nuts, model.fit(engine="exact", seed=1), ["mu[AL]", "mu[PD]", "tau", "rho", "theta[1]", "theta_new[PD]"])


def _gl(lo, hi, panels, n=10):
    t, w = np.polynomial.legendre.leggauss(n)
    e = np.linspace(lo, hi, panels + 1)
    h = np.diff(e)[:, None] / 2
    return (e[:-1, None] + h * (t + 1)).ravel(), (h * w).ravel()


def independent_hcs(df, V, s0=1.0, tau_scale=0.5, rho_lo=0.0):
    """Posterior moments of the HCS model on berkey1998 by brute force: a Gauss-Legendre grid over
    (tau[AL], tau[PD], rho), each trial's dense 2 x 2 covariance, the two means integrated by GLS."""
    from scipy import stats

    y = df["yi"].to_numpy()
    names = sorted(df["outcome"].unique())
    o = np.searchsorted(names, df["outcome"].to_numpy())
    X = np.eye(2)[o]
    t, wt = _gl(0.0, 1.2, 6)
    r, wr = _gl(rho_lo, 1.0, 3 if rho_lo == 0 else 6)
    T1, T2, R = (a.ravel() for a in np.meshgrid(t, t, r, indexing="ij"))
    W = np.einsum("i,j,l->ijl", wt, wt, wr).ravel()
    N = T1.size
    taus = np.stack([T1, T2], axis=1)
    logdet, yy, XX, Xy = np.zeros(N), np.zeros(N), np.zeros((N, 2, 2)), np.zeros((N, 2))
    for trial in df["trial"].unique():
        rows = np.flatnonzero(df["trial"].to_numpy() == trial)
        oo = o[rows]
        s = taus[:, oo]
        corr = np.where(oo[:, None] == oo[None, :], 1.0, 0.0)[None] + R[:, None, None] * (oo[:, None] != oo[None, :])
        S = V[np.ix_(rows, rows)][None] + s[:, :, None] * s[:, None, :] * corr
        Si = np.linalg.inv(S)
        logdet += np.linalg.slogdet(S)[1]
        Xj, yj = X[rows], y[rows]
        yy += np.einsum("i,nil,l->n", yj, Si, yj)
        XX += np.einsum("ip,nil,lq->npq", Xj, Si, Xj)
        Xy += np.einsum("ip,nil,l->np", Xj, Si, yj)
    P = XX + np.eye(2) / s0**2
    Vb = np.linalg.inv(P)
    b = np.einsum("npq,nq->np", Vb, Xy)
    ll = -0.5 * (logdet + np.linalg.slogdet(P)[1] + yy - (Xy * b).sum(-1))
    logf = ll + stats.halfnorm(scale=tau_scale).logpdf(T1) + stats.halfnorm(scale=tau_scale).logpdf(T2)
    wts = np.exp(logf - logf.max()) * W
    wts /= wts.sum()
    out = {}
    for j, name in enumerate(names):
        m = wts @ b[:, j]
        out[f"mu[{name}]"] = (m, np.sqrt(wts @ (Vb[:, j, j] + b[:, j] ** 2) - m * m))
    for name, val in ((f"tau[{names[0]}]", T1), (f"tau[{names[1]}]", T2), ("rho", R)):
        m = wts @ val
        out[name] = (m, np.sqrt(wts @ val**2 - m * m))
    return out


@pytest.mark.slow
def test_hcs_nuts_agrees_with_an_independent_quadrature_on_berkey1998():
    inp = dict(_case("berkey1998_CS")["input"])
    V = np.array(inp.pop("V"))
    df = pd.DataFrame(inp)
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="HCS",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                    "rho": bm.priors.Uniform(0, 1)})
    nuts = model.fit(engine="nuts", draws=1500, tune=1000, chains=2, seed=5)
    assert nuts.diagnostics().divergences == 0
    s = nuts.summary()
    for name, (m, sd) in independent_hcs(df, V).items():
        mcse = sd / np.sqrt(s.loc[name, "ess_bulk"])
        assert abs(s.loc[name, "mean"] - m) < max(0.1 * sd, 4 * mcse), name
        assert abs(s.loc[name, "sd"] / sd - 1) < 0.15, name


@pytest.mark.slow
def test_un_nuts_with_two_outcomes_is_hcs_with_a_uniform_rho():
    inp = dict(_case("berkey1998_CS")["input"])
    V = np.array(inp.pop("V"))
    df = pd.DataFrame(inp)
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="UN",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                    "rho": bm.priors.LKJ(1.0)})
    nuts = model.fit(engine="nuts", draws=1500, tune=1000, chains=2, seed=5)
    assert nuts.diagnostics().divergences == 0
    s = nuts.summary().rename(index={"rho[AL,PD]": "rho"})
    for name, (m, sd) in independent_hcs(df, V, rho_lo=-1.0).items():
        mcse = sd / np.sqrt(s.loc[name, "ess_bulk"])
        assert abs(s.loc[name, "mean"] - m) < max(0.1 * sd, 4 * mcse), name
        assert abs(s.loc[name, "sd"] / sd - 1) < 0.15, name


def test_lkj_eta_is_part_of_the_compiled_structure():
    """eta is a constant of the UN graph: two etas must not share one compiled model."""
    from bayesma.models.build import structure_key

    inp = dict(_case("berkey1998_CS")["input"])
    V = np.array(inp.pop("V"))
    keys = {structure_key(bm.MetaAnalysis(pd.DataFrame(inp), yi="yi", V=V, cluster="trial", outcome="outcome",
                                          struct="UN", priors={"rho": bm.priors.LKJ(eta)}).spec) for eta in (1.0, 2.0)}
    assert len(keys) == 2
