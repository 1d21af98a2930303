"""The subgroup printout names its moderator test as metafor does: QM(df) for z tests, F(df1, df2) for
Knapp-Hartung."""

from __future__ import annotations

import pytest

import bayesma as bm


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def test_subgroup_names_the_f_test_of_knapp_hartung(bcg):
    knha = repr(bm.subgroup("yi", "vi", by="alloc", data=bcg, test="knha"))
    z = repr(bm.subgroup("yi", "vi", by="alloc", data=bcg))
    assert "F(df1 = 2, df2 = 10) = " in knha and "QM" not in knha.splitlines()[-1]
    assert "QM(df = 2) = " in z
