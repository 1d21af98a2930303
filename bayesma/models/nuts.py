"""NUTS sampling of the PyMC model of a :class:`~bayesma.spec.ModelSpec`.

:func:`sample` takes a spec and returns an ``arviz.InferenceData`` plus a dict of
fit information; it knows nothing of :class:`bayesma.MetaPosterior` (which
:class:`bayesma.MetaAnalysis` builds from what it returns).

**Compile once, sample many.** The compiled sampler is cached by the
*structure* of the model (:func:`~bayesma.models.build.structure_key`) in a
:class:`ModelCache` (by default the process-wide :data:`MODEL_CACHE`, so copies
made by ``with_priors``, leave-one-out fits or simulations of the same shape
share compiled models); a refit only swaps the ``pm.Data`` values (nutpie's
``CompiledModel.with_data``).

Sampler choice
--------------
``sampler="nutpie"`` (default when nutpie is importable) or ``"pymc"``. The
numbers behind the default are in ``benchmarks/bench_nuts_refit.py``; see
:data:`DEFAULT_SAMPLER`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma._arviz import add_groups, dataset, with_groups, with_lazy_groups
from bayesma._progress import elapsed, sampler_bar
from bayesma._validate import check_seed
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.models.build import ModelHandles, build_model, padded_sizes, structure_key
from bayesma.models.compile import COMPILE_MESSAGE, show_progress
from bayesma.models.nuts_prepare import prepare
from bayesma.priors import is_improper
from bayesma.spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    import pymc as pm

__all__ = [
    "sample",
    "NutsFit",
    "CacheEntry",
    "ModelCache",
    "MODEL_CACHE",
    "DEFAULT_SAMPLER",
    "DEFAULT_TARGET_ACCEPT",
    "SMALL_K_TARGET_ACCEPT",
    "RETRY_TARGET_ACCEPT",
    "default_target_accept",
    "available_samplers",
    "COMPILE_MESSAGE",
    "PRIOR_MESSAGE",
]

#: Default NUTS implementation; see benchmarks/bench_nuts_refit.py. nutpie's first
#: compilation of a model costs a few seconds more than PyMC's, but every later fit
#: of the same structure (new priors, new data of the same shape) is an order of
#: magnitude faster, and its sampler is much faster per draw.
DEFAULT_SAMPLER = "nutpie"
#: Default target acceptance rate of the step-size adaptation (PyMC's is 0.8):
#: small meta-analyses have a funnel between tau and the study effects. With
#: fewer than 5 studies the default is :data:`SMALL_K_TARGET_ACCEPT`, and a fit
#: with divergences under the default is re-run once at :data:`RETRY_TARGET_ACCEPT`.
DEFAULT_TARGET_ACCEPT = 0.9
SMALL_K_TARGET_ACCEPT = 0.95
RETRY_TARGET_ACCEPT = 0.99


def available_samplers() -> list[str]:
    """Samplers usable in this environment (``"pymc"`` always; ``"nutpie"`` when installed).

    Looks nutpie up without importing it (its import, ArviZ's included, takes a second or
    more): a fit says that it compiles before it pays for the imports.
    """
    from importlib.util import find_spec

    return ["nutpie", "pymc"] if find_spec("nutpie") is not None else ["pymc"]


def default_target_accept(k: int) -> float:
    """Default NUTS target acceptance rate for *k* studies: 0.9, or 0.95 when k < 5."""
    return DEFAULT_TARGET_ACCEPT if k >= 5 else SMALL_K_TARGET_ACCEPT


# ---------------------------------------------------------------------------
# the cache
# ---------------------------------------------------------------------------


class CacheEntry:
    """One built model and what has been compiled from it.

    Attributes
    ----------
    model : pymc.Model
    handles : ModelHandles
    nutpie_compiled : nutpie CompiledModel or None
        Compiled once; each fit uses ``nutpie_compiled.with_data(...)``.
    pymc_step : pymc NUTS step or None
        PyMC's compiled NUTS step (logp and gradient), reused by refits.
    prior_fn : callable or None
        Compiled forward-sampling function for the prior draws.
    compiles : dict[str, int]
        How often each compiled object was built (1 each: reuse works).
    lock : threading.Lock
        Serializes fits that set the shared data of ``model``.
    """

    def __init__(self, model: pm.Model, handles: ModelHandles) -> None:
        self.model = model
        self.handles = handles
        self.nutpie_compiled: Any = None
        self.pymc_step: Any = None
        self.prior_fn: Any = None
        self.compiles: dict[str, int] = {"nutpie": 0, "pymc": 0, "prior": 0}
        # "cached": compiled now and written to the disk cache; "loaded from disk"; "nutpie": nutpie's own compiler
        self.compile_path: str | None = None
        self.compile_seconds = 0.0
        self.lock = threading.RLock()

    def set_data(self, values: dict[str, np.ndarray]) -> None:
        """Write *values* into the model's ``pm.Data`` (for PyMC's sampler and prior draws)."""
        for name, value in values.items():
            var = self.handles.data[name]
            var.set_value(np.asarray(value, dtype=var.type.dtype))


class ModelCache:
    """Least-recently-used cache of built and compiled models, keyed by :func:`structure_key`.

    Parameters
    ----------
    maxsize : int
        Number of model structures kept.

    Examples
    --------
    >>> cache = ModelCache(maxsize=4)
    >>> len(cache)
    0
    """

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = int(maxsize)
        self._entries: OrderedDict[tuple, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: tuple) -> bool:
        return key in self._entries

    def __getitem__(self, key: tuple) -> CacheEntry:
        return self._entries[key]

    def get(self, spec: ModelSpec, parameterization: str = "auto", pad: bool | int = False
            ) -> tuple[CacheEntry, bool]:
        """The entry of *spec*'s structure (built when missing) and whether it was built now.

        With ``pad=True`` the study dimension is padded to its bucket
        (:func:`~bayesma.models.build.padded_sizes`), so specs of any k in the bucket
        share the entry.
        """
        key = structure_key(spec, parameterization, pad)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry, False
        model, handles = build_model(spec, parameterization, pad)
        entry = CacheEntry(model, handles)
        with self._lock:
            existing = self._entries.get(key)
            if existing is not None:  # built concurrently: keep the first
                return existing, False
            self._entries[key] = entry
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return entry, True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: The process-wide cache that :class:`bayesma.MetaAnalysis` objects use by default.
MODEL_CACHE = ModelCache()


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------


def _resolve_sampler(sampler: str | None) -> str:
    avail = available_samplers()
    if sampler is None:
        return DEFAULT_SAMPLER if DEFAULT_SAMPLER in avail else "pymc"
    sampler = sampler.lower()
    if sampler not in ("pymc", "nutpie"):
        raise InputError(f"sampler must be 'pymc' or 'nutpie', got {sampler!r}")
    if sampler not in avail:
        raise ImportError("sampler='nutpie' needs the nutpie package: pip install nutpie")
    return sampler


def _seed_of(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    return check_seed(seed, allow_none=False)


def _sample_nutpie(entry: CacheEntry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs):
    """Sample *entry*'s compiled nutpie model (:func:`~bayesma.models.nuts_prepare.prepare` compiled it)."""
    import nutpie

    with entry.lock:
        # nutpie's initial-point function is PyMC's, which reads the model's shared data
        # (e.g. the support point of tau depends on its prior scale): set it too, and keep
        # the lock while sampling so that concurrent fits cannot change it meanwhile.
        entry.set_data(values)
        compiled = entry.nutpie_compiled.with_data(**values)
        return nutpie.sample(
            # nutpie's adaptation needs at least one tuning step
            compiled, draws=draws, tune=max(tune, 1), chains=chains, cores=cores, seed=seed,
            progress_bar=progressbar, save_warmup=False, target_accept=target_accept, **kwargs,
        )


