"""Small-k simulation: coverage, width, bias and RMSE of Bayesian and frequentist intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma._tasks import run_tasks
from bayesma._validate import check_level, check_seed
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist.batch import frequentist_batch
from bayesma.frequentist.batch import mu_batch as _mu_batch
from bayesma.frequentist.tau2 import tau2_batch as _tau2_batch
from bayesma.priors import as_prior

__all__ = ["small_k_simulation", "SimulationResult", "LogUniformSampleSize", "EmpiricalVariances",
           "frequentist_batch"]


class LogUniformSampleSize:
    """Default within-study variances: log odds ratios from realistic study sizes.

    Each study's total sample size is log-uniform on ``[n_min, n_max]`` (default 40 to
    400 participants, the range of most trials in a Cochrane review) and its sampling
    variance is ``sigma_u^2 / n`` with the unit-information SD ``sigma_u = 2`` of a log
    odds ratio (Röver et al. 2021, Research Synthesis Methods 12:448-474): standard
    errors from 0.1 to 0.32.

    Parameters
    ----------
    n_min, n_max : float
    sigma_u : float
        Unit-information SD of the effect measure (1 for Fisher z, about 2 for a
        standardized mean difference, 2 for a log odds ratio).
    """

    def __init__(self, n_min: float = 40.0, n_max: float = 400.0, sigma_u: float = 2.0) -> None:
        if not 0 < n_min <= n_max:
            raise InputError("need 0 < n_min <= n_max")
        self.n_min, self.n_max, self.sigma_u = float(n_min), float(n_max), float(sigma_u)

    def __call__(self, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        n = np.exp(rng.uniform(math.log(self.n_min), math.log(self.n_max), size=size))
        return self.sigma_u**2 / n

    def __repr__(self) -> str:
        return f"LogUniformSampleSize(n_min={self.n_min:g}, n_max={self.n_max:g}, sigma_u={self.sigma_u:g})"


class EmpiricalVariances:
    """Within-study variances resampled (with replacement) from observed ones, e.g. a data set's vi."""

    def __init__(self, vi: Iterable[float]) -> None:
        pool = np.asarray(list(vi), dtype=float)
        if pool.ndim != 1 or pool.size == 0 or not np.all(np.isfinite(pool)) or np.any(pool <= 0):
            raise InputError("vi must be a non-empty list of positive, finite sampling variances")
        self.pool = pool

    def __call__(self, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        return rng.choice(self.pool, size=size, replace=True)

    def __repr__(self) -> str:
        return f"EmpiricalVariances({self.pool.size} values, median {np.median(self.pool):.3g})"


_METHOD_SPECS = {
    "DL": ("DL", "z"), "REML": ("REML", "z"), "PM": ("PM", "z"), "FE": ("FE", "z"),
    "DL-KH": ("DL", "knha"), "REML-KH": ("REML", "knha"), "PM-KH": ("PM", "knha"),
    "DL-mKH": ("DL", "adhoc"), "REML-mKH": ("REML", "adhoc"), "PM-mKH": ("PM", "adhoc"),
    "HKSJ": ("REML", "knha"),
}


def _normalize_sim_priors(priors: Any) -> dict[str, dict[str, Any]]:
    from bayesma import priors as pr

    default_mu = pr.Normal(0.0, 8.0)
    het = ("tau", "tau2")
    if priors is None:
        return {"HN(0.5)": {"mu": default_mu, "tau": pr.HalfNormal(0.5)}}
    if not isinstance(priors, Mapping):
        raise ArgumentTypeError("priors must be a dict {label: {'mu': prior, 'tau': prior}} or {'mu': ..., 'tau': ...}")
    if priors and set(priors) <= {"mu", "tau"} and not any(isinstance(v, Mapping) for v in priors.values()):
        tau = as_prior(priors.get("tau", pr.HalfNormal(0.5)), het, name="tau")
        return {f"Bayes {tau!r}": {"mu": as_prior(priors.get("mu", default_mu), "location", name="mu"), "tau": tau}}
    out: dict[str, dict[str, Any]] = {}
    for label, val in priors.items():
        if str(label) in out:
            raise InputError(f"priors: the label {str(label)!r} is used twice; every prior set needs its own label")
        if isinstance(val, Mapping):
            extra = set(val) - {"mu", "tau"}
            if extra or "tau" not in val:
                raise InputError(f"priors[{label!r}] must have the keys 'tau' (and optionally 'mu'): the simulated "
                                 f"model is normal-normal with mu and tau only; got {sorted(val)}")
            out[str(label)] = {"mu": as_prior(val.get("mu", default_mu), "location", name=f"priors[{label!r}]['mu']"),
                               "tau": as_prior(val["tau"], het, name=f"priors[{label!r}]['tau']")}
        else:
            out[str(label)] = {"mu": default_mu, "tau": as_prior(val, het, name=f"priors[{label!r}]")}
    return out


def _simulate_chunk(task: tuple) -> tuple[int, int, dict[str, dict[str, np.ndarray]]]:
    """One chunk of one (k, tau) cell: simulate, fit every method. Top level (picklable)."""
    from bayesma.exact import batch_summaries

    cell, chunk, k, tau, mu, n, seed_seq, sampler, priors, methods, level = task
    rng = np.random.default_rng(seed_seq)
    v = np.asarray(sampler(rng, (n, k)), dtype=float)
    theta = mu + tau * rng.standard_normal((n, k))
    y = theta + np.sqrt(v) * rng.standard_normal((n, k))
    out: dict[str, dict[str, np.ndarray]] = {}
    for label, pri in priors.items():
        s = batch_summaries(y, v, pri["mu"], pri["tau"], level=level, fast=True, new=False)
        out[label] = {"mu": s["mu_median"], "mu_lower": s["mu_lower"], "mu_upper": s["mu_upper"],
                      "tau": s["tau_median"], "tau_lower": s["tau_lower"], "tau_upper": s["tau_upper"]}
    tau2_est: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # one estimate per tau2 method
    for name in methods:
        method, test = _METHOD_SPECS[name]
        if method not in tau2_est:
            tau2_est[method] = _tau2_batch(y, v, method, level)
        tau2, lo, hi = tau2_est[method]
        m, _, m_lo, m_hi = _mu_batch(y, v, tau2, test, level)
        out[name] = {"mu": m, "mu_lower": m_lo, "mu_upper": m_hi,
                     "tau": np.sqrt(tau2), "tau_lower": np.sqrt(lo), "tau_upper": np.sqrt(hi)}
    return cell, chunk, out


@dataclass
class SimulationResult:
    """Frequentist properties of Bayesian and classical intervals in simulated small meta-analyses.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``(k, tau, method)``; columns ``n_sim``, ``coverage_mu`` (of the 95%
        interval for mu), ``mcse_coverage_mu`` (its Monte Carlo standard error),
        ``width_mu`` (mean width), ``bias_mu``, ``rmse_mu`` (point estimate: the
        posterior median for Bayesian methods), ``coverage_tau`` (NaN at tau = 0,
        where an equal-tailed interval cannot contain the boundary), ``width_tau``
        (median width: Q-profile upper bounds can be the search limit), ``bias_tau``, ``rmse_tau``.
    estimates : dict
        ``(k, tau, method) -> dict`` of per-replicate arrays ``mu``, ``mu_lower``,
        ``mu_upper``, ``tau``, ``tau_lower``, ``tau_upper``.
    settings : dict
        The simulation design (mu, seed, n_sim, chunk_size, sampler, priors, methods, level).
    """

    table: pd.DataFrame
    estimates: dict[tuple, dict[str, np.ndarray]] = field(repr=False)
    settings: dict[str, Any]

    def __repr__(self) -> str:
        cols = ["coverage_mu", "width_mu", "bias_mu", "rmse_mu", "coverage_tau", "bias_tau"]
        return ("SimulationResult\n" + self.table[cols].to_string(float_format=lambda x: f"{x:.3f}"))

    def plot(self, figsize: tuple[float, float] | None = None):
        """Coverage and mean width of the intervals for mu per method, k and tau; see
        :func:`bayesma.plots.simulation_plot`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from bayesma.plots.simulation import simulation_plot
        return simulation_plot(self, figsize=figsize)


def _numbers(values: Any, name: str, kind: type) -> list:
    """*values* as a list of numbers of *kind*, else an ArgumentTypeError naming the argument."""
    try:
        return [kind(x) for x in np.atleast_1d(values)]
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be numbers (a number or a list of them), got {values!r}") from None


def small_k_simulation(
    k: Sequence[int] = (2, 3, 5, 10),
    tau: Sequence[float] = (0.0, 0.2, 0.5),
    mu: float = 0.0,
    n_sim: int = 1000,
    priors: Mapping[str, Any] | None = None,
    methods: Sequence[str] = ("DL", "REML", "REML-KH", "PM"),
    vi_sampler: Callable[[np.random.Generator, tuple[int, int]], np.ndarray] | None = None,
    vi: Iterable[float] | None = None,
    seed: int = 1,
    executor: Any = None,
    progress: bool | None = None,
    chunk_size: int = 2000,
    level: float = 0.95,
) -> SimulationResult:
    """Simulate small meta-analyses and compare interval coverage, width, bias and RMSE.

    For each number of studies *k* and heterogeneity *tau*, ``n_sim`` meta-analyses
    are drawn: within-study variances ``v_i`` from *vi_sampler*, true effects
    ``theta_i ~ N(mu, tau^2)``, estimates ``y_i ~ N(theta_i, v_i)``. Each is fitted
    with every Bayesian prior set (exact engine, summaries only: posterior median
    and equal-tailed interval) and every frequentist method, after Friede et al.
    (2017, Research Synthesis Methods 8:79-91) and Seide et al. (2019, BMC Medical
    Research Methodology 19:8).

    Parameters
    ----------
    k : sequence of int
        Numbers of studies (each >= 2).
    tau : sequence of float
        True between-study SDs.
    mu : float
        True mean effect.
    n_sim : int
        Meta-analyses per (k, tau) cell.
    priors : dict, optional
        ``{label: {"mu": prior, "tau": prior}}`` (a bare ``{label: tau_prior}`` uses
        ``mu ~ Normal(0, 8)``; a single ``{"mu": ..., "tau": ...}`` is one set).
        Default ``{"HN(0.5)": {"mu": Normal(0, 8), "tau": HalfNormal(0.5)}}``, the
        default priors for log odds ratios.
    methods : sequence of str
        Frequentist methods: ``"DL"``, ``"REML"``, ``"PM"`` (Wald z intervals),
        with ``"-KH"`` (Knapp-Hartung; ``"HKSJ"`` = ``"REML-KH"``) or ``"-mKH"``
        (modified Knapp-Hartung, never narrower than z), and ``"FE"``. Intervals for
        tau are Q-profile intervals (metafor's ``confint``).
    vi_sampler : callable, optional
        ``vi_sampler(rng, (n, k)) -> array`` of sampling variances. Default
        :class:`LogUniformSampleSize` (log odds ratios from 40 to 400 participants per
        study); with *vi*: :class:`EmpiricalVariances` (resampling the given variances).
        Must be picklable for a process pool.
    vi : array_like, optional
        Observed sampling variances to resample (e.g. ``model.spec.vi``).
    seed : int
        Root seed (an integer >= 0; anything else is a TypeError naming ``seed``). Every (k, tau) cell and chunk of ``chunk_size`` replicates gets its own
        :class:`numpy.random.SeedSequence` (spawned from the root in a fixed order), so the
        results are the same whatever the executor and the number of workers.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        E.g. a ``ProcessPoolExecutor`` or a Dask ``Client`` (see :doc:`many_analyses`); default: serial.
    progress : bool or None
        A progress bar (tqdm) on stderr once a run takes over a second; default: when
        stderr is a terminal.
    chunk_size : int
        Replicates per task (fixed, so it is part of the random design).
    level : float
        Interval probability, a fraction (0.95) or a percentage (95), as in ``rma``;
        anything else (``1.5``, ``0``) is a ValueError.

    Returns
    -------
    SimulationResult
        ``.table`` indexed by ``(k, tau, method)`` and ``.plot()``.

    Examples
    --------
    >>> import bayesma as bm
    >>> sim = bm.small_k_simulation(k=[3], tau=[0.5], n_sim=200, seed=1, progress=False)
    >>> bool(sim.table.loc[(3, 0.5, "DL"), "coverage_mu"] < 0.95)
    True
    """
    seed = check_seed(seed, allow_none=False)
    level = check_level(level)
    ks, taus = _numbers(k, "k", int), _numbers(tau, "tau", float)
    if any(kk < 2 for kk in ks):
        raise InputError("every k must be at least 2")
    if any(t < 0 for t in taus):
        raise InputError("tau values must be non-negative")
    n_sim = int(n_sim)
    if n_sim < 1:
        raise InputError("n_sim must be positive")
    methods = list(methods)
    for m in methods:
        if m not in _METHOD_SPECS:
            raise InputError(f"unknown method {m!r}; choose from {sorted(_METHOD_SPECS)}")
    pri = _normalize_sim_priors(priors)
    for label, p in pri.items():
        if p["mu"].family != "Normal":
            raise InputError(f"prior set {label!r}: the simulation uses the exact engine, which needs a Normal "
                             f"prior on mu (got {p['mu']!r})")
    overlap = set(pri) & set(methods)
    if overlap:
        raise InputError(f"prior labels {sorted(overlap)} clash with method names")
    if vi_sampler is None:
        vi_sampler = EmpiricalVariances(vi) if vi is not None else LogUniformSampleSize()
    chunk_size = max(1, int(chunk_size))

    cells = [(kk, t) for kk in ks for t in taus]
    root = np.random.SeedSequence(seed)
    cell_seqs = root.spawn(len(cells))
    n_chunks = -(-n_sim // chunk_size)
    tasks = []
    for ci, ((kk, t), cs) in enumerate(zip(cells, cell_seqs)):
        for j, chunk_seq in enumerate(cs.spawn(n_chunks)):
            n = min(chunk_size, n_sim - j * chunk_size)
            tasks.append((ci, j, kk, t, float(mu), n, chunk_seq, vi_sampler, pri, methods, float(level)))

    outputs = run_tasks(_simulate_chunk, tasks, executor=executor, progress=progress, desc="small_k_simulation")
    results: dict[tuple[int, int], dict] = {(ci, j): out for ci, j, out in outputs}

    labels = list(pri) + methods
    estimates: dict[tuple, dict[str, np.ndarray]] = {}
    rows = []
    for ci, (kk, t) in enumerate(cells):
        for label in labels:
            parts = [results[(ci, j)][label] for j in range(n_chunks)]
            est = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
            estimates[(kk, t, label)] = est
            rows.append({"k": kk, "tau": t, "method": label, **_performance(est, mu, t)})
    table = pd.DataFrame(rows).set_index(["k", "tau", "method"])
    settings = {"mu": mu, "seed": seed, "n_sim": n_sim, "chunk_size": chunk_size, "vi_sampler": repr(vi_sampler),
                "priors": {k_: {p: repr(q) for p, q in v.items()} for k_, v in pri.items()},
                "methods": methods, "level": level, "bayes": list(pri)}
    return SimulationResult(table, estimates, settings)


def _performance(est: dict[str, np.ndarray], mu: float, tau: float) -> dict[str, float]:
    n = est["mu"].size
    cover = np.mean((est["mu_lower"] <= mu) & (mu <= est["mu_upper"]))
    err_mu = est["mu"] - mu
    err_tau = est["tau"] - tau
    cover_tau = np.mean((est["tau_lower"] <= tau) & (tau <= est["tau_upper"])) if tau > 0 else np.nan
    return {
        "n_sim": n,
        "coverage_mu": float(cover),
        "mcse_coverage_mu": float(math.sqrt(max(cover * (1 - cover), 1e-12) / n)),
        "width_mu": float(np.mean(est["mu_upper"] - est["mu_lower"])),
        "bias_mu": float(np.mean(err_mu)),
        "rmse_mu": float(np.sqrt(np.mean(err_mu**2))),
        "coverage_tau": float(cover_tau),
        "width_tau": float(np.median(est["tau_upper"] - est["tau_lower"])),
        "bias_tau": float(np.mean(err_tau)),
        "rmse_tau": float(np.sqrt(np.mean(err_tau**2))),
    }
