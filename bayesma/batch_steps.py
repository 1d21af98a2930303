"""The steps of :func:`bayesma.fit_many`: group the rows, plan the path of each group, fit.

* :class:`Groups`: the meta-analyses (keys in sorted order, their rows, sizes and seeds);
* :func:`plan_groups`: which groups the vectorised exact engine takes (:class:`Bucket`: groups
  of one size, with one prior for all or, for data-scaled default priors, one per group) and
  which are fitted one by one;
* :func:`fit_vectorised` and :func:`fit_single` fill one :class:`Outputs`;
* :func:`assemble`: the tidy table and the per-group table.
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from bayesma._tasks import run_tasks
from bayesma._validate import stripped_ids
from bayesma.exact import batch_summaries
from bayesma.exact.capability import choose_engine
from bayesma.frequentist.batch import group_summaries
from bayesma.models import EXACT_OPTIONS, MetaAnalysis
from bayesma.priors import RAW_MEASURES
from bayesma.priors.base import short_text
from bayesma.spec import resolve_priors

__all__ = ["Groups", "Bucket", "Plan", "plan_groups", "Outputs", "fit_vectorised", "fit_single", "fit_one", "padded", "single_reason",
           "batch_pads", "PAD_BUDGET",
           "assemble", "validated_arrays", "small_k_note", "frequentist_fits", "freq_row", "posterior_rows", "POST_COLS",
           "GROUP_FREQ"]

POST_COLS = ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
GROUP_FREQ = ["FE", "FE_se", "FE_lower", "FE_upper", "RE", "RE_se", "RE_lower", "RE_upper", "tau2",
              "tau2_lower", "tau2_upper", "I2", "H2", "Q", "Q_df", "Q_p", "pi_lower", "pi_upper"]


# ---------------------------------------------------------------------------
# one group alone (NUTS, moderators, ...): a module-level function for executors
# ---------------------------------------------------------------------------


def fit_one(task: tuple) -> dict[str, Any]:
    """Fit one group alone. Its ``warnings`` column is built from the fit itself (small k, sampler
    diagnostics), not from Python's warnings, whose capture is not thread-safe: the table is the
    same whatever the executor."""
    key, sub, model_args, fit_args, freq_args, keep, pad = task
    out: dict[str, Any] = {"key": key, "error": "", "warnings": "", "rows": None, "freq": None, "fit": None,
                           "freq_fits": None}
    in_main = threading.current_thread() is threading.main_thread()
    with warnings.catch_warnings() if in_main else contextlib.nullcontext():
        if in_main:
            warnings.simplefilter("ignore")
        try:
            ma = MetaAnalysis(sub, **model_args)
            post = ma.fit(**padded(ma.spec, fit_args, pad))
            out["rows"], out["p_mu_positive"] = posterior_rows(post, freq_args["level"])
            spec = ma.spec
            notes = [small_k_note(spec.k, spec.model, spec.priors.get("tau"))]
            out["k"] = spec.k
            if spec.meta.dropped:  # missing="drop": the group's k is the studies fitted, the note says which
                notes.insert(0, f"dropped {len(spec.meta.dropped)} with missing values: {', '.join(spec.meta.dropped)}")
            out["engine"] = post.engine  # engine="auto": the one that ran
            if post.engine == "nuts":
                notes += post.diagnostics().problems
            out["warnings"] = "; ".join(n for n in notes if n)
            simple = not spec.is_regression and spec.cluster_index is None
            if keep:  # the fits the CLI prints from: the group's table row is read from the same objects
                out["fit"] = post
                out["freq_fits"] = frequentist_fits(spec, sub, model_args, freq_args)
                if simple:
                    out["freq"] = freq_row(out["freq_fits"], freq_args)
            elif simple:
                f = group_summaries(spec.yi[None], spec.vi[None], **freq_args)
                out["freq"] = {name: float(val[0]) for name, val in f.items()}
        except Exception as exc:  # a failing group never stops the batch
            out["error"] = f"{type(exc).__name__}: {exc}"
    return out



#: Padded studies a batch may add (summed over its meta-analyses) to spare one compile, at 4 chains x
#: (1000 + 1000) steps: a padded study costs a refit of normal random effects 4-6 ms there, so 2,000
#: of them about the 8-12 s of one compile (``python benchmarks/bench_fit_many_padding.py``).
#: Scaled by the steps.
PAD_BUDGET = 2000


def batch_pads(sizes: Any, steps: int = 8000) -> list[int]:
    """The number of studies each meta-analysis of a batch (*sizes*: their k) is padded with, so that
    the batch's NUTS fits compile few models: the meta-analyses of a bucket (64, 128, ... studies,
    :func:`bayesma.models.build.padded_size`) join the next larger bucket in use when the padded
    studies this adds to them (their number times the difference of the buckets) stay within
    :data:`PAD_BUDGET` (x 8000 / *steps*, the sampler's steps of all chains): a batch of small
    meta-analyses and a large one compiles once; a thousand small ones are not padded to the
    large one's size.

    Examples
    --------
    >>> batch_pads([5, 40, 70])            # buckets 64, 64, 128: all join 128 (2 x 64 padded studies)
    [70, 70, 70]
    >>> sorted(set(batch_pads([5] * 100 + [300])))  # 100 x 448 padded studies more: two buckets
    [5, 300]
    """
    from bayesma.models.build import STUDY_BUCKET, padded_size

    sizes = [int(k) for k in sizes]
    bucket = {k: padded_size(k, STUDY_BUCKET) for k in sizes}
    budget = PAD_BUDGET * 8000 / max(int(steps), 1)
    largest: dict[int, int] = {}  # bucket -> the largest k in it (padding with it gives the bucket)
    for k in sizes:
        largest[bucket[k]] = max(largest.get(bucket[k], 0), k)
    target: dict[int, int] = {}  # bucket -> the k its meta-analyses are padded with
    above = None  # the smallest bucket in use above the current one
    for b in sorted(largest, reverse=True):
        count = sum(1 for k in sizes if bucket[k] == b)
        if above is not None and count * (above - b) <= budget:
            target[b] = target[above]
        else:
            target[b], above = largest[b], b
    return [target[bucket[k]] for k in sizes]


def padded(spec: Any, fit_args: dict[str, Any], pad: int | None) -> dict[str, Any]:
    """*fit_args* with ``pad=`` *pad* (from :func:`batch_pads`) when this group's fit runs NUTS on
    normal random effects in the marginal parameterization, so that the meta-analyses of a batch
    share compiled models (:func:`bayesma.models.build.padded_sizes`). Unchanged (each group padded
    to its own bucket, as alone) for the exact engine, for other likelihoods and parameterizations
    (a padded study costs them several times more sampling: Student-t random effects padded from
    64 to 1,024 studies refit in 29 s instead of 2.3 s, ``benchmarks/bench_fit_many_padding.py``),
    for three-level models (unpadded by default) and for models never padded (dependent effects,
    publication bias)."""
    from bayesma.models.build import resolve_parameterization

    if not pad or "pad" in fit_args or spec.cluster_index is not None or spec.likelihood != "normal" or any(
            getattr(spec, name, None) is not None for name in ("dependence", "bias", "counts", "Z")):
        return fit_args
    if resolve_parameterization(spec, fit_args.get("parameterization", "auto")) != "marginal":
        return fit_args
    options = [name for name, value in fit_args.items()
               if name not in ("engine", "draws", "chains", "seed", *EXACT_OPTIONS) and (name != "progressbar" or value)]
    if choose_engine(fit_args.get("engine", "auto"), spec, nuts_options=options)[0] != "nuts":
        return fit_args
    return {**fit_args, "pad": int(pad)}


def posterior_rows(post: Any, level: float = 0.95) -> tuple[pd.DataFrame, float]:
    """The rows of one group's posterior in the tidy table (every parameter but the study effects,
    intervals of probability *level*, as the vectorised path) and P(mu > 0), read from the fit itself."""
    summ = post.summary(prob=level)
    rows = summ.loc[[r for r in summ.index if not r.startswith("theta[")], POST_COLS]
    return rows, (float(post.p_greater("mu", 0.0)) if "mu" in summ.index else math.nan)


def _re_name(method: str, test: str) -> str:
    return "FE" if method == "FE" else method + (" + KH" if test == "knha" else "" if test == "z" else f" ({test})")


def frequentist_fits(spec: Any, sub: pd.DataFrame, model_args: dict[str, Any],
                     freq_args: dict[str, Any]) -> dict[str, Any]:
    """metafor's fits of one group, kept beside its posterior (``keep_fits=True``).

    FE, DL, REML and REML + Knapp-Hartung (and the ``method``/``test`` of the table when it is
    none of them); the 3-level REML for ``cluster=``; ``rma_mv`` with the same V and structure for
    the dependent-effects models. Keys are the labels the report prints.
    """
    from bayesma.report.fits import estimator_fits, fit_counterpart

    if getattr(spec, "dependence", None) is not None:
        return {"REML (rma.mv)": fit_counterpart(spec, level=freq_args["level"])}
    common = dict(sei=model_args.get("sei"), data=sub, labels=model_args.get("labels"), mods=model_args.get("mods"),
                  level=freq_args["level"], missing=model_args.get("missing", "raise"))
    fits = estimator_fits(model_args["yi"], model_args.get("vi"), cluster=model_args.get("cluster"), **common)
    name = _re_name(freq_args["method"], freq_args["test"])
    if model_args.get("cluster") is None and name not in fits:
        from bayesma.frequentist import rma

        fits[name] = rma(model_args["yi"], model_args.get("vi"), method=freq_args["method"], test=freq_args["test"],
                         **common)
    return fits


def freq_row(fits: dict[str, Any], freq_args: dict[str, Any]) -> dict[str, float]:
    """The :data:`GROUP_FREQ` numbers of one group read from its kept fits (:func:`frequentist_fits`)."""
    fe, re_ = fits["FE"], fits[_re_name(freq_args["method"], freq_args["test"])]
    lo, hi = re_.tau2_ci if re_.method != "FE" and re_.tau2_ci is not None else (math.nan, math.nan)
    return {"FE": float(fe.beta[0]), "FE_se": float(fe.se[0]), "FE_lower": float(fe.ci_lb[0]),
            "FE_upper": float(fe.ci_ub[0]), "RE": float(re_.beta[0]), "RE_se": float(re_.se[0]),
            "RE_lower": float(re_.ci_lb[0]), "RE_upper": float(re_.ci_ub[0]), "tau2": float(re_.tau2),
            "tau2_lower": float(lo), "tau2_upper": float(hi), "I2": float(re_.I2), "H2": float(re_.H2),
            "Q": float(fe.QE), "Q_df": float(fe.k - 1), "Q_p": float(fe.QEp), "pi_lower": float(re_.pi_lb),
            "pi_upper": float(re_.pi_ub)}


@dataclass
class Groups:
    """The meta-analyses: keys in sorted order, their rows, sizes and seeds."""

    keys: list[Any]
    positions: dict[Any, np.ndarray]
    sizes: np.ndarray
    seeds: list[int | None]

    @property
    def n(self) -> int:
        return len(self.keys)

    def rows(self, i: int) -> np.ndarray:
        return self.positions[self.keys[i]]

    @classmethod
    def of(cls, data: pd.DataFrame, by_cols: list[str], seed: int | None) -> Groups:
        keys_frame = pd.DataFrame({c: stripped_ids(data[c], f"by column {c!r}", stacklevel=5)
                                   if pd.api.types.is_string_dtype(data[c]) and not isinstance(data[c].dtype, pd.CategoricalDtype)
                                   else data[c] for c in by_cols}, index=data.index)
        grouped = keys_frame.groupby(by_cols, sort=True)
        positions = {(k[0] if len(by_cols) == 1 and isinstance(k, tuple) else k): idx
                     for k, idx in grouped.indices.items()}  # key -> row positions
        keys = list(positions)
        sizes = np.array([positions[key].size for key in keys])
        seeds = ([int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(len(keys))]
                 if seed is not None else [None] * len(keys))
        return cls(keys, positions, sizes, seeds)


@dataclass
class Bucket:
    """Groups of one size fitted together: one prior for all, or one per group."""

    k: int
    members: list[int] = field(default_factory=list)
    priors: list[dict] = field(default_factory=list)

    def prior_args(self) -> tuple[Any, Any]:
        """(mu prior, tau prior) for :func:`bayesma.exact.batch_summaries`: shared objects when
        every member has the same priors, else one per member."""
        first = self.priors[0]
        same = all(p is first or (repr(p["mu"]) == repr(first["mu"]) and repr(p.get("tau")) == repr(first.get("tau")))
                   for p in self.priors)
        if same:
            return first["mu"], first.get("tau")
        taus = [p.get("tau") for p in self.priors]
        return [p["mu"] for p in self.priors], (None if taus[0] is None else taus)


@dataclass
class Plan:
    """Which groups go through the vectorised exact engine (buckets) and which one by one."""

    buckets: list[Bucket] = field(default_factory=list)
    single: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    arrays: tuple | None = None
    priors: str = "none vectorised"
    regression: list = field(default_factory=list)  # buckets of meta-regressions (bayesma.batch_regression)
    reasons: dict = field(default_factory=dict)  # why groups were sent one by one -> how many

    @property
    def n_vectorised(self) -> int:
        return sum(len(b.members) for b in [*self.buckets, *self.regression])


def single_reason(engine: str, tune: Any, mods: Any, model: str, fit_kwargs: dict, dependence: bool) -> str:
    """Why fit_many fits every group one by one (the vectorised path is the exact engine's
    random- or common-effects model, with moderators given as a formula); "" when it can vectorise."""
    for why, bad in (((f"engine={engine!r}"), engine not in ("exact", "auto")), ("tune= given", tune is not None),
                     ("meta-regression with moderators given as a matrix", mods is not None and not isinstance(mods, str)),
                     (f"model={model!r}", model not in ("random", "common")),
                     ("dependent effects", dependence), (f"options {sorted(fit_kwargs)}", bool(fit_kwargs))):
        if bad:
            return f"{why}: the vectorised path fits random- or common-effects models (mods= a formula) exactly"
    return ""


def _tau_key(prior: Any) -> str:
    """Members of one bucket share the tau prior, or all have HalfNormal ones (rescaled)."""
    if prior is None:
        return "none"
    return "HalfNormal" if prior.family == "HalfNormal" else repr(prior)


def plan_groups(data: pd.DataFrame, groups: Groups, model_args: dict[str, Any], by_cols: list[str]) -> Plan:
    """Bucket the groups the vectorised exact engine can fit by their size (and tau prior family)."""
    measure, priors, model, labels = (model_args[key] for key in ("measure", "priors", "model", "labels"))
    plan = Plan(errors=[""] * groups.n)
    arrays = plan.arrays = validated_arrays(data, model_args["yi"], model_args["vi"], model_args["sei"])
    if arrays is None:
        plan.single = list(range(groups.n))
        return plan
    shared = measure is not None and str(measure).upper() not in RAW_MEASURES
    plan.priors = "shared" if shared else "resolved per group (data-scaled defaults)"
    if model_args.get("mods") is not None:  # one meta-regression per group: bayesma.batch_regression plans them
        return plan
    dup = (data.duplicated(by_cols + [labels]).to_numpy() if labels is not None else np.zeros(len(data), bool))
    fixed = None
    if shared:
        # default priors that do not depend on the data: resolve them once
        y0, v0 = np.zeros(2), np.ones(2)
        fixed = resolve_priors(priors, measure=measure, meta=SimpleNamespace(yi=y0, vi=v0), model=model)
    buckets: dict[tuple, Bucket] = {}
    for i in range(groups.n):
        idx = groups.rows(i)
        if idx.size < 2 or not arrays[2][idx].all() or dup[idx].any():
            plan.single.append(i)  # the one-by-one path gives the exact error message
            continue
        pri = fixed
        if pri is None:
            try:
                pri = resolve_priors(priors, measure=measure, meta=SimpleNamespace(yi=arrays[0][idx], vi=arrays[1][idx]),
                                     model=model)
            except (TypeError, ValueError) as exc:
                plan.errors[i] = f"{type(exc).__name__}: {exc}"
                continue
        if pri["mu"].family != "Normal":
            plan.single.append(i)
            continue
        bucket = buckets.setdefault((idx.size, _tau_key(pri.get("tau"))), Bucket(int(idx.size)))
        bucket.members.append(i)
        bucket.priors.append(pri)
    plan.buckets = list(buckets.values())
    return plan


@dataclass
class Outputs:
    """Per-group results, filled by the vectorised and the one-by-one steps."""

    names: list  # posterior rows of each group, or None
    values: list  # (rows, 8) arrays, or None
    freq: np.ndarray
    p_pos: np.ndarray
    notes: list[str]
    errors: list[str]
    engines: list[str]  # the engine that fitted each group ("exact" for the vectorised path)
    freq_fits: dict = field(default_factory=dict)  # key -> metafor's fits of the group (keep_fits=True)

    @classmethod
    def empty(cls, n: int, errors: list[str], engine: str = "exact") -> Outputs:
        return cls([None] * n, [None] * n, np.full((n, len(GROUP_FREQ)), np.nan), np.full(n, np.nan), [""] * n,
                   list(errors), [engine] * n)


def fit_vectorised(plan: Plan, groups: Groups, model: str, freq_args: dict, out: Outputs) -> None:
    """The exact posterior and metafor's estimates of every bucket, on whole arrays."""
    vec_names = ("mu", "tau", "theta_new") if model == "random" else ("mu", "theta_new")
    for bucket in plan.buckets:
        members, k = bucket.members, bucket.k
        rows = np.concatenate([groups.rows(i) for i in members])
        Y = plan.arrays[0][rows].reshape(len(members), k)
        V = plan.arrays[1][rows].reshape(len(members), k)
        mu_prior, tau_prior = bucket.prior_args()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ex = batch_summaries(Y, V, mu_prior, tau_prior, level=freq_args["level"], moments=True)
            fr = group_summaries(Y, V, **freq_args)
        blocks = [np.column_stack([ex[f"{p}_mean"], ex[f"{p}_sd"], ex[f"{p}_median"], ex[f"{p}_lower"],
                                   ex[f"{p}_upper"]]) for p in ("mu", "tau", "new") if p != "tau" or model == "random"]
        arr = np.concatenate([np.stack(blocks, axis=1), np.full((len(members), len(blocks), 3), np.nan)], axis=2)
        out.freq[members] = np.column_stack([fr[c] for c in GROUP_FREQ])
        out.p_pos[members] = ex["mu_p_positive"]
        notes: dict[str, str] = {}
        for r, i in enumerate(members):
            tau = bucket.priors[r].get("tau")
            note = notes.get(repr(tau)) if k < 5 else ""
            if note is None:
                note = notes[repr(tau)] = small_k_note(k, model, tau)
            out.names[i], out.values[i], out.notes[i] = vec_names, arr[r], note


