"""pytest configuration for the docstring examples of the package (``--doctest-modules`` on bayesma/).

The examples of :class:`bayesma.MetaPosterior`'s methods (and of the functions that take a fitted
posterior) use ``post``: the exact-engine posterior of the BCG trials that the class docstring
builds. It is made once per test session, for doctests only. The tests' own fixtures are in
tests/conftest.py (pytest reads this file for doctests under bayesma/, as numpy and pandas ship theirs).
"""

from __future__ import annotations

import os

import pytest

# printouts as on a CI machine (no terminal: 80 x 24), whatever terminal runs the examples (pandas folds
# a wide table to the terminal's width); tests/conftest.py does the same for the tests
os.environ["COLUMNS"], os.environ["LINES"] = "80", "24"


@pytest.fixture(scope="session")
def _doctest_posterior():
    import bayesma as bm

    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    return bm.MetaAnalysis(dat, labels="trial", measure="RR").fit(engine="exact", seed=1)


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace):
    """``bm``, ``np`` and ``post`` in the namespace of the package's doctests."""
    if isinstance(request.node, pytest.DoctestItem):
        import numpy as np

        import bayesma as bm

        doctest_namespace.update(bm=bm, np=np, post=request.getfixturevalue("_doctest_posterior"))
