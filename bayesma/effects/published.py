"""Effects as studies publish them: an estimate with its CI or p-value, and delta-method transforms.

:func:`conv_wald` turns a reported estimate with its (Wald-type) confidence interval, z
statistic or two-sided p-value into ``yi, vi``, as metafor's ``conv.wald`` (metafor >= 4.0);
:func:`conv_delta` transforms ``yi, vi`` by a function with the delta method, as metafor's
``conv.delta``. Both fill a table's existing ``yi``/``vi`` columns as metafor's ``replace=``
does (:mod:`bayesma.effects._fill`). The five-number summaries are in
:mod:`bayesma.effects.fivenum`; t, F and p statistics in :mod:`bayesma.effects.statistics`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from bayesma._validate import as_numeric, column, label_alias, study_name
from bayesma.effects._common import ArrayLike
from bayesma.effects._fill import check_replace, fill_columns
from bayesma.errors import ArgumentTypeError, DataWarning, InputError

__all__ = ["conv_delta", "conv_wald"]

#: metafor's conv.wald flags an estimate further than this share of the CI's width from its middle
CI_ASYMMETRY = 0.1


def _inputs(data: pd.DataFrame | None, given: dict[str, Any], labels: Any
            ) -> tuple[dict[str, np.ndarray], list[Any] | None, int]:
    """The given columns as floats (missing ones all NaN), the labels and the number of studies."""
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    resolved = {name: column(data, spec, name) for name, spec in given.items() if spec is not None}
    lab = None
    if labels is not None:
        lab = list(np.atleast_1d(np.asarray(column(data, labels, "labels"), dtype=object)))
    lengths = {name: len(np.atleast_1d(np.asarray(v, dtype=object))) for name, v in resolved.items()}
    if data is not None:
        lengths["data"] = len(data)
    if lab is not None:
        lengths["labels"] = len(lab)
    if not lengths:
        raise ArgumentTypeError("no study data given")
    if len(set(lengths.values())) > 1:
        raise InputError("the inputs have different lengths (one value per study is needed): "
                         + ", ".join(f"{n}: {k}" for n, k in lengths.items()))
    k = next(iter(lengths.values()))
    names = {name: spec if isinstance(spec, str) else name for name, spec in given.items()}
    x = {name: (as_numeric(resolved[name], names[name], lab) if name in resolved else np.full(k, np.nan))
         for name in given}
    return x, lab, k


def _fail(mask: np.ndarray, labels: list[Any] | None, col: str, what: str) -> None:
    """InputError naming the first study where *mask* holds (and how many more)."""
    if not np.any(mask):
        return
    i = int(np.flatnonzero(mask)[0])
    more = int(np.sum(mask)) - 1
    tail = f"; {more} more stud{'y' if more == 1 else 'ies'} with the same problem" if more else ""
    study = None if labels is None else str(labels[i])
    raise InputError(f"column {col!r}: {study_name(labels, i)} {what}{tail}", study=study, row=i + 1, column=col)


def _apply(transf: Callable[..., Any], x: np.ndarray, extra: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """*transf* on the array (one value per study); element by element when it is not vectorised."""
    extra = dict(extra or {})
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(transf(x, **extra), dtype=float)
            if out.shape == x.shape:
                return out
        except (TypeError, ValueError):
            pass
        return np.array([float(transf(float(v), **{k: float(a[i]) for k, a in extra.items()}))
                         for i, v in enumerate(x)])


def _levels(level: Any, k: int) -> np.ndarray:
    """One level per study as a fraction (95 and 0.95 both mean 95%)."""
    lev = np.broadcast_to(np.asarray(level, dtype=float), (k,)).copy()
    lev = np.where(lev >= 1, lev / 100, lev)
    if np.any(~np.isfinite(lev)) or np.any((lev <= 0) | (lev >= 1)):
        raise InputError(f"level must be a fraction in (0, 1) or a percentage such as 95, got {level!r}")
    return lev


@label_alias
def conv_wald(
    out: ArrayLike = None,
    ci_lb: ArrayLike = None,
    ci_ub: ArrayLike = None,
    zval: ArrayLike = None,
    pval: ArrayLike = None,
    *,
    data: pd.DataFrame | None = None,
    level: float | ArrayLike = 0.95,
    transf: Callable[..., Any] | None = None,
    check: bool = True,
    var_names: Sequence[str] = ("yi", "vi"),
    replace: str | bool = "ifna",
    labels: ArrayLike = None,
) -> pd.DataFrame:
    """Effect sizes and sampling variances from reported estimates with a CI, z or p, as ``metafor::conv.wald``.

    ``yi = transf(out)``; from a Wald-type confidence interval
    ``vi = ((transf(ci_ub) - transf(ci_lb)) / (2 z))^2`` with ``z`` the normal quantile of the
    level (``((transf(ci_ub) - yi) / z)^2`` when only the upper bound is given); otherwise from
    the test statistic, ``vi = (yi / zval)^2``, with ``zval = Phi^{-1}(1 - pval / 2)`` from a
    two-sided p-value. A CI is preferred to z and p when a study gives both.

    Parameters
    ----------
    out : array_like or str, optional
        The reported estimates (one per study; NaN where a study reports none), e.g. odds ratios.
    ci_lb, ci_ub : array_like or str, optional
        The bounds of their confidence intervals, on the same scale as *out*.
    zval : array_like or str, optional
        Wald z statistics, ``yi / sqrt(vi)`` on the analysis scale.
    pval : array_like or str, optional
        Two-sided p-values of the Wald test of ``yi = 0``; strictly between 0 and 1.
    data : pandas.DataFrame, optional
        Table holding the named columns; the result is this table with *var_names* filled.
    level : float or array_like
        Level of the intervals, one for all or one per study (0.95 or 95).
    transf : callable, optional
        Applied to *out*, *ci_lb* and *ci_ub* before the computation, e.g. ``numpy.log`` for
        ratios (odds, risk, hazard ratios are analysed on the log scale, where their Wald CI
        is symmetric).
    check : bool
        Warn (a :class:`~bayesma.errors.DataWarning` naming the studies) when an estimate is
        not about halfway between its bounds on the analysis scale: further from the middle
        than 10% of the interval's width, as metafor's ``check=TRUE``. Such a CI was not a Wald
        interval on this scale (forgotten ``transf=np.log``?) or the numbers are rounded coarsely.
    var_names : (str, str)
        Names of the effect and variance columns.
    replace : {"ifna", "all"} or bool
        ``"ifna"`` (or False, the default as metafor's): existing non-missing values of the
        columns in *data* are kept; ``"all"`` (or True): replaced wherever the new inputs give
        one. The note (``result.attrs["fill_note"]``) says what was filled, kept and replaced,
        and a DataWarning repeats it when existing values were kept over different new ones
        or overwritten.
    labels : array_like or str, optional
        Study labels for the messages (``slab=`` is its alias).

    Returns
    -------
    pandas.DataFrame
        *data* (or a new table) with columns *var_names*.

    Raises
    ------
    InputError
        Naming the study and the column: a lower bound above the upper one, an estimate
        outside its interval, a p-value of 0 or 1 (or outside (0, 1)), a z of 0 or an estimate
        of 0 with a p-value (no variance follows), or a *transf* that gives no finite value.
    ArgumentTypeError
        No estimate, bound, z or p given; *transf* not callable.

    Notes
    -----
    Follows metafor 4's ``conv.wald`` (Viechtbauer 2010, J Stat Softw 36(3); the back-calculation
    is the standard one of the Cochrane Handbook, Higgins et al. 2023, section 6.3); checked
    against metafor 5.0-1's sources (tests/data/reference/metafor/metafor_conv.R). Deliberate
    difference: metafor returns an infinite variance for ``p = 1`` and silently NA for
    impossible intervals; here both are errors.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import bayesma as bm
    >>> df = pd.DataFrame({"study": ["A", "B"], "or": [0.64, 2.56], "lo": [0.33, 1.23],
    ...                    "hi": [1.22, 5.30]})
    >>> es = bm.conv_wald("or", "lo", "hi", data=df, transf=np.log, labels="study")
    >>> es[["study", "yi", "vi"]].round(4)
      study      yi      vi
    0     A -0.4463  0.1113
    1     B  0.9400  0.1389
    """
    if all(v is None for v in (out, ci_lb, ci_ub, zval, pval)):
        raise ArgumentTypeError("conv_wald needs some of out, ci_lb, ci_ub, zval, pval")
    if transf is not None and not callable(transf):
        raise ArgumentTypeError(f"transf must be a function such as numpy.log, got {transf!r}")
    replace = check_replace(replace)
    yname, vname = _var_names(var_names)
    x, lab, k = _inputs(data, {"out": out, "ci_lb": ci_lb, "ci_ub": ci_ub, "zval": zval, "pval": pval}, labels)
    cols = {n: (s if isinstance(s, str) else n) for n, s in
            {"out": out, "ci_lb": ci_lb, "ci_ub": ci_ub, "zval": zval, "pval": pval}.items()}
    _check_wald_inputs(x, lab, cols)
    crit = norm.isf((1 - _levels(level, k)) / 2)
    est, lb, ub = x["out"], x["ci_lb"], x["ci_ub"]
    if transf is not None:
        est, lb, ub = (_transformed(transf, x[n], lab, cols[n]) for n in ("out", "ci_lb", "ci_ub"))
        flipped = lb > ub   # a decreasing transformation swaps the bounds
        lb, ub = np.where(flipped, ub, lb), np.where(flipped, lb, ub)
    with np.errstate(invalid="ignore"):
        vi = np.where(np.isnan(lb), ((ub - est) / crit) ** 2, ((ub - lb) / (2 * crit)) ** 2)
    table = fill_columns(data, {yname: est}, replace, lab, "conv_wald", warn=False)
    yi_now = table[yname].to_numpy(dtype=float)
    old_vi = (table[vname].to_numpy(dtype=float) if vname in table.columns else np.full(k, np.nan))
    if check:
        _check_symmetry(yi_now, lb, ub, old_vi, lab, yname)
    z = np.where(np.isnan(x["zval"]), norm.isf(x["pval"] / 2), x["zval"])
    from_test = np.isnan(vi) & ~np.isnan(z) & ~np.isnan(yi_now)
    _fail(from_test & (z == 0), lab, cols["zval"], "has a z statistic of 0, which gives no variance")
    _fail(from_test & (yi_now == 0), lab, cols["out"],
          "has an estimate of 0: a test statistic or p-value cannot give its variance (vi = (yi / z)^2 = 0)")
    with np.errstate(invalid="ignore", divide="ignore"):
        vi = np.where(from_test, (yi_now / z) ** 2, vi)
    result = fill_columns(table, {vname: vi}, replace, lab, "conv_wald", warn=False)
    note = table.attrs["fill_note"] + "; " + result.attrs["fill_note"].removeprefix("conv_wald: ")
    result.attrs["fill_note"] = note
    if table.attrs["fill_conflict"] or result.attrs["fill_conflict"]:
        warnings.warn(note, DataWarning, stacklevel=3)
    return result


def _var_names(var_names: Sequence[str]) -> tuple[str, str]:
    names = tuple(var_names)
    if len(names) != 2 or not all(isinstance(v, str) for v in names) or names[0] == names[1]:
        raise InputError(f"var_names must be two different strings, got {var_names!r}")
    return names[0], names[1]


def _check_wald_inputs(x: dict[str, np.ndarray], lab: list[Any] | None, cols: dict[str, str]) -> None:
    """Errors for impossible intervals and p-values, naming the study."""
    p = x["pval"]
    _fail((p <= 0) | (p >= 1), lab, cols["pval"],
          "has a p-value outside (0, 1): a p of 0 or 1 gives an infinite or zero test statistic "
          "(for 'p < .001' use the bound, .001, which is conservative)")
    lb, ub, est = x["ci_lb"], x["ci_ub"], x["out"]
    _fail(lb > ub, lab, cols["ci_lb"], "has a lower bound above its upper bound")
    _fail((est < lb) | (est > ub), lab, cols["out"], "has an estimate outside its confidence interval")


def _transformed(transf: Callable[..., Any], values: np.ndarray, lab: list[Any] | None, col: str) -> np.ndarray:
    out = _apply(transf, values)
    _fail(~np.isnan(values) & ~np.isfinite(out), lab, col,
          "gives no finite value under transf (e.g. the log of a ratio <= 0)")
    return out


def _check_symmetry(yi: np.ndarray, lb: np.ndarray, ub: np.ndarray, old_vi: np.ndarray,
                    lab: list[Any] | None, yname: str) -> None:
    """metafor's check: the estimate about halfway between the bounds (studies whose vi is new)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.abs((ub + lb) / 2 - yi) / (ub - lb)
    flagged = np.flatnonzero((off > CI_ASYMMETRY) & np.isnan(old_vi))
    if flagged.size:
        shown = "; ".join(f"{study_name(lab, int(i))}: {yname} = {yi[i]:.4g} in [{lb[i]:.4g}, {ub[i]:.4g}]"
                          for i in flagged[:10])
        warnings.warn(
            f"conv_wald: the estimate is not about halfway between its CI bounds on the analysis scale for "
            f"{shown}{' and more' if flagged.size > 10 else ''}: the interval was not a Wald interval on this "
            "scale (a ratio needs transf=np.log), or its numbers are rounded; the variance from it is "
            "approximate", DataWarning, stacklevel=3)


