"""ModelSpec: everything a Bayesian engine needs to know about one model, in numpy.

Both engines read the same specification: the PyMC builder
(:mod:`bayesma.models.build`) and the exact quadrature engine
(:mod:`bayesma.exact`). It holds the validated data, the design matrix, the
grouping structure and the priors; it imports neither PyMC nor ArviZ.

Parameter names (the variables of the posterior):

``mu``            the pooled effect (intercept-only models)
``beta``          coefficients, dim ``coef`` (meta-regression; replaces ``mu``)
``tau``           between-study SD; dim ``subgroup`` when ``tau_by`` is given;
                  between-cluster SD in three-level models
``tau_within``    within-cluster SD (three-level models)
``nu``            degrees of freedom of the Student-t random effects
``alpha``         scale coefficients of a location-scale model (``scale=``), dim
                  ``scale_coef``: ``log tau_i = z_i' alpha``; ``tau`` then has dim ``study``
``theta``         true effect of each study, dim ``study``
``theta_new``     effect of a new study (at the mean moderator values); with
                  ``tau_by``: dim ``subgroup``, a new study of each subgroup (at
                  that subgroup's mean moderator values, ``x_new_groups``)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma import measures
from bayesma import priors as pr
from bayesma.data import MetaData
from bayesma.design import design_matrix, required_columns
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.priors.reference import check_built_for

MODELS = ("random", "common")
LIKELIHOODS = ("normal", "student_t")
PRIOR_KEYS = ("mu", "beta", "tau", "tau_within", "nu", "alpha", "alpha_slopes")
#: the targets (bayesma.priors) a prior for each key may have
PRIOR_TARGETS = {"mu": "location", "beta": "location", "tau": ("tau", "tau2"),
                 "tau_within": ("tau", "tau2"), "nu": "nu", "alpha": "location", "alpha_slopes": "location"}


@dataclass
class ModelSpec:
    """A validated Bayesian meta-analysis model (no PyMC inside)."""

    meta: MetaData
    X: np.ndarray
    coef_names: list[str]
    model: str = "random"
    likelihood: str = "normal"
    priors: dict[str, Any] = field(default_factory=dict)
    mods: Any = None
    tau_by: str | None = None
    group_index: np.ndarray | None = None  # subgroup code of each study (tau_by)
    group_names: list[str] = field(default_factory=list)
    cluster_index: np.ndarray | None = None  # cluster code of each effect
    cluster_names: list[str] = field(default_factory=list)
    measure: str | None = None
    scale: Any = None  # scale formula of a location-scale model (log tau_i = z_i' alpha)
    Z: np.ndarray | None = None  # its design (k x q)
    scale_names: list[str] = field(default_factory=list)

    # ---- shape facts --------------------------------------------------------
    @property
    def k(self) -> int:
        return self.meta.k

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def labels(self) -> list[str]:
        return self.meta.labels

    @property
    def yi(self) -> np.ndarray:
        return self.meta.yi

    @property
    def vi(self) -> np.ndarray:
        return self.meta.vi

    @property
    def is_regression(self) -> bool:
        """True when there are coefficients besides a single intercept (posterior has ``beta``)."""
        return self.mods is not None

    @property
    def location_name(self) -> str:
        return "beta" if self.is_regression else "mu"

    @property
    def x_new(self) -> np.ndarray:
        """Moderator row at which ``theta_new`` is predicted: the column means of X."""
        return self.X.mean(axis=0)

    @property
    def x_new_groups(self) -> np.ndarray | None:
        """With ``tau_by``: one prediction row per subgroup (G x p), the column means of X
        within the subgroup, so ``theta_new[g]`` is a new study *of subgroup g*."""
        if self.group_index is None:
            return None
        return np.vstack([self.X[self.group_index == g].mean(axis=0) for g in range(len(self.group_names))])

    def coords(self) -> dict[str, list[str]]:
        coords = {"study": list(self.labels)}
        if self.is_regression:
            coords["coef"] = list(self.coef_names)
        if self.tau_by is not None:
            coords["subgroup"] = list(self.group_names)
        if self.cluster_index is not None:
            coords["cluster"] = list(self.cluster_names)
        if self.Z is not None:
            coords["scale_coef"] = list(self.scale_names)
        return coords

    def location_prior(self, j: int):
        """Prior of coefficient *j* (the intercept uses priors['mu'], slopes priors['beta'])."""
        if j == 0 and self.coef_names[0] == "intrcpt":
            return self.priors["mu"]
        return self.priors.get("beta", self.priors["mu"])

    def describe(self) -> str:
        kind = "common-effect" if self.model == "common" else "random-effects"
        parts = [f"{kind} model, k = {self.k}"]
        if self.is_regression:
            parts.append(f"coefficients {self.coef_names}")
        if self.tau_by:
            parts.append(f"tau by {self.tau_by!r} ({', '.join(self.group_names)})")
        if self.cluster_index is not None:
            parts.append(f"three levels: {len(self.cluster_names)} clusters")
        if self.likelihood == "student_t":
            parts.append("Student-t random effects")
        if self.Z is not None:
            parts.append(f"location-scale: log tau by {self.scale_names}")
        return "; ".join(parts)

    def subset(self, mask: np.ndarray, *, rebuild_priors: bool = True) -> ModelSpec:
        """The same model on the studies where *mask* holds (leave-one-out, cumulative refits).

        Every per-study array goes with its studies (data, designs, subgroup and cluster codes, and
        what a subclass keeps: a dependent model's V blocks, a count model's counts); clusters left
        without an effect are dropped. ``rebuild_priors`` rebuilds a prior built from the studies
        (Jeffreys) for the subset, as fitting the subset alone would; ``False`` keeps the model's
        prior (exact leave-one-out, whose ``log p(y) - log p(y_-i)`` needs one prior).

        Raises
        ------
        bayesma.errors.InputError
            A subgroup of ``tau_by=`` or an outcome is left without studies, or a design loses rank.
        """
        from dataclasses import replace

        from bayesma.priors.reference import rebuilt_for

        mask = np.asarray(mask, dtype=bool)
        gi = None if self.group_index is None else self.group_index[mask]
        if gi is not None and len(np.unique(gi)) < len(self.group_names):
            raise InputError("a subgroup of tau_by= has no studies left in this subset")
        meta = self.meta.subset(mask)
        extra: dict[str, Any] = {}
        ci, kept = None, None
        if self.cluster_index is not None:  # whole clusters leave: their levels go with them
            kept = np.unique(self.cluster_index[mask])
            extra["cluster_names"] = [self.cluster_names[j] for j in kept]
            ci = np.searchsorted(kept, self.cluster_index[mask])
        extra.update(self._subset_parts(mask, kept))
        X, Z = self.X[mask], None if self.Z is None else self.Z[mask]
        for name, design in (("design", X), ("scale design", Z)):
            if design is not None and design.shape[0] and np.linalg.matrix_rank(design) < design.shape[1]:
                raise InputError(f"the {name} has {design.shape[1]} coefficients but rank "
                                 f"{np.linalg.matrix_rank(design)} on these studies: a coefficient cannot be "
                                 "estimated without the omitted ones")
        priors = rebuilt_for(self.priors, meta.vi) if rebuild_priors else self.priors
        return replace(self, meta=meta, X=X, Z=Z, group_index=gi, cluster_index=ci, priors=priors, **extra)

    def _subset_parts(self, mask: np.ndarray, kept_clusters: np.ndarray | None) -> dict[str, Any]:
        """Fields of a subclass that :meth:`subset` must cut too (none here)."""
        return {}


def _warn_repeated_studies(data: Any) -> None:
    """A ``study`` column that repeats, with neither labels= nor cluster=: the rows are numbered instead and
    every row is pooled as an independent study (a study with several outcomes counted several times).
    Say so, as ``bayesma fit`` does for a file, rather than pool silently."""
    if not isinstance(data, pd.DataFrame) or "study" not in data.columns or data["study"].is_unique:
        return
    import sys
    import warnings
    from pathlib import Path

    from bayesma.errors import DataWarning

    values = data["study"].astype(str).to_numpy()
    first = values[data["study"].astype(str).duplicated(keep=False).to_numpy()][0]
    rows = np.flatnonzero(values == first)[:2] + 1
    pkg, level, frame = str(Path(__file__).resolve().parent), 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(pkg):  # the user's line
        frame, level = frame.f_back, level + 1
    warnings.warn(f"column 'study' repeats {first!r} (rows {rows[0]} and {rows[1]}), so it does not label the "
                  f"studies and all {len(data)} rows are pooled as independent studies; for several effects of one "
                  "study give cluster='study' (with outcome= for several outcomes), or fit one outcome at a time",
                  DataWarning, stacklevel=level)


def build_spec(
    data: pd.DataFrame | MetaData | None = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    sei: Any = None,
    labels: Any = None,
    mods: Any = None,
    tau_by: str | None = None,
    cluster: Any = None,
    likelihood: str = "normal",
    model: str = "random",
    priors: Mapping[str, Any] | None = None,
    measure: str | None = None,
    missing: str = "raise",
    scale: Any = None,
    redundant: str = "drop",
) -> ModelSpec:
    """Validate the arguments of :class:`bayesma.MetaAnalysis` into a :class:`ModelSpec` (*redundant*:
    :func:`bayesma.design.design_matrix`'s rule for a column that is a combination of others)."""
    if model not in MODELS:
        raise InputError(f"model must be one of {MODELS}, got {model!r}")
    measure = measures.lookup(measure)  # the registry's name: "smd" -> "SMD", as escalc and robma read it
    if likelihood not in LIKELIHOODS:
        raise InputError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if isinstance(data, MetaData):
        md = data
    else:
        if vi is None and sei is None:
            if isinstance(data, pd.DataFrame) and "vi" in data.columns:
                vi = "vi"
            elif isinstance(data, pd.DataFrame) and "sei" in data.columns:
                sei = "sei"
        md = MetaData.create(yi, vi, sei=sei, data=data, labels=labels, cluster=cluster,
                             missing=missing, require=required_columns(mods, data, tau_by, *_scale_columns(scale)))
        if labels is None and cluster is None:
            _warn_repeated_studies(data)
    X, names = design_matrix(mods, md.data, md.k, md.labels, redundant=redundant)

    group_index, group_names = None, []
    if tau_by is not None:
        if model == "common":
            raise InputError("tau_by= needs a random-effects model (model='random')")
        if not isinstance(tau_by, str):
            raise ArgumentTypeError(f"tau_by= takes the name of a column of data (the subgroup of each study), "
                                    f"got {type(tau_by).__name__}; add the subgroups to data as a column")
        if tau_by not in md.data.columns:
            raise InputError(f"column {tau_by!r} (for tau_by=) is not in the data; columns are {list(md.data.columns)}")
        codes, uniques = pd.factorize(md.data[tau_by], sort=True)
        group_index, group_names = codes.astype(int), [str(u) for u in uniques]
        if len(group_names) < 2:
            raise InputError(f"column {tau_by!r} has a single level; tau_by= needs at least two subgroups")

    cluster_index, cluster_names = None, []
    if md.cluster is not None:
        if model == "common":
            raise InputError("cluster= needs a random-effects model (model='random')")
        codes, uniques = pd.factorize(pd.Series(md.cluster), sort=False)
        cluster_index, cluster_names = codes.astype(int), [str(u) for u in uniques]
        if tau_by is not None:
            raise InputError("tau_by= and cluster= cannot be combined (yet)")

    Z, scale_names = _scale_design(scale, md, model=model, tau_by=tau_by, cluster=cluster_index, likelihood=likelihood)
    full_priors = resolve_priors(priors, measure=measure, meta=md, model=model,
                                 three_level=cluster_index is not None, likelihood=likelihood,
                                 slopes=has_slopes(mods, names), scale_q=0 if Z is None else Z.shape[1])
    spec = ModelSpec(meta=md, X=X, coef_names=names, model=model, likelihood=likelihood,
                     priors=full_priors, mods=mods, tau_by=tau_by, group_index=group_index,
                     group_names=group_names, cluster_index=cluster_index, cluster_names=cluster_names,
                     measure=measure, scale=scale, Z=Z, scale_names=scale_names)
    check_priors(spec)
    return spec


def check_priors(spec: ModelSpec) -> None:
    """The checks every model's priors pass before a fit: a proper posterior for these studies
    (:func:`bayesma.priors.check_propriety`) and no prior built from other studies' data
    (:func:`bayesma.priors.reference.check_built_for`); an :class:`InputError` otherwise."""
    pr.check_propriety(spec.priors, k=spec.k, p=len(spec.coef_names), model=spec.model,
                       n_clusters=None if spec.cluster_index is None else len(spec.cluster_names))
    check_built_for(spec.priors, spec.vi)


def _scale_columns(scale: Any) -> list[str]:
    from bayesma.design import formula_variables

    return formula_variables(scale) if isinstance(scale, str) else []


def _scale_design(scale: Any, md: MetaData, *, model: str, tau_by: Any, cluster: Any,
                  likelihood: str) -> tuple[np.ndarray | None, list[str]]:
    """The scale design Z of a location-scale model (``scale=``; a formula gets an intercept)."""
    if scale is None:
        return None, []
    for bad, what in ((model != "random", f"model={model!r}"), (tau_by is not None, "tau_by="),
                      (cluster is not None, "cluster="), (likelihood != "normal", f"likelihood={likelihood!r}")):
        if bad:
            raise InputError(f"scale= (a location-scale model) cannot be combined with {what}: it models each "
                             "study's tau with normal random effects")
    Z, names = design_matrix(scale, md.data, md.k, md.labels, intercept=False)
    return Z, names


def has_slopes(mods: Any, coef_names: list[str]) -> bool:
    """True when a meta-regression has coefficients besides the intercept (they take priors['beta'])."""
    if mods is None:
        return False
    return any(j > 0 or name != "intrcpt" for j, name in enumerate(coef_names))


def resolve_priors(
    priors: Mapping[str, Any] | None,
    *,
    measure: str | None,
    meta: MetaData,
    model: str = "random",
    three_level: bool = False,
    likelihood: str = "normal",
    slopes: bool = False,
    scale_q: int = 0,
) -> dict[str, Any]:
    """User priors completed with the documented defaults of :mod:`bayesma.priors`.

    Raises
    ------
    ValueError
        For an unknown key, or a prior for a parameter the model does not have
        (``tau`` / ``tau_within`` / ``nu`` in a common-effect model, ``tau_within``
        without ``cluster=``, ``nu`` without ``likelihood="student_t"``, ``beta``
        without moderator slopes): a prior that would be ignored is an error.
    TypeError
        For a value that is neither a prior nor a prior spec string.
    """
    if priors is not None and not isinstance(priors, Mapping):
        raise ArgumentTypeError(f"priors must be a dict such as {{'mu': 'normal(0, 1)', 'tau': 'halfnormal(0.5)'}}, "
                                f"got {type(priors).__name__}")
    given = dict(priors or {})
    unknown = set(given) - set(PRIOR_KEYS)
    if unknown:
        raise InputError(f"unknown prior keys {sorted(unknown)}; use {PRIOR_KEYS}")
    unused = {
        "tau": "a common-effect model (model='common') has no heterogeneity tau" if model != "random" else None,
        "tau_within": ("tau_within is the within-cluster SD of a three-level model: give cluster= "
                       "(this model has no clusters)") if model != "random" or not three_level else None,
        "nu": ("nu is the degrees of freedom of Student-t random effects: use likelihood='student_t' "
               "(this model has normal random effects)") if model != "random" or likelihood != "student_t"
              else None,
        "beta": ("beta is the prior of the moderator slopes: this model has no moderators (give mods=, "
                 "or use priors['mu'] for the pooled effect)") if not slopes else None,
        "alpha": "alpha is the prior of the scale intercept of a location-scale model: give scale=" if not scale_q
                 else None,
        "alpha_slopes": ("alpha_slopes is the prior of the scale slopes of a location-scale model: give scale= "
                         "with moderators") if scale_q < 2 else None,
    }
    if scale_q and "tau" in given:
        raise InputError("priors['tau'] was given but a location-scale model (scale=) has no single tau: "
                         "log tau_i = z_i' alpha takes priors['alpha'] (intercept) and priors['alpha_slopes']")
    for key in given:
        if unused.get(key):
            raise InputError(f"priors[{key!r}] was given but the model does not use it: {unused[key]}")
    given = {key: pr.as_prior(value, PRIOR_TARGETS[key], name=key) for key, value in given.items()}
    defaults = pr.default_priors(measure, yi=meta.yi, vi=meta.vi)
    out: dict[str, Any] = {"mu": given.get("mu", defaults["mu"])}
    if "beta" in given:
        out["beta"] = given["beta"]
    if scale_q:  # location-scale: log tau_i = z_i' alpha
        tau_median = float(defaults["tau"].ppf_tau(0.5))
        out["alpha"] = given.get("alpha", pr.Normal(float(np.log(tau_median)), 1.0))
        if scale_q > 1:
            out["alpha_slopes"] = given.get("alpha_slopes", pr.Normal(0.0, 1.0))
        return out
    if model == "random":
        out["tau"] = given.get("tau", defaults["tau"])
        if three_level:
            out["tau_within"] = given.get("tau_within", out["tau"])
        if likelihood == "student_t":
            out["nu"] = given.get("nu", pr.Gamma(alpha=2.0, beta=0.1))
    return out
