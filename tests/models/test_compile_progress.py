"""What a first NUTS fit shows while its model compiles: the message, the seconds elapsed, how long it took.

The compile is faked (a sleep, then the compiled model of the session's smoke fit, which has the
same structure), so no test here compiles a model family.
"""

from __future__ import annotations

import io
import threading
import time

import pytest
from _helpers import SMOKE_PRIORS, fake_slow_compile

import bayesma._progress as progress
from bayesma.cli import main
from bayesma.models import nuts, nuts_prepare
from bayesma.models.nuts import COMPILE_MESSAGE, ModelCache

pytest.importorskip("nutpie")

SLOW = 2.5  # seconds of the fake compile


def _ticker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bayesma-elapsed"]


@pytest.fixture
def slow_compile(monkeypatch, smoke_post):
    """nutpie's compile replaced by a 2.5 s sleep that hands over the smoke fit's compiled model."""
    calls = fake_slow_compile(monkeypatch, smoke_post, SLOW)
    return calls


def _still_seconds(lines: list[str]) -> list[int]:
    """The seconds of the ``  still compiling (N s)`` lines of a log."""
    head = "  still compiling ("
    return [int(line[len(head):-len(" s)")]) for line in lines if line.startswith(head)]


def _fit(smoke_ma, **kwargs):
    return nuts.sample(smoke_ma.spec, draws=10, tune=10, chains=1, seed=1, prior_draws=0, cache=ModelCache(),
                       sampler="nutpie", **kwargs)


def test_a_log_gets_the_message_a_line_per_interval_and_the_seconds(smoke_ma, slow_compile, monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOG_EVERY", 1.0)  # 10 s in a real log
    fit = _fit(smoke_ma, progressbar=True)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err  # stderr is not a terminal: no redrawing
    assert lines[0] == COMPILE_MESSAGE + " ..."
    final = next(line for line in lines if line.startswith("compiled in "))
    assert final.endswith(" s; sampling") and float(final.split()[2]) >= SLOW
    # a line per second while it lasts (normally "(1 s)" and "(2 s)"; a loaded machine may wake the
    # ticker late and miss one, never print a second twice nor more seconds than elapsed)
    still = _still_seconds(lines)
    assert still and still == sorted(set(still)) and 1 <= still[0] and still[-1] <= float(final.split()[2]), lines
    assert fit.info["compiled"] and len(slow_compile) == 1
    assert not _ticker_threads()


def test_a_terminal_gets_one_line_redrawn_with_the_seconds(smoke_ma, slow_compile, monkeypatch, capsys):
    monkeypatch.setattr(progress, "live_stream", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough for the whole message (else it is cut)
    _fit(smoke_ma, progressbar=True)
    err = capsys.readouterr().err
    frames = err.split("\r")
    assert f"{COMPILE_MESSAGE} ... 0 s" in frames[1]
    # redrawn every half second with the whole seconds (1 s and 2 s, unless a loaded machine wakes it late)
    shown = [int(f[len(COMPILE_MESSAGE) + 5:].split()[0]) for f in frames
             if f.startswith(f"{COMPILE_MESSAGE} ... ") and f[len(COMPILE_MESSAGE) + 5:].split()[0].isdigit()]
    assert shown == sorted(shown) and shown[0] == 0 and max(shown) >= 1, frames
    last = next(f for f in frames if "compiled in" in f)
    assert last.startswith(f"{COMPILE_MESSAGE} ... compiled in ") and last.endswith(" s; sampling\n")


def test_no_progressbar_prints_nothing(smoke_ma, slow_compile, capfd):
    _fit(smoke_ma, progressbar=False)
    assert capfd.readouterr().err == ""
    assert len(slow_compile) == 1


def test_a_compiled_family_says_nothing(smoke_ma, smoke_post, capsys):
    cache = ModelCache()
    cache._entries[smoke_post._cache_entry.handles.key] = smoke_post._cache_entry
    nuts.sample(smoke_ma.spec, draws=10, tune=10, chains=1, seed=1, prior_draws=0, cache=cache, progressbar=True)
    assert COMPILE_MESSAGE not in capsys.readouterr().err


def test_a_failing_compile_stops_the_line_and_raises(smoke_ma, monkeypatch, capsys):
    def broken(entry):
        time.sleep(1.2)
        raise OSError("disk full")

    monkeypatch.setattr(nuts_prepare, "_compile_nutpie", broken)
    monkeypatch.setattr(progress, "LOG_EVERY", 0.5)
    with pytest.raises(OSError, match="disk full"):
        _fit(smoke_ma, progressbar=True)
    assert not _ticker_threads()
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("failed after ")
    time.sleep(1.0)
    assert capsys.readouterr().err == ""  # nothing written once the fit has raised


def test_an_interrupt_ends_the_line_and_propagates():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt), progress.elapsed("compiling", stream=out, still="still compiling"):
        raise KeyboardInterrupt
    assert not _ticker_threads()
    assert out.getvalue().splitlines() == ["compiling ...", "interrupted after 0.0 s"]


def test_the_command_line_shows_it_on_stderr(bcg_rr, smoke_post, slow_compile, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(nuts, "MODEL_CACHE", ModelCache())  # the family is not compiled in this process
    path = tmp_path / "bcg.csv"
    bcg_rr.to_csv(path, index=False)
    code = main(["fit", str(path), "--yi", "yi", "--vi", "vi", "--labels", "trial", "--measure", "RR",
                 "--mu-prior", SMOKE_PRIORS["mu"], "--tau-prior", SMOKE_PRIORS["tau"], "--engine", "nuts",
                 "--draws", "20", "--tune", "20", "--chains", "1", "--out", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr()
    assert COMPILE_MESSAGE not in out.out
    err = out.err.splitlines()  # stderr is not a terminal here: the lines of a log, no carriage returns
    assert f"{COMPILE_MESSAGE} ..." in err and any(line.startswith("compiled in ") for line in err)
    assert "\r" not in out.err
    assert len(slow_compile) == 1


def test_pymcs_sampler_shows_it_too(bcg_rr, monkeypatch, capsys):
    import pymc as pm

    import bayesma as bm

    real = pm.NUTS

    def slow_step(*args, **kwargs):  # PyMC's NUTS step compiles the log density and its gradient
        time.sleep(SLOW)
        return real(*args, **kwargs)

    monkeypatch.setattr(pm, "NUTS", slow_step)
    monkeypatch.setattr(progress, "LOG_EVERY", 1.0)
    # the common-effect model of 4 studies: PyMC compiles its one-parameter graph quickly (as the fallback test)
    spec = bm.MetaAnalysis(bcg_rr.iloc[:4], model="common", priors={"mu": "normal(0, 1)"}).spec
    fit = nuts.sample(spec, draws=10, tune=10, chains=1, cores=1, seed=1, prior_draws=0, cache=ModelCache(),
                      sampler="pymc", progressbar=True)
    lines = capsys.readouterr().err.splitlines()
    still = _still_seconds(lines)
    assert lines[0] == COMPILE_MESSAGE + " ..." and max(still, default=0) >= 2, lines  # 2.5 s + the compile
    assert any(line.startswith("compiled in ") and line.endswith("; sampling") for line in lines)
    assert fit.info["sampler"] == "pymc" and fit.entry.compiles["pymc"] == 1


def test_a_stream_that_is_not_there_shows_nothing(monkeypatch):
    monkeypatch.setattr("sys.stderr", None)  # pythonw
    with progress.elapsed("compiling") as ticker:
        assert ticker is None
