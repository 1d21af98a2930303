"""The numbers of the console and report tables read as the printouts write them: fixed decimals, never
``.3g`` scientific notation for a small value (``1e-05``), p-values and posterior probabilities through
``format_p`` (``<.0001``), counts as integers; a column of numbers with blanks is right-aligned."""

from __future__ import annotations

import pandas as pd
import pytest

from bayesma._format import format_p, frame_text
from bayesma.report.tables import format_value, markdown_table, table_rows


@pytest.mark.parametrize("value, column, text", [
    (1.234e-05, "tau2", "0.0000"),            # metafor prints tau^2 = 0.0000, never 1.23e-05
    (-4e-06, "estimate", "0.0000"),           # no "-0.0000"
    (0.000404, "se", "0.0004"),
    (0.0263, "tau2", "0.0263"),
    (12.0172, "rob_df", "12.02"),            # Satterthwaite df: metafor's 2 decimals, as print(robust(...))
    (18.6492, "df", "18.65"),
    (10.0, "df2", "10"),
    (326, "estimate", "326"),                 # an integer stays one (fail-safe N)
    (13.0, "k", "13"),
    (2.5e7, "inclusion_BF", "2.5e+07"),       # a million and more: three significant digits
])
def test_numbers_in_fixed_notation(value, column, text):
    assert format_value(value, column) == text


@pytest.mark.parametrize("column", ["pval", "rob_pval", "p_mu_positive", "QEp", "P(> 0)", "Q_p"])
@pytest.mark.parametrize("value", [6.43e-06, 0.000107, 0.0921, 0.99996])
def test_probabilities_as_the_p_value_formatter_writes_them(column, value):
    assert format_value(value, column) == format_p(value)


def test_the_same_number_reads_the_same_in_a_console_table_and_a_printout():
    table = pd.DataFrame({"estimate": [-0.39831, 1.2e-05], "pval": [3e-9, 0.0287]}, index=["a", "b"])
    _, rows, _ = table_rows(table)
    printed = frame_text(table).splitlines()[1:]  # the printouts' formatter (metafor's 4 decimals)
    for cells, line in zip(rows, printed):
        assert line.split()[1:] == cells[1:]


def test_object_columns_of_numbers_are_right_aligned():
    table = pd.DataFrame({"estimate": pd.Series([-0.4, None, 326], dtype=object),
                          "note": ["a", "", "b"], "flag": [True, False, True]})
    _, _, numeric = table_rows(table, index=False)
    assert numeric == [True, False, False]
    assert markdown_table(table)[1] == "|:---|---:|:---|:---|"  # the index, then the columns


@pytest.mark.parametrize("bf, text", [(2295.6041, "2295.604"), (0.86, "0.860"), (2.297, "2.297"),
                                      (3.2e9, "3.2e+09"), (float("inf"), "inf")])
def test_bayes_factors_in_three_decimals(bf, text):
    from bayesma._format import format_bf

    assert format_bf(bf) == text


def test_robma_printout_bayes_factors_and_priors_align():
    import warnings

    import bayesma as bm

    dat = bm.load_dataset("dat.lehmann2018").iloc[:20]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.robma(dat, yi="yi", vi="vi", measure="SMD", draws=256)
    lines = repr(fit).splitlines()
    start = lines.index("Components summary:") + 2
    comp = fit.components()
    for line, (name, row) in zip(lines[start:start + len(comp)], comp.iterrows()):
        assert line.startswith(name)
        bf = line[len(name):].split()[3]
        from bayesma._format import format_bf

        assert bf == format_bf(row["inclusion_BF"]) and ("e" not in bf or row["inclusion_BF"] >= 1e6)
    priors = [ln for ln in lines if ln.endswith(tuple("0123456789")) and " prior prob. " in ln]
    assert len(priors) == len(fit.priors()) and len({ln.index(" prior prob. ") for ln in priors}) == 1


def test_posterior_printout_and_command_line_table_show_the_same_digits():
    """``print(post)`` and ``bayesma fit``'s summary table (``table_rows``) write each number alike: the
    repr used ``.4g`` (``-0.4`` for -0.39998 beside ``0.07252``)."""
    import warnings

    import bayesma as bm

    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(es, yi="yi", vi="vi", measure="RR").fit(engine="exact", seed=1)
    cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
    _, rows, _ = table_rows(post.summary().loc[["mu", "tau", "theta_new"], cols])
    printed = {ln.split()[0]: ln.split()[1:] for ln in repr(post).splitlines() if ln.split()[:1] in
               (["mu"], ["tau"], ["theta_new"])}
    for cells in rows:
        assert printed[cells[0]] == cells[1:]


@pytest.mark.parametrize("p", [0.0921, 0.0004, 0.99995, 0.5])
def test_posterior_probability_reads_alike_after_p_and_in_the_combined_table(p):
    """``bayesma fit`` prints ``P(mu > 0) = .092`` as the combined table of ``--by`` (``.092``) and the report
    (``P(> 0) = .092``) write the same number; it printed ``= 0.092``."""
    from bayesma.report.tables import fmt_prob, prob_rel

    assert prob_rel(p) == fmt_prob(p)
    assert prob_rel(p).replace("= ", "") in (".092", "< .001", "> .999", ".500")


def test_prior_comparison_and_leave_one_out_print_as_the_command_line():
    """``print(bm.compare_priors(...))`` and ``print(bm.leave_one_out(...))`` write each number as
    ``bayesma priors`` / ``bayesma smallk`` print it: 4 decimals, the probability of a positive effect as a
    p-value (``<.0001``), never ``.4g`` (``-0.979`` beside ``0.09213``, ``6.434e-06``)."""
    import bayesma as bm

    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    cmp = bm.compare_priors(data=es, yi="yi", vi="vi", measure="RR", seed=1)
    loo = bm.leave_one_out(es, "yi", "vi", measure="RR", seed=1)
    for obj in (cmp, loo):
        text = repr(obj)
        _, rows, _ = table_rows(obj.table[["mu_mean", "mu_lower", "p_mu_positive"]])
        body = text.splitlines()[3:]
        for cells, line in zip(rows, body):
            for cell in cells[1:]:
                assert f" {cell}" in line, (cell, line)
        assert "e-0" not in text
