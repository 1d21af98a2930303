"""Effect sizes, their sampling variances, and conversions between effect measures.

:func:`escalc` follows R's ``metafor::escalc`` (measure names, argument names,
zero-cell correction, variance types) and reproduces its numbers; the
``convert_<from>_to_<to>`` functions implement the conversions between
standardized mean differences (d), correlations (r), Fisher's z and log odds
ratios of Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to
Meta-Analysis*, chapter 7; :func:`aggregate` combines dependent effects of one
study (chapter 24; metafor's ``aggregate.escalc``).

Examples
--------
>>> import bayesma as bm
>>> es = bm.escalc("ZCOR", ri=[0.3, 0.1], ni=[50, 120])
>>> es.round(4)
       yi      vi
0  0.3095  0.0213
1  0.1003  0.0085
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

from bayesma._validate import as_numeric, column, study_name

__all__ = [
    "MEASURES",
    "escalc",
    "aggregate",
    "convert_r_to_d",
    "convert_d_to_r",
    "convert_r_to_z",
    "convert_z_to_r",
    "convert_d_to_z",
    "convert_z_to_d",
    "convert_d_to_logor",
    "convert_logor_to_d",
    "convert_r_to_logor",
    "convert_logor_to_r",
]

ArrayLike = Any

# measure -> (description, arguments it accepts, variance types it knows)
_TWO_BY_TWO = ("ai", "bi", "ci", "di", "n1i", "n2i")
_MEANS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
_CORR = ("ri", "ni")
_PROP = ("xi", "mi", "ni")

MEASURES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "SMD": ("standardized mean difference, bias-corrected (Hedges' g)", _MEANS, ("LS", "LS2", "UB", "AV")),
    "MD": ("raw mean difference", _MEANS, ("LS", "UB", "HO")),
    "ROM": ("log ratio of means (response ratio)", _MEANS, ("LS", "HO", "AV", "AVHO")),
    "OR": ("log odds ratio", _TWO_BY_TWO, ("LS",)),
    "RR": ("log risk ratio", _TWO_BY_TWO, ("LS",)),
    "RD": ("risk difference", _TWO_BY_TWO, ("LS", "UB", "AV")),
    "COR": ("raw correlation coefficient", _CORR, ("LS", "AV")),
    "ZCOR": ("Fisher r-to-z transformed correlation", _CORR, ("LS",)),
    "PR": ("raw proportion", _PROP, ("LS", "UB", "AV")),
    "PLO": ("logit transformed proportion (log odds)", _PROP, ("LS", "AV")),
}
"""The measures :func:`escalc` computes: name -> (description, arguments, variance types)."""

_TO_CHOICES = ("all", "only0", "if0all", "none")


# --------------------------------------------------------------------------------------
# escalc
# --------------------------------------------------------------------------------------


def escalc(
    measure: str,
    *,
    ai: ArrayLike = None,
    bi: ArrayLike = None,
    ci: ArrayLike = None,
    di: ArrayLike = None,
    n1i: ArrayLike = None,
    n2i: ArrayLike = None,
    m1i: ArrayLike = None,
    sd1i: ArrayLike = None,
    m2i: ArrayLike = None,
    sd2i: ArrayLike = None,
    ri: ArrayLike = None,
    ni: ArrayLike = None,
    xi: ArrayLike = None,
    mi: ArrayLike = None,
    data: pd.DataFrame | None = None,
    add: float = 0.5,
    to: str = "only0",
    vtype: str = "LS",
    var_names: Sequence[str] = ("yi", "vi"),
    slab: ArrayLike = None,
) -> pd.DataFrame:
    """Compute effect sizes and their sampling variances, as ``metafor::escalc``.

    Every argument that holds study data is an array (one value per study) or
    the name of a column of *data*.

    Parameters
    ----------
    measure : str
        The effect size measure (metafor's names):

        * ``"SMD"``: standardized mean difference with the exact small-sample
          bias correction (Hedges' g), from ``m1i, sd1i, n1i, m2i, sd2i, n2i``;
        * ``"MD"``: raw mean difference; ``"ROM"``: log ratio of means;
        * ``"OR"``, ``"RR"``, ``"RD"``: log odds ratio, log risk ratio and risk
          difference of 2x2 tables, given by ``ai, bi, ci, di`` (events and
          non-events in groups 1 and 2) or ``ai, n1i, ci, n2i``;
        * ``"COR"``, ``"ZCOR"``: raw and Fisher-z transformed correlations,
          from ``ri, ni``;
        * ``"PR"``, ``"PLO"``: raw and logit transformed proportions, from
          ``xi, ni`` (or ``xi, mi``: events and non-events).
    ai, bi, ci, di : array_like or str, optional
        Cells of 2x2 tables: events and non-events of group 1 (ai, bi) and
        group 2 (ci, di).
    n1i, n2i : array_like or str, optional
        Group sizes.
    m1i, sd1i, m2i, sd2i : array_like or str, optional
        Means and standard deviations of groups 1 and 2.
    ri, ni : array_like or str, optional
        Correlations and sample sizes (``ni`` is also the sample size of a
        single proportion).
    xi, mi : array_like or str, optional
        Events and non-events for the single-proportion measures.
    data : pandas.DataFrame, optional
        Table holding the named columns. The result then contains its columns
        first, then *yi* and *vi*, with its index.
    add : float
        The value added to the cells of 2x2 tables (and of single proportions)
        according to *to*; default 1/2.
    to : {"only0", "all", "if0all", "none"}
        Which studies get *add*: those with a zero cell (default), all,
        all if any study has a zero cell, or none. As in metafor, this applies
        to every count measure here (OR, RR, RD, PR, PLO).
    vtype : str
        The sampling variance estimator, metafor's names: ``"LS"`` (large
        sample, the default) for every measure; also ``"LS2"``, ``"UB"``,
        ``"AV"`` for SMD; ``"UB"``, ``"HO"`` for MD; ``"HO"``, ``"AV"``,
        ``"AVHO"`` for ROM; ``"UB"``, ``"AV"`` for RD and PR; ``"AV"`` for
        COR and PLO.
    var_names : (str, str)
        Names of the effect and variance columns.
    slab : array_like or str, optional
        Study labels, used in error messages and stored in
        ``result.attrs["slab"]``.

    Returns
    -------
    pandas.DataFrame
        Columns *yi* and *vi* (named by *var_names*), one row per study, in input
        order; ``result.attrs["measure"]`` names the measure. A study whose input
        is missing (NaN) gets NaN where metafor gives NA; a study whose effect
        or variance is infinite or undefined (for example ``log(0)``) gets NaN in
        both, with a warning naming it.

    Raises
    ------
    ValueError
        Unknown measure, *to* or *vtype*; arrays of different lengths;
        impossible values (negative counts, events above the group size,
        standard deviations <= 0, group sizes <= 1 for mean/SD measures,
        sample sizes <= 1 for correlations, ``|r| > 1``), naming the study and
        the column.
    TypeError
        Missing or superfluous arguments for the measure; non-numeric values
        (naming the study and the column).

    Notes
    -----
    SMD: ``yi = c(m) (m1i - m2i) / s_p`` with the pooled SD ``s_p`` and the exact
    correction ``c(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))``,
    ``m = n1i + n2i - 2``; ``vi = 1/n1i + 1/n2i + yi^2 / (2 (n1i + n2i))``
    (Hedges 1982). Numbers agree with metafor 3.8.1.

    Two deliberate differences from metafor: a standard deviation of 0 and a
    group of one for the mean/SD measures are errors here (metafor computes
    with them).

    Examples
    --------
    >>> import pandas as pd
    >>> import bayesma as bm
    >>> df = pd.DataFrame({"study": ["A", "B"], "tpos": [4, 6], "tneg": [119, 300],
    ...                    "cpos": [11, 29], "cneg": [128, 274]})
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=df, slab="study")
    >>> es[["study", "yi", "vi"]].round(4)
      study      yi      vi
    0     A -0.8893  0.3256
    1     B -1.5854  0.1946
    >>> bm.escalc("SMD", m1i=[55], sd1i=[47], n1i=[155], m2i=[75], sd2i=[64], n2i=[156]).round(4)
           yi      vi
    0 -0.3552  0.0131
    """
    if not isinstance(measure, str):
        raise TypeError(f"measure must be a string such as 'SMD', got {type(measure).__name__}")
    if measure not in MEASURES:
        hint = ""
        if measure.upper() in MEASURES:
            hint = f" (did you mean {measure.upper()!r}?)"
        raise ValueError(
            f"unknown measure {measure!r}{hint}; known measures: "
            + ", ".join(f"{k} ({v[0]})" for k, v in MEASURES.items())
        )
    _, accepted, vtypes = MEASURES[measure]
    if not isinstance(vtype, str) or vtype not in vtypes:
        raise ValueError(f"vtype={vtype!r} is not available for measure {measure!r}; choose one of {list(vtypes)}")
    if to not in _TO_CHOICES:
        raise ValueError(f"to={to!r} is not known; choose one of {list(_TO_CHOICES)}")
    try:
        add = float(add)
    except (TypeError, ValueError):
        raise TypeError(f"add must be a number, got {add!r}") from None
    if not np.isfinite(add) or add < 0:
        raise ValueError(f"add must be a finite number >= 0, got {add}")
    var_names = tuple(var_names)
    if len(var_names) != 2 or not all(isinstance(v, str) for v in var_names) or var_names[0] == var_names[1]:
        raise ValueError(f"var_names must be two different strings, got {var_names!r}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")

    given_raw = {
        "ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i,
        "m1i": m1i, "sd1i": sd1i, "m2i": m2i, "sd2i": sd2i,
        "ri": ri, "ni": ni, "xi": xi, "mi": mi,
    }
    given = {name: value for name, value in given_raw.items() if value is not None}
    extra = sorted(set(given) - set(accepted), key=list(given_raw).index)
    if extra:
        raise TypeError(
            f"measure {measure!r} does not use argument(s) {', '.join(extra)}; "
            f"it takes {', '.join(accepted)}"
        )
    _check_required(measure, given)

    # resolve columns, labels and the number of studies
    resolved = {name: column(data, spec, name) for name, spec in given.items()}
    lengths = {name: _length(value) for name, value in resolved.items()}
    labels = None
    if slab is not None:
        slab_values = column(data, slab, "slab")
        labels = list(np.atleast_1d(np.asarray(slab_values, dtype=object)))
        lengths["slab"] = len(labels)
    if data is not None:
        lengths = {"data": len(data), **lengths}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            "the inputs have different lengths (one value per study is needed): "
            + ", ".join(f"{_display(given.get(n, slab), n)}: {k}" for n, k in lengths.items())
        )
    names = {name: _display(given[name], name) for name in given}
    x = {name: as_numeric(value, names[name], labels) for name, value in resolved.items()}

    ctx = _Context(labels=labels, names=names)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if accepted is _TWO_BY_TWO:
            yi, vi, na_y, na_v = _two_by_two(measure, x, ctx, add, to, vtype)
        elif accepted is _MEANS:
            yi, vi, na_y, na_v = _means(measure, x, ctx, vtype)
        elif accepted is _CORR:
            yi, vi, na_y, na_v = _correlation(measure, x, ctx, vtype)
        else:
            yi, vi, na_y, na_v = _proportion(measure, x, ctx, add, to, vtype)
    yi, vi = _finish(measure, yi, vi, na_y, na_v, labels)

    if data is not None:
        out = data.copy()
        out[var_names[0]] = yi
        out[var_names[1]] = vi
    else:
        out = pd.DataFrame({var_names[0]: yi, var_names[1]: vi})
    out.attrs["measure"] = measure
    if labels is not None:
        out.attrs["slab"] = labels
    return out


class _Context:
    """What error messages need: the study labels and the displayed column names."""

    def __init__(self, labels: list[Any] | None, names: dict[str, str]) -> None:
        self.labels = labels
        self.names = names

    def fail(self, mask: np.ndarray, arg: str | Sequence[str], what: str, values: np.ndarray | None = None) -> None:
        """Raise a ValueError for the first study where *mask* holds."""
        if not np.any(mask):
            return
        i = int(np.flatnonzero(mask)[0])
        args = [arg] if isinstance(arg, str) else list(arg)
        cols = " and ".join(f"column {self.names.get(a, a)!r}" for a in args)
        shown = ""
        if values is not None:
            shown = f" ({self.names.get(args[0], args[0])} = {_fmt(values[i])})"
        more = int(np.sum(mask)) - 1
        tail = f"; {more} more stud{'y' if more == 1 else 'ies'} with the same problem" if more else ""
        raise ValueError(f"{cols}: {study_name(self.labels, i)} {what}{shown}{tail}")


def _fmt(value: float) -> str:
    return f"{value:g}"


def _display(spec: Any, name: str) -> str:
    """How messages name an argument: the data column it came from, or the argument."""
    return spec if isinstance(spec, str) else name


def _length(value: Any) -> int:
    if isinstance(value, (pd.Series, pd.Index)):
        return len(value)
    return len(np.atleast_1d(np.asarray(value, dtype=object)))


def _check_required(measure: str, given: dict[str, Any]) -> None:
    """TypeError when an argument the measure needs is missing."""
    _, accepted, _ = MEASURES[measure]
    missing: list[str] = []
    if accepted is _TWO_BY_TWO:
        for need in ("ai", "ci"):
            if need not in given:
                missing.append(need)
        if "bi" not in given and "n1i" not in given:
            missing.append("bi or n1i")
        if "di" not in given and "n2i" not in given:
            missing.append("di or n2i")
        how = "ai, bi, ci, di (or ai, n1i, ci, n2i)"
    elif accepted is _MEANS:
        missing = [a for a in _MEANS if a not in given]
        how = ", ".join(_MEANS)
    elif accepted is _CORR:
        missing = [a for a in _CORR if a not in given]
        how = "ri, ni"
    else:
        if "xi" not in given:
            missing.append("xi")
        if "ni" not in given and "mi" not in given:
            missing.append("ni or mi")
        how = "xi, ni (or xi, mi)"
    if missing:
        raise TypeError(
            f"measure {measure!r} needs {how}; missing: {', '.join(missing)}"
        )


def _nan(*arrays: np.ndarray) -> np.ndarray:
    """Rows where any of the arrays is missing."""
    out = np.zeros(arrays[0].shape, dtype=bool)
    for a in arrays:
        out |= np.isnan(a)
    return out


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean over the rows where both are present (metafor's .wmean, na.rm=TRUE)."""
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok]))


