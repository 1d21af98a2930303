"""Counts as they are: binomial-normal and Poisson-normal random-effects models.

``MetaAnalysis(data, ai=, bi=, ci=, di=, measure="OR", likelihood="binomial")`` (2x2 tables),
``x1i=, t1i=, x2i=, t2i=, measure="IRR", likelihood="poisson"`` (events and person-time),
``xi=, ni=, measure="PLO"`` (single proportions) and ``xi=, ti=, measure="IRLN"`` (single rates)
model the counts with their exact likelihood instead of the normal approximation of
``escalc``'s ``yi, vi``: no continuity correction, and double-zero studies contribute what they
carry (nothing about the effect when the baselines are fixed; Stijnen, Hamza & Özdemir 2010;
Jackson et al. 2018).

Two-group measures (OR, IRR), with ``theta_i`` the study's true log odds (rate) ratio and
``alpha_i`` its baseline, coded symmetrically (Jackson et al. 2018, model 4: the treatment arm
at ``alpha_i + theta_i / 2``, the control arm at ``alpha_i - theta_i / 2``)::

    a_i ~ Binomial(n1_i, logistic(alpha_i + theta_i / 2))     x1_i ~ Poisson(t1_i exp(alpha_i + theta_i / 2))
    c_i ~ Binomial(n2_i, logistic(alpha_i - theta_i / 2))     x2_i ~ Poisson(t2_i exp(alpha_i - theta_i / 2))
    theta_i = x_i' beta + tau z_i,  z_i ~ N(0, 1)

``baseline="fixed"`` (metafor's ``UM.FS``): each ``alpha_i`` its own parameter with the wide prior
``priors["baseline"]`` (default Normal(0, 10) on the log-odds / log-rate scale);
``baseline="random"`` (``UM.RS``): ``alpha_i ~ N(baseline_mu, baseline_sd)`` with priors
``priors["baseline_mu"]`` (Normal(0, 10)) and ``priors["baseline_sd"]`` (HalfNormal(2.5)).
With fixed baselines the coding does not matter (a shift of each ``alpha_i`` by ``theta_i / 2``
under a flat prior); it does for random baselines, where the symmetric coding treats the
arms alike. Single-group measures (PLO, IRLN) have no baseline: ``theta_i`` is the study's
logit proportion (log rate). The study effects, ``mu``/``beta``, ``tau`` and ``theta_new`` are
named and summarised as in the normal model; ``spec.yi, spec.vi`` hold ``escalc``'s values
(forest plots of the observed effects, the frequentist comparison with ``rma``).

NUTS only (the exact engine integrates normal likelihoods). The PyMC pieces are in
:mod:`bayesma.models.counts_pymc`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma import measures
from bayesma._counts_check import check_counts
from bayesma.errors import ArgumentTypeError, InputError, where
from bayesma.spec import ModelSpec, build_spec

__all__ = ["CountsSpec", "Counts", "build_counts_spec", "COUNT_ARGS", "MEASURES"]

#: the measures with an exact count likelihood (the registry's ``Measure.counts``)
MEASURES = tuple(m.name for m in measures.MEASURES.values() if m.counts is not None)
COUNT_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i", "x1i", "x2i", "t1i", "t2i", "xi", "ni", "ti")
BASELINES = ("fixed", "random")


@dataclass(frozen=True)
class Counts:
    """The counts of a binomial- or Poisson-normal model (arrays of length k).

    ``kind`` is ``"binomial2"`` (events ``e1, e2`` of ``n1, n2``), ``"poisson2"`` (events of
    exposure ``n1, n2``), ``"binomial1"`` or ``"poisson1"`` (``e1`` of ``n1``);
    ``baseline`` is ``"fixed"`` or ``"random"`` (two-group kinds) or None.
    """

    kind: str
    e1: np.ndarray
    n1: np.ndarray
    e2: np.ndarray | None = None
    n2: np.ndarray | None = None
    baseline: str | None = None

    @property
    def two_group(self) -> bool:
        return self.kind.endswith("2")

    @property
    def family(self) -> str:
        return "binomial" if self.kind.startswith("binomial") else "poisson"


@dataclass
class CountsSpec(ModelSpec):
    """A :class:`ModelSpec` whose likelihood is binomial or Poisson (:mod:`bayesma.models.counts`)."""

    counts: Any = None

    def _subset_parts(self, mask: np.ndarray, kept_clusters: np.ndarray | None) -> dict[str, Any]:
        """The counts of the studies kept."""
        c = self.counts
        return {"counts": dataclasses.replace(c, **{name: None if getattr(c, name) is None else getattr(c, name)[mask]
                                                    for name in ("e1", "n1", "e2", "n2")})}

    def describe(self) -> str:
        base = super().describe()
        c = self.counts
        what = f"{c.family}-normal model ({self.measure}"
        what += f", {c.baseline} study baselines)" if c.two_group else ")"
        return f"{base}; {what}"


def _arrays(given: dict[str, Any], data: pd.DataFrame | None) -> tuple[dict[str, np.ndarray], dict[str, tuple]]:
    """Each count argument (a column name or values) as a float array, and the first cell of each that is
    not a number (``{name: (row index, value)}``). Names are columns of *data*; a pandas Series pairs with
    the rows of *data* (or, without data, with the first Series given) by index, never by position."""
    from bayesma._validate import columns

    out, text = {}, {}
    k = None
    for name, value in columns(data, given).items():
        raw = pd.Series(np.asarray(value.to_numpy() if isinstance(value, pd.Series) else value, dtype=object).ravel())
        if raw.map(lambda v: isinstance(v, (bool, np.bool_))).any():
            raise ArgumentTypeError(f"{name}= holds booleans (True/False), not counts")
        stripped = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        arr = pd.to_numeric(stripped, errors="coerce").to_numpy(float)
        odd = np.flatnonzero(np.isnan(arr) & stripped.notna().to_numpy() & (stripped != "").to_numpy())
        if odd.size:
            text[name] = (int(odd[0]), raw.iloc[int(odd[0])])
        if k is not None and arr.size != k:
            raise InputError(f"{name}= has {arr.size} values but there are k = {k} studies", column=name)
        k = arr.size
        out[name] = arr
    return out, text


def build_counts_spec(
    data: pd.DataFrame | None,
    *,
    measure: str | None,
    likelihood: str,
    counts: dict[str, Any],
    labels: Any = None,
    mods: Any = None,
    priors: Any = None,
    model: str = "random",
    baseline: str | None = None,
    missing: str = "raise",
) -> CountsSpec:
    """Validate the counts of a binomial- or Poisson-normal :class:`bayesma.MetaAnalysis`.

    Raises
    ------
    InputError
        A measure without an exact likelihood here, a likelihood that does not fit the
        measure, missing or unusable columns, negative or non-integer counts, events above the
        group size, zero or negative person-time, all arguments the model cannot use.
    """
    import warnings

    from bayesma.data import study_labels
    from bayesma.effects import escalc
    from bayesma.errors import MissingDataWarning

    given = {k: v for k, v in counts.items() if v is not None}
    if measure is None:
        raise InputError("counts need measure=: 'OR' (2x2 tables, binomial), 'PLO' (proportions, binomial), "
                         "'IRR' (two rates, poisson) or 'IRLN' (single rates, poisson)")
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise InputError(f"measure={measure!r} has no exact count likelihood here; use one of {sorted(MEASURES)} "
                         "(or escalc() and the normal model for other measures)")
    fam, needed = measures.get(measure).counts
    if likelihood != fam:
        raise InputError(f"measure={measure!r} is modelled with likelihood={fam!r}, got likelihood={likelihood!r}")
    alt = {"bi": "n1i", "di": "n2i"}
    for col in needed:
        if col not in given and not (col in alt and alt[col] in given):
            raise InputError(f"measure={measure!r} needs {', '.join(c + '=' for c in needed)} "
                             f"({col}= is missing)", column=col)
    usable = set(needed) | {alt[c] for c in needed if c in alt}
    extra = sorted(set(given) - usable)
    if extra:
        raise InputError(f"{', '.join(e + '=' for e in extra)} cannot be used with measure={measure!r} "
                         f"(it takes {', '.join(sorted(usable))})")
    two_group = measure in ("OR", "IRR")
    if baseline is not None and not two_group:
        raise InputError(f"baseline= is the study baseline of a two-group measure; measure={measure!r} has none")
    baseline = ("fixed" if baseline is None else str(baseline)) if two_group else None
    if baseline is not None and baseline not in BASELINES:
        raise InputError(f"baseline must be one of {BASELINES} (metafor's UM.FS and UM.RS), got {baseline!r}")
    if model not in ("random", "common"):
        raise InputError(f"model must be 'random' or 'common', got {model!r}")
    if missing not in ("raise", "drop"):
        raise InputError(f"missing must be 'raise' or 'drop', got {missing!r}")
    frame = data.reset_index(drop=True) if isinstance(data, pd.DataFrame) else None
    arrays, text = _arrays(given, data if isinstance(data, pd.DataFrame) else None)
    if frame is not None:  # Series / DataFrame arguments pair with data's rows by index, then follow the reset rows
        from bayesma._validate import align

        labels, mods = ((align(v, data.index, name).reset_index(drop=True)
                         if isinstance(v, (pd.Series, pd.DataFrame)) else v) for v, name in ((labels, "labels"),
                                                                                            (mods, "mods")))
    k = len(next(iter(arrays.values())))
    labs, _ = study_labels(frame, labels, k)
    if isinstance(labels, str):
        labels = labs  # the validated labels (a column of the data)
    shown = {n: v for n, v in given.items() if isinstance(v, str)}  # the data columns, as messages name them
    for col, (i, value) in text.items():
        raise ArgumentTypeError(f"{where(labs, i, shown.get(col, col))} has a non-numeric value {value!r}")
    miss = np.zeros(k, bool)
    for arr in arrays.values():
        miss |= np.isnan(arr)
    if miss.any():
        i = int(np.argmax(miss))
        col = next(c for c, arr in arrays.items() if np.isnan(arr[i]))
        if missing == "raise":
            raise InputError(f"study {labs[i]!r} (row {i + 1}) has a missing value in {col}; drop it or pass "
                             "missing='drop'", study=labs[i], row=i + 1, column=col)
        dropped = [labs[j] for j in np.flatnonzero(miss)]
        warnings.warn(f"dropped {len(dropped)} studies with missing counts: {', '.join(dropped)}",
                      MissingDataWarning, stacklevel=4)
        keep = ~miss
        arrays = {c: arr[keep] for c, arr in arrays.items()}
        labs = [lab for lab, kk in zip(labs, keep) if kk]
        frame = None if frame is None else frame.loc[keep].reset_index(drop=True)
        labels = labs
        if not labs:
            raise InputError("every study has a missing count: missing='drop' leaves no study to analyse")
    check_counts(arrays, labs, shown)
    cnt = _make_counts(measure, arrays, labs, baseline)
    if cnt.two_group and baseline == "fixed" and not _informative(cnt).any():
        raise InputError("every table is double-zero (no events in either group)"
                         + (" or has only events in both groups" if cnt.family == "binomial" else "")
                         + f": with fixed study baselines the {cnt.family} likelihood says "
                         f"nothing about the {measure} and the posterior would be its prior")
    esc = escalc(measure, **arrays)
    base_data = frame.copy() if frame is not None else pd.DataFrame(index=range(len(labs)))
    base_data["__yi"] = esc["yi"].to_numpy()
    base_data["__vi"] = esc["vi"].to_numpy()
    spec = build_spec(base_data, "__yi", "__vi", labels=labels if labels is not None else labs, mods=mods,
                      priors=_normal_priors(priors), measure=measure, model=model)
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    fields["priors"] = _count_priors(spec.priors, priors, cnt)
    fields["likelihood"] = fam
    return CountsSpec(**fields, counts=cnt)


def _informative(cnt: Counts) -> np.ndarray:
    """Studies whose table tells a fixed-baseline model something about the effect: events in at least
    one group and (for the binomial) non-events in at least one."""
    events = (cnt.e1 > 0) | (cnt.e2 > 0)
    if cnt.family == "poisson":
        return events
    return events & ((cnt.e1 < cnt.n1) | (cnt.e2 < cnt.n2))


def _normal_priors(priors: Any) -> Any:
    if priors is None:
        return None
    from bayesma.spec import PRIOR_KEYS

    if isinstance(priors, dict):
        unknown = sorted(set(priors) - set(PRIOR_KEYS) - {"baseline", "baseline_mu", "baseline_sd"})
        if unknown:  # name the count model's own keys too, not only the normal model's
            raise InputError(f"unknown prior keys {unknown}; use {PRIOR_KEYS} or, for the study baselines of a "
                             "count model, 'baseline' (fixed) or 'baseline_mu' and 'baseline_sd' (random)")
    return {k: v for k, v in dict(priors).items() if k not in ("baseline", "baseline_mu", "baseline_sd")}


def _count_priors(resolved: dict[str, Any], given: Any, cnt: Counts) -> dict[str, Any]:
    from bayesma.priors import HalfNormal, Normal
    from bayesma.priors.parsing import as_prior

    out = dict(resolved)
    given = dict(given or {})
    if cnt.baseline == "fixed":
        out["baseline"] = as_prior(given.get("baseline", Normal(0, 10)))
        unused = [k for k in ("baseline_mu", "baseline_sd") if k in given]
    elif cnt.baseline == "random":
        out["baseline_mu"] = as_prior(given.get("baseline_mu", Normal(0, 10)))
        out["baseline_sd"] = as_prior(given.get("baseline_sd", HalfNormal(2.5)))
        unused = [k for k in ("baseline",) if k in given]
    else:
        unused = [k for k in ("baseline", "baseline_mu", "baseline_sd") if k in given]
    if unused:
        raise InputError(f"priors[{unused[0]!r}] cannot be used here: "
                         + ("fixed baselines take priors['baseline']" if cnt.baseline == "fixed" else
                            "random baselines take priors['baseline_mu'] and priors['baseline_sd']"
                            if cnt.baseline == "random" else "a single-group measure has no baseline"))
    return out


def _make_counts(measure: str, a: dict[str, np.ndarray], labels: list[str], baseline: str | None) -> Counts:
    if measure == "OR":
        n1 = a["n1i"] if "n1i" in a else a["ai"] + a["bi"]
        n2 = a["n2i"] if "n2i" in a else a["ci"] + a["di"]
        return Counts("binomial2", a["ai"], n1, a["ci"], n2, baseline)
    if measure == "IRR":
        return Counts("poisson2", a["x1i"], a["t1i"], a["x2i"], a["t2i"], baseline)
    if measure == "PLO":
        return Counts("binomial1", a["xi"], a["ni"])
    return Counts("poisson1", a["xi"], a["ti"])
