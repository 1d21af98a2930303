"""The meta-regressions of :func:`bayesma.fit_many` (``mods=``) on the vectorised exact engine.

Each group gets its own design matrix (the moderator formula read on the group's rows, as
:class:`bayesma.MetaAnalysis` reads it: a factor's levels are those present in the group, and a
column that is constant or redundant within the group is dropped, metafor's rule) and its own
priors (data-scaled defaults included); the groups that share their number of studies k, of
coefficients p and the family of their tau prior are fitted together by
:func:`bayesma.exact.regression_batch.regression_summaries`. A group whose rows or formula fail,
or whose coefficient priors are not Normal, is fitted one by one, which gives its own error.

The design: formulas that add plain columns (``"~ x + arm"``: numbers, or text read as a factor)
are built from the columns directly, and checked against :func:`bayesma.design.design_matrix` on
the first group of every distinct set of coefficient names (on any difference every group uses
``design_matrix``); other formulas (``factor()``, interactions, transformations) use
``design_matrix`` group by group.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from bayesma.batch_steps import Groups, Plan, _tau_key, small_k_note
from bayesma.design import design_matrix, drop_redundant, formula_variables, is_text
from bayesma.exact.regression_batch import regression_summaries
from bayesma.spec import has_slopes, resolve_priors

__all__ = ["RegressionBucket", "plan_regression", "fit_regressions"]

_PLAIN = re.compile(r"^\s*~?\s*[^\W\d][\w.]*(\s*\+\s*[^\W\d][\w.]*)*\s*$")
_NOT_NORMAL = "coefficient priors that are not Normal (the exact engine integrates beta analytically)"
_BAD_ROWS = "k < 2, missing values or repeated labels"
_BAD_DESIGN = "a moderator formula the group's rows cannot fit (its own error in .errors)"


@dataclass
class RegressionBucket:
    """Meta-regressions of one k, p and tau prior family, fitted together."""

    k: int
    p: int
    members: list[int] = field(default_factory=list)
    X: list[np.ndarray] = field(default_factory=list)
    names: list[list[str]] = field(default_factory=list)
    loc: list[tuple[list[float], list[float]]] = field(default_factory=list)
    taus: list[Any] = field(default_factory=list)


class _Designs:
    """Each group's design matrix: from the columns for formulas of plain columns, else design_matrix."""

    def __init__(self, data: pd.DataFrame, mods: str):
        self.data, self.mods = data, mods
        self.columns = self._plain_columns(data, mods)
        self.checked: set[tuple[str, ...]] = set()

    @staticmethod
    def _plain_columns(data: pd.DataFrame, mods: str) -> list[tuple[str, Any]] | None:
        """[(name, float values or text values)] when the formula adds plain numeric or text columns."""
        if not _PLAIN.match(mods):
            return None
        out = []
        for var in formula_variables(mods):
            if var not in data.columns:
                return None
            col = data[var]
            if pd.api.types.is_bool_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
                return None
            if pd.api.types.is_numeric_dtype(col):
                out.append((var, col.to_numpy(dtype=float, na_value=np.nan)))
            elif is_text(col):
                values = col.to_numpy(dtype=object)
                if not all(isinstance(s, str) and s == s.strip() for s in values):
                    return None  # missing values, spaces or numbers as text: design_matrix's rules
                if pd.to_numeric(pd.Series(values), errors="coerce").notna().any():
                    return None
                out.append((var, values))
            else:
                return None
        return out

    def of(self, rows: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
        """The design matrix and coefficient names of the group at *rows* (errors as design_matrix)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a dropped column: as MetaAnalysis inside fit_many
            if self.columns is None:
                return design_matrix(self.mods, self.data.iloc[rows], rows.size, labels)
            X, names = self._plain(rows)
            X, names = drop_redundant(X, names)
            if tuple(names) not in self.checked:  # the first group of these names: the same as design_matrix?
                ref, ref_names = design_matrix(self.mods, self.data.iloc[rows], rows.size, labels)
                if ref_names != names or ref.shape != X.shape or not np.array_equal(ref, X):
                    self.columns = None
                    return ref, ref_names
                self.checked.add(tuple(names))
            return X, names

    def _plain(self, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
        cols, names = [np.ones(rows.size)], ["intrcpt"]
        for var, values in self.columns:
            v = values[rows]
            if v.dtype != object:
                if not np.all(np.isfinite(v)):
                    raise ValueError("missing moderator")
                cols.append(v)
                names.append(var)
                continue
            for level in sorted(set(v))[1:]:  # treatment coding, the first level (sorted) the reference
                cols.append((v == level).astype(float))
                names.append(f"{var}{level}")
        return np.column_stack(cols), names


def _location(priors: dict, names: list[str]) -> tuple[list[float], list[float]] | None:
    """Means and sds of the coefficients' priors (as ModelSpec.location_prior), None unless all Normal."""
    m0, sd0 = [], []
    for j in range(len(names)):
        prior = priors["mu"] if j == 0 and names[0] == "intrcpt" else priors.get("beta", priors["mu"])
        if getattr(prior, "family", None) != "Normal":
            return None
        m0.append(float(prior.params["mu"]))
        sd0.append(float(prior.params["sigma"]))
    return m0, sd0


def plan_regression(data: pd.DataFrame, groups: Groups, model_args: dict[str, Any], by_cols: list[str],
                    plan: Plan) -> list[RegressionBucket]:
    """Bucket the meta-regressions the vectorised exact engine can fit; the others join ``plan.single``
    with their reason in ``plan.reasons``. Priors that do not depend on the data (a measure's defaults,
    ``plan.priors == "shared"``) are resolved once with and once without slopes."""
    arrays, shared = plan.arrays, plan.priors == "shared"
    mods, labels, model = model_args["mods"], model_args["labels"], model_args["model"]
    designs = _Designs(data, mods)
    dup = data.duplicated(by_cols + [labels]).to_numpy() if labels is not None else np.zeros(len(data), bool)
    label_values = data[labels].astype(str).to_numpy() if labels is not None else None
    resolved: dict[bool, dict] = {}
    buckets: dict[tuple, RegressionBucket] = {}
    for i in range(groups.n):
        idx = groups.rows(i)
        reason = _BAD_ROWS if idx.size < 2 or not arrays[2][idx].all() or dup[idx].any() else ""
        if not reason:
            try:
                X, names = designs.of(idx, None if label_values is None else list(label_values[idx]))
                slopes = has_slopes(mods, names)
                pri = resolved.get(slopes) if shared else None
                if pri is None:
                    meta = SimpleNamespace(yi=arrays[0][idx], vi=arrays[1][idx])
                    pri = resolve_priors(model_args["priors"], measure=model_args["measure"], meta=meta, model=model,
                                         slopes=slopes)
                    if shared:
                        resolved[slopes] = pri
            except Exception:  # noqa: BLE001 - the one-by-one path gives the group's own error
                reason = _BAD_DESIGN
        loc = None if reason else _location(pri, names)
        if not reason and loc is None:
            reason = _NOT_NORMAL
        if reason:
            plan.single.append(i)
            plan.reasons[reason] = plan.reasons.get(reason, 0) + 1
            continue
        tau = pri.get("tau")
        bucket = buckets.setdefault((idx.size, len(names), _tau_key(tau)), RegressionBucket(int(idx.size), len(names)))
        bucket.members.append(i)
        bucket.X.append(X)
        bucket.names.append(names)
        bucket.loc.append(loc)
        bucket.taus.append(tau)
    return list(buckets.values())


def fit_regressions(buckets: list[RegressionBucket], groups: Groups, arrays: tuple, model: str, out: Any,
                    level: float = 0.95) -> None:
    """The exact posterior of every bucket of meta-regressions (intervals of probability *level*), on whole
    arrays, into *out* (Outputs)."""
    for bucket in buckets:
        members, k = bucket.members, bucket.k
        rows = np.concatenate([groups.rows(i) for i in members])
        Y = arrays[0][rows].reshape(len(members), k)
        V = arrays[1][rows].reshape(len(members), k)
        m0 = np.array([loc[0] for loc in bucket.loc])
        sd0 = np.array([loc[1] for loc in bucket.loc])
        taus = bucket.taus
        first = taus[0]
        tau_prior = None if first is None else (first if all(repr(t) == repr(first) for t in taus) else taus)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            arr = regression_summaries(Y, V, np.stack(bucket.X), m0, sd0, tau_prior, level=level)
        arr = np.concatenate([arr, np.full(arr.shape[:2] + (3,), np.nan)], axis=2)  # r_hat, ess: none (exact)
        tail = ("tau", "theta_new") if first is not None else ("theta_new",)
        notes: dict[str, str] = {}
        for r, i in enumerate(members):
            tau = taus[r]
            note = notes.get(repr(tau)) if k < 5 else ""
            if note is None:
                note = notes[repr(tau)] = small_k_note(k, model, tau)
            out.names[i] = tuple(f"beta[{n}]" for n in bucket.names[r]) + tail
            out.values[i], out.notes[i] = arr[r], note


def note_dropped(mods: Any, data: pd.DataFrame, out: Any) -> None:
    """Say in each group's ``warnings`` which coefficients of the formula it has not (a moderator constant
    in the group, or a factor level absent from it, is dropped from its design as metafor drops it): the
    group is fitted, but not with the model the formula names for the whole data."""
    if not isinstance(mods, str):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, full = design_matrix(mods, data, len(data), None)
        except Exception:  # noqa: BLE001 - no design of the whole data: nothing to compare with
            return
    for i, names in enumerate(out.names):
        if names is None:
            continue
        missing = [n for n in full if f"beta[{n}]" not in names]
        if missing:
            note = (f"coefficient(s) {', '.join(map(repr, missing))} dropped in this group (its moderator constant "
                    "there, or the level absent): not estimable from its studies")
            out.notes[i] = "; ".join(n for n in (note, out.notes[i]) if n)
