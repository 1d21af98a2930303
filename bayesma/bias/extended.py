"""The RoBMA ensemble extended by moderators (RoBMA-reg) and by clusters (multilevel RoBMA).

Each model of the plain ensemble (effect x heterogeneity x bias) is crossed with
every subset of the moderators (a moderator in or out, 1/2 each), so two moderators
turn RoBMA-PSMA's 36 models into 144 and BMA's 4 into 16, as RoBMA's
``RoBMA(mods=)`` / ``BMA(mods=)``. With ``cluster=`` every model with heterogeneity
gets rho (the share of heterogeneity between clusters, Beta(1, 1)) and the
multilevel likelihood of :mod:`bayesma.bias.multilevel`.

Every model is still a low-dimensional integral (at most 6 + moderator coefficients
dimensions), computed by the same adaptive importance sampling as the plain ensemble
(:func:`bayesma.bias.model.fit_model`).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from bayesma._validate import align, stripped_ids
from bayesma.bias.components import PEESE, PET, WeightFunction
from bayesma.bias.likelihood import loglik as single_loglik
from bayesma.bias.model import FitData, ModelDef, fit_model, log_density
from bayesma.bias.moderators import Term, build_terms
from bayesma.bias.multilevel import Allocation, Clusters, cluster_loglik, make_clusters
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.priors import Prior

__all__ = ["ExtData", "ExtModelDef", "extend_models", "split_priors", "fit_extended"]


@dataclass
class ExtData:
    """Fitting data with the moderators' design and the clusters (rows sorted by cluster).

    Attributes
    ----------
    fd : FitData
        Effects and standard errors (fitting scale and own scale), sorted like ``X``.
    X : numpy.ndarray of shape (k, p)
        Moderator columns (mean-difference contrasts, standardized continuous moderators).
    slices : dict
        Columns of ``X`` of each moderator.
    clusters : Clusters or None
    """

    fd: FitData
    X: np.ndarray
    slices: dict = field(default_factory=dict)
    clusters: Clusters | None = None


@dataclass(frozen=True)
class ExtModelDef(ModelDef):
    """A model of the ensemble with moderators (``mods``) and a multilevel structure (``allocation``)."""

    mods: tuple = ()
    allocation: Allocation | None = None

    @property
    def multilevel(self) -> bool:
        return self.allocation is not None and self.heterogeneity is not None

    def dims(self) -> list[str]:
        names = ModelDef.dims(self)
        if self.multilevel:
            names.append("logit_rho")
        for t in self.mods:
            names += [f"beta[{t.name}][{j}]" for j in range(t.ncol)]
        return names

    def transform(self, u: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        d0 = len(ModelDef.dims(self))
        out, lp = ModelDef.transform(self, u[:, :d0])
        col = d0
        if self.multilevel:
            x = u[:, col]
            out["rho"] = special.expit(x)
            lp = lp + self.allocation.logpdf(out["rho"]) + special.log_expit(x) + special.log_expit(-x)
            col += 1
        for t in self.mods:
            b = u[:, col:col + t.ncol]
            lp = lp + log_density(t.prior, b).sum(axis=1)
            out[f"beta[{t.name}]"] = b
            col += t.ncol
        return out, lp

    def loglik(self, par: dict[str, np.ndarray], data: ExtData) -> np.ndarray:  # type: ignore[override]
        fd = data.fd
        mu = np.broadcast_to(par["mu"][:, None], (par["mu"].size, fd.y.size))
        for t in self.mods:
            mu = mu + par[f"beta[{t.name}]"] @ data.X[:, data.slices[t.name]].T
        m = fd.c_mu * mu
        if isinstance(self.bias, PET):
            m = m + par["PET"][:, None] * fd.se[None, :]
        elif isinstance(self.bias, PEESE):
            m = m + (par["PEESE"] / abs(fd.c_mu))[:, None] * fd.se[None, :] ** 2
        kw = {}
        if isinstance(self.bias, WeightFunction):
            kw = {"omega": par["omega"], "crit": fd.crit(self.bias), "sides": self.bias.sides}
        tau = fd.c_tau * par["tau"]
        if self.multilevel:
            rho = par["rho"]
            return cluster_loglik(fd.y, fd.se, m, tau * np.sqrt(1.0 - rho), tau * np.sqrt(rho), data.clusters, **kw)
        return single_loglik(fd.y, fd.se, m, tau, **kw)

    def start(self, data: ExtData) -> np.ndarray:  # type: ignore[override]
        x = list(ModelDef.start(self, data.fd))
        if self.multilevel:
            x.append(0.0)
        x += [0.0] * sum(t.ncol for t in self.mods)
        return np.array(x, dtype=float)


def extend_models(models: list[ModelDef], terms: list[Term], allocation: Allocation | None) -> list[ExtModelDef]:
    """Cross every model with every subset of *terms* (prior odds 1:1 per moderator).

    Examples
    --------
    >>> from bayesma.bias.ensemble import ensemble_models
    >>> len(extend_models(ensemble_models(ensemble="none"), [], None))
    4
    """
    out = []
    share = 0.5 ** len(terms)
    for m in models:
        for inc in itertools.product((False, True), repeat=len(terms)):
            mods = tuple(t for t, keep in zip(terms, inc) if keep)
            out.append(ExtModelDef(m.effect, m.heterogeneity, m.bias, m.prior_prob * share, mods=mods,
                                   allocation=allocation))
    return out


def split_priors(priors) -> tuple[dict, dict]:
    """Split ``priors`` into the plain ensemble's keys and ``"mods"`` / ``"rho"``."""
    priors = dict(priors or {})
    ext = {k: priors.pop(k) for k in ("mods", "rho") if k in priors}
    if "mods" in ext and isinstance(ext["mods"], Prior):
        ext["mods"] = {"*": ext["mods"]}  # one prior for every moderator (RoBMA's prior_covariates)
    if "mods" in ext and not (isinstance(ext["mods"], dict) and all(isinstance(p, Prior) for p in ext["mods"].values())):
        raise ArgumentTypeError("priors['mods'] must be a bayesma Normal prior (for every moderator) or a dict "
                                "{moderator: bayesma Normal prior}")
    if "rho" in ext and not (isinstance(ext["rho"], tuple) and len(ext["rho"]) == 2):
        raise ArgumentTypeError("priors['rho'] must be the (alpha, beta) pair of a Beta prior, e.g. (1, 1)")
    return priors, ext


