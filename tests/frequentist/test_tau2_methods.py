"""Every tau² estimator of ``rma`` (FE, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM, GENQ, GENQM) and user
weights (``weights=``) against metafor 3.8.1: tests/data/reference/metafor/metafor_tau2_methods.json
(made by metafor_tau2_methods.R beside it; BCG log risk ratios with and without the moderator ablat,
Molloy et al.'s Fisher z, the first three BCG trials). The expected numbers are metafor's, never bayesma's.

Closed-form estimators agree to rtol 1e-6; where metafor iterates (Fisher scoring, ``uniroot``) to 1e-4,
and then our objective must be at least as good as metafor's at its estimate.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json
from scipy import integrate, stats

import bayesma as bm
from bayesma.errors import InputError, UnsupportedModelError
from bayesma.frequentist.genq import genq_sf, sf_chi2_mixture
from bayesma.frequentist.tau2 import centered, loglik, q_general

CASES = load_json("metafor/metafor_tau2_methods.json")["cases"]
FITS = [c for c in CASES if "error" not in c]
ERRORS = [c for c in CASES if "error" in c]
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM", "GENQM"}
FIELDS = ["tau2", "se_tau2", "beta", "se", "stat", "pval", "ci_lb", "ci_ub", "QE", "QEp", "QM", "QMp", "I2", "H2",
          "R2", "tau2_ci", "I2_ci", "H2_ci", "pi_lb", "pi_ub", "dfs", "k"]


def _weights(case: dict, data: pd.DataFrame):
    return {"inv": 1.0 / data["vi"], "n": data["n"]}.get(case.get("weights"))


def _fit(case: dict):
    data = pd.DataFrame(case["input"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", data=data, method=case["method"], test=case["test"], mods=case.get("mods"),
                      weights=_weights(case, data))


def _ours(res, field: str):
    if field == "weights_pct":
        return res.weights
    return getattr(res, field)


@pytest.mark.parametrize("case", FITS, ids=[c["name"] for c in FITS])
def test_matches_metafor(case):
    res = _fit(case)
    ex = case["expect"]
    rtol = 1e-4 if case["method"] in ITERATIVE else 1e-6
    for field in FIELDS + ["weights_pct"]:
        want = ex.get(field)
        if want is None or want == [] or (field.startswith("pi_") and case["method"] == "FE"):
            continue  # metafor has no prediction interval for a common-effect model
        got = _ours(res, field)
        assert got is not None, field
        np.testing.assert_allclose(np.atleast_1d(np.asarray(got, float)), np.atleast_1d(np.asarray(want, float)),
                                   rtol=rtol, atol=1e-12, err_msg=f"{case['name']}: {field}")
    assert res.coef_names == list(np.atleast_1d(ex["coef_names"]))
    np.testing.assert_allclose(res.fitstats(REML=False).loc["logLik"].iloc[0], ex["ll_ML"], rtol=rtol)
    np.testing.assert_allclose(res.fitstats(REML=True).loc["logLik"].iloc[0], ex["ll_REML"], rtol=rtol)


@pytest.mark.parametrize("case", [c for c in FITS if c["method"] in ITERATIVE], ids=lambda c: c["name"])
def test_objective_at_least_as_good_as_metafor(case):
    """Where metafor iterates, our tau² is as good a solution of the estimating equation as metafor's."""
    res = _fit(case)
    data = pd.DataFrame(case["input"])
    yi, vi, X = res.yi, res.vi, res.X
    theirs = case["expect"]["tau2"]
    method = case["method"]
    if method in ("ML", "REML"):
        assert loglik(method, yi, vi, X, res.tau2) >= loglik(method, yi, vi, X, theirs) - 1e-6
        return
    k, p = X.shape
    if method in ("PM", "PMM", "EB"):
        target = stats.chi2.ppf(0.5, k - p) if method == "PMM" else k - p

        def gap(t: float) -> float:
            return abs(q_general(centered(yi, X), vi, X, t) - target) if t > 0 else 0.0
    else:  # GENQM: the observed generalized Q at the median of its distribution
        w = np.asarray(_weights(case, data), float)
        q_obs = float(np.sum(w * (yi - X @ np.linalg.lstsq(np.sqrt(w)[:, None] * X, np.sqrt(w) * yi,
                                                            rcond=None)[0]) ** 2))

        def gap(t: float) -> float:
            return abs(genq_sf(t, q_obs, vi, X, w) - 0.5) if t > 0 else 0.0
    assert gap(res.tau2) <= gap(theirs) + 1e-6


