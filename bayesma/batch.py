"""Many meta-analyses at once: :func:`fit_many`.

One meta-analysis per group of rows (``by`` one or more columns), each with the
frequentist fixed- and random-effects estimates beside its posterior. Two paths:

* **vectorised exact** (``engine="exact"``, normal-normal model, Normal priors on mu
  and the coefficients): the groups are stacked by their number of studies and the
  exact engine (:func:`bayesma.exact.batch_summaries`; with a moderator formula
  :mod:`bayesma.batch_regression`, one design per group) and metafor's estimators
  (:func:`bayesma.frequentist.frequentist_batch`) run on whole arrays, with no
  Python loop per group;
* **one fit per group** (NUTS, three-level or subgroup-tau models, priors the
  vectorised path cannot take, k = 1): :class:`bayesma.MetaAnalysis`
  fits each group, through ``executor`` when one is given (any
  ``concurrent.futures.Executor`` or a ``dask.distributed.Client``).

A group whose input is bad, or whose fit fails, gets the error in its row; the
batch goes on.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma._format import frame_text, wrap_text
from bayesma._validate import check_level, label_alias
from bayesma.batch_regression import fit_regressions, note_dropped, plan_regression
from bayesma.batch_steps import (
    GROUP_FREQ,
    POST_COLS,
    Groups,
    Outputs,
    Plan,
    assemble,
    batch_pads,
    fit_single,
    fit_vectorised,
    freq_row,
    frequentist_fits,
    padded,
    plan_groups,
    posterior_rows,
    single_reason,
)
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.exact.capability import ENGINE_CHOICES
from bayesma.models import MetaAnalysis

__all__ = ["fit_many", "FitManyResult"]

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
        The arguments, the model (``"model"``: e.g. ``"CHE model (sampling correlation rho = 0.5)"``),
        the seconds taken, the number of groups per path and ``pad``: per group fitted one by
        one, the number of studies its NUTS fit is padded with (``bayesma.batch_steps.batch_pads``).

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
    _freq_fits: dict[Any, Any] = field(default_factory=dict, repr=False)
    _positions: dict[Any, np.ndarray] = field(default_factory=dict, repr=False)

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
        this reproduces the row's numbers: to about 1e-9 where the row came from the
        vectorised path). With ``keep_fits=True`` a group of the vectorised path is fitted
        here on first use and kept (the same fit as fitting it alone).

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
        sub = self._group(key)
        args = dict(self._model_args)
        fit_args = {**args.pop("fit"), **fit_kwargs}
        seed = self.groups.loc[key, "seed"]
        fit_args.setdefault("seed", None if pd.isna(seed) else int(seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ma = MetaAnalysis(sub, **args)
            post = ma.fit(**padded(ma.spec, fit_args, self.settings.get("pad", {}).get(key)))
        if self.settings.get("keep_fits") and not fit_kwargs:
            self._fits[key] = post  # kept: one object per group, whoever asks
        return post

    def _group(self, key: Any) -> pd.DataFrame:
        """The rows of one group that did not fail (KeyError / InputError otherwise)."""
        if key not in self.groups.index:
            raise KeyError(f"no group {key!r}; groups are {self.keys()[:10]}{' ...' if len(self.groups) > 10 else ''}")
        if self.groups.loc[key, "error"]:
            raise InputError(f"group {key!r} failed: {self.groups.loc[key, 'error']}")
        return _group_frame(self._data, self.by, key, self._positions.get(key))

    def frequentist(self, key: Any) -> dict[str, Any]:
        """metafor's fits of one group, the objects its row of :attr:`groups` was read from.

        Kept when ``fit_many(..., keep_fits=True)``: FE, DL, REML and REML + Knapp-Hartung
        (:class:`bayesma.RMAResult`; the ``method``/``test`` of the table too when it is none of
        them), the 3-level REML with ``cluster=``, or ``rma_mv`` with the same V and structure
        (``"REML (rma.mv)"``) for the dependent-effects models.

        Parameters
        ----------
        key : scalar or tuple
            The group key (see :meth:`keys`).

        Returns
        -------
        dict
            Fits by the label the report prints.

        Raises
        ------
        KeyError
            If there is no such group.
        InputError
            If the group failed, or the fits were not kept (``keep_fits=False``).

        Examples
        --------
        >>> import pandas as pd, bayesma as bm
        >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
        ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
        >>> res = bm.fit_many(df, by="outcome", keep_fits=True,
        ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        >>> sorted(res.frequentist("a"))
        ['DL', 'FE', 'REML', 'REML + KH']
        """
        if key in self._freq_fits:
            return self._freq_fits[key]
        sub = self._group(key)
        if not self.settings.get("keep_fits"):
            raise InputError("the frequentist fits were not kept: call fit_many(..., keep_fits=True)")
        args = {k: v for k, v in self._model_args.items() if k != "fit"}
        s = self.settings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = frequentist_fits(MetaAnalysis(sub, **args).spec, sub, args,
                                    {"method": s["method"], "test": s["test"], "level": s["level"]})
        self._freq_fits[key] = fits
        return fits

    def read_from_fits(self) -> FitManyResult:
        """The result with every group's rows read from its kept fits (:meth:`fit`, :meth:`frequentist`).

        With ``keep_fits=True`` the rows of groups on the vectorised path come from whole arrays
        and agree with the groups' own fits to about 1e-9; this gives the table whose every
        number is the kept objects' number, to the last digit (what ``bayesma fit --by``
        prints and writes). Groups fitted one by one are already read from their fits.

        Returns
        -------
        FitManyResult
            A new result; ``settings["rows"]`` says where the rows come from.

        Raises
        ------
        InputError
            If the fits were not kept (``keep_fits=False``).

        Examples
        --------
        >>> import pandas as pd, bayesma as bm
        >>> df = pd.DataFrame({"outcome": ["a"] * 3 + ["b"] * 3, "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.7],
        ...                    "vi": [0.02, 0.03, 0.04, 0.02, 0.05, 0.03]})
        >>> res = bm.fit_many(df, by="outcome", keep_fits=True,
        ...                   priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).read_from_fits()
        >>> bool(res.groups.loc["a", "mu_mean"] == res.fit("a").summary().loc["mu", "mean"])
        True
        """
        if not self.settings.get("keep_fits"):
            raise InputError("read_from_fits needs the fits kept: call fit_many(..., keep_fits=True)")
        return _read_from_fits(self)

    def __repr__(self) -> str:
        n = len(self.groups)
        failed = int((self.groups["error"] != "").sum())
        s = self.settings
        lines = [f"fit_many: {n} meta-analyses by {', '.join(self.by)} ({s.get('model', 'random effects')}; "
                 f"{s['engine']} engine, "
                 f"{s['seconds']:.2f} s; {s['n_vectorised']} vectorised, {s['n_single']} fitted one by one"
                 + (f" ({s['why_single']})" if s['n_single'] and s.get('why_single') else "")
                 + (f"; priors {s['priors']}" if s['n_vectorised'] else "") + ")"]
        if failed:
            lines.append(f"{failed} group(s) failed: see .errors")
        cols = ["k", "FE", "RE", "I2", "Q_p", "mu_mean", "mu_lower", "mu_upper", "p_mu_positive"]
        lines = [wrap_text(line) for line in lines]  # prose at 100 columns
        lines.append(frame_text(self.groups[cols], max_rows=20))  # Q_p as a p-value: <.0001, never 0.0
        return "\n".join(lines)


def _group_frame(data: pd.DataFrame, by: list[str], key: Any, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The rows of group *key* (at the positions *rows* when known: keys are stripped of spaces)."""
    kt = key if isinstance(key, tuple) else (key,)
    if rows is None:
        mask = np.ones(len(data), dtype=bool)
        for col, val in zip(by, kt):
            mask &= (data[col] == val).to_numpy()
        rows = np.flatnonzero(mask)
    sub = data.iloc[rows].copy()
    # plots of the group's fit take their title from it (bayesma.plots title_of)
    here = ", ".join(f"{col} = {val}" for col, val in zip(by, kt))
    sub.attrs = {**data.attrs, "subset": ", ".join(v for v in (data.attrs.get("subset"), here) if v)}
    return sub


