"""Hard cases (k = 1, huge tau², redundant predictors, tiny variances, ...) of the frequentist fits against metafor 3.8.1 (tests/data/reference/metafor/metafor_hard_cases.json).

k = 1 with test "knha"/"adhoc" (metafor falls back to z with a warning), single-study
subgroups, tau² in raw units (metafor's tau2.max rule for PM / EB and the Q-profile),
redundant and near-collinear moderators (dropped with a warning, as metafor), tiny
sampling variances, and the three-level model with ML / REML passed through ``rma(cluster=)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm

CASES = load_json("metafor/metafor_hard_cases.json")["cases"]
FIELDS = ("beta", "se", "stat", "pval", "ci_lb", "ci_ub")


def _cases(kind: str, prefix: str = "") -> list[dict]:
    return [c for c in CASES if c["kind"] == kind and c["name"].startswith(prefix)]


def _ids(cases):
    return [c["name"] for c in cases]


def _frame(inp: dict) -> pd.DataFrame:
    return pd.DataFrame({k: np.atleast_1d(v) for k, v in inp.items()})


def _mods(case):
    return case["mods"] if isinstance(case["mods"], str) else None


def _rtol(case) -> float:
    # metafor optimises numerically where a sampling variance is tiny, and stops uniroot
    # (PM, Q-profile) at its tolerance: compare those at 1e-4
    name = case["name"]
    numeric = name.startswith(("tinyvar", "nearcollinear_1e-3"))  # ±35 coefficients: conditioning
    if name.startswith("tinyvar") and case["method"] == "PM":
        return 1e-3  # uniroot's absolute tolerance 1.2e-4 on tau² = 0.16
    return 1e-4 if numeric or case["method"] in ("PM", "EB") else 1e-6


def _check_fit(res, exp, rtol, q_profile=True):
    assert res.coef_names == exp["coef_names"]
    for f in FIELDS:
        np.testing.assert_allclose(getattr(res, f), exp[f], rtol=rtol, atol=1e-10, err_msg=f)
    assert res.k == exp["k"] and res.p == exp["p"]
    assert (res.dfs is None) == (exp["dfs"] is None)
    if exp.get("tau2") is not None:
        np.testing.assert_allclose(res.tau2, exp["tau2"], rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(res.QE, exp["QE"], rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(res.QM, exp["QM"], rtol=rtol, atol=1e-10)
    if exp.get("I2") is not None:
        np.testing.assert_allclose(res.I2, exp["I2"], rtol=rtol, atol=1e-10)
    if q_profile and exp.get("tau2_ci") is not None:
        np.testing.assert_allclose(res.tau2_ci, exp["tau2_ci"], rtol=1e-4, atol=1e-8)
    if exp.get("pi_lb") is not None and getattr(res, "pi_lb", None) is not None:
        np.testing.assert_allclose([res.pi_lb, res.pi_ub], [exp["pi_lb"], exp["pi_ub"]], rtol=rtol)


def _wls_mp(y, v, X, tau2):
    """Weighted least squares in 60-digit arithmetic: beta, QE (weights 1 / (v + tau2)) and tr(P)."""
    import mpmath as mp  # in the test extra: the 60-digit reference must run, never skip
    mp.mp.dps = 60
    k, p = X.shape
    w = [1 / (mp.mpf(float(v[i])) + mp.mpf(tau2)) for i in range(k)]
    A = mp.matrix(p, p)
    b = mp.matrix(p, 1)
    B = mp.matrix(p, p)
    for i in range(k):
        for a in range(p):
            b[a] += w[i] * X[i, a] * mp.mpf(float(y[i]))
            for c in range(p):
                A[a, c] += w[i] * X[i, a] * X[i, c]
                B[a, c] += w[i] ** 2 * X[i, a] * X[i, c]
    beta = mp.lu_solve(A, b)
    QE = sum(w[i] * (mp.mpf(float(y[i])) - sum(X[i, a] * beta[a] for a in range(p))) ** 2 for i in range(k))
    Ainv = A**-1
    trP = sum(w) - sum((Ainv * B)[a, a] for a in range(p))
    return [float(x) for x in beta], float(QE), float(trP)


def _check_against_mpmath(res, df, method):
    y, v, X = df["yi"].to_numpy(), df["vi"].to_numpy(), res.X
    k, p = X.shape
    _, QE, trP = _wls_mp(y, v, X, 0.0)
    np.testing.assert_allclose(res.QE, QE, rtol=1e-6)
    tau2 = 0.0 if method == "FE" else max(0.0, (QE - (k - p)) / trP)
    np.testing.assert_allclose(res.tau2, tau2, rtol=1e-6, atol=1e-12)
    beta, _, _ = _wls_mp(y, v, X, tau2)
    np.testing.assert_allclose(res.beta, beta, rtol=1e-6)


RMA = [c for c in _cases("rma") if "error" not in c["expect"]]


@pytest.mark.parametrize("case", RMA, ids=_ids(RMA))
def test_rma_hard_cases(case):
    df = _frame(case["input"])
    exp = case["expect"]
    method = {"EE": "FE"}.get(case["method"], case["method"])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = bm.rma("yi", "vi", data=df, method=method, test=case["test"], mods=_mods(case))
    msgs = " | ".join(str(w.message) for w in rec)
    assert not [w for w in rec if issubclass(w.category, RuntimeWarning)], msgs
    if case["name"].startswith("tinyvar") and _mods(case) and method in ("FE", "DL"):
        # metafor's QE (and so its DL tau²) loses most digits here: it forms P = W - WX(X'WX)^-1X'W
        # with weights spanning 1e12; compare with the same quantities in 60-digit arithmetic
        _check_against_mpmath(res, df, method)
    elif case["name"].startswith("tinyvar") and _mods(case):
        # tau², beta... use weights 1 / (vi + tau²) and agree with metafor; its QE does not (see above)
        _, QE, trP = _wls_mp(df["yi"].to_numpy(), df["vi"].to_numpy(), res.X, 0.0)
        np.testing.assert_allclose(res.QE, QE, rtol=1e-6)
        vt = (res.k - res.p) / trP
        np.testing.assert_allclose(res.I2, 100 * res.tau2 / (vt + res.tau2), rtol=1e-6)
        _check_fit(res, dict(exp, QE=res.QE, I2=res.I2), _rtol(case))
    else:
        _check_fit(res, exp, _rtol(case))
    assert res.test == exp["test"]
    if any("since k=1" in w for w in exp["warnings"]):
        assert "k = 1" in msgs and "test='z'" in msgs, msgs
    if any("Redundant predictors" in w for w in exp["warnings"]):
        dropped = [n for n, na in zip(exp["coef_names_full"], exp["coef_na"]) if na]
        assert "redundant" in msgs.lower(), msgs
        for name in dropped:
            assert name[1:] in msgs, msgs  # metafor's names carry an "X" prefix
    if any("Ratio of largest to smallest" in w for w in exp["warnings"]):
        assert "ratio of largest to smallest sampling variance" in msgs.lower(), msgs


ERRORS = [c for c in _cases("rma") if "error" in c["expect"]]


@pytest.mark.parametrize("case", ERRORS, ids=_ids(ERRORS))
def test_rma_hard_cases_errors_as_metafor(case):
    """metafor stops when the PM / EB root lies above its search limit tau2.max."""
    df = _frame(case["input"])
    with pytest.raises(ValueError, match="tau2_max"):
        bm.rma("yi", "vi", data=df, method=case["method"], test=case["test"], mods=_mods(case))


SUB = _cases("subgroup")


@pytest.mark.parametrize("case", SUB, ids=_ids(SUB))
def test_subgroup_single_study_groups(case):
    df = _frame(case["input"])
    exp = case["expect"]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        sg = bm.subgroup("yi", "vi", by="g", data=df, method=case["method"], test=case["test"])
    assert not [w for w in rec if issubclass(w.category, RuntimeWarning)]
    assert list(sg.table.index) == case["levels"]
    for fit_exp in exp["per_group"]:
        fit = sg.fits[fit_exp["level"]]
        _check_fit(fit, fit_exp, 1e-6, q_profile=False)
        assert fit.test == fit_exp["test"]
    between = exp["between_fe"]
    assert np.isfinite(sg.Q_between)
    np.testing.assert_allclose(sg.Q_between, between["Q"], rtol=1e-6)
    np.testing.assert_allclose(sg.Q_between_p, between["pval"], rtol=1e-6)
    assert sg.Q_between_df == between["df"]
    mixed = exp["mods_factor"]
    np.testing.assert_allclose(sg.mixed.QM, mixed["QM"], rtol=1e-6)
    np.testing.assert_allclose(sg.mixed.QMp, mixed["QMp"], rtol=1e-6)


MV = _cases("rma.mv")


@pytest.mark.parametrize("via_rma", [False, True])
@pytest.mark.parametrize("case", MV, ids=_ids(MV))
def test_three_level_method_passes_through(case, via_rma):
    df = _frame(case["input"])
    exp = case["expect"]
    fit = bm.rma if via_rma else bm.rma_mv
    res = fit("yi", "vi", data=df, cluster="district", method=case["method"], test=case["test"],
              mods=_mods(case))
    assert res.method == case["method"]
    assert res.coef_names == exp["coef_names"]
    for f in FIELDS:
        np.testing.assert_allclose(getattr(res, f), exp[f], rtol=1e-5, err_msg=f)
    np.testing.assert_allclose(res.sigma2, exp["sigma2"], rtol=1e-5)
    np.testing.assert_allclose(res.logLik, exp["ll"], rtol=1e-6)


def test_rma_cluster_refuses_a_method_rma_mv_cannot_fit():
    df = _frame(MV[0]["input"])
    for method in ("DL", "PM", "FE"):
        with pytest.raises(ValueError, match="method"):
            bm.rma("yi", "vi", data=df, cluster="district", method=method)


# ---------------------------------------------------------------------------
# more cases of the same kinds (tests/data/reference/metafor/metafor_hard_cases_extra.json)

EXTRA = load_json("metafor/metafor_hard_cases_extra.json")


@pytest.mark.parametrize("name", sorted(EXTRA["cases"]))
def test_hard_cases_extra(name):
    e = EXTRA["cases"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if name.startswith("big"):
            df = pd.DataFrame({"yi": EXTRA["yi"], "vi": EXTRA["vi"], "x": EXTRA["x"]})
            r = bm.rma("yi", "vi", data=df, mods="~ x", method=e["method"], test=e["test"])
            for got, want in ((r.beta, e["beta"]), (r.se, e["se"]), (r.tau2, e["tau2"]), (r.QM, e["QM"]),
                              (r.ci_lb, e["ci_lb"]), (r.tau2_ci, e["tau2_ci"])):
                np.testing.assert_allclose(got, want, rtol=1e-6)
        elif name.startswith("sub"):
            sg = bm.subgroup(EXTRA["y2"], EXTRA["v2"], by="g", data=pd.DataFrame({"g": EXTRA["g"]}),
                             method=e["method"], test=e["test"])
            np.testing.assert_allclose(sg.table["estimate"], e["est"], rtol=1e-6)
            np.testing.assert_allclose(sg.table["se"], e["se"], rtol=1e-6)
            np.testing.assert_allclose(sg.Q_between, e["Q"], rtol=1e-6)
            np.testing.assert_allclose(sg.mixed.QM, e["QM"], rtol=1e-6)
            np.testing.assert_allclose(sg.mixed.QMp, e["QMp"], rtol=1e-6)
        else:
            konst = bm.load_dataset("dat.konstantopoulos2011")
            r = bm.rma("yi", "vi", data=konst, cluster="district", mods="~ I(year - 1990)",
                       method=e["method"], test=e["test"])
            assert r.method == e["method"]
            np.testing.assert_allclose(r.beta, e["beta"], rtol=1e-6)
            np.testing.assert_allclose(r.se, e["se"], rtol=1e-6)
            np.testing.assert_allclose(r.sigma2, e["sigma2"], rtol=1e-6)
            np.testing.assert_allclose(r.logLik, e["ll"], rtol=1e-8)
