"""The exact engine's shortcuts at large k equal the direct computations they replace.

* beta | tau at 4,000 drawn tau values: interpolated between the grid's Gauss-Legendre nodes
  (O(draws x nodes)) vs computed from all k studies at each draw (O(draws x k));
* the study effects' summaries: the compressed (48-node) rule, accepted after a check on a
  sample of studies, vs root-finding on the full mixture of every study.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.exact import exact_posterior
from bayesma.exact.effects import theta_summary
from bayesma.exact.likelihood import _loglik_re
from bayesma.exact.sampling import _bV_interpolated


def _data(k: int, seed: int, tau: float = 0.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, k)
    return pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + tau**2)), "vi": vi, "x": rng.normal(size=k)})


@pytest.mark.parametrize("k, mods, tau", [(30, None, 0.2), (200, "~ x", 0.2), (8, None, 0.0)])
def test_interpolated_conditional_of_beta_equals_the_direct_one(k, mods, tau):
    priors = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)", **({"beta": "normal(0, 1)"} if mods else {})}
    ma = bm.MetaAnalysis(_data(k, 3, tau), mods=mods, priors=priors)
    ep = exact_posterior(ma.spec)
    u01 = np.random.default_rng(4).random(4000)
    tau_draws = np.exp(ep.grid.u_quantiles(u01[None])[0])
    tau_draws = np.where(np.isfinite(tau_draws), tau_draws, 0.0)
    b, V = _bV_interpolated(ep.grid, u01, tau_draws, ma.spec, ep.loc)
    _, b_ref, V_ref = _loglik_re((tau_draws**2)[None], ma.spec.yi[None], ma.spec.vi[None], ma.spec.X, ep.loc)
    np.testing.assert_allclose(b, b_ref[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(V, V_ref[0], rtol=1e-9, atol=1e-14)


def test_theta_summaries_at_large_k_equal_root_finding_on_the_full_mixture():
    ma = bm.MetaAnalysis(_data(12_000, 5), priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    ep = exact_posterior(ma.spec)
    q, mean, sd = theta_summary(ep)  # k x nodes above the threshold: compressed rule, checked
    q_ref, mean_ref, sd_ref = theta_summary(ep, small=np.inf)  # the full mixture for every study
    np.testing.assert_allclose(q, q_ref, rtol=0, atol=1e-8 * sd_ref.min())
    np.testing.assert_allclose(mean, mean_ref, rtol=0, atol=1e-8 * sd_ref.min())
    np.testing.assert_allclose(sd, sd_ref, rtol=1e-8)