# ---------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------


@label_alias
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
    missing: str = "raise",
    cluster: str | None = None,
    rho: float | None = None,
    outcome: str | None = None,
    struct: str | None = None,
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
        engine runs vectorised across groups where the model is normal-normal (moderators as a
        formula allowed) with Normal priors on mu and the coefficients; other models fit one
        group at a time (``settings["why_single"]`` says why).
    method : {"REML", "DL", "PM", "FE"}
        The frequentist random-effects estimator shown beside the posterior (metafor's
        numbers).
    test : {"z", "t", "knha", "adhoc"}
        Tests and intervals of the frequentist estimates, as :func:`bayesma.rma`.
    level : float
        Probability of the intervals (frequentist and Bayesian): a fraction such as 0.95 or
        a percentage such as 95, as everywhere in bayesma.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where groups fitted one at a time run (NUTS fits, moderators, ...). Results do
        not depend on it.
    progress : bool, optional
        A progress bar for groups fitted one at a time (default: when stderr is a terminal).
    seed : int, optional
        Group ``i`` (in sorted key order) uses the integer ``groups["seed"]``, drawn from
        ``numpy.random.SeedSequence(seed)``; fitting the group alone with that seed gives
        the same draws (with NUTS, padded as here: ``pad=settings["pad"][key]``).
    draws : int
        Passed to :meth:`bayesma.MetaAnalysis.fit`.
    tune : int, optional
        NUTS tuning steps, passed to :meth:`bayesma.MetaAnalysis.fit` only when given.
    chains : int
        Passed to :meth:`bayesma.MetaAnalysis.fit`.
    keep_fits : bool, optional
        Keep each group's :class:`MetaPosterior` and metafor's fits of it (default: for NUTS):
        :meth:`FitManyResult.fit` and :meth:`FitManyResult.frequentist` return them, one object
        per group. Groups fitted one by one keep the objects their rows were read from; groups
        of the vectorised exact path get theirs on first use (the same fit as fitting the group
        alone; its numbers agree with the vectorised row to about 1e-9), and
        :meth:`FitManyResult.read_from_fits` reads every row from the kept objects (what
        ``bayesma fit --by`` prints). Otherwise :meth:`FitManyResult.fit` refits a group on
        demand.
    missing : {"raise", "drop"}
        As :class:`bayesma.MetaAnalysis`: a study with a missing value is an error in its
        group (``.errors``), or dropped from its group with a warning.
    cluster, rho, outcome, struct : optional
        As :class:`bayesma.MetaAnalysis`: the three-level model (``cluster``), the CHE model
        (``cluster`` and ``rho``, V built from ``vi``) or the multivariate model across
        outcomes (``cluster``, ``outcome`` and ``struct``, with ``rho``), within each group;
        the frequentist counterpart is the 3-level REML or ``rma_mv`` (kept with ``keep_fits``).
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
    NUTS fits of normal random effects pad the groups' studies so that groups of different
    sizes share compiled models (``settings["pad"]``, ``bayesma.batch_steps.batch_pads``):
    the groups of a bucket of studies (64, 128, ...) are padded to the next larger bucket in
    use when that costs less sampling than a compile, so a few small meta-analyses and a large
    one compile once (``python benchmarks/bench_fit_many_padding.py``). Other models are
    padded as when fitted alone.

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
    level = check_level(level)
    if missing not in ("raise", "drop"):
        raise InputError(f"missing must be 'raise' or 'drop', got {missing!r}")
    if any(getattr(p, "family", None) == "Jeffreys" for p in (priors or {}).values()):
        raise InputError("a Jeffreys prior is built from one set of studies (Jeffreys.from_vi(vi)); fit_many fits "
                         "groups of other studies, each needing its own: fit each group with its own "
                         "Jeffreys.from_vi, or give a prior that does not depend on the data")
    by_cols = _check_arguments(data, by, [yi, vi, sei, labels], engine, method, test, level, seed)
    if keep_fits is None:
        keep_fits = engine == "nuts"
    if measure is None:  # as MetaAnalysis: the measure escalc recorded on the frame
        measure = data.attrs.get("measure")
    model_args = {"yi": yi, "vi": vi, "sei": sei, "labels": labels, "measure": measure, "priors": priors,
                  "model": model, "mods": mods, "missing": missing}
    dependence = {name: value for name, value in (("cluster", cluster), ("rho", rho), ("outcome", outcome),
                                                  ("struct", struct)) if value is not None}
    for col in (cluster, outcome):
        if col is not None and col not in data.columns:
            raise InputError(f"column {col!r} not in data (columns: {list(data.columns)})")
    model_args.update(dependence)
    fit_args = {"engine": engine, "draws": draws, "chains": chains, **fit_kwargs}
    if tune is not None:  # a NUTS option: engine="auto" then samples with NUTS, "exact" refuses it (once, here)
        if engine == "exact":
            raise InputError("tune= is a NUTS option: the exact engine integrates (no tuning); leave it out, "
                             "or use engine='nuts'")
        fit_args["tune"] = tune
    freq_args = {"method": method, "test": test, "level": level}

    groups = Groups.of(data, by_cols, seed)
    why_single = single_reason(engine, tune, mods, model, fit_kwargs, bool(dependence))
    vector_ok = not why_single
    plan = plan_groups(data, groups, model_args, by_cols) if vector_ok else Plan(single=list(range(groups.n)),
                                                                              errors=[""] * groups.n)
    if vector_ok and mods is not None and plan.arrays is not None:  # one meta-regression per group
        plan.regression = plan_regression(data, groups, model_args, by_cols, plan)
    out = Outputs.empty(groups.n, plan.errors, "exact" if engine == "auto" else engine)
    fit_vectorised(plan, groups, model, freq_args, out)
    fit_regressions(plan.regression, groups, plan.arrays, model, out, level)
    # NUTS: the groups' padding, so that they share compiled models
    pads = batch_pads(groups.sizes[plan.single], steps=(int(draws) + (1000 if tune is None else int(tune))) * int(chains))
    fits = fit_single(plan.single, groups, data, model_args, fit_args, freq_args, keep_fits, executor, progress, out,
                      pads)
    note_dropped(mods, data, out)
    table, groups_table = assemble(groups.keys, by_cols, groups.sizes, out.names, out.values, out.freq, out.p_pos,
                                    out.notes, out.errors, groups.seeds, out.engines, set(plan.single))
    settings = {"engine": engine, "method": method, "test": test, "level": level, "seed": seed,
                "n_vectorised": plan.n_vectorised, "n_single": len(plan.single), "priors": plan.priors,
                "why_single": why_single or "; ".join(f"{n} with {why}" for why, n in plan.reasons.items())
                or "k < 2, missing values, repeated labels or a mu prior that is not normal", "model": _model_name(model, mods, cluster, rho, outcome, struct),
                "keep_fits": bool(keep_fits), "rows": "vectorised arrays and fits" if plan.n_vectorised else "fits",
                "pad": {groups.keys[i]: p for i, p in zip(plan.single, pads)},
                "seconds": time.perf_counter() - t0}
    return FitManyResult(table=table, groups=groups_table, by=by_cols, settings=settings, _data=data,
                         _model_args={**model_args, "fit": fit_args}, _fits=fits, _freq_fits=out.freq_fits,
                         _positions=groups.positions)


