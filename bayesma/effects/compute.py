"""``escalc``: effect sizes and sampling variances, as ``metafor::escalc``.

The measures are computed by the modules of their input type
(:mod:`~bayesma.effects.two_by_two`, :mod:`~bayesma.effects.means`,
:mod:`~bayesma.effects.single_group`, :mod:`~bayesma.effects.change`,
:mod:`~bayesma.effects.correlations`, :mod:`~bayesma.effects.proportions`,
:mod:`~bayesma.effects.rates`, :mod:`~bayesma.effects.reliability`); each holds a ``TABLE``
of its measures. A new measure is one row there (arguments, variance types, the function
computing it, the function naming missing arguments) plus that function, and one entry of
the registry :data:`bayesma.measures.MEASURES` for its name, label and scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma import measures
from bayesma._validate import as_numeric, columns, label_alias, study_name, unique_labels
from bayesma.effects import change, correlations, means, proportions, rates, reliability, single_group, two_by_two
from bayesma.effects._common import ArrayLike, _fmt
from bayesma.effects._fill import fill_columns
from bayesma.errors import ArgumentTypeError, DataWarning, InputError, MissingDataWarning

__all__ = ["MEASURES", "escalc"]

_GROUPS = (two_by_two, means, single_group, change, correlations, proportions, rates, reliability)


@dataclass(frozen=True)
class _EscalcMeasure:
    """How escalc computes one measure."""

    args: tuple[str, ...]
    vtypes: tuple[str, ...]
    compute: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    needs: Callable[[dict[str, Any]], tuple[list[str], str]]


def _table() -> dict[str, _EscalcMeasure]:
    """The rows of every input type, in the order of the registry (then metafor's aliases)."""
    rows = {name: _EscalcMeasure(*row) for group in _GROUPS for name, row in group.TABLE.items()}
    order = {name: i for i, name in enumerate(measures.names())}
    return dict(sorted(rows.items(), key=lambda item: order.get(item[0], len(order))))


_ESCALC: dict[str, _EscalcMeasure] = _table()

#: measures whose default ``add`` is 0 (metafor: AS, PHI, IRSD, PAS, PFT, IRS, IRFT); 1/2 for the others
ADD_ZERO = frozenset().union(*(getattr(group, "ADD_ZERO", frozenset()) for group in _GROUPS))

MEASURES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    name: (measures.get(name).description, spec.args, spec.vtypes) for name, spec in _ESCALC.items()
}
"""The measures :func:`escalc` computes: name -> (description, arguments, variance types)."""

_TO_CHOICES = ("all", "only0", "if0all", "none")


