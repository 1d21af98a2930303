"""selmodel() against metafor's selmodel(), and checks that need no R.

References: metafor_cases_v2.json (kind "selmodel", the issue's cases) and the held-out
metafor_bias_more.json (other cut points, alternative = "less", FE and REML inputs, a
moderator, other data sets; for the smooth types also metafor with accurate integration,
``control = list(intCtrl = list(rel.tol = 1e-10))``, under ``expect["precise"]``).
Each case is fitted once per session and all its numbers are compared.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases_v2, load_json
from scipy import integrate, special

import bayesma as bm
from bayesma.frequentist.bias._selection_fit import _minimise, _Model, _spec

matplotlib.use("Agg")

RTOL = 1e-4
V2 = [c for c in load_cases_v2() if c["kind"] == "selmodel"]
MORE = [c for c in load_json("metafor/metafor_bias_more.json")["cases"] if c["kind"] == "selmodel"]
_FITS: dict[tuple[str, bool], bm.frequentist.SelModelResult] = {}


def _steps(case):
    s = case.get("steps")
    return s if isinstance(s, list) else None


def _fit(case, precise: bool = False):
    key = (case["name"], precise)
    if key not in _FITS:
        data = pd.DataFrame(case["input"])
        mods = case.get("mods") if isinstance(case.get("mods"), str) else None
        res = bm.rma("yi", "vi", data=data, method=case["method"], mods=mods)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fixed = case.get("delta")
            _FITS[key] = bm.selmodel(res, case["type"], steps=_steps(case),
                                     alternative=case.get("alternative", "greater"),
                                     delta=[np.nan if v is None else v for v in fixed] if isinstance(fixed, list)
                                     else fixed,
                                     **({"rel_tol": None} if precise else {}))
    return _FITS[key]


def _close(actual, expected, key, rtol=RTOL):
    exp = np.atleast_1d(np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], float))
    act = np.atleast_1d(np.asarray(actual, float))
    assert act.shape == exp.shape, key
    m = np.isfinite(exp)
    assert np.all(np.isnan(act[~m])), f"{key}: metafor has NA where we have {act[~m]}"
    np.testing.assert_allclose(act[m], exp[m], rtol=rtol, atol=1e-10, err_msg=key)


KEYS = ("beta", "se", "ci_lb", "ci_ub", "tau2", "delta", "se_delta", "LRT", "LRTp", "ll")


def _compare(sel, expect, keys=KEYS):
    for key in keys:
        if key in expect and expect[key] is not None:
            _close(getattr(sel, key), expect[key], key)
    if expect.get("LRTdf") is not None:
        assert sel.LRTdf == expect["LRTdf"]
    kpi = expect.get("k_per_interval")
    if isinstance(kpi, list):
        assert sel.k_per_interval.tolist() == kpi
    elif "k_per_interval" in expect:
        assert sel.k_per_interval is None


def _slow_smooth(case):
    marks = [pytest.mark.slow] if case["type"] != "stepfun" else []
    return pytest.param(case, id=case["name"], marks=marks)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in V2])
def test_v2_cases_match_metafor(case):
    """The issue's cases, with metafor's default integration tolerance (its numbers, noise included)."""
    _compare(_fit(case), case["expect"])


@pytest.mark.parametrize("case", [_slow_smooth(c) for c in MORE if not c["name"].endswith("_v2")])
def test_held_out_cases_match_metafor(case):
    sel = _fit(case)
    _compare(sel, case["expect"], KEYS + ("zval", "pval", "se_tau2", "ci_lb_delta", "ci_ub_delta",
                                          "pval_delta", "LRT_tau2", "LRTp_tau2", "ll0", "QM", "QMp", "pvals"))


PRECISE = [c for c in MORE if "precise" in c["expect"]]


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c["name"], marks=[] if c["name"] in ("lehmann_halfnorm_v2", "bcg_negexp_less") else
                 [pytest.mark.slow]) for c in PRECISE])
def test_precise_integration_matches_metafor_with_tight_tolerance(case):
    """rel_tol=None against metafor run with intCtrl rel.tol = 1e-10 (no integration noise in the SEs)."""
    _compare(_fit(case, precise=True), case["expect"]["precise"], ("beta", "se", "tau2", "se_tau2", "delta",
                                                                    "se_delta", "LRT", "ll"))


def test_there_are_cases():
    assert len(V2) == 9 and len(MORE) >= 20 and PRECISE


# ---------------------------------------------------------------- checks without R
def _hackshaw():
    return bm.load_dataset("dat.hackshaw1998")


def test_fixed_weights_of_one_give_the_ml_model():
    dat = _hackshaw()
    ml = bm.rma("yi", "vi", data=dat, method="ML")
    sel = bm.selmodel(ml, "stepfun", steps=[0.05, 0.5], delta=[1, 1, 1])
    assert sel.LRTdf == 0 and np.isnan(sel.LRTp)
    np.testing.assert_allclose(sel.beta, ml.beta, rtol=1e-5)
    np.testing.assert_allclose(sel.tau2, ml.tau2, rtol=1e-4)
    np.testing.assert_allclose(sel.ll, sel.ll0, rtol=1e-9)


def test_alternative_less_mirrors_greater():
    dat = _hackshaw()
    up = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), "stepfun", steps=[0.05, 1])
    down = bm.selmodel(bm.rma(-dat["yi"], dat["vi"], method="ML"), "stepfun", steps=[0.05, 1], alternative="less")
    np.testing.assert_allclose(down.beta, -up.beta, rtol=1e-6)
    np.testing.assert_allclose(down.delta, up.delta, rtol=1e-6)
    np.testing.assert_allclose(down.se, up.se, rtol=1e-5)


@pytest.mark.parametrize("type_, delta", [("beta", [0.7, 1.4]), ("halfnorm", [2.0]), ("negexp", [1.5]),
                                          ("logistic", [3.0]), ("power", [0.6])])
def test_precise_normaliser_against_adaptive_quadrature(type_, delta):
    """The composite Gauss-Legendre normaliser against scipy's quad at 1e-13."""
    rng = np.random.default_rng(2)
    k = 12
    yi, vi = rng.normal(0.2, 0.4, k), rng.uniform(0.005, 0.2, k)
    spec = _spec(type_, 0)
    model = _Model(type_, yi, vi, np.ones((k, 1)), None, spec, "greater", None)
    tau2, mu = 0.3, 0.15
    got = model.normaliser(np.full(k, mu), tau2, np.array(delta))
    s = np.sqrt(vi + tau2)
    for i in range(k):
        def f(y, i=i):
            p = np.clip(special.ndtr(-y / np.sqrt(vi[i])), spec.pval_min, 1 - spec.pval_min)
            w = bm.frequentist.bias.selection.weight_function(type_, np.array(p), np.array(delta), None)
            return float(w) * np.exp(-0.5 * ((y - mu) / s[i]) ** 2) / (s[i] * np.sqrt(2 * np.pi))
        ref = integrate.quad(f, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=500)[0]
        assert got[i] == pytest.approx(ref, rel=1e-10)