def _cells_correction(cells: list[np.ndarray], add: float, to: str) -> list[np.ndarray]:
    """Add *add* to the cells of the studies chosen by *to* (metafor's rule)."""
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [c + add for c in cells]
    zero = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        zero |= c == 0  # NaN compares False, like R's NA handled by id0[is.na(id0)] <- FALSE
    if to == "only0":
        return [np.where(zero, c + add, c) for c in cells]
    # if0all
    if np.any(zero):
        return [c + add for c in cells]
    return cells


def _two_by_two(measure, x, ctx, add, to, vtype):
    ai, ci = x["ai"], x["ci"]
    bi, di = x.get("bi"), x.get("di")
    n1i, n2i = x.get("n1i"), x.get("n2i")
    for name in ("ai", "bi", "ci", "di"):
        if name in x:
            ctx.fail(x[name] < 0, name, "has a negative count", x[name])
    for name in ("n1i", "n2i"):
        if name in x:
            ctx.fail(x[name] < 0, name, "has a negative group size", x[name])
    # complete the tables: bi = n1i - ai where bi is not given (or missing)
    for events, other, size, other_name, size_name, ev_name in (
        (ai, bi, n1i, "bi", "n1i", "ai"),
        (ci, di, n2i, "di", "n2i", "ci"),
    ):
        if size is not None:
            ctx.fail(events > size, (ev_name, size_name), "has more events than its group size", events)
            if other is not None:
                ctx.fail(
                    np.abs(events + other - size) > 1e-8 * np.maximum(1.0, np.abs(size)),
                    (size_name, ev_name),
                    f"has {size_name} different from {ev_name} + {other_name}",
                    size,
                )
    if bi is None:
        bi = n1i - ai
    elif n1i is not None:
        bi = np.where(np.isnan(bi), n1i - ai, bi)
    if di is None:
        di = n2i - ci
    elif n2i is not None:
        di = np.where(np.isnan(di), n2i - ci, di)

    missing = _nan(ai, bi, ci, di)
    a, b, c, d = _cells_correction([ai, bi, ci, di], add, to)
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    if measure == "RR":
        yi = np.log(p1) - np.log(p2)
        vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    elif measure == "OR":
        yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
        vi = 1 / a + 1 / b + 1 / c + 1 / d
    else:  # RD
        yi = p1 - p2
        if vtype == "LS":
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        elif vtype == "UB":
            vi = p1 * (1 - p1) / (n1 - 1) + p2 * (1 - p2) / (n2 - 1)
        else:  # AV
            q1, q2 = _wmean(p1, n1), _wmean(p2, n2)
            vi = q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2
    return yi, vi, missing, missing.copy()


