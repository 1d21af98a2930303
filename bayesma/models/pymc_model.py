"""The PyMC model of a :class:`~bayesma.models.spec.ModelSpec`, compiled once and sampled many times.

One builder covers every family of :class:`bayesma.MetaAnalysis`:

=====================  ===================================================================
family                 true effects (``z``, ``u`` standard normal)
=====================  ===================================================================
common effect          ``theta_i = x_i' beta``                      (no tau)
random effects         ``theta_i = x_i' beta + tau z_i``
subgroup tau           ``theta_i = x_i' beta + tau[g_i] z_i``       (``tau_by=``; tau dim ``subgroup``)
three levels           ``theta_ij = x_ij' beta + tau u_j + tau_within z_ij``  (``cluster=``)
Student-t effects      ``z_i ~ StudentT(nu, 0, 1)``                 (``likelihood="student_t"``)
=====================  ===================================================================

and ``y_i ~ Normal(theta_i, sqrt(v_i))`` with the sampling variances known.
For an intercept-only model ``x_i' beta`` is the scalar ``mu``; a
meta-regression has ``beta`` with dim ``coef`` (intercept prior
``priors["mu"]``, slopes ``priors.get("beta", priors["mu"])``).

Parameterization (:func:`resolve_parameterization`). All are non-centered in
the sense that ``theta`` is a deterministic function of standard normals; by
default (``"auto"``) normal random-effects models use the *marginal* form:
the likelihood ``y_i ~ N(m_i, s_i^2 + v_i)`` with the last level integrated
out, and ``theta_i = m_i + B_i (y_i - m_i) + s_i sqrt(v_i / (s_i^2 + v_i)) z_i``
drawn from its exact conditional posterior (``B_i = s_i^2 / (s_i^2 + v_i)``).
Same posterior, no funnel: 5-15 times the effective sample size per draw of
the plain non-centered form on bcg, k = 2, tau near 0 and k = 100 precise
studies alike. ``parameterization="noncentered"`` (``theta = m + s z`` in the
likelihood; the Student-t default) and ``"centered"`` are available.

Deterministics: ``theta`` (dim ``study``) and ``theta_new``, the true effect of
a new study at the mean moderator row ``spec.x_new`` (dim ``subgroup`` with
``tau_by``; a new *cluster* in three-level models, so both ``tau`` and
``tau_within`` enter). Its randomness comes from the auxiliary standard normal
(or Student-t) variables ``z_new`` (and ``u_new``), which the sampler draws
from their prior.

**Compile once, sample many.** The data (``yi_data``, ``vi``, ``X``, ``x_new``,
subgroup and cluster indices) and every prior hyperparameter
(``hyper_<key>_<param>``, e.g. ``hyper_tau_sigma``) are ``pm.Data``. The
compiled sampler is cached by the *structure* of the model (:func:`structure_key`:
model kind, likelihood, shapes, prior families), so a second fit with new
hyperparameters of the same families, or new data of the same shape, only
swaps the data (nutpie's ``CompiledModel.with_data``) and samples at once.

The cache is a :class:`ModelCache`; :class:`bayesma.MetaAnalysis` keeps a
reference in ``_pymc_cache`` (by default the process-wide cache
:data:`MODEL_CACHE`, so copies made by ``with_priors``, leave-one-out fits or
simulations of the same shape share compiled models).

Sampler choice
--------------
``sampler="nutpie"`` (default when nutpie is importable) or ``"pymc"``. The
numbers behind the default are in ``benchmarks/bench_nuts_refit.py``; see
:data:`DEFAULT_SAMPLER`.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.models.spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    import pymc as pm

    from bayesma.results import MetaPosterior

__all__ = [
    "build_model",
    "get_model",
    "fit_nuts",
    "structure_key",
    "data_values",
    "ModelHandles",
    "ModelCache",
    "MODEL_CACHE",
    "DEFAULT_SAMPLER",
    "DEFAULT_TARGET_ACCEPT",
    "SMALL_K_TARGET_ACCEPT",
    "RETRY_TARGET_ACCEPT",
    "default_target_accept",
    "available_samplers",
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

_AUX = ("z", "u", "z_new", "u_new")


def available_samplers() -> list[str]:
    """Samplers usable in this environment (``"pymc"`` always; ``"nutpie"`` when importable)."""
    out = ["pymc"]
    try:
        import nutpie  # noqa: F401

        out.insert(0, "nutpie")
    except Exception:  # pragma: no cover - depends on the environment
        pass
    return out


def default_target_accept(k: int) -> float:
    """Default NUTS target acceptance rate for *k* studies: 0.9, or 0.95 when k < 5."""
    return DEFAULT_TARGET_ACCEPT if k >= 5 else SMALL_K_TARGET_ACCEPT


PARAMETERIZATIONS = ("auto", "marginal", "noncentered", "centered")


def resolve_parameterization(spec: ModelSpec, parameterization: str = "auto") -> str:
    """The parameterization of the study effects that a model of *spec* uses.

    ``"noncentered"``: ``theta_i = m_i + s_i z_i`` with standard-normal (or
    Student-t) ``z_i`` in the likelihood ``y_i ~ N(theta_i, v_i)``; the default
    parameterization of hierarchical models with few, imprecise studies.

    ``"marginal"``: the same non-centered ``theta_i = a_i + b_i z_i``, but of the
    *conditional posterior* of ``theta_i`` given the other parameters and the data
    (normal, known in closed form), while the likelihood is the marginal
    ``y_i ~ N(m_i, s_i^2 + v_i)``. NUTS then explores only (mu or beta, tau, ...)
    plus independent standard normals: no funnel whether tau is near 0 or the
    studies are precise, hence several times the effective sample size per draw
    (``benchmarks/bench_nuts_refit.py``). The posterior is exactly the same.
    Normal random effects only (three levels: the within-cluster level is
    integrated, the cluster level stays non-centered).

    ``"centered"``: ``theta_i ~ N(m_i, s_i)`` directly (good for many precise studies).

    ``"auto"`` (default): ``"marginal"`` for normal random effects, ``"noncentered"``
    for Student-t random effects (no closed form).

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03])
    >>> resolve_parameterization(ma.spec)
    'marginal'
    """
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}")
    if spec.model == "common":
        return "noncentered"  # no study-level latent variables: all are the same model
    if parameterization == "auto":
        return "marginal" if spec.likelihood == "normal" else "noncentered"
    if parameterization == "marginal" and spec.likelihood != "normal":
        raise ValueError("parameterization='marginal' needs normal random effects (likelihood='normal'); "
                         "use 'noncentered' or 'centered' for Student-t random effects")
    return parameterization


# ---------------------------------------------------------------------------
# structure, data and hyperparameters of a spec
# ---------------------------------------------------------------------------


def _location_groups(spec: ModelSpec) -> list[tuple[str, Any, list[int]]]:
    """Coefficients grouped by prior family: [(family, prior_of_first, indices)]."""
    groups: "OrderedDict[str, list[int]]" = OrderedDict()
    first: dict[str, Any] = {}
    for j in range(spec.p):
        prior = spec.location_prior(j)
        groups.setdefault(prior.family, []).append(j)
        first.setdefault(prior.family, prior)
    return [(fam, first[fam], idx) for fam, idx in groups.items()]


def _hyper_name(key: str, param: str) -> str:
    return f"hyper_{key}_{param}"


def structure_key(spec: ModelSpec, parameterization: str = "auto") -> tuple:
    """What decides the compiled model: kind, likelihood, shapes, prior families, parameterization.

    Two specs with the same key differ only in data values and hyperparameter
    values, so they share one compiled model.

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03], priors={"tau": "halfnormal(0.5)"})
    >>> structure_key(ma.spec)[:5]
    ('random', 'normal', 'marginal', 3, 1)
    """
    priors = tuple(
        (key, spec.priors[key].family, tuple(spec.priors[key].params))
        for key in ("tau", "tau_within", "nu")
        if key in spec.priors
    )
    if spec.is_regression:
        loc = ("beta",) + tuple((fam, tuple(prior.params), tuple(idx)) for fam, prior, idx in _location_groups(spec))
    else:
        loc = ("mu", spec.priors["mu"].family, tuple(spec.priors["mu"].params))
    return (
        spec.model,
        spec.likelihood,
        resolve_parameterization(spec, parameterization),
        spec.k,
        spec.p,
        spec.is_regression,
        len(spec.group_names) if spec.tau_by is not None else 0,
        len(spec.cluster_names) if spec.cluster_index is not None else 0,
        loc,
        priors,
    )


def data_values(spec: ModelSpec) -> dict[str, np.ndarray]:
    """Values of every ``pm.Data`` of the model of *spec* (data and hyperparameters).

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03],
    ...                      priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> sorted(data_values(ma.spec))
    ['hyper_mu_mu', 'hyper_mu_sigma', 'hyper_tau_sigma', 'vi', 'yi_data']
    """
    out: dict[str, np.ndarray] = {
        "yi_data": np.asarray(spec.yi, dtype=float),
        "vi": np.asarray(spec.vi, dtype=float),
    }
    if spec.is_regression:
        out["X"] = np.asarray(spec.X, dtype=float)
        out["x_new"] = np.asarray(spec.x_new if spec.tau_by is None else spec.x_new_groups, dtype=float)
        groups = _location_groups(spec)
        for fam, _, idx in groups:
            priors = [spec.location_prior(j) for j in idx]
            key = _beta_key(groups, fam)
            for param in priors[0].params:
                out[_hyper_name(key, param)] = np.array([p.params[param] for p in priors], dtype=float)
    else:
        for param, value in spec.priors["mu"].params.items():
            out[_hyper_name("mu", param)] = np.asarray(value, dtype=float)
    if spec.tau_by is not None:
        out["group_idx"] = np.asarray(spec.group_index, dtype="int64")
    if spec.cluster_index is not None:
        out["cluster_idx"] = np.asarray(spec.cluster_index, dtype="int64")
    for key in ("tau", "tau_within", "nu"):
        if key in spec.priors:
            for param, value in spec.priors[key].params.items():
                out[_hyper_name(key, param)] = np.asarray(value, dtype=float)
    return out


def _beta_key(groups: list, family: str) -> str:
    """Name of the coefficients with prior *family* among the location-prior *groups*."""
    return "beta" if len(groups) == 1 else f"beta_{family}"


@dataclass
class ModelHandles:
    """What :func:`build_model` hands back besides the ``pm.Model``.

    Attributes
    ----------
    key : tuple
        :func:`structure_key` of the spec.
    parameterization : str
        ``"marginal"``, ``"noncentered"`` or ``"centered"``.
    data : dict[str, TensorVariable]
        Every ``pm.Data`` by name (data and hyperparameters).
    hyper : dict[str, dict[str, str]]
        Prior key -> hyperparameter -> name of its ``pm.Data``.
    params : list[str]
        Named model parameters (``mu``/``beta``, ``tau``, ``tau_within``, ``nu``).
    auxiliary : list[str]
        Standard-normal (or Student-t) auxiliary variables of the non-centered
        parameterization (``z``, ``u``, ``z_new``, ``u_new``).
    theta_prior : TensorVariable
        ``theta`` as a function of the parameters *without* the data (in the
        marginal parameterization the ``theta`` deterministic is conditional on
        the data); used for the prior draws of ``theta``.
    """

    key: tuple
    parameterization: str = "noncentered"
    theta_prior: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    hyper: dict[str, dict[str, str]] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)
    auxiliary: list[str] = field(default_factory=list)


def build_model(spec: ModelSpec, parameterization: str = "auto") -> tuple["pm.Model", ModelHandles]:
    """Build the PyMC model of *spec*.

    Parameters
    ----------
    spec : ModelSpec
    parameterization : {"auto", "marginal", "noncentered", "centered"}
        How the study effects enter (see :func:`resolve_parameterization`).

    Returns
    -------
    model : pymc.Model
        With coords ``study`` (and ``coef``, ``subgroup``, ``cluster``), the
        observed variable ``yi`` and the deterministics ``theta`` and
        ``theta_new`` (and ``mu`` for intercept-only models).
    handles : ModelHandles

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03])
    >>> model, handles = build_model(ma.spec)       # doctest: +SKIP
    >>> sorted(model.named_vars)                    # doctest: +SKIP
    """
    import pymc as pm
    import pytensor.tensor as pt

    parameterization = resolve_parameterization(spec, parameterization)
    vals = data_values(spec)
    handles = ModelHandles(key=structure_key(spec, parameterization), parameterization=parameterization)
    coords = spec.coords()
    with pm.Model(coords=coords) as model:
        D = handles.data

        def data(name: str, dims=None):
            D[name] = pm.Data(name, vals[name], dims=dims)
            return D[name]

        yi = data("yi_data", dims="study")
        vi = data("vi", dims="study")
        sigma = pt.sqrt(vi)

        # -- location -------------------------------------------------------
        if spec.is_regression:
            X = data("X", dims=("study", "coef"))
            if spec.tau_by is not None:
                x_new = data("x_new", dims=("subgroup", "coef"))
            else:
                x_new = data("x_new", dims="coef")
            groups = _location_groups(spec)
            parts = []
            for fam, prior, idx in groups:
                key = _beta_key(groups, fam)
                hp = {param: data(_hyper_name(key, param)) for param in prior.params}
                handles.hyper[key] = {param: _hyper_name(key, param) for param in prior.params}
                if len(groups) == 1:
                    beta = prior.pymc("beta", params=hp, dims="coef")
                else:
                    parts.append((idx, prior.pymc(key, params=hp, shape=len(idx))))
            if len(groups) > 1:
                order = np.argsort(np.concatenate([idx for idx, _ in parts]))
                beta = pm.Deterministic("beta", pt.concatenate([v for _, v in parts])[order], dims="coef")
            loc = pt.dot(X, beta)
            loc_new = pt.dot(x_new, beta)
            handles.params.append("beta")
        else:
            prior = spec.priors["mu"]
            hp = {param: data(_hyper_name("mu", param)) for param in prior.params}
            handles.hyper["mu"] = {param: _hyper_name("mu", param) for param in prior.params}
            mu = prior.pymc("mu", params=hp)
            loc = mu
            loc_new = mu
            handles.params.append("mu")

        def hetero(key: str, **kwargs):
            prior = spec.priors[key]
            hp = {param: data(_hyper_name(key, param)) for param in prior.params}
            handles.hyper[key] = {param: _hyper_name(key, param) for param in prior.params}
            handles.params.append(key)
            return prior.pymc(key, params=hp, **kwargs)

        # -- true effects -----------------------------------------------------
        # theta_i = m_i + s_i * z_i: m_i the mean of study i's true effect given the
        # upper levels, s_i the SD of its last level (tau, tau[g_i] or tau_within).
        if spec.model == "common":
            theta = pm.Deterministic("theta", loc * pt.ones_like(yi), dims="study")
            pm.Deterministic("theta_new", loc_new)
            pm.Normal("yi", mu=theta, sigma=sigma, observed=yi, dims="study")
            handles.theta_prior = theta
            return model, handles

        nu = hetero("nu") if spec.likelihood == "student_t" else None

        def noise(name, **kw):
            handles.auxiliary.append(name)
            if nu is not None:
                return pm.StudentT(name, nu=nu, mu=0.0, sigma=1.0, **kw)
            return pm.Normal(name, 0.0, 1.0, **kw)

        if spec.tau_by is not None:
            g = data("group_idx", dims="study")
            tau = hetero("tau", dims="subgroup")
            m, s = loc * pt.ones_like(yi), tau[g]
            z_new = noise("z_new", dims="subgroup")
            pm.Deterministic("theta_new", loc_new + tau * z_new, dims="subgroup")
        elif spec.cluster_index is not None:
            c = data("cluster_idx", dims="study")
            tau = hetero("tau")
            tau_w = hetero("tau_within")
            u = noise("u", dims="cluster")
            m, s = loc + tau * u[c], tau_w * pt.ones_like(yi)
            u_new = noise("u_new")
            z_new = noise("z_new")
            pm.Deterministic("theta_new", loc_new + tau * u_new + tau_w * z_new)
        else:
            tau = hetero("tau")
            m, s = loc * pt.ones_like(yi), tau * pt.ones_like(yi)
            z_new = noise("z_new")
            pm.Deterministic("theta_new", loc_new + tau * z_new)

        if parameterization == "marginal":
            # y_i | m_i ~ N(m_i, s_i^2 + v_i); theta_i | y, m, s is normal with mean
            # m_i + B_i (y_i - m_i), B_i = s_i^2 / (s_i^2 + v_i), and SD s_i sqrt(v_i / (s_i^2 + v_i)).
            s2 = s**2 + vi
            z = noise("z", dims="study")
            theta = pm.Deterministic("theta", m + (s**2 / s2) * (yi - m) + s * pt.sqrt(vi / s2) * z, dims="study")
            pm.Normal("yi", mu=m, sigma=pt.sqrt(s2), observed=yi, dims="study")
            handles.theta_prior = m + s * z
        elif parameterization == "centered":
            if nu is not None:
                theta = pm.StudentT("theta", nu=nu, mu=m, sigma=s, dims="study")
            else:
                theta = pm.Normal("theta", mu=m, sigma=s, dims="study")
            pm.Normal("yi", mu=theta, sigma=sigma, observed=yi, dims="study")
            handles.theta_prior = theta
        else:
            z = noise("z", dims="study")
            theta = pm.Deterministic("theta", m + s * z, dims="study")
            pm.Normal("yi", mu=theta, sigma=sigma, observed=yi, dims="study")
            handles.theta_prior = theta
    return model, handles


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

    def __init__(self, model: "pm.Model", handles: ModelHandles) -> None:
        self.model = model
        self.handles = handles
        self.nutpie_compiled: Any = None
        self.pymc_step: Any = None
        self.prior_fn: Any = None
        self.compiles: dict[str, int] = {"nutpie": 0, "pymc": 0, "prior": 0}
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
        self._entries: "OrderedDict[tuple, CacheEntry]" = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: tuple) -> bool:
        return key in self._entries

    def __getitem__(self, key: tuple) -> CacheEntry:
        return self._entries[key]

    def get(self, spec: ModelSpec, parameterization: str = "auto") -> tuple[CacheEntry, bool]:
        """The entry of *spec*'s structure (built when missing) and whether it was built now."""
        key = structure_key(spec, parameterization)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry, False
        model, handles = build_model(spec, parameterization)
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


