"""The prior of the correlation matrix of the unstructured multivariate NUTS model (``struct="UN"``)
is LKJ(eta): draws of ``rho`` from the model against an independent LKJ sampler written here.

LKJ(eta) over 3 x 3 correlation matrices has density proportional to ``det(R)^(eta - 1)`` on
the positive-definite ones, with respect to Lebesgue measure on ``(r12, r13, r23)``: the
independent sampler draws the three correlations uniformly on (-1, 1)^3 and keeps a draw with
probability ``det(R)^(eta - 1)`` (0 when R is not positive definite). The two samples are compared
by two-sample Kolmogorov-Smirnov tests on each correlation and on ``det(R)`` (fixed seeds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesma as bm
from bayesma.models.nuts import ModelCache

pm = pytest.importorskip("pymc")


def _three_outcomes(eta: float):
    rng = np.random.default_rng(3)
    rows = [{"study": f"S{s}", "outcome": o, "yi": rng.normal(0.2, 0.3), "vi": rng.uniform(0.02, 0.06)}
            for s in range(6) for o in ("a", "b", "c")[: 2 + s % 2]]
    ma = bm.MetaAnalysis(pd.DataFrame(rows), yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                         struct="UN", priors={"rho": bm.priors.LKJ(eta)})
    entry, _ = ModelCache().get(ma.spec, "auto", pad=False)
    return entry.model


def _lkj_by_rejection(eta: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        r = rng.uniform(-1.0, 1.0, (20000, 3))  # r12, r13, r23
        det = 1.0 - (r**2).sum(axis=1) + 2.0 * r[:, 0] * r[:, 1] * r[:, 2]
        ok = det > 0
        keep = ok & (rng.uniform(size=len(r)) < np.where(ok, np.abs(det), 0.0) ** (eta - 1.0))
        out.extend(r[keep])
    return np.array(out[:n])


def _det(r: np.ndarray) -> np.ndarray:
    return 1.0 - (r**2).sum(axis=1) + 2.0 * r[:, 0] * r[:, 1] * r[:, 2]


@pytest.mark.parametrize("eta", [1.0, 2.5])
def test_un_model_prior_on_the_correlations_is_lkj(eta):
    model = _three_outcomes(eta)
    draws = pm.draw(model["rho"], draws=4000, random_seed=5, mode="FAST_COMPILE")  # pairs (a,b), (a,c), (b,c)
    assert draws.shape == (4000, 3)
    reference = _lkj_by_rejection(eta, 4000, seed=6)
    for j in range(3):
        assert stats.ks_2samp(draws[:, j], reference[:, j]).pvalue > 1e-3
    assert stats.ks_2samp(_det(draws), _det(reference)).pvalue > 1e-3
    assert (_det(draws) > 0).all()
    # and the marginal of each correlation is the known Beta(eta + 1/2, eta + 1/2) on (-1, 1)
    beta = stats.beta(eta + 0.5, eta + 0.5, loc=-1.0, scale=2.0)
    for j in range(3):
        assert stats.kstest(draws[:, j], beta.cdf).pvalue > 1e-3


def test_a_wrong_prior_fails_the_comparison():
    """The comparison has power: LKJ(1) draws are not LKJ(2.5) draws."""
    draws = pm.draw(_three_outcomes(1.0)["rho"], draws=4000, random_seed=5, mode="FAST_COMPILE")
    reference = _lkj_by_rejection(2.5, 4000, seed=6)
    assert stats.ks_2samp(_det(draws), _det(reference)).pvalue < 1e-3