def _prepare(fd: FitData, data, mods, cluster, labels, ext_priors, nodes) -> tuple[ExtData, list[Term], Clusters | None]:
    k = fd.y.size
    if (mods is not None or isinstance(cluster, str)) and data is None:
        raise ArgumentTypeError("mods= and cluster= name columns of data=; pass the data frame")
    terms, X = ([], np.zeros((k, 0)))
    if mods is not None:
        if len(data) != k:
            raise InputError(f"data has {len(data)} rows but there are {k} estimates")
        terms, X = build_terms(mods, data, labels, ext_priors.get("mods"))
    clusters = None
    if cluster is not None:
        name = cluster if isinstance(cluster, str) else "cluster"
        if isinstance(cluster, str):
            if cluster not in data.columns:
                raise InputError(f"cluster: column {cluster!r} is not in the data", column=cluster)
            values = data[cluster]
        else:  # a Series pairs with the rows of data by index, never by position
            values = align(cluster, None if data is None else data.index, "cluster")
            values = list(values)
            if len(values) != k:
                raise InputError(f"cluster has {len(values)} values but there are {k} estimates")
        clusters = make_clusters(stripped_ids(values, f"cluster {name!r}", stacklevel=5), labels, name, nodes)
        if clusters.g == k:
            raise InputError(f"cluster {name!r}: every estimate is its own cluster; rho is not identified "
                             "(fit without cluster=)", column=name)
        if clusters.g == 1:
            raise InputError(f"cluster {name!r}: every estimate is in one cluster ({clusters.names[0]!r}); the "
                             "heterogeneity between clusters (rho) is not identified from one cluster "
                             "(fit without cluster=)", column=name)
        o = clusters.order
        fd = FitData(fd.y[o], fd.se[o], fd.y_orig[o], fd.se_orig[o], fd.measure, fd.c_mu, fd.c_tau)
        X = X[o]
    slices, col = {}, 0
    for t in terms:
        slices[t.name] = slice(col, col + t.ncol)
        col += t.ncol
    return ExtData(fd, X, slices, clusters), terms, clusters


def fit_extended(models: list[ModelDef], fd: FitData, data, *, mods=None, cluster=None, ext_priors=None,
                 labels=None, draws: int = 2048, replicates: int = 8, seed: int | None = 1,
                 nodes: int = 7, result_kw: dict | None = None):
    """Fit the ensemble crossed with moderators and/or clusters; see :func:`bayesma.robma`.

    Returns
    -------
    bayesma.bias.extended_result.RoBMAExtResult
    """
    from bayesma.bias.extended_result import RoBMAExtResult

    ext_priors = ext_priors or {}
    ed, terms, clusters = _prepare(fd, data, mods, cluster, labels, ext_priors, nodes)
    allocation = Allocation(*ext_priors["rho"]) if "rho" in ext_priors else (Allocation() if clusters else None)
    ext = extend_models(models, terms, allocation)
    pilot = 4096
    if clusters is not None:
        # every evaluation integrates each cluster: a quarter of the draws, half the replicates
        draws, replicates, pilot = max(draws // 4, 16), max(replicates // 2, 2), 1024
    t0 = time.perf_counter()
    fits = [fit_model(m, ed, n=draws, replicates=replicates, seed=None if seed is None else seed + i,  # type: ignore[arg-type]
                      pilot=pilot) for i, m in enumerate(ext)]
    elapsed = time.perf_counter() - t0
    return RoBMAExtResult(ext, fits, terms=terms, clusters=clusters, elapsed=elapsed,
                          **(result_kw or {}))
