"""The small-k hint names the real column and group, never a placeholder."""

from __future__ import annotations

import pandas as pd

from bayesma.report.tables import small_k_note


def test_the_hint_names_the_column_and_a_small_group():
    table = pd.DataFrame({"k": [1, 3, 9], "bayes_median": [0.1, 0.2, 0.3]},
                         index=pd.Index(["recid", "misconduct", "dropout"], name="outcome"))
    note = small_k_note(table)
    assert "--subset \"outcome == 'recid'\"" in note and "'value'" not in note and "COL" not in note
