"""Random-effects formulas of :func:`~bayesma.frequentist.mv.rma_mv` (metafor's ``random=``).

* ``"~ 1 | study"``: one variance component sigma2 shared by the effects of a study;
* ``"~ 1 | study/esid"``: nested, one sigma2 per level (``study`` and ``study/esid``);
* a list of such formulas: several (crossed or nested) components, in the order given;
* ``"~ inner | outer"``: correlated effects of the inner levels (e.g. outcomes) within each outer
  level (e.g. study), with a variance structure (``struct``): the first such term has the
  parameters ``tau2``/``rho``, a second one ``gamma2``/``phi``.

Each term becomes integer codes per row, so the marginal covariance can be built block by block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import stripped_ids
from bayesma.errors import InputError
from bayesma.frequentist.mv.structs import Struct

__all__ = ["SigmaTerm", "StructTerm", "parse_random", "random_columns"]

_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"


class SigmaTerm:
    """``~ 1 | name``: rows with the same level share a random effect with variance sigma2.

    ``levels`` (the level labels, in the order of first appearance) may be given as a function,
    called on first use (the labels of a nested factor with 100,000 levels cost time)."""

    def __init__(self, name: str, codes: np.ndarray, n_levels: int, levels: Any):
        self.name, self.codes, self.n_levels = name, codes, int(n_levels)
        self._levels = levels

    @property
    def levels(self) -> list[str]:
        """The level labels."""
        if callable(self._levels):
            self._levels = self._levels()
        return self._levels


@dataclass(frozen=True)
class StructTerm:
    """``~ inner | outer`` with a struct: G over the inner levels, independent across outer levels."""

    inner_name: str
    outer_name: str
    struct: Struct
    inner_codes: np.ndarray
    inner_levels: list[str]
    outer_codes: np.ndarray
    outer_levels: list[str]


def _split(formula: str) -> tuple[str, list[str]]:
    text = str(formula).strip()
    if not text.startswith("~") or text.count("|") != 1:
        raise InputError(f"random term {formula!r} must look like '~ 1 | study', '~ 1 | study/esid' "
                         "or '~ inner | outer'")
    lhs, rhs = (part.strip() for part in text[1:].split("|"))
    factors = [f.strip() for f in rhs.split("/")]
    for f in factors + ([] if lhs == "1" else [lhs]):
        if not re.fullmatch(_NAME, f):
            raise InputError(f"random term {formula!r}: {f!r} is not a column name")
    if lhs != "1" and len(factors) != 1:
        raise InputError(f"random term {formula!r}: an '~ inner | outer' term takes a single outer factor")
    return lhs, factors


def _labels(codes: np.ndarray, cols: list[np.ndarray]) -> list[str]:
    first = np.unique(codes, return_index=True)[1]
    return ["/".join(str(c[i]) for c in cols) for i in first]


def _as_list(random: Any) -> list[str]:
    if random is None:
        return []
    return [random] if isinstance(random, str) else list(random)


def random_columns(random: Any) -> list[str]:
    """The data columns the random terms use (for dropping rows with missing values)."""
    cols: list[str] = []
    for formula in _as_list(random):
        lhs, factors = _split(formula)
        cols += factors + ([] if lhs == "1" else [lhs])
    return list(dict.fromkeys(cols))


def _codes(values: Any, labels: bool = True) -> tuple[np.ndarray, list[str]]:
    """Integer codes in the order of first appearance, and the level labels (if asked for)."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.dtype == object:  # "11" and "11 " are one level (with a warning), as moderator levels
        arr = stripped_ids(arr, f"random-effects factor {getattr(values, 'name', '')!r}".replace(" ''", ""), stacklevel=6)
    codes, levels = pd.factorize(arr, sort=False)
    return codes.astype(np.intp), ([str(v) for v in levels] if labels else [])


def _sorted_codes(values: Any) -> tuple[np.ndarray, list[str]]:
    """Codes by sorted level (R's factor levels)."""
    ser = pd.Series(stripped_ids(values, "random-effects inner factor", stacklevel=6) if np.asarray(values).dtype == object
                    else values)
    try:
        levels = sorted(ser.unique())
    except TypeError:
        levels = sorted(ser.astype(str).unique())
        ser = ser.astype(str)
    lookup = {v: i for i, v in enumerate(levels)}
    return np.array([lookup[v] for v in ser], dtype=np.intp), [str(v) for v in levels]


def parse_random(random: Any, data: pd.DataFrame | None, struct: Any = "CS") -> tuple[list[SigmaTerm], list[StructTerm]]:
    """Parse *random* (one formula or a list) on the rows of *data*.

    Raises
    ------
    ValueError
        A malformed formula, a column not in *data*, more than two ``inner | outer`` terms, or a
        struct that needs more inner levels than the data have.
    """
    sigmas: list[SigmaTerm] = []
    structs: list[StructTerm] = []
    structs_given = [struct] if isinstance(struct, str) else list(struct)
    for formula in _as_list(random):
        lhs, factors = _split(formula)
        if data is None:
            raise InputError(f"random term {formula!r} names columns: give data=")
        for col in factors + ([] if lhs == "1" else [lhs]):
            if col not in data.columns:
                raise InputError(f"random term {formula!r}: column {col!r} is not in the data")
        if lhs == "1":
            codes, levels = _codes(data[factors[0]])
            sigmas.append(SigmaTerm(factors[0], codes, len(levels), levels))
            for depth in range(2, len(factors) + 1):
                inner, _ = _codes(data[factors[depth - 1]], labels=False)
                codes, _ = _codes(codes.astype(np.int64) * (int(inner.max()) + 1) + inner, labels=False)
                cols = [data[f].to_numpy() for f in factors[:depth]]
                sigmas.append(SigmaTerm("/".join(factors[:depth]), codes, int(codes.max()) + 1,
                                        lambda c=codes, cols=cols: _labels(c, cols)))
            continue
        if len(structs) == 2:
            raise InputError("at most two '~ inner | outer' terms are allowed (tau2/rho and gamma2/phi)")
        name = structs_given[min(len(structs), len(structs_given) - 1)]
        inner_codes, inner_levels = _sorted_codes(data[lhs].to_numpy())
        outer_codes, outer_levels = _codes(data[factors[0]])
        structs.append(StructTerm(lhs, factors[0], Struct(name, len(inner_levels)), inner_codes, inner_levels,
                                  outer_codes, outer_levels))
    return sigmas, structs
