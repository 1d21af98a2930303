"""leave1out / influence / baujat on a single study: a clear error naming the study and what to do."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm


@pytest.fixture
def one_study():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the k = 1 warning of rma itself
        return bm.rma([0.3], [0.02], labels=["Smith (2001)"])


@pytest.mark.parametrize("func", [bm.leave1out, bm.influence, bm.baujat], ids=["leave1out", "influence", "baujat"])
def test_k1_is_a_clear_error(one_study, func):
    with pytest.raises(ValueError) as err:
        func(one_study)
    msg = str(err.value)
    assert "k = 1 study ('Smith (2001)')" in msg
    assert "needs at least 2 studies" in msg
    assert "stopped because" not in msg


def test_k2_still_works():
    res = bm.rma([0.3, 0.1], [0.02, 0.03], method="DL")
    assert len(bm.leave1out(res).table) == 2
