"""The worked example of docs/models.rst ("Borrowing strength for an outcome with few studies"): its
code, run as shown, prints the table the page shows, and the prose quotes that table."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
import warnings
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "models.rst"


def _block_after(text: str, marker: str, kind: str) -> str:
    """The indented body of the first ``.. code-block:: <kind>`` at or after *marker*."""
    start = text.index(".. code-block:: " + kind, text.index(marker))
    body = []
    for line in text[start:].splitlines()[1:]:
        if line.strip() and not line.startswith(" "):
            break
        body.append(line)
    return textwrap.dedent("\n".join(body)).strip("\n")


def test_the_worked_example_prints_the_table_its_prose_quotes():
    text = PAGE.read_text()
    section = "Borrowing strength for an outcome with few studies"
    code = _block_after(text, section, "python")
    shown = _block_after(text, section, "text")
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        exec(compile("import numpy as np\nimport bayesma as bm\n" + code, "models.rst", "exec"), {})  # noqa: S102
    printed = out.getvalue().split()
    assert printed == shown.split()
    misconduct = next(line.split() for line in shown.splitlines() if line.startswith("misconduct"))
    k, jm, jl, ju, am, al, au, shift, ratio = misconduct[1:]
    prose = " ".join(text[text.index(shown.splitlines()[-1]):].split()[:80])
    assert f"from {am} [{al}, {au}] (alone, k = {k}) to {jm} [{jl}, {ju}] (joint)" in prose
    assert f"{round(100 * (1 - float(ratio)))}% narrower" in prose and re.search(r"half a posterior sd", prose)
    assert abs(float(shift)) > 0.45
