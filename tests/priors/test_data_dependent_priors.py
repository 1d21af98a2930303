"""Priors that depend on the studies (Jeffreys) are rebuilt for a subset or refused; subset refits
with an improper posterior are not reported as numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import DataWarning

DF = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.01, 0.02, 0.03, 0.02], "o": list("aabb")})
JEFFREYS = {"mu": bm.priors.Flat(), "tau": bm.priors.Jeffreys.from_vi(DF["vi"])}


def test_a_jeffreys_prior_of_other_studies_is_refused():
    with pytest.raises(bm.InputError, match="built from the sampling variances of other studies"):
        bm.MetaAnalysis(DF.iloc[:3], yi="yi", vi="vi", priors=JEFFREYS)


def test_a_jeffreys_prior_with_missing_drop_is_refused():
    df = DF.assign(yi=[0.1, np.nan, 0.2, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(bm.InputError, match="Jeffreys"):
            bm.MetaAnalysis(df, yi="yi", vi="vi", priors=JEFFREYS, missing="drop")


def test_fit_many_refuses_one_jeffreys_prior_for_all_groups():
    with pytest.raises(bm.InputError, match="Jeffreys"):
        bm.fit_many(DF, by="o", yi="yi", vi="vi", priors=JEFFREYS, engine="exact")


def test_leave_one_out_rebuilds_the_jeffreys_prior_for_each_subset():
    loo = bm.leave_one_out(DF, "yi", "vi", priors=JEFFREYS, engine="exact", seed=1)
    for j, label in enumerate(loo.table.index):
        rest = DF.drop(index=j)
        alone = bm.MetaAnalysis(rest, yi="yi", vi="vi", priors={
            "mu": bm.priors.Flat(), "tau": bm.priors.Jeffreys.from_vi(rest["vi"])}).fit(engine="exact", seed=1)
        assert loo.table.loc[label, "mu_lower"] == pytest.approx(alone.summary().loc["mu", "eti_lower"], rel=1e-8)


def test_cumulative_does_not_report_improper_posteriors():
    priors = {"mu": bm.priors.Flat(), "tau": bm.priors.HalfFlat()}
    with pytest.raises(bm.InputError, match="improper"):  # a direct fit of the first two studies
        bm.MetaAnalysis(DF.iloc[:2], yi="yi", vi="vi", priors=priors)
    with pytest.warns(DataWarning, match=r"2 refit\(s\) not computed.*improper"):
        cum = bm.cumulative(DF, "yi", "vi", priors=priors, engine="exact", seed=1)
    assert cum.table["mu_lower"].iloc[:2].isna().all() and cum.table["mu_lower"].iloc[2:].notna().all()


def test_with_priors_checks_propriety_as_a_direct_fit():
    model = bm.MetaAnalysis(DF.iloc[:2], yi="yi", vi="vi")
    with pytest.raises(bm.InputError, match="improper"):
        model.with_priors({"mu": bm.priors.Flat(), "tau": bm.priors.HalfFlat()})


def test_a_warning_shows_a_data_scaled_prior_rounded():
    df = pd.DataFrame({"yi": [0.1, 0.3, 0.2], "vi": [0.0123, 0.0234, 0.0345]})
    model = bm.MetaAnalysis(df, yi="yi", vi="vi")
    sigma = model.priors["tau"].params["sigma"]
    assert f"{sigma:.3g}" != repr(sigma)  # a data-scaled sigma with many digits
    with pytest.warns(UserWarning) as record:
        model.fit(engine="exact", seed=1)
    text = " ".join(str(w.message) for w in record)
    assert f"HalfNormal(sigma={sigma:.3g})" in text and repr(sigma) not in text
