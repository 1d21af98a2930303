"""The exact engine of the multivariate model across outcomes (compound symmetry, dat.berkey1998).

Reference: an independent quadrature written here: each trial's dense 2 x 2 covariance
V_j + tau^2 [(1 - rho) I + rho 1 1'] (Cholesky), the outcome means integrated by generalized least
squares, on a tensor Gauss-Legendre grid over (tau, rho).
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

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_cases_v3.json"
PRIORS = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "rho": bm.priors.Uniform(0, 1)}


def berkey() -> tuple[pd.DataFrame, np.ndarray]:
    case = {c["name"]: c for c in json.loads(REF.read_text())["cases"]}["berkey1998_CS"]
    inp = dict(case["input"])
    V = np.array(inp.pop("V"))
    return pd.DataFrame(inp), V


def _gl(lo, hi, panels, n=14):
    t, w = np.polynomial.legendre.leggauss(n)
    e = np.linspace(lo, hi, panels + 1)
    h = np.diff(e)[:, None] / 2
    return (e[:-1, None] + h * (t + 1)).ravel(), (h * w).ravel()


def independent_cs(df, V, s0=1.0, tau_box=(0.0, 1.4)):
    y = df["yi"].to_numpy()
    names = sorted(df["outcome"].unique())
    X = (df["outcome"].to_numpy()[:, None] == np.array(names)[None]).astype(float)
    tb, wb = _gl(*tau_box, panels=8)
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
        logdet += 2 * np.log(np.diagonal(np.linalg.cholesky(S), axis1=1, axis2=2)).sum(-1)
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
    for j, o in enumerate(names):
        m = wt @ b[:, j]
        out[f"mu[{o}]"] = (m, np.sqrt(wt @ (Vb[:, j, j] + b[:, j] ** 2) - m * m))
    for name, val in (("tau", T), ("rho", R)):
        m = wt @ val
        out[name] = (m, np.sqrt(wt @ val**2 - m * m))
    return out


def test_cs_exact_matches_an_independent_dense_quadrature():
    df, V = berkey()
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS", priors=PRIORS)
    s = exact_posterior(model.spec).summary(theta=False)
    ref = independent_cs(df, V)
    for name, (m, sd) in ref.items():
        assert abs(s.loc[name, "mean"] - m) < 1e-4 * sd, name
        assert abs(s.loc[name, "sd"] - sd) < 1e-4 * sd, name


def test_multivariate_input_errors():
    df, V = berkey()
    with pytest.raises(bm.errors.InputError, match="'AL' has 1 study under struct='UN'"):
        bm.MetaAnalysis(df.iloc[[0, 1, 2, 4, 6]], yi="yi", vi="vi", rho=0.5, cluster="trial", outcome="outcome",
                        struct="UN")
    three = pd.concat([df, df[df["outcome"] == "PD"].assign(outcome="X")], ignore_index=True)
    with pytest.raises(bm.errors.InputError, match=r"outside the valid range \(-0.5, 1\)"):
        bm.MetaAnalysis(three, yi="yi", vi="vi", rho=0.5, cluster="trial", outcome="outcome",
                        priors={"rho": bm.priors.UniformCorrelation(-1, 1)})
    with pytest.raises(bm.errors.InputError, match="engine='exact' cannot fit this model"):
        bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="HCS").fit(engine="exact")


def test_cs_flat_prior_limit_is_metafor_reml():
    """Very wide priors: the posterior mode of (tau, rho), the outcome means integrated out (uniform priors
    on tau and rho), is the restricted likelihood's maximum, metafor's REML tau2 and rho; the means' posterior
    centres on metafor's beta."""
    from scipy import optimize, special

    df, V = berkey()
    case = {c["name"]: c for c in json.loads(REF.read_text())["cases"]}["berkey1998_CS"]["expect"]
    wide = {"mu": bm.priors.Normal(0, 1000), "tau": bm.priors.Uniform(0, 5)}  # rho: uniform on (-1, 1)
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS", priors=wide)
    ep = exact_posterior(model.spec)
    g = ep.grid

    def neg(u):  # log density of (tau, rho) itself: logf2 on (log tau, logit) minus both Jacobians
        x = special.expit(u[1])
        return -(g.logf2(np.array([u[0]]), np.array([u[1]]), False)[0, 0] - u[0] - np.log(2 * x * (1 - x)))

    x0 = [0.5 * np.log(case["tau2"]) + 0.3, special.logit((case["rho"] + 1) / 2) - 0.3]
    res = optimize.minimize(neg, x0=x0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
    np.testing.assert_allclose(np.exp(2 * res.x[0]), case["tau2"], rtol=2e-4)
    np.testing.assert_allclose(2 * special.expit(res.x[1]) - 1, case["rho"], rtol=2e-4)
    s = ep.summary(theta=False)
    for o, beta in zip(("AL", "PD"), case["beta"]):
        assert abs(s.loc[f"mu[{o}]", "median"] - beta) < 0.1 * s.loc[f"mu[{o}]", "sd"], o
