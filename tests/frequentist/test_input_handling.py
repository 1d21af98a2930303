"""Issue 9, inputs that used to give a silently wrong number: each is now the right value or a
clear error (pandas alignment, type coercions, factor levels, level / tau2 ranges, formulas,
trim-and-fill Q0, numpy warnings)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.data import MetaData


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    dat = bm.load_dataset("dat.bcg")
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)


def _same(a, b):
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12)


# ---------------------------------------------------------------------------
# pandas alignment: Series / DataFrame arguments pair by index, never by position


def test_rma_series_pairs_by_index_with_data(bcg):
    ref = bm.rma("yi", "vi", data=bcg)
    shuffled = bcg.sort_values("ablat")
    _same(bm.rma(shuffled["yi"], "vi", data=bcg), ref)
    _same(bm.rma("yi", shuffled["vi"], data=bcg), ref)
    _same(bm.rma(shuffled["yi"], shuffled["vi"].sort_index()), ref)  # no data: vi pairs with yi's index
    _same(bm.rma(bcg["yi"], sei=np.sqrt(shuffled["vi"]), data=bcg), ref)


def test_rma_series_with_other_index_is_refused(bcg):
    other = bcg["yi"].copy()
    other.index = other.index + 100
    with pytest.raises(ValueError, match="index"):
        bm.rma(other, "vi", data=bcg)
    with pytest.raises(ValueError, match="index"):
        bm.rma(bcg["yi"], other.abs())


def test_moderator_frame_pairs_by_index(bcg):
    ref = bm.rma("yi", "vi", data=bcg, mods="~ ablat")
    shuffled = bcg.sort_values("ablat")
    res = bm.rma("yi", "vi", data=bcg, mods=shuffled[["ablat"]])
    _same(res, ref)
    _same(bm.rma("yi", "vi", data=bcg, mods=shuffled["ablat"]), ref)


def test_labels_and_cluster_pair_by_index(bcg):
    shuffled = bcg.sort_values("ablat")
    md = MetaData.create("yi", "vi", data=bcg, labels=shuffled["author"] + " " + shuffled["year"].astype(str))
    assert md.labels[0] == f"{bcg['author'][0]} {bcg['year'][0]}"
    df = bcg.assign(cl=np.arange(len(bcg)) // 2)
    ref = bm.rma_mv("yi", "vi", data=df, cluster="cl")
    res = bm.rma_mv("yi", "vi", data=df, cluster=df.sort_values("ablat")["cl"])
    np.testing.assert_allclose(res.beta, ref.beta, rtol=1e-10)
    np.testing.assert_allclose(res.sigma2, ref.sigma2, rtol=1e-8, atol=1e-12)


def test_subgroup_egger_trimfill_pair_by_index(bcg):
    shuffled = bcg.sort_values("ablat")
    ref = bm.subgroup("yi", "vi", by="alloc", data=bcg)
    res = bm.subgroup(shuffled["yi"], "vi", by="alloc", data=bcg)
    np.testing.assert_allclose(res.table["estimate"], ref.table["estimate"], rtol=1e-12)
    eg_ref = bm.egger_test("yi", "vi", data=bcg)
    eg = bm.egger_test(shuffled["yi"], "vi", data=bcg)
    assert eg.zval == pytest.approx(eg_ref.zval, rel=1e-12)
    tf_ref = bm.trimfill("yi", "vi", data=bcg)
    tf = bm.trimfill(shuffled["yi"], bcg["vi"])
    assert tf.k0 == tf_ref.k0 and tf.fit.beta[0] == pytest.approx(tf_ref.fit.beta[0], rel=1e-12)


def test_escalc_column_objects_pair_by_index():
    dat = bm.load_dataset("dat.bcg")
    ref = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    shuffled = dat.sort_values("ablat")
    res = bm.escalc("RR", ai=shuffled["tpos"], bi="tneg", ci=shuffled["cpos"], di="cneg", data=dat)
    np.testing.assert_allclose(res["yi"], ref["yi"], rtol=1e-12)


# ---------------------------------------------------------------------------
# type coercions


def test_mostly_numeric_moderator_with_text_cells_is_an_error():
    df = pd.DataFrame({"study": list("ABCDEF"), "yi": [0.1, 0.2, 0.3, 0.4, 0.5, 0.2], "vi": [0.01] * 6,
                       "dose": ["7.5 ", "8", "9", "<20", "3", "n/a"]})
    with pytest.raises(ValueError, match=r"'dose'.*study 'D' \(row 4\): '<20'.*study 'F' \(row 6\): 'n/a'"):
        bm.rma("yi", "vi", data=df, mods="~ dose")
    with pytest.raises(ValueError, match="dose"):
        bm.rma_mv("yi", "vi", data=df.assign(c=[1, 1, 2, 2, 3, 3]), cluster="c", mods="~ dose")
    # a text factor stays a factor; factor() asks for one explicitly
    df["dose"] = ["low", "high", "low", "high", "low", "mid"]
    assert bm.rma("yi", "vi", data=df, mods="~ dose", method="FE").coef_names == ["intrcpt", "doselow", "dosemid"]


@pytest.mark.parametrize("arg", ["yi", "vi", "sei"])
def test_booleans_are_not_effects_or_variances(arg):
    values = {"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03]}
    kwargs = {"yi": values["yi"], "vi": values["vi"]}
    if arg == "sei":
        kwargs.pop("vi")
        kwargs["sei"] = np.array([True, True, True])
    else:
        kwargs[arg] = np.array([True, False, True])
    with pytest.raises(TypeError, match="boolean"):
        bm.rma(kwargs.pop("yi"), kwargs.pop("vi", None), **kwargs)
    df = pd.DataFrame({"yi": values["yi"], "vi": values["vi"], "b": [True, False, True]})
    with pytest.raises(TypeError, match="'b'.*boolean"):
        bm.rma("b" if arg == "yi" else "yi", **({"sei": "b"} if arg == "sei" else {"vi": "b" if arg == "vi" else "vi"}),
               data=df)


def test_a_missing_marker_names_its_row():
    df = pd.DataFrame({"study": ["S1", "S2", "S3", "S4"], "yi": ["0.1", "0.2", "NA ", "0.4"], "vi": [0.01] * 4})
    with pytest.raises(TypeError, match=r"column 'yi': study 'S3' \(row 3\) has a non-numeric value 'NA '"):
        bm.rma("yi", "vi", data=df)
    df["yi"] = ["0.1", "oops", "NA ", "0.4"]
    with pytest.raises(TypeError, match=r"'S2' \(row 2\).*'S3' \(row 3\)"):
        bm.rma("yi", "vi", data=df)


# ---------------------------------------------------------------------------
# factor levels and labels with surrounding spaces


def test_levels_differing_by_spaces_are_merged_with_a_warning():
    clean = pd.DataFrame({"yi": [0.1, 0.25, 0.5, 0.6, 0.3], "vi": [0.01, 0.02, 0.01, 0.03, 0.02],
                          "rater": ["client", "client", "staff", "staff", "client"]})
    messy = clean.assign(rater=["client", "client ", " staff", "staff", "client"])
    with pytest.warns(UserWarning, match="surrounding spaces were merged"):
        res = bm.rma("yi", "vi", data=messy, mods="~ rater", method="FE")
    ref = bm.rma("yi", "vi", data=clean, mods="~ rater", method="FE")
    assert res.coef_names == ref.coef_names == ["intrcpt", "raterstaff"]
    _same(res, ref)
    with pytest.warns(UserWarning, match="merged"):
        sg = bm.subgroup("yi", "vi", by="rater", data=messy, method="FE")
    assert list(sg.table.index) == ["client", "staff"]
    np.testing.assert_allclose(sg.table["estimate"], bm.subgroup("yi", "vi", by="rater", data=clean,
                                                                   method="FE").table["estimate"])


def test_labels_differing_by_spaces_are_duplicates():
    with pytest.raises(ValueError, match="duplicate study label 'A'"):
        MetaData.create([0.1, 0.2], [0.01, 0.01], labels=["A", "A "])


# ---------------------------------------------------------------------------
# arguments out of range


def _level_calls(bcg):
    return {
        "rma": lambda lv: bm.rma("yi", "vi", data=bcg, level=lv).ci_lb[0],
        "rma_knha": lambda lv: bm.rma("yi", "vi", data=bcg, level=lv, test="knha").ci_lb[0],
        "predict": lambda lv: bm.rma("yi", "vi", data=bcg).predict(level=lv)["pi_lb"][0],
        "subgroup": lambda lv: bm.subgroup("yi", "vi", by="alloc", data=bcg, level=lv).table["ci_lb"].iloc[0],
        "rma_mv": lambda lv: bm.rma_mv("yi", "vi", data=bcg.assign(c=np.arange(13) // 2), cluster="c",
                                       level=lv).ci_lb[0],
        "egger": lambda lv: bm.egger_test("yi", "vi", data=bcg, level=lv).fit.ci_lb[0],
        "trimfill": lambda lv: bm.trimfill("yi", "vi", data=bcg, level=lv).fit.ci_lb[0],
        "batch": lambda lv: bm.sensitivity.frequentist_batch(bcg["yi"].to_numpy()[None], bcg["vi"].to_numpy()[None],
                                                             "DL", level=lv)["mu_lower"][0],
    }


@pytest.mark.parametrize("name", ["rma", "rma_knha", "predict", "subgroup", "rma_mv", "egger", "trimfill", "batch"])
def test_level_95_means_95_percent_and_1_5_is_an_error(bcg, name):
    call = _level_calls(bcg)[name]
    assert call(95) == pytest.approx(call(0.95), rel=1e-12)
    assert call(90) != pytest.approx(call(95))
    for bad in (1.5, 0, 100, -0.5, 1):
        with pytest.raises(ValueError, match="level"):
            call(bad)
    with pytest.raises(TypeError, match="level"):
        call("95")


@pytest.mark.parametrize("bad", [-0.1, np.inf, np.nan, True, "0.1"])
def test_fixed_tau2_is_a_finite_number_at_least_zero(bcg, bad):
    with pytest.raises((ValueError, TypeError), match="tau2"):
        bm.rma("yi", "vi", data=bcg, tau2=bad)
    assert bm.rma("yi", "vi", data=bcg, tau2=0).tau2 == 0


# ---------------------------------------------------------------------------
# formulas and names


@pytest.fixture
def raters() -> pd.DataFrame:
    return pd.DataFrame({"yi": [0.1, 0.3, 0.35, -0.05, 0.2, 0.4], "vi": [0.01, 0.02, 0.015, 0.03, 0.01, 0.02],
                         "x": [1.0, 2, 3, 4, 6, 5], "größe": [1.0, 2, 3, 5, 4, 6],
                         "rater type": ["a", "b", "a", "b", "a", "b"], "rater_type": ["a", "b", "a", "b", "a", "b"]})


@pytest.mark.parametrize("formula", ["~ x +", "~ x + (", "~ 0", "~ -1", "~ nonexistent", "~ x * "])
def test_bad_formula_is_a_value_error_naming_it(raters, formula):
    with pytest.raises(ValueError, match=formula.replace("(", r"\(").replace("*", r"\*").replace("+", r"\+")
                       .replace("nonexistent", "nonexistent")):
        bm.rma("yi", "vi", data=raters, mods=formula)


def test_names_with_spaces_and_non_ascii_letters_work(raters):
    ref = bm.rma("yi", "vi", data=raters.rename(columns={"größe": "size"}), mods="~ size")
    res = bm.rma("yi", "vi", data=raters, mods="~ größe")
    assert res.coef_names == ["intrcpt", "größe"]
    _same(res, ref)
    ref = bm.rma("yi", "vi", data=raters, mods="~ rater_type")
    for formula in ("~ `rater type`", '~ Q("rater type")', "~ Q('rater type')", "~ factor(`rater type`)"):
        _same(bm.rma("yi", "vi", data=raters, mods=formula), ref)
    sg = bm.subgroup("yi", "vi", by="rater type", data=raters)
    sg_ref = bm.subgroup("yi", "vi", by="rater_type", data=raters)
    assert sg.Q_between == pytest.approx(sg_ref.Q_between, rel=1e-12)
    assert sg.mixed.QM == pytest.approx(sg_ref.mixed.QM, rel=1e-12)


# ---------------------------------------------------------------------------
# trim-and-fill Q0


def test_trimfill_q0_where_its_quantity_is_negative_is_a_clear_error():
    # R 4.2.2, metafor 3.8.1: trimfill(rma(yi, vi, method = "FE"), estimator = "Q0", side = "right")
    # warns "NaNs produced" in sqrt(2 * k^2 - 4 * Sr + 1/4) and then fails
    yi = [-0.03, -0.077, 1.068, 1.859]
    vi = [0.0153, 0.0073, 0.0108, 0.0053]
    with pytest.raises(ValueError, match=r"Q0.*2k² - 4 S_r \+ 1/4"):
        bm.trimfill(yi, vi, estimator="Q0", side="right")
    assert bm.trimfill(yi, vi, estimator="L0", side="right").k0 >= 0


# ---------------------------------------------------------------------------
# numpy warnings never reach the user of a normal fit


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_no_numpy_runtime_warnings(k, test):
    yi = np.array([0.1, 0.3, 0.3])[:k]  # equal effects at k = 3 too: tau² = 0, RSS = 0
    vi = np.array([0.01, 0.02, 0.02])[:k]
    for method in ("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", RuntimeWarning)
            res = bm.rma(yi, vi, method=method, test=test)
            repr(res)
            res.predict()
            if k == 3:
                bm.subgroup(yi, vi, by="g", data=pd.DataFrame({"g": ["a", "b", "b"][:k]}), method=method, test=test)


def test_batch_pm_beyond_metafors_search_limit_solves_q():
    """metafor stops ('Value of tau2.max too low'); the simulation's PM gets the root of Q = k - 1."""
    y = np.array([[0.5, -0.2, 0.1, 0.0, 0.3, 0.2, -0.1, 0.05, 850.0, -900.0]])
    v = np.array([[0.04, 0.05, 0.03, 0.06, 0.04, 0.05, 0.03, 0.04, 0.05, 0.06]])
    with pytest.raises(ValueError, match="tau2_max"):
        bm.rma(y[0], v[0], method="PM")
    tau2 = bm.sensitivity.frequentist_batch(y, v, "PM")["tau2"][0]
    w = 1 / (v[0] + tau2)
    mu = np.sum(w * y[0]) / w.sum()
    assert np.sum(w * (y[0] - mu) ** 2) == pytest.approx(9.0, rel=1e-9)
    assert tau2 > 1e5


def test_trimfill_equal_effects_se_is_nan_without_numpy_warning():
    # R 4.2.2, metafor 3.8.1: trimfill(rma(rep(0.2, 5), c(.01, .02, .03, .04, .05), method = "FE"))
    # gives k0 = 0 and se.k0 = NaN (with the warning "NaNs produced" in sqrt(varSr))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        tf = bm.trimfill([0.2] * 5, [0.01, 0.02, 0.03, 0.04, 0.05])
    assert tf.k0 == 0 and np.isnan(tf.se_k0)
    assert "(SE = NA)" in repr(tf)
