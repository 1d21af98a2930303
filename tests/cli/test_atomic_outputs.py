"""Every subcommand writes its files all or nothing: a run that fails -- while computing, while drawing,
or while moving the files into place -- leaves no partial output, and files already in ``--out`` are
kept as they were. Each failure is one line with exit code 2 (a file that cannot be written) or 1."""

from __future__ import annotations

from pathlib import Path

import matplotlib.figure
import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main, outputs

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


@pytest.fixture(scope="module")
def effects(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "effects.csv"
    es = bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV))
    es["esid"] = range(1, len(es) + 1)
    es.to_csv(path, index=False)
    return path


REC = ["--subset", "outcome == 'recidivism'"]
COMMANDS = {
    "fit": ["fit", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", *REC],
    "fit --by": ["fit", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome"],
    "rma": ["rma", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "outcome"],
    "subgroup": ["subgroup", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", "--by", "rater", *REC],
    "bias": ["bias", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", *REC],
    "robma": ["robma", "{f}", "--yi", "yi", "--vi", "vi", "--ensemble", "none", *REC],
    "mv": ["mv", "{f}", "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome", "--rho", "0.5"],
    "priors": ["priors", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", *REC],
    "smallk": ["smallk", "{f}", "--yi", "yi", "--vi", "vi", "--labels", "study", "--k", "2,3", "--n-sim", "10", *REC],
}


def _argv(name: str, effects: Path, out: Path) -> list[str]:
    return [a.replace("{f}", str(effects)) for a in COMMANDS[name]] + ["--out", str(out)]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_failure_while_drawing_leaves_no_output(name, effects, tmp_path, capsys, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    out = tmp_path / "out" / "nested"
    code = main(_argv(name, effects, out))
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("bayesma: error:")]  # (progress is on stderr too)
    assert len(errors) == 1 and "No space left on device" in errors[0]
    assert not (tmp_path / "out").exists()  # not even the parent it would have created
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary directory left behind


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_failure_while_moving_into_place_keeps_the_old_files(name, effects, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    code = main(_argv(name, effects, out))  # a first run fills the directory
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    for path in out.iterdir():
        if path.is_file():
            path.write_text("old " + path.name)
    before = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    calls = {"n": 0}
    real = outputs._move

    def fail_third(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise PermissionError(13, "Permission denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(outputs, "_move", fail_third)
    code = main(_argv(name, effects, out))
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("bayesma: error:")]
    assert code == 2 and len(errors) == 1 and "Permission denied" in errors[0]
    after = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    assert after == before  # every file as it was: the moved ones taken back
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no staging or backup directory left


def test_escalc_out_failure_leaves_no_file(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    out = tmp_path / "dir" / "es.csv"
    code = main(["escalc", "R2D", str(CSV), "--ri", "r", "--ni", "n", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err
    assert not (tmp_path / "dir").exists() and list(tmp_path.iterdir()) == []