def test_refits_reml_with_ml_as_metafor():
    dat = _hackshaw()
    a = bm.selmodel(bm.rma("yi", "vi", data=dat), "stepfun", steps=[0.05, 1])
    b = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), "stepfun", steps=[0.05, 1])
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-10)
    assert a.method == "ML"


# ---------------------------------------------------------------- errors
def test_empty_interval_is_named():
    ml = bm.rma("yi", "vi", data=_hackshaw(), method="ML")
    with pytest.raises(ValueError, match=r"0.001 < p <= 0.002"):
        bm.selmodel(ml, "stepfun", steps=[0.001, 0.002, 1])


def test_empty_interval_of_a_smooth_type_is_an_error_too():
    ml = bm.rma("yi", "vi", data=_hackshaw(), method="ML")  # no study has p <= 0.001
    with pytest.raises(ValueError, match=r"0 < p <= 0.001"):
        bm.selmodel(ml, "halfnorm", steps=[0.001, 1])


def test_empty_first_interval_of_a_step_function_is_allowed():
    """As metafor: the first weight is fixed at 1, so it needs no study."""
    rng = np.random.default_rng(1)
    vi = rng.uniform(0.02, 0.08, 15)
    res = bm.rma(rng.normal(0, 0.3, 15) * np.sqrt(vi), vi, method="ML")
    sel = bm.selmodel(res, "stepfun", steps=[0.025, 1])
    assert sel.k_per_interval.tolist() == [0, 15]


