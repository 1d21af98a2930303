"""Fixes from the new-user test: escalc's missing and non-integer inputs (item 8), the mu prior
behind bf10_effect (item 6), the data-scaled tau prior (item 11), leave_one_out of a fit (item 12)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main

# ---------------------------------------------------------------------------
# item 8: escalc


def test_missing_sample_size_warns_naming_study_row_and_column():
    with pytest.warns(UserWarning, match=r"R2D: 1 study .*study in row 1: column 'ni'"):
        res = bm.escalc("R2D", ri=[0.1, 0.2], ni=[np.nan, 30])
    assert np.isnan(res["yi"].iloc[0]) and np.isnan(res["vi"].iloc[0])
    assert np.isfinite(res["yi"].iloc[1])


def test_missing_input_warning_uses_labels_and_data_column_names():
    df = pd.DataFrame({"study": ["A", "B", "C"], "m1": [1.0, 2.0, np.nan], "s1": [1.0, np.nan, 1.0],
                       "n1": [10, 10, 10], "m2": [0.0, 0.0, 0.0], "s2": [1.0, 1.0, 1.0], "n2": [10, 10, 10]})
    with pytest.warns(UserWarning) as rec:
        res = bm.escalc("SMD", m1i="m1", sd1i="s1", n1i="n1", m2i="m2", sd2i="s2", n2i="n2",
                        data=df, slab="study")
    text = " ".join(str(w.message) for w in rec)
    assert "2 studies" in text
    assert "study 'B' (row 2): column 's1'" in text
    assert "study 'C' (row 3): column 'm1'" in text
    assert res["yi"].isna().tolist() == [False, True, True]


def test_fallback_column_empty_is_not_reported_when_the_effect_exists():
    # bi empty but n1i given: bi = n1i - ai, no effect is missing, so no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = bm.escalc("OR", ai=[1, 3], bi=[np.nan, 6], ci=[2, 2], di=[8, 8], n1i=[10, 9])
    assert np.isfinite(res["yi"]).all()


def test_complete_input_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm.escalc("ZCOR", ri=[0.1, 0.2], ni=[20, 30])


@pytest.mark.parametrize("measure, kwargs, col", [
    ("R2D", {"ri": [0.1, 0.2], "ni": [1.5, 30]}, "ni"),
    ("ZCOR", {"ri": [0.1, 0.2], "ni": [40, 20.5]}, "ni"),
    ("SMD", {"m1i": [1, 2], "sd1i": [1, 1], "n1i": [10, 10.5], "m2i": [0, 0], "sd2i": [1, 1], "n2i": [10, 10]},
     "n1i"),
    ("OR", {"ai": [1, 2], "n1i": [10, 12], "ci": [2, 3], "n2i": [9.5, 12]}, "n2i"),
    ("PR", {"xi": [1, 2], "ni": [10, 12.2]}, "ni"),
])
def test_non_integer_sample_size_is_an_error_naming_study_and_column(measure, kwargs, col):
    with pytest.raises(ValueError, match=rf"column '{col}': sample sizes must be whole numbers, but study 'b' "
                                         rf"\(row 2\)|column '{col}': sample sizes must be whole numbers, but "
                                         rf"study 'a' \(row 1\)"):
        bm.escalc(measure, slab=["a", "b"], **kwargs)


def test_integer_columns_stay_integers_with_data():
    df = pd.DataFrame({"r": [0.1, 0.2], "n": [20, 30]})
    res = bm.escalc("ZCOR", ri="r", ni="n", data=df)
    assert res["n"].dtype == df["n"].dtype and res["n"].dtype.kind == "i"


def test_cli_escalc_missing_n_count_warning_and_integer_column(tmp_path, capsys):
    src = tmp_path / "r4.csv"
    src.write_text("study,r,n\nA,-0.22,124\nB,0.3,50\nD,0.1,\nE,0.2,30\n")
    out = tmp_path / "out.csv"
    code = main(["escalc", "R2D", str(src), "--ri", "r", "--ni", "n", "--slab", "study", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0
    assert "study 'D' (row 3): column 'n'" in err  # the warning reaches the user
    said = stdout + err
    assert "for 3 of 4 studies" in said and "1 study has no effect size" in said
    text = out.read_text().splitlines()
    assert text[1].startswith("A,-0.22,124,") and text[3].startswith("D,0.1,,")  # 124, not 124.0
    # to standard output: the same count
    code = main(["escalc", "R2D", str(src), "--ri", "r", "--ni", "n", "--slab", "study"])
    stdout, err = capsys.readouterr()
    assert code == 0 and "for 3 of 4 studies" in err and "column 'n'" in err
    assert "\nA,-0.22,124," in stdout


def test_cli_escalc_non_integer_n_is_an_error(tmp_path, capsys):
    src = tmp_path / "r5.csv"
    src.write_text("study,r,n\nA,-0.22,124\nE,0.2,1.5\n")
    code = main(["escalc", "R2D", str(src), "--ri", "r", "--ni", "n", "--slab", "study"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "column 'n'" in err and "study 'E' (row 2) has n = 1.5" in err


# ---------------------------------------------------------------------------
# item 6: the mu prior behind bf10_effect

Y3, V3 = [0.1, 0.35, 0.2], [0.02, 0.03, 0.05]


def test_repr_names_the_single_mu_prior_of_the_bayes_factors():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD",
                            tau_priors={"HN(0.5)": "halfnormal(0.5)", "HC(0.5)": "halfcauchy(0.5)"})
    text = repr(cmp)
    assert "bf10_effect" in text
    assert "Bayes factor of mu ~ Normal(mu=0, sigma=8) against mu = 0" in text
    assert "Lindley" in text
    assert cmp.bayes_factor_note() in text
    assert (cmp.table["mu_prior"] == "Normal(mu=0, sigma=8)").all()


def test_repr_shows_the_mu_prior_column_when_several_and_bf_shrinks_with_width():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD", tau_priors={"HN": "halfnormal(0.5)"},
                            mu_priors={"N(0,1)": "normal(0, 1)", "N(0,8)": "normal(0, 8)"})
    lines = repr(cmp).splitlines()
    assert "mu_prior" in lines[1]
    assert any("Normal(mu=0, sigma=1)" in ln and ln.startswith("N(0,1)") for ln in lines)
    assert "the prior in column mu_prior" in cmp.bayes_factor_note()
    t = cmp.table
    assert t.loc["N(0,8)", "bf10_effect"] < t.loc["N(0,1)", "bf10_effect"]  # Lindley: wider, smaller BF10


def test_no_bayes_factor_no_note():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD", tau_priors={"HN": "halfnormal(0.5)"},
                            mods=[0.0, 1.0, 2.0])
    assert "bf10_effect" not in cmp.table
    assert cmp.bayes_factor_note() == ""
    assert "Bayes factor" not in repr(cmp)


def test_cli_priors_names_the_mu_prior_of_bf10(tmp_path, capsys):
    src = tmp_path / "three.csv"
    src.write_text("study,yi,vi\nA,0.1,0.02\nB,0.35,0.03\nC,0.2,0.05\n")
    code = main(["priors", str(src), "--yi", "yi", "--vi", "vi", "--measure", "SMD",
                 "--tau-prior", "halfnormal(0.5)", "--out", str(tmp_path / "pr")])
    out, err = capsys.readouterr()
    assert code == 0
    assert "bf10_effect: Bayes factor of mu ~ Normal(mu=0, sigma=8) against mu = 0" in out + err
    assert "mu_prior" in (tmp_path / "pr" / "priors.csv").read_text().splitlines()[0]


# ---------------------------------------------------------------------------
# item 11: the data-scaled default prior says so


@pytest.mark.parametrize("measure, why", [("MD", "no sample sizes for MD"), (None, "no measure and no sample sizes")])
def test_fallback_prior_label_says_scaled_from_the_data(measure, why):
    yi, vi = [1.0, 3.0, 2.5], [0.5, 0.4, 0.6]
    d = bm.priors.default_priors(measure, yi=yi, vi=vi)
    sd = float(np.std(yi, ddof=1))
    assert d["tau"].params["sigma"] == pytest.approx(sd)
    for p in d.values():
        assert "scaled from the data" in p.label and "used twice" in p.label and why in p.label
    assert f"sd(yi) = {sd:.3g}" in d["tau"].label
    assert "10 x max(sd(yi), max|yi|) = 30" in d["mu"].label
    text = bm.priors.describe(d)
    assert text.count("scaled from the data") == 2
    model = bm.MetaAnalysis(yi=yi, vi=vi, measure=measure)
    assert "scaled from the data" in model.priors["tau"].label


def test_unit_information_default_is_not_labelled_data_scaled():
    d = bm.priors.default_priors("MD", vi=[0.5, 0.4, 0.6], ni=[40, 60, 50])
    assert "scaled from the data" not in d["tau"].label
    assert "scaled from the data" not in bm.priors.default_priors("SMD")["tau"].label


def test_fallback_from_variances_only_names_them():
    d = bm.priors.default_priors(None, vi=[0.25, 0.25])
    assert "sqrt(median(vi)) = 0.5" in d["tau"].label and "10 x sqrt(median(vi)) = 5" in d["mu"].label


# ---------------------------------------------------------------------------
# item 12: leave_one_out / cumulative of a fitted model

Y4, V4, L4 = [0.1, 0.35, 0.2, 0.9], [0.02, 0.03, 0.05, 0.04], ["A", "B", "C", "D"]


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = bm.MetaAnalysis(yi=Y4, vi=V4, labels=L4, measure="SMD")
        return model, model.fit(engine="exact")


@pytest.mark.parametrize("fn", ["leave_one_out", "cumulative"])
def test_influence_of_a_fitted_posterior_equals_the_data_call(fitted, fn):
    model, post = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_post = getattr(bm, fn)(post)
        from_model = getattr(bm, fn)(model)
        from_data = getattr(bm, fn)(yi=Y4, vi=V4, labels=L4, priors=model.priors)
    pd.testing.assert_frame_equal(from_post.table, from_data.table)
    pd.testing.assert_frame_equal(from_model.table, from_data.table)
    assert list(from_post.table.index) == L4
    # the full-data row is the fitted posterior itself
    s = post.summary()
    assert from_post.full["mu_mean"] == pytest.approx(s.loc["mu", "mean"], rel=1e-6)
    assert from_post.full["k"] == 4


def test_leave_one_out_of_a_fit_keeps_its_priors_and_accepts_replacements(fitted):
    _, post = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = bm.leave_one_out(post, priors={"tau": "halfnormal(1)"})
        ref = bm.leave_one_out(yi=Y4, vi=V4, labels=L4, priors={"mu": post.spec.priors["mu"], "tau": "halfnormal(1)"})
    pd.testing.assert_frame_equal(wide.table, ref.table)


@pytest.mark.parametrize("kwargs, named", [({"vi": "vi"}, "vi"), ({"yi": [1, 2, 3, 4]}, "yi"),
                                           ({"measure": "OR"}, "measure"), ({"labels": L4}, "labels")])
def test_data_arguments_with_a_fit_are_a_type_error_saying_what_to_pass(fitted, kwargs, named):
    _, post = fitted
    with pytest.raises(TypeError, match=rf"bm.leave_one_out\(MetaPosterior\) refits that model .* so {named} "
                                        r"cannot be given with it; .*pass the data instead"):
        bm.leave_one_out(post, **kwargs)


# the same class in the conversions of bayesma.effects.convert


def test_conversion_with_a_missing_input_warns_naming_the_element():
    with pytest.warns(UserWarning, match=r"n\[0\] is missing \(NaN\)") as rec:
        d, v = bm.convert_r_to_d([0.1, 0.2], n=[np.nan, 30])
    assert rec[0].filename == __file__  # points at the caller, not at bayesma
    assert np.isnan(v[0]) and np.isfinite(v[1])
    with pytest.warns(UserWarning, match=r"r\[1\] is missing"):
        bm.convert_r_to_z([0.1, np.nan], n=[20, 30])


@pytest.mark.parametrize("call", [
    lambda: bm.convert_r_to_d([0.1, 0.2], n=[30, 1.5]),
    lambda: bm.convert_d_to_r([0.1, 0.2], [0.1, 0.1], n1=[10, 20.5], n2=[10, 20]),
    lambda: bm.convert_r_to_z(0.3, n=20.5),
])
def test_conversion_with_a_non_integer_sample_size_is_an_error(call):
    with pytest.raises(ValueError, match=r"n\d?(\[1\])? = \d+\.5: a sample size must be a whole number"):
        call()


def test_conversion_complete_input_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm.convert_r_to_d([0.1, 0.2], n=[20, 30])
