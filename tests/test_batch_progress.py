"""What fit_many(engine="nuts") shows: one compile line for the model family, before its own progress bar,
and no compile line or sampler bar per meta-analysis under that bar.

The compile is faked (a sleep, then the compiled model of the session's smoke fit, which has the same
structure), so no test here compiles a model family.
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from _helpers import SMOKE_PRIORS, fake_slow_compile

import bayesma as bm
import bayesma._progress as progress
import bayesma._tasks as tasks
from bayesma.models import nuts
from bayesma.models.nuts import COMPILE_MESSAGE, ModelCache

pytest.importorskip("nutpie")


@pytest.fixture
def slow_compile(monkeypatch, smoke_post):
    """nutpie's compile replaced by a 1.2 s sleep that hands over the smoke fit's compiled model."""
    calls = fake_slow_compile(monkeypatch, smoke_post, 1.2)
    monkeypatch.setattr(nuts, "MODEL_CACHE", ModelCache())  # the family is not compiled in this process
    return calls


class _Bar:
    """fit_many's progress bar, writing when it starts and ends (tqdm draws after a second)."""

    def __init__(self, total, desc, enabled=None, unit="task"):
        self.on = bool(enabled) and total > 0
        if self.on:
            sys.stderr.write(f"[bar of {total}]\n")

    def step(self, n=1):
        pass

    def close(self):
        if self.on:
            sys.stderr.write("[bar closed]\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def three_copies(bcg_rr) -> pd.DataFrame:
    return pd.concat([bcg_rr.assign(copy=c) for c in "abc"], ignore_index=True)


def _fit_many(data, shown):
    return bm.fit_many(data, by="copy", labels="trial", measure="RR", priors=SMOKE_PRIORS, engine="nuts", draws=10,
                       tune=10, chains=2, seed=1, progress=shown)


@pytest.mark.parametrize("terminal", [False, True])
def test_one_compile_line_before_the_bar_and_none_under_it(three_copies, slow_compile, monkeypatch, capfd, terminal):
    monkeypatch.setattr(tasks, "Progress", _Bar)
    if terminal:  # the line redrawn in place; the samplers would draw their own bars there
        monkeypatch.setattr(progress, "live_stream", lambda stream: True)
    many = _fit_many(three_copies, shown=True)
    err = capfd.readouterr().err
    assert many.errors.empty and len(slow_compile) == 1
    bar = err.index("[bar of 2]")
    assert err.count("compiled in ") == 1 and COMPILE_MESSAGE not in err[bar:]
    assert err.index(COMPILE_MESSAGE) < err.index("compiled in ") < bar
    assert ("\r" in err) is terminal
    after = err[err.index("[bar of 2]"):]
    assert after.strip() == "[bar of 2]\n[bar closed]".strip()  # nothing of the groups' own under the bar


def test_without_progress_nothing_is_written(three_copies, slow_compile, monkeypatch, capfd):
    monkeypatch.setattr(tasks, "Progress", _Bar)
    _fit_many(three_copies, shown=False)
    assert capfd.readouterr().err == ""
    assert len(slow_compile) == 1


def test_the_first_group_fitted_before_the_bar_gives_the_same_draws(three_copies, slow_compile, capfd):
    shown = _fit_many(three_copies, shown=True)
    quiet = _fit_many(three_copies, shown=False)
    pd.testing.assert_frame_equal(shown.table, quiet.table)