def fit_single(single, groups, data, model_args, fit_args, freq_args, keep_fits, executor, progress, out, pads=None):
    """Fit the other groups one at a time (through *executor*); the kept posteriors by key. NUTS fits
    are padded with *pads* studies (one per group, :func:`batch_pads`; see :func:`padded`)."""
    pads = [None] * len(single) if pads is None else pads
    quiet = {} if "progressbar" in fit_args else {"progressbar": False}  # fit_many's bar, not one per group
    tasks = [(groups.keys[i], data.iloc[groups.rows(i)], model_args, {**fit_args, **quiet, "seed": groups.seeds[i]},
              freq_args, keep_fits, pad) for i, pad in zip(single, pads)]
    first = []
    if tasks and quiet and executor is None and _shows(progress) and (fit_args.get("engine") == "nuts" or "tune" in fit_args):
        # the first NUTS fit says, before the bar starts, that its model family compiles (when it does)
        from bayesma._progress import no_sampler_bar

        task = tasks.pop(0)
        with no_sampler_bar():
            first = [fit_one(task[:3] + ({**task[3], "progressbar": True},) + task[4:])]
    outputs = first + run_tasks(fit_one, tasks, executor=executor, progress=progress, desc="fit_many")
    fits: dict[Any, Any] = {}
    out.freq_fits = {}
    for i, res in zip(single, outputs):
        out.notes[i] = res["warnings"]
        out.engines[i] = res.get("engine") or out.engines[i]
        if res["error"]:
            out.errors[i] = res["error"]
            continue
        if res.get("k") is not None:
            groups.sizes[i] = res["k"]
        out.names[i] = tuple(res["rows"].index)
        out.values[i] = res["rows"][POST_COLS].to_numpy(float)
        if res["freq"] is not None:
            out.freq[i] = [res["freq"][c] for c in GROUP_FREQ]
        out.p_pos[i] = res["p_mu_positive"]
        if res["fit"] is not None:
            fits[groups.keys[i]] = res["fit"]
        if res["freq_fits"] is not None:
            out.freq_fits[groups.keys[i]] = res["freq_fits"]
    return fits