def _means(measure, x, ctx, vtype):
    m1, s1, n1, m2, s2, n2 = (x[a] for a in _MEANS)
    for name in ("sd1i", "sd2i"):
        ctx.fail(x[name] <= 0, name, "has a standard deviation <= 0", x[name])
    for name in ("n1i", "n2i"):
        ctx.fail(x[name] <= 1, name, "has a group size <= 1", x[name])
    m = n1 + n2 - 2
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
    if measure == "MD":
        yi = m1 - m2
        if vtype == "HO":
            vi = sdp**2 * (1 / n1 + 1 / n2)
        else:  # LS and UB are the same estimator
            vi = s1**2 / n1 + s2**2 / n2
        return yi, vi, _nan(m1, m2), _nan(s1, s2, n1, n2)
    if measure == "SMD":
        d = (m1 - m2) / sdp
        cm = _hedges_correction(m)
        yi = cm * d
        if vtype == "LS":
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
        elif vtype == "LS2":
            vi = cm**2 * (1 / n1 + 1 / n2 + d**2 / (2 * (n1 + n2)))
        elif vtype == "UB":
            vi = 1 / n1 + 1 / n2 + (1 - (m - 2) / (m * cm**2)) * yi**2
        else:  # AV
            vi = 1 / n1 + 1 / n2 + _wmean(yi, n1 + n2) ** 2 / (2 * (n1 + n2))
        missing = _nan(m1, s1, n1, m2, s2, n2)
        if vtype == "AV":
            return yi, vi, missing, _nan(n1, n2)
        return yi, vi, missing, missing.copy()
    # ROM
    yi = np.log(m1 / m2)
    if vtype == "LS":
        vi = s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
        na_v = _nan(s1, n1, m1, s2, n2, m2)
    elif vtype == "HO":
        vi = sdp**2 / (n1 * m1**2) + sdp**2 / (n2 * m2**2)
        na_v = _nan(s1, n1, m1, s2, n2, m2)
    else:
        cv1, cv2 = s1 / m1, s2 / m2
        if vtype == "AV":
            vi = _wmean(cv1, n1) ** 2 / n1 + _wmean(cv2, n2) ** 2 / n2
        else:  # AVHO: weighted mean of both groups' CVs
            ok = ~_nan(n1, n2, cv1, cv2)
            cv = (np.sum(n1[ok] * cv1[ok]) + np.sum(n2[ok] * cv2[ok])) / np.sum((n1 + n2)[ok])
            vi = cv**2 * (1 / n1 + 1 / n2)
        na_v = _nan(n1, n2)
    return yi, vi, _nan(m1, m2), na_v


