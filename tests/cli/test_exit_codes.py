"""The command's exit codes come from exception types: bad input 2, a failed computation 1, a bug 1 with a hint."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma.cli.errors as cli_errors
from bayesma.cli import main
from bayesma.errors import ArgumentTypeError, ConvergenceError, InputError, UnsupportedModelError


def _studies(path: Path, k: int = 8) -> Path:
    rng = np.random.default_rng(7)
    pd.DataFrame({"study": [f"S{i}" for i in range(1, k + 1)], "g": np.round(rng.normal(0.3, 0.2, k), 3),
                  "v": np.round(rng.uniform(0.02, 0.08, k), 3), "arm": ["a", "b"] * (k // 2)}).to_csv(path, index=False)
    return path


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("bayesma: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("exc, code", [
    (InputError("column 'v': study 'S1' (row 1) has a variance of -1"), 2),
    (ArgumentTypeError("seed must be an integer"), 2),
    (UnsupportedModelError("engine='exact' cannot fit this model"), 2),
    (FileNotFoundError(2, "No such file or directory", "x.csv"), 2),
    (ConvergenceError("trim-and-fill did not converge in 100 iterations"), 1),
    (ValueError("operands could not be broadcast together"), 1),
    (TypeError("object of type 'NoneType' has no len()"), 1),
    (KeyError("tau"), 1),
])
def test_exit_code_is_chosen_by_the_type_of_the_error(exc, code):
    got, line = cli_errors.exit_line(exc)
    assert got == code
    if code == 2:
        assert "internal error" not in line
    elif isinstance(exc, ConvergenceError):
        assert "did not converge" in line and "a bug in bayesma" not in line
    else:
        assert line.startswith("internal error") and "--debug" in line and "not a problem with your input" in line


def test_no_bytecode_reading_left():
    source = inspect.getsource(cli_errors)
    assert "import dis" not in source and "co_code" not in source and "tb_lasti" not in source


def test_bad_data_exits_2_with_the_study_and_column(tmp_path, capsys):
    path = _studies(tmp_path / "s.csv")
    df = pd.read_csv(path)
    df.loc[2, "v"] = -0.01
    df.to_csv(path, index=False)
    code = main(["fit", str(path), "--yi", "g", "--vi", "v", "--engine", "exact", "--out", str(tmp_path / "o")])
    line = _error_line(capsys.readouterr().err)
    assert code == 2 and "'S3' (row 3)" in line and "column 'v'" in line


def test_a_computation_that_does_not_converge_exits_1_without_calling_it_a_bug(tmp_path, capsys, monkeypatch):
    import bayesma.cli.pipeline as pipeline

    def fail(*args, **kwargs):
        raise ConvergenceError("REML did not converge in 100 iterations")

    monkeypatch.setattr(pipeline, "frequentist_fits", fail)
    path = _studies(tmp_path / "s.csv")
    code = main(["fit", str(path), "--yi", "g", "--vi", "v", "--engine", "exact", "--out", str(tmp_path / "o")])
    line = _error_line(capsys.readouterr().err)
    assert code == 1 and "did not converge" in line and "internal error" not in line


def test_exact_engine_refusal_names_the_reason_and_exits_2(tmp_path, capsys):
    path = _studies(tmp_path / "s.csv")
    code = main(["fit", str(path), "--yi", "g", "--vi", "v", "--tau-by", "arm", "--tau-prior", "halfflat()",
                 "--engine", "exact", "--out", str(tmp_path / "o")])
    line = _error_line(capsys.readouterr().err)
    assert code == 2 and "HalfFlat" in line and "one-tau model" in line and "engine" in line


def test_engine_auto_names_the_engine_and_why(tmp_path, capsys):
    path = _studies(tmp_path / "s.csv")
    code = main(["fit", str(path), "--yi", "g", "--vi", "v", "--engine", "auto", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Engine: exact" in out + err and "--engine auto" in out + err


@pytest.mark.slow
def test_engine_auto_with_tau_by_and_halfflat_samples_with_nuts(tmp_path, capsys):
    """The reproducer: auto used to pick exact here, say it 'was chosen because the model allows it', then fail."""
    path = _studies(tmp_path / "s.csv", k=12)
    code = main(["fit", str(path), "--yi", "g", "--vi", "v", "--tau-by", "arm", "--tau-prior", "halfflat()",
                 "--engine", "auto", "--draws", "300", "--tune", "300", "--chains", "2",
                 "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Engine: nuts" in out + err and "HalfFlat" in out + err
