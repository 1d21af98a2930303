"""Every message of the command line names the row of the user's file (data rows from 1, the header
not counted, a blank line keeping its number), whatever part of the file the failing step saw:
``escalc --also`` (the rows split by measure), ``--subset``, ``--by`` and the library's own errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayesma.cli import main

MIXED = """study,m1,sd1,n1,m2,sd2,n2,r,n
A,1.0,1,20,0.5,1,20,,
B,,,,,,,0.3,50
C,1.2,1,30,0.4,1,30,,
D,,,,,,,0.2,40
E,,,,,,,1.5,40
"""

BLANK = "study,yi,vi,outcome\nA,0.1,0.01,x\nB,0.2,0.02,x\nC,0.3,0.01,y\n\nD,0.2,-0.02,y\nE,0.1,0.03,y\nF,0.3,0.02,x\n"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_escalc_also_names_the_file_row(tmp_path, capsys):
    path = _write(tmp_path, "mixed.csv", MIXED)
    code, _, err = _run(["escalc", "SMD", path, "--m1i", "m1", "--sd1i", "sd1", "--n1i", "n1", "--m2i", "m2",
                         "--sd2i", "sd2", "--n2i", "n2", "--also", "R2D", "--ri", "r", "--ni", "n", "--slab", "study"],
                        capsys)
    assert code == 2
    assert "study 'E' (row 5)" in err and "row 3" not in err


@pytest.mark.parametrize("argv", [
    ["fit", "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'y'"],
    ["rma", "--yi", "yi", "--vi", "vi", "--by", "outcome"],
    ["bias", "--yi", "yi", "--vi", "vi", "--subset", "outcome == 'y'"],
    ["robma", "--yi", "yi", "--vi", "vi", "--by", "outcome"],
    ["subgroup", "--yi", "yi", "--vi", "vi", "--by", "outcome"],
])
def test_subset_by_and_blank_lines_keep_the_file_row(argv, tmp_path, capsys):
    path = _write(tmp_path, "blank.csv", BLANK)
    out = tmp_path / "out"
    code, _, err = _run([argv[0], path, *argv[1:], "--out", out], capsys)
    assert code == 2, err
    assert "study 'D' (row 5)" in err, err  # line 6 of the file: the header and a blank line above it
    assert len(err.strip().splitlines()) == 1 and not out.exists()
