"""selmodel's types: those bayesma fits, and metafor 3.8.1's others refused by name (never guessed)."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm
from bayesma.errors import UnsupportedModelError


@pytest.fixture(scope="module")
def res():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", data=dat)


@pytest.mark.parametrize("kwargs", [{"type": "negexppow"}, {"type": "halfnorm2"}, {"type": "negexp2"},
                                    {"type": "logistic2"}, {"type": "beta", "alternative": "two.sided"}])
def test_metafors_other_types_are_refused_by_name(res, kwargs):
    with pytest.raises(UnsupportedModelError, match="not implemented in bayesma"):
        bm.selmodel(res, **kwargs)


def test_the_docs_list_the_types_fitted():
    from pathlib import Path

    from bayesma.frequentist.bias.selection import SELMODEL_TYPES

    text = (Path(__file__).resolve().parents[2] / "docs" / "metafor.rst").read_text()
    assert "all six types" not in text
    assert all(t in text for t in SELMODEL_TYPES) and "negexppow" in text