@pytest.mark.parametrize("case", ERRORS, ids=[c["name"] for c in ERRORS])
def test_generalized_q_without_weights_is_an_error_as_in_metafor(case):
    assert "Must specify 'weights'" in case["error"]
    with pytest.raises(InputError, match="needs weights=") as info:
        _fit(case)
    assert info.value.column == "weights"


def _bcg() -> pd.DataFrame:
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def test_method_names_are_case_insensitive_and_printed_as_metafor():
    dat = _bcg()
    res = bm.rma("yi", "vi", data=dat, method="hsk")
    assert res.method == "HSk"
    assert "tau^2 estimator: HSk" in repr(res)
    assert "CI (Q-profile)" in repr(res)
    genq = bm.rma("yi", "vi", data=dat, method="genqm", weights=1 / dat["vi"])
    assert genq.method == "GENQM" and "tau^2 estimator: GENQM" in repr(genq)
    assert "CI (generalized Q)" in repr(genq)
    assert repr(bm.rma("yi", "vi", data=dat, method="PMM")).startswith("Random-Effects Model (k = 13; tau^2 estimator: PMM)")


def test_generalized_q_reduces_to_dl_and_he():
    """Identities of the estimators: weights 1 / vi give DerSimonian-Laird, equal weights Hedges."""
    dat = _bcg()
    dl = bm.rma("yi", "vi", data=dat, method="DL")
    he = bm.rma("yi", "vi", data=dat, method="HE", mods="~ ablat")
    assert bm.rma("yi", "vi", data=dat, method="GENQ", weights=1 / dat["vi"]).tau2 == pytest.approx(dl.tau2, rel=1e-12)
    genq_he = bm.rma("yi", "vi", data=dat, method="GENQ", weights=1.0, mods="~ ablat")
    assert genq_he.tau2 == pytest.approx(he.tau2, rel=1e-12)
    assert genq_he.se_tau2 == pytest.approx(he.se_tau2, rel=1e-12)


def _imhof_sf(q: float, lam: np.ndarray) -> float:
    """P(sum lam_j chi²_1 > q) by Imhof's (1961) inversion formula, numerically integrated: the integrand
    sin(phi(u) - q u / 2) / (u rho(u)) on [0, 1] directly, on [1, inf) as Fourier integrals (QUADPACK's QAWF)."""
    def phi(u):
        return 0.5 * np.sum(np.arctan(lam * u))

    def rho(u):
        return np.prod((1.0 + (lam * u) ** 2) ** 0.25)

    head = integrate.quad(lambda u: np.sin(phi(u) - 0.5 * q * u) / (u * rho(u)) if u > 0 else 0.5 * np.sum(lam) - 0.5 * q,
                          0.0, 1.0, epsabs=1e-14, limit=200)[0]
    cos_part = integrate.quad(lambda u: np.sin(phi(u)) / (u * rho(u)), 1.0, np.inf, weight="cos", wvar=0.5 * q,
                              epsabs=1e-13, limlst=200)[0]
    sin_part = integrate.quad(lambda u: np.cos(phi(u)) / (u * rho(u)), 1.0, np.inf, weight="sin", wvar=0.5 * q,
                              epsabs=1e-13, limlst=200)[0]
    return 0.5 + (head + cos_part - sin_part) / np.pi


@pytest.mark.parametrize("q, lam", [(5.0, [2.0, 1.0, 0.5]), (150.0, list(np.linspace(1, 100, 12))),
                                    (1.2, [0.5, 2.0, 1.0, 3.0]), (7.0, [1.0, 1.0, 1.0])])
def test_weighted_chi_square_tail_matches_imhof(q, lam):
    lam = np.asarray(lam)
    assert sf_chi2_mixture(q, lam) == pytest.approx(_imhof_sf(q, lam), abs=1e-9)
    if np.all(lam == lam[0]):
        assert sf_chi2_mixture(q, lam) == pytest.approx(stats.chi2.sf(q / lam[0], lam.size), rel=1e-12)


