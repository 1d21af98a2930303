"""The flat-prior limit of the dependent-effects models: with very wide priors the joint posterior mode of
(coefficients, variance parameters) is rma_mv's maximum-likelihood estimate (ML), for the CHE model on
dat.assink2016 and compound symmetry across outcomes on dat.berkey1998. (The mode of the variance
parameters with the coefficients integrated out is the REML estimate: tests/exact/test_che.py and
tests/exact/test_multivariate.py.)

The joint log density at the coefficients' conditional mode b(theta) is the exact engine's log density
of theta (coefficients integrated out) minus half the log determinant of the coefficients' conditional
covariance V(theta): log p(y, b | theta) = log p(y | theta) + log N(b; b, V).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from _helpers import REFERENCE_DIR
from scipy import optimize, special

import bayesma as bm
from bayesma.exact import exact_posterior

CASES = {c["name"]: c for c in json.loads((REFERENCE_DIR / "metafor/metafor_cases_v3.json").read_text())["cases"]}


def _joint_mode(grid, x0, jacobian):
    """argmax over u of logf2(u) - log|d theta/d u| - 0.5 log det V(u); the coefficients there."""

    def neg(u):
        f, b, V = grid.logf2(np.array([u[0]]), np.array([u[1]]), True)
        return -(f.ravel()[0] - jacobian(u) - 0.5 * np.linalg.slogdet(V.reshape(-1, *V.shape[-2:])[0])[1])

    res = optimize.minimize(neg, x0=x0, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
    _, b, _ = grid.logf2(np.array([res.x[0]]), np.array([res.x[1]]), True)
    return res.x, b.reshape(-1, b.shape[-1])[0]


def test_che_joint_mode_under_flat_priors_is_rma_mv_ml():
    dat = pd.DataFrame(CASES["assink2016_che_rho06"]["input"])
    wide = {"mu": bm.priors.Normal(0, 1000), "tau": bm.priors.Uniform(0, 5), "tau_within": bm.priors.Uniform(0, 5)}
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, priors=wide)
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=dat)
    ml = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=dat, method="ML")
    u, b = _joint_mode(exact_posterior(model.spec).grid, np.log(np.sqrt(ml.sigma2)) + 0.3, lambda u: u[0] + u[1])
    np.testing.assert_allclose(np.exp(2 * u), ml.sigma2, rtol=2e-4)
    np.testing.assert_allclose(b, ml.beta, rtol=1e-4)


def test_cs_joint_mode_under_flat_priors_is_rma_mv_ml():
    inp = dict(CASES["berkey1998_CS"]["input"])
    V = np.array(inp.pop("V"))
    df = pd.DataFrame(inp)
    wide = {"mu": bm.priors.Normal(0, 1000), "tau": bm.priors.Uniform(0, 5)}  # rho: uniform on (-1, 1)
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS", priors=wide)
    ml = bm.rma_mv("yi", V, mods="~ outcome - 1", random="~ outcome | trial", struct="CS", data=df, method="ML")

    def jacobian(u):  # (log tau, logit of (rho + 1) / 2) -> (tau, rho)
        x = special.expit(u[1])
        return u[0] + np.log(2 * x * (1 - x))

    x0 = [0.5 * np.log(float(np.atleast_1d(ml.tau2)[0])) + 0.3, special.logit((float(np.atleast_1d(ml.rho)[0]) + 1) / 2) - 0.3]
    u, b = _joint_mode(exact_posterior(model.spec).grid, x0, jacobian)
    np.testing.assert_allclose(np.exp(2 * u[0]), np.atleast_1d(ml.tau2)[0], rtol=2e-4)
    np.testing.assert_allclose(2 * special.expit(u[1]) - 1, np.atleast_1d(ml.rho)[0], rtol=2e-4)
    np.testing.assert_allclose(b, ml.beta, rtol=1e-4)
