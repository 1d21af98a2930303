"""The Python examples of the documentation pages (docs/*.rst) run, page by page.

Every ``.. code-block:: python`` of a page runs in order in one namespace (a page's later
blocks use what its earlier ones made), in a temporary working directory, with matplotlib's
Agg backend. Two rst comments, invisible in the built pages, steer it:

- ``.. example-setup:`` followed by an indented block: code run first (data for sketches
  that show only the interesting part, e.g. the PyMC transcriptions of docs/models.rst);
- ``.. example-not-run: <reason>`` just before a code block: the block is not run (it needs
  a cluster, or hours of computing); the reason is required.

The pages' ``>>>`` examples (``pycon`` blocks, ``.. doctest::``) then run as doctests, with their
printed output compared. Pages that fit with NUTS at full length or run RoBMA's ensemble are in
the slow tier.
"""

from __future__ import annotations

import doctest
import re
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(p for p in DOCS.glob("*.rst"))
#: pages whose examples take more than a few seconds (full NUTS fits, RoBMA's ensemble)
SLOW = {"fitting", "robma", "many_analyses"}

_DIRECTIVE = re.compile(r"^\.\. code-block:: python\s*$")
_SETUP = re.compile(r"^\.\. example-setup:\s*$")
_NOT_RUN = re.compile(r"^\.\. example-not-run:\s*(\S.*)$")


def _indented(lines: list[str], start: int) -> tuple[str, int]:
    """The indented block that starts after line *start* (options and blank lines skipped)."""
    i = start + 1
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith(":")):
        i += 1
    body = []
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
        body.append(lines[i])
        i += 1
    return textwrap.dedent("\n".join(body)).strip("\n") + "\n", i


def examples(text: str) -> list[tuple[int, str, str | None]]:
    """``(line, code, reason_not_run)`` of every setup comment and Python block, in page order."""
    lines = text.splitlines()
    out: list[tuple[int, str, str | None]] = []
    skip: str | None = None
    for i, line in enumerate(lines):
        if m := _NOT_RUN.match(line):
            skip = m.group(1)
        elif _SETUP.match(line) or _DIRECTIVE.match(line):
            code, _ = _indented(lines, i)
            out.append((i + 1, code, skip if _DIRECTIVE.match(line) else None))
            skip = None
    return out


def test_the_markers_are_read():
    text = ".. example-setup:\n\n   x = 1\n\n.. example-not-run: needs a cluster\n\n.. code-block:: python\n\n   y\n"
    assert examples(text) == [(1, "x = 1\n", None), (7, "y\n", "needs a cluster")]


@pytest.mark.parametrize("page", [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in SLOW else [])
                                  for p in PAGES if examples(p.read_text())])
def test_page_examples_run(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    failures: list[str] = []
    text = page.read_text()
    try:
        for line, code, reason in examples(text):
            if reason is None:
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)  # noqa: S102
        test = doctest.DocTestParser().get_doctest(text, {"__name__": page.stem}, page.name, str(page), 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        runner.run(test, out=lambda text: failures.append(text))
    finally:
        plt.close("all")
    assert not runner.failures, "\n".join(failures)
