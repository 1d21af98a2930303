"""The examples of docs/dependent_effects.rst run and print what the page says (their numbers are
metafor's and clubSandwich's: metafor_cases_v3.json, metafor_mv_more.json, clubsandwich_bias.json)."""

from __future__ import annotations

import doctest
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "dependent_effects.rst"


def test_the_dependent_effects_page_examples_run():
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE,
                              raise_on_error=False, verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0
