"""Dependent effect sizes in the Bayesian models: the known sampling covariance ``V`` and outcomes.

:class:`bayesma.MetaAnalysis` builds a :class:`DependentSpec` (a :class:`ModelSpec` with a
:class:`Dependence`) when it is given ``V=``, ``rho=`` or ``outcome=``:

- **CHE** (``cluster=`` with ``V=`` or ``rho=``): the correlated-and-hierarchical-effects
  model, ``y_j ~ N(X_j beta, V_j + tau_within^2 I + tau^2 1 1')`` for the effects of cluster j
  (Pustejovsky & Tipton 2022). ``V`` is given, or built as metafor's
  ``vcalc(vi, cluster, obs = row, rho = rho)``: a constant correlation ``rho`` between the
  sampling errors of two effects of one cluster. Without ``V`` and ``rho`` it is the
  three-level model (independent sampling errors).
- **Multivariate across outcomes** (``outcome=``, ``struct=``): one mean per outcome and, in
  study j, true effects ``theta_j ~ N(mu, T)`` over the outcomes with ``T`` compound symmetric
  (``"CS"``: one tau, one rho), heteroscedastic CS (``"HCS"``: a tau per outcome, one rho) or
  unstructured (``"UN"``: a tau per outcome, an LKJ prior on the correlation matrix) — metafor's
  ``rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study, struct = ...)``. With
  ``mods=`` the formula is the whole fixed part, as metafor's ``mods = ~ outcome - 1 + x``: the
  mean of study j's effect on outcome o is ``x_jo' beta`` (coefficients ``beta[<R name>]``), the
  user writing the outcome term (``"~ 0 + outcome + x"``, ``"~ 0 + outcome + outcome:x"``); a
  formula without it is allowed, but the design must have full column rank (an error names the
  redundant columns, none is dropped).

This module validates the input into numpy (no PyMC); the builders are
:mod:`bayesma.models.che_pymc`, the exact engines :mod:`bayesma.exact.che` and
:mod:`bayesma.exact.multivariate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import ArgumentTypeError, InputError
from bayesma.models.mv_priors import default_rho_prior, resolve_mv_priors, rho_range
from bayesma.spec import ModelSpec, build_spec

__all__ = ["STRUCTS", "Dependence", "DependentSpec", "build_dependent_spec", "constant_rho_blocks",
           "default_rho_prior", "rho_range"]

STRUCTS = ("CS", "HCS", "UN")
MV_PRIOR_KEYS = ("mu", "tau", "rho")


@dataclass(frozen=True)
class Dependence:  # numpydoc ignore=PR01
    """How the effects of one cluster depend on each other.

    Attributes
    ----------
    blocks : tuple of numpy.ndarray
        The sampling covariance of each cluster's effects (cluster order of
        ``spec.cluster_names``; rows in the data's order).
    rho : float or None
        The sampling correlation ``V`` was built with (``rho=``), else None.
    source : str
        ``"V"`` (given), ``"rho"`` (built from vi and rho) or ``"vi"`` (independent errors).
    outcome_index : numpy.ndarray or None
        Outcome code of each effect (multivariate models).
    outcome_names : tuple of str
        The outcomes, sorted (as metafor's factor levels).
    struct : str or None
        ``"CS"``, ``"HCS"`` or ``"UN"`` (multivariate models).
    """

    blocks: tuple
    rho: float | None = None
    source: str = "V"
    outcome_index: np.ndarray | None = None
    outcome_names: tuple = ()
    struct: str | None = None

    @property
    def multivariate(self) -> bool:
        return self.struct is not None

    @property
    def model_name(self) -> str:
        """``"CHE"``, ``"three-level"`` or ``"multivariate (CS)"``..."""
        if self.multivariate:
            return f"multivariate ({self.struct})"
        return "three-level" if self.source == "vi" else "CHE"

    @property
    def sampling_words(self) -> str:
        """The sampling errors' correlation as a printout names it, never as a bare ``rho`` (in a multivariate
        model ``rho`` is the posterior correlation of the true effects): ``"sampling correlation within
        studies fixed at 0.5"``."""
        if self.rho is not None:
            return f"sampling correlation within studies fixed at {self.rho:g}"
        return "independent sampling errors" if self.source == "vi" else "sampling covariances V given"

    @property
    def rho_legend(self) -> str | None:
        """The header line of a multivariate model's printouts that tells the two correlations apart (None for
        CHE and three-level models, whose only rho is the sampling correlation)."""
        if not self.multivariate:
            return None
        return f"rho: correlation of the true effects between outcomes (posterior); {self.sampling_words}"

    def dense(self, cluster_index: np.ndarray) -> np.ndarray:
        """The k x k sampling covariance (for tests and small data)."""
        k = cluster_index.size
        out = np.zeros((k, k))
        for j, blk in enumerate(self.blocks):
            rows = np.flatnonzero(cluster_index == j)
            out[np.ix_(rows, rows)] = blk
        return out