@label_alias
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
    sdi: ArrayLike = None,
    ti: ArrayLike = None,
    r2i: ArrayLike = None,
    x1i: ArrayLike = None,
    x2i: ArrayLike = None,
    t1i: ArrayLike = None,
    t2i: ArrayLike = None,
    data: pd.DataFrame | None = None,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    var_names: Sequence[str] = ("yi", "vi"),
    slab: ArrayLike = None,
    replace: bool = True,
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
          ``xi, ni`` (or ``xi, mi``: events and non-events);
        * more of metafor's measures (see the modules of :mod:`bayesma.effects`
          and the table in the documentation, "Effect sizes"): ``PETO``,
          ``PHI``, ``YUQ``, ``YUY``, ``AS``, ``PBIT``, ``OR2DN``, ``OR2DL`` (2x2
          tables); ``RPB``, ``RBIS``, ``D2ORN``, ``D2ORL``, ``CVR``, ``VR`` (two
          groups' means); ``MN``, ``MNLN``, ``CVLN``, ``SDLN``, ``SMN`` (one
          group: ``mi, sdi, ni``); ``MC``, ``SMCC``, ``SMCR``, ``SMCRH``,
          ``ROMC`` (pre-post: ``m1i, m2i, sd1i, sd2i, ni, ri``); ``PCOR``,
          ``ZPCOR``, ``SPCOR`` (``ti, ni, mi``, and ``r2i``); ``IRR``, ``IRD``,
          ``IRSD`` (``x1i, t1i, x2i, t2i``); ``PAS``, ``PFT`` (proportions);
          ``R2D`` (a point-biserial correlation ``ri`` with ``ni`` or ``n1i,
          n2i`` converted to d, so that correlations join a column of d).
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
        Events and non-events for the single-proportion measures; ``mi`` is the
        mean for MN, MNLN, CVLN, SMN and the number of predictors for PCOR,
        ZPCOR, SPCOR (metafor's names).
    sdi : array_like or str, optional
        Standard deviations of a single group (MN, MNLN, CVLN, SDLN, SMN).
    ti, r2i : array_like or str, optional
        t statistics of a regression coefficient and the model's R² (PCOR,
        ZPCOR, SPCOR).
    x1i, x2i, t1i, t2i : array_like or str, optional
        Events and person-times of groups 1 and 2 (IRR, IRD, IRSD).
    data : pandas.DataFrame, optional
        Table holding the named columns. The result then contains its columns
        first, then *yi* and *vi*, with its index.
    add : float, optional
        The value added to the cells of 2x2 tables (and to counts of rates and
        single proportions) according to *to*; default 1/2, or 0 for AS, PHI,
        IRSD, PAS and PFT (as metafor).
    to : {"only0", "all", "if0all", "none"}
        Which studies get *add*: those with a zero cell (default), all,
        all if any study has a zero cell, or none. As in metafor, this applies
        to every count measure here (OR, RR, RD, PR, PLO).
    drop00 : bool
        Leave out (NaN) the studies with no events, or only events, in both
        groups (2x2 tables and rates), as metafor's ``drop00``; default False.
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
        ``result.attrs["slab"]`` (as text; repeated labels made unique as metafor's escalc
        does: ``"Smith"`` twice becomes ``"Smith.1"``, ``"Smith.2"``).
    replace : bool
        When *data* already has the columns *var_names*: True (default, as metafor)
        overwrites them; False keeps their non-missing values and fills only the missing
        ones, so that effects from different inputs (means here, a t statistic or a
        published CI there, see :func:`bayesma.conv_wald`) build one column step by step.
        ``result.attrs["fill_note"]`` says which studies were filled, and a DataWarning names
        the studies whose existing values were kept although the new inputs give others.

    Returns
    -------
    pandas.DataFrame
        Columns *yi* and *vi* (named by *var_names*), one row per study, in input
        order; ``result.attrs["measure"]`` names the measure. A study whose input
        is missing (NaN) gets NaN where metafor gives NA, with a warning naming
        the study and the empty column; a study whose effect
        or variance is infinite or undefined (for example ``log(0)``) gets NaN in
        both, with a warning naming it.

    Raises
    ------
    ValueError
        Unknown measure, *to* or *vtype*; arrays of different lengths;
        impossible values (negative counts, events above the group size,
        negative standard deviations, a standard deviation of 0 in both groups
        (or in either for ROM), group sizes <= 1 for mean/SD measures,
        sample sizes <= 1 for correlations, ``|r| > 1``, sample sizes ``ni``,
        ``n1i``, ``n2i`` that are not whole numbers), naming the study and the
        column.
    TypeError
        Missing or superfluous arguments for the measure; non-numeric values
        (naming the study and the column).

    Notes
    -----
    SMD: ``yi = c(m) (m1i - m2i) / s_p`` with the pooled SD ``s_p`` and the exact
    correction ``c(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))``,
    ``m = n1i + n2i - 2``; ``vi = 1/n1i + 1/n2i + yi^2 / (2 (n1i + n2i))``
    (Hedges 1982). Numbers agree with metafor 3.8.1.

    A standard deviation of 0 in one group is valid for MD and SMD (the
    pooled SD is positive), as in metafor. Deliberate differences from
    metafor: a standard deviation of 0 in both groups (MD, SMD), a standard
    deviation <= 0 for ROM, and a group of one for the mean/SD measures are
    errors here (metafor computes with them or returns NA).

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
    measure = _measure_name(measure)
    spec = _measure_spec(measure)
    add, var_names = _check_options(measure, spec, add=add, to=to, drop00=drop00, vtype=vtype,
                                    var_names=var_names, data=data)
    given_raw = {
        "ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i,
        "m1i": m1i, "sd1i": sd1i, "m2i": m2i, "sd2i": sd2i,
        "ri": ri, "ni": ni, "xi": xi, "mi": mi, "sdi": sdi, "ti": ti, "r2i": r2i,
        "x1i": x1i, "x2i": x2i, "t1i": t1i, "t2i": t2i,
    }
    x, labels, names = _study_data(measure, spec, given_raw, data, slab)
    ctx = _Context(labels=labels, names=names, drop00=bool(drop00))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        try:
            yi, vi, na_y, na_v = spec.compute(measure, x, ctx, add, to, vtype)
        except Exception:
            ctx.raise_problems()  # an impossible value recorded before the computation failed on it
            raise
    ctx.raise_problems()  # every study with an impossible value, in one error
    keep = _kept_rows(data, var_names, replace, len(na_y))
    _warn_missing(measure, x, (na_y | na_v) & ~keep, ctx, var_names)
    yi, vi = _finish(measure, yi, vi, na_y, na_v, labels)
    _warn_implausible(measure, yi, labels)

    if data is not None and not replace:
        out = fill_columns(data, {var_names[0]: yi, var_names[1]: vi}, "ifna", labels, f"escalc({measure!r})")
    elif data is not None:
        out = data.copy()
        out[var_names[0]] = yi
        out[var_names[1]] = vi
    else:
        out = pd.DataFrame({var_names[0]: yi, var_names[1]: vi})
    out.attrs["measure"] = measure
    if labels is not None:
        out.attrs["slab"] = unique_labels([str(v) for v in labels])
    return out


