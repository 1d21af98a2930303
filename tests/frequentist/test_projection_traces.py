"""The traces of P = W - W X (X'WX)^-1 X'W that the tau² estimators use, checked against P
formed densely from its definition (and, where weights span twelve orders of magnitude,
in 50-digit arithmetic): the O(k p²) formulas must agree at any k, with no k x k matrix."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from bayesma.frequentist._common import _BatchProjection


def dense_p(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    W = np.diag(w)
    return W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W


@pytest.mark.parametrize("p", [1, 2, 3])
def test_traces_equal_dense_formulas(p):
    rng = np.random.default_rng(p)
    k, B = 40, 3
    X = np.column_stack([np.ones(k)] + [rng.normal(size=k) for _ in range(p - 1)])
    w = rng.uniform(1.0, 100.0, size=(B, k))
    d = rng.uniform(0.01, 0.2, size=(B, k))
    proj = _BatchProjection(X, w)
    for b in range(B):
        P = dense_p(X, w[b])
        assert proj.trace()[b] == pytest.approx(np.trace(P), rel=1e-12)
        assert proj.trace_dpp()[b] == pytest.approx(np.trace(P @ P), rel=1e-12)
        assert proj.trace_dpp(d)[b] == pytest.approx(np.trace(np.diag(d[b]) @ P @ P), rel=1e-12)
        D = np.diag(d[b])
        assert proj.trace_pdpd(d)[b] == pytest.approx(np.trace(P @ D @ P @ D), rel=1e-12)


def test_traces_with_one_dominant_weight_match_50_digit_arithmetic():
    # one sampling variance of 1e-12 among variances near 0.05: the closed form through
    # (Q'WQ)² cancels here; the pairwise sums must keep their digits
    mpmath.mp.dps = 50
    vi = [1e-12, 0.05, 0.04, 0.08, 0.03, 0.06]
    x = [0.0, 1.0, 2.0, 3.5, 4.0, 7.0]
    X = np.column_stack([np.ones(6), x])
    w = 1.0 / np.asarray(vi)
    proj = _BatchProjection(X, w[None])
    Wm = mpmath.diag([1 / mpmath.mpf(v) for v in vi])
    Xm = mpmath.matrix([[1, xi] for xi in x])
    Pm = Wm - Wm * Xm * (Xm.T * Wm * Xm) ** -1 * Xm.T * Wm
    tr_pp = float(sum(Pm[i, j] ** 2 for i in range(6) for j in range(6)))
    assert proj.trace_dpp()[0] == pytest.approx(tr_pp, rel=1e-5)  # the QR of W^(1/2) X limits it
    d = np.asarray(vi)
    tr_pdpd = float(sum(Pm[i, j] ** 2 * mpmath.mpf(vi[i]) * mpmath.mpf(vi[j]) for i in range(6) for j in range(6)))
    assert proj.trace_pdpd(d)[0] == pytest.approx(tr_pdpd, rel=1e-6)


def test_rma_does_not_change_between_k_2000_and_2001():
    # the same formulas at every k (there used to be a dense path up to k = 2000)
    import bayesma as bm

    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.1, 2001)
    yi = rng.normal(0.2, np.sqrt(vi + 0.04))
    full = bm.rma(yi, vi, method="REML")
    part = bm.rma(yi[:-1], vi[:-1], method="REML")
    assert np.isfinite(part.se_tau2) and part.se_tau2 > 0
    assert abs(full.tau2 - part.tau2) < 5 * part.se_tau2
