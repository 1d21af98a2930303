"""The multivariate model across outcomes on the shape of the motivating analysis (SYNTHETIC data: 21
studies, 27 effects, three outcomes, six studies with two of them, one outcome in k = 3 studies): the
exact compound-symmetry engine against the independent dense quadrature of tests/_dense_quadrature.py
(to 1e-4 posterior sd), with the default prior of rho (uniform over (-1/2, 1) for three outcomes).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _dense_quadrature import constant_rho_V, cs_covariance, gauss_legendre, mixture_quantile, moments, posterior
from scipy import stats

import bayesma as bm

MEANS = {"dropout": -0.3, "recidivism": -0.15, "misconduct": -0.2}


def motivating_shape(seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC: dropout in 8 studies, recidivism in 16, misconduct in 3; studies 0-3 report dropout and
    recidivism, 9-10 recidivism and misconduct."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(21):
        outcomes = ["dropout"] if s < 8 else (["misconduct"] if s == 8 else ["recidivism"])
        outcomes += ["recidivism"] if s < 4 else (["misconduct"] if s in (9, 10) else [])
        u = rng.normal(0, 0.15)
        for o in outcomes:
            rows.append({"study": f"S{s:02d}", "outcome": o, "vi": rng.uniform(0.02, 0.06),
                         "yi": MEANS[o] + u + rng.normal(0, 0.1) + rng.normal(0, 0.2)})
    return pd.DataFrame(rows)


def test_the_data_have_the_motivating_shape():
    df = motivating_shape()
    assert (len(df), df["study"].nunique(), (df.groupby("study").size() == 2).sum()) == (27, 21, 6)
    assert df.groupby("outcome").size().to_dict() == {"dropout": 8, "misconduct": 3, "recidivism": 16}


def test_cs_exact_matches_a_dense_quadrature_on_the_motivating_shape():
    df = motivating_shape()
    model = bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = model.fit(seed=1)  # engine="auto"
    assert post.engine == "exact"
    small = [str(w.message) for w in caught if issubclass(w.category, bm.errors.SmallKWarning)]
    assert len(small) == 1 and "'misconduct' (k = 3)" in small[0] and "dropout" not in small[0]
    s = post.summary()
    names = sorted(MEANS)
    cluster = pd.factorize(df["study"])[0]
    X = (df["outcome"].to_numpy()[:, None] == np.array(names)[None]).astype(float)
    hn = stats.halfnorm(scale=0.5)
    ref = posterior(df["yi"].to_numpy(), constant_rho_V(df["vi"].to_numpy(), cluster, 0.5), cluster, X, 1.0,
                    cs_covariance, gauss_legendre(0.0, 2.0, 10), gauss_legendre(-0.5, 1.0, 8),
                    lambda tau, rho: hn.logpdf(tau))  # rho: uniform on (-1/2, 1)
    assert ref["edge"][0] < 1e-9  # tau; rho spans its whole support
    w = ref["w"]
    rows = {f"mu[{o}]": (ref["beta"][:, j], ref["beta_cov"][:, j, j]) for j, o in enumerate(names)}
    rows |= {f"theta_new[{o}]": (ref["beta"][:, j], ref["beta_cov"][:, j, j] + ref["a"] ** 2)
             for j, o in enumerate(names)}
    rows |= {f"theta[{i + 1}]": (ref["theta_mean"][:, i], ref["theta_var"][:, i]) for i in (0, 1, 12, 20, 26)}
    for name, (m, v) in rows.items():
        mean, sd = moments(w, m, v)
        assert abs(s.loc[name, "mean"] - mean) < 1e-4 * sd, name
        assert abs(s.loc[name, "sd"] - sd) < 1e-4 * sd, name
        for col, q in (("eti_lower", 0.025), ("median", 0.5), ("eti_upper", 0.975)):
            assert abs(s.loc[name, col] - mixture_quantile(w, m, np.sqrt(v), q)) < 1e-4 * sd, (name, col)
    for name, x in (("tau", ref["a"]), ("rho", ref["b"])):
        mean, sd = moments(w, x)
        assert abs(s.loc[name, "mean"] - mean) < 1e-4 * sd, name
        assert abs(s.loc[name, "sd"] - sd) < 1e-4 * sd, name


@pytest.mark.slow
def test_cs_nuts_agrees_with_exact_on_the_motivating_shape():
    """Means within 0.1 posterior sd, 95% interval ends within 0.2 sd or 4 Monte Carlo SEs; no divergences."""
    df = motivating_shape()
    model = bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.errors.SmallKWarning)
        nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=11)
        exact = model.fit(engine="exact", seed=1).summary()
    assert nuts.diagnostics().divergences == 0
    s = nuts.summary()
    for row in ("mu[dropout]", "mu[misconduct]", "mu[recidivism]", "tau", "rho", "theta[1]", "theta_new[misconduct]"):
        sd = exact.loc[row, "sd"]
        # 0.1 sd, or 4 Monte Carlo SEs when the effective sample is below 1600 (another machine's draws)
        mean_tol = max(0.1 * sd, 4 * sd / np.sqrt(s.loc[row, "ess_bulk"]))
        assert abs(s.loc[row, "mean"] - exact.loc[row, "mean"]) < mean_tol, row
        mcse = 2.7 * sd / np.sqrt(s.loc[row, "ess_tail"])  # MC SE of a 2.5% quantile (normal: 2.67 sd / sqrt(ESS))
        for col in ("eti_lower", "eti_upper"):
            assert abs(s.loc[row, col] - exact.loc[row, col]) < max(0.2 * sd, 4 * mcse), (row, col)


@pytest.mark.slow
def test_un_nuts_samples_three_outcomes_without_divergences():
    """With three outcomes the LKJ correlation matrix must stay positive definite under the sampler's
    transform (PyMC's LKJCorr keeps each entry in (-1, 1) only: 1357 of 2000 transitions diverged on this
    shape). Dropout and misconduct are never reported by one study, so their correlation is close to its
    LKJ(1) prior, whose marginal for three outcomes is Beta(1.5, 1.5) on (-1, 1): mean 0, sd 0.5."""
    df = motivating_shape()
    model = bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome", struct="UN")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.errors.SmallKWarning)
        nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=3)
    assert nuts.diagnostics().divergences == 0
    r = nuts.summary().loc["rho[dropout,misconduct]"]
    assert abs(r["mean"]) < 0.15 and abs(r["sd"] - 0.5) < 0.05
