"""``compare_frequentist`` of a bias or location-scale model adds the frequentist fit of the same
model (PET/PEESE as a meta-regression on sei or vi, metafor's step-function selection model, the
location-scale model); before, the Bayesian PET, selection or location-scale estimate stood only
beside the random-effects fits of another model. The rows are those of the public frequentist
functions (each checked against metafor in tests/frequentist)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.results.compare_families import family_rows

_DATA = pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40, 0.30, 0.15],
                      "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02, 0.06, 0.04],
                      "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
YI, VI = _DATA["yi"].to_numpy(), _DATA["vi"].to_numpy()


def _only_row(options):
    rows = family_rows(bm.MetaAnalysis(_DATA, "yi", "vi", **options).spec, 0.95, False)
    assert len(rows) == 1
    return rows[0]


def test_pet_row_is_the_meta_regression_on_the_standard_error():
    label, rec = _only_row(dict(bias=bm.PET()))
    res = bm.rma(YI, VI, mods=np.sqrt(VI))
    assert label == "REML (PET: mods = sei)"
    assert (rec["estimate"], rec["ci_lb"], rec["ci_ub"]) == pytest.approx((res.beta[0], res.ci_lb[0], res.ci_ub[0]))
    assert rec["tau"] == pytest.approx(res.tau)


def test_peese_row_is_the_meta_regression_on_the_variance():
    label, rec = _only_row(dict(bias=bm.PEESE()))
    res = bm.rma(YI, VI, mods=VI)
    assert label == "REML (PEESE: mods = vi)" and rec["estimate"] == pytest.approx(res.beta[0])


def test_selection_row_is_the_step_function_selection_model():
    label, rec = _only_row(dict(bias=bm.WeightFunction([0.025])))
    res = bm.selmodel(bm.rma(YI, VI), type="stepfun", steps=[0.025])
    assert label == "ML (selection model)"
    assert (rec["estimate"], rec["ci_lb"], rec["ci_ub"]) == pytest.approx((res.beta[0], res.ci_lb[0], res.ci_ub[0]))


def test_location_scale_row_is_the_location_scale_model():
    label, rec = _only_row(dict(scale="x"))
    res = bm.rma(YI, VI, scale=_DATA[["x"]].to_numpy())
    assert label == "REML (location-scale)" and rec["estimate"] == pytest.approx(res.beta[0])
    assert np.isnan(rec["tau"])  # tau differs between studies


def test_pet_with_moderators_has_a_row_per_coefficient_without_the_sei_term():
    spec = bm.MetaAnalysis(_DATA, "yi", "vi", mods="x", bias=bm.PET()).spec
    rows = family_rows(spec, 0.95, True)
    assert [r[0] for r in rows] == [("REML (PET: mods = sei)", "intrcpt"), ("REML (PET: mods = sei)", "x")]


@pytest.mark.parametrize("options", [dict(), dict(likelihood="student_t"), dict(tau_by=None)])
def test_models_without_a_counterpart_here_add_no_row(options):
    assert family_rows(bm.MetaAnalysis(_DATA, "yi", "vi", **options).spec, 0.95, False) == []


@pytest.mark.slow
def test_compare_frequentist_of_a_pet_fit_has_the_pet_row():
    post = bm.MetaAnalysis(_DATA, "yi", "vi", bias=bm.PET()).fit(engine="nuts", draws=100, tune=100, chains=1,
                                                                  seed=3, progressbar=False)
    table = post.compare_frequentist()
    assert "REML (PET: mods = sei)" in table.index and "Bayesian (nuts)" in table.index
