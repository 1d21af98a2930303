"""Edge cases that gave NaN, a crash or a unit-dependent number: a fixed tau² with one or two
studies, ranktest on constant inputs (metafor 3.8.1, tests/data/reference/metafor/metafor_edge_cases.json),
and estimates that must not depend on the units of the data."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

REF = REFERENCE_DIR / "metafor/metafor_edge_cases.json"
CASES = {c["name"]: c for c in json.loads(REF.read_text())["cases"]}
COLS = {"estimate": "estimate", "se": "se", "zval": "zval", "ci_lb": "ci.lb", "ci_ub": "ci.ub", "Q": "Q",
        "Qp": "Qp", "tau2": "tau2", "I2": "I2", "H2": "H2"}


def _table(step) -> pd.DataFrame:
    return step.table if hasattr(step, "table") else step.summary()


@pytest.mark.parametrize("name,fn", [("cumul_fixed_tau2", bm.cumul), ("leave1out_k2_fixed_tau2", bm.leave1out)])
def test_steps_with_a_fixed_tau2_match_metafor(name, fn):
    case = CASES[name]
    res = bm.rma(case["input"]["yi"], case["input"]["vi"], tau2=case["input"]["tau2"])
    table = _table(fn(res))
    for ours, theirs in COLS.items():
        np.testing.assert_allclose(table[ours].to_numpy(float), case["expect"][theirs], rtol=1e-8, atol=1e-12,
                                   err_msg=ours)


def test_influence_with_two_studies_and_a_fixed_tau2_matches_metafor():
    case = CASES["influence_k2_fixed_tau2"]
    res = bm.rma(case["input"]["yi"], case["input"]["vi"], tau2=case["input"]["tau2"])
    table = bm.influence(res).summary()
    for col in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight"):
        np.testing.assert_allclose(table[col].to_numpy(float), case["expect"][col], rtol=1e-8, atol=1e-12,
                                   err_msg=col)


def test_one_study_with_a_fixed_tau2_matches_metafor():
    case = CASES["rma_k1_fixed_tau2"]
    res = bm.rma(case["input"]["yi"], case["input"]["vi"], tau2=case["input"]["tau2"])
    for attr in ("beta", "se", "ci_lb", "ci_ub"):
        assert float(np.ravel(getattr(res, attr))[0]) == pytest.approx(case["expect"][attr], rel=1e-10)
    assert (res.QE, res.QEp, res.I2, res.H2) == (0.0, 1.0, 0.0, 1.0)
    assert "user-specified tau^2 value" in repr(res)


@pytest.mark.parametrize("name", ["ranktest_constant_yi", "ranktest_constant_vi"])
def test_ranktest_on_constant_input_is_undefined_as_in_metafor(name):
    case = CASES[name]
    assert case["expect"]["tau"] is None and case["expect"]["pval"] is None  # metafor: NA
    with pytest.warns(UserWarning, match="all equal"):
        rt = bm.ranktest(case["input"]["yi"], case["input"]["vi"])
    assert np.isnan(rt.tau) and np.isnan(rt.pval)
    assert "undefined" in repr(rt)


@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM"])
@pytest.mark.parametrize("scale", [1e-4, 1e-2, 1e3])
def test_estimates_do_not_depend_on_the_units(method, scale):
    # metafor's absolute tolerances make its PM tau² 2.8 times too large on data in units 100 times
    # smaller; bayesma's shrink with the data (tau2.scale_factor), so changing units changes nothing
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    y, v = es["yi"].to_numpy(), es["vi"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = bm.rma(y, v, method=method)
        other = bm.rma(y * scale, v * scale**2, method=method)
    # metafor's own precision at unit scale (uniroot's tolerance ~1.2e-4 on tau² ~ 0.3) bounds the match
    assert other.tau2 / scale**2 == pytest.approx(unit.tau2, rel=1e-3)
    assert other.beta[0] / scale == pytest.approx(unit.beta[0], rel=1e-4)
    assert other.tau2_ci[1] / scale**2 == pytest.approx(unit.tau2_ci[1], rel=1e-3)


def test_paule_mandel_on_a_small_scale_is_the_root_of_q():
    # independent root of the generalized Q statistic at k - 1, to 1e-14 relative, on data whose
    # variances are about 1e-10 (metafor's absolute tolerance 1.2e-4 would stop at once)
    from scipy.optimize import brentq

    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    y, v = es["yi"].to_numpy() * 1e-4, es["vi"].to_numpy() * 1e-8

    def q_minus_df(t):
        w = 1 / (v + t)
        mu = np.sum(w * y) / np.sum(w)
        return np.sum(w * (y - mu) ** 2) - (len(y) - 1)

    root = brentq(q_minus_df, 0.0, 1e-6, xtol=1e-24, rtol=1e-14)
    assert bm.rma(y, v, method="PM").tau2 == pytest.approx(root, rel=1e-6)


@pytest.mark.parametrize("name", ["mh_RD_no_events", "mh_RR_all_events", "mh_RD_all_events", "mh_RR_no_events",
                                  "peto_one_double_zero"])
def test_mantel_haenszel_and_peto_without_events_match_metafor(name):
    case = CASES[name]
    i = case["input"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case["kind"] == "rma_peto":
            res = bm.rma_peto(ai=i["ai"], n1i=i["n1i"], ci=i["ci"], n2i=i["n2i"])
        else:
            res = bm.rma_mh(ai=i["ai"], n1i=i["n1i"], ci=i["ci"], n2i=i["n2i"], measure=case["measure"])
    for attr, value in case["expect"].items():
        ours = float(np.ravel(getattr(res, "stat" if attr == "zval" and not hasattr(res, "zval") else attr))[0])
        if value is None:  # metafor: NA
            assert np.isnan(ours), attr
        else:
            assert ours == pytest.approx(value, rel=1e-10, abs=1e-14), attr


@pytest.mark.parametrize("name", ["selmodel_fixed_tau2_stepfun", "selmodel_fixed_tau2_halfnorm"])
def test_selmodel_keeps_a_fixed_tau2_as_metafor(name):
    case = CASES[name]
    i = case["input"]
    res = bm.rma(i["yi"], i["vi"], tau2=i["tau2"])
    sel = bm.selmodel(res, type=case["type"], steps=case["steps"])
    assert sel.tau2 == i["tau2"]
    for attr in ("beta", "se", "delta", "se_delta", "LRT", "LRTp", "ll"):
        ours = np.atleast_1d(np.asarray(getattr(sel, attr), float))
        theirs = np.atleast_1d(np.asarray([np.nan if v is None else v for v in np.atleast_1d(case["expect"][attr])],
                                          float))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, err_msg=attr)


def test_trimfill_on_tied_effects_does_not_depend_on_row_order():
    # rounded effects tie; metafor's k0 then depends on the row order (in about 17% of such sets)
    rng = np.random.default_rng(5)
    for _ in range(60):
        y = np.round(rng.normal(0.3, 0.3, 12), 1)
        v = rng.uniform(0.01, 0.1, 12)
        results = set()
        for _ in range(4):
            p = rng.permutation(12)
            tf = bm.trimfill(y[p], v[p])
            results.add((tf.k0, round(float(np.ravel(tf.beta)[0]), 12)))
        assert len(results) == 1