def test_weights_follow_the_data_rows():
    dat = _bcg()
    by_column = bm.rma("yi", "vi", data=dat.assign(w=dat["tpos"] + dat["tneg"]), method="GENQM", weights="w")
    shuffled = (dat["tpos"] + dat["tneg"]).sample(frac=1.0, random_state=1)  # a Series pairs by its index
    by_series = bm.rma("yi", "vi", data=dat, method="GENQM", weights=shuffled)
    arrays = bm.rma(dat["yi"].to_numpy(), dat["vi"].to_numpy(), method="GENQM",
                    weights=(dat["tpos"] + dat["tneg"]).to_numpy())
    assert by_column.tau2 == by_series.tau2 == arrays.tau2
    sub = bm.rma("yi", "vi", data=dat, method="GENQ", weights=1 / dat["vi"], subset=dat["alloc"] == "random")
    direct = bm.rma("yi", "vi", data=dat[dat["alloc"] == "random"], method="GENQ",
                    weights=1 / dat.loc[dat["alloc"] == "random", "vi"])
    assert sub.k == 7 and sub.tau2 == direct.tau2


def test_leave1out_refits_with_the_weights():
    dat = _bcg()
    w = (dat["tpos"] + dat["tneg"]).to_numpy()
    res = bm.rma("yi", "vi", data=dat, method="GENQ", weights=w)
    l1o = bm.leave1out(res).table
    keep = np.arange(13) != 4
    alone = bm.rma(dat["yi"].to_numpy()[keep], dat["vi"].to_numpy()[keep], method="GENQ", weights=w[keep])
    assert l1o["estimate"].iloc[4] == pytest.approx(alone.beta[0], rel=1e-12)
    assert l1o["tau2"].iloc[4] == pytest.approx(alone.tau2, rel=1e-12)


def test_bad_weights_are_errors_naming_the_study():
    dat = _bcg()
    with pytest.raises(InputError, match="negative weight") as info:
        bm.rma("yi", "vi", data=dat.assign(w=np.r_[1.0, -1.0, np.ones(11)]), method="GENQ", weights="w")
    assert info.value.row == 2 and info.value.column == "w"
    with pytest.raises(InputError, match="missing value"):
        bm.rma("yi", "vi", data=dat.assign(w=np.r_[np.nan, np.ones(12)]), method="GENQ", weights="w")
    with pytest.warns(Warning, match="dropped 1 of 13"):
        dropped = bm.rma("yi", "vi", data=dat.assign(w=np.r_[np.nan, np.ones(12)]), method="GENQ", weights="w",
                         missing="drop")
    assert dropped.k == 12
    with pytest.raises(InputError, match="weights= has 3 values"):
        bm.rma("yi", "vi", data=dat, method="GENQ", weights=[1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="not a column"):
        bm.rma("yi", "vi", data=dat, method="GENQ", weights="nope")


def test_weights_with_models_that_cannot_use_them_are_errors():
    dat = _bcg()
    with pytest.raises(InputError, match="weights= cannot be used with cluster="):
        bm.rma("yi", "vi", data=dat, weights=1 / dat["vi"], cluster="author")
    with pytest.raises(InputError, match="weights= cannot be used with scale="):
        bm.rma("yi", "vi", data=dat, weights=1 / dat["vi"], scale="~ ablat")
    res = bm.rma("yi", "vi", data=dat, method="GENQ", weights=1 / dat["vi"])
    for diagnostic in (bm.influence, bm.blup, bm.permutest):
        with pytest.raises(UnsupportedModelError, match="user weights"):
            diagnostic(res)
    with pytest.raises(InputError, match="GENQ and GENQM need user weights"):
        bm.frequentist.tau2.tau2_batch(dat["yi"].to_numpy()[None], dat["vi"].to_numpy()[None], "GENQ", 0.95)


def test_subgroup_takes_the_new_estimators_in_any_case():
    dat = _bcg()
    sg = bm.subgroup("yi", "vi", data=dat, by="alloc", method="hsk")
    assert sg.mixed.method == "HSk"
    direct = bm.rma("yi", "vi", data=dat[dat["alloc"] == "random"], method="HSk")
    assert sg.table.loc["random", "tau2"] == pytest.approx(direct.tau2, rel=1e-12)
    with pytest.raises(InputError, match="needs weights="):
        bm.subgroup("yi", "vi", data=dat, by="alloc", method="GENQ")