def _hedges_correction(m: np.ndarray) -> np.ndarray:
    """Exact bias correction c(m) of the standardized mean difference (Hedges 1981)."""
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(m / 2) - np.log(np.sqrt(m / 2)) - gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def _correlation(measure, x, ctx, vtype):
    r, n = x["ri"], x["ni"]
    ctx.fail(np.abs(r) > 1, "ri", "has a correlation outside [-1, 1]", r)
    ctx.fail(n <= 1, "ni", "has a sample size <= 1", n)
    small = n <= 3
    if np.any(small):
        i = np.flatnonzero(small)
        warnings.warn(
            f"column {ctx.names['ni']!r}: the sampling variance cannot be estimated when ni <= 3; "
            f"vi is NaN for {', '.join(study_name(ctx.labels, j) for j in i)}",
            RuntimeWarning,
            stacklevel=3,
        )
    if measure == "COR":
        yi = r.copy()
        if vtype == "LS":
            vi = (1 - yi**2) ** 2 / (n - 1)
            na_v = _nan(r, n)
        else:  # AV
            vi = (1 - _wmean(yi, n) ** 2) ** 2 / (n - 1)
            na_v = _nan(n)
    else:  # ZCOR
        yi = np.arctanh(r)
        vi = 1 / (n - 3)
        na_v = _nan(n)
    vi = np.where(small, np.nan, vi)
    return yi, vi, _nan(r), na_v | small