# ---------------------------------------------------------------------------
# the steps of fit_many
# ---------------------------------------------------------------------------


def _read_from_fits(res: FitManyResult) -> FitManyResult:
    """*res* with the rows of its vectorised groups read from their kept fits (built here)."""
    g = res.groups
    G = len(g)
    vectorised = g["engine"].astype(str).str.endswith("(vectorised)").to_numpy()
    keys = res.keys()
    names: list[Any] = [None] * G
    values: list[Any] = [None] * G
    freq, p_pos = g[GROUP_FREQ].to_numpy(float).copy(), g["p_mu_positive"].to_numpy(float).copy()
    settings = res.settings
    freq_args = {"method": settings["method"], "test": settings["test"], "level": settings["level"]}
    for i, key in enumerate(keys):
        if g["error"].iloc[i]:
            continue
        if vectorised[i]:
            rows, p_pos[i] = posterior_rows(res.fit(key), settings["level"])
            if res._model_args.get("mods") is None:  # a meta-regression has no such row (as one by one)
                freq[i] = [freq_row(res.frequentist(key), freq_args)[c] for c in GROUP_FREQ]
        else:
            rows = res.table.loc[key if isinstance(key, tuple) else (key,)]
        names[i], values[i] = tuple(rows.index), rows[POST_COLS].to_numpy(float)
    engines = g["engine"].astype(str).str.replace(" (vectorised)", "", regex=False).tolist()
    table, groups_table = assemble(keys, res.by, g["k"].to_numpy(), names, values, freq, p_pos,
                                   g["warnings"].tolist(), g["error"].tolist(), list(g["seed"]), engines, set(range(G)))
    return FitManyResult(table=table, groups=groups_table, by=res.by, settings={**settings, "rows": "fits"},
                         _data=res._data, _model_args=res._model_args, _fits=res._fits, _freq_fits=res._freq_fits,
                         _positions=res._positions)


