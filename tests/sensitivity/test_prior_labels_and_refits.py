"""The prior behind compare_priors' Bayes factors is named; a data-scaled default prior says so;
leave_one_out and cumulative of a fitted posterior keep its priors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.cli import main

# ---------------------------------------------------------------------------
# item 6: the mu prior behind bf10_effect

Y3, V3 = [0.1, 0.35, 0.2], [0.02, 0.03, 0.05]


def test_repr_names_the_single_mu_prior_of_the_bayes_factors():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD",
                            tau_priors={"HN(0.5)": "halfnormal(0.5)", "HC(0.5)": "halfcauchy(0.5)"}, seed=1)
    text = repr(cmp)
    assert "bf10_effect" in text
    assert "Bayes factor of mu ~ Normal(mu=0, sigma=8) against mu = 0" in text
    assert "Lindley" in text
    assert cmp.bayes_factor_note() in " ".join(text.split())  # the note wrapped at 100 columns
    assert (cmp.table["mu_prior"] == "Normal(mu=0, sigma=8)").all()


def test_repr_shows_the_mu_prior_column_when_several_and_bf_shrinks_with_width():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD", tau_priors={"HN": "halfnormal(0.5)"},
                            mu_priors={"N(0,1)": "normal(0, 1)", "N(0,8)": "normal(0, 8)"}, seed=1)
    lines = repr(cmp).splitlines()
    assert "mu_prior" in lines[1]
    assert any("Normal(mu=0, sigma=1)" in ln and ln.startswith("N(0,1)") for ln in lines)
    assert "the prior in column mu_prior" in cmp.bayes_factor_note()
    t = cmp.table
    assert t.loc["N(0,8)", "bf10_effect"] < t.loc["N(0,1)", "bf10_effect"]  # Lindley: wider, smaller BF10


def test_no_bayes_factor_no_note():
    cmp = bm.compare_priors(yi=Y3, vi=V3, measure="SMD", tau_priors={"HN": "halfnormal(0.5)"},
                            mods=[0.0, 1.0, 2.0], seed=1)
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
        return model, model.fit(engine="exact", seed=1)


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
        wide = bm.leave_one_out(post, priors={"tau": "halfnormal(1)"}, seed=1)
        ref = bm.leave_one_out(yi=Y4, vi=V4, labels=L4, priors={"mu": post.spec.priors["mu"], "tau": "halfnormal(1)"},
                               seed=1)
    pd.testing.assert_frame_equal(wide.table, ref.table)


@pytest.mark.parametrize("kwargs, named", [({"vi": "vi"}, "vi"), ({"yi": [1, 2, 3, 4]}, "yi"),
                                           ({"measure": "OR"}, "measure"), ({"labels": L4}, "labels")])
def test_data_arguments_with_a_fit_are_a_type_error_saying_what_to_pass(fitted, kwargs, named):
    _, post = fitted
    with pytest.raises(TypeError, match=rf"bm.leave_one_out\(MetaPosterior\) refits that model .* so {named} "
                                        r"cannot be given with it; .*pass the data instead"):
        bm.leave_one_out(post, **kwargs)


