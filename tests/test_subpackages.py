"""Every public subpackage is reachable as an attribute of ``import bayesma as bm`` (``bm.bias``,
``bm.report``, ...), imported on first use, and ``import bayesma`` alone stays cheap."""

import importlib
import pathlib
import subprocess
import sys

import pytest

import bayesma

ROOT = pathlib.Path(bayesma.__file__).parent
PUBLIC = sorted(p.name for p in ROOT.iterdir()
                if (p / "__init__.py").exists() and not p.name.startswith("_") and p.name not in {"cli", "data"})


def test_the_list_covers_every_public_subpackage():
    assert set(PUBLIC) <= set(bayesma.__all__), sorted(set(PUBLIC) - set(bayesma.__all__))


@pytest.mark.parametrize("name", PUBLIC)
def test_a_subpackage_is_an_attribute(name):
    assert getattr(bayesma, name) is importlib.import_module(f"bayesma.{name}")


def test_subpackages_are_imported_on_first_use_only():
    code = ("import sys, bayesma; loaded = [m for m in ('bayesma.bias', 'bayesma.report', 'bayesma.posterior') "
            "if m in sys.modules]; print(loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
