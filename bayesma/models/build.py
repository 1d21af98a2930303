"""The PyMC model of a :class:`~bayesma.spec.ModelSpec`: structure, data, builder.

:func:`build_model` builds the model of every family of :class:`bayesma.MetaAnalysis`
from the pieces in one module per family (:mod:`~bayesma.models.random_effects`,
:mod:`~bayesma.models.subgroup`, :mod:`~bayesma.models.three_level`,
:mod:`~bayesma.models.student_t`):

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
compiled sampler (:mod:`bayesma.models.nuts`) is cached by the *structure* of the model (:func:`structure_key`:
model kind, likelihood, shapes, prior families), so a second fit with new
hyperparameters of the same families, or new data of the same shape, only
swaps the data (nutpie's ``CompiledModel.with_data``) and samples at once.
With ``pad=True`` (the NUTS default except for three-level models) the number of
studies enters the key only through its bucket (:func:`padded_sizes`: 64, 128, ...):
the study arrays are padded and a ``mask`` makes the padded studies' likelihood a
constant, so one compiled model serves every k of a bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayesma.errors import InputError
from bayesma.models import bias as bias_family
from bayesma.models import counts_pymc, dependent_pymc, location_scale, random_effects, student_t, subgroup, three_level
from bayesma.spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    import pymc as pm

__all__ = [
    "PARAMETERIZATIONS",
    "STUDY_BUCKET",
    "CLUSTER_BUCKET",
    "padded_size",
    "padded_sizes",
    "resolve_parameterization",
    "structure_key",
    "data_values",
    "ModelHandles",
    "build_model",
]

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
        raise InputError(f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}")
    if spec.model == "common":
        return "noncentered"  # no study-level latent variables: all are the same model
    if parameterization == "auto":
        return "marginal" if spec.likelihood == "normal" else "noncentered"
    if parameterization == "marginal" and spec.likelihood != "normal":
        raise InputError("parameterization='marginal' needs normal random effects (likelihood='normal'); "
                         "use 'noncentered' or 'centered' for Student-t random effects")
    return parameterization


# ---------------------------------------------------------------------------
# structure, data and hyperparameters of a spec
# ---------------------------------------------------------------------------


_hyper_name = random_effects.hyper_name


#: Smallest padded number of studies (effects): with ``pad=True`` the study dimension
#: is padded to the next power of two at least this large, so every k up to 64 shares
#: one compiled model (and 65-128 the next one, ...).
STUDY_BUCKET = 64
#: Smallest padded number of clusters of a three-level model (``pad=True``).
CLUSTER_BUCKET = 16


def padded_size(n: int, minimum: int) -> int:
    """The bucket of *n*: the smallest power-of-two multiple of *minimum* that is >= n.

    Examples
    --------
    >>> [padded_size(k, 64) for k in (3, 55, 64, 65, 300)]
    [64, 64, 64, 128, 512]
    """
    size = int(minimum)
    while size < n:
        size *= 2
    return size


def _padded(spec: ModelSpec, pad: bool | int) -> bool:
    """Whether the model of *spec* is padded (asked for)."""
    return bool(pad)


def padded_sizes(spec: ModelSpec, pad: bool | int = False) -> tuple[int, int]:
    """Length of the study and cluster dimensions of the model of *spec*.

    Without padding ``(k, number of clusters)``; with ``pad=True`` their buckets
    (:data:`STUDY_BUCKET`, :data:`CLUSTER_BUCKET`). An integer *pad* n pads the
    study dimension to the bucket of ``max(k, n)``: meta-analyses of different k
    padded with the largest k share one bucket (:func:`bayesma.fit_many`).
    """
    n_clusters = len(spec.cluster_names) if spec.cluster_index is not None else 0
    if not _padded(spec, pad):
        return spec.k, n_clusters
    least = 0 if isinstance(pad, bool) else int(pad)
    return (padded_size(max(spec.k, least), STUDY_BUCKET),
            padded_size(n_clusters, CLUSTER_BUCKET) if n_clusters else 0)


def structure_key(spec: ModelSpec, parameterization: str = "auto", pad: bool | int = False) -> tuple:
    """What decides the compiled model: kind, likelihood, shapes, prior families, parameterization.

    Two specs with the same key differ only in data values and hyperparameter
    values, so they share one compiled model. With ``pad=True`` the number of
    studies (and of clusters) enters only through its bucket
    (:func:`padded_sizes`): meta-analyses of 3 and of 55 studies share a key.

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03], priors={"tau": "halfnormal(0.5)"})
    >>> structure_key(ma.spec)[:5]
    ('random', 'normal', 'marginal', 3, 1)
    """
    if getattr(spec, "dependence", None) is not None:  # CHE / multivariate (dependent_pymc.py)
        return dependent_pymc.structure_key(spec)
    if getattr(spec, "counts", None) is not None:  # binomial / Poisson likelihoods (counts_pymc.py)
        key = counts_pymc.structure_key(spec, padded_sizes(spec, pad)[0])
        return key + ("padded",) if _padded(spec, pad) else key
    priors = tuple(
        (key, spec.priors[key].family, tuple(spec.priors[key].params))
        for key in ("tau", "tau_within", "nu")
        if key in spec.priors
    )
    loc = random_effects.location_key(spec)
    n_study, n_cluster = padded_sizes(spec, pad)
    key = (
        spec.model,
        spec.likelihood,
        resolve_parameterization(spec, parameterization),
        n_study,
        spec.p,
        spec.is_regression,
        len(spec.group_names) if spec.tau_by is not None else 0,
        n_cluster,
        loc,
        priors,
    ) + bias_family.structure_key(spec) + location_scale.structure_key(spec)
    return key + ("padded",) if _padded(spec, pad) else key


def data_values(spec: ModelSpec, pad: bool | int = False) -> dict[str, np.ndarray]:
    """Values of every ``pm.Data`` of the model of *spec* (data and hyperparameters).

    With ``pad=True`` the study arrays are padded to the bucket of :func:`padded_sizes`
    (``yi_data`` 0, ``vi`` 1, rows of ``X`` 0, indices 0) and ``mask`` is 1 for the
    real studies and 0 for the padding, which the model multiplies into the mean and
    SD of every study so that a padded study's likelihood is a constant.

    Examples
    --------
    >>> import bayesma as bm
    >>> ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2], vi=[0.01, 0.02, 0.03],
    ...                      priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> sorted(data_values(ma.spec))
    ['hyper_mu_mu', 'hyper_mu_sigma', 'hyper_tau_sigma', 'vi', 'yi_data']
    """
    if getattr(spec, "counts", None) is not None:  # binomial / Poisson likelihoods (counts_pymc.py)
        return counts_pymc.data_values(spec, padded_sizes(spec, pad)[0] if _padded(spec, pad) else None)
    dep = getattr(spec, "dependence", None)  # CHE / multivariate (dependent_pymc.py)
    if dep is not None and dep.multivariate:
        return dependent_pymc.data_values(spec)
    out: dict[str, np.ndarray] = {
        "yi_data": np.asarray(spec.yi, dtype=float),
        "vi": np.asarray(spec.vi, dtype=float),
    }
    if dep is not None:  # the CHE model reads the rotated effects (not yi, vi)
        del out["yi_data"], out["vi"]
    if spec.is_regression:
        out["X"] = np.asarray(spec.X, dtype=float)
        out["x_new"] = np.asarray(spec.x_new if spec.tau_by is None else spec.x_new_groups, dtype=float)
    out.update(random_effects.location_values(spec))
    if spec.tau_by is not None:
        out["group_idx"] = np.asarray(spec.group_index, dtype="int64")
    if spec.cluster_index is not None and dep is None:
        out["cluster_idx"] = np.asarray(spec.cluster_index, dtype="int64")
    if dep is not None:
        out.update(dependent_pymc.data_values(spec))
    out.update(random_effects.prior_values(spec, ("tau", "tau_within", "nu")))
    out.update(bias_family.data_values(spec))
    out.update(location_scale.data_values(spec))
    if _padded(spec, pad):
        n_study, _ = padded_sizes(spec, pad)
        extra = n_study - spec.k
        fill = {"yi_data": 0.0, "vi": 1.0, "X": 0.0, "Z": 0.0, "group_idx": 0, "cluster_idx": 0, "bias_lower": 0.0}
        for name, value in fill.items():
            if name in out:
                arr = out[name]
                widths = [(0, extra)] + [(0, 0)] * (arr.ndim - 1)
                out[name] = np.pad(arr, widths, constant_values=value)
        out["mask"] = np.r_[np.ones(spec.k), np.zeros(extra)]
        n_cluster = len(spec.cluster_names) if spec.cluster_index is not None else 0
        if n_cluster:
            size = padded_sizes(spec, pad)[1]
            out["cluster_mask"] = np.r_[np.ones(n_cluster), np.zeros(size - n_cluster)]
    return out


def padded_coords(spec: ModelSpec, pad: bool | int = False) -> dict[str, list[str]]:
    """``spec.coords()`` with the study and cluster dimensions padded to their buckets."""
    coords = spec.coords()
    n_study, n_cluster = padded_sizes(spec, pad)
    if n_study > spec.k:
        coords["study"] = list(coords["study"]) + [f"__pad{i}" for i in range(n_study - spec.k)]
    if n_cluster and n_cluster > len(coords["cluster"]):
        coords["cluster"] = list(coords["cluster"]) + [f"__pad{i}" for i in range(n_cluster - len(coords["cluster"]))]
    return coords


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


class _Builder:
    """What the family modules need while a model is being built: the spec, the
    ``pm.Data`` factory, heterogeneity priors and the auxiliary noise variables."""

    def __init__(self, spec: ModelSpec, handles: ModelHandles, vals: dict[str, np.ndarray]) -> None:
        self.spec = spec
        self.handles = handles
        self.vals = vals
        self.nu = None  # degrees of freedom of Student-t random effects (student_t.py)
        self.yi = None
        self.vi = None
        self.mask = None  # 1 for real studies, 0 for padding (pad=True)
        self.cluster_mask = None  # the same for the clusters of a three-level model

    def data(self, name: str, dims=None):
        import pymc as pm

        self.handles.data[name] = pm.Data(name, self.vals[name], dims=dims)
        return self.handles.data[name]

    def hyper(self, key: str, prior) -> dict[str, Any]:
        """``pm.Data`` of every hyperparameter of *prior*, registered under prior key *key*."""
        hp = {param: self.data(_hyper_name(key, param)) for param in prior.params}
        self.handles.hyper[key] = {param: _hyper_name(key, param) for param in prior.params}
        return hp

    def hetero(self, key: str, **kwargs):
        """The model parameter of ``spec.priors[key]`` (tau, tau_within, nu)."""
        prior = self.spec.priors[key]
        hp = self.hyper(key, prior)
        self.handles.params.append(key)
        return prior.pymc(key, params=hp, **kwargs)

    def noise(self, name: str, **kwargs):
        """A standard auxiliary variable: normal, or Student-t with ``nu`` (student_t.py)."""
        import pymc as pm

        self.handles.auxiliary.append(name)
        if self.nu is not None:
            mask = {"study": self.mask, "cluster": self.cluster_mask}.get(kwargs.get("dims"))
            return student_t.noise(name, self.nu, mask=mask, **kwargs)
        return pm.Normal(name, 0.0, 1.0, **kwargs)


def build_model(
    spec: ModelSpec, parameterization: str = "auto", pad: bool | int = False
) -> tuple[pm.Model, ModelHandles]:
    """Build the PyMC model of *spec*.

    Parameters
    ----------
    spec : ModelSpec
    parameterization : {"auto", "marginal", "noncentered", "centered"}
        How the study effects enter (see :func:`resolve_parameterization`).
    pad : bool or int
        Pad the study (and cluster) dimension to its bucket (:func:`padded_sizes`;
        an integer n: the bucket of ``max(k, n)``) with a ``mask``: one compiled
        model then serves every k of the bucket.
        The padded studies' likelihood is a constant and their auxiliary variables
        are independent of the rest, so the posterior of the real parameters is
        unchanged (the draws for a given seed are not: the sampler moves in more
        dimensions).

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

    parameterization = resolve_parameterization(spec, parameterization)
    handles = ModelHandles(key=structure_key(spec, parameterization, pad), parameterization=parameterization)
    b = _Builder(spec, handles, data_values(spec, pad))
    with pm.Model(coords=padded_coords(spec, pad)) as model:
        if "yi_data" in b.vals:
            b.yi = b.data("yi_data", dims="study")
            b.vi = b.data("vi", dims="study")
        if "mask" in b.vals:
            b.mask = b.data("mask", dims="study")
        if "cluster_mask" in b.vals:
            b.cluster_mask = b.data("cluster_mask", dims="cluster")
        if getattr(spec, "dependence", None) is not None:  # CHE / multivariate (dependent_pymc.py)
            dependent_pymc.build(b)
            return model, handles
        if getattr(spec, "counts", None) is not None:  # binomial / Poisson likelihoods (counts_pymc.py)
            counts_pymc.build(b)
            return model, handles
        loc, loc_new = random_effects.location(b)
        if getattr(spec, "bias", None) is not None:  # selection models, PET, PEESE (models/bias.py)
            bias_family.build(b, loc, loc_new)
            return model, handles
        if spec.model == "common":
            random_effects.common_effect(b, loc, loc_new)
            return model, handles
        if spec.likelihood == "student_t":
            b.nu = student_t.degrees_of_freedom(b)
        # theta_i = m_i + s_i * z_i: m_i the mean of study i's true effect given the
        # upper levels, s_i the SD of its last level (tau, tau[g_i] or tau_within).
        if getattr(spec, "Z", None) is not None:  # location-scale: log tau_i = z_i' alpha
            m, s = location_scale.effects(b, loc, loc_new)
        elif spec.tau_by is not None:
            m, s = subgroup.effects(b, loc, loc_new)
        elif spec.cluster_index is not None:
            m, s = three_level.effects(b, loc, loc_new)
        else:
            m, s = random_effects.effects(b, loc, loc_new)
        random_effects.study_effects(b, m, s, parameterization)
    return model, handles
