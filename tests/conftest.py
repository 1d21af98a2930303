"""Shared test fixtures: where the reference values live."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    """../shared/reference beside the checkout (override with BAYESMA_REFERENCE_DIR)."""
    env = os.environ.get("BAYESMA_REFERENCE_DIR")
    if env:
        return Path(env)
    for candidate in (ROOT.parent / "shared" / "reference", ROOT / "shared" / "reference"):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "reference"


def load_cases() -> list[dict]:
    path = reference_dir() / "metafor_cases.json"
    with open(path) as fh:
        return json.load(fh)["cases"]


@pytest.fixture(scope="session")
def metafor_cases() -> list[dict]:
    return load_cases()
