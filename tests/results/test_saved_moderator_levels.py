"""A saved meta-regression with a categorical moderator reads back with its levels' names: the file
keeps the moderator columns of the data (not the user's other columns), so ``level_predictions`` and
the printout say ``grp = a`` after loading as before (they said ``reference`` and ``grpb``)."""

from __future__ import annotations

import pandas as pd

import bayesma as bm


def _data() -> pd.DataFrame:
    return pd.DataFrame({"yi": [0.10, 0.35, 0.20, 0.90, 0.05, 0.40, 0.30, 0.15],
                         "vi": [0.02, 0.03, 0.05, 0.04, 0.03, 0.02, 0.06, 0.04],
                         "grp": ["a", "b"] * 4,
                         "when": pd.date_range("2001-01-01", periods=8, freq="YS"),
                         "note": ["private"] * 8})


def test_level_names_survive_save_and_load(tmp_path):
    post = bm.MetaAnalysis(_data(), "yi", "vi", mods="~ grp").fit(engine="exact", seed=6, draws=500, chains=2)
    path = post.to_netcdf(str(tmp_path / "fit.nc"))
    back = bm.load_posterior(path)
    pd.testing.assert_frame_equal(back.level_predictions(), post.level_predictions())
    assert list(back.level_predictions().index) == ["grp = a", "grp = b"]
    assert repr(back) == repr(post)
    kept = back.spec.meta.data
    assert list(kept.columns) == ["grp"]  # the moderator, not the user's other columns


def test_a_model_without_moderators_saves_no_columns(tmp_path):
    post = bm.MetaAnalysis(_data(), "yi", "vi").fit(engine="exact", seed=6, draws=500, chains=2)
    back = bm.load_posterior(post.to_netcdf(str(tmp_path / "fit.nc")))
    assert list(back.spec.meta.data.columns) == []
    pd.testing.assert_frame_equal(back.summary(), post.summary())
