"""Every method whose validity depends on k says so in its printout below its threshold, with the
threshold and its source (Sterne et al. 2011 for funnel-plot methods), and says nothing above it."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


METHODS = {
    "Egger": (lambda d: bm.egger_test(d["yi"], d["vi"]), "Sterne et al. 2011"),
    "rank test": (lambda d: bm.ranktest(d["yi"], d["vi"]), "Sterne et al. 2011"),
    "trim-and-fill": (lambda d: bm.trimfill(d["yi"], d["vi"]), "Sterne et al. 2011"),
    "PET-PEESE": (lambda d: bm.pet_peese(d["yi"], d["vi"]), "Stanley 2017"),
    "selection model": (lambda d: bm.selmodel(bm.rma(d["yi"], d["vi"], method="FE"), type="beta"), "Vevea & Woods"),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_small_k_is_said_with_threshold_and_source(name, bcg):
    fit, source = METHODS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small, large = repr(fit(bcg.iloc[:6])), repr(fit(bcg))
    assert "Note: k = 6 studies (< 10)" in small and source in small
    assert "Note: k =" not in large  # k = 13


def test_robma_says_small_k_for_its_bias_components():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.robma(yi=[0.3, 0.5, 0.1, 0.6], sei=[0.1, 0.15, 0.12, 0.2], ensemble="PP", draws=256, replicates=2)
    text = " ".join(repr(fit).split())  # the note wrapped at 100 columns
    assert "Note: k = 4 studies (< 10)" in text and "Bartoš et al. 2023" in text

