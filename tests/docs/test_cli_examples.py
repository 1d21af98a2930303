"""The command lines of the documentation run: every ``bayesma ...`` line of a ``bash``/``console``
block in README.md and docs/*.rst, page by page in order (a page's later lines read the files its
earlier ones wrote), in a temporary directory holding the files the pages name, made from the
bundled example data. Each must exit with 0 and produce its output (``--out``, or the command's
default directory). docs/cli.rst's synopsis lists every subcommand, and docs/getting_started.rst
quotes the paragraph the demo writes now."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import build_parser, main

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.rst"))]
ALLIANCE = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"

_MD_BLOCK = re.compile(r"```(?:bash|console|sh|shell)\n(.*?)```", re.S)
_RST_BLOCK = re.compile(r"^(\s*)\.\. code-block:: (?:bash|console|sh|shell)\s*$")


def _rst_blocks(text: str) -> list[str]:
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        m = _RST_BLOCK.match(lines[i])
        i += 1
        if not m:
            continue
        indent, body = len(m.group(1)), []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        out.append("\n".join(body))
    return out


def command_lines(page: Path) -> list[str]:
    """The ``bayesma ...`` lines of a page's shell blocks, continuation lines joined, ``$ `` prompts dropped."""
    text = page.read_text(encoding="utf-8")
    blocks = _MD_BLOCK.findall(text) if page.suffix == ".md" else _rst_blocks(text)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("bayesma "):
                lines.append(line)
    return lines


PAGES_WITH_COMMANDS = [p for p in PAGES if command_lines(p)]


def _write_inputs(where: Path) -> None:
    """The files the pages name, from the bundled data (the pages' own column names)."""
    alliance = pd.read_csv(ALLIANCE)
    alliance.to_csv(where / "data.csv", index=False)  # README: r, n per study and outcome
    alliance.to_csv(where / "alliance.csv", index=False)
    effects = bm.escalc("R2D", ri="r", ni="n", data=alliance)
    effects.to_csv(where / "effects.csv", index=False)
    bcg = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    studies = pd.DataFrame({"study": bcg["author"] + " " + bcg["year"].astype(str), "yi": bcg["yi"],
                            "vi": bcg["vi"], "g": bcg["yi"], "v": bcg["vi"], "setting": bcg["alloc"]})
    studies.to_csv(where / "studies.csv", index=False)
    normand = bm.load_dataset("dat.normand1999")
    raw = pd.DataFrame({"study": normand["source"] + " " + normand["study"].astype(str),
                        "m_t": normand["m1i"], "sd_t": normand["sd1i"], "n_t": normand["n1i"],
                        "m_c": normand["m2i"], "sd_c": normand["sd2i"], "n_c": normand["n2i"]})
    raw.to_csv(where / "raw.csv", index=False)
    mixed = raw.rename(columns={"m_t": "m1", "sd_t": "sd1", "n_t": "n1", "m_c": "m2", "sd_c": "sd2", "n_c": "n2"})
    mixed["r"], mixed["n"] = np.nan, np.nan
    extra = alliance[alliance["outcome"] == "recidivism"][["study", "r", "n"]]
    pd.concat([mixed, extra], ignore_index=True).to_csv(where / "mixed.csv", index=False)
    misconduct = effects[effects["outcome"] == "misconduct"]
    misconduct.rename(columns={"yi": "d", "vi": "var_d"})[["study", "d", "var_d"]].to_csv(
        where / "misconduct.csv", index=False)
    three = effects[effects["outcome"] == "misconduct"][["study", "yi", "vi"]]
    three.to_csv(where / "three_studies.csv", index=False)


def _produced(argv: list[str]) -> Path | None:
    """The file or directory a command line writes (None: standard output)."""
    if "--out" in argv:
        return Path(argv[argv.index("--out") + 1])
    if argv[0] == "demo":
        return Path("bayesma-demo")
    if argv[0] in ("escalc", "warmup"):
        return None
    return Path("bayesma-out")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """page -> [(line, exit code, stderr, output path)], each page run once in its own directory."""
    import os

    done: dict[str, tuple[Path, list]] = {}

    def run(page: Path, capsys) -> tuple[Path, list]:
        if page.name in done:
            return done[page.name]
        where = tmp_path_factory.mktemp(page.stem)
        _write_inputs(where)
        results = []
        old = Path.cwd()
        os.chdir(where)
        try:
            for line in command_lines(page):
                argv = shlex.split(line, comments=True)[1:]
                code = main(argv)
                err = capsys.readouterr().err
                out = _produced(argv)
                results.append((line, code, err, None if out is None else where / out))
        finally:
            os.chdir(old)
        done[page.name] = (where, results)
        return done[page.name]

    return run


@pytest.mark.parametrize("page", PAGES_WITH_COMMANDS, ids=lambda p: p.name)
def test_every_command_line_of_the_docs_runs(page, runs, capsys):
    _, results = runs(page, capsys)
    assert results
    for line, code, err, out in results:
        assert code == 0, f"{page.name}: {line}\n{err[-2000:]}"
        if out is not None:
            assert out.exists(), f"{page.name}: {line} wrote nothing at {out}"
            if out.is_dir():
                assert any(out.iterdir()), f"{page.name}: {line}: {out} is empty"


def test_the_pages_have_command_lines():
    """The extraction finds the documented workflow (README's six lines, cli.rst's examples)."""
    readme = command_lines(ROOT / "README.md")
    assert len(readme) >= 6 and readme[0].startswith("bayesma escalc R2D")
    assert {line.split()[1] for line in command_lines(DOCS / "cli.rst")} >= {
        "fit", "rma", "subgroup", "escalc", "bias", "robma", "mv"}


def test_cli_synopsis_lists_every_subcommand():
    text = (DOCS / "cli.rst").read_text(encoding="utf-8")
    synopsis = text.split(".. code-block:: text", 1)[1].split("\n\n", 2)[1]
    listed = set(re.findall(r"^\s*bayesma (\w+)", synopsis, re.M))
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    assert listed == set(sub.choices), f"missing from the synopsis: {set(sub.choices) - listed}"
    for name in sub.choices:  # and each has its own section
        assert f"``bayesma {name}``\n" in text, name


def _normalise(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"bayesma \S+ \(PyMC [^)]*\)", "bayesma VERSION", text)


def test_getting_started_quotes_the_demo_paragraph(runs, capsys):
    where, results = runs(DOCS / "getting_started.rst", capsys)
    assert any(line == "bayesma demo" and code == 0 for line, code, _, _ in results)
    report = (where / "bayesma-demo" / "report.md").read_text(encoding="utf-8")
    paragraph = report.split("\n\n")[1]
    page = (DOCS / "getting_started.rst").read_text(encoding="utf-8")
    quote = page.split("for\nthe demo data it reads:\n\n", 1)[1].split("\n\n", 1)[0]
    quoted = _normalise(quote)
    assert quoted.endswith("(...)")
    assert _normalise(paragraph).startswith(quoted[: -len("(...)")].rstrip()), (quoted, paragraph)
