"""selmodel's two-parameter smooth types against metafor 3.8.1: negexppow and the "2" variants.

Reference: metafor_selmodel_negexppow.json (made by metafor_selmodel_negexppow.R beside it):
dat.hackshaw1998, dat.bcg (alternative = "less"), dat.lehmann2018 and dat.molloy2014 (a REML
input refitted with ML). metafor optimises numerically, so estimates are compared to 1e-4 and
our log-likelihood must be at least metafor's - 1e-6. Numbers metafor gives as NA (a Hessian it
could not invert) are not compared; ``expect["precise"]`` is metafor with intCtrl rel.tol = 1e-10.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json
from scipy import integrate, special

import bayesma as bm
from bayesma.frequentist.bias._selection_fit import _Model, _spec

RTOL = 1e-4
CASES = load_json("metafor/metafor_selmodel_negexppow.json")["cases"]
_FITS: dict[tuple[str, bool], bm.frequentist.SelModelResult] = {}


def _fit(case, precise=False):
    key = (case["name"], precise)
    if key not in _FITS:
        res = bm.rma("yi", "vi", data=pd.DataFrame(case["input"]), method=case["method"])
        steps = case["steps"] if isinstance(case.get("steps"), list) else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[key] = bm.selmodel(res, case["type"], steps=steps, alternative=case["alternative"],
                                     **({"rel_tol": None} if precise else {}))
    return _FITS[key]


def _compare(sel, expect, keys):
    assert sel.ll >= expect["ll"] - 1e-6, "our maximum is below metafor's"
    for key in keys:
        exp = np.atleast_1d(np.array([np.nan if v is None else v for v in np.atleast_1d(expect.get(key))], float))
        act = np.atleast_1d(np.asarray(getattr(sel, key), float))
        if exp.size == 1 and np.isnan(exp[0]):
            continue  # metafor: NA (its Hessian could not be inverted)
        assert act.shape == exp.shape, key
        m = np.isfinite(exp)
        np.testing.assert_allclose(act[m], exp[m], rtol=RTOL, atol=1e-8, err_msg=key)


KEYS = ("beta", "se", "ci_lb", "ci_ub", "tau2", "se_tau2", "delta", "se_delta", "ci_lb_delta", "ci_ub_delta",
        "LRT", "LRTp", "ll", "ll0", "LRT_tau2", "pvals")


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_matches_metafor(case):
    sel = _fit(case)
    _compare(sel, case["expect"], KEYS)
    assert sel.LRTdf == case["expect"]["LRTdf"] == 2


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES if "precise" in c["expect"]])
def test_precise_integration_matches_metafor_with_tight_tolerance(case):
    _compare(_fit(case, precise=True), case["expect"]["precise"], ("beta", "se", "tau2", "se_tau2", "delta",
                                                                    "se_delta", "LRT", "ll"))


def test_there_are_cases_of_every_new_type():
    assert {c["type"] for c in CASES} == {"negexppow", "halfnorm2", "negexp2", "logistic2", "power2"}


@pytest.mark.parametrize("type_, delta", [("negexppow", [1.3, 0.4]), ("negexppow", [0.7, 3.0]),
                                          ("halfnorm2", [0.3, 2.0]), ("negexp2", [0.5, 4.0]),
                                          ("logistic2", [2.0, 1.0]), ("power2", [0.2, 0.6])])
def test_precise_normaliser_against_adaptive_quadrature(type_, delta):
    """The composite Gauss-Legendre normaliser against scipy's quad, with w(p) written out here."""
    d1, d2 = delta
    own = {"negexppow": lambda p: np.exp(-d1 * p ** (1 / d2)),
           "halfnorm2": lambda p: (d1 + np.exp(-d2 * p**2)) / (1 + d1),
           "negexp2": lambda p: (d1 + np.exp(-d2 * p)) / (1 + d1),
           "logistic2": lambda p: (d1 + 2 * np.exp(-d2 * p) / (1 + np.exp(-d2 * p))) / (1 + d1),
           "power2": lambda p: (d1 + (1 - p) ** d2) / (1 + d1)}[type_]
    rng = np.random.default_rng(3)
    k = 10
    yi, vi = rng.normal(0.2, 0.4, k), rng.uniform(0.005, 0.2, k)
    model = _Model(type_, yi, vi, np.ones((k, 1)), None, _spec(type_, 0), "greater", None)
    tau2, mu = 0.2, 0.1
    got = model.normaliser(np.full(k, mu), tau2, np.array(delta))
    s = np.sqrt(vi + tau2)
    for i in range(k):
        def f(y, i=i):
            return own(special.ndtr(-y / np.sqrt(vi[i]))) * np.exp(-0.5 * ((y - mu) / s[i]) ** 2) / (
                s[i] * np.sqrt(2 * np.pi))
        ref = integrate.quad(f, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=500)[0]
        assert got[i] == pytest.approx(ref, rel=1e-9)


def test_a_failing_adaptive_integral_gives_no_warning_and_a_maximum():
    """dat.lehmann2018 with negexppow: metafor 3.8.1 stops ("Error during the optimization": R's
    integrate fails where delta2 is small). bayesma takes those integrals from the composite rule:
    no raw IntegrationWarning, and the default fit agrees with the accurate one."""
    dat = bm.load_dataset("dat.lehmann2018")
    ml = bm.rma("yi", "vi", data=dat, method="ML")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sel = bm.selmodel(ml, "negexppow", alternative="greater")
    accurate = bm.selmodel(ml, "negexppow", alternative="greater", rel_tol=None)
    assert sel.ll >= sel.ll0 and sel.LRT > 0
    np.testing.assert_allclose(sel.delta, accurate.delta, rtol=1e-3)
    np.testing.assert_allclose(sel.ll, accurate.ll, rtol=1e-6)


def test_negexppow_with_delta1_zero_is_no_selection():
    dat = bm.load_dataset("dat.hackshaw1998")
    ml = bm.rma("yi", "vi", data=dat, method="ML")
    sel = bm.selmodel(ml, "negexppow", alternative="greater", delta=[0.0, 1.0])
    assert sel.LRTdf == 0
    np.testing.assert_allclose(sel.beta, ml.beta, rtol=1e-5)
    np.testing.assert_allclose(sel.ll, sel.ll0, rtol=1e-9)


def test_printout_names_both_parameters():
    sel = _fit(CASES[0])
    text = repr(sel)
    assert "delta.1" in text and "delta.2" in text and "LRT(df = 2)" in text


@pytest.mark.parametrize("type_", ["negexppow", "halfnorm2"])
def test_selection_function_plot_and_band(type_):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    case = next(c for c in CASES if c["type"] == type_ and "precise" in c["expect"])
    sel = _fit(case, precise=True)
    lb, ub = sel.selection_band([0.01, 0.5, 0.9])
    w = sel.selection_function([0.01, 0.5, 0.9])
    assert lb.shape == ub.shape == w.shape == (3,) and np.all(lb <= ub) and np.all((w > 0) & (w <= 1))
    fig = sel.plot()
    assert fig.axes
    plt.close(fig)
