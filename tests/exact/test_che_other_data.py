"""The exact CHE engine on other data than dat.assink2016, against the independent dense quadrature
of tests/_dense_quadrature.py (to 1e-4 posterior sd): schools in districts (dat.konstantopoulos2011)
with a sampling correlation, and synthetic data with a general V given as a matrix or as blocks,
unbalanced clusters, clusters of one effect, two or three clusters and a moderator.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _dense_quadrature import (
    che_covariance,
    constant_rho_V,
    gauss_legendre,
    mixture_quantile,
    moments,
    posterior,
)
from scipy import stats

import bayesma as bm

HN = stats.halfnorm(scale=0.5)
PRIORS = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "tau_within": bm.priors.HalfNormal(0.5)}
TOL = 1e-4  # posterior sd


def _reference(df: pd.DataFrame, V: np.ndarray, cluster: np.ndarray, X: np.ndarray, box: tuple) -> dict:
    """The dense quadrature on the box [0, box[0]] x [0, box[1]] of (tau, tau_within)."""
    ref = posterior(df["yi"].to_numpy(), V, cluster, X, 1.0, che_covariance, gauss_legendre(0.0, box[0], 10),
                    gauss_legendre(0.0, box[1], 10),
                    lambda a, b: HN.logpdf(a) + HN.logpdf(b))
    assert max(ref["edge"]) < 1e-9  # the box holds the posterior
    return ref


def _agree(s: pd.DataFrame, ref: dict, coefs: list[str], labels: list[str], new: bool = True) -> float:
    """The largest difference, in posterior sds, of means, sds and 95% interval ends."""
    w, worst = ref["w"], 0.0
    rows = {c: (ref["beta"][:, j], ref["beta_cov"][:, j, j]) for j, c in enumerate(coefs)}
    rows |= {f"theta[{lab}]": (ref["theta_mean"][:, i], ref["theta_var"][:, i]) for i, lab in enumerate(labels)}
    if new:
        rows["theta_new"] = (ref["beta"][:, 0], ref["beta_cov"][:, 0, 0] + ref["a"] ** 2 + ref["b"] ** 2)
    for i, (name, (m, v)) in enumerate(rows.items()):
        mean, sd = moments(w, m, v)
        worst = max(worst, abs(s.loc[name, "mean"] - mean) / sd, abs(s.loc[name, "sd"] - sd) / sd)
        for col, q in (("eti_lower", 0.025), ("eti_upper", 0.975)) if i % 5 == 0 or name == "theta_new" else ():
            worst = max(worst, abs(s.loc[name, col] - mixture_quantile(w, m, np.sqrt(v), q)) / sd)
    for name, x in (("tau", ref["a"]), ("tau_within", ref["b"])):
        mean, sd = moments(w, x)
        worst = max(worst, abs(s.loc[name, "mean"] - mean) / sd, abs(s.loc[name, "sd"] - sd) / sd)
    return worst


def test_che_exact_matches_a_dense_quadrature_on_schools_in_districts():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    dat["label"] = [f"{d}.{s}" for d, s in zip(dat["district"], dat["school"])]
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="district", labels="label", rho=0.5, priors=PRIORS)
    post = model.fit(seed=1)  # engine="auto"
    assert post.engine == "exact"
    cluster = pd.factorize(dat["district"])[0]
    ref = _reference(dat, constant_rho_V(dat["vi"].to_numpy(), cluster, 0.5), cluster, np.ones((len(dat), 1)), (2.0, 0.6))
    assert _agree(post.summary(), ref, ["mu"], list(dat["label"])) < TOL


def _synthetic(sizes: list[int], seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Effects in clusters of the given sizes, each cluster's sampling errors with its own correlation matrix."""
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(len(sizes)), sizes)
    k = cluster.size
    vi = rng.uniform(0.01, 0.09, k)
    V = np.zeros((k, k))
    for c in range(len(sizes)):
        rows = np.flatnonzero(cluster == c)
        A = rng.normal(size=(rows.size, rows.size + 2))
        C = A @ A.T
        C /= np.sqrt(np.outer(np.diag(C), np.diag(C)))
        V[np.ix_(rows, rows)] = C * np.sqrt(np.outer(vi[rows], vi[rows]))
    x = rng.normal(size=k)
    y = (0.2 + 0.1 * x + rng.normal(0, 0.25, len(sizes))[cluster] + rng.normal(0, 0.15, k)
         + np.linalg.cholesky(V) @ rng.normal(size=k))
    df = pd.DataFrame({"study": [f"s{c:02d}" for c in cluster], "yi": y, "vi": vi, "x": x,
                       "label": [f"e{i}" for i in range(k)]})
    return df, V, cluster


def _blocks(V: np.ndarray, cluster: np.ndarray) -> list[np.ndarray]:
    return [V[np.ix_(cluster == c, cluster == c)] for c in np.unique(cluster)]


def test_che_exact_with_a_general_V_unbalanced_clusters_and_clusters_of_one_effect():
    df, V, cluster = _synthetic([1, 1, 4, 2, 7, 1, 3, 1, 2, 5], seed=1)
    as_blocks = bm.MetaAnalysis(df, yi="yi", vi="vi", V=_blocks(V, cluster), cluster="study", labels="label",
                                priors=PRIORS).fit(seed=1)
    as_matrix = bm.MetaAnalysis(df, yi="yi", V=V, cluster="study", labels="label", priors=PRIORS).fit(seed=1)
    s = as_blocks.summary()
    np.testing.assert_allclose(as_matrix.summary().to_numpy(float), s.to_numpy(float), rtol=1e-9, equal_nan=True)
    ref = _reference(df, V, cluster, np.ones((len(df), 1)), (2.0, 2.0))
    assert _agree(s, ref, ["mu"], list(df["label"])) < TOL


@pytest.mark.parametrize("sizes", [[3, 1], [2, 4, 1]])
def test_che_exact_meta_regression_with_two_or_three_clusters(sizes):
    df, V, cluster = _synthetic(sizes, seed=len(sizes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.errors.SmallKWarning)  # few clusters: the point of the test
        post = bm.MetaAnalysis(df, yi="yi", vi="vi", V=_blocks(V, cluster), cluster="study", labels="label",
                               mods="~ x", priors={**PRIORS, "beta": bm.priors.Normal(0, 1)}).fit(seed=1)
    assert post.engine == "exact"
    X = np.c_[np.ones(len(df)), df["x"].to_numpy()]
    ref = _reference(df, V, cluster, X, (4.0, 4.0))  # few clusters: tau's posterior reaches far into its prior
    assert _agree(post.summary(), ref, ["beta[intrcpt]", "beta[x]"], list(df["label"]), new=False) < TOL
