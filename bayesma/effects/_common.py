"""Helpers shared by the modules of :mod:`bayesma.effects`."""

from __future__ import annotations

from typing import Any

ArrayLike = Any


def _fmt(value: float) -> str:
    return f"{value:g}"
