"""The counts a GLMM meta-analysis takes, checked, with metafor's drop rules and design.

One function, :func:`glmm_data`, turns the arguments of :func:`bayesma.rma_glmm` into a
:class:`GLMMData`: the counts of each measure (2x2 tables for OR, events and person-times
for IRR, events and sizes for PLO, events and times for IRLN), the study labels, the design
matrix of the moderators, and the study estimates and their sampling variances (metafor's
``escalc`` with rma.glmm's ``add``, ``to`` and ``drop00``, by default 1/2 added to the cells of a
table with a zero cell) that define the typical within-study variance of I² and H².

Rules, as ``rma.glmm``: tables with no events in both groups, or only events in both groups
(``drop00=True``), and IRR studies with no events in both groups, are left out of the fit
with a warning naming them (with ``drop00=False`` they are fitted); so are studies with a
missing count or moderator. Repeated study labels are made unique as metafor does
(``"Smith"`` twice becomes ``"Smith.1"``, ``"Smith.2"``; :func:`bayesma._validate.unique_labels`). Bad counts
(negative, more events than patients, non-integer, a person-time that is not positive) raise
an :class:`~bayesma.InputError` naming the study (label and row) and the column.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma._counts_check import check_counts
from bayesma._validate import as_numeric, columns, study_name, unique_labels
from bayesma.design import design_matrix, drop_redundant
from bayesma.errors import ArgumentTypeError, InputError, MissingDataWarning

__all__ = ["GLMMData", "glmm_data", "drop_empty_groups", "MEASURES", "MODELS", "TO", "escalc_counts"]

MEASURES = ("OR", "RR", "IRR", "PLO", "IRLN")  # RR: metafor's experimental log-link model
MODELS = ("UM.FS", "UM.RS", "CM.EL", "CM.AL")
TO = ("only0", "all", "if0all", "none")  # metafor's to=: which tables get add= in escalc


def _arguments(measure: str) -> tuple[str, ...]:
    """The count arguments *measure* takes (alternatives: n1i for bi, n2i for di, mi for ni)."""
    if measure in ("OR", "RR"):
        return ("ai", "bi", "ci", "di", "n1i", "n2i")
    if measure == "IRR":
        return ("x1i", "t1i", "x2i", "t2i")
    if measure == "PLO":
        return ("xi", "ni", "mi")
    return ("xi", "ti")


@dataclass(frozen=True)
class GLMMData:
    """Validated counts of the studies that enter the fit.

    Attributes
    ----------
    measure : str
    counts : dict of str to numpy.ndarray
        ``ai, bi, ci, di`` (OR), ``x1i, t1i, x2i, t2i`` (IRR), ``xi, ni`` (PLO) or ``xi, ti``
        (IRLN), each of shape (k,).
    labels : list of str
        Labels of the studies in the fit.
    rows : numpy.ndarray
        Their rows (0-based) in the input.
    X : numpy.ndarray, shape (k, p)
        Design matrix of the fixed effects.
    coef_names : list of str
    vi : numpy.ndarray, shape (k,)
        Sampling variances of the study estimates (``escalc`` with *add*, *to*, *drop00*).
    k_all : int
        Studies in the input.
    dropped : list of str
        Labels of the studies left out, with the reason.
    yi : numpy.ndarray, shape (k,)
        The study estimates of the measure (``escalc`` as *vi*); NaN where escalc has none
        (metafor's NA: an infinite estimate with ``to="none"``, a double-zero table).
    """

    measure: str
    counts: dict[str, np.ndarray]
    labels: list[str]
    rows: np.ndarray
    X: np.ndarray
    coef_names: list[str]
    vi: np.ndarray
    k_all: int
    dropped: list[str] = field(default_factory=list)
    yi: np.ndarray | None = None

    @property
    def k(self) -> int:
        """Number of studies in the fit."""
        return len(self.labels)


def glmm_data(measure: str, args: dict[str, Any], mods: Any, data: pd.DataFrame | None,
              slab: Any, add: float = 0.5, to: str = "only0", drop00: bool = True, vtype: str = "LS") -> GLMMData:
    """Check the counts of *measure* (``args``: argument name -> column name or values) and
    build the design of *mods*; see the module docstring for the rules (*add*, *to*, *drop00*:
    *vtype*: metafor's)."""
    if measure not in MEASURES:
        raise InputError(f"rma_glmm takes measure 'OR', 'IRR', 'PLO', 'IRLN' or (experimental) 'RR', got {measure!r}"
                         + ("; metafor's experimental RD, PR and PLN are not offered" if measure in ("RD", "PR", "PLN")
                            else ""))
    allowed = _arguments(measure)
    extra = [n for n, v in args.items() if v is not None and n not in allowed]
    if extra:
        raise ArgumentTypeError(f"measure {measure!r} takes {', '.join(allowed)}; {', '.join(extra)} cannot be used")
    given = {n: v for n, v in args.items() if v is not None}
    resolved = columns(data, {**given, "slab": slab})  # Series pair by index, never by position
    labels = None
    if slab is not None:
        labels = [str(s) for s in np.atleast_1d(np.asarray(resolved["slab"], dtype=object))]
    raw = {n: as_numeric(resolved[n], v if isinstance(v, str) else n, labels) for n, v in given.items()}
    counts = _complete(measure, raw)
    k_all = len(next(iter(counts.values())))
    if any(len(v) != k_all for v in counts.values()):
        raise InputError("the counts have different lengths: "
                         + ", ".join(f"{n}: {len(v)}" for n, v in counts.items()))
    if labels is None:
        labels = [str(i + 1) for i in range(k_all)]
    elif len(labels) != k_all:
        raise InputError(f"slab has {len(labels)} labels for {k_all} studies")
    else:
        labels = unique_labels(labels)
    check_counts(raw, labels, {n: v for n, v in given.items() if isinstance(v, str)})
    X, names = _design(mods, data, k_all, labels)
    keep = np.ones(k_all, dtype=bool)
    missing = np.zeros(k_all, dtype=bool)
    for v in counts.values():
        missing |= np.isnan(v)
    missing |= np.any(~np.isfinite(X), axis=1)
    dropped = []
    if np.any(missing):
        names_na = ", ".join(study_name(labels, int(i)) for i in np.flatnonzero(missing))
        warnings.warn(f"{names_na}: missing counts or moderators; left out of the fit (as metafor)",
                      MissingDataWarning, stacklevel=3)
        dropped += [f"{labels[i]} (missing values)" for i in np.flatnonzero(missing)]
        keep &= ~missing
    double = _double_zero(measure, counts) & keep
    if drop00 and np.any(double):
        idx = np.flatnonzero(double)
        names_00 = ", ".join(study_name(labels, int(i)) for i in idx)
        what = ("no events in both groups, or only events in both groups" if measure in ("OR", "RR")
                else "no events in both groups")
        warnings.warn(f"{names_00}: {what}; such a study says nothing about the {measure} and is left out of the "
                      "fit (metafor's drop00=TRUE)", MissingDataWarning, stacklevel=3)
        dropped += [f"{labels[i]} (double zero)" for i in idx]
        keep &= ~double
    if not np.any(keep):
        raise InputError("no study is left to fit (every study has missing counts or is a double-zero study)")
    rows = np.flatnonzero(keep)
    Xk, names = drop_redundant(X[keep], names)
    counts_k = {n: v[keep] for n, v in counts.items()}
    yi, vi = escalc_counts(measure, counts, add, to, drop00, vtype)  # over all studies, as metafor (to="if0all")
    return GLMMData(measure, counts_k, [labels[i] for i in rows], rows, Xk, names, vi[keep], k_all, dropped,
                    yi=yi[keep])


def drop_empty_groups(gd: GLMMData, model: str) -> GLMMData:
    """The conditional models (OR with CM.EL, CM.AL) given a table with an empty group (n1i or n2i
    = 0): its margins fix the table, so its likelihood does not depend on the OR (CM.AL's offset
    log(n1i/n2i) is infinite). Such studies are left out with a warning naming them (metafor stops:
    "Cannot fit FE model"); UM.FS and UM.RS fit them as metafor does."""
    if gd.measure != "OR" or model not in ("CM.EL", "CM.AL"):
        return gd
    c = gd.counts
    empty = (c["ai"] + c["bi"] == 0) | (c["ci"] + c["di"] == 0)
    if not np.any(empty):
        return gd
    if np.all(empty):
        raise InputError(f"every study has an empty group: model {model!r} has nothing to fit")
    idx = np.flatnonzero(empty)
    names = ", ".join(f"study {gd.labels[i]!r} (row {gd.rows[i] + 1})" for i in idx)
    warnings.warn(f"{names}: a group of size 0; given its margins the table does not depend on the OR, so model "
                  f"{model!r} cannot use it and it is left out of the fit (metafor cannot fit the model with it)",
                  MissingDataWarning, stacklevel=3)
    keep = ~empty
    X, coef_names = drop_redundant(gd.X[keep], gd.coef_names)
    return GLMMData(gd.measure, {n: v[keep] for n, v in c.items()}, [gd.labels[i] for i in np.flatnonzero(keep)],
                    gd.rows[keep], X, coef_names, gd.vi[keep], gd.k_all,
                    gd.dropped + [f"{gd.labels[i]} (empty group)" for i in idx],
                    yi=None if gd.yi is None else gd.yi[keep])


def _complete(measure: str, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The counts of *measure* with ``bi = n1i - ai``, ``di = n2i - ci``, ``ni = xi + mi``."""
    def need(*names: str) -> None:
        missing = [n for n in names if n not in raw]
        if missing:
            raise ArgumentTypeError(f"measure {measure!r} needs {', '.join(missing)}")

    if measure in ("OR", "RR"):
        need("ai", "ci")
        if "bi" not in raw and "n1i" not in raw or "di" not in raw and "n2i" not in raw:
            raise ArgumentTypeError(f"measure {measure!r} needs ai, bi, ci, di (or ai, n1i, ci, n2i): events and non-events "
                                    "(or group sizes) of groups 1 and 2")
        for given, size, cells in (("bi", "n1i", "ai"), ("di", "n2i", "ci")):
            if given in raw and size in raw:
                raise ArgumentTypeError(f"give {given} or {size}, not both")
        b = raw["bi"] if "bi" in raw else raw["n1i"] - raw["ai"]
        d = raw["di"] if "di" in raw else raw["n2i"] - raw["ci"]
        return {"ai": raw["ai"], "bi": b, "ci": raw["ci"], "di": d}
    if measure == "IRR":
        need("x1i", "t1i", "x2i", "t2i")
        return {n: raw[n] for n in ("x1i", "t1i", "x2i", "t2i")}
    if measure == "PLO":
        need("xi")
        if ("ni" in raw) == ("mi" in raw):
            raise ArgumentTypeError("measure 'PLO' needs xi and ni (events and sizes), or xi and mi (non-events)")
        n = raw["ni"] if "ni" in raw else raw["xi"] + raw["mi"]
        return {"xi": raw["xi"], "ni": n}
    need("xi", "ti")
    return {"xi": raw["xi"], "ti": raw["ti"]}


def _double_zero(measure: str, c: dict[str, np.ndarray]) -> np.ndarray:
    if measure in ("OR", "RR"):
        return ((c["ai"] == 0) & (c["ci"] == 0)) | ((c["bi"] == 0) & (c["di"] == 0))
    if measure == "IRR":
        return (c["x1i"] == 0) & (c["x2i"] == 0)
    return np.zeros(len(next(iter(c.values()))), dtype=bool)


def _design(mods: Any, data: pd.DataFrame | None, k: int, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    if mods is not None and not isinstance(mods, str) and data is not None:
        if isinstance(mods, (pd.Series, pd.DataFrame)):
            mods = mods.reset_index(drop=True)
    frame = data.reset_index(drop=True) if data is not None else None
    X, names = design_matrix(mods, frame, k, labels)
    return np.asarray(X, dtype=float), list(names)


def _cells(measure: str, c: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The cells escalc adds to: a, b, c, d (OR, RR); x1, x2 (IRR); x, n - x (PLO); x (IRLN)."""
    if measure in ("OR", "RR"):
        return [c["ai"], c["bi"], c["ci"], c["di"]]
    if measure == "IRR":
        return [c["x1i"], c["x2i"]]
    if measure == "PLO":
        return [c["xi"], c["ni"] - c["xi"]]
    return [c["xi"]]


def escalc_counts(measure: str, c: dict[str, np.ndarray], add: float = 0.5, to: str = "only0",
                  drop00: bool = True, vtype: str = "LS") -> tuple[np.ndarray, np.ndarray]:
    """metafor's ``escalc`` estimates and sampling variances of the counts *c*, as ``rma.glmm``
    calls it: *add* is added to every cell of every table (``to="all"``), of the tables with a
    zero cell (``"only0"``), of all tables when any has a zero cell (``"if0all"``), or of none
    (``"none"``); with *drop00* double-zero tables (OR, IRR) have none. An estimate or variance
    that is infinite (a zero cell left as it is) is NaN, as metafor recodes it to NA. *vtype*
    ``"AV"`` (PLO only) uses the average proportion (weighted by the sizes) in each variance.

    Returns
    -------
    yi, vi : numpy.ndarray, shape (k,)
    """
    cells = np.stack(_cells(measure, c))
    if drop00 and measure in ("OR", "RR", "IRR"):
        cells = np.where(_double_zero(measure, c), np.nan, cells)
    zero = np.any(cells == 0, axis=0)
    if to == "all":
        cells = cells + add
    elif to == "only0" or (to == "if0all" and np.any(zero)):
        cells = np.where(zero if to == "only0" else True, cells + add, cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        lc = np.log(cells)
        if measure == "OR":
            yi = lc[0] - lc[1] - lc[2] + lc[3]
        elif measure == "RR":  # log(a / n1) - log(c / n2), vi = 1/a - 1/n1 + 1/c - 1/n2
            n1, n2 = cells[0] + cells[1], cells[2] + cells[3]
            yi = lc[0] - np.log(n1) - lc[2] + np.log(n2)
        elif measure == "IRR":
            yi = lc[0] - np.log(c["t1i"]) - lc[1] + np.log(c["t2i"])
        elif measure == "PLO":
            yi = lc[0] - lc[1]
        else:
            yi = lc[0] - np.log(c["ti"])
        vi = np.sum(1.0 / cells, axis=0) if measure != "RR" else 1 / cells[0] - 1 / n1 + 1 / cells[2] - 1 / n2
        if vtype == "AV":  # PLO: 1 / (pbar n) + 1 / ((1 - pbar) n), pbar the n-weighted mean proportion
            n = cells[0] + cells[1]
            has = np.isfinite(n)
            pbar = np.sum(cells[0][has]) / np.sum(n[has])
            vi = 1.0 / (pbar * n) + 1.0 / ((1.0 - pbar) * n)
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    return np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
