"""compare_frequentist() names its frequentist rows as the command line and the report do (``REML + KH``),
and its REML + KH row is metafor's Knapp-Hartung fit (bm.rma(..., test="knha"))."""

from __future__ import annotations

import pytest

import bayesma as bm
from bayesma.report.fits import estimator_fits


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def test_rows_are_spelled_as_the_cli_and_report_spell_them(bcg):
    post = bm.MetaAnalysis(bcg, "yi", "vi").fit(engine="exact", seed=1)
    table = post.compare_frequentist()
    cli = list(estimator_fits("yi", "vi", data=bcg))
    assert cli == ["FE", "DL", "REML", "REML + KH"]
    assert list(table.index[:4]) == cli and "REML+KH" not in table.index
    kh = bm.rma("yi", "vi", data=bcg, test="knha")
    assert table.loc["REML + KH", ["estimate", "ci_lb", "ci_ub"]].tolist() == pytest.approx(
        [kh.beta[0], kh.ci_lb[0], kh.ci_ub[0]], rel=1e-9)