def _cache_of(meta_analysis: Any) -> ModelCache:
    cache = getattr(meta_analysis, "_pymc_cache", None)
    if not isinstance(cache, ModelCache):
        cache = MODEL_CACHE
        try:
            meta_analysis._pymc_cache = cache
        except AttributeError:  # pragma: no cover
            pass
    return cache


def get_model(meta_analysis: Any) -> "pm.Model":
    """The PyMC model of a :class:`bayesma.MetaAnalysis` (built on first use).

    The model is the instance's own (its ``pm.Data`` hold this analysis's data
    and hyperparameters); the compiled samplers live in the shared structure
    cache.

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03])
    >>> model = ma.pymc_model          # doctest: +SKIP
    """
    model = getattr(meta_analysis, "_pymc_model", None)
    key = structure_key(meta_analysis.spec)
    if model is None or getattr(meta_analysis, "_pymc_model_key", None) != key:
        model, _ = build_model(meta_analysis.spec)
        meta_analysis._pymc_model = model
        meta_analysis._pymc_model_key = key
    return model


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------


def _resolve_sampler(sampler: str | None) -> str:
    avail = available_samplers()
    if sampler is None:
        return DEFAULT_SAMPLER if DEFAULT_SAMPLER in avail else "pymc"
    sampler = sampler.lower()
    if sampler not in ("pymc", "nutpie"):
        raise ValueError(f"sampler must be 'pymc' or 'nutpie', got {sampler!r}")
    if sampler not in avail:
        raise ImportError("sampler='nutpie' needs the nutpie package: pip install nutpie")
    return sampler