#: standardized mean differences (and conversions to them): |d| > 5 means two groups that hardly overlap
_STANDARDIZED = {"SMD", "SMDH", "SMD1", "SMD1H", "SMCC", "SMCR", "SMCRH", "SMN", "OR2D", "OR2DN", "OR2DL", "R2D"}
IMPLAUSIBLE_SMD = 5.0


def _warn_implausible(measure: str, yi: np.ndarray, labels: list[Any] | None) -> None:
    """A DataWarning naming the studies whose standardized difference is beyond |5| (raw-unit data, SEs or
    variances in the SD columns, or swapped columns give |g| in the tens or hundreds)."""
    if measure not in _STANDARDIZED:
        return
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.abs(np.asarray(yi, dtype=float)) > IMPLAUSIBLE_SMD)
    if bad.size:
        cells = "; ".join(f"{study_name(labels, int(i))}: {float(yi[i]):.3g}" for i in bad[:10])
        warnings.warn(f"escalc({measure!r}): {bad.size} implausible standardized mean difference(s), |yi| > "
                      f"{IMPLAUSIBLE_SMD:g} ({cells}); {_IMPLAUSIBLE_ADVICE.get(measure, _SD_ADVICE)}", DataWarning,
                      stacklevel=3)


_SD_ADVICE = ("check that the sd columns hold standard deviations (not variances or standard errors) in the units of "
              "the means")
#: what to check when a conversion's input gives an implausible d (there are no sd columns to blame)
_IMPLAUSIBLE_ADVICE = {
    "R2D": "a correlation near -1 or 1 gives such a d (r = 0.93 is d = 5): check that the column holds "
           "point-biserial correlations, not another statistic, and the value in the primary study",
    "OR2D": "an odds ratio far from 1 gives such a d: check that the columns hold the counts of the 2x2 table",
    "OR2DN": "an odds ratio far from 1 gives such a d: check that the columns hold the counts of the 2x2 table",
    "OR2DL": "an odds ratio far from 1 gives such a d: check that the columns hold the counts of the 2x2 table",
}


def _kept_rows(data: pd.DataFrame | None, var_names: Sequence[str], replace: Any, k: int) -> np.ndarray:
    """The rows whose existing effect and variance ``replace=False`` keeps."""
    if not isinstance(replace, (bool, np.bool_)):
        raise ArgumentTypeError(f"replace must be True or False, got {replace!r}")
    if data is None or replace or not set(var_names) <= set(data.columns):
        return np.zeros(k, dtype=bool)
    cols = data[list(var_names)].apply(pd.to_numeric, errors="coerce")
    return cols.notna().all(axis=1).to_numpy()


def _measure_name(measure: Any) -> Any:
    """The registry's name of *measure* (case and aliases as MetaAnalysis and robma read them:
    ``"smd"`` -> ``"SMD"``); an unknown name is returned for :func:`_measure_spec`'s message."""
    try:
        return measures.lookup(measure) if isinstance(measure, str) else measure
    except ValueError:
        return measure


