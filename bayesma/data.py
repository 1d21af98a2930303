"""MetaData: the validated input of one meta-analysis.

Effects ``yi`` with sampling variances ``vi`` (or standard errors ``sei``), study
labels, the moderator columns, optional cluster ids. Every problem with the
input raises a ValueError or TypeError that names the study and the column;
nothing is dropped unless ``missing="drop"`` asks for it, and then the dropped
studies are reported in ``MetaData.dropped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import align, as_numeric, column, label_alias, stripped_ids, value_problems
from bayesma.errors import ArgumentTypeError, InputError, MissingDataWarning, study_error

__all__ = ["MetaData", "study_labels"]


@dataclass(frozen=True)
class MetaData:  # numpydoc ignore=PR01
    """Validated effects, variances, labels and moderators of one meta-analysis.

    Build it with :meth:`MetaData.create`; the fields are read-only arrays.

    Attributes
    ----------
    yi : numpy.ndarray
        Observed effect sizes, one per study.
    vi : numpy.ndarray
        Their sampling variances (positive, finite).
    labels : list of str
        Unique study labels.
    data : pandas.DataFrame
        The other columns (moderators), aligned with ``yi``; index 0..k-1.
    cluster : numpy.ndarray or None
        Cluster (study) ids when effects are nested, as strings.
    cluster_ids : numpy.ndarray or None
        The same ids as the user gave them (object array: numbers stay numbers), for tables
        that name clusters by the user's ids.
    dropped : list of str
        Labels of the studies removed by ``missing="drop"``, with the reason.
    row_index : pandas.Index or None
        The index labels of the studies' rows (of ``data``, or of a ``yi`` Series), against
        which a Series given later is aligned; None for plain arrays.

    Examples
    --------
    >>> import bayesma as bm
    >>> md = bm.MetaData.create(yi=[0.1, 0.3], vi=[0.01, 0.02], labels=["A", "B"])
    >>> md.k
    2
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    data: pd.DataFrame
    cluster: np.ndarray | None = None
    dropped: list[str] = field(default_factory=list)
    row_index: pd.Index | None = field(default=None, repr=False, compare=False)
    cluster_ids: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def k(self) -> int:
        """Number of studies (effects).

        Examples
        --------
        >>> md = MetaData.create([0.1, 0.2, 0.3], [0.01, 0.04, 0.09], labels=["A", "B", "C"])
        >>> md.k
        3
        """
        return int(self.yi.shape[0])

    @property
    def sei(self) -> np.ndarray:
        """Standard errors, ``sqrt(vi)``.

        Examples
        --------
        >>> md = MetaData.create([0.1, 0.2, 0.3], [0.01, 0.04, 0.09], labels=["A", "B", "C"])
        >>> md.sei.tolist()
        [0.1, 0.2, 0.3]
        """
        return np.sqrt(self.vi)

    def __repr__(self) -> str:
        extra = f", cluster: {len(np.unique(self.cluster))} clusters" if self.cluster is not None else ""
        return f"MetaData(k={self.k}{extra}, moderators={list(self.data.columns)})"

    @classmethod
    @label_alias
    def create(
        cls,
        yi: Any,
        vi: Any = None,
        *,
        sei: Any = None,
        data: pd.DataFrame | None = None,
        labels: Any = None,
        cluster: Any = None,
        missing: str = "raise",
        require: Sequence[str] = (),
    ) -> MetaData:
        """Validate the input of a meta-analysis.

        Parameters
        ----------
        yi : str or array_like
            Effect sizes, or the name of a column of *data*.
        vi : str or array_like, optional
            Sampling variances (give *vi* or *sei*).
        sei : str or array_like, optional
            Standard errors; ``vi = sei**2``.
        data : pandas.DataFrame, optional
            Table holding the named columns and the moderators.
        labels : str or array_like, optional
            Study labels (must be unique). Default: the ``study``/``author``
            column when *data* has one, else ``"1"``, ``"2"``, ...
        cluster : str or array_like, optional
            Cluster ids for effects nested in studies.
        missing : {"raise", "drop"}
            What to do with a study whose effect, variance or a column in
            *require* is missing. ``"drop"`` removes it and lists it in
            ``dropped`` (a warning says which).
        require : sequence of str
            Further columns of *data* that must be complete (moderators in use).

        Returns
        -------
        MetaData

        Examples
        --------
        >>> md = MetaData.create([0.1, 0.2, 0.3], [0.01, 0.04, 0.09], labels=["A", "B", "C"])
        >>> md.labels, md.yi.tolist()
        (['A', 'B', 'C'], [0.1, 0.2, 0.3])
        """
        if missing not in ("raise", "drop"):
            raise InputError(f"missing must be 'raise' or 'drop', got {missing!r}")
        if data is not None and not isinstance(data, pd.DataFrame):
            raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if hasattr(yi, "beta") and not isinstance(yi, (str, pd.Series, np.ndarray, list, tuple)):
            raise ArgumentTypeError(  # a fitted model where effect sizes belong: say so, not "give vi="
                f"got a fitted {type(yi).__name__} where the effect sizes yi belong; this needs a fit of "
                "bayesma.rma() (an RMAResult) or the effects and their variances (yi, vi)")
        if (vi is None) == (sei is None):
            raise ArgumentTypeError("give exactly one of vi= (sampling variances) or sei= (standard errors)")

        yi_raw = column(data, yi, "yi")
        # pandas arguments pair by index: with data's rows, or (no data) with yi's index
        ref = data.index if data is not None else (yi_raw.index if isinstance(yi_raw, pd.Series) else None)
        k = len(np.atleast_1d(np.asarray(yi_raw, dtype=object)))
        label_values, named = study_labels(data, align(labels, ref, "labels"), k)
        names_for_messages = label_values if named else None

        yi_name = yi if isinstance(yi, str) else "yi"
        yi_arr = as_numeric(yi_raw, yi_name, names_for_messages)
        var_spec, var_arg = (sei, "sei") if sei is not None else (vi, "vi")
        var_name = var_spec if isinstance(var_spec, str) else var_arg
        var_arr = as_numeric(align(column(data, var_spec, var_arg), ref, var_arg), var_name, names_for_messages)
        _same_length(k, var_arr, var_name)

        cluster_arr = None
        cluster_name = cluster if isinstance(cluster, str) else "cluster"
        if cluster is not None:
            cluster_raw = stripped_ids(align(column(data, cluster, "cluster"), ref, "cluster"), f"cluster {cluster_name!r}")
            _same_length(k, cluster_raw, cluster_name)
            cluster_arr = cluster_raw

        frame = data.reset_index(drop=True).copy() if data is not None else pd.DataFrame(index=range(k))
        if data is not None and len(frame) != k:
            raise InputError(f"yi has {k} values but data has {len(frame)} rows")

        # Missing values: effect, variance, cluster, required moderators.
        checks: list[tuple[str, np.ndarray]] = [
            (yi_name, np.isnan(yi_arr)),
            (var_name, np.isnan(var_arr)),
        ]
        if cluster_arr is not None:
            checks.append((cluster_name, pd.isna(cluster_arr)))
        for col in require:
            if col not in frame.columns:
                raise InputError(f"column {col!r} is not in the data; columns are {list(frame.columns)}")
            checks.append((col, frame[col].isna().to_numpy()))
        bad = np.zeros(k, dtype=bool)
        reasons: dict[int, str] = {}
        for col, is_missing in checks:
            for i in np.flatnonzero(is_missing):
                if missing == "raise":
                    raise study_error("has a missing value (use missing='drop' to leave such studies out)",
                                      names_for_messages, i, col)
                bad[i] = True
                reasons.setdefault(i, col)

        # Values that are present but invalid are always errors.
        kind = "standard error" if sei is not None else "variance"
        for name, values, what in ((yi_name, yi_arr, None), (var_name, var_arr, kind)):
            problems = value_problems(values, what)  # the rule shared with the command line's check
            for i in np.flatnonzero(~bad & (problems != "")):
                if problems[i] == "non-finite":
                    raise study_error(f"has a non-finite {what or 'value'} {values[i]}", names_for_messages, i, name)
                if problems[i] == "tiny":
                    raise study_error(f"has a sampling {what} of {values[i]:g}, too small to compute with (its weight "
                                      "would overflow); check the column, or express the effects in other units",
                                      names_for_messages, i, name)
                raise study_error(f"has a {what} of {values[i]:g}; a sampling {what} must be positive",
                                  names_for_messages, i, name)

        dropped = [f"{label_values[i] if named else 'row ' + str(i + 1)} (missing {reasons[i]})" for i in np.flatnonzero(bad)]
        if dropped:
            import warnings

            warnings.warn(
                f"dropped {len(dropped)} of {k} studies with missing values: " + ", ".join(dropped),
                MissingDataWarning, stacklevel=2,
            )
        keep = ~bad
        if keep.sum() == 0:
            raise InputError("no studies left after dropping those with missing values")
        vi_arr = var_arr**2 if sei is not None else var_arr
        return cls(
            yi=yi_arr[keep],
            vi=vi_arr[keep],
            labels=[label_values[i] for i in np.flatnonzero(keep)],
            data=frame.loc[keep].reset_index(drop=True),
            cluster=None if cluster_arr is None else cluster_arr[keep].astype(str),
            dropped=dropped,
            row_index=None if ref is None or len(ref) != k else ref[keep],
            cluster_ids=None if cluster_arr is None else _python_scalars(cluster_arr[keep]),
        )

    def subset(self, mask: np.ndarray) -> MetaData:
        """A MetaData with only the studies where *mask* is true.

        Parameters
        ----------
        mask : array_like of bool, shape (k,)
            Which studies to keep.

        Returns
        -------
        MetaData
            The kept studies (data rows renumbered from 0); ``dropped`` is carried over.

        Examples
        --------
        >>> md = MetaData.create([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], labels=["A", "B", "C"])
        >>> md.subset([True, False, True]).labels
        ['A', 'C']
        """
        mask = np.asarray(mask, dtype=bool)
        return MetaData(
            yi=self.yi[mask],
            vi=self.vi[mask],
            labels=[lab for lab, m in zip(self.labels, mask) if m],
            data=self.data.loc[mask].reset_index(drop=True),
            cluster=None if self.cluster is None else self.cluster[mask],
            dropped=list(self.dropped),
            row_index=None if self.row_index is None else self.row_index[mask],
            cluster_ids=None if self.cluster_ids is None else self.cluster_ids[mask],
        )