def _seed_of(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return int(seed)


class _NutpieCompileError(RuntimeError):
    pass


def _sample_nutpie(entry: CacheEntry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs):
    import nutpie

    compiled_now = False
    with entry.lock:
        if entry.nutpie_compiled is None:
            try:
                entry.nutpie_compiled = nutpie.compile_pymc_model(entry.model)
            except Exception as exc:  # e.g. an Op without a numba implementation
                raise _NutpieCompileError(str(exc)) from exc
            entry.compiles["nutpie"] += 1
            compiled_now = True
        # nutpie's initial-point function is PyMC's, which reads the model's shared data
        # (e.g. the support point of tau depends on its prior scale): set it too, and keep
        # the lock while sampling so that concurrent fits cannot change it meanwhile.
        entry.set_data(values)
        compiled = entry.nutpie_compiled.with_data(**values)
        idata = nutpie.sample(
            # nutpie's adaptation needs at least one tuning step
            compiled, draws=draws, tune=max(tune, 1), chains=chains, cores=cores, seed=seed,
            progress_bar=progressbar, save_warmup=False, target_accept=target_accept, **kwargs,
        )
    return idata, compiled_now


def _sample_pymc(entry: CacheEntry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs):
    import pymc as pm

    compiled_now = False
    with entry.lock:
        entry.set_data(values)
        with entry.model:
            if entry.pymc_step is None:
                entry.pymc_step = pm.NUTS(target_accept=target_accept)
                entry.compiles["pymc"] += 1
                compiled_now = True
            step = entry.pymc_step
            step.target_accept = target_accept
            step.step_adapt._target = target_accept
            step.reset_tuning()
            idata = pm.sample(
                draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed, step=step,
                progressbar=progressbar, compute_convergence_checks=False, idata_kwargs={"log_likelihood": False},
                **kwargs,
            )
    return idata, compiled_now


def _draw_prior(entry: CacheEntry, values, n: int, seed: int) -> tuple[dict[str, np.ndarray], bool]:
    """Prior draws of every variable (as ``pm.sample_prior_predictive``), compiled once per structure."""
    from pymc.pytensorf import reseed_rngs
    from pymc.sampling.forward import compile_forward_sampling_function
    from pymc.util import _get_seeds_per_chain, get_default_varnames

    compiled_now = False
    with entry.lock:
        model = entry.model
        if entry.prior_fn is None:
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
    return dims


def _divergences(idata) -> int:
    stats = getattr(idata, "sample_stats", None)
    if stats is None:
        return 0
    for name in ("diverging", "divergent"):
        if name in stats:
            return int(np.asarray(stats[name].values).sum())
    return 0


def _finish_idata(idata, spec: ModelSpec, prior: dict[str, np.ndarray] | None):
    """Uniform InferenceData for both samplers: posterior, sample_stats, prior,
    prior_predictive, observed_data (yi), constant_data (vi, X, indices), current coords."""
    import arviz as az
    import xarray as xr

    coords = spec.coords()
    keep = {}
    for group in ("posterior", "sample_stats"):
        ds = getattr(idata, group)
        ds = ds.drop_vars([v for v in ds.data_vars if v.endswith("__")], errors="ignore")
        ds = ds.assign_coords({d: coords[d] for d in coords if d in ds.dims})
        keep[group] = ds
    if "diverging" not in keep["sample_stats"] and "divergent" in keep["sample_stats"]:
        keep["sample_stats"] = keep["sample_stats"].rename({"divergent": "diverging"})
    new = az.InferenceData(**keep)
    dims = _dims_of(spec)
    if prior:
        prior = {name: val[None, ...] for name, val in prior.items()}
        pp = {"yi": prior.pop("yi")} if "yi" in prior else {}
        new.add_groups(
            prior=az.dict_to_dataset(prior, coords=coords, dims=dims, library=None, attrs={}),
            prior_predictive=az.dict_to_dataset(pp, coords=coords, dims=dims, library=None, attrs={}),
        )
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
    new.add_groups(observed_data=obs, constant_data=xr.Dataset(const, coords=ccoords))
    return new


def fit_nuts(
    meta_analysis: Any,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    progressbar: bool = False,
    *,
    sampler: str | None = None,
    target_accept: float | None = None,
    prior_draws: int = 1000,
    cores: int | None = None,
    warn: bool = True,
    retry: bool = True,
    parameterization: str = "auto",
    **kwargs: Any,
) -> "MetaPosterior":
    """Sample the posterior of a :class:`bayesma.MetaAnalysis` with NUTS.

    Called by ``MetaAnalysis.fit(engine="nuts", ...)``.

    Parameters
    ----------
    meta_analysis : bayesma.MetaAnalysis
    draws, tune, chains : int
        Draws kept and tuning steps per chain; number of chains.
    seed : int, optional
        Random seed of the sampler and of the prior draws. The same seed gives
        bit-identical draws (with the same sampler). ``None``: a fresh seed,
        recorded in ``idata.posterior.attrs["seed"]``.
    progressbar : bool
        Show the sampler's progress bar.
    sampler : {"nutpie", "pymc"}, optional
        NUTS implementation; default :data:`DEFAULT_SAMPLER` when installed.
    target_accept : float, optional
        Target acceptance rate. Default: 0.9 (0.95 with fewer than 5 studies);
        raise it to 0.95-0.99 if divergences are reported.
    parameterization : {"auto", "marginal", "noncentered", "centered"}
        How the study effects are parameterized (:func:`resolve_parameterization`;
        the posterior is the same, the sampling efficiency differs).
    retry : bool
        When *target_accept* is left at its default and the fit has divergent
        transitions, sample once more (same seed) with ``target_accept=0.99``;
        ``fit_info["retried"]`` records it. Refits are cheap: the model is
        compiled already.
    prior_draws : int
        Number of prior draws stored in ``idata.prior`` (0: none).
    cores : int, optional
        Chains run in parallel (default: ``min(chains, os.cpu_count())``).
    warn : bool
        Warn (with advice) when the diagnostics fail.
    **kwargs
        Passed to ``nutpie.sample`` or ``pymc.sample``.

    Returns
    -------
    bayesma.MetaPosterior

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> post = bm.MetaAnalysis(dat).fit(draws=500, chains=2, seed=1)     # doctest: +SKIP
    >>> post.summary().loc["tau", "mean"]                                 # doctest: +SKIP
    """
    import os

    from bayesma.results import MetaPosterior

    spec: ModelSpec = meta_analysis.spec
    draws, tune, chains = int(draws), int(tune), int(chains)
    if draws < 1 or tune < 0 or chains < 1:
        raise ValueError(f"need draws >= 1, tune >= 0, chains >= 1; got draws={draws}, tune={tune}, chains={chains}")
    auto_sampler = sampler is None
    sampler = _resolve_sampler(sampler)
    seed = _seed_of(seed)
    auto_ta = target_accept is None
    target_accept = default_target_accept(spec.k) if auto_ta else float(target_accept)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
    if cores is None:
        cores = min(chains, os.cpu_count() or 1)

    t0 = time.perf_counter()
    cache = _cache_of(meta_analysis)
    entry, built = cache.get(spec, parameterization)
    values = data_values(spec)
    run = _sample_nutpie if sampler == "nutpie" else _sample_pymc
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Tt]uning samples.*")
        try:
            idata, compiled_now = run(entry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs)
        except _NutpieCompileError as exc:
            if not auto_sampler:
                raise RuntimeError(f"nutpie could not compile the model: {exc}") from exc
            warnings.warn(f"nutpie could not compile the model ({exc}); sampling with PyMC's NUTS instead",
                          RuntimeWarning, stacklevel=2)
            sampler, run = "pymc", _sample_pymc
            idata, compiled_now = run(entry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs)
        retried = False
        if retry and auto_ta and _divergences(idata) > 0 and target_accept < RETRY_TARGET_ACCEPT:
            target_accept, retried = RETRY_TARGET_ACCEPT, True
            idata, _ = run(entry, values, draws, tune, chains, seed, progressbar, target_accept, cores, kwargs)
    t_sample = time.perf_counter() - t0
    prior, prior_compiled = (None, False)
    if prior_draws and prior_draws > 0:
        prior, prior_compiled = _draw_prior(entry, values, int(prior_draws), seed)
    idata = _finish_idata(idata, spec, prior)
    fit_seconds = time.perf_counter() - t0
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
        "model_built": bool(built),
        "compiled": bool(compiled_now),
        "prior_compiled": bool(prior_compiled),
        "sampling_seconds": t_sample,
    }
    idata.posterior.attrs.update({k: (int(v) if isinstance(v, bool) else v) for k, v in info.items()})
    post = MetaPosterior(idata, spec, engine="nuts", fit_seconds=fit_seconds)
    post.fit_info = info
    post._cache_entry = entry
    if warn:
        post.diagnostics().warn()
    return post
