"""pet_peese(), fsn(), hc(), ranktest() and the contour-enhanced funnel plot.

metafor's numbers: metafor_cases_v2.json (kinds petpeese, fsn, hc) and the held-out
metafor_bias_more.json (the same and ranktest on dat.bcg, dat.hackshaw1998, dat.lehmann2018,
dat.molloy2014). fsn is compared exactly (it is a whole number of studies).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases_v2, load_json
from scipy import stats

import bayesma as bm

matplotlib.use("Agg")

RTOL = 1e-6
V2 = [c for c in load_cases_v2() if c["kind"] in ("petpeese", "fsn", "hc")]
MORE = [c for c in load_json("metafor/metafor_bias_more.json")["cases"] if c["kind"] in ("petpeese", "fsn", "hc", "ranktest")]


def _data(case):
    return pd.DataFrame(case["input"])


def _values(case) -> dict:
    data = _data(case)
    kind = case["kind"]
    if kind == "petpeese":
        pp = bm.pet_peese("yi", "vi", data=data)
        out = {f"{m}_{k}": getattr(getattr(pp, m), k) for m in ("pet", "peese") for k in ("beta", "se")}
        out.update({f"{m}_pval": getattr(pp, m).pval for m in ("pet", "peese")})
        knha = bm.pet_peese("yi", "vi", data=data, test="knha").pet
        out.update({"pet_knha_se": knha.se, "pet_knha_pval": knha.pval})
        return out
    if kind == "fsn":
        f = {t: bm.fsn("yi", "vi", data=data, type=t) for t in ("Rosenthal", "Orwin", "Rosenberg")}
        ow = bm.fsn("yi", "vi", data=data, type="Orwin", weighted=True)
        o5 = bm.fsn("yi", "vi", data=data, type="Orwin", target=0.05)
        r1 = bm.fsn("yi", "vi", data=data, alpha=0.01)
        return {"rosenthal": f["Rosenthal"].fsnum, "rosenthal_pval": f["Rosenthal"].pval,
                "orwin": f["Orwin"].fsnum, "orwin_meanes": f["Orwin"].meanes, "orwin_target": f["Orwin"].target,
                "orwin_weighted": ow.fsnum, "orwin_weighted_meanes": ow.meanes,
                "orwin_target_005": o5.fsnum, "orwin_target_005_target": o5.target,
                "rosenberg": f["Rosenberg"].fsnum, "rosenberg_pval": f["Rosenberg"].pval,
                "rosenberg_meanes": f["Rosenberg"].meanes, "rosenthal_alpha01": r1.fsnum}
    if kind == "hc":
        h = bm.hc(bm.rma("yi", "vi", data=data, method="DL"))
        return {k: getattr(h, k) for k in ("beta", "se", "ci_lb", "ci_ub", "tau2")}
    rt = bm.ranktest(bm.rma("yi", "vi", data=data))
    return {"tau": rt.tau, "pval": rt.pval, "ties": not rt.exact}


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in V2 + MORE])
def test_matches_metafor(case):
    got = _values(case)
    for key, expected in case["expect"].items():
        actual = got[key]
        if case["kind"] == "fsn" and key in ("rosenthal", "orwin", "rosenberg", "orwin_weighted",
                                              "orwin_target_005", "rosenthal_alpha01"):
            assert actual == expected, key  # a whole number of studies: exactly
        elif isinstance(expected, bool):
            assert actual == expected, key
        else:
            np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-300, err_msg=key)


def test_there_are_cases():
    kinds = {c["kind"] for c in V2 + MORE}
    assert kinds == {"petpeese", "fsn", "hc", "ranktest"}
    assert any(c["expect"].get("ties") for c in MORE if c["kind"] == "ranktest")  # the normal approximation
    assert any(not c["expect"].get("ties", True) for c in MORE if c["kind"] == "ranktest")  # the exact test


# ---------------------------------------------------------------- checks without R
def test_pet_peese_chooses_by_the_one_sided_pet_test():
    dat = bm.load_dataset("dat.hackshaw1998")
    pp = bm.pet_peese("yi", "vi", data=dat)
    p1 = stats.norm.sf(pp.pet.stat[0])
    assert pp.pet_pval_one_sided == pytest.approx(p1)
    assert pp.chosen == ("PEESE" if p1 < 0.05 else "PET")
    assert pp.estimate == (pp.peese if pp.chosen == "PEESE" else pp.pet).beta[0]
    # with alpha = 0.5 PET's intercept (positive) is 'significant' and PEESE is chosen
    assert bm.pet_peese("yi", "vi", data=dat, alpha=0.5).chosen == "PEESE"
    # a fitted model gives the same regressions
    same = bm.pet_peese(bm.rma("yi", "vi", data=dat))
    np.testing.assert_allclose(same.pet.beta, pp.pet.beta)
    assert "PET-PEESE estimate" in repr(pp) and len(pp.summary()) == 5


def test_pet_knha_is_weighted_least_squares():
    """test='knha' is Stanley & Doucouliagos' WLS: lm(yi ~ sei, weights = 1/vi)."""
    dat = bm.load_dataset("dat.hackshaw1998")
    y, v = dat["yi"].to_numpy(), dat["vi"].to_numpy()
    X = np.column_stack([np.ones_like(y), np.sqrt(v)])
    W = np.diag(1 / v)
    b = np.linalg.solve(X.T @ W @ X, X.T @ W @ y)
    r = y - X @ b
    s2 = (r @ W @ r) / (len(y) - 2)
    se = np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ W @ X)))
    pet = bm.pet_peese("yi", "vi", data=dat, test="knha").pet
    np.testing.assert_allclose(pet.beta, b, rtol=1e-10)
    np.testing.assert_allclose(pet.se, se, rtol=1e-10)


