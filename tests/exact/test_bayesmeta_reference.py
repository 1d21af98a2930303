"""Parity with R's bayesmeta 3.4 (issue 16): the exact engine against bayesmeta's own densities integrated
at tight tolerance (tests/data/reference/bayesmeta/bayesmeta_cases.json, made by bayesmeta_cases.R there).

Every data set (k = 1 to 58) x tau prior (improper uniform = HalfFlat, Jeffreys, half-Cauchy(0.5),
half-normal(0.5), DuMouchel, uniform shrinkage, I2-uniform) x mu prior (flat, Normal(0, 4)):
improper posteriors are refused, quantiles of mu, tau and theta_new agree, moments agree where
they exist and are inf / NaN where they do not, and the log marginal likelihood agrees where
bayesmeta defines it (both priors proper).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm
from bayesma import priors as pr

CASES = json.loads((REFERENCE_DIR / "bayesmeta/bayesmeta_cases.json").read_text())["cases"]


def _tau_prior(name: str, vi: np.ndarray):
    return {
        "uniform": lambda: pr.HalfFlat(),
        "Jeffreys": lambda: pr.Jeffreys.from_vi(vi),
        "halfcauchy_0.5": lambda: pr.HalfCauchy(0.5),
        "halfnormal_0.5": lambda: pr.HalfNormal(0.5),
        "DuMouchel": lambda: pr.DuMouchel.from_vi(vi),
        "shrinkage": lambda: pr.UniformShrinkage.from_vi(vi),
        "I2": lambda: pr.UniformShrinkage.i2_uniform(vi),
    }[name]()


def _model(case):
    y = np.asarray(case["input"]["y"], float)
    vi = np.asarray(case["input"]["sigma"], float) ** 2
    mu = pr.Flat() if case["mu_prior"] == "flat" else pr.Normal(case["mu_prior_mean"], case["mu_prior_sd"])
    return bm.MetaAnalysis(yi=y, vi=vi, priors={"mu": mu, "tau": _tau_prior(case["tau_prior"], vi)})


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_exact_engine_equals_bayesmeta(case):
    e = case["expect"]
    if not e["proper"]:
        with pytest.raises(ValueError, match="improper"):
            _model(case)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = _model(case).fit(engine="exact", seed=1)
    s = post.summary(theta=False) if "theta" in post.summary.__code__.co_varnames else post.summary()
    width = e["mu_q"][2] - e["mu_q"][0]
    tol = 1e-7 * width
    np.testing.assert_allclose(s.loc["mu", ["eti_lower", "median", "eti_upper"]].to_numpy(float), e["mu_q"],
                               rtol=0, atol=tol)
    np.testing.assert_allclose(s.loc["theta_new", ["eti_lower", "median", "eti_upper"]].to_numpy(float),
                               e["theta_new_q"], rtol=0, atol=tol)
    np.testing.assert_allclose(s.loc["tau", ["eti_lower", "median", "eti_upper"]].to_numpy(float), e["tau_q"],
                               rtol=1e-8, atol=1e-10)
    for row, stat in (("tau", "mean"), ("tau", "sd"), ("mu", "mean"), ("mu", "sd"), ("theta_new", "mean"),
                      ("theta_new", "sd")):
        value = s.loc[row, stat]
        if e["exists"][f"{row}_{stat}"]:
            assert value == pytest.approx(e[f"{row}_{stat}"], rel=1e-8, abs=1e-9 * width), (row, stat)
        elif row == "tau" or stat == "sd":
            assert value == math.inf, (row, stat, value)
        else:
            assert math.isnan(value), (row, stat, value)
    assert post.p_greater("mu", 0.0) == pytest.approx(e["P_mu_gt_0"], abs=1e-9)
    if e.get("log_marginal_likelihood") is not None:
        assert post.exact.log_marginal_likelihood == pytest.approx(e["log_marginal_likelihood"], abs=1e-9)
