"""rma(cluster=) returns the three-level fit, says so, and the methods that assume independence refuse it clearly."""

from __future__ import annotations

import inspect
import warnings

import pytest

import bayesma as bm
from bayesma.errors import BayesmaError
from bayesma.frequentist.mv import RMAMVResult


@pytest.fixture(scope="module")
def fit3():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", data=bm.load_dataset("dat.assink2016"), cluster="study")


def test_rma_with_cluster_is_annotated_and_returns_the_multilevel_fit(fit3):
    assert isinstance(fit3, RMAMVResult)
    assert "RMAMVResult" in str(inspect.signature(bm.rma).return_annotation)


@pytest.mark.parametrize("call", [
    lambda r: bm.selmodel(r, type="stepfun", steps=[0.025, 1]),
    lambda r: bm.hc(r),
    lambda r: bm.trimfill(r),
    lambda r: bm.ranktest(r),
    lambda r: r.funnel(),
], ids=["selmodel", "hc", "trimfill", "ranktest", "funnel"])
def test_methods_for_independent_effects_refuse_a_multilevel_fit_with_a_typed_error(fit3, call):
    with pytest.raises(BayesmaError, match=r"assumes independent effects.*egger_test"):
        call(fit3)
