"""A multivariate model takes its own priors back: ``model.priors`` names them flat (``mu[o1]``), and
``MetaAnalysis(..., priors=model.priors)`` raised "unknown prior keys ['mu[o1]', 'mu[o2]']"; the same
names now mean priors by outcome (as ``{"mu": {"o1": ...}}``), so the refit is the same model."""

from __future__ import annotations

import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import InputError

_DATA = pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40, 0.30, 0.15],
                      "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02, 0.06, 0.04],
                      "cl": ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"], "out": ["o1", "o2"] * 4})
_KW = dict(cluster="cl", outcome="out", struct="CS", rho=0.5)


def test_a_model_refitted_with_its_own_priors_is_the_same_model():
    m = bm.MetaAnalysis(_DATA, "yi", "vi", **_KW, priors={"mu": {"o1": "normal(0, 2)"}})
    again = bm.MetaAnalysis(_DATA, "yi", "vi", **_KW, priors=m.priors)
    assert again.priors == m.priors
    pd.testing.assert_frame_equal(again.fit(engine="exact", seed=5).summary(), m.fit(engine="exact", seed=5).summary())


def test_flat_names_are_priors_by_outcome():
    flat = bm.MetaAnalysis(_DATA, "yi", "vi", **_KW, priors={"mu[o2]": "normal(0, 3)"}).priors
    nested = bm.MetaAnalysis(_DATA, "yi", "vi", **_KW, priors={"mu": {"o2": "normal(0, 3)"}}).priors
    assert flat == nested
    assert repr(flat["mu[o2]"]) == "Normal(mu=0, sigma=3)"


def test_one_prior_and_one_per_outcome_together_is_an_error():
    with pytest.raises(InputError, match="both given"):
        bm.MetaAnalysis(_DATA, "yi", "vi", **_KW, priors={"mu": "normal(0, 1)", "mu[o1]": "normal(0, 2)"})

