"""Shared test fixtures: where the reference values live.

Every reference file the tests read is inside the repository, in tests/data/reference
(copied from the project's shared references; its README says how each was made).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = ROOT / "tests" / "data" / "reference"


def reference_dir() -> Path:
    """tests/data/reference inside the checkout."""
    return REFERENCE_DIR


def load_json(name: str) -> dict:
    with open(REFERENCE_DIR / name) as fh:
        return json.load(fh)


def load_cases() -> list[dict]:
    return load_json("metafor_cases.json")["cases"]


def load_cases_v2() -> list[dict]:
    return load_json("metafor_cases_v2.json")["cases"]


@pytest.fixture(scope="session")
def metafor_cases() -> list[dict]:
    return load_cases()
