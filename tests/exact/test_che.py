"""The exact engine of the CHE model (correlated sampling errors V within clusters).

Checked against an independent quadrature written here: the dense multivariate normal
likelihood (Cholesky of the full k x k covariance) on a tensor Gauss-Legendre grid over
(tau, tau_within), the coefficients integrated by generalized least squares. Nothing of
bayesma.exact is used for the reference numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR
from scipy import stats

import bayesma as bm
from bayesma.exact import exact_posterior

REF = REFERENCE_DIR / "metafor/metafor_cases_v3.json"


def _case(name: str) -> dict:
    return {c["name"]: c for c in json.loads(REF.read_text())["cases"]}[name]


def _assink() -> pd.DataFrame:
    return pd.DataFrame(_case("assink2016_che_rho06")["input"])


PRIORS = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "tau_within": bm.priors.HalfNormal(0.5)}


def _gl(lo: float, hi: float, panels: int = 5, n: int = 14) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    edges = np.linspace(lo, hi, panels + 1)
    h = np.diff(edges)[:, None] / 2
    return (edges[:-1, None] + h * (t + 1)).ravel(), (h * w).ravel()


def independent_posterior(y, V, cluster, X, m0, s0, prior_b, prior_w, box):
    """Posterior moments by brute force on a (tau, tau_within) grid: Sigma_j = V_j + tw^2 I + tau^2 11'
    for each cluster (dense Cholesky), beta ~ N(m0, s0^2 I) integrated by generalized least squares."""
    k, p = X.shape
    tb, wb = _gl(*box[0])
    tw, ww = _gl(*box[1])
    T, W = (a.ravel() for a in np.meshgrid(tb, tw, indexing="ij"))
    N = T.size
    logdet, yy = np.zeros(N), np.zeros(N)
    XX, Xy = np.zeros((N, p, p)), np.zeros((N, p))
    parts = []
    for j in np.unique(cluster):
        rows = np.flatnonzero(cluster == j)
        n = rows.size
        G = W[:, None, None] ** 2 * np.eye(n) + T[:, None, None] ** 2 * np.ones((n, n))
        S = V[np.ix_(rows, rows)][None] + G
        Lc = np.linalg.cholesky(S)
        Si = np.linalg.inv(S)
        Xj, yj = X[rows], y[rows] - X[rows] @ m0
        logdet += 2 * np.log(np.diagonal(Lc, axis1=1, axis2=2)).sum(-1)
        yy += np.einsum("i,nil,l->n", yj, Si, yj)
        XX += np.einsum("ip,nil,lq->npq", Xj, Si, Xj)
        Xy += np.einsum("ip,nil,l->np", Xj, Si, yj)
        parts.append((rows, G, Si))
    P = XX + np.eye(p) / s0**2
    Vb = np.linalg.inv(P)
    d = np.einsum("npq,nq->np", Vb, Xy)
    ll = -0.5 * (logdet + np.linalg.slogdet(P)[1] + 2 * p * np.log(s0) + yy - (Xy * d).sum(-1))
    b = m0 + d
    logf = ll + prior_b.logpdf(T) + prior_w.logpdf(W)
    wt = np.exp(logf - logf.max()) * np.outer(wb, ww).ravel()
    wt /= wt.sum()
    thm, thv = np.zeros((N, k)), np.zeros((N, k))
    for rows, G, Si in parts:
        Xj = X[rows]
        GSi = G @ Si
        thm[:, rows] = b @ Xj.T + np.einsum("nil,nl->ni", GSi, y[rows][None] - b @ Xj.T)
        Xs = Xj[None] - GSi @ Xj
        thv[:, rows] = (np.einsum("nii->ni", G - GSi @ G) + np.einsum("nip,npq,niq->ni", Xs, Vb, Xs))
    res = {}
    mu_m = wt @ b[:, 0]
    res["mu"] = (mu_m, np.sqrt(wt @ (Vb[:, 0, 0] + b[:, 0] ** 2) - mu_m**2))
    for name, val in (("tau", T), ("tau_within", W)):
        m = wt @ val
        res[name] = (m, np.sqrt(wt @ val**2 - m * m))
    th_m = wt @ thm
    res["theta"] = (th_m, np.sqrt(wt @ (thv + thm**2) - th_m**2))
    res["theta_nodes"] = (wt, thm, np.sqrt(thv))
    return res


def mixture_quantile(w, m, s, q):
    """The q quantile of sum_n w_n N(m_n, s_n^2), by bisection on its cdf."""
    lo, hi = (m - 12 * s).min(), (m + 12 * s).max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if w @ stats.norm.cdf((mid - m) / s) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def test_che_exact_matches_an_independent_dense_quadrature():
    dat = _assink()
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, priors=PRIORS)
    ep = exact_posterior(model.spec)
    s = ep.summary()
    k = len(dat)
    V = model.spec.dependence.dense(model.spec.cluster_index)
    ref = independent_posterior(dat["yi"].to_numpy(), V, dat["study"].to_numpy(), np.ones((k, 1)), np.zeros(1), 1.0,
                                stats.halfnorm(scale=0.5), stats.halfnorm(scale=0.5), box=[(0.0, 1.5), (0.15, 0.75)])
    for name in ("mu", "tau", "tau_within"):
        m, sd = ref[name]
        assert abs(s.loc[name, "mean"] - m) < 1e-4 * sd, name
        assert abs(s.loc[name, "sd"] - sd) < 1e-4 * sd, name
    th_m, th_s = ref["theta"]
    for i in (0, 5, 19, 40, 99):
        row = f"theta[{dat['id'][i]}]"
        assert abs(s.loc[row, "mean"] - th_m[i]) < 1e-4 * th_s[i], row
        assert abs(s.loc[row, "sd"] - th_s[i]) < 1e-4 * th_s[i], row
        w, m, sd = ref["theta_nodes"]
        for col, q in (("eti_lower", 0.025), ("median", 0.5), ("eti_upper", 0.975)):
            assert abs(s.loc[row, col] - mixture_quantile(w, m[:, i], sd[:, i], q)) < 1e-4 * th_s[i], (row, col)


def test_che_V_given_equals_rho_built_and_rho_zero_is_three_level():
    dat = _assink()
    V = np.array(_case("assink2016_che_rho06")["expect"]["V"])
    a = exact_posterior(bm.MetaAnalysis(dat, yi="yi", V=V, cluster="study", labels="id",
                                        priors=PRIORS).spec).summary(theta=False)
    b = exact_posterior(bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6,
                                        priors=PRIORS).spec).summary(theta=False)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, atol=1e-9)  # metafor's vcalc V
    c = exact_posterior(bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.0,
                                        priors=PRIORS).spec).summary(theta=False)
    d = exact_posterior(bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id",
                                        priors=PRIORS).spec).summary(theta=False)
    np.testing.assert_allclose(c.to_numpy(), d.to_numpy(), rtol=1e-7, atol=1e-10)


def test_che_draws_match_the_exact_summary():
    dat = _assink()
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, priors=PRIORS)
    post = model.fit(engine="exact", draws=1500, chains=2, seed=3)
    s = post.exact.summary()
    th = post.idata.posterior["theta"].values.reshape(-1, len(dat))
    for i in (0, 19, 99):
        row = f"theta[{dat['id'][i]}]"
        se = s.loc[row, "sd"] / np.sqrt(th.shape[0])
        assert abs(th[:, i].mean() - s.loc[row, "mean"]) < 4.5 * se
        assert abs(th[:, i].std() / s.loc[row, "sd"] - 1) < 0.08


def test_dependent_input_errors_say_what_is_needed():
    dat = _assink()
    V = np.array(_case("assink2016_che_rho06")["expect"]["V"])
    with pytest.raises(bm.errors.InputError, match="needs cluster="):
        bm.MetaAnalysis(dat, yi="yi", V=V, labels="id")
    with pytest.raises(bm.errors.InputError, match=r"rho= must be in \(-1, 1\)"):
        bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=1.2)
    with pytest.raises(bm.errors.ArgumentTypeError, match="rho_sensitivity"):
        bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=[0.3, 0.5])
    bad = V.copy()
    bad[5, 6] = bad[6, 5] = 0.01  # rows 6 and 7: study 1 and study 2
    with pytest.raises(bm.errors.InputError, match=r"couples effects of two clusters: V\[6, 7\].*cluster '1'.*cluster '2'"):
        bm.MetaAnalysis(dat, yi="yi", V=bad, cluster="study", labels="id")
    with pytest.raises(bm.errors.InputError, match="not both"):
        bm.MetaAnalysis(dat, yi="yi", V=V, rho=0.5, cluster="study", labels="id")
    with pytest.raises(bm.errors.InputError, match="diagonal of V= differs from vi in row 1"):
        bm.MetaAnalysis(dat, yi="yi", vi=dat["vi"] * 2, V=V, cluster="study", labels="id")


def test_flat_prior_limit_is_metafor_reml():
    """Very wide priors: the posterior mode of (tau^2, tau_within^2) (mu integrated out, uniform priors on the
    SDs) is the restricted likelihood's maximum, metafor's REML sigma2; the posterior of mu centres on its beta."""
    from scipy import optimize

    dat = _assink()
    ref = _case("assink2016_che_rho06")["expect"]["model"]
    wide = {"mu": bm.priors.Normal(0, 1000), "tau": bm.priors.Uniform(0, 5), "tau_within": bm.priors.Uniform(0, 5)}
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, priors=wide)
    ep = exact_posterior(model.spec)
    g = ep.grid

    def neg(u):  # the posterior density of (tau, tau_within) itself: logf2 on log scale minus its Jacobian
        return -(g.logf2(np.array([u[0]]), np.array([u[1]]), False)[0, 0] - u[0] - u[1])

    res = optimize.minimize(neg, x0=np.log(np.sqrt(ref["sigma2"])) + 0.3, method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000})
    np.testing.assert_allclose(np.exp(2 * res.x), ref["sigma2"], rtol=2e-4)
    s = ep.summary(theta=False)
    assert abs(s.loc["mu", "median"] - ref["beta"]) < 0.05 * s.loc["mu", "sd"]


def test_che_study_effects_from_the_small_rule_equal_the_full_grid():
    """The study effects' summaries come from a small nested Gauss rule chosen by comparing rules on a
    sample of clusters (exact/che.py); with many clusters it is the coarsest one. They equal the mixture
    over every node of the quadrature grid (to 1e-5 posterior sd)."""
    from bayesma.exact.effects import theta_mixture
    from bayesma.exact.quadrature import _mixture_moments, _mixture_quantiles

    rng = np.random.default_rng(7)
    study = np.repeat(np.arange(150), rng.integers(1, 6, 150))
    vi = rng.uniform(0.01, 0.1, study.size)
    yi = 0.3 + rng.normal(0, 0.2, 150)[study] + rng.normal(0, 0.1, study.size) + rng.normal(0, np.sqrt(vi))
    dat = pd.DataFrame({"study": study, "yi": yi, "vi": vi})
    ep = exact_posterior(bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", rho=0.5, priors=PRIORS).spec)
    s = ep.summary()
    w, m, sd = theta_mixture(ep)  # every node of the grid
    q = _mixture_quantiles(w[None], m, sd, (0.025, 0.5, 0.975))
    mean, sdev = _mixture_moments(w[None], m, sd)
    th = s.loc[[f"theta[{i}]" for i in range(1, study.size + 1)]]
    assert np.max(np.abs(th["mean"] - mean) / sdev) < 1e-5
    assert np.max(np.abs(th["sd"] - sdev) / sdev) < 1e-5
    for j, col in enumerate(("eti_lower", "median", "eti_upper")):
        assert np.max(np.abs(th[col] - q[:, j]) / sdev) < 1e-5, col