def _proportion(measure, x, ctx, add, to, vtype):
    xi = x["xi"]
    mi, ni = x.get("mi"), x.get("ni")
    ctx.fail(xi < 0, "xi", "has a negative count", xi)
    if mi is not None:
        ctx.fail(mi < 0, "mi", "has a negative count", mi)
    if ni is not None:
        ctx.fail(ni <= 0, "ni", "has a sample size <= 0", ni)
        ctx.fail(xi > ni, ("xi", "ni"), "has more events than its sample size", xi)
        if mi is not None:
            ctx.fail(
                np.abs(xi + mi - ni) > 1e-8 * np.maximum(1.0, np.abs(ni)),
                ("ni", "xi"), "has ni different from xi + mi", ni,
            )
            mi = np.where(np.isnan(mi), ni - xi, mi)
        else:
            mi = ni - xi
    else:
        ctx.fail(xi + mi <= 0, ("xi", "mi"), "has a sample size xi + mi <= 0", xi + mi)
    missing = _nan(xi, mi)
    a, b = _cells_correction([xi, mi], add, to)
    n = a + b
    p = a / n
    if measure == "PR":
        yi = p
        if vtype == "LS":
            vi = p * (1 - p) / n
        elif vtype == "UB":
            vi = p * (1 - p) / (n - 1)
        else:
            q = _wmean(p, n)
            vi = q * (1 - q) / n
    else:  # PLO
        yi = np.log(p / (1 - p))
        if vtype == "LS":
            vi = 1 / a + 1 / b
        else:
            q = _wmean(p, n)
            vi = 1 / (q * n) + 1 / ((1 - q) * n)
    na_v = _nan(n) if vtype == "AV" else missing.copy()
    return yi, vi, missing, na_v


