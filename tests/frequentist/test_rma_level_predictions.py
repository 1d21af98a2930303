"""Predictions per level of a categorical moderator (rma with mods="~ factor"), and the forest plot of a
model with moderators: one summary per level, or none with a continuous moderator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_cases
from scipy import stats

import bayesma as bm
from bayesma.errors import InputError


@pytest.fixture(scope="module")
def alloc_case():
    case = next(c for c in load_cases() if c["name"] == "bcg_subgroup_alloc_FE")
    return pd.DataFrame(case["input"]), case["expect"]


def test_common_effect_levels_are_the_inverse_variance_means_of_each_level(alloc_case):
    df, _ = alloc_case
    res = bm.rma("yi", "vi", data=df, mods="~ factor(alloc)", method="FE")
    table = res.level_predictions()
    assert table.index.tolist() == ["alloc = alternate", "alloc = random", "alloc = systematic"]
    z = stats.norm.ppf(0.975)
    for level, r in table.iterrows():
        part = df[df["alloc"] == level.split(" = ")[1]]
        w = 1 / part["vi"].to_numpy()
        mean, se = float(np.sum(w * part["yi"]) / w.sum()), float(1 / np.sqrt(w.sum()))
        assert r["k"] == len(part)
        np.testing.assert_allclose([r["pred"], r["se"], r["ci_lb"], r["ci_ub"]],
                                   [mean, se, mean - z * se, mean + z * se], rtol=1e-9)


def test_reference_level_is_metafors_intercept(alloc_case):
    df, expect = alloc_case
    res = bm.rma("yi", "vi", data=df, mods="~ factor(alloc)", method="FE")
    first = res.level_predictions().iloc[0]
    np.testing.assert_allclose([first["pred"], first["ci_lb"], first["ci_ub"]],
                               [expect["beta"][0], expect["ci_lb"][0], expect["ci_ub"][0]], rtol=1e-6)


def test_random_effects_levels_are_predict_at_each_levels_design_row(alloc_case):
    df, _ = alloc_case
    res = bm.rma("yi", "vi", data=df, mods="~ alloc")
    table = res.level_predictions()
    by_newmods = res.predict(newmods=[[0, 0], [1, 0], [0, 1]])
    np.testing.assert_allclose(table[by_newmods.columns].to_numpy(), by_newmods.to_numpy(), rtol=1e-12)
    assert table["k"].tolist() == [2, 7, 4]
    assert (table["pi_ub"] - table["pi_lb"] > table["ci_ub"] - table["ci_lb"]).all()  # tau² > 0 widens


def test_continuous_or_no_moderator_is_refused_with_a_pointer(alloc_case):
    df, _ = alloc_case
    df = df.assign(x=np.arange(len(df), dtype=float))
    with pytest.raises(InputError, match=r"predict\(newmods=...\)"):
        bm.rma("yi", "vi", data=df, mods="~ x").level_predictions()
    with pytest.raises(InputError, match=r"predict\(newmods=...\)"):
        bm.rma("yi", "vi", data=df, mods="~ alloc + x").level_predictions()
    with pytest.raises(InputError):
        bm.rma("yi", "vi", data=df).level_predictions()


def test_forest_draws_one_diamond_per_level_or_none(alloc_case):
    from _helpers import _texts, assert_readable
    from matplotlib.patches import Polygon

    df, _ = alloc_case
    df = df.assign(label=[f"Trial {i + 1}" for i in range(len(df))], x=np.arange(len(df), dtype=float))
    res = bm.rma("yi", "vi", data=df, mods="~ alloc", labels="label")
    table = res.level_predictions()
    fig = res.forest()
    ax = fig.axes[0]
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == 3
    np.testing.assert_allclose(sorted(d.get_xy()[:, 0].min() for d in diamonds), sorted(table["ci_lb"]))
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    for level in table.index:  # each level's header, then its studies, then its diamond
        start = ylabels.index(level)
        members = df["label"][df["alloc"] == level.split(" = ")[1]].tolist()
        assert ylabels[start + 1:start + 1 + len(members)] == members
        assert ylabels[start + 1 + len(members)].startswith(f"Predicted: {level} (k = {len(members)})")
    texts = [t.get_text() for t in _texts(fig)]
    assert any(t.startswith("Test of moderators: QM(2) = ") for t in texts)
    assert_readable(fig, "forest by level")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = bm.rma("yi", "vi", data=df, mods="~ x", labels="label").forest()
    assert not [p for p in fig.axes[0].patches if isinstance(p, Polygon)]  # no single pooled estimate
    assert any("no single pooled estimate; see res.predict(newmods=...)" in t.get_text() for t in _texts(fig))
    assert_readable(fig, "forest with a continuous moderator")


def test_three_level_levels_equal_the_cell_means_parametrisation():
    d = bm.load_dataset("dat.assink2016")
    d["outcome"] = np.array(["dropout", "misconduct", "recidivism"])[d["esid"].to_numpy() % 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma_mv("yi", "vi", data=d, cluster="study", mods="~ outcome")
        cell_means = bm.rma_mv("yi", "vi", data=d, cluster="study", mods="~ 0 + outcome")
    table = res.level_predictions()
    assert table.index.tolist() == ["outcome = dropout", "outcome = misconduct", "outcome = recidivism"]
    assert table["k"].tolist() == d["outcome"].value_counts().sort_index().tolist()
    # REML is invariant to the parametrisation: each level's mean is the other fit's coefficient
    np.testing.assert_allclose(table["pred"], cell_means.beta, rtol=1e-4)
    np.testing.assert_allclose(table["se"], cell_means.se, rtol=1e-4)
    np.testing.assert_allclose(table[["pi_lb", "pi_ub"]].to_numpy(),
                               cell_means.predict(np.eye(3))[["pi_lb", "pi_ub"]].to_numpy(), rtol=1e-4)
    with pytest.raises(InputError, match=r"predict\(newmods=...\)"):
        bm.rma_mv("yi", "vi", data=d.assign(x=np.arange(len(d), dtype=float)), cluster="study",
                  mods="~ x").level_predictions()