@pytest.mark.parametrize("kwargs, match", [
    ({"type": "stepfun"}, "needs steps"),
    ({"type": "beta", "steps": [0.05]}, "cannot be used with type='beta'"),
    ({"type": "halfnorm", "steps": [0.05, 0.5]}, "single step"),
    ({"type": "stepfun", "steps": [0.05, 1.5]}, r"\[0, 1\]"),
    ({"type": "stepfn", "steps": [0.05]}, "type must be one of"),
    ({"type": "stepfun", "steps": [0.05], "alternative": "two.sided"}, "alternative"),
    ({"type": "stepfun", "steps": [0.05], "delta": [1, 2, 3]}, "2 values"),
])
def test_bad_arguments(kwargs, match):
    ml = bm.rma("yi", "vi", data=_hackshaw(), method="ML")
    with pytest.raises(ValueError, match=match):
        bm.selmodel(ml, **kwargs)


def test_too_few_studies():
    res = bm.rma([0.5, 0.2, 0.9], [0.01, 0.02, 0.05], method="ML")
    with pytest.raises(ValueError, match="too small"):
        bm.selmodel(res, "stepfun", steps=[0.025, 0.5, 1])


def test_not_an_rma_result():
    with pytest.raises(TypeError, match="RMAResult"):
        bm.selmodel([0.1, 0.2], "beta")


def test_optimiser_failure_names_the_parameter():
    with pytest.raises(RuntimeError, match=r"still changing in delta\[2\]"):
        _minimise(lambda x: (x[0] - 1) ** 2 - 1e3 * x[1], np.zeros(2), ["intrcpt", "delta[2]"])
    with pytest.raises(RuntimeError, match="in tau2"):
        _minimise(lambda x: np.nan if x[1] < 0 else x[0] ** 2 + x[1] ** 2, np.zeros(2), ["intrcpt", "tau2"])


# ---------------------------------------------------------------- output
def test_printout_like_metafor():
    sel = bm.selmodel(bm.rma("yi", "vi", data=_hackshaw(), method="ML"), "stepfun", steps=[0.05, 1])
    text = repr(sel)
    for piece in ("Random-Effects Model (k = 37; tau^2 estimator: ML)", "Test for Selection Model Parameters:",
                  "LRT(df = 1) = 2.1254, p-val = 0.1449", "0.05 < p <= 1", "2.7917", "Test for Heterogeneity:"):
        assert piece in text
    tab = sel.summary()
    assert list(tab.columns) == ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub"]
    assert tab.loc["delta[2] (0.05 < p <= 1)", "estimate"] == pytest.approx(2.79174101002629, rel=1e-4)


def test_plot_with_band():
    sel = bm.selmodel(bm.rma("yi", "vi", data=_hackshaw(), method="ML"), "stepfun", steps=[0.05, 0.5, 1])
    ps = np.array([0.01, 0.3, 0.9])
    lo, hi = sel.selection_band(ps)
    w = sel.selection_function(ps)
    assert np.all(lo <= w + 1e-12) and np.all(w <= hi + 1e-12)
    assert w[0] == 1.0 and lo[0] == hi[0] == 1.0
    fig = sel.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
