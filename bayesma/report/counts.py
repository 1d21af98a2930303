"""Report words for the binomial- and Poisson-normal models (:mod:`bayesma.models.counts`): the
model named in the first paragraph, and metafor's GLMM with the same likelihood beside it."""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.report.tables import edit_results_paragraph

__all__ = ["model_words", "add_counts_words"]

_DATA = {"binomial2": "the 2x2 tables", "poisson2": "the event counts and person-times of both groups",
         "binomial1": "the event counts and group sizes", "poisson1": "the event counts and person-times"}


def model_words(counts: Any) -> str:
    """E.g. ``binomial-normal random-effects model of the 2x2 tables (exact binomial likelihood,
    fixed study baselines, no continuity correction)``."""
    extra = f", {counts.baseline} study baselines" if counts.two_group else ""
    return (f"{counts.family}-normal random-effects model of {_DATA[counts.kind]} (exact {counts.family} "
            f"likelihood{extra}, no continuity correction)")


def _glmm_sentence(table: Any) -> str:
    rows = [r for r in table.index if str(r[0] if isinstance(r, tuple) else r).startswith("ML (GLMM")]
    if not rows or isinstance(rows[0], tuple):
        return ""
    r = table.loc[rows[0]]
    if not np.isfinite(r["estimate"]):
        return ""
    model = rows[0][len("ML (GLMM, "):-1]
    return (f"The frequentist counterpart with the same likelihood (metafor's rma.glmm, {model}, maximum "
            f"likelihood) gave {r['estimate']:.2f}, 95% CI [{r['ci_lb']:.2f}, {r['ci_ub']:.2f}], "
            f"tau = {r['tau']:.2f}; the normal-approximation estimates above use escalc's effects.")


def add_counts_words(text: str, post: Any) -> str:
    """*text* (the report) with the count model named and its GLMM counterpart added."""
    return edit_results_paragraph(text, model=model_words(post.spec.counts),
                                  sentence=_glmm_sentence(post.compare_frequentist(level=0.95)))