def _model_name(model: str, mods: Any, cluster: Any, rho: Any, outcome: Any, struct: Any) -> str:
    """The model each group is fitted with, as the outputs name it."""
    if outcome is not None:
        return f"multivariate model ({struct or 'CS'}) across outcomes" + (f", rho = {rho:g}" if rho is not None else "")
    if rho is not None:
        return f"CHE model (sampling correlation rho = {rho:g})"
    if cluster is not None:
        return "three-level model"
    if mods is not None:
        return f"meta-regression {mods}"
    return "random-effects model" if model == "random" else "common-effect model"


def _check_arguments(data, by, columns, engine, method, test, level, seed) -> list[str]:
    """Validate fit_many's arguments; the by columns as a list."""
    if not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise InputError("by must name at least one column")
    for col in by_cols + [c for c in columns if isinstance(c, str)]:
        if col not in data.columns:
            raise InputError(f"column {col!r} not in data (columns: {list(data.columns)})")
    if engine not in ENGINE_CHOICES:
        raise InputError(f"engine must be one of {ENGINE_CHOICES}, got {engine!r}")
    if method not in ("REML", "DL", "PM", "FE"):
        raise InputError(f"method must be 'REML', 'DL', 'PM' or 'FE' for fit_many, got {method!r}")
    if test not in ("z", "t", "knha", "adhoc"):
        raise InputError(f"test must be one of 'z', 't', 'knha', 'adhoc' (as metafor's rma), got {test!r}")
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise ArgumentTypeError(f"seed must be an integer, got {seed!r}")
    missing_key = data[by_cols].isna().any(axis=1).to_numpy()
    if missing_key.any():
        rows = [int(r) + 1 for r in np.flatnonzero(missing_key)[:10]]
        raise InputError(f"missing values in the by column(s) {by_cols} in row(s) {list(rows)}: "
                         "every row must belong to a meta-analysis")
    return by_cols
