"""A Q-profile bound beyond the search limit is printed with ">" (as metafor's confint), and
the numeric bound stays at the limit max(100, 10 tau²)."""

from __future__ import annotations

import pytest

import bayesma as bm


def _ci_line(res) -> str:
    return next(line for line in str(res).splitlines() if "CI (Q-profile)" in line)


def test_upper_bound_at_the_default_limit():
    # R 4.2.2, metafor 3.8.1: confint(rma(c(.3, -.2), c(.02, .03)))
    #   tau^2 0.1000 [0.0000, >100.0000]; I^2(%) 80.0000 [0.0000, >99.9750]
    res = bm.rma([0.3, -0.2], [0.02, 0.03])
    assert res.tau2_ci == (0.0, 100.0)
    assert res.tau2_ci_sign == ("", ">")
    assert res.I2_ci[1] == pytest.approx(99.9750, abs=5e-5)
    assert _ci_line(res) == "95% CI (Q-profile): tau^2 [0.0000, >100.0000], I^2 [0.00%, >99.98%]"
    assert res.heterogeneity().loc["tau2", "ci_ub"] == 100.0  # the numeric value stays at the limit


def test_upper_bound_at_ten_times_tau2():
    # R 4.2.2, metafor 3.8.1: confint(rma(c(4, -4, 0.1), c(.001, .002, .001)))
    #   tau^2 16.0017 [4.3368, >160.0165]; I^2(%) 99.9922 [99.9712, >99.9992]
    res = bm.rma([4, -4, 0.1], [0.001, 0.002, 0.001])
    assert res.tau2 == pytest.approx(16.0017, abs=5e-5)
    assert res.tau2_ci[0] == pytest.approx(4.3368, abs=5e-5)
    assert res.tau2_ci[1] == pytest.approx(160.0165, abs=5e-5)
    assert res.tau2_ci_sign == ("", ">")
    assert "tau^2 [4.3368, >160.0165], I^2 [99.97%, >100.00%]" in _ci_line(res)


def test_no_sign_inside_the_limit():
    # R 4.2.2, metafor 3.8.1: confint(rma(yi, vi, data = escalc("RR", ... dat.bcg))): tau^2 [0.1197, 1.1115]
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    res = bm.rma("yi", "vi", data=dat)
    assert res.tau2_ci_sign == ("", "")
    assert "tau^2 [0.1197, 1.1115]" in _ci_line(res)
    assert ">" not in _ci_line(res)