@dataclass
class DependentSpec(ModelSpec):
    """A :class:`ModelSpec` whose effects are dependent (CHE or multivariate across outcomes)."""

    dependence: Any = None

    @property
    def is_regression(self) -> bool:  # without mods= the multivariate model's means are mu[<outcome>]
        return self.mods is not None

    @property
    def outcome_names(self) -> list[str]:
        return list(self.dependence.outcome_names)

    def coords(self) -> dict[str, list[str]]:
        coords = super().coords()
        if self.dependence.multivariate:
            coords["outcome"] = self.outcome_names
            if self.dependence.struct == "UN":
                coords["pair"] = [f"{a},{b}" for a, b in outcome_pairs(self.outcome_names)]
        return coords

    def _subset_parts(self, mask: np.ndarray, kept_clusters: np.ndarray | None) -> dict[str, Any]:
        """The V blocks of the clusters kept, the outcome codes of the effects kept; every outcome must keep
        an effect (two under UN), else the subset is not the same model."""
        dep = self.dependence
        if dep.outcome_index is not None:
            counts = np.bincount(dep.outcome_index[mask], minlength=len(dep.outcome_names))
            need = 2 if dep.struct == "UN" else 1
            for name, n in zip(dep.outcome_names, counts, strict=True):
                if n < need:
                    raise InputError(f"outcome {name!r} has {n} effect(s) in this subset; the {dep.model_name} model "
                                     f"needs {need} (its mean{' and tau' if need == 2 else ''} would rest on the "
                                     "prior alone)")
        kept = [] if kept_clusters is None else list(kept_clusters)
        return {"dependence": dataclasses.replace(
            dep, blocks=tuple(dep.blocks[j] for j in kept),
            outcome_index=None if dep.outcome_index is None else dep.outcome_index[mask])}

    def location_prior(self, j: int):
        if self.dependence.multivariate and not self.is_regression:
            return self.priors[f"mu[{self.coef_names[j]}]"]
        return super().location_prior(j)

    def describe(self) -> str:
        dep = self.dependence
        n = len(self.cluster_names)
        if dep.multivariate:
            text = (f"multivariate random-effects model ({dep.struct}) across {len(dep.outcome_names)} outcomes "
                    f"({', '.join(dep.outcome_names)}), k = {self.k} effects in {n} studies")
            text += f"; coefficients {self.coef_names}" if self.is_regression else ""
            return f"{text}\n{dep.rho_legend}"
        what = {"rho": f"V from vi with sampling correlation rho = {dep.rho:g}", "V": "V given",
                "vi": "independent sampling errors"}[dep.source]
        parts = [f"{dep.model_name} model, k = {self.k} effects in {n} clusters ({what})"]
        if self.is_regression:
            parts.append(f"coefficients {self.coef_names}")
        return "; ".join(parts)


def outcome_pairs(names: list[str]) -> list[tuple[str, str]]:
    """The pairs (a, b), a before b, of the correlation matrix's lower triangle (row-major)."""
    return [(names[i], names[j]) for j in range(len(names)) for i in range(j)]


def constant_rho_blocks(vi: np.ndarray, cluster_index: np.ndarray, rho: float) -> tuple[np.ndarray, ...]:
    """metafor's ``vcalc(vi, cluster, obs = row, rho = rho)`` as blocks: V_il = rho sqrt(v_i v_l), i != l."""
    out = []
    for j in range(int(cluster_index.max()) + 1):
        s = np.sqrt(vi[cluster_index == j])
        blk = rho * np.outer(s, s)
        np.fill_diagonal(blk, s * s)
        out.append(blk)
    return tuple(out)


