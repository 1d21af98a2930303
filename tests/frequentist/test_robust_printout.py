"""The printout of a cluster-robust fit shows what metafor's does: the model's variance components and
heterogeneity statistics, the (residual) heterogeneity test, the numbers of estimates and clusters, and a
note on the CR2 small-sample df (reference: tests/data/reference/metafor/metafor_printouts.R)."""

from __future__ import annotations

import pytest
from _helpers import load_json

import bayesma as bm

REF = load_json("metafor/metafor_printouts.json")


def _lines_after(printout: list[str], start: str, n: int) -> list[str]:
    i = next(i for i, line in enumerate(printout) if line.startswith(start))
    return [" ".join(line.split()) for line in printout[i:i + n]]


def _ours(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


@pytest.fixture(scope="module")
def uni():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    return repr(bm.robust(bm.rma("yi", "vi", mods="~ ablat", data=dat), cluster="trial", clubSandwich=True))


@pytest.fixture(scope="module")
def mv():
    dat = bm.load_dataset("dat.konstantopoulos2011")
    fit = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    return repr(bm.robust(fit, cluster="district", clubSandwich=True))


def test_robust_rma_printout_has_metafors_content(uni):
    theirs, ours = REF["robust_uni"]["print"], _ours(uni)
    # the residual heterogeneity test and the cluster counts, line for line
    for line in (_lines_after(theirs, "Test for Residual Heterogeneity", 2)
                 + _lines_after(theirs, "Number of estimates", 3)):
        assert line in ours, line
    # tau^2 and its SE, I^2, H^2, R^2 (metafor's wording is longer; the numbers are the same)
    for label, ours_label in (("tau^2", "tau^2"), ("I^2", "I^2"), ("H^2", "H^2"), ("R^2", "R^2")):
        value = next(line for line in theirs if line.startswith(label)).split(":", 1)[1].split()
        our = next(line for line in ours if line.startswith(ours_label)).split(":", 1)[1].split()
        assert our[:len(value)] == value, label
    assert "df: Satterthwaite approx." in uni and "var-cov estimator: CR2" in uni


def test_robust_rma_mv_printout_has_metafors_content(mv):
    theirs, ours = REF["robust_mv"]["print"], _ours(mv)
    for line in _lines_after(theirs, "Test for Heterogeneity", 2) + _lines_after(theirs, "Number of estimates", 3):
        assert line in ours, line
    for comp in ("sigma^2.1", "sigma^2.2"):  # the variance components' estimates, sqrt and levels
        assert _lines_after(theirs, comp, 1)[0].split()[:4] == _lines_after(ours, comp, 1)[0].split()[:4]
    assert "df: Satterthwaite approx." in mv