def _derivative(transf: Callable[..., Any], x: np.ndarray, extra: Mapping[str, np.ndarray]) -> np.ndarray:
    """d transf / dx by central differences with Richardson extrapolation (numDeriv's defaults:
    step 1e-4 |x| (1e-4 at 0), four halvings)."""
    h = np.where(np.abs(x) < 1.8e-8, 1e-4, np.abs(1e-4 * x))
    table = []
    for _ in range(4):
        table.append((_apply(transf, x + h, extra) - _apply(transf, x - h, extra)) / (2 * h))
        h = h / 2
    for m in range(1, 4):
        table = [(4**m * table[i + 1] - table[i]) / (4**m - 1) for i in range(len(table) - 1)]
    return table[0]


@label_alias
def conv_delta(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    transf: Callable[..., Any],
    transf_args: Mapping[str, ArrayLike] | None = None,
    data: pd.DataFrame | None = None,
    var_names: Sequence[str] = ("yi", "vi"),
    replace: str | bool = "ifna",
    labels: ArrayLike = None,
) -> pd.DataFrame:
    """Transform effect sizes and their variances with the delta method, as ``metafor::conv.delta``.

    ``yi' = f(yi)`` and ``vi' = f'(yi)^2 vi``, with the derivative taken numerically (central
    differences with Richardson extrapolation, as R's ``numDeriv::grad`` that metafor uses).

    Parameters
    ----------
    yi, vi : array_like or str
        Effect sizes and sampling variances (one per study), or columns of *data*.
    transf : callable
        The transformation ``f(yi, **transf_args)``, vectorised over studies (a numpy
        function); a scalar function is applied study by study.
    transf_args : dict, optional
        Further arguments of *transf*, each one value per study or a column name of *data*
        (e.g. the group sizes ``{"n1i": "n1i", "n2i": "n2i"}``).
    data : pandas.DataFrame, optional
        Table holding the named columns; the result is this table with *var_names* filled.
    var_names : (str, str)
        Names of the transformed columns; write new ones (e.g. ``("d", "vd")``), or the input
        columns with ``replace="all"``.
    replace : {"ifna", "all"} or bool
        As :func:`conv_wald`: keep existing non-missing values (the default) or overwrite them.
    labels : array_like or str, optional
        Study labels for the messages (``slab=`` is its alias).

    Returns
    -------
    pandas.DataFrame
        *data* (or a new table) with columns *var_names*.

    Raises
    ------
    InputError
        A negative variance, or a study whose transformed value or derivative is not finite
        (naming the study).
    ArgumentTypeError
        *transf* not callable.

    Notes
    -----
    The delta method (e.g. Oehlert 1992, The American Statistician 46:27-29) is a first-order
    approximation; it is close when ``sqrt(vi)`` is small against the curvature of *f*.
    Follows metafor 4's ``conv.delta``; checked against metafor 5.0-1
    (tests/data/reference/metafor/metafor_conv.R): a logit of proportions equals escalc's
    ``PLO``, and d to the point-biserial r with group sizes equals metafor.

    Examples
    --------
    >>> import numpy as np
    >>> import bayesma as bm
    >>> pr = bm.escalc("PR", xi=[5, 12], ni=[40, 80])
    >>> bm.conv_delta(pr["yi"], pr["vi"], transf=lambda p: np.log(p / (1 - p))).round(4)
           yi      vi
    0 -1.9459  0.2286
    1 -1.7346  0.0980
    """
    if not callable(transf):
        raise ArgumentTypeError(f"transf must be a function, got {transf!r}")
    replace = check_replace(replace)
    yname, vname = _var_names(var_names)
    extra_specs = dict(transf_args or {})
    x, lab, k = _inputs(data, {"yi": yi, "vi": vi, **extra_specs}, labels)
    vcol = vi if isinstance(vi, str) else "vi"
    _fail(x["vi"] < 0, lab, vcol, "has a negative variance")
    extra = {name: x[name] for name in extra_specs}
    ok = ~np.isnan(x["yi"]) & ~np.isnan(x["vi"])
    y_t = np.where(ok, _apply(transf, x["yi"], extra), np.nan)
    grad = _derivative(transf, x["yi"], extra)
    v_t = np.where(ok, x["vi"] * grad**2, np.nan)
    ycol = yi if isinstance(yi, str) else "yi"
    _fail(ok & ~(np.isfinite(y_t) & np.isfinite(v_t)), lab, ycol,
          "has no finite transformed value or derivative under transf (outside its domain?)")
    return fill_columns(data, {yname: y_t, vname: v_t}, replace, lab, "conv_delta", stacklevel=4)