def _check_rho(rho: Any) -> float:
    if isinstance(rho, (bool, np.bool_)) or not isinstance(rho, (int, float, np.number)):
        raise ArgumentTypeError(f"rho= is the correlation of the sampling errors of two effects of one cluster, a number "
                        f"in (-1, 1); got {rho!r} (for a sweep over several values use bayesma.rho_sensitivity)")
    rho = float(rho)
    if not -1.0 < rho < 1.0:
        raise InputError(f"rho= must be in (-1, 1) (the correlation of the sampling errors within a cluster); "
                         f"got {rho:g}", column="rho")
    return rho


def _at(md: Any, i: int) -> dict[str, Any]:
    """The InputError attributes of an error about row *i* (0-based) of V."""
    return {"study": str(md.labels[i]), "row": i + 1, "column": "V"}


def _check_rho_fits(rho: float, md: Any, ci: np.ndarray) -> None:
    """A constant correlation rho among the n effects of a cluster is a valid V only for rho >= -1/(n - 1)."""
    sizes = np.bincount(ci)
    j = int(np.argmax(sizes))
    n = int(sizes[j])
    if n > 1 and rho < -1.0 / (n - 1) - 1e-12:
        i = int(np.flatnonzero(ci == j)[0])
        raise InputError(f"rho = {rho:g} cannot be the sampling correlation of every pair of the {n} effects of cluster "
                         f"{str(md.cluster[i])!r} ({_study(md, i)}): V would not be positive semi-definite; a constant "
                         f"correlation among {n} effects must be >= -1/({n} - 1) = {-1.0 / (n - 1):.3g}",
                         study=str(md.labels[i]), row=i + 1, column="rho")


def _study(md: Any, i: int) -> str:
    return f"study {md.labels[i]!r} (row {i + 1})"


def blocks_from_V(V: Any, md: Any, cluster_index: np.ndarray) -> tuple[np.ndarray, ...]:
    """The per-cluster blocks of *V* (dense, scipy sparse, an object with ``toarray()``, or a list of
    blocks in cluster order); an error when V couples effects of two clusters."""
    from scipy import sparse

    k = md.k
    J = int(cluster_index.max()) + 1
    if isinstance(V, (list, tuple)) and V and all(np.ndim(b) == 2 for b in V):
        if len(V) != J:
            raise InputError(f"V= was given as {len(V)} blocks but the data have {J} clusters; give one block "
                             "per cluster (in the order the clusters first appear) or the k x k matrix")
        blocks = tuple(np.asarray(b, dtype=float) for b in V)
        for j, b in enumerate(blocks):
            n = int((cluster_index == j).sum())
            if b.shape != (n, n):
                raise InputError(f"block {j + 1} of V= has shape {b.shape} but its cluster has {n} effects", column="V")
    else:
        if hasattr(V, "toarray") and not sparse.issparse(V):
            V = V.toarray()
        if sparse.issparse(V):
            coo = sparse.coo_matrix(V)
            r, c, x = coo.row, coo.col, coo.data
            shape = coo.shape
        else:
            arr = np.asarray(V, dtype=float)
            if arr.ndim == 1:
                return tuple(np.diag(arr[cluster_index == j]) for j in range(J))
            if arr.ndim != 2:
                raise InputError(f"V= must be a k x k matrix, a vector of variances or a list of blocks; got {arr.ndim} dimensions")
            shape = arr.shape
            r, c = np.nonzero(arr)
            x = arr[r, c]
        if shape != (k, k):
            raise InputError(f"V= has shape {shape} but there are k = {k} effects; it must be k x k")
        cross = (cluster_index[r] != cluster_index[c]) & (x != 0)
        if cross.any():
            i, j = int(r[cross][0]), int(c[cross][0])
            raise InputError(
                f"V= couples effects of two clusters: V[{i + 1}, {j + 1}] = {x[cross][0]:g} between {_study(md, i)} "
                f"in cluster {str(md.cluster[i])!r} and {_study(md, j)} in cluster {str(md.cluster[j])!r}. The sampling errors "
                "of different clusters must be independent: give cluster= the variable that groups every pair of "
                "correlated effects", study=str(md.labels[i]), row=i + 1, column="V")
        dense = sparse.csr_matrix((x, (r, c)), shape=shape)
        blocks = tuple(dense[np.ix_(rows, rows)].toarray()
                       for rows in (np.flatnonzero(cluster_index == j) for j in range(J)))
    _check_blocks(blocks, md, cluster_index)
    return blocks