def _sample_pymc(entry: CacheEntry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs):
    """Sample with *entry*'s compiled PyMC NUTS step (:func:`~bayesma.models.nuts_prepare.prepare` compiled it)."""
    import pymc as pm

    with entry.lock:
        entry.set_data(values)
        with entry.model:
            step = entry.pymc_step
            step.target_accept = target_accept
            step.step_adapt._target = target_accept
            step.reset_tuning()
            return pm.sample(
                draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed, step=step,
                progressbar=progressbar, compute_convergence_checks=False, idata_kwargs={"log_likelihood": False},
                **kwargs,
            )


#: What a fit says (on stderr, when it shows progress) while it compiles the prior-draw function.
PRIOR_MESSAGE = "compiling the prior draws (once per model family)"


def _compile_prior(entry: CacheEntry) -> None:
    """Compile *entry*'s forward-sampling function of the prior (``entry.prior_fn``)."""
    from pymc.sampling.forward import compile_forward_sampling_function
    from pymc.util import get_default_varnames

    model = entry.model
    names = sorted(get_default_varnames({v.name for v in model.basic_RVs + model.deterministics},
                                        include_transformed=False))
    # theta's prior: the data-free expression (the marginal parameterization's
    # theta deterministic conditions on the data)
    outs = [entry.handles.theta_prior if name == "theta" and entry.handles.theta_prior is not None
            else model[name] for name in names]
    fn, _ = compile_forward_sampling_function(
        outs, vars_in_trace=[], basic_rvs=model.basic_RVs, givens_dict=None,
        random_seed=None, allow_input_downcast=True, accept_inplace=True,
    )
    rngs = [v for v in fn.get_shared() if "RandomGenerator" in type(v.type).__name__]
    entry.prior_fn = (fn, names, rngs)
    entry.compiles["prior"] += 1


