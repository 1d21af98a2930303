"""The posterior summary table: a DataFrame with the same columns for every engine (``r_hat``,
``ess_bulk``, ``ess_tail`` included) whose printout leaves out the diagnostic columns that are empty
(all NaN: the exact engine's independent draws, a single chain), so pandas does not fold the table to
make room for them."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: MCMC diagnostics: printed only where at least one row has a value
DIAGNOSTIC_COLUMNS = ("r_hat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd")


class SummaryTable(pd.DataFrame):
    """:meth:`MetaPosterior.summary() <bayesma.MetaPosterior.summary>`'s table. The DataFrame is unchanged
    (every column is there, NaN included); only ``repr``/``print`` and the notebook view omit the
    diagnostic columns that are all NaN. A table derived from it (``.loc``, arithmetic) is a plain DataFrame.

    Examples
    --------
    >>> t = SummaryTable(pd.DataFrame({"mean": [0.1], "r_hat": [float("nan")]}, index=["mu"]))
    >>> list(t.columns), "r_hat" in repr(t)
    (['mean', 'r_hat'], False)
    """

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame

    def _shown(self) -> pd.DataFrame:
        empty = [c for c in DIAGNOSTIC_COLUMNS if c in self.columns and self[c].isna().all()]
        return pd.DataFrame(self).drop(columns=empty)

    def __repr__(self) -> str:
        return repr(self._shown())

    def _repr_html_(self) -> str | None:  # pragma: no cover - notebooks
        return self._shown()._repr_html_()