def _check_blocks(blocks: tuple[np.ndarray, ...], md: Any, cluster_index: np.ndarray) -> None:
    for j, b in enumerate(blocks):
        rows = np.flatnonzero(cluster_index == j)
        if not np.all(np.isfinite(b)):
            raise InputError(f"V= has a non-finite value in the block of {_study(md, rows[0])}'s cluster", **_at(md, rows[0]))
        if not np.allclose(b, b.T, rtol=1e-10, atol=1e-14):
            raise InputError(f"V= is not symmetric in the block of {_study(md, rows[0])}'s cluster "
                             f"{str(md.cluster[rows[0]])!r}", **_at(md, rows[0]))
        d = np.diag(b)
        if np.any(d <= 0):
            i = rows[int(np.argmax(d <= 0))]
            raise InputError(f"V= has a non-positive variance {np.diag(b).min():g} for {_study(md, i)}", **_at(md, i))
        lam = np.linalg.eigvalsh(b)
        if lam.min() < -1e-10 * lam.max():
            raise InputError(f"V= is not positive semi-definite in the block of cluster {str(md.cluster[rows[0]])!r} "
                             f"(smallest eigenvalue {lam.min():.3g}): a correlation is outside what the variances "
                             "allow (e.g. rho too negative for the size of the cluster)", **_at(md, rows[0]))


# ---------------------------------------------------------------------------
# the spec
# ---------------------------------------------------------------------------


def _vi_from_V(V: Any, vi: Any) -> Any:
    """vi = diag(V) when only V is given (a matrix); a list of blocks needs vi=."""
    from scipy import sparse

    if vi is not None:
        return vi
    if isinstance(V, (list, tuple)):
        raise InputError("V= given as a list of blocks needs vi= too (the variances, one per row)")
    if hasattr(V, "diagonal"):
        return np.asarray(V.diagonal(), dtype=float)
    if hasattr(V, "toarray") and not sparse.issparse(V):
        return np.diag(V.toarray())
    arr = np.asarray(V, dtype=float)
    return arr if arr.ndim == 1 else np.diag(arr)


def build_dependent_spec(
    data: Any = None,
    yi: Any = "yi",
    vi: Any = None,
    *,
    V: Any = None,
    rho: Any = None,
    cluster: Any = None,
    outcome: Any = None,
    struct: str | None = None,
    sei: Any = None,
    labels: Any = None,
    mods: Any = None,
    priors: Mapping[str, Any] | None = None,
    measure: str | None = None,
    missing: str = "raise",
    model: str = "random",
    likelihood: str = "normal",
    tau_by: Any = None,
) -> DependentSpec:
    """Validate the arguments of a CHE or multivariate :class:`bayesma.MetaAnalysis`.

    Raises
    ------
    ValueError
        V without cluster=, V coupling two clusters, rho outside (-1, 1), an outcome with one
        study under ``struct="UN"``, two effects of one study on one outcome, a design of
        ``mods=`` (with ``outcome=``) that is not of full column rank, and arguments the
        models cannot use (tau_by=, likelihood="student_t", model="common").
    TypeError
        rho= that is not a number.
    """
    what = "V=" if V is not None else ("rho=" if rho is not None else "outcome=")
    if cluster is None:
        raise InputError(f"{what} needs cluster=: the column (or array) that says which effects come from one "
                         "study, so that the blocks of V and the study-level random effects are known "
                         "(e.g. cluster='study')", column="cluster")
    if V is not None and rho is not None:
        raise InputError("give V= (the sampling covariance) or rho= (to build it from vi), not both")
    if struct is not None and outcome is None:
        raise InputError("struct= is the structure of the true effects across outcomes: it needs outcome=")
    if outcome is not None:
        struct = "CS" if struct is None else struct
        if struct not in STRUCTS:
            raise InputError(f"struct must be one of {STRUCTS} for the Bayesian multivariate model, got {struct!r}")
    for bad, msg in ((tau_by is not None, "tau_by="), (likelihood != "normal", f"likelihood={likelihood!r}"),
                     (model != "random", f"model={model!r}")):
        if bad:
            raise InputError(f"{msg} cannot be combined with {what} (dependent effect sizes need normal random "
                             "effects at the cluster level)")
    if missing != "raise" and V is not None:
        raise InputError("missing='drop' with V= is not supported: drop the rows from data and V together first")
    rho_val = None if rho is None else _check_rho(rho)
    vi_in = _vi_from_V(V, vi) if V is not None else vi
    if V is not None and vi is None and not (isinstance(yi, str) and data is None):  # V's size, not vi's
        k = len(data) if isinstance(yi, str) else int(np.size(yi))
        if int(np.size(vi_in)) != k:
            raise InputError(f"V= has {np.size(vi_in)} rows but there are k = {k} effects; it must be k x k "
                             "(or a list of one block per cluster, with vi=)", column="V")
    if V is not None and vi is not None and not isinstance(V, (list, tuple)):
        dv, given = np.asarray(_vi_from_V(V, None), float), data[vi] if isinstance(vi, str) else vi
        given = np.asarray(given, float)
        off = ~np.isclose(dv, given, rtol=1e-8, atol=0.0) if dv.shape == given.shape else np.ones(1, bool)
        if off.any():
            i = int(np.argmax(off))
            raise InputError(f"the diagonal of V= differs from vi in row {i + 1} ({dv[i]:g} vs {given[i]:g}); "
                             "give one of them, or make them agree", row=i + 1, column="V")
    base = build_spec(data, yi, vi_in, sei=sei, labels=labels, mods=mods, cluster=cluster,
                      priors=None if outcome is not None else priors, measure=measure, missing=missing,
                      redundant="drop" if outcome is None else "raise")
    md, ci = base.meta, base.cluster_index
    if V is not None:
        blocks, source = blocks_from_V(V, md, ci), "V"
    elif rho_val is not None:
        _check_rho_fits(rho_val, md, ci)
        blocks, source = constant_rho_blocks(md.vi, ci, rho_val), "rho"
    else:
        blocks, source = constant_rho_blocks(md.vi, ci, 0.0), "vi"
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    if outcome is None:
        return DependentSpec(**fields, dependence=Dependence(blocks, rho_val, source))
    codes, names = _outcomes(outcome, data, md, ci, struct)
    dep = Dependence(blocks, rho_val, source, codes, tuple(names), struct)
    if mods is None:  # one mean per outcome: mu[<outcome>]
        X = (codes[:, None] == np.arange(len(names))[None]).astype(float)
        fields.update(X=X, coef_names=list(names))
    fields["priors"] = resolve_mv_priors(priors, names, struct, measure=measure, meta=md,
                                         coefs=None if mods is None else list(base.coef_names))
    return DependentSpec(**fields, dependence=dep)


