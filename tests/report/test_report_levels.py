"""The report of a model with categorical moderators predicts per level, never at a mean that mixes them."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm
from bayesma.report.tables import num


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def test_report_gives_each_level_its_mean_and_new_study_interval(bcg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(bcg, mods="~ alloc").fit(engine="exact", seed=1)
        report = post.report()
    assert "mean moderator values" not in report
    levels = post.level_predictions()
    for label, row in levels.iterrows():
        expected = (f"{label} (k = {int(row['k'])}): {num(row['median'])} [{num(row['eti_lower'])}, "
                    f"{num(row['eti_upper'])}], new study [{num(row['pi_lower'])}, {num(row['pi_upper'])}]")
        assert expected in report
    assert "| theta_new |" not in report


def test_report_of_a_continuous_moderator_keeps_the_mean_moderator_prediction(bcg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = bm.MetaAnalysis(bcg, mods="~ ablat").fit(engine="exact", seed=1).report()
    assert "a new study at the mean moderator values" in report
    assert "By level of the moderators" not in report