def _measure_spec(measure: Any) -> _EscalcMeasure:
    """How to compute *measure*; a TypeError or ValueError (listing the known measures) otherwise."""
    if not isinstance(measure, str):
        raise ArgumentTypeError(f"measure must be a string such as 'SMD', got {type(measure).__name__}")
    if measure not in _ESCALC:
        import difflib

        close = difflib.get_close_matches(measure.strip().upper(), list(_ESCALC), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"unknown measure {measure!r}{hint}; known measures: "
            + ", ".join(f"{k} ({v[0]})" for k, v in MEASURES.items())
        )
    return _ESCALC[measure]


def _check_options(measure: str, spec: _EscalcMeasure, *, add: Any, to: str, drop00: Any, vtype: Any,
                   var_names: Sequence[str], data: Any) -> tuple[float, tuple[str, ...]]:
    """Check the options (not the study data); return *add* (metafor's default per measure) and *var_names*."""
    vtypes = spec.vtypes
    if not isinstance(vtype, str) or vtype not in vtypes:
        raise InputError(f"vtype={vtype!r} is not available for measure {measure!r}; choose one of {list(vtypes)}")
    if to not in _TO_CHOICES:
        raise InputError(f"to={to!r} is not known; choose one of {list(_TO_CHOICES)}")
    if add is None:  # metafor: 0 for AS, PHI, IRSD, PAS, PFT, else 1/2
        add = 0.0 if measure in ADD_ZERO else 0.5
    if not isinstance(drop00, (bool, np.bool_)):
        raise ArgumentTypeError(f"drop00 must be True or False, got {drop00!r}")
    if drop00 and not {"di", "x1i"} & set(spec.args):
        raise InputError(f"drop00=True is for 2x2 tables and rates; measure {measure!r} has no double-zero studies")
    try:
        add = float(add)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"add must be a number, got {add!r}") from None
    if not np.isfinite(add) or add < 0:
        raise InputError(f"add must be a finite number >= 0, got {add}")
    var_names = tuple(var_names)
    if len(var_names) != 2 or not all(isinstance(v, str) for v in var_names) or var_names[0] == var_names[1]:
        raise InputError(f"var_names must be two different strings, got {var_names!r}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    return add, var_names


def _study_data(measure: str, spec: _EscalcMeasure, given_raw: dict[str, Any], data: pd.DataFrame | None,
                slab: Any) -> tuple[dict[str, np.ndarray], list[Any] | None, dict[str, str]]:
    """The study columns as float arrays, the study labels and the displayed column names; errors for
    arguments the measure does not use or lacks, unequal lengths and fractional sample sizes."""
    accepted = spec.args
    given = {name: value for name, value in given_raw.items() if value is not None}
    extra = sorted(set(given) - set(accepted), key=list(given_raw).index)
    if extra:
        raise ArgumentTypeError(
            f"measure {measure!r} does not use argument(s) {', '.join(extra)}; "
            f"it takes {', '.join(accepted)}"
        )
    _check_required(measure, given)

    # resolve columns, labels and the number of studies
    # Series pair by index: with data's rows, or (no data) with the first Series given; never by position
    resolved = columns(data, {**given, **({} if slab is None else {"slab": slab})})
    slab_values = resolved.pop("slab", None)
    lengths = {name: _length(value) for name, value in resolved.items()}
    labels = None
    if slab is not None:
        labels = list(np.atleast_1d(np.asarray(slab_values, dtype=object)))
        lengths["slab"] = len(labels)
    if data is not None:
        lengths = {"data": len(data), **lengths}
    if len(set(lengths.values())) > 1:
        raise InputError(
            "the inputs have different lengths (one value per study is needed): "
            + ", ".join(f"{_display(given.get(n, slab), n)}: {k}" for n, k in lengths.items())
        )
    names = {name: _display(given[name], name) for name in given}
    x = {name: as_numeric(value, names[name], labels) for name, value in resolved.items()}
    _check_sample_sizes(x, labels, names)
    return x, labels, names


def _check_sample_sizes(x: dict[str, np.ndarray], labels: list[Any] | None, names: dict[str, str]) -> None:
    for name in _SAMPLE_SIZES:
        if name in x:
            values = x[name]
            bad = np.flatnonzero(np.isfinite(values) & (values != np.round(values)))
            if bad.size:
                studies = "; ".join(f"{study_name(labels, i)} has {names[name]} = {_fmt(values[i])}"
                                    for i in bad[:10])
                raise InputError(
                    f"column {names[name]!r}: sample sizes must be whole numbers, but "
                    f"{studies}{f' and {bad.size - 10} more' if bad.size > 10 else ''}; "
                    "round an effective sample size (e.g. one divided by a design effect) first")


class _Context:
    """What error messages need: the study labels and the displayed column names."""

    def __init__(self, labels: list[Any] | None, names: dict[str, str], drop00: bool = False) -> None:
        self.labels = labels
        self.names = names
        self.drop00 = drop00
        self.problems: list[tuple[int, str, str]] = []  # (study index, column, message)

    def fail(self, mask: np.ndarray, arg: str | Sequence[str], what: str, values: np.ndarray | None = None) -> None:
        """Record every study where *mask* holds (:meth:`raise_problems` raises them all at once)."""
        args = [arg] if isinstance(arg, str) else list(arg)
        cols = " and ".join(f"column {self.names.get(a, a)!r}" for a in args)
        for i in np.flatnonzero(np.atleast_1d(mask)):
            shown = "" if values is None else f" ({self.names.get(args[0], args[0])} = {_fmt(values[i])})"
            self.problems.append((int(i), str(self.names.get(args[0], args[0])),
                                  f"{cols}: {study_name(self.labels, int(i))} {what}{shown}"))

    def raise_problems(self) -> None:
        """One InputError naming every impossible value recorded by :meth:`fail` (in row order), if any."""
        if not self.problems:
            return
        found = sorted(self.problems, key=lambda p: p[0])
        i, column, text = found[0]
        if len(found) > 1:
            text = f"{len(found)} problems: " + "; ".join(p[2] for p in found)
        raise InputError(text, row=i + 1, column=column)


_SAMPLE_SIZES = ("ni", "n1i", "n2i")
"""The arguments that are sample sizes (whole numbers) in every measure that takes them."""


def _warn_missing(measure: str, x: dict[str, np.ndarray], missing: np.ndarray, ctx: _Context,
                  var_names: Sequence[str]) -> None:
    """Warn naming each study whose effect or variance is NaN because an input cell is empty.

    Only the studies with an empty cell in a given column are named (a study blanked for another
    reason, e.g. ``ni <= 3`` for a correlation or ``drop00``, is reported where that happens).
    """
    cells = []
    for i in np.flatnonzero(missing):
        empty = [ctx.names.get(name, name) for name, values in x.items() if np.isnan(values[i])]
        if empty:
            cols = ", ".join(f"{c!r}" for c in empty)
            cells.append(f"{study_name(ctx.labels, i)}: column{'s' if len(empty) > 1 else ''} {cols}")
    if cells:
        shown = "; ".join(cells[:20]) + (f"; and {len(cells) - 20} more" if len(cells) > 20 else "")
        warnings.warn(
            f"{measure}: {len(cells)} stud{'y has' if len(cells) == 1 else 'ies have'} a missing value, "
            f"so {var_names[0]} and/or {var_names[1]} are NaN (missing) for "
            f"{'it' if len(cells) == 1 else 'them'}: {shown}",
            MissingDataWarning,
            stacklevel=3,
        )


def _display(spec: Any, name: str) -> str:
    """How messages name an argument: the data column it came from, or the argument."""
    return spec if isinstance(spec, str) else name


def _length(value: Any) -> int:
    if isinstance(value, (pd.Series, pd.Index)):
        return len(value)
    return len(np.atleast_1d(np.asarray(value, dtype=object)))


def _check_required(measure: str, given: dict[str, Any]) -> None:
    """TypeError when an argument the measure needs is missing."""
    missing, how = _ESCALC[measure].needs(given)
    if missing:
        raise ArgumentTypeError(
            f"measure {measure!r} needs {how}; missing: {', '.join(missing)}"
        )


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
            MissingDataWarning,
            stacklevel=3,
        )
        yi[bad] = np.nan
        vi[bad] = np.nan
    vi[vi < 0] = np.nan
    return yi, vi