def _draw_prior(entry: CacheEntry, values, n: int, seed: int, progressbar: bool = False
                ) -> tuple[dict[str, np.ndarray], bool]:
    """Prior draws of every variable (as ``pm.sample_prior_predictive``), compiled once per structure
    (under :data:`PRIOR_MESSAGE` and the seconds elapsed on stderr with *progressbar*)."""
    from pymc.pytensorf import reseed_rngs
    from pymc.util import _get_seeds_per_chain

    compiled_now = False
    with entry.lock:
        if entry.prior_fn is None:
            with elapsed(PRIOR_MESSAGE, progressbar, done="compiled in {seconds:.1f} s", still="still compiling"):
                _compile_prior(entry)
            compiled_now = True
        fn, names, rngs = entry.prior_fn
        entry.set_data(values)
        (s,) = _get_seeds_per_chain(seed, 1)
        reseed_rngs(rngs, s)
        out = [fn() for _ in range(n)]
    return {name: np.stack([o[i] for o in out]) for i, name in enumerate(names)}, compiled_now


def _dims_of(spec: ModelSpec) -> dict[str, list[str]]:
    dims: dict[str, list[str]] = {"theta": ["study"], "z": ["study"], "yi": ["study"]}
    if spec.is_regression:
        dims["beta"] = ["coef"]
    if spec.tau_by is not None:
        dims.update({"tau": ["subgroup"], "z_new": ["subgroup"], "theta_new": ["subgroup"]})
        for name in ("tau2", "log_tau2"):
            dims[name] = ["subgroup"]
    if spec.cluster_index is not None:
        dims["u"] = ["cluster"]
    dep = getattr(spec, "dependence", None)
    if dep is not None and dep.multivariate:
        from bayesma.models.dependent_pymc import dims as mv_dims

        dims.update(mv_dims(spec))
    if getattr(spec, "Z", None) is not None:  # location-scale: one tau per study
        dims.update({"tau": ["study"], "alpha": ["scale_coef"], "tau2": ["study"], "log_tau2": ["study"]})
    return dims