def test_fsn_rosenthal_by_hand():
    y, v = np.array([0.3, 0.5, 0.1, 0.4]), np.array([0.04, 0.09, 0.02, 0.05])
    z = np.sum(y / np.sqrt(v)) / 2
    n = 4 * (z / stats.norm.isf(0.05)) ** 2 - 4
    assert bm.fsn(y, v).fsnum == int(np.ceil(n))
    assert bm.fsn(y, type="Orwin").fsnum == int(np.ceil(4 * (y.mean() - y.mean() / 2) / (y.mean() / 2))) == 4
    assert "Fail-safe N" in repr(bm.fsn(y, v))


def test_ranktest_exact_against_scipy():
    rng = np.random.default_rng(5)
    y, v = rng.normal(size=12), rng.uniform(0.01, 0.3, 12)
    rt = bm.ranktest(y, v)
    w = 1 / v
    ystar = (y - np.sum(w * y) / w.sum()) / np.sqrt(v - 1 / w.sum())
    ref = stats.kendalltau(ystar, v, method="exact")
    assert rt.exact
    assert rt.tau == pytest.approx(ref.statistic)
    assert rt.pval == pytest.approx(ref.pvalue, rel=1e-10)


@pytest.mark.parametrize("call, match", [
    (lambda: bm.fsn([0.1, 0.2], [0.1, 0.1], type="Fisher"), "type must be"),
    (lambda: bm.fsn([0.1, 0.2], [0.1, 0.1], alpha=1.5), "alpha"),
    (lambda: bm.fsn([0.1, 0.2], [0.1, 0.1], target=0.1), "target is used by type='Orwin'"),
    (lambda: bm.fsn([0.1, 0.2], [0.1, -0.1]), "column 'vi': study in row 2"),
    (lambda: bm.pet_peese([0.1, 0.2], [0.1, 0.1]), "at least 3 studies"),
    (lambda: bm.pet_peese([0.1, 0.2, 0.3], [0.1, 0.1, 0.2], alternative="two.sided"), "alternative"),
    (lambda: bm.ranktest([0.1, 0.2], [0.1, 0.1]), "at least 3"),
    (lambda: bm.hc(bm.rma([0.1, 0.2, 0.4], [0.1, 0.1, 0.2], mods=[1.0, 2.0, 3.0])), "without moderators"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- contour-enhanced funnel
def _fit(k, seed=1):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.005, 0.15, k)
    return bm.rma(rng.normal(0.2, np.sqrt(vi + 0.02)), vi)


@pytest.mark.parametrize("k", [10, 80])
def test_contour_funnel(k):
    res = _fit(k)
    fig = bm.plots.funnel_plot(res, contours=[90, 95, 99])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:4] == ["0.10 < p \u2264 1.00", "0.05 < p \u2264 0.10", "0.01 < p \u2264 0.05", "0.00 < p \u2264 0.01"]
    # the widest band reaches z_.995 * se_max around 0 at the bottom
    se_max = np.sqrt(res.vi).max() * 1.05
    xs = np.concatenate([c.get_paths()[0].vertices[:, 0] for c in ax.collections[:3]])
    assert xs.max() == pytest.approx(stats.norm.isf(0.005) * se_max, rel=1e-6)


def test_funnel_adds_tau2_only_when_asked():
    res = _fit(30)
    se_max = np.sqrt(res.vi).max() * 1.05
    z = stats.norm.isf(0.025)
    for addtau2, half in ((False, z * se_max), (True, z * np.sqrt(se_max**2 + res.tau2))):
        ax = bm.plots.funnel_plot(res, addtau2=addtau2).axes[0]
        xs = ax.collections[0].get_paths()[0].vertices[:, 0]
        assert xs.max() - res.beta[0] == pytest.approx(half, rel=1e-6)


def test_funnel_bad_contours():
    with pytest.raises(ValueError, match="contours"):
        bm.plots.funnel_plot(_fit(10), contours=[0.9, 1.0])
