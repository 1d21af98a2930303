"""The report names the model that was fitted. A location-scale model, Student-t random effects, a
selection model and PET/PEESE were all reported as "a Bayesian random-effects meta-analysis" (and
PET's intercept as an ordinary pooled effect): a sentence describing another model."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

import bayesma as bm
from bayesma.report.families import add_family_words

_DATA = pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40, 0.30, 0.15],
                      "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02, 0.06, 0.04],
                      "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})

FAMILIES = {
    "location-scale": (dict(scale="x"), "a Bayesian location-scale model (random effects with log tau by x"),
    "Student-t": (dict(likelihood="student_t"), "a Bayesian random-effects meta-analysis with Student-t random effects"),
    "selection": (dict(bias=bm.WeightFunction([0.025])),
                  "a Bayesian selection model (random effects with a one-sided step weight function of the p-values, "
                  "steps at p = .025)"),
    "PET": (dict(bias=bm.PET()), "a Bayesian PET model (random effects with the effects regressed on their standard error)"),
    "PEESE": (dict(bias=bm.PEESE()), "a Bayesian PEESE model (random effects with the effects regressed on their "
                                     "sampling variance)"),
}


@pytest.fixture(scope="module")
def random_effects_report() -> str:
    post = bm.MetaAnalysis(_DATA, "yi", "vi", priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(
        engine="exact", seed=1)
    return post.report()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_first_paragraph_names_the_fitted_model(family, random_effects_report):
    options, words = FAMILIES[family]
    spec = bm.MetaAnalysis(_DATA, "yi", "vi", **options).spec
    text = add_family_words(random_effects_report, SimpleNamespace(spec=spec))
    first = next(p for p in text.split("\n\n") if p.startswith("We meta-analysed"))
    assert words in first
    assert "a Bayesian random-effects meta-analysis fitted" not in first
    if family in ("PET", "PEESE"):
        assert "intercept: the expected effect of a study with" in first


def test_random_effects_report_is_unchanged(random_effects_report):
    spec = bm.MetaAnalysis(_DATA, "yi", "vi").spec
    assert add_family_words(random_effects_report, SimpleNamespace(spec=spec)) == random_effects_report
    assert "a Bayesian random-effects meta-analysis fitted with" in random_effects_report


@pytest.mark.slow
def test_pet_report_of_a_nuts_fit_names_pet():
    post = bm.MetaAnalysis(_DATA, "yi", "vi", bias=bm.PET()).fit(engine="nuts", draws=100, tune=100, chains=1,
                                                                  seed=2, progressbar=False)
    first = next(p for p in post.report().split("\n\n") if p.startswith("We meta-analysed"))
    assert "a Bayesian PET model" in first and "PET's intercept" in first
