"""Printed prior descriptions label each prior's median and interval with that prior's own parameter
(a correlation's prior is not described as tau's)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

import bayesma as bm
from bayesma.priors import describe


def _lines(text: str) -> dict[str, str]:
    return {line.split("~")[0].strip(): line for line in text.splitlines()}


def test_each_prior_interval_is_labelled_with_its_parameter():
    lines = _lines(describe({"tau": bm.priors.HalfNormal(0.5), "tau_within": bm.priors.HalfCauchy(0.3),
                             "tau[AL]": bm.priors.HalfNormal(1.0), "rho": bm.priors.Uniform(0, 1)}))
    assert "(tau: median 0.337," in lines["tau"]
    assert "(tau_within: median 0.3," in lines["tau_within"]
    assert "(tau[AL]: median 0.674," in lines["tau[AL]"]
    lo, med, hi = stats.uniform(0, 1).ppf([0.025, 0.5, 0.975])
    assert f"(rho: median {med:.3g}, 95% interval {lo:.3g} to {hi:.3g})" in lines["rho"]
    assert "tau:" not in lines["rho"]


def test_multivariate_model_printout_labels_the_rho_prior_as_rho():
    rng = np.random.default_rng(3)
    df = pd.DataFrame([{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
                       for s in range(6) for o in ("a", "b")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome", struct="HCS",
                                priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                        "rho": bm.priors.Uniform(0, 1)})
    lines = _lines(repr(model))
    assert "(rho: median 0.5, 95% interval 0.025 to 0.975)" in lines["rho"]
    assert "(tau[a]: median 0.337," in lines["tau[a]"] and "(tau[b]: median 0.337," in lines["tau[b]"]