def _outcomes(outcome: Any, data: Any, md: Any, ci: np.ndarray, struct: str) -> tuple[np.ndarray, list[str]]:
    if isinstance(outcome, str):
        if outcome not in md.data.columns:
            raise InputError(f"column {outcome!r} (for outcome=) is not in the data; columns are {list(md.data.columns)}")
        values = md.data[outcome]
    else:
        values = pd.Series(np.asarray(outcome, dtype=object))
        if len(values) != md.k:
            raise InputError(f"outcome= has {len(values)} values but there are k = {md.k} effects")
    if values.isna().any():
        i = int(np.argmax(values.isna().to_numpy()))
        raise InputError(f"outcome: study {md.labels[i]!r} (row {i + 1}) has a missing outcome", study=str(md.labels[i]),
                         row=i + 1, column=outcome if isinstance(outcome, str) else "outcome")
    codes, uniques = pd.factorize(values.astype(str), sort=True)
    names = [str(u) for u in uniques]
    pairs = pd.Series(list(zip(ci, codes)))
    dup = pairs.duplicated()
    if dup.any():
        i = int(np.argmax(dup.to_numpy()))
        raise InputError(f"study {str(md.cluster[i])!r} has two effects on outcome {names[codes[i]]!r} (row {i + 1}): "
                         "the multivariate model has one true effect per study and outcome; aggregate them "
                         "(bayesma.aggregate) or use the CHE model (cluster= with V= or rho=, mods='~ outcome - 1')",
                         study=str(md.labels[i]), row=i + 1, column=outcome if isinstance(outcome, str) else "outcome")
    if len(names) < 2:
        raise InputError(f"outcome= has a single level ({names[0]!r}); the multivariate model needs two or more "
                         "outcomes (for one outcome use cluster= with V= or rho=: the CHE model)")
    if struct == "UN":
        counts = np.bincount(codes, minlength=len(names))
        for o, n in zip(names, counts):
            if n < 2:
                raise InputError(f"outcome {o!r} has {n} study under struct='UN': its own tau and correlations "
                                 "cannot be estimated; use struct='CS' (one tau shared by the outcomes)",
                                 column=outcome if isinstance(outcome, str) else "outcome")
    return codes.astype(int), names
