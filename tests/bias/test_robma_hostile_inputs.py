"""robma / bma inputs a user gets wrong: Series paired by index (clusters, CI bounds), cluster ids with
stray spaces, a single cluster, transformations in mods=, factor(), numbers stored as text."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.bias.moderators import build_terms
from bayesma.errors import DataWarning, InputError

FAST = {"draws": 64, "replicates": 2, "ensemble": "none"}


@pytest.fixture(scope="module")
def dat():
    rng = np.random.default_rng(3)
    study = np.repeat([f"S{i}" for i in range(6)], 3)
    se = np.repeat(rng.uniform(0.12, 0.3, 6), 3)
    g = np.tile([1, 2, 3], 6)
    d = 0.3 + 0.1 * g + np.repeat(rng.normal(0, 0.2, 6), 3) + rng.normal(0, se)
    return pd.DataFrame({"study": study, "d": d, "se": se, "g": g, "x": rng.normal(size=18).round(3)},
                        index=np.arange(100, 118))


def _mu(fit) -> float:
    return float(fit.estimates().loc["mu", "mean"])


def test_cluster_series_pairs_by_index_not_position(dat):
    """A cluster Series from the unshuffled frame beside a shuffled data frame: paired by index."""
    ref = bm.robma(dat, d="d", se="se", cluster="study", **FAST)
    shuf = dat.sample(frac=1, random_state=2)
    by_series = bm.robma(shuf, d="d", se="se", cluster=dat["study"], **FAST)
    assert _mu(by_series) == pytest.approx(_mu(ref), rel=1e-7)
    # without data=: every Series pairs with the first one given, by index
    no_data = bm.robma(d=shuf["d"], se=dat["se"], cluster=dat["study"], **FAST)
    assert _mu(no_data) == pytest.approx(_mu(ref), rel=1e-7)


def test_cluster_series_with_foreign_index_is_refused(dat):
    foreign = pd.Series(dat["study"].to_numpy(), index=np.arange(len(dat)))
    with pytest.raises(InputError, match="cluster"):
        bm.robma(dat, d="d", se="se", cluster=foreign, **FAST)


def test_ci_bounds_series_pair_by_index(dat):
    z = np.arctanh(np.tanh(dat["d"] / 4))
    lo, hi = z - 1.96 * 0.2, z + 1.96 * 0.2
    ref = bm.robma(z=z, lCI=lo, uCI=hi, **FAST)
    order = np.random.default_rng(0).permutation(len(z))
    shuffled = bm.robma(z=z.iloc[order], lCI=lo, uCI=hi.iloc[order], **FAST)
    assert _mu(shuffled) == pytest.approx(_mu(ref), rel=1e-7)


def test_cluster_ids_differing_by_spaces_are_merged_with_a_warning(dat):
    ref = bm.robma(dat, d="d", se="se", cluster="study", **FAST)
    padded = dat.assign(study=[s + (" " if i % 2 else "") for i, s in enumerate(dat["study"])])
    with pytest.warns(DataWarning, match="surrounding spaces"):
        fit = bm.robma(padded, d="d", se="se", cluster="study", **FAST)
    assert _mu(fit) == pytest.approx(_mu(ref), rel=1e-7)


def test_a_single_cluster_is_an_error(dat):
    with pytest.raises(InputError, match="one cluster"):
        bm.robma(dat.assign(study="all"), d="d", se="se", cluster="study", **FAST)


@pytest.mark.parametrize("mods", ["~ log(x)", "~ scale(x)", "~ I(x^2)", "~ poly(x, 2)"])
def test_transformations_in_mods_are_refused_not_dropped(dat, mods):
    """formula_variables() reads log(x) as x: fitting x untransformed would be a silent wrong model."""
    with pytest.raises(InputError, match="transformations"):
        build_terms(mods, dat)


def test_factor_call_makes_a_numeric_column_a_factor(dat):
    terms, X = build_terms("~ factor(g) + x", dat)
    assert [(t.name, t.kind) for t in terms] == [("g", "factor"), ("x", "continuous")]
    assert X.shape == (len(dat), 2 + 1)
    assert terms[0].levels == ("1", "2", "3")
    terms, _ = build_terms("~ factor(g)", dat.assign(g=dat["g"].astype(float)))   # R's level names: 2, not 2.0
    assert terms[0].levels == ("1", "2", "3")


def test_numbers_stored_as_text_are_a_continuous_moderator_with_a_warning(dat):
    _, X_num = build_terms("~ x", dat)
    with pytest.warns(DataWarning, match="numbers stored as text"):
        terms, X_txt = build_terms("~ x", dat.assign(x=dat["x"].astype(str)))
    assert terms[0].kind == "continuous"
    np.testing.assert_allclose(X_txt, X_num, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        terms, _ = build_terms("~ factor(g)", dat.assign(g=dat["g"].astype(str)))
    assert terms[0].kind == "factor"


def test_mostly_numeric_text_moderator_names_the_study(dat):
    bad = dat.assign(x=["n/a"] + list(dat["x"].astype(str)[1:]))
    with pytest.raises(InputError, match=r"row 1.*'n/a'"):
        build_terms("~ x", bad)


def test_mods_of_a_wrong_type_name_the_type_not_the_values(dat):
    with pytest.raises(TypeError, match="got ndarray$"):
        build_terms(dat[["x"]].to_numpy(), dat)


@pytest.mark.parametrize("make", [
    lambda d: bm.robma(d, d="d", se="se", draws=64, replicates=2, ensemble="PP"),
    lambda d: bm.bma(d, d="d", se="se", mods="~ x", draws=64, replicates=2),
])
def test_weight_function_plot_of_an_ensemble_without_weight_functions_says_so(dat, make):
    fit = make(dat)
    with pytest.raises(bm.errors.UnsupportedModelError, match="no selection"):
        fit.plot_weightfunction()


@pytest.mark.parametrize("ensemble, title", [
    ("PP", "Robust Bayesian meta-analysis (RoBMA PET-PEESE ensemble, bayesma)"),
    ("6w", "Robust Bayesian meta-analysis (RoBMA 6w ensemble, bayesma)"),
    ("none", "Bayesian model averaging without publication-bias models (bayesma)"),
    ([bm.PET(), (bm.WeightFunction((0.05,), "one"), 2.0)],
     "Robust Bayesian meta-analysis (ensemble: 1 weight function, PET, bayesma)"),
])
def test_the_printout_names_the_ensemble_that_was_fitted(dat, ensemble, title):
    """It used to say 'RoBMA-PSMA ensemble' whatever was fitted (bm.bma included)."""
    fit = bm.robma(dat, d="d", se="se", draws=32, replicates=2, ensemble=ensemble)
    assert repr(fit).splitlines()[0] == title


def test_bma_printout_does_not_claim_bias_models(dat):
    fit = bm.bma(dat, d="d", se="se", mods="~ x", draws=32, replicates=2)
    assert repr(fit).splitlines()[0] == "Bayesian model averaging without publication-bias models (bayesma)"


@pytest.mark.parametrize("effect", ["d", "r", "y"])
def test_an_effect_and_its_test_statistic_with_opposite_signs_name_the_study(effect):
    """The standard error follows from |effect / t| either way, so a sign slip would pass unnoticed."""
    df = pd.DataFrame({"study": list("ABCD"), effect: [0.2, -0.3, 0.25, 0.1], "t": [2.1, 2.5, 1.9, 1.2]})
    with pytest.raises(InputError, match=rf"column '{effect}': study 'B' \(row 2\) is -0.3 but its test statistic 't' is 2.5"):
        bm.robma(df, **{effect: effect}, t="t", slab="study", **FAST)


def test_positional_columns_say_how_they_were_read():
    """bm.robma(data, "r", "n") fills yi and vi (rma's slots): the error says 'n' was read as variances."""
    cors = pd.DataFrame({"r": [0.21, 0.35, 0.10, 0.30], "n": [80, 40, 120, 60]})
    with pytest.raises(InputError, match=r"'n' read as sampling variances \(vi\)"):
        bm.robma(cors, "r", "n")


@pytest.mark.parametrize("kw", [dict(d=[0.3, 0.5, 0.4], se=[1e-160, 0.1, 0.1]),
                                dict(y=[0.3, 0.5, 0.4], vi=[1e-300, 0.01, 0.01])])
def test_a_standard_error_whose_weight_overflows_names_the_study(kw):
    """It crashed with numpy's 'zero-size array to reduction operation maximum'."""
    with pytest.raises(InputError, match=r"study in row 1 has a standard error of .* where its weight"):
        bm.robma(**kw, **FAST)


@pytest.mark.parametrize("fn", [bm.robma, bm.bma])
def test_a_standard_error_column_in_the_variance_slot_is_warned_about_at_the_callers_line(dat, fn):
    """bm.robma(dat, "d", "se") reads 'se' as variances (rma's order): say so, pointing at the user's line."""
    kw = {"draws": 32, "replicates": 2} | ({"ensemble": "none"} if fn is bm.robma else {})
    with pytest.warns(DataWarning, match=r"vi='se' .* pass se='se'") as rec:
        fn(dat, "d", "se", **kw)
    assert rec[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        fn(dat, d="d", se="se", **kw)
        rows = dat.assign(row=[f"{s}.{i}" for i, s in enumerate(dat["study"])])  # labels unique, as rma's
        fn(rows, slab="row", d="d", se="se", **kw)        # the slab alias still reaches robma


def test_escalc_output_is_read_with_the_measure_escalc_recorded():
    """robma(escalc("ZCOR", ...)) read Fisher's z as Cohen's d (measure defaulted to SMD) without a word."""
    ri, ni = [0.21, 0.35, 0.10, 0.30, 0.25, 0.05, 0.40, 0.18], [80, 40, 120, 60, 90, 200, 35, 150]
    es = bm.escalc("ZCOR", ri=ri, ni=ni)
    auto = bm.robma(es, **FAST)
    explicit = bm.robma(es, measure="ZCOR", **FAST)
    assert auto.measure == "z"
    assert _mu(auto) == pytest.approx(_mu(explicit), rel=1e-12)
    assert _mu(bm.robma(es, measure="SMD", **FAST)) != pytest.approx(_mu(auto), rel=1e-3)
    rr = bm.escalc("RR", ai=[5, 10, 3, 8], bi=[45, 40, 47, 42], ci=[10, 15, 9, 12], di=[40, 35, 41, 38])
    with pytest.raises(InputError, match=r"data.attrs\['measure'\] \(from escalc\) is 'RR'"):
        bm.robma(rr, **FAST)
