"""An option the command cannot use is an error naming what to do, never silently ignored: ``--tune`` with
an engine that does not tune, ``--steps`` with only the beta selection model, ``--struct`` with ``--che``.
Exit 2, one line, no output directory."""

from __future__ import annotations

import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


@pytest.fixture(scope="module")
def effects(tmp_path_factory):
    path = tmp_path_factory.mktemp("ignored") / "effects.csv"
    bm.escalc("R2D", ri="r", ni="n", data=pd.read_csv(CSV)).to_csv(path, index=False)
    return path


DROPOUT = ["--subset", "outcome == 'dropout'"]


@pytest.mark.parametrize("argv, words", [
    (["fit", "--labels", "study", *DROPOUT, "--engine", "exact", "--tune", "500"], "the exact engine does not tune"),
    (["fit", "--labels", "study", *DROPOUT, "--tune", "500"], "(chosen by --engine auto) does not tune"),
    (["fit", "--labels", "study", "--by", "outcome", "--tune", "500"], "give --engine nuts"),
    (["bias", "--labels", "study", *DROPOUT, "--type", "beta", "--steps", "0.05"], "beta selection model has no cut"),
    (["mv", "--cluster", "study", "--che", "--struct", "HCS"], "--struct HCS is the structure of the multivariate"),
])
def test_an_option_the_command_cannot_use_is_an_error(argv, words, effects, tmp_path, capsys):
    code = main([argv[0], str(effects), "--yi", "yi", "--vi", "vi", *argv[1:], "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_mv_without_struct_is_compound_symmetry(effects, tmp_path, capsys):
    code = main(["mv", str(effects), "--yi", "yi", "--vi", "vi", "--cluster", "study", "--outcome", "outcome",
                 "--out", str(tmp_path / "mv")])
    out = capsys.readouterr().out
    assert code == 0 and "(struct = CS)" in out.replace("\n  ", " ")
