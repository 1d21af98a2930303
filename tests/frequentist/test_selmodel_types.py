"""selmodel's types: all of metafor 3.8.1's are fitted; its two-sided p-values are refused by name (never guessed)."""

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


@pytest.mark.parametrize("type_", ["beta", "negexppow", "halfnorm2", "stepfun"])
def test_two_sided_p_values_are_refused_by_name(res, type_):
    with pytest.raises(UnsupportedModelError, match="alternative='two.sided' is not implemented in bayesma"):
        bm.selmodel(res, type_, steps=[0.05, 1] if type_ == "stepfun" else None, alternative="two.sided")


def test_every_type_of_metafor_381_is_fitted():
    # metafor 3.8.1's type.options in selmodel.rma.uni
    metafor_types = {"beta", "halfnorm", "negexp", "logistic", "power", "negexppow", "halfnorm2", "negexp2",
                     "logistic2", "power2", "stepfun"}
    from bayesma.frequentist.bias.selection import SELMODEL_TYPES

    assert set(SELMODEL_TYPES) == metafor_types


def test_the_docs_list_the_types_fitted():
    from pathlib import Path

    from bayesma.frequentist.bias.selection import SELMODEL_TYPES

    text = (Path(__file__).resolve().parents[2] / "docs" / "metafor.rst").read_text()
    assert "all six types" not in text
    assert all(t in text for t in SELMODEL_TYPES) and "two.sided" in text
