"""robma refuses improper priors: its inclusion Bayes factors are ratios of marginal likelihoods,
which an improper prior leaves undefined."""

from __future__ import annotations

import pytest

import bayesma as bm


@pytest.mark.parametrize("priors", [{"effect": bm.priors.Flat()}, {"effect": "flat()"},
                                    {"heterogeneity": bm.priors.HalfFlat()},
                                    {"heterogeneity": bm.priors.Jeffreys.from_vi([0.01, 0.02, 0.03])}])
def test_robma_refuses_improper_priors(priors):
    with pytest.raises(bm.InputError, match="is improper"):
        bm.robma(yi=[0.3, 0.5, 0.1], sei=[0.1, 0.15, 0.12], priors=priors, draws=256, replicates=2)