def _finish(measure, yi, vi, na_y, na_v, labels):
    """metafor's final clean-up: infinite or undefined values give NaN in both columns.

    ``na_y``/``na_v`` mark the values that are missing because an input was
    (R's NA, which the clean-up leaves alone); any other NaN was produced by
    the computation (R's NaN) and blanks the whole study.
    """
    yi = np.asarray(yi, dtype=float).copy()
    vi = np.asarray(vi, dtype=float).copy()
    yi[na_y] = np.nan
    vi[na_v] = np.nan
    bad_inf = np.isinf(yi) | np.isinf(vi)
    bad_nan = (np.isnan(yi) & ~na_y) | (np.isnan(vi) & ~na_v)
    bad = bad_inf | bad_nan
    if np.any(bad):
        idx = np.flatnonzero(bad)
        warnings.warn(
            f"{measure}: yi and/or vi are infinite or undefined (for example the log of 0 "
            f"or of a negative ratio) for {', '.join(study_name(labels, i) for i in idx)}; "
            "set to NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        yi[bad] = np.nan
        vi[bad] = np.nan
    vi[vi < 0] = np.nan
    return yi, vi


# --------------------------------------------------------------------------------------
# conversions (Borenstein et al. 2009, ch. 7)
# --------------------------------------------------------------------------------------


def _arr(value: ArrayLike, name: str) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric, got {value!r}") from None
    return out


def _where(name: str, arr: np.ndarray, mask: np.ndarray) -> str:
    """Name the first element where *mask* holds, e.g. ``r[3] = 1.2``."""
    if arr.ndim == 0:
        return f"{name} = {_fmt(float(arr))}"
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    pos = idx[0] if len(idx) == 1 else idx
    return f"{name}[{pos}] = {_fmt(float(arr[idx]))}"


def _check(name: str, arr: np.ndarray, mask: np.ndarray, what: str) -> None:
    mask = np.broadcast_to(mask, arr.shape)
    if np.any(mask):
        raise ValueError(f"{_where(name, arr, mask)}: {what}")


def _out(est: np.ndarray, var: np.ndarray) -> tuple[Any, Any]:
    if np.ndim(est) == 0 and np.ndim(var) == 0:
        return float(est), float(var)
    return np.asarray(est, dtype=float), np.asarray(var, dtype=float)


def _check_r(r: np.ndarray, name: str = "r") -> None:
    _check(name, r, np.abs(r) >= 1, "a correlation must lie strictly between -1 and 1")


def _check_var(v: np.ndarray, name: str) -> None:
    _check(name, v, v < 0, "a variance must not be negative")


def _n_or_var_r(n: ArrayLike, var_r: ArrayLike, fname: str) -> None:
    """TypeError unless exactly one of the sample size *n* and the variance *var_r* is given."""
    if n is None and var_r is None:
        raise TypeError(f"{fname}() needs the sample size n or the variance var_r")
    if n is not None and var_r is not None:
        raise TypeError(f"{fname}(): give the sample size n or the variance var_r, not both")


def _r_variance(r: np.ndarray, n: ArrayLike, var_r: ArrayLike, fname: str, min_n: int) -> np.ndarray:
    """var_r from n (the large-sample (1 - r^2)^2 / (n - 1)) or as given."""
    _n_or_var_r(n, var_r, fname)
    if var_r is not None:
        v = _arr(var_r, "var_r")
        _check_var(v, "var_r")
        return v
    nn = _arr(n, "n")
    _check("n", nn, nn <= min_n, f"the sample size must be larger than {min_n}")
    return (1 - r**2) ** 2 / (nn - 1)


def convert_r_to_d(r: ArrayLike, n: ArrayLike = None, var_r: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a correlation to a standardized mean difference.

    ``d = 2 r / sqrt(1 - r^2)`` and ``var_d = 4 var_r / (1 - r^2)^3``, with
    ``var_r = (1 - r^2)^2 / (n - 1)`` when the sample size is given
    (Borenstein et al. 2009, eqs. 7.5-7.6).

    Parameters
    ----------
    r : float or array_like
        Correlation(s), strictly between -1 and 1.
    n : float or array_like, optional
        Total sample size(s) (> 1). Give *n* or *var_r*.
    var_r : float or array_like, optional
        Sampling variance(s) of *r*.

    Returns
    -------
    (d, var_d) : floats, or arrays for array input

    Raises
    ------
    ValueError
        ``|r| >= 1``, ``n <= 1`` or a negative variance, naming the element.

    Examples
    --------
    >>> from bayesma import convert_r_to_d
    >>> d, v = convert_r_to_d(-0.22, 124)
    >>> round(d, 3), round(v, 4)
    (-0.451, 0.0342)
    """
    rr = _arr(r, "r")
    _check_r(rr)
    vr = _r_variance(rr, n, var_r, "convert_r_to_d", 1)
    d = 2 * rr / np.sqrt(1 - rr**2)
    vd = 4 * vr / (1 - rr**2) ** 3
    return _out(d, vd)


def _d_to_r_a(n1: ArrayLike, n2: ArrayLike, fname: str) -> Any:
    if (n1 is None) != (n2 is None):
        raise TypeError(f"{fname}(): give both group sizes n1 and n2, or neither")
    if n1 is None:
        return 4.0
    a1, a2 = _arr(n1, "n1"), _arr(n2, "n2")
    _check("n1", a1, a1 <= 0, "a group size must be positive")
    _check("n2", a2, a2 <= 0, "a group size must be positive")
    return (a1 + a2) ** 2 / (a1 * a2)


def convert_d_to_r(d: ArrayLike, var_d: ArrayLike, n1: ArrayLike = None, n2: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a standardized mean difference to a (point-biserial) correlation.

    ``r = d / sqrt(d^2 + a)`` and ``var_r = a^2 var_d / (d^2 + a)^3`` with
    ``a = (n1 + n2)^2 / (n1 n2)``, or ``a = 4`` (equal groups) when the group
    sizes are not given (Borenstein et al. 2009, eqs. 7.7-7.8).

    Parameters
    ----------
    d, var_d : float or array_like
        Standardized mean difference(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes (give both or neither).

    Returns
    -------
    (r, var_r) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_d_to_r
    >>> r, v = convert_d_to_r(0.5, 0.04)
    >>> round(r, 4), round(v, 5)
    (0.2425, 0.00834)
    """
    dd = _arr(d, "d")
    vd = _arr(var_d, "var_d")
    _check_var(vd, "var_d")
    a = _d_to_r_a(n1, n2, "convert_d_to_r")
    r = dd / np.sqrt(dd**2 + a)
    vr = a**2 * vd / (dd**2 + a) ** 3
    return _out(r, vr)


def convert_r_to_z(r: ArrayLike, n: ArrayLike = None, var_r: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a correlation to Fisher's z.

    ``z = atanh(r) = 0.5 log((1 + r) / (1 - r))`` with ``var_z = 1 / (n - 3)``
    when the sample size is given (Borenstein et al. 2009, eqs. 6.2-6.3), or
    by the delta method ``var_z = var_r / (1 - r^2)^2`` from *var_r*.

    Parameters
    ----------
    r : float or array_like
        Correlation(s), strictly between -1 and 1.
    n : float or array_like, optional
        Sample size(s), larger than 3. Give *n* or *var_r*.
    var_r : float or array_like, optional
        Sampling variance(s) of *r*.

    Returns
    -------
    (z, var_z) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_r_to_z
    >>> z, v = convert_r_to_z(0.5, 103)
    >>> round(z, 4), v
    (0.5493, 0.01)
    """
    rr = _arr(r, "r")
    _check_r(rr)
    _n_or_var_r(n, var_r, "convert_r_to_z")
    z = np.arctanh(rr)
    if n is not None:
        nn = _arr(n, "n")
        _check("n", nn, nn <= 3, "the variance of Fisher's z needs a sample size larger than 3")
        vz = 1 / (nn - 3) + 0 * rr
    else:
        vr = _arr(var_r, "var_r")
        _check_var(vr, "var_r")
        vz = vr / (1 - rr**2) ** 2
    return _out(z, vz)


def convert_z_to_r(z: ArrayLike, var_z: ArrayLike) -> tuple[Any, Any]:
    """Convert Fisher's z back to a correlation.

    ``r = tanh(z)`` and, by the delta method, ``var_r = (1 - r^2)^2 var_z``;
    the inverse of :func:`convert_r_to_z` with ``var_r``.

    Parameters
    ----------
    z, var_z : float or array_like
        Fisher's z value(s) and their sampling variance(s).

    Returns
    -------
    (r, var_r) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_z_to_r
    >>> r, v = convert_z_to_r(0.5493, 0.01)
    >>> round(r, 3), round(v, 5)
    (0.5, 0.00563)
    """
    zz = _arr(z, "z")
    vz = _arr(var_z, "var_z")
    _check_var(vz, "var_z")
    r = np.tanh(zz)
    vr = (1 - r**2) ** 2 * vz
    return _out(r, vr)


def convert_d_to_z(d: ArrayLike, var_d: ArrayLike, n1: ArrayLike = None, n2: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a standardized mean difference to Fisher's z, through r.

    :func:`convert_d_to_r`, then :func:`convert_r_to_z` with the variance of r.

    Parameters
    ----------
    d, var_d : float or array_like
        Standardized mean difference(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes (give both or neither).

    Returns
    -------
    (z, var_z) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_d_to_z
    >>> z, v = convert_d_to_z(0.5, 0.04)
    >>> round(z, 4), round(v, 5)
    (0.2475, 0.00941)
    """
    r, vr = convert_d_to_r(d, var_d, n1, n2)
    return convert_r_to_z(r, var_r=vr)


def convert_z_to_d(z: ArrayLike, var_z: ArrayLike) -> tuple[Any, Any]:
    """Convert Fisher's z to a standardized mean difference, through r.

    :func:`convert_z_to_r`, then :func:`convert_r_to_d` with the variance of r.

    Parameters
    ----------
    z, var_z : float or array_like
        Fisher's z value(s) and their sampling variance(s).

    Returns
    -------
    (d, var_d) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_z_to_d
    >>> d, v = convert_z_to_d(0.2475, 0.00941)
    >>> round(d, 2), round(v, 3)
    (0.5, 0.04)
    """
    r, vr = convert_z_to_r(z, var_z)
    return convert_r_to_d(r, var_r=vr)


def convert_logor_to_d(logor: ArrayLike, var_logor: ArrayLike) -> tuple[Any, Any]:
    """Convert a log odds ratio to a standardized mean difference.

    ``d = log(OR) sqrt(3) / pi`` and ``var_d = var_logor 3 / pi^2``
    (the logistic-distribution method; Borenstein et al. 2009, eqs. 7.1-7.2).

    Parameters
    ----------
    logor, var_logor : float or array_like
        Log odds ratio(s) and their sampling variance(s).

    Returns
    -------
    (d, var_d) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_logor_to_d
    >>> d, v = convert_logor_to_d(0.9069, 0.0676)
    >>> round(d, 4), round(v, 4)
    (0.5, 0.0205)
    """
    lo = _arr(logor, "logor")
    vl = _arr(var_logor, "var_logor")
    _check_var(vl, "var_logor")
    return _out(lo * math.sqrt(3) / math.pi, vl * 3 / math.pi**2)


def convert_d_to_logor(d: ArrayLike, var_d: ArrayLike) -> tuple[Any, Any]:
    """Convert a standardized mean difference to a log odds ratio.

    ``log(OR) = d pi / sqrt(3)`` and ``var_logor = var_d pi^2 / 3``
    (Borenstein et al. 2009, eqs. 7.3-7.4).

    Parameters
    ----------
    d, var_d : float or array_like
        Standardized mean difference(s) and their sampling variance(s).

    Returns
    -------
    (logor, var_logor) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_d_to_logor
    >>> lo, v = convert_d_to_logor(0.5, 0.0205)
    >>> round(lo, 4), round(v, 4)
    (0.9069, 0.0674)
    """
    dd = _arr(d, "d")
    vd = _arr(var_d, "var_d")
    _check_var(vd, "var_d")
    return _out(dd * math.pi / math.sqrt(3), vd * math.pi**2 / 3)


def convert_r_to_logor(r: ArrayLike, n: ArrayLike = None, var_r: ArrayLike = None) -> tuple[Any, Any]:
    """Convert a correlation to a log odds ratio, through d.

    :func:`convert_r_to_d`, then :func:`convert_d_to_logor`.

    Parameters
    ----------
    r : float or array_like
        Correlation(s), strictly between -1 and 1.
    n : float or array_like, optional
        Sample size(s). Give *n* or *var_r*.
    var_r : float or array_like, optional
        Sampling variance(s) of *r*.

    Returns
    -------
    (logor, var_logor) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_r_to_logor
    >>> lo, v = convert_r_to_logor(-0.22, 124)
    >>> round(lo, 3), round(v, 3)
    (-0.818, 0.112)
    """
    d, vd = convert_r_to_d(r, n, var_r)
    return convert_d_to_logor(d, vd)


def convert_logor_to_r(
    logor: ArrayLike, var_logor: ArrayLike, n1: ArrayLike = None, n2: ArrayLike = None
) -> tuple[Any, Any]:
    """Convert a log odds ratio to a correlation, through d.

    :func:`convert_logor_to_d`, then :func:`convert_d_to_r`.

    Parameters
    ----------
    logor, var_logor : float or array_like
        Log odds ratio(s) and their sampling variance(s).
    n1, n2 : float or array_like, optional
        Group sizes for the d-to-r step (give both or neither).

    Returns
    -------
    (r, var_r) : floats, or arrays for array input

    Examples
    --------
    >>> from bayesma import convert_logor_to_r
    >>> r, v = convert_logor_to_r(-0.818, 0.112)
    >>> round(r, 2)
    -0.22
    """
    d, vd = convert_logor_to_d(logor, var_logor)
    return convert_d_to_r(d, vd, n1, n2)


# --------------------------------------------------------------------------------------
# aggregate (Borenstein et al. 2009, ch. 24; metafor's aggregate.escalc)
# --------------------------------------------------------------------------------------


def aggregate(
    data: pd.DataFrame,
    yi: str = "yi",
    vi: str = "vi",
    cluster: str = "study",
    rho: float = 0.5,
    weighted: bool = False,
) -> pd.DataFrame:
    """Combine the dependent effects of each cluster (study) into one.

    The effects within a cluster are assumed to correlate with the constant
    correlation *rho*, so their covariance matrix is compound-symmetric:
    ``V[i, j] = rho sqrt(vi[i] vi[j])`` off the diagonal and ``vi[i]`` on it.

    * ``weighted=False`` (Borenstein et al. 2009, ch. 24): the mean of the
      m effects, with variance ``(1/m)^2 (sum vi + sum_{i != j} rho sqrt(vi vj))``.
    * ``weighted=True`` (metafor's ``aggregate.escalc``): the generalized
      least squares estimate ``(1'V^-1 1)^-1 1'V^-1 y`` with variance
      ``(1'V^-1 1)^-1``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per effect.
    yi, vi, cluster : str
        Column names of the effects, their sampling variances and the cluster ids.
    rho : float
        Correlation between the effects of one cluster, in [-1, 1].
    weighted : bool
        Inverse-variance weighting (GLS) instead of the plain mean.

    Returns
    -------
    pandas.DataFrame
        One row per cluster, in the order of first appearance: the other
        columns of the cluster's first row, the combined *yi* and *vi*, and
        ``n_effects`` (the number of effects combined). The index is 0..n-1.

    Raises
    ------
    ValueError
        A missing cluster id, effect or variance (naming the row and column),
        a negative variance, *rho* outside [-1, 1], or (weighted) a covariance
        matrix that is not positive definite in a cluster (naming it).

    Examples
    --------
    >>> import pandas as pd
    >>> import bayesma as bm
    >>> df = pd.DataFrame({"study": ["A", "A", "B"], "yi": [0.2, 0.4, 0.1], "vi": [0.04, 0.04, 0.02]})
    >>> bm.aggregate(df, rho=0.5)
      study   yi    vi  n_effects
    0     A  0.3  0.03          2
    1     B  0.1  0.02          1
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for role, name in (("yi", yi), ("vi", vi), ("cluster", cluster)):
        column(data, name, role)  # a name that is not a column: ValueError listing the columns
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise TypeError(f"rho must be a number, got {rho!r}") from None
    if not -1 <= rho <= 1:
        raise ValueError(f"rho must lie in [-1, 1], got {rho}")
    if len(data) == 0:
        raise ValueError("data has no rows")

    y = as_numeric(data[yi], yi)
    v = as_numeric(data[vi], vi)
    cl = data[cluster]
    for name, arr in ((yi, y), (vi, v)):
        bad = np.isnan(arr)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"column {name!r}: row {i + 1} (cluster {cl.iloc[i]!r}) is missing; "
                "remove or impute it before aggregating"
            )
    bad = v < 0
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"column {vi!r}: row {i + 1} (cluster {cl.iloc[i]!r}) has a negative variance {_fmt(v[i])}")
    if cl.isna().any():
        i = int(np.flatnonzero(cl.isna().to_numpy())[0])
        raise ValueError(f"column {cluster!r}: row {i + 1} has no cluster id")

    codes, uniques = pd.factorize(cl, sort=False)
    n_clusters = len(uniques)
    first = np.zeros(n_clusters, dtype=int)
    yi_agg = np.empty(n_clusters)
    vi_agg = np.empty(n_clusters)
    counts = np.bincount(codes, minlength=n_clusters)
    for g in range(n_clusters):
        rows = np.flatnonzero(codes == g)
        first[g] = rows[0]
        yg, vg = y[rows], v[rows]
        s = np.sqrt(vg)
        V = rho * np.outer(s, s)
        np.fill_diagonal(V, vg)
        m = len(rows)
        if not weighted:
            yi_agg[g] = yg.mean()
            vi_agg[g] = V.sum() / m**2
            continue
        eig = np.linalg.eigvalsh(V)
        if eig[0] <= 1e-12 * max(eig[-1], 0.0) or eig[-1] <= 0:
            raise ValueError(
                f"cluster {uniques[g]!r}: the covariance matrix of its {m} effects (rho = {rho}) "
                "is not positive definite, so the weighted (GLS) estimate is undefined; "
                "use rho < 1 or weighted=False"
            )
        L = np.linalg.cholesky(V)
        a = np.linalg.solve(L, np.ones(m))
        b = np.linalg.solve(L, yg)
        w_sum = float(a @ a)  # 1' V^-1 1
        yi_agg[g] = float(a @ b) / w_sum
        vi_agg[g] = 1 / w_sum

    out = data.iloc[first].copy()
    out[yi] = yi_agg
    out[vi] = vi_agg
    out["n_effects"] = counts
    return out.reset_index(drop=True)
