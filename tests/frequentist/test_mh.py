"""Mantel-Haenszel and Peto methods against metafor 3.8.1 (metafor_cases_v2.json kind mh;
metafor_toolbox.json: the CMH, Breslow-Day and Tarone tests, RD, tables with zero cells and
double zeros under metafor's add/to/drop00 options, incidence rates)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

REF = REFERENCE_DIR
V2 = json.loads((REF / "metafor/metafor_cases_v2.json").read_text())["cases"]
TB = json.loads((REF / "metafor/metafor_toolbox.json").read_text())["cases"]


def cases(source, *kinds):
    return [pytest.param(c, id=c["name"]) for c in source if c["kind"] in kinds]


def close(got, want, rtol=1e-6, atol=0.0):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=rtol, atol=atol)


def options(case):
    opts = dict(case.get("options") or {})
    for key in ("add", "to", "drop00"):
        if key in opts and isinstance(opts[key], list):
            opts[key] = tuple(opts[key])
    return opts


@pytest.mark.parametrize("case", cases(V2, "mh") + cases(TB, "mh"))
def test_mh_and_peto_match_metafor(case):
    t = case["input"]
    opts = options(case)
    res = bm.rma_mh(t["ai"], t["bi"], t["ci"], t["di"], measure=case["measure"], **opts)
    e = case["expect"]
    for key in ("beta", "se", "ci_lb", "ci_ub", "QE", "QEp", "I2"):
        close(getattr(res, key), e[key], atol=1e-13)
    if "k_yi" in e:
        assert res.k_yi == e["k_yi"]
        close(res.fit_stats.loc["ll", "ML"], e["ll_ML"])
        close(res.fit_stats.loc["ll", "REML"], e["ll_REML"])
    for key in ("MH", "MHp", "CO", "BD", "BDp", "TA", "TAp"):
        if e.get(key) not in (None, []):
            close(getattr(res, key), e[key])
    if "peto_beta" in e:
        peto = bm.rma_peto(t["ai"], t["bi"], t["ci"], t["di"], **opts)
        close(peto.beta, e["peto_beta"])
        close(peto.se, e["peto_se"])
        close(peto.QE, e["peto_QE"])
        for key in ("QEp", "I2"):
            if f"peto_{key}" in e:
                close(getattr(peto, key), e[f"peto_{key}"], atol=1e-13)


@pytest.mark.parametrize("case", cases(TB, "mh_rates"))
def test_mh_rates_match_metafor(case):
    t = case["input"]
    res = bm.rma_mh(x1i=t["x1i"], x2i=t["x2i"], t1i=t["t1i"], t2i=t["t2i"], measure=case["measure"])
    e = case["expect"]
    for key in ("beta", "se", "QE", "QEp", "I2"):
        close(getattr(res, key), e[key], atol=1e-13)
    if e.get("MH") is not None:
        close(res.MH, e["MH"])
        close(res.MHp, e["MHp"])


def test_mh_with_group_sizes_and_data_columns():
    dat = bm.load_dataset("dat.bcg")
    a = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, slab="author")
    df = dat.assign(n1=dat.tpos + dat.tneg, n2=dat.cpos + dat.cneg)
    b = bm.rma_mh(ai="tpos", n1i="n1", ci="cpos", n2i="n2", data=df)
    assert a.beta == b.beta and a.se == b.se
    assert a.labels[0] == str(dat["author"].iloc[0])
    s = a.summary(transf=np.exp)
    close(s["estimate"].iloc[0], np.exp(a.beta))
    assert "Cochran-Mantel-Haenszel" in repr(a)
    assert set(a.tests().index) == {"Q (heterogeneity)", "CMH", "Breslow-Day", "Tarone"}


def test_mh_fitstats_and_bad_input():
    dat = bm.load_dataset("dat.bcg")
    res = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    assert bm.fitstats(res).loc["AIC", "ML"] == pytest.approx(-2 * res.fit_stats.loc["ll", "ML"] + 2)
    with pytest.raises(ValueError, match="measure"):
        bm.rma_mh([1], [2], [3], [4], measure="SMD")
    with pytest.raises(ValueError, match="negative"):
        bm.rma_mh([1, -1], [2, 2], [3, 3], [4, 4])
    with pytest.raises(ValueError, match="more events"):
        bm.rma_mh(ai=[5, 1], n1i=[4, 4], ci=[1, 1], n2i=[4, 4])
    with pytest.raises(TypeError, match="ai, bi, ci, di"):
        bm.rma_mh(ai=[1, 2], ci=[1, 2])
    with pytest.raises(ValueError, match="to="):
        bm.rma_mh([1], [2], [3], [4], to="some")
    with pytest.raises(TypeError, match="rates"):
        bm.rma_mh([1], [2], [3], [4], x1i=[1], measure="OR")
    with pytest.raises(ValueError, match="never occurs"):
        bm.rma_peto([0, 0], [5, 5], [0, 0], [5, 5], drop00=False)


MORE = json.loads((REF / "metafor/metafor_escalc_more.json").read_text())["cases"]


def _call(case):
    t = case["input"]
    opts = case.get("options") or {}
    opts = {} if isinstance(opts, list) else dict(opts)
    if case["kind"] == "peto":
        return bm.rma_peto(**t, **opts)
    return bm.rma_mh(**t, measure=case["measure"], **opts)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in MORE if c["kind"] in ("mh", "peto")])
def test_mh_peto_match_metafor_escalc_more(case):
    e = case["expect"]
    if "error" in e:
        with pytest.raises(ValueError):
            _call(case)
        return
    res = _call(case)
    for key in ("beta", "se", "ci_lb", "ci_ub", "zval", "pval", "QE", "QEp", "I2", "H2",
                "CO", "COp", "MH", "MHp", "BD", "BDp", "TA", "TAp"):
        want = e.get(key)
        got = getattr(res, key)
        if want is None:
            assert got is None or not np.isfinite(got), key
        else:
            close(got, want, atol=1e-13)
    assert res.k == e["k"] and res.k_yi == e["k_yi"]
    if e.get("k_pos") is not None:
        assert res.k_pos == e["k_pos"]
    close(res.fit_stats.loc["ll", "ML"], e["ll"])
    yi = np.array([np.nan if v is None else v for v in e["yi"]], dtype=float)
    vi = np.array([np.nan if v is None else v for v in e["vi"]], dtype=float)
    close(res.yi, yi, atol=1e-14)
    close(res.vi, vi, atol=1e-14)


def test_tables_with_missing_cells_are_omitted_as_metafor_does():
    # R: rma.mh(c(4, NA, 3), c(119, 300, 228), c(11, 29, 11), c(128, 274, 209)) and rma.peto(...)
    args = ([4, np.nan, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
    with pytest.warns(UserWarning, match="row 2"):
        mh = bm.rma_mh(*args)
    close([mh.beta, mh.se, mh.QE, mh.MH], [-1.149504, 0.4409012, 0.2538082, 6.499917], rtol=1e-6)
    assert (mh.k, mh.k_yi) == (2, 2)
    with pytest.warns(UserWarning, match="omitted"):
        peto = bm.rma_peto(*args)
    close([peto.beta, peto.se, peto.QE], [-1.040423, 0.3798006, 0.2338908], rtol=1e-6)
    with pytest.raises(ValueError, match="every table"), pytest.warns(UserWarning):
        bm.rma_mh([np.nan], [1], [1], [1])


TB_STEPS = [pytest.param(c, id=c["name"]) for c in TB if c["kind"] == "mh_steps"]


@pytest.mark.parametrize("case", TB_STEPS)
def test_leave1out_and_cumul_of_mh_and_peto_match_metafor(case):
    t = case["input"]
    res = bm.rma_peto(**t) if case["method"] == "Peto" else bm.rma_mh(**t, measure=case["measure"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bm.leave1out(res) if case["which"] == "leave1out" else bm.cumul(res, order=case["order"])
    assert "tau2" not in out.table.columns
    for col in ("estimate", "se", "pval", "ci_lb", "ci_ub", "Q", "Qp", "I2", "H2"):
        want = np.array([np.nan if v in (None, "NA") else v for v in case["expect"][col]], dtype=float)
        got = out.table[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        close(got[~np.isnan(want)], want[~np.isnan(want)], atol=1e-14)


def test_cumul_of_mh_needs_order_values():
    res = bm.rma_mh([4, 6, 3], [119, 300, 228], [11, 29, 11], [128, 274, 209])
    with pytest.raises(TypeError, match="order as values"):
        bm.cumul(res, order="year")
