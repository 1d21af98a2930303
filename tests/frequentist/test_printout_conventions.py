"""Every frequentist printout writes p-values one way (``<.0001`` in tables, ``p < .0001`` / ``p-val = 0.0123``
in test lines, never scientific notation, never ``p = <.0001``) and names interval bounds ``ci_lb`` / ``ci_ub``
(docs/conventions.rst)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma._format import frame_text

SCIENTIFIC = re.compile(r"\d\.\d+e[-+]\d+", re.IGNORECASE)
RELATION_WITHOUT_SPACE = re.compile(r"(p|p-val\*?|pval) (= )?<\.")


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


@pytest.fixture(scope="module")
def separated():
    """Two subgroups 0.4 apart with small variances: the subgroup test's p is 1e-6, a pooled p 1.6e-21."""
    return pd.DataFrame({"yi": [.5, .6, .55, .1, .2, .15], "vi": [.01] * 6, "g": list("aaabbb")})


def test_subgroup_table_and_tests_use_the_p_value_formatter(separated):
    text = repr(bm.subgroup("yi", "vi", by="g", data=separated))
    # the pooled effect of group a: z = 0.55 / sqrt(0.01 / 3), p = 2 (1 - Phi(z)) ~ 1.6e-21
    assert not SCIENTIFIC.search(text), text
    row_a = next(line for line in text.splitlines() if line.startswith("a "))
    assert row_a.split()[1:7] == ["3", "0.5500", "0.0577", "0.4368", "0.6632", "<.0001"]
    # Q between = (0.4)^2 / (2 * 0.01 / 3) = 24 on 1 df: p = 9.7e-7
    assert "Q = 24.0000, df = 1, p < .0001" in text
    assert "QM(df = 1) = 24.0000, p < .0001" in text
    assert not RELATION_WITHOUT_SPACE.search(text), text


@pytest.fixture(scope="module")
def printouts(bcg):
    return {name: repr(res) for name, res in _results(bcg)}


def _results(bcg):
    fit = bm.rma("yi", "vi", data=bcg)
    mods = bm.rma("yi", "vi", mods="~ ablat", data=bcg)
    shifted = bcg.assign(yi=bcg["yi"] - 2.0)  # every p-value below 1e-4 somewhere
    sfit = bm.rma("yi", "vi", data=shifted)
    yield "rma", fit
    yield "rma shifted", sfit
    yield "rma knha", bm.rma("yi", "vi", mods="~ ablat", data=bcg, test="knha")
    yield "subgroup", bm.subgroup("yi", "vi", by="alloc", data=shifted)
    yield "selmodel", bm.selmodel(fit, type="stepfun", steps=[0.025])
    yield "selmodel beta", bm.selmodel(sfit, type="beta")
    yield "egger", bm.egger_test(sfit)
    skewed = bcg.assign(yi=bcg["yi"] + 8.0 * np.sqrt(bcg["vi"]))  # a strong funnel asymmetry
    yield "egger skewed", bm.egger_test(bm.rma("yi", "vi", data=skewed, method="FE"))
    yield "ranktest", bm.ranktest(sfit)
    yield "pet_peese", bm.pet_peese("yi", "vi", data=shifted)
    yield "trimfill", bm.trimfill(sfit)
    yield "fsn", bm.fsn("yi", "vi", data=shifted)
    yield "tes", bm.tes(sfit)
    yield "anova", bm.anova(mods, btt=[1])
    yield "anova LRT", bm.anova(bm.rma("yi", "vi", mods="~ ablat", data=shifted, method="ML"),
                                 bm.rma("yi", "vi", data=shifted, method="ML"))
    yield "permutest", bm.permutest(mods, iter=100, seed=1)
    yield "leave1out", bm.leave1out(sfit)
    yield "rma_mh", bm.rma_mh("tpos", "tneg", "cpos", "cneg", data=bcg, measure="RR")
    yield "rma_glmm", bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    yield "location-scale", bm.rma("yi", "vi", data=shifted, scale="~ ablat")
    yield "rma_mv", bm.rma_mv("yi", "vi", random="~ 1 | trial", data=shifted)
    yield "robust", bm.robust(sfit, cluster="trial")
    yield "robust CR2", bm.robust(sfit, cluster="trial", clubSandwich=True)


def test_no_printout_shows_scientific_p_values_or_a_doubled_relation(printouts):
    for name, text in printouts.items():
        assert not SCIENTIFIC.search(text), f"{name}:\n{text}"
        assert not RELATION_WITHOUT_SPACE.search(text), f"{name}:\n{text}"
        assert "ci.lb" not in text and "ci.ub" not in text, f"{name}:\n{text}"


def test_the_shifted_data_do_print_small_p_values(printouts):
    """The scan above reads p-values below 1e-4 (else it could not fail)."""
    texts = printouts
    for name in ("rma shifted", "subgroup", "egger skewed", "pet_peese", "leave1out", "location-scale", "rma_mv"):
        assert "<.0001" in texts[name] or "< .0001" in texts[name], name


def test_selmodel_and_rma_name_the_interval_columns_alike(bcg):
    fit = bm.rma("yi", "vi", data=bcg)
    sel = bm.selmodel(fit, type="stepfun", steps=[0.025])
    headers = [line.split() for text in (repr(fit), repr(sel)) for line in text.splitlines()
               if line.strip().startswith("estimate")]
    assert headers and all(h[-2:] == ["ci_lb", "ci_ub"] for h in headers)
    assert {"ci_lb", "ci_ub"} <= set(sel.summary().columns) and {"ci_lb", "ci_ub"} <= set(fit.summary().columns)


def test_pet_line_names_a_one_sided_test_not_a_claim():
    # PET's intercept is positive (0.0087 here) and the test is of intercept < 0: the line must read as a test
    yi = np.array([0.02, 0.05, -0.01, 0.04, 0.03, 0.06, 0.00, 0.05])
    vi = np.array([0.01, 0.02, 0.015, 0.03, 0.012, 0.025, 0.02, 0.018])
    with pytest.warns(UserWarning, match="alternative='less'"):
        pp = bm.pet_peese(yi, vi, alternative="less")
    line = next(line for line in repr(pp).splitlines() if "one-sided" in line)
    assert line.startswith("Test of PET intercept < 0 (one-sided, H0: intercept = 0): p-val = ")
    assert not line.startswith("PET intercept <")


def test_frame_text_keeps_fixed_notation_and_formats_p_columns():
    table = pd.DataFrame({"estimate": [1e-7, 2.5], "QEp": [3e-9, 0.5], "rob_pval": [0.01234, np.nan]})
    text = frame_text(table)
    assert text.splitlines()[1].split() == ["0", "0.0000", "<.0001", "0.0123"]
    assert text.splitlines()[2].split() == ["1", "2.5000", "0.5000", "NA"]
