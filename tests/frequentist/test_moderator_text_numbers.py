"""A numeric moderator stored as text is used as numbers (one slope) with a warning in rma and
MetaAnalysis alike; factor(x) keeps it categorical; a mostly-numeric column with a stray word is an
error naming the study."""

from __future__ import annotations

import pytest

import bayesma as bm
from bayesma.errors import DataWarning


@pytest.fixture(scope="module")
def bcg():
    dat = bm.load_dataset("dat.bcg")
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)


def test_numbers_as_text_are_a_numeric_moderator(bcg):
    text = bcg.assign(ablat=bcg["ablat"].astype(str) + " ")
    ref = bm.rma("yi", "vi", mods="~ ablat", data=bcg)
    with pytest.warns(DataWarning, match="numbers stored as text"):
        res = bm.rma("yi", "vi", mods="~ ablat", data=text)
    assert res.coef_names == ["intrcpt", "ablat"]
    assert res.beta == pytest.approx(ref.beta, rel=1e-10)
    with pytest.warns(DataWarning, match="numbers stored as text"):
        spec = bm.MetaAnalysis(text, yi="yi", vi="vi", mods="~ ablat").spec
    assert spec.coef_names == ["intrcpt", "ablat"]


def test_factor_keeps_numbers_as_text_categorical(bcg):
    res = bm.rma("yi", "vi", mods="~ factor(ablat)", data=bcg.assign(ablat=bcg["ablat"].astype(str)))
    assert len(res.coef_names) == bcg["ablat"].nunique()


def test_a_stray_word_in_a_numeric_moderator_is_an_error(bcg):
    text = bcg.assign(ablat=bcg["ablat"].astype(str))
    text.loc[3, "ablat"] = "n/a"
    for fit in (lambda: bm.rma("yi", "vi", mods="~ ablat", data=text),
                lambda: bm.MetaAnalysis(text, yi="yi", vi="vi", mods="~ ablat")):
        with pytest.raises(bm.InputError, match=r"mostly numeric.*row 4.*'n/a'"):
            fit()
