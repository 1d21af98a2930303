"""Bayesian predictions at moderator values and per level of a categorical moderator: the printout shows
one prediction per level instead of theta_new at the mean moderators, and the forest plot draws one
summary per level (or none with a continuous moderator)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayesma as bm
from bayesma.errors import InputError

WIDE = {"mu": "normal(0, 10)", "beta": "normal(0, 10)", "tau": "halfnormal(0.5)"}


def _fit(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(data, **kw).fit(engine="exact", seed=1)


@pytest.fixture(scope="module")
def bcg():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    dat["label"] = dat["author"] + " " + dat["year"].astype(str)
    return dat


@pytest.fixture(scope="module")
def by_alloc(bcg):
    return _fit(bcg, mods="~ alloc", priors=WIDE, labels="label")


def test_predict_at_the_mean_row_is_the_exact_pooled_effect_and_theta_new(bcg):
    post = _fit(bcg, mods="~ ablat", priors=WIDE)
    row = post.predict(design=post.spec.x_new).iloc[0]
    for (lo, hi), name in ((("eti_lower", "eti_upper"), "pooled"), (("pi_lower", "pi_upper"), "theta_new")):
        m, a, b = post.interval(name)  # the exact engine's mixture quantiles
        sd = post.summary().loc["theta_new", "sd"] if name == "theta_new" else (b - a) / 3.92
        assert abs(row[lo] - a) < 0.1 * sd and abs(row[hi] - b) < 0.1 * sd, name
    assert abs(row["median"] - post.interval("pooled")[0]) < 0.05 * sd
    one = post.predict(42.0)
    np.testing.assert_allclose(one.to_numpy(), post.predict(design=[[1.0, 42.0]]).to_numpy())
    assert post.predict([10, 30, 50]).shape == (3, 5)
    with pytest.raises(InputError, match="column"):
        post.predict([[1, 2]])


def test_each_level_agrees_with_the_exact_cell_mean_of_the_cell_means_model(bcg, by_alloc):
    cell_means = _fit(bcg, mods="~ 0 + alloc", priors=WIDE, labels="label")
    table = by_alloc.level_predictions()
    assert table.index.tolist() == ["alloc = alternate", "alloc = random", "alloc = systematic"]
    assert table["k"].tolist() == [2, 7, 4]
    for name, coef in zip(table.index, cell_means.spec.coef_names):
        m, lo, hi = cell_means.interval(f"beta[{coef}]")  # exact, another parametrisation
        sd = cell_means.summary().loc[f"beta[{coef}]", "sd"]
        got = table.loc[name]
        assert abs(got["median"] - m) < 0.1 * sd and abs(got["eti_lower"] - lo) < 0.15 * sd \
            and abs(got["eti_upper"] - hi) < 0.15 * sd, name


def test_new_study_interval_adds_the_between_study_variance(bcg):
    d = bm.load_dataset("dat.assink2016")
    d["outcome"] = np.array(["dropout", "misconduct", "recidivism"])[d["esid"].to_numpy() % 3]
    post = _fit(d, yi="yi", vi="vi", cluster="study", mods="~ outcome")
    table = post.level_predictions()
    s = post.summary()
    # law of total variance: var(new) = var(mean) + E[tau^2 + tau_within^2]
    extra = s.loc["tau", "sd"] ** 2 + s.loc["tau", "mean"] ** 2 + s.loc["tau_within", "sd"] ** 2 \
        + s.loc["tau_within", "mean"] ** 2
    for _, r in table.iterrows():
        sd_mean = (r["eti_upper"] - r["eti_lower"]) / 3.92
        sd_new = (r["pi_upper"] - r["pi_lower"]) / 3.92
        assert sd_new == pytest.approx(np.sqrt(sd_mean**2 + extra), rel=0.08)
    text = repr(post)
    assert "theta_new" not in text  # at the mean moderators it would mix the three outcomes
    for name in table.index:
        assert name in text
    assert "per level" in text


def test_continuous_moderator_printout_and_refusal(bcg):
    post = _fit(bcg, mods="~ ablat")
    assert "theta_new" in repr(post)
    with pytest.raises(InputError, match=r"predict\(newmods=...\)"):
        post.level_predictions()
    mixed = _fit(bcg, mods="~ ablat + alloc")
    text = repr(mixed)
    assert not any(line.startswith("theta_new") for line in text.splitlines())
    assert "mixes the levels" in text and "predict(newmods=...)" in text
    with pytest.raises(InputError, match="intercept-only"):
        _fit(bcg).predict([1.0])


def test_forest_one_summary_per_level(by_alloc):
    from _helpers import assert_readable
    from matplotlib.patches import Polygon, Rectangle

    table = by_alloc.level_predictions()
    fig = by_alloc.forest()
    ax = fig.axes[0]
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0 and p.get_height() < 1]
    assert len(diamonds) == 3
    np.testing.assert_allclose(sorted(d.get_xy()[:, 0].min() for d in diamonds), sorted(table["eti_lower"]))
    np.testing.assert_allclose(sorted(b.get_x() for b in bars), sorted(table["pi_lower"]))
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Pooled effect" not in ylabels and "Prediction (new study)" in ylabels
    for name in table.index:
        assert name in ylabels
    assert_readable(fig, "Bayesian forest by level")


def test_compare_frequentist_gives_no_prediction_interval_beside_the_coefficients(by_alloc, bcg):
    table = by_alloc.compare_frequentist()
    assert table[["pi_lb", "pi_ub"]].isna().all().all()  # at the mean of alloc it would mix the levels
    continuous = _fit(bcg, mods="~ ablat").compare_frequentist()
    assert continuous[["pi_lb", "pi_ub"]].notna().all().all()