def _python_scalars(values: np.ndarray) -> np.ndarray:
    """An object array of the values with numpy scalars as Python's (``np.int64(3)`` -> ``3``)."""
    return np.array([v.item() if isinstance(v, np.generic) else v for v in values], dtype=object)


def _same_length(k: int, values: Any, name: str) -> None:
    n = len(values)
    if n != k:
        raise InputError(f"column {name!r} has {n} values but yi has {k}; they must have one per study")


def study_labels(data: pd.DataFrame | None, labels: Any, k: int) -> tuple[list[str], bool]:
    """Study labels (validated: present, unique after stripping spaces), and whether they are real
    names (not row numbers); by default a ``study``, ``label``, ``author`` or ``trial`` column."""
    if labels is None:
        if data is not None:
            for candidate in ("study", "label", "author", "trial"):
                if candidate in data.columns and data[candidate].is_unique and data[candidate].notna().all():
                    return [str(v) for v in data[candidate]], True
        return [str(i + 1) for i in range(k)], False
    values = column(data, labels, "labels")
    values = list(np.asarray(values, dtype=object))
    _same_length(k, values, labels if isinstance(labels, str) else "labels")
    name = labels if isinstance(labels, str) else "labels"
    seen: dict[str, int] = {}
    out = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise InputError(f"column {name!r}: the study in row {i + 1} has a missing label")
        text = str(value).strip()  # "A" and "A " are one label (then a duplicate)
        if text in seen:
            raise InputError(
                f"column {name!r}: duplicate study label {text!r} in rows {seen[text] + 1} and {i + 1}; "
                "labels must be unique: they name the rows (effects). For several effects of one study give the "
                "study column as cluster= (then labels= names each effect, or leave it out); for several "
                "outcomes fit one outcome at a time, or all of them in one model (MetaAnalysis(..., cluster=, "
                "outcome=) or rma_mv)"
            )
        seen[text] = i
        out.append(text)
    return out, True