def _divergences(idata) -> int:
    stats = getattr(idata, "sample_stats", None)
    if stats is None:
        return 0
    for name in ("diverging", "divergent"):
        if name in stats:
            return int(np.asarray(stats[name].values).sum())
    return 0


def _unpad(draws: np.ndarray, dims: list[str] | tuple, coords: dict[str, list[str]]) -> np.ndarray:
    """Prior draws (draw, *dims) without the padded studies / clusters."""
    index: list[Any] = [slice(None)]
    for d in dims:
        index.append(slice(0, len(coords[d])) if d in ("study", "cluster") else slice(None))
    return draws[tuple(index)]


def _prior_groups(spec: ModelSpec, prior: dict[str, np.ndarray]) -> dict[str, Any]:
    """The ``prior`` and ``prior_predictive`` groups of prior draws (draw, *dims), padding removed."""
    coords, dims = spec.coords(), _dims_of(spec)
    prior = {name: _unpad(val, dims.get(name, ()), coords)[None, ...] for name, val in prior.items()}
    pp = {"yi": prior.pop("yi")} if "yi" in prior else {}
    return {"prior": dataset(prior, coords=coords, dims=dims), "prior_predictive": dataset(pp, coords=coords, dims=dims)}


def _finish_idata(idata, spec: ModelSpec, prior: dict[str, np.ndarray] | None):
    """Uniform InferenceData for both samplers: posterior, sample_stats, prior,
    prior_predictive, observed_data (yi), constant_data (vi, X, indices), current coords."""
    import xarray as xr

    coords = spec.coords()
    keep = {}
    for group in ("posterior", "sample_stats"):
        ds = getattr(idata, group)
        ds = ds.drop_vars([v for v in ds.data_vars if v.endswith("__")], errors="ignore")
        ds = ds.isel({d: slice(0, len(coords[d])) for d in ("study", "cluster") if d in ds.dims and d in coords})
        ds = ds.assign_coords({d: coords[d] for d in coords if d in ds.dims})
        keep[group] = ds
    if "diverging" not in keep["sample_stats"] and "divergent" in keep["sample_stats"]:
        keep["sample_stats"] = keep["sample_stats"].rename({"divergent": "diverging"})
    new = with_groups(keep)
    if prior:
        add_groups(new, **_prior_groups(spec, prior))
    obs = xr.Dataset({"yi": (("study",), np.asarray(spec.yi, float))}, coords={"study": coords["study"]})
    const = {"vi": (("study",), np.asarray(spec.vi, float))}
    ccoords = {"study": coords["study"]}
    if spec.is_regression:
        const["X"] = (("study", "coef"), np.asarray(spec.X, float))
        if spec.tau_by is not None:
            const["x_new"] = (("subgroup", "coef"), np.asarray(spec.x_new_groups, float))
        else:
            const["x_new"] = (("coef",), np.asarray(spec.x_new, float))
        ccoords["coef"] = coords["coef"]
    if spec.tau_by is not None:
        const["group_idx"] = (("study",), np.asarray(spec.group_index, int))
        ccoords["subgroup"] = coords["subgroup"]
    if spec.cluster_index is not None:
        const["cluster_idx"] = (("study",), np.asarray(spec.cluster_index, int))
        ccoords["cluster"] = coords["cluster"]
    add_groups(new, observed_data=obs, constant_data=xr.Dataset(const, coords=ccoords))
    return new


@dataclass
class NutsFit:
    """What :func:`sample` returns.

    Attributes
    ----------
    idata : arviz.InferenceData
        Groups posterior, sample_stats, prior, prior_predictive, observed_data, constant_data.
    info : dict
        Fit information (sampler, seed, draws, tune, chains, target_accept, retried,
        parameterization, model_built, compiled, sampling_seconds).
    entry : CacheEntry
        The cache entry whose compiled model was sampled.
    seconds : float
        Wall time of the whole fit.
    """

    idata: Any
    info: dict
    entry: CacheEntry
    seconds: float = 0.0


