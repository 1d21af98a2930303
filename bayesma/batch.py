"""Many meta-analyses at once: :func:`fit_many`.

One meta-analysis per group of rows (``by`` one or more columns), each with the
frequentist fixed- and random-effects estimates beside its posterior. Two paths:

* **vectorised exact** (``engine="exact"``, intercept-only normal-normal model, a
  Normal prior on mu): the groups are stacked by their number of studies and the
  exact engine (:func:`bayesma.exact.batch_summaries`) and metafor's estimators
  (:func:`bayesma.frequentist.frequentist_batch`) run on whole arrays, with no
  Python loop per group;
* **one fit per group** (NUTS, moderators, three-level or subgroup-tau models,
  priors the vectorised path cannot take, k = 1): :class:`bayesma.MetaAnalysis`
  fits each group, through ``executor`` when one is given (any
  ``concurrent.futures.Executor`` or a ``dask.distributed.Client``).

A group whose input is bad, or whose fit fails, gets the error in its row; the
batch goes on.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from bayesma._tasks import run_tasks
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.exact import batch_summaries
from bayesma.exact.capability import ENGINE_CHOICES
from bayesma.frequentist.batch import group_summaries
from bayesma.models import MetaAnalysis
from bayesma.priors import RAW_MEASURES
from bayesma.spec import resolve_priors

__all__ = ["fit_many", "FitManyResult"]

_PARAMS = ("mu", "tau", "theta_new")
_POST_COLS = ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
_GROUP_FREQ = ["FE", "FE_se", "FE_lower", "FE_upper", "RE", "RE_se", "RE_lower", "RE_upper", "tau2",
               "tau2_lower", "tau2_upper", "I2", "H2", "Q", "Q_df", "Q_p", "pi_lower", "pi_upper"]


@dataclass
class FitManyResult:  # numpydoc ignore=PR01
    """Results of :func:`fit_many`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy: one row per group and parameter (``mu`` or ``beta[...]``, ``tau``,
        ``theta_new``), indexed by the ``by`` columns and ``parameter``. Columns: ``k``,
        the posterior ``mean, sd, median, eti_lower, eti_upper, r_hat, ess_bulk,
        ess_tail`` (R-hat and ESS are NaN for the exact engine), the frequentist
        random-effects counterpart ``freq, freq_lower, freq_upper`` (mu: estimate and
        CI; tau: sqrt of tau² and its Q-profile CI; theta_new: the prediction
        interval), ``engine``, ``warnings`` and ``error``.
    groups : pandas.DataFrame
        One row per group: ``k``, fixed-effect (``FE*``) and random-effects (``RE*``,
        the ``method`` estimator) estimates, tau², its Q-profile interval, I², H², Q, its
        df and p, the prediction interval, the posterior of mu (``mu_mean``,
        ``mu_lower``, ``mu_upper``, ``p_mu_positive``), ``tau_median``, ``seed``,
        ``engine``, ``warnings`` and ``error``.
    by : list of str
    settings : dict
        The arguments, the seconds taken and the number of groups per path.

    Examples
    --------
    >>> import pandas as pd, bayesma as bm
    >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
    ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
    >>> res = bm.fit_many(df, by="outcome", yi="yi", vi="vi",
    ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> res.keys(), res.groups["k"].tolist()
    (['a', 'b'], [3, 3])
    """

    table: pd.DataFrame
    groups: pd.DataFrame
    by: list[str]
    settings: dict[str, Any]
    _data: pd.DataFrame = field(repr=False)
    _model_args: dict[str, Any] = field(repr=False)
    _fits: dict[Any, Any] = field(default_factory=dict, repr=False)

    def summary(self) -> pd.DataFrame:
        """The per-group table (:attr:`groups`).

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`groups`: one row per group (index the group key).

        Examples
        --------
        >>> import pandas as pd, bayesma as bm
        >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
        ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
        >>> res = bm.fit_many(df, by="outcome", yi="yi", vi="vi",
        ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> res.summary().index.tolist()
        ['a', 'b']
        """
        return self.groups.copy()

    @property
    def errors(self) -> pd.DataFrame:
        """The groups whose input or fit failed, with the message.

        Examples
        --------
        >>> import pandas as pd, bayesma as bm
        >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
        ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
        >>> res = bm.fit_many(df, by="outcome", yi="yi", vi="vi",
        ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> len(res.errors)
        0
        """
        return self.groups.loc[self.groups["error"] != "", ["k", "error"]]

    def keys(self) -> list[Any]:
        """Group keys (scalars for one ``by`` column, tuples for several).

        Returns
        -------
        list
            The keys, in the order of :attr:`groups`.

        Examples
        --------
        >>> import pandas as pd, bayesma as bm
        >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
        ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
        >>> res = bm.fit_many(df, by="outcome", yi="yi", vi="vi",
        ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> res.keys()
        ['a', 'b']
        """
        return list(self.groups.index)

    def fit(self, key: Any, **fit_kwargs: Any):
        """The fit of one group alone, as :class:`bayesma.MetaPosterior`.

        Kept fits (NUTS, ``keep_fits=True``) are returned as they are; otherwise the group
        is refitted with the same model, priors, engine and seed (for the exact engine
        this reproduces the row's numbers).

        Parameters
        ----------
        key : scalar or tuple
            The group key (see :meth:`keys`).
        **fit_kwargs
            Passed to :meth:`bayesma.MetaAnalysis.fit` when the group is refitted.

        Returns
        -------
        MetaPosterior

        Raises
        ------
        KeyError
            If there is no such group.
        ValueError
            If the group's input or fit failed.

        Examples
        --------
        >>> import pandas as pd, bayesma as bm
        >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
        ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
        >>> res = bm.fit_many(df, by="outcome", yi="yi", vi="vi",
        ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> type(res.fit("a")).__name__
        'MetaPosterior'
        """
        if key in self._fits:
            return self._fits[key]
        if key not in self.groups.index:
            raise KeyError(f"no group {key!r}; groups are {self.keys()[:10]}{' ...' if len(self.groups) > 10 else ''}")
        if self.groups.loc[key, "error"]:
            raise InputError(f"group {key!r} failed: {self.groups.loc[key, 'error']}")
        sub = _group_frame(self._data, self.by, key)
        args = dict(self._model_args)
        fit_args = {**args.pop("fit"), **fit_kwargs}
        seed = self.groups.loc[key, "seed"]
        fit_args.setdefault("seed", None if pd.isna(seed) else int(seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MetaAnalysis(sub, **args).fit(**fit_args)

    def __repr__(self) -> str:
        n = len(self.groups)
        failed = int((self.groups["error"] != "").sum())
        s = self.settings
        lines = [f"fit_many: {n} meta-analyses by {', '.join(self.by)} ({s['engine']} engine, "
                 f"{s['seconds']:.2f} s; {s['n_vectorised']} vectorised, {s['n_single']} fitted one by one)"]
        if failed:
            lines.append(f"{failed} group(s) failed: see .errors")
        cols = ["k", "FE", "RE", "I2", "Q_p", "mu_mean", "mu_lower", "mu_upper", "p_mu_positive"]
        with pd.option_context("display.width", 120, "display.max_rows", 20):
            lines.append(self.groups[cols].round(4).to_string())
        return "\n".join(lines)


def _group_frame(data: pd.DataFrame, by: list[str], key: Any) -> pd.DataFrame:
    kt = key if isinstance(key, tuple) else (key,)
    mask = np.ones(len(data), dtype=bool)
    for col, val in zip(by, kt):
        mask &= (data[col] == val).to_numpy()
    return data.loc[mask]


# ---------------------------------------------------------------------------
# one group alone (NUTS, moderators, ...): a module-level function for executors
# ---------------------------------------------------------------------------


def _fit_one(task: tuple) -> dict[str, Any]:
    """Fit one group alone. Its ``warnings`` column is built from the fit itself (small k, sampler
    diagnostics), not from Python's warnings, whose capture is not thread-safe: the table is the
    same whatever the executor."""
    key, sub, model_args, fit_args, freq_args, keep = task
    out: dict[str, Any] = {"key": key, "error": "", "warnings": "", "rows": None, "freq": None, "fit": None}
    in_main = threading.current_thread() is threading.main_thread()
    with warnings.catch_warnings() if in_main else contextlib.nullcontext():
        if in_main:
            warnings.simplefilter("ignore")
        try:
            ma = MetaAnalysis(sub, **model_args)
            post = ma.fit(**fit_args)
            summ = post.summary()
            keep_rows = [r for r in summ.index if not r.startswith("theta[")]
            out["rows"] = summ.loc[keep_rows, _POST_COLS]
            out["p_mu_positive"] = float(post.p_greater("mu", 0.0)) if "mu" in summ.index else math.nan
            spec = ma.spec
            notes = [_small_k_note(spec.k, spec.model, spec.priors.get("tau"))]
            out["engine"] = post.engine
            if post.engine == "nuts":
                notes += post.diagnostics().problems
            out["warnings"] = "; ".join(n for n in notes if n)
            if not spec.is_regression and spec.cluster_index is None:
                f = group_summaries(spec.yi[None], spec.vi[None], **freq_args)
                out["freq"] = {name: float(val[0]) for name, val in f.items()}
            if keep:
                out["fit"] = post
        except Exception as exc:  # a failing group never stops the batch
            out["error"] = f"{type(exc).__name__}: {exc}"
    return out


# ---------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------


def fit_many(
    data: pd.DataFrame,
    by: str | Sequence[str],
    yi: str = "yi",
    vi: str | None = "vi",
    *,
    sei: str | None = None,
    labels: str | None = None,
    measure: str | None = None,
    priors: Mapping[str, Any] | None = None,
    model: str = "random",
    mods: str | None = None,
    engine: str = "auto",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    executor: Any = None,
    progress: bool | None = None,
    seed: int | None = None,
    draws: int = 1000,
    tune: int | None = None,
    chains: int = 4,
    keep_fits: bool | None = None,
    **fit_kwargs: Any,
) -> FitManyResult:
    """Fit one meta-analysis per group of rows, with the frequentist estimates beside each posterior.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per effect, all meta-analyses stacked.
    by : str or list of str
        Column(s) whose values define the meta-analyses (e.g. ``"outcome"``). Missing
        values in them are an error naming the rows.
    yi, vi, sei, labels : str
        Column names, as :class:`bayesma.MetaAnalysis` (give ``vi`` or ``sei``). Labels
        must be unique within a group, not across groups.
    measure, priors, model, mods : optional
        As :class:`bayesma.MetaAnalysis`; the same for every group. Default priors depend
        on ``measure`` (and, for raw or unknown measures, on each group's data, exactly
        as when fitting the group alone).
    engine : {"auto", "exact", "nuts"}
        As :meth:`bayesma.MetaAnalysis.fit`: ``"auto"`` (the default) is the exact engine
        when it can fit the model (:func:`bayesma.exact.capability.exact_support`) and no
        NUTS option is given, else NUTS; the ``engine`` column says which ran. The exact
        engine runs vectorised across groups where the model is intercept-only
        normal-normal with a Normal prior on mu; other models fit one group at a time.
    method : {"REML", "DL", "PM", "FE"}
        The frequentist random-effects estimator shown beside the posterior (metafor's
        numbers).
    test : {"z", "knha", "adhoc"}
        Tests and intervals of the frequentist estimates, as :func:`bayesma.rma`.
    level : float
        Probability of the intervals (frequentist and Bayesian), in (0, 1).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where groups fitted one at a time run (NUTS fits, moderators, ...). Results do
        not depend on it.
    progress : bool, optional
        A progress bar for groups fitted one at a time (default: when stderr is a terminal).
    seed : int, optional
        Group ``i`` (in sorted key order) uses the integer ``groups["seed"]``, drawn from
        ``numpy.random.SeedSequence(seed)``; fitting the group alone with that seed gives
        the same draws.
    draws, chains : int
        Passed to :meth:`bayesma.MetaAnalysis.fit`.
    tune : int, optional
        NUTS tuning steps, passed to :meth:`bayesma.MetaAnalysis.fit` only when given.
    keep_fits : bool, optional
        Keep each group's :class:`MetaPosterior` (default: for NUTS). Otherwise
        :meth:`FitManyResult.fit` refits a group on demand.
    **fit_kwargs
        Passed to :meth:`bayesma.MetaAnalysis.fit`.

    Returns
    -------
    FitManyResult
        ``.table`` (one row per group and parameter), ``.groups`` (one row per group),
        ``.fit(key)``, ``.errors``.

    Raises
    ------
    ValueError
        Unknown columns, missing group keys, bad ``engine``/``method``/``level``.
    TypeError
        ``data`` not a DataFrame, or an executor of the wrong kind.

    Notes
    -----
    The vectorised path gives each group's exact posterior with the exact engine's
    accuracy (about 1e-9 posterior sd; the tests compare each group with its own fit) and
    metafor's frequentist numbers. Speed: ``python benchmarks/bench_fit_many.py``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.landenberger2005")
    >>> es = bm.escalc("OR", ai="n.ctrl.rec", bi="n.ctrl.non", ci="n.cbt.rec", di="n.cbt.non", data=dat)
    >>> many = bm.fit_many(es, by="setting", measure="OR")
    >>> many.groups[["k", "RE", "mu_mean"]].round(2)            # doctest: +SKIP
    """
    t0 = time.perf_counter()
    if not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise InputError("by must name at least one column")
    for col in by_cols + [c for c in (yi, vi, sei, labels) if isinstance(c, str)]:
        if col not in data.columns:
            raise InputError(f"column {col!r} not in data (columns: {list(data.columns)})")
    if engine not in ENGINE_CHOICES:
        raise InputError(f"engine must be one of {ENGINE_CHOICES}, got {engine!r}")
    if method not in ("REML", "DL", "PM", "FE"):
        raise InputError(f"method must be 'REML', 'DL', 'PM' or 'FE' for fit_many, got {method!r}")
    if test not in ("z", "knha", "adhoc"):
        raise InputError(f"test must be 'z', 'knha' or 'adhoc', got {test!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise ArgumentTypeError(f"seed must be an integer, got {seed!r}")
    missing_key = data[by_cols].isna().any(axis=1).to_numpy()
    if missing_key.any():
        rows = [int(r) + 1 for r in np.flatnonzero(missing_key)[:10]]
        raise InputError(f"missing values in the by column(s) {by_cols} in row(s) {list(rows)}: "
                         "every row must belong to a meta-analysis")
    if keep_fits is None:
        keep_fits = engine == "nuts"

    model_args = {"yi": yi, "vi": vi, "sei": sei, "labels": labels, "measure": measure, "priors": priors,
                  "model": model, "mods": mods}
    fit_args = {"engine": engine, "draws": draws, "chains": chains, **fit_kwargs}
    if tune is not None:  # a NUTS option: engine="auto" then samples with NUTS, "exact" refuses it
        fit_args["tune"] = tune
    freq_args = {"method": method, "test": test, "level": level}

    grouped = data.groupby(by_cols, sort=True)
    positions = {(k[0] if len(by_cols) == 1 and isinstance(k, tuple) else k): idx
                 for k, idx in grouped.indices.items()}  # key -> row positions
    keys = list(positions)
    G = len(keys)
    sizes = np.array([positions[key].size for key in keys])
    seeds = ([int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(G)]
             if seed is not None else [None] * G)

    # which groups can go through the vectorised exact engine
    vector_ok = engine in ("exact", "auto") and tune is None and mods is None and model in ("random", "common") and not fit_kwargs
    valid_arrays = _validated_arrays(data, yi, vi, sei) if vector_ok else None
    dup = (data.duplicated(by_cols + [labels]).to_numpy() if labels is not None else np.zeros(len(data), bool))
    fixed_priors = None
    if vector_ok and measure is not None and str(measure).upper() not in RAW_MEASURES:
        # default priors that do not depend on the data: resolve them once
        y0, v0 = np.zeros(2), np.ones(2)
        fixed_priors = resolve_priors(priors, measure=measure, meta=SimpleNamespace(yi=y0, vi=v0), model=model)
    buckets: dict[tuple, list[int]] = {}
    prior_of: dict[tuple, dict] = {}
    single: list[int] = []
    errors = [""] * G
    for i, key in enumerate(keys):
        idx = positions[key]
        if valid_arrays is None or idx.size < 2:
            single.append(i)
            continue
        if not valid_arrays[2][idx].all() or dup[idx].any():
            single.append(i)  # the one-by-one path gives the exact error message
            continue
        pri = fixed_priors
        if pri is None:
            try:
                pri = resolve_priors(priors, measure=measure,
                                     meta=SimpleNamespace(yi=valid_arrays[0][idx], vi=valid_arrays[1][idx]),
                                     model=model)
            except Exception as exc:
                errors[i] = f"{type(exc).__name__}: {exc}"
                continue
        if pri["mu"].family != "Normal":
            single.append(i)
            continue
        bkey = (idx.size, repr(pri["mu"]), repr(pri.get("tau")))
        prior_of.setdefault(bkey, pri)
        buckets.setdefault(bkey, []).append(i)

    names: list[tuple[str, ...] | None] = [None] * G  # posterior rows of each group
    values: list[np.ndarray | None] = [None] * G  # (rows, 8)
    freq = np.full((G, len(_GROUP_FREQ)), np.nan)
    p_pos = np.full(G, np.nan)
    notes = [""] * G
    vec_names = ("mu", "tau", "theta_new") if model == "random" else ("mu", "theta_new")
    for bkey, members in buckets.items():
        k = bkey[0]
        rows = np.concatenate([positions[keys[i]] for i in members])
        Y = valid_arrays[0][rows].reshape(len(members), k)
        V = valid_arrays[1][rows].reshape(len(members), k)
        pri = prior_of[bkey]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ex = batch_summaries(Y, V, pri["mu"], pri.get("tau"), level=level, moments=True)
            fr = group_summaries(Y, V, **freq_args)
        blocks = [np.column_stack([ex[f"{p}_mean"], ex[f"{p}_sd"], ex[f"{p}_median"], ex[f"{p}_lower"],
                                   ex[f"{p}_upper"]]) for p in ("mu", "tau", "new") if p != "tau" or model == "random"]
        arr = np.concatenate([np.stack(blocks, axis=1), np.full((len(members), len(blocks), 3), np.nan)], axis=2)
        freq[members] = np.column_stack([fr[c] for c in _GROUP_FREQ])
        p_pos[members] = ex["mu_p_positive"]
        note = _small_k_note(k, model, pri.get("tau"))
        for r, i in enumerate(members):
            names[i], values[i], notes[i] = vec_names, arr[r], note

    tasks = [(keys[i], data.iloc[positions[keys[i]]], model_args, {**fit_args, "seed": seeds[i]}, freq_args,
              keep_fits) for i in single]
    outputs = run_tasks(_fit_one, tasks, executor=executor, progress=progress, desc="fit_many")
    fits: dict[Any, Any] = {}
    ran = ["exact"] * G  # the vectorised path is the exact engine
    for i, out in zip(single, outputs):
        ran[i] = out.get("engine") or engine
        notes[i] = out["warnings"]
        if out["error"]:
            errors[i] = out["error"]
            continue
        names[i] = tuple(out["rows"].index)
        values[i] = out["rows"][_POST_COLS].to_numpy(float)
        if out["freq"] is not None:
            freq[i] = [out["freq"][c] for c in _GROUP_FREQ]
        p_pos[i] = out["p_mu_positive"]
        if out["fit"] is not None:
            fits[keys[i]] = out["fit"]

    table, groups = _assemble(keys, by_cols, sizes, names, values, freq, p_pos, notes, errors, seeds, ran,
                              set(single))
    settings = {"engine": engine, "method": method, "test": test, "level": level, "seed": seed,
                "n_vectorised": sum(len(m) for m in buckets.values()), "n_single": len(single),
                "seconds": time.perf_counter() - t0}
    return FitManyResult(table=table, groups=groups, by=by_cols, settings=settings, _data=data,
                         _model_args={**model_args, "fit": fit_args}, _fits=fits)


def _validated_arrays(data: pd.DataFrame, yi: str, vi: str | None, sei: str | None):
    """yi, vi and a per-row ok mask for the whole frame, or None when a column is not numeric at all.

    Rows that fail (missing, non-finite, non-positive variance) send their group down the
    one-by-one path, where :class:`bayesma.MetaData` names the study and column.
    """
    cols = [yi, vi if sei is None else sei]
    arrays = []
    for col in cols:
        s = data[col]
        if s.dtype == bool or not pd.api.types.is_numeric_dtype(s):
            return None
        arrays.append(s.to_numpy(dtype=float, na_value=np.nan))
    y, second = arrays
    v = second if sei is None else second**2
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    return y, v, ok


def _small_k_note(k: int, model: str, tau_prior: Any) -> str:
    if model != "random" or k >= 5:
        return ""
    return (f"k = {k} studies (< 5): the prior on tau ({tau_prior!r}) matters; "
            "check with bayesma.compare_priors()")


def _assemble(keys, by_cols, sizes, names, values, freq, p_pos, notes, errors, seeds, engine, single):
    """The tidy table (one row per group and parameter) and the per-group table, built from arrays."""
    G = len(keys)
    key_tuples = [key if isinstance(key, tuple) else (key,) for key in keys]
    paths = np.array([engine[i] if i in single else f"{engine[i]} (vectorised)" for i in range(G)], dtype=object)
    notes_arr, errors_arr = np.array(notes, dtype=object), np.array(errors, dtype=object)
    f = {c: freq[:, j] for j, c in enumerate(_GROUP_FREQ)}

    # per group: the posterior of mu and the median of tau
    mu = np.full((G, 3), np.nan)
    tau_median = np.full(G, np.nan)
    for i in range(G):
        if names[i] is None:
            continue
        rows = names[i]
        if "mu" in rows:
            mu[i] = values[i][rows.index("mu"), [0, 3, 4]]
        tau_median[i] = values[i][rows.index("tau"), 2] if "tau" in rows else 0.0
    gcols = {c: [t[j] for t in key_tuples] for j, c in enumerate(by_cols)}
    groups = pd.DataFrame({**gcols, "k": sizes, **f, "mu_mean": mu[:, 0], "mu_lower": mu[:, 1], "mu_upper": mu[:, 2],
                           "p_mu_positive": p_pos, "tau_median": tau_median,
                           "seed": pd.array(seeds, dtype="Int64"), "engine": paths, "warnings": notes_arr,
                           "error": errors_arr}).set_index(by_cols)

    # long table: one row per group and parameter
    have = [i for i in range(G) if names[i] is not None]
    counts = np.array([len(names[i]) for i in have], dtype=int)
    gi = np.repeat(np.array(have, dtype=int), counts)
    params = np.array([p for i in have for p in names[i]], dtype=object)
    vals = np.vstack([values[i] for i in have]) if have else np.empty((0, len(_POST_COLS)))
    freq_est = np.full(gi.size, np.nan)
    freq_lo = np.full(gi.size, np.nan)
    freq_hi = np.full(gi.size, np.nan)
    is_mu, is_tau, is_new = params == "mu", params == "tau", params == "theta_new"
    freq_est[is_mu], freq_lo[is_mu], freq_hi[is_mu] = f["RE"][gi[is_mu]], f["RE_lower"][gi[is_mu]], f["RE_upper"][gi[is_mu]]
    with np.errstate(invalid="ignore"):
        freq_est[is_tau] = np.sqrt(f["tau2"][gi[is_tau]])
        freq_lo[is_tau] = np.sqrt(f["tau2_lower"][gi[is_tau]])
        freq_hi[is_tau] = np.sqrt(f["tau2_upper"][gi[is_tau]])
    freq_lo[is_new], freq_hi[is_new] = f["pi_lower"][gi[is_new]], f["pi_upper"][gi[is_new]]
    table = pd.DataFrame({**{c: np.asarray(v, dtype=object)[gi] if len(v) else [] for c, v in gcols.items()},
                          "parameter": params, "k": sizes[gi],
                          **{c: vals[:, j] for j, c in enumerate(_POST_COLS)},
                          "freq": freq_est, "freq_lower": freq_lo, "freq_upper": freq_hi,
                          "engine": paths[gi], "warnings": notes_arr[gi], "error": ""})
    for c in by_cols:  # keep the by columns' own dtypes
        table[c] = table[c].astype(groups.index.get_level_values(c).dtype) if len(table) else table[c]
    table = table.set_index(by_cols + ["parameter"])
    return table, groups
