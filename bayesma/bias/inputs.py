"""The inputs RoBMA 3.6.1 accepts, turned into data on the fitting scale with RoBMA's cut-point rules.

RoBMA's ``combine_data`` takes one effect size per study (Cohen's ``d``, a correlation
``r``, Fisher's ``z``, a log odds ratio ``logOR`` or an odds ratio ``OR``, or an
unstandardized ``y``) and one measure of its precision (a standard error ``se``, a
variance ``v``, a total sample size ``n`` or a test statistic ``t``). Standardized
effects are fitted on Fisher's z with the priors on Cohen's d; ``y`` is fitted as it
is, with the priors as they are (RoBMA's ``prior_scale = "none"``).

The cut points of the weight functions are the effect sizes at which each study's own
test reaches the step's p-value, computed on the scale the study came in and moved to
the fitting scale (RoBMA's ``.get_cutoffs``):

- ``d``: the t test of d with ``n - 2`` df, ``d_c = 2 t_c / sqrt(n)``, ``n = (d^2 + 8) / (2 se^2)``;
- ``r``: the t test of r with ``n - 2`` df, ``r_c = t_c / sqrt(t_c^2 + n - 2)``, then ``atanh``;
- ``z``: ``z_c = t_c se_z`` with ``n - 2`` df, ``n = 1 / se_z^2 + 3``;
- ``logOR`` / ``OR``: ``logOR_c = q_c se`` with the normal quantile, then to z through d;
- ``y``: ``y_c = q_c se`` with the normal quantile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma import measures
from bayesma._validate import TINY_VARIANCE, as_numeric, column
from bayesma.bias.likelihood import d_to_z
from bayesma.bias.model import FitData
from bayesma.errors import ArgumentTypeError, InputError, study_error

__all__ = ["RobmaInputs", "robma_inputs", "same_scale_measure", "MEASURES", "EFFECT_INPUTS"]

#: effect-size arguments of robma() (RoBMA's names) -> the input scale
EFFECT_INPUTS = ("d", "r", "z", "logOR", "OR", "y")
#: measure names accepted with ``yi=`` (metafor's, and RoBMA's scale names), by the RoBMA input they are
MEASURES = (("d", ("SMD", "SMDH", "D", "COHENS_D")), ("r", ("COR", "R")), ("z", ("ZCOR", "Z", "FISHERS_Z")),
            ("logOR", ("OR", "LOGOR")), ("y", ("GEN", "MD", "Y", "NONE")))
_SUPPORTED = ("'SMD' (Cohen's d; also R2D and OR2DL, d converted from r or a log OR), 'COR' (correlations r), "
              "'ZCOR' (Fisher's z), 'OR' (log odds ratios, metafor's yi for measure='OR') and 'GEN' or 'MD' "
              "(unstandardized effects y)")
_LOGOR_TO_D = math.sqrt(3.0) / math.pi  # RoBMA's logOR2d (the logistic approximation)


@dataclass(frozen=True)
class RobmaInputs:
    """The data of one robma() call: on the fitting scale, and as given.

    Attributes
    ----------
    fit : FitData
        Effects and standard errors on the fitting scale, the cut-point rule, the links.
    y, se : numpy.ndarray of shape (k,)
        Effects and standard errors on the input scale (``se`` of logOR for ``OR``).
    input_scale : str
        ``"d"``, ``"r"``, ``"z"``, ``"logOR"`` or ``"y"`` (``OR`` is read as ``logOR``).
    prior_scale : str
        ``"d"`` (RoBMA's default priors on Cohen's d) or ``"y"`` (priors on the scale of y).
    labels : list or None
    """

    fit: FitData
    y: np.ndarray
    se: np.ndarray
    input_scale: str
    prior_scale: str
    labels: list | None


def _values(data, spec, name, labels) -> np.ndarray:
    return as_numeric(column(data, spec, name), spec if isinstance(spec, str) else name, labels)


def _colname(spec, name: str) -> str:
    return spec if isinstance(spec, str) else name


def _check_finite(x: np.ndarray, col: str, labels) -> None:
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise study_error(f"is missing or not finite ({float(x[bad[0]])!r}); robma() drops nothing silently", labels,
                          int(bad[0]), col)


def _check_positive(x: np.ndarray, col: str, labels, what: str) -> None:
    bad = np.flatnonzero(~(x > 0))
    if bad.size:
        raise study_error(f"has {what} {float(x[bad[0]]):g}; it must be positive", labels, int(bad[0]), col)


def same_scale_measure(measure: Any) -> str | None:
    """The measure robma fits for an escalc measure on the scale of one of RoBMA's inputs, or None.

    ``R2D`` (Cohen's d from a correlation) and ``OR2DL`` (d from a log odds ratio) are on Cohen's d scale and
    are fitted as ``SMD``; ``D2ORL`` as ``OR``. The registry (:mod:`bayesma.measures`) decides: same scale,
    unit-information SD and back-transform as the target.

    Examples
    --------
    >>> same_scale_measure("R2D"), same_scale_measure("RR")
    ('SMD', None)
    """
    try:
        m = measures.get(str(measure).strip().upper())
    except (KeyError, ValueError):
        return None
    for target in ("SMD", "OR", "ZCOR"):
        t = measures.get(target)
        if (m.scale, m.unit_sd, m.back_label) == (t.scale, t.unit_sd, t.back_label):
            return target
    return None


def _registry_name(measure: Any) -> str:
    """The measure's name by the one registry's rule (bayesma.measures: case, aliases), else its upper case."""
    try:
        return measures.lookup(str(measure)) or str(measure).upper()
    except ValueError:
        return str(measure).upper()


def _pick_effect(data, effects: Mapping[str, Any], yi, measure, t, n) -> tuple[str, Any, str]:
    """Which effect input was given: (input scale, values or column, argument name)."""
    given = [(k, v) for k, v in effects.items() if v is not None]
    if yi is not None:
        key = _registry_name(measure)
        scale = next((sc for sc, names in MEASURES if key in names), None)
        if scale is None and same_scale_measure(key) is not None:  # R2D: d from r, fitted as SMD
            same = same_scale_measure(key)
            scale = next(sc for sc, names in MEASURES if same in names)
        if scale is None:
            raise InputError(f"robma(): measure {measure!r} is not supported; RoBMA's inputs are {_SUPPORTED}")
        given.append((scale, yi))
    if len(given) > 1:
        names = ", ".join("yi" if v is yi and yi is not None else k for k, v in given)
        raise ArgumentTypeError(f"robma() takes one effect-size input per analysis, got {names} "
                                "(RoBMA's 'only one effect size measure per study')")
    if given:
        scale, spec = given[0]
        return scale, spec, ("yi" if spec is yi and yi is not None else scale)
    if t is not None and n is not None:
        return "t", None, "t"
    raise ArgumentTypeError("robma() needs effect sizes: yi= with measure=, or one of d=, r=, z=, logOR=, OR=, y= "
                            "(or t= with n=)")


def _precision(data, sei, vi, n, t, labels) -> tuple[str, np.ndarray, str]:
    given = [(k, v) for k, v in (("se", sei), ("vi", vi), ("n", n), ("t", t)) if v is not None]
    if not given:
        raise ArgumentTypeError("robma() needs the precision of each effect: sei= (or se=), vi=, n= or t=")
    if len(given) > 1:
        raise ArgumentTypeError(f"give one of sei= (se=), vi=, n=, t=, not {' and '.join(k for k, _ in given)} "
                                "(RoBMA's 'only one variability measure per study')")
    kind, spec = given[0]
    col = _colname(spec, kind)
    vals = _values(data, spec, kind, labels)
    _check_finite(vals, col, labels)
    if kind == "vi":
        _check_positive(vals, col, labels, "a sampling variance")
        return "se", np.sqrt(vals), col
    if kind == "se":
        _check_positive(vals, col, labels, "a standard error")
    elif kind == "n":
        _check_positive(vals, col, labels, "a sample size")
    elif kind == "t":
        bad = np.flatnonzero(vals == 0)
        if bad.size:
            raise study_error("has a test statistic of 0, which gives no standard error", labels, int(bad[0]), col)
    return kind, vals, col


def _ci_se(data, lci, uci, y: np.ndarray, scale: str, labels, was_or: bool) -> tuple[np.ndarray, str]:
    """Standard error from a 95% confidence interval, as RoBMA's ``combine_data``: on Fisher's z for d and r
    (the se of z, ``(z(uCI) - z(lCI)) / (2 q_.975)``), on their own scale for z, log OR and y."""
    if lci is None or uci is None:
        raise ArgumentTypeError("give both lCI= and uCI= (RoBMA: 'either none or both CI bounds')")
    cols = (_colname(lci, "lCI"), _colname(uci, "uCI"))
    lo, hi = _values(data, lci, "lCI", labels), _values(data, uci, "uCI", labels)
    for x, c in ((lo, cols[0]), (hi, cols[1])):
        _check_finite(x, c, labels)
        if was_or:
            _check_positive(x, c, labels, "an odds-ratio bound")
        if scale == "r":
            bad = np.flatnonzero(~(np.abs(x) < 1.0))
            if bad.size:
                raise study_error(f"has a bound {float(x[bad[0]]):g} outside (-1, 1)", labels, int(bad[0]), c)
    if was_or:
        lo, hi = np.log(lo), np.log(hi)
    bad = np.flatnonzero(~((lo <= y) & (y <= hi) & (lo < hi)))
    if bad.size:
        i = int(bad[0])
        raise study_error(f"has the interval [{float(lo[i]):g}, {float(hi[i]):g}], which must be increasing and hold "
                          f"the effect {float(y[i]):g}", labels, i, cols[0])
    to_z = {"d": lambda x: d_to_z(x), "r": np.arctanh}.get(scale, lambda x: x)
    return (to_z(hi) - to_z(lo)) / (2.0 * stats.norm.ppf(0.975)), cols[0]


def _n_from(scale: str, y: np.ndarray, kind: str, v: np.ndarray) -> np.ndarray | None:
    """Total sample size of each study (RoBMA's n_d, n_r, n_z and the t-statistic versions)."""
    if kind == "n":
        return v
    if kind == "ci":  # the standard error of Fisher's z (d, r) or of z itself
        return 1.0 / v**2 + 3.0 if scale in ("d", "r", "z") else None
    if scale == "d":
        return (y**2 + 8.0) / (2.0 * v**2) if kind == "se" else 4.0 * v**2 / y**2
    if scale == "r":
        if kind == "se":  # n_r: se of r to se of d (RoBMA's se_r2se_d), then n_d
            d = 2.0 * y / np.sqrt(1.0 - y**2)
            return (d**2 + 8.0) / (2.0 * (v * (d**2 + 4.0) ** 1.5 / 4.0) ** 2)
        return v**2 * (1.0 - y**2) / y**2 + 2.0
    if scale == "z":
        se = v if kind == "se" else y / v
        return (3.0 * se**2 + 1.0) / se**2
    return None


def robma_inputs(data: pd.DataFrame | None, effects: Mapping[str, Any], *, yi: Any = None, measure: str = "SMD",
                 sei: Any = None, vi: Any = None, n: Any = None, t: Any = None, lCI: Any = None,
                 uCI: Any = None, labels: list | None = None,
                 sign: float = 1.0) -> RobmaInputs:
    """Read one effect input and one precision input, as RoBMA's ``combine_data``; checks every study.

    Parameters
    ----------
    data : pandas.DataFrame or None
        Holds the columns the other arguments name.
    effects : mapping
        ``{"d": ..., "r": ..., "z": ..., "logOR": ..., "OR": ..., "y": ...}`` (None for those not given).
    yi, measure : optional
        Effects with a metafor measure name instead (``"SMD"``, ``"COR"``, ``"ZCOR"``, ``"OR"``, ``"GEN"``).
    sei, vi, n, t : optional
        One precision input: standard errors, sampling variances, total sample sizes or test statistics.
    lCI, uCI : optional
        Or the bounds of 95% confidence intervals (on the scale of the effect; of OR for ``OR``).
    labels : list, optional
        Study labels for messages.
    sign : float
        -1 flips the effects for ``effect_direction = "negative"``.

    Returns
    -------
    RobmaInputs

    Raises
    ------
    InputError
        A correlation outside (-1, 1), a sample size that leaves no degrees of freedom (n <= 3),
        a missing value, a non-positive standard error; the message names the study and column.
    ArgumentTypeError
        No effect input, two of them, or a precision input the effect measure cannot use.
    """
    scale, spec, arg = _pick_effect(data, effects, yi, measure, t, n)
    if scale == "t":  # RoBMA 1's t + n input: a two-group t test with equal groups -> d = 2 t / sqrt(n)
        tv = _values(data, t, "t", labels)
        nv = _values(data, n, "n", labels)
        _check_finite(tv, _colname(t, "t"), labels)
        _check_finite(nv, _colname(n, "n"), labels)
        _check_positive(nv, _colname(n, "n"), labels, "a sample size")
        spec, arg, scale, t = 2.0 * tv / np.sqrt(nv), "t", "d", None
    col = _colname(spec, arg)
    y = _values(data, spec, arg, labels)
    _check_finite(y, col, labels)
    was_or = scale == "OR"
    if was_or:
        _check_positive(y, col, labels, "an odds ratio")
        y, scale = np.log(y), "logOR"
    if scale == "r":
        bad = np.flatnonzero(~(np.abs(y) < 1.0))
        if bad.size:
            raise study_error(f"has a correlation of {float(y[bad[0]]):g}; it must lie in (-1, 1)", labels, int(bad[0]), col)
    if lCI is not None or uCI is not None:
        if any(x is not None for x in (sei, vi, n, t)):
            raise ArgumentTypeError("give one of sei= (se=), vi=, n=, t=, lCI= with uCI= (RoBMA's 'only one "
                                    "variability measure per study')")
        kind, (v, pcol) = "ci", _ci_se(data, lCI, uCI, y, scale, labels, was_or)
    else:
        kind, v, pcol = _precision(data, sei, vi, n, t, labels)
    if y.shape != v.shape:
        raise InputError(f"{col!r} has {y.size} values but {pcol!r} has {v.size}")
    if y.size < 2:
        raise InputError("robma() needs at least 2 studies")
    if kind == "t":
        bad = np.flatnonzero(y == 0)
        if bad.size:
            raise study_error("is 0, so the test statistic gives no standard error", labels, int(bad[0]), col)
        # the test statistic of an effect has the effect's sign (log OR for OR); opposite signs are a data error
        bad = np.flatnonzero(np.sign(y) != np.sign(v))
        if bad.size:
            i = int(bad[0])
            raise study_error(f"is {y[i]:g} but its test statistic {pcol!r} is {v[i]:g}: a test statistic has the "
                              "sign of its effect; correct the sign of one of them", labels, i, col)
    if kind == "n" and scale in ("logOR", "y"):
        raise ArgumentTypeError(f"n= gives no standard error for {'log odds ratios' if scale == 'logOR' else 'y'}; "
                                "give se= (RoBMA's rule: sample sizes only for d, r and z)")
    nn = _n_from(scale, y, kind, v)
    if nn is not None:
        bad = np.flatnonzero(~(nn > 3.0))
        if bad.size:
            i = int(bad[0])
            how = "has" if kind == "n" else "implies"
            read = {"se": "standard errors", "t": "test statistics", "ci": "confidence bounds"}.get(kind, "")
            read = "sampling variances (vi)" if vi is not None else read
            src = "" if kind == "n" else f" with {pcol!r} read as {read}"
            raise study_error(f"{how} a total sample size n = {nn[i]:.4g} <= 3 ({col} = {y[i]:g}{src}): Fisher's z "
                              "needs n > 3 (se = 1 / sqrt(n - 3)) and the t test n - 2 > 0 df", labels, i,
                              pcol if kind == "n" else col)
    out = _to_fit(scale, sign * y, y, v, kind, nn, labels, sign)
    bad = np.flatnonzero(~(out.fit.se >= math.sqrt(TINY_VARIANCE)))
    if bad.size:  # 1 / se^2 overflows: no measurement is that precise
        i = int(bad[0])
        raise study_error(f"has a standard error of {float(out.fit.se[i]):.3g} on the fitting scale (from {pcol!r}), "
                          f"below {math.sqrt(TINY_VARIANCE):g}, where its weight 1 / se^2 overflows; check the "
                          "precision column", labels, i, pcol)
    return out


def _to_fit(scale: str, ys: np.ndarray, y: np.ndarray, v: np.ndarray, kind: str, nn, labels, sign: float):
    """The fitting-scale data (``ys`` holds the effects with the direction applied)."""
    if scale == "y":
        se = v if kind in ("se", "ci") else np.abs(y / v)
        fd = FitData(ys, se, ys, se, "GEN", sign * 1.0, 1.0)
        return RobmaInputs(fd, y, se, "y", "y", labels)
    if scale == "logOR":
        se = v if kind in ("se", "ci") else np.abs(y / v)
        d, se_d = ys * _LOGOR_TO_D, se * _LOGOR_TO_D
        se_z = 1.0 / np.sqrt((d**2 + 8.0) / (2.0 * se_d**2) - 3.0)
        fd = FitData(d_to_z(d), se_z, ys, se, "LOR", sign * 0.5, 0.5)
        return RobmaInputs(fd, y, se, "logOR", "d", labels)
    se_z = 1.0 / np.sqrt(nn - 3.0)
    if scale == "d":
        se_d = np.sqrt(4.0 / nn + y**2 / (2.0 * nn)) if kind != "se" else v
        fd = FitData(d_to_z(ys), se_z, ys, se_d, "SMD", sign * 0.5, 0.5)
        return RobmaInputs(fd, y, se_d, "d", "d", labels)
    if scale == "r":
        fd = FitData(np.arctanh(ys), se_z, ys, se_z, "COR", sign * 0.5, 0.5)
        d = 2.0 * y / np.sqrt(1.0 - y**2)  # RoBMA's se_r: se of d at n, moved to r
        se_r = v if kind == "se" else 4.0 * np.sqrt(4.0 / nn + d**2 / (2.0 * nn)) / (d**2 + 4.0) ** 1.5
        return RobmaInputs(fd, y, se_r, "r", "d", labels)
    fd = FitData(ys, se_z, ys, se_z, "ZCOR", sign * 0.5, 0.5)
    return RobmaInputs(fd, y, se_z, "z", "d", labels)
