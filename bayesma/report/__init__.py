"""The report of a fit: the paper paragraph (:mod:`~bayesma.report.text`), the tables and number
formatting shared with the command line (:mod:`~bayesma.report.tables`), and the self-contained
HTML page (:mod:`~bayesma.report.html`).

Nothing here fits a Bayesian model: the functions take a posterior (duck-typed), its summary,
the frequentist fits and the priors, and write text.
"""

from __future__ import annotations

from bayesma.report.fits import estimator_fits
from bayesma.report.html import html_report
from bayesma.report.tables import (
    comparison_table,
    diagnostics_text,
    fmt_p,
    fmt_prob,
    format_value,
    frequentist_table,
    location_rows,
    markdown_table,
    num,
    paper_table,
    prob_rel,
    small_k_note,
    summary_rows,
    table_rows,
)
from bayesma.report.text import (
    CONVERSIONS,
    posterior_report,
    report_text,
    term_labels,
)

__all__ = [
    "CONVERSIONS", "comparison_table", "diagnostics_text", "estimator_fits", "fmt_p", "fmt_prob", "format_value",
    "frequentist_table", "html_report", "location_rows", "markdown_table", "num", "paper_table", "posterior_report", "small_k_note",
    "prob_rel", "report_text", "summary_rows", "table_rows", "term_labels",
]