def sample(
    spec: ModelSpec,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    progressbar: bool | None = False,
    *,
    cache: ModelCache | None = None,
    sampler: str | None = None,
    target_accept: float | None = None,
    prior_draws: int = 1000,
    cores: int | None = None,
    retry: bool = True,
    parameterization: str = "auto",
    pad: bool | int | None = None,
    **kwargs: Any,
) -> NutsFit:
    """Sample the posterior of the model of *spec* with NUTS.

    Called by ``MetaAnalysis.fit(engine="nuts", ...)``, which wraps the result in a
    :class:`bayesma.MetaPosterior`.

    Parameters
    ----------
    spec : ModelSpec
    draws, tune, chains : int
        Draws kept and tuning steps per chain; number of chains.
    seed : int, optional
        Random seed of the sampler and of the prior draws. The same seed gives
        bit-identical draws (with the same sampler). ``None``: a fresh seed,
        recorded in ``idata.posterior.attrs["seed"]``.
    progressbar : bool, optional
        Show, on stderr, a line saying that the model is being compiled (:data:`COMPILE_MESSAGE`)
        with the seconds elapsed, from before PyMC is imported until the sampler starts, ending
        with ``compiled in 12.3 s; sampling``; then the sampler's progress bar. On a terminal or
        in Jupyter the line is redrawn in place every half second; in a log file (progress asked
        for explicitly, stderr not a terminal) it is written once, followed by ``still compiling
        (10 s)`` every 10 s and the final line (:func:`bayesma._progress.elapsed`), and the
        sampler shows no bar (it cannot be redrawn in a file). Nothing when
        the model family is compiled in this process already. ``None``: when stderr is a
        terminal or in Jupyter (:func:`show_progress`); ``False``: nothing at all.
    cache : ModelCache, optional
        Where compiled models are kept (default :data:`MODEL_CACHE`).
    sampler : {"nutpie", "pymc"}, optional
        NUTS implementation; default :data:`DEFAULT_SAMPLER` when installed.
    target_accept : float, optional
        Target acceptance rate. Default: 0.9 (0.95 with fewer than 5 studies);
        raise it to 0.95-0.99 if divergences are reported.
    parameterization : {"auto", "marginal", "noncentered", "centered"}
        How the study effects are parameterized
        (:func:`~bayesma.models.build.resolve_parameterization`; the posterior is
        the same, the sampling efficiency differs).
    retry : bool
        When *target_accept* is left at its default and the fit has divergent
        transitions, sample once more (same seed) with ``target_accept=0.99``;
        ``info["retried"]`` records it. Refits are cheap: the model is
        compiled already.
    pad : bool, optional
        Pad the study (and cluster) dimension to its bucket (64, 128, ... studies;
        16, 32, ... clusters) so that one compiled model serves every k of the
        bucket: a batch of meta-analyses of 3 to 64 studies compiles once. The
        posterior is the same; the draws for a given seed differ from ``pad=False``
        (the sampler also moves the padded studies' independent auxiliary
        variables). ``pad=False`` compiles one model per k, as before. Default:
        padded, except three-level models (``cluster=``), whose draws stay those
        of the unpadded model unless ``pad=True`` is given. An integer n pads to
        the bucket of ``max(k, n)``: :func:`bayesma.fit_many` pads every
        meta-analysis with the largest k of the batch, so that they share one
        compiled model.
    prior_draws : int
        Number of prior draws stored in ``idata.prior`` (0: none). They are drawn (with the
        fit's seed) when the InferenceData is first used for more than its posterior, sample
        stats and data: most fits never pay for them.
    cores : int, optional
        Chains run in parallel (default: ``min(chains, os.cpu_count())``).
    **kwargs
        Passed to ``nutpie.sample`` or ``pymc.sample``.

    Returns
    -------
    NutsFit

    Raises
    ------
    ValueError
        For draws < 1, tune < 0, chains < 1, target_accept outside (0, 1), an
        unknown sampler or an integer *pad* < 1.
    TypeError
        When *seed* is not an integer, or *pad* not a bool or an integer.

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03])
    >>> fit = sample(ma.spec, draws=500, chains=2, seed=1)     # doctest: +SKIP
    >>> fit.info["compiled"]                                    # doctest: +SKIP
    True
    """
    draws, tune, chains = int(draws), int(tune), int(chains)
    if draws < 1 or tune < 0 or chains < 1:
        raise InputError(f"need draws >= 1, tune >= 0, chains >= 1; got draws={draws}, tune={tune}, chains={chains}")
    auto_sampler = sampler is None
    sampler = _resolve_sampler(sampler)
    seed = _seed_of(seed)
    auto_ta = target_accept is None
    target_accept = default_target_accept(spec.k) if auto_ta else float(target_accept)
    if not 0 < target_accept < 1:
        raise InputError(f"target_accept must be in (0, 1), got {target_accept}")
    if cores is None:
        cores = min(chains, os.cpu_count() or 1)

    t0 = time.perf_counter()
    cache = MODEL_CACHE if cache is None else cache
    if pad is None:
        pad = spec.cluster_index is None
    elif not isinstance(pad, (bool, int, np.integer)):
        raise ArgumentTypeError(f"pad must be True, False or a number of studies, got {type(pad).__name__}")
    elif not isinstance(pad, bool) and pad < 1:
        raise InputError(f"pad as a number of studies must be >= 1, got {pad}")
    pad = pad if isinstance(pad, bool) else int(pad)
    progressbar = show_progress(progressbar)
    ready = prepare(spec, cache, parameterization=parameterization, pad=pad, sampler=sampler,
                    auto_sampler=auto_sampler, target_accept=target_accept, progressbar=progressbar)
    entry, built, values, compiled_now, sampler = ready.entry, ready.built, ready.values, ready.compiled, ready.sampler
    if ready.fallback is not None:
        warnings.warn(f"nutpie could not compile the model ({ready.fallback}); sampling with PyMC's NUTS instead",
                      RuntimeWarning, stacklevel=3)
    run = _sample_nutpie if sampler == "nutpie" else _sample_pymc
    bar = progressbar and sampler_bar(sys.stderr)  # drawn in place (not in a log file), not under fit_many's bar
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Tt]uning samples.*")
        idata = run(entry, values, draws, tune, chains, seed, bar, target_accept, cores, kwargs)
        retried = False
        if retry and auto_ta and _divergences(idata) > 0 and target_accept < RETRY_TARGET_ACCEPT:
            target_accept, retried = RETRY_TARGET_ACCEPT, True
            idata = run(entry, values, draws, tune, chains, seed, bar, target_accept, cores, kwargs)
    t_sample = time.perf_counter() - t0
    if any(is_improper(p) for p in spec.priors.values()):
        prior_draws = 0  # nothing can be drawn from an improper prior
    idata = _finish_idata(idata, spec, None)
    if prior_draws and prior_draws > 0:
        # drawn when first read (most fits never read them): same draws as drawing now
        n_prior = int(prior_draws)

        def prior_groups() -> dict[str, Any]:
            return _prior_groups(spec, _draw_prior(entry, values, n_prior, seed, progressbar)[0])

        idata = with_lazy_groups(idata, prior_groups)
    seconds = time.perf_counter() - t0
    info = {
        "engine": "nuts",
        "sampler": sampler,
        "seed": seed,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "target_accept": target_accept,
        "retried": retried,
        "parameterization": entry.handles.parameterization,
        "padded_to": int(padded_sizes(spec, pad)[0]),
        "model_built": bool(built),
        "compiled": bool(compiled_now),
        "compile_path": entry.compile_path if sampler == "nutpie" else "pymc",
        "compile_seconds": entry.compile_seconds if compiled_now else 0.0,
        "sampling_seconds": t_sample,
    }
    idata.posterior.attrs.update({k: (int(v) if isinstance(v, bool) else v) for k, v in info.items()})
    return NutsFit(idata=idata, info=info, entry=entry, seconds=seconds)
