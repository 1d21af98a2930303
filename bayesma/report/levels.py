"""Report words for a model whose moderators are all categorical: the mean effect and a new
study's predictive interval per level (:meth:`bayesma.MetaPosterior.level_predictions`), in place
of one "new study at the mean moderator values" that mixes the levels."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bayesma.report.tables import edit_results_paragraph, num

__all__ = ["level_table", "add_level_words"]


def level_table(post: Any) -> pd.DataFrame | None:
    """Per-level predictions of *post*, or None when its moderators are not all categorical."""
    if not post.spec.is_regression or getattr(post.spec, "dependence", None) is not None:
        return None
    try:
        return post.level_predictions(prob=0.95)
    except (ValueError, AttributeError):  # intercept-only, continuous moderators, or no per-level rows
        return None


def add_level_words(text: str, levels: pd.DataFrame) -> str:
    """*text* (the report) with one sentence giving each level's mean effect and predictive interval
    closing its first paragraph."""
    parts = [f"{lab} (k = {int(r['k'])}): {num(r['median'])} [{num(r['eti_lower'])}, {num(r['eti_upper'])}], "
             f"new study [{num(r['pi_lower'])}, {num(r['pi_upper'])}]" for lab, r in levels.iterrows()]
    sentence = ("By level of the moderators, the mean effect (posterior median, 95% CrI) and the 95% predictive "
                "interval for the true effect in a new study were: " + "; ".join(parts) + ".")
    return edit_results_paragraph(text, sentence=sentence)