def _shows(progress: bool | None) -> bool:
    """Whether fit_many shows progress (its bar, :class:`bayesma._tasks.Progress`: stderr a terminal by default)."""
    if progress is not None:
        return bool(progress)
    import sys

    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def validated_arrays(data: pd.DataFrame, yi: str, vi: str | None, sei: str | None):
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


def small_k_note(k: int, model: str, tau_prior: Any) -> str:
    if model != "random" or k >= 5:
        return ""
    return (f"k = {k} studies (< 5): the prior on tau ({short_text(tau_prior)}) matters; "
            "check with bayesma.compare_priors()")


def assemble(keys, by_cols, sizes, names, values, freq, p_pos, notes, errors, seeds, engine, single):
    """The tidy table (one row per group and parameter) and the per-group table, built from arrays."""
    G = len(keys)
    key_tuples = [key if isinstance(key, tuple) else (key,) for key in keys]
    engines = [engine] * G if isinstance(engine, str) else list(engine)  # one engine, or the one of each group
    paths = np.array([engines[i] if i in single else f"{engines[i]} (vectorised)" for i in range(G)], dtype=object)
    notes_arr, errors_arr = np.array(notes, dtype=object), np.array(errors, dtype=object)
    f = {c: freq[:, j] for j, c in enumerate(GROUP_FREQ)}

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
    vals = np.vstack([values[i] for i in have]) if have else np.empty((0, len(POST_COLS)))
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
                          **{c: vals[:, j] for j, c in enumerate(POST_COLS)},
                          "freq": freq_est, "freq_lower": freq_lo, "freq_upper": freq_hi,
                          "engine": paths[gi], "warnings": notes_arr[gi], "error": ""})
    for c in by_cols:  # keep the by columns' own dtypes
        table[c] = table[c].astype(groups.index.get_level_values(c).dtype) if len(table) else table[c]
    table = table.set_index(by_cols + ["parameter"])
    return table, groups
