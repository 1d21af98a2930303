"""Prior sensitivity of the multivariate model across outcomes: ``with_priors`` (priors by outcome, rho)
and ``compare_priors`` (one row per prior and outcome) equal the models built with those priors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm


@pytest.fixture(scope="module")
def effects() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(9) for o in (["a", "b"] if s < 3 else ["a"] if s < 6 else ["b"])]
    return pd.DataFrame(rows)


def _model(df, struct="CS", **priors):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome", struct=struct,
                               priors=priors or None)


def test_with_priors_of_a_multivariate_model_equals_the_model_built_with_them(effects):
    base = _model(effects, "HCS")
    new = base.with_priors({"tau": {"b": "halfnormal(0.2)"}, "mu": {"a": "normal(0, 2)"}, "rho": bm.priors.Uniform(0, 1)})
    built = _model(effects, "HCS", tau={"b": bm.priors.HalfNormal(0.2)}, mu={"a": bm.priors.Normal(0, 2)},
                   rho=bm.priors.Uniform(0, 1))
    assert new.spec.priors == built.spec.priors
    assert new.spec.priors["tau[a]"] == base.spec.priors["tau[a]"]
    with pytest.raises(bm.errors.InputError, match="unknown prior keys \\['tau_within'\\]"):
        base.with_priors({"tau_within": "halfnormal(1)"})


def test_compare_priors_of_a_multivariate_model_has_a_row_per_prior_and_outcome(effects):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = bm.compare_priors(effects, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                                tau_priors={"HN(0.3)": "halfnormal(0.3)", "HN(1)": "halfnormal(1)"},
                                mu_priors={"N(0,1)": "normal(0, 1)"}, seed=1)
    assert list(cmp.table.index) == [("HN(0.3)", "a"), ("HN(0.3)", "b"), ("HN(1)", "a"), ("HN(1)", "b")]
    direct = _model(effects, mu=bm.priors.Normal(0, 1), tau=bm.priors.HalfNormal(1)).fit(engine="exact",
                                                                                       seed=1).summary()
    row = cmp.table.loc[("HN(1)", "b")]
    np.testing.assert_allclose([row["mu_mean"], row["mu_lower"], row["tau_median"], row["rho_upper"],
                                row["new_upper"]],
                               [direct.loc["mu[b]", "mean"], direct.loc["mu[b]", "eti_lower"],
                                direct.loc["tau", "median"], direct.loc["rho", "eti_upper"],
                                direct.loc["theta_new[b]", "eti_upper"]], rtol=1e-8)
    assert "2 priors" in repr(cmp)
