"""One tau² engine (issue 10): rma and the simulation's batch estimator are the same computation,
so they give the same numbers, PM and the Q-profile bounds included (the same uniroot steps)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayesma as bm
from bayesma._rootfind import uniroot, uniroot_batch
from bayesma.frequentist.batch import frequentist_batch
from bayesma.frequentist.tau2 import estimate_tau2_batch, tau2_batch


@pytest.mark.parametrize("method", ["DL", "REML", "ML", "PM", "EB", "HS", "SJ", "HE"])
@pytest.mark.parametrize("k", [2, 3, 7])
def test_batch_equals_rma(method, k):
    rng = np.random.default_rng(k)
    B = 12
    v = rng.uniform(0.005, 0.2, (B, k))
    y = rng.normal(0.2, np.sqrt(v + rng.choice([0.0, 0.05, 0.3], (B, 1))))
    tau2, lo, hi = tau2_batch(y, v, method, 0.95)
    out = frequentist_batch(y, v, method, "knha")
    for i in range(B):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = bm.rma(y[i], v[i], method=method, test="knha")
        assert tau2[i] == pytest.approx(r.tau2, rel=1e-9, abs=1e-13)
        np.testing.assert_allclose([lo[i], hi[i]], r.tau2_ci, rtol=1e-9, atol=1e-13)
        assert out["mu"][i] == pytest.approx(r.beta[0], rel=1e-9, abs=1e-13)
        assert out["mu_upper"][i] == pytest.approx(r.ci_ub[0], rel=1e-9, abs=1e-13)


def test_batch_with_a_design_matrix_equals_rma():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    X = np.column_stack([np.ones(13), dat["ablat"]])
    y, v = dat["yi"].to_numpy(), dat["vi"].to_numpy()
    Y = np.stack([y, y[::-1], y + 0.3 * np.sin(np.arange(13))])
    V = np.stack([v, v, v[::-1]])
    for method in ("REML", "PM", "DL", "EB", "SJ"):
        t, _, _ = estimate_tau2_batch(method, Y, V, X)
        for i in range(3):
            r = bm.rma(Y[i], V[i], mods=X[:, 1:], method=method)
            assert t[i] == pytest.approx(r.tau2, rel=1e-9, abs=1e-13)


def test_uniroot_batch_takes_rs_steps_element_by_element():
    # the batch and the scalar uniroot (R's steps) give identical numbers, element by element
    targets = np.array([1.5, 2.0, 3.0, 10.0])
    roots = uniroot_batch(lambda t, idx: np.exp(t) - targets[idx], np.zeros(4), np.full(4, 5.0))
    for r, c in zip(roots, targets):
        assert r == uniroot(lambda t, c=c: float(np.exp(t) - c), 0.0, 5.0)
    np.testing.assert_allclose(roots, np.log(targets), atol=2e-4)
    with pytest.raises(ValueError, match="opposite sign"):
        uniroot_batch(lambda t, idx: t + 1.0, np.zeros(2), np.ones(2))
