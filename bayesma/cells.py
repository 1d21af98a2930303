"""The cells of a categorical design: the groups of studies that share one row of the design matrix.

A model whose moderators are all categorical (``~ outcome``, ``~ 0 + outcome``, ``~ a * b``, a 0/1
moderator) predicts one mean effect per cell; its average "at the mean moderators" mixes the levels
and describes no study. :func:`design_cells` finds the cells, names them by the data
(``"outcome = misconduct"``) and gives their design rows, so that the frequentist and Bayesian
results report and draw one prediction per level (``level_predictions``). A model with a
continuous moderator has no cells: its predictions need moderator values (``predict(newmods=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Cells", "design_cells", "has_moderators"]


@dataclass(frozen=True)
class Cells:  # numpydoc ignore=PR01
    """The cells of a design: ``labels`` (one per cell), ``rows`` (cells x p design rows),
    ``index`` (the cell of each study, shape (k,)) and ``k`` (studies per cell)."""

    labels: list[str]
    rows: np.ndarray
    index: np.ndarray

    @property
    def k(self) -> np.ndarray:
        """Number of studies (effects) in each cell."""
        return np.bincount(self.index, minlength=len(self.labels))


def has_moderators(X: Any, coef_names: list[str]) -> bool:
    """Whether a design has more than a single intercept (a meta-regression)."""
    X = np.asarray(X, dtype=float)
    return not (X.shape[1] == 1 and np.allclose(X[:, 0], 1.0))


def _label(cols: list[int], coef_names: list[str], data: pd.DataFrame | None, members: np.ndarray) -> str:
    """``"outcome = misconduct"``: the data columns named in the coefficients, at this cell's value."""
    parts = []
    if data is not None and len(data.columns):
        for c in data.columns:
            name = str(c)
            values = {f"{name}{v}" for v in pd.unique(data[c])}
            if not any(n == name or n in values or f"({name})" in n for n in coef_names):
                continue
            values = pd.unique(data[c].iloc[members])
            if len(values) == 1:
                parts.append(f"{name} = {values[0]}")
    if parts:
        return ", ".join(parts)
    active = [coef_names[j] for j in cols if coef_names[j] != "intrcpt"]
    return " & ".join(active) if active else "reference"


def design_cells(X: Any, coef_names: list[str], data: pd.DataFrame | None = None) -> Cells | None:
    """The cells of a design whose moderators are all categorical, else None.

    Parameters
    ----------
    X : array_like, shape (k, p)
        The design matrix (treatment-coded factors are 0/1 columns).
    coef_names : list of str, length p
        The coefficient names (R's: ``intrcpt``, ``outcomemisconduct``).
    data : pandas.DataFrame, optional
        The moderators of the k studies, to name the cells by their values.

    Returns
    -------
    Cells or None
        None for an intercept-only model, or when a moderator column takes values other
        than 0 and 1 (a continuous moderator: no cells).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = np.array([[1, 0], [1, 1], [1, 0]])
    >>> cells = design_cells(X, ["intrcpt", "groupb"], pd.DataFrame({"group": ["a", "b", "a"]}))
    >>> cells.labels, cells.k.tolist()
    (['group = a', 'group = b'], [2, 1])
    """
    X = np.asarray(X, dtype=float)
    if not has_moderators(X, coef_names):
        return None
    mods = [j for j in range(X.shape[1]) if not np.allclose(X[:, j], 1.0)]
    if not all(np.isin(X[:, j], (0.0, 1.0)).all() for j in mods):
        return None
    rows, index = np.unique(X, axis=0, return_inverse=True)
    index = np.asarray(index).reshape(-1)
    active = [[j for j in mods if r[j] == 1.0] for r in rows]
    order = sorted(range(len(rows)), key=lambda c: (len(active[c]), active[c]))
    rank = np.empty(len(rows), dtype=int)
    rank[order] = np.arange(len(rows))
    labels = [_label(active[c], coef_names, data, np.flatnonzero(index == c)) for c in order]
    if len(set(labels)) < len(labels):  # names from the data do not tell the cells apart: the coefficients do
        labels = [" & ".join(coef_names[j] for j in active[c]) or "reference" for c in order]
    return Cells(labels=labels, rows=rows[order], index=rank[index])
