"""``with_priors`` and ``compare_priors`` on a binomial- or Poisson-normal model. The model's priors
include the study baselines' (``priors["baseline"]``), which the normal model's prior resolution
does not know, so any new prior raised "unknown prior keys ['baseline']". A refit with a new prior
must equal a direct fit with the same priors."""

from __future__ import annotations

import pandas as pd
import pytest

import bayesma as bm

_TABLES = pd.DataFrame({"ai": [5, 8, 3, 12, 7, 4], "bi": [45, 42, 47, 38, 43, 46],
                        "ci": [9, 10, 6, 15, 9, 8], "di": [41, 40, 44, 35, 41, 42]})
_RATES = pd.DataFrame({"x1i": [5, 8, 3, 12, 7, 4], "t1i": [100.0, 120, 90, 150, 110, 95],
                       "x2i": [9, 10, 6, 15, 9, 8], "t2i": [100.0, 115, 95, 140, 100, 90]})

COUNT_MODELS = {
    "binomial": dict(data=_TABLES, measure="OR", likelihood="binomial", ai="ai", bi="bi", ci="ci", di="di"),
    "poisson": dict(data=_RATES, measure="IRR", likelihood="poisson", x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i"),
}


@pytest.mark.parametrize("family", list(COUNT_MODELS))
def test_with_priors_on_a_count_model_equals_a_direct_fit(family):
    kw = COUNT_MODELS[family]
    m = bm.MetaAnalysis(**kw, priors={"baseline": "normal(0, 5)"})
    m2 = m.with_priors({"tau": "halfcauchy(0.3)"})
    assert repr(m2.priors["tau"]) == "HalfCauchy(beta=0.3)"
    assert repr(m2.priors["baseline"]) == "Normal(mu=0, sigma=5)"  # kept
    direct = bm.MetaAnalysis(**kw, priors={"mu": m.priors["mu"], "tau": "halfcauchy(0.3)", "baseline": "normal(0, 5)"})
    a = m2.fit(engine="exact", seed=2).summary().loc[["mu", "tau"]]
    b = direct.fit(engine="exact", seed=2).summary().loc[["mu", "tau"]]
    pd.testing.assert_frame_equal(a, b)
    assert a.loc["tau", "mean"] != m.fit(engine="exact", seed=2).summary().loc["tau", "mean"]


def test_with_priors_on_a_count_model_still_names_unknown_keys():
    m = bm.MetaAnalysis(**COUNT_MODELS["binomial"])
    with pytest.raises(bm.errors.InputError, match="baseline_mu"):
        m.with_priors({"sigma": "halfnormal(1)"})


def test_compare_priors_on_a_count_model():
    kw = COUNT_MODELS["binomial"]
    cmp = bm.compare_priors(**kw, tau_priors={"narrow": "halfnormal(0.25)", "wide": "halfcauchy(1)"},
                            engine="exact", seed=4)
    direct = bm.MetaAnalysis(**kw, priors={"tau": "halfcauchy(1)"}).fit(engine="exact", seed=4)
    summ = direct.summary()
    assert cmp.table.loc["wide", "mu_mean"] == pytest.approx(summ.loc["mu", "mean"], rel=1e-9)
    assert cmp.table.loc["wide", "tau_median"] == pytest.approx(summ.loc["tau", "median"], rel=1e-9)
