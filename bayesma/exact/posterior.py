"""ExactPosterior: summaries, densities, probabilities and draws from the quadrature grid; exact_posterior()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize

from bayesma._validate import check_level
from bayesma.errors import UnknownParameterError

from .bayes import _bayes_factor_table, _model_probabilities, savage_dickey
from .effects import theta_mixture, theta_new_mixture, theta_summary
from .grids import integrate
from .likelihood import _as_spec, _loglik_re, _Normal
from .moments import tail_adjusted_rows
from .quadrature import (
    _Q,
    _lagrange_weights,
    _mixture_cdf,
    _mixture_moments,
    _mixture_pdf,
    _mixture_quantiles,
    hdi_from_quantiles,
)
from .sampling import draw_posterior

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

    from .likelihood import SpecLike

# ---------------------------------------------------------------------------
# the exact posterior of one model
# ---------------------------------------------------------------------------


@dataclass
class ExactPosterior:  # numpydoc ignore=PR01
    """The exact posterior of a normal-normal model: quadrature grid and summaries.

    Built by :func:`exact_posterior` (and by ``MetaAnalysis.fit(engine="exact")``).
    ``kind`` is ``"common"``, ``"random"``, ``"tau_by"`` or ``"cluster"``.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    kind : str
        ``"common"``, ``"random"``, ``"tau_by"`` or ``"cluster"``.
    log_marginal_likelihood : float
        ``log p(y)`` under the model and its priors.
    grid : grid object or dict
        The quadrature grid (a dict ``b, V`` for the common-effect model).
    loc : normal prior of the coefficients
        Means and precisions of the normal priors on mu / beta.
    grid_clusters : cluster structure, optional
        Three-level models: the studies sorted by cluster.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> ep = bm.exact.exact_posterior(m.spec)
    >>> [round(v, 4) for v in ep.interval("mu", 0.95)], round(ep.prob("mu", 0.0), 4)
    ([0.23, -0.1522, 0.6079], 0.92)
    """

    spec: ModelSpec
    kind: str
    log_marginal_likelihood: float
    grid: Any = None
    loc: _Normal | None = None
    grid_clusters: Any = None
    _nodes: dict = field(default_factory=dict, repr=False)

    # -- nodes: (weights, tau values per parameter, b, V) ------------------
    def _mixture_nodes(self):
        """Posterior weights and the conditional normal of beta at each node (atom included)."""
        if "beta" in self._nodes:
            return self._nodes["beta"]
        g = self.grid
        if self.kind == "common":
            out = (np.ones(1), g["b"][None], g["V"][None], {})
        elif self.kind == "random":
            w = np.concatenate([g.weights[0], g.atom])
            b = np.concatenate([g.b[0], g.b0])
            V = np.concatenate([g.V[0], g.V0])
            out = (w, b, V, {"tau": np.concatenate([g.tau[0], [0.0]])})
        else:
            W = g.weights
            keep = W > W.max() * 1e-16
            i1, i2 = np.nonzero(keep)
            taus = {self.tau_names[0]: np.exp(g.u1.reshape(-1)[i1]), self.tau_names[1]: np.exp(g.u2.reshape(-1)[i2])}
            w = W[keep]
            out = (w / w.sum(), g.b[keep], g.V[keep], taus)
        self._nodes["beta"] = out
        return out

    @property
    def tau_names(self) -> list[str]:
        if self.kind == "random":
            return ["tau"]
        if self.kind == "tau_by":
            return [f"tau[{n}]" for n in self.spec.group_names]
        if self.kind == "cluster":
            return ["tau", "tau_within"]
        return []

    @property
    def names(self) -> list[str]:
        """Every quantity this posterior answers for exactly, named as summary rows (and ``"pooled"``)."""
        spec = self.spec
        names = ["mu"] if not spec.is_regression else [f"beta[{c}]" for c in spec.coef_names]
        if self.kind == "tau_by":
            names.append("tau")  # the subgroups' taus pooled with equal weight
        names += [*self.tau_names, *(f"theta[{lab}]" for lab in spec.labels)]
        names.append("theta_new")  # with tau_by: a new study of either subgroup (the equal mixture)
        if self.kind == "tau_by":
            names += [f"theta_new[{g}]" for g in spec.group_names]
        return [*names, "pooled"]

    # -- summaries -----------------------------------------------------------
    def summary(self, theta: bool = True, prob: float = 0.95) -> pd.DataFrame:
        """Exact posterior summaries: mean, sd, median and equal-tailed interval.

        Parameters
        ----------
        theta : bool
            Include the rows ``theta[<label>]`` (the study effects); without them
            the summary is faster (prior comparisons, simulations).
        prob : float
            Probability of the equal-tailed interval (0.95).

        Returns
        -------
        pandas.DataFrame
            Rows ``mu`` (or ``beta[<coef>]``), the heterogeneity SDs, ``theta[<label>]``,
            ``theta_new``; columns ``mean, sd, median, eti_lower, eti_upper`` (effect scale).

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> ep.summary(prob=0.9).loc["mu"].round(4).tolist()   # mean, sd, median, 5% and 95%
        [0.2338, 0.1311, 0.2326, 0.0248, 0.4471]
        """
        prob = check_level(prob, "prob")  # 0.95 or 95, as rma's level
        qs3 = _Q if prob == 0.95 else ((1.0 - prob) / 2.0, 0.5, 1.0 - (1.0 - prob) / 2.0)
        key = ("summary" if theta else "summary_no_theta", float(prob))
        if key in self._nodes:
            return self._nodes[key].copy()
        if not theta and ("summary", float(prob)) in self._nodes:
            full = self._nodes[("summary", float(prob))]
            return full.loc[[r for r in full.index if not r.startswith("theta[")]].copy()
        spec = self.spec
        rows: dict[str, tuple] = {}
        w, b, V, taus = self._mixture_nodes()
        sd = np.sqrt(np.einsum("gjj->gj", V))  # (G, p)
        names = ["mu"] if not spec.is_regression else [f"beta[{c}]" for c in spec.coef_names]
        qs = _mixture_quantiles(w[None], b.T, sd.T, qs3)
        mean, sdev = _mixture_moments(w[None], b.T, sd.T)
        for j, name in enumerate(names):
            rows[name] = (mean[j], sdev[j], qs[j, 1], qs[j, 0], qs[j, 2])
        # heterogeneity
        if self.kind == "random":
            g = self.grid
            m, s = g.tau_moments()
            q = g.tau_quantiles(qs3)[0]
            rows["tau"] = (m[0], s[0], q[1], q[0], q[2])
        elif self.kind in ("tau_by", "cluster"):
            g = self.grid
            for axis, name in enumerate(self.tau_names):
                u, wq, d, _ = g.marginal(axis)
                pw = (wq * d).reshape(-1)
                t = np.exp(u.reshape(-1))
                m = float(pw @ t)
                s = float(np.sqrt(pw @ (t - m) ** 2))
                q = g.tau_quantiles(axis, qs3)
                rows[name] = (m, s, q[1], q[0], q[2])
        # study effects
        cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
        thetas = None
        if theta:  # one block of arrays (k rows: no tuple per study)
            qs, mean, sdev = theta_summary(self, qs=qs3)
            thetas = pd.DataFrame(np.column_stack([mean, sdev, qs[:, 1], qs[:, 0], qs[:, 2]]), columns=cols,
                                  index=[f"theta[{lab}]" for lab in spec.labels], dtype=float)
        for name, (nw, nm, ns) in theta_new_mixture(self).items():
            qn = _mixture_quantiles(nw, nm, ns, qs3)
            mn, sn = _mixture_moments(nw, nm, ns)
            rows[name] = (float(mn), float(sn), qn[1], qn[0], qn[2])
        rows = tail_adjusted_rows(self, rows)  # the tail of tau beyond the grid; moments that do not exist
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=cols).astype(float)
        if thetas is not None:  # the study effects before theta_new, as always
            new = frame.index.str.startswith("theta_new")
            frame = pd.concat([frame[~new], thetas, frame[new]])
        out = frame
        self._nodes[key] = out
        return out.copy()

    # -- densities -------------------------------------------------------------
    def density(self, name: str, x: Any) -> np.ndarray:
        """Posterior density of ``mu``/``beta[<coef>]``, ``theta_new`` or a heterogeneity SD.

        For tau the density of tau (not of log tau); at tau = 0 the limit
        ``p(y | tau=0) p_prior(0) / p(y)`` (the Savage-Dickey numerator).

        Parameters
        ----------
        name : str
            ``"mu"``, ``"beta[<coef>]"``, ``"theta_new"`` (``"theta_new[<g>]"``), ``"tau"``,
            ``"tau[<g>]"``, ``"tau_within"``.
        x : array_like
            Values.

        Returns
        -------
        numpy.ndarray
            The density at *x* (same shape).

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> ep.density("tau", [0.1, 0.2]).round(4)
        array([4.4337, 2.1127])
        """
        x = np.asarray(x, dtype=float)
        spec = self.spec
        if name in ("mu",) or name.startswith("beta["):
            j = 0 if name == "mu" else spec.coef_names.index(name[5:-1])
            w, b, V, _ = self._mixture_nodes()
            return _mixture_pdf(x, w, b[:, j], np.sqrt(V[:, j, j]))
        if name.startswith("theta_new"):
            nw, nm, ns = theta_new_mixture(self)[name]
            return _mixture_pdf(x, nw, nm, ns)
        if name == "tau" and self.kind == "random":
            prior = spec.priors["tau"]
            t = np.maximum(x, 0.0)
            assert self.loc is not None  # the random-effects model has its coefficients' prior
            ll, _, _ = _loglik_re((t * t).reshape(1, -1), spec.yi[None], spec.vi[None], spec.X, self.loc)
            with np.errstate(divide="ignore"):
                lp = np.asarray(prior.logpdf_tau(t.reshape(-1)), dtype=float)
            out = np.exp(ll[0] + lp - self.log_marginal_likelihood)
            return np.where(x < 0, 0.0, out).reshape(x.shape)
        if self.kind in ("tau_by", "cluster") and name in self.tau_names:
            axis = self.tau_names.index(name)
            g = self.grid
            u, wq, d, e = g.marginal(axis)
            ux = np.log(np.maximum(x, 1e-300)).reshape(-1)
            P = u.shape[0]
            j = np.clip(np.searchsorted(e, ux, side="right") - 1, 0, P - 1)
            h = (e[j + 1] - e[j]) / 2.0
            t = (ux - e[j]) / np.where(h > 0, h, 1.0) - 1.0
            L = _lagrange_weights(np.clip(t, -1, 1), g.n)
            val = np.maximum((L * d[j]).sum(-1), 0.0) / np.maximum(x.reshape(-1), 1e-300)
            inside = (ux >= e[0]) & (ux <= e[-1])
            return np.where(inside, val, 0.0).reshape(x.shape)
        raise KeyError(f"no density for {name!r}")

    # -- marginal distributions of single quantities (every reported number) -------
    def _coef_index(self, name: str) -> int:
        """Column of ``mu`` / ``beta[<coef>]``, matching the coefficient name exactly (no stripping)."""
        names = list(self.spec.coef_names)
        if name == "mu" and not self.spec.is_regression:
            return 0
        if name.startswith("beta[") and name.endswith("]") and name[5:-1] in names:
            return names.index(name[5:-1])
        raise KeyError(f"no coefficient {name!r}; the coefficients are {[f'beta[{c}]' for c in names]}")

    def _mixture(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(weights, means, sds) when the posterior of *name* is a mixture of normals, else None (tau)."""
        spec = self.spec
        if name == "mu" or name.startswith("beta["):
            j = self._coef_index(name)
            w, b, V, _ = self._mixture_nodes()
            return w, b[:, j], np.sqrt(V[:, j, j])
        if name == "pooled":  # x_new' beta: mu, or the mean effect at the mean moderators
            w, b, V, _ = self._mixture_nodes()
            x = np.asarray(spec.x_new, dtype=float)
            return w, b @ x, np.sqrt(np.einsum("p,gpq,q->g", x, V, x))
        if name.startswith("theta_new"):
            mixtures = theta_new_mixture(self)
            if name == "theta_new" and self.kind == "tau_by":  # a new study of either subgroup, equally
                parts = list(mixtures.values())
                return (np.concatenate([p[0] for p in parts]) / len(parts), np.concatenate([p[1] for p in parts]),
                        np.concatenate([p[2] for p in parts]))
            if name not in mixtures:
                raise KeyError(f"no {name!r}; the predictions are {list(mixtures)}")
            return mixtures[name]
        if name.startswith("theta[") and name.endswith("]"):
            labels = [str(lab) for lab in spec.labels]
            if name[6:-1] not in labels:
                raise KeyError(f"no study {name[6:-1]!r}")
            i = labels.index(name[6:-1])
            if self.kind == "cluster":  # the cluster algebra gives all studies at once: keep them
                if "theta_mix" not in self._nodes:
                    self._nodes["theta_mix"] = theta_mixture(self)
                w, m, s = self._nodes["theta_mix"]
                return w, m[i], s[i]
            w, m, s = theta_mixture(self, rows=np.array([i]))
            return w, m[0], s[0]
        if name in self.tau_names or (name == "tau" and self.kind == "tau_by"):
            return None
        raise UnknownParameterError(f"no parameter {name!r} in the exact posterior")

    def quantiles(self, name: str, q: Sequence[float] | np.ndarray) -> np.ndarray:
        """Posterior quantiles of one quantity.

        Parameters
        ----------
        name : str
            ``"mu"`` or ``"beta[<coef>]"`` (matched exactly), ``"tau"``, ``"tau[<subgroup>]"``,
            ``"tau_within"``, ``"theta[<label>]"``, ``"theta_new"`` (``"theta_new[<subgroup>]"``)
            or ``"pooled"`` (x_new' beta: mu, or the effect at the mean moderators).
        q : sequence of float
            Probabilities in (0, 1).

        Returns
        -------
        numpy.ndarray
            Shape ``(len(q),)``: the quantiles (mixture-of-normals roots; tau's cdf inverted).

        Raises
        ------
        KeyError
            For a name the model does not have.

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> ep.quantiles("tau", [0.05, 0.95]).round(4)
        array([0.0094, 0.286 ])
        """
        q = tuple(float(v) for v in np.atleast_1d(q))
        mix = self._mixture(name)
        if mix is not None:
            w, m, s = mix
            return np.asarray(_mixture_quantiles(w, m, s, q), dtype=float)
        if self.kind == "random":
            return np.asarray(self.grid.tau_quantiles(q)[0], dtype=float)
        if name == "tau" and self.kind == "tau_by":  # the subgroups' taus pooled with equal weight
            ends = self.grid.tau_quantiles(0, [1e-12, 1 - 1e-12]), self.grid.tau_quantiles(1, [1e-12, 1 - 1e-12])
            lo, hi = min(e[0] for e in ends), max(e[1] for e in ends)
            return np.array([optimize.brentq(lambda x, p=p: self.cdf("tau", x) - p, lo, hi, xtol=1e-13, rtol=1e-12)
                             for p in q])
        return np.asarray(self.grid.tau_quantiles(self.tau_names.index(name), q), dtype=float)

    def cdf(self, name: str, x: float) -> float:
        """Posterior probability ``P(name <= x | y)`` of one quantity.

        Parameters
        ----------
        name : str
            As for :meth:`quantiles`.
        x : float
            The value.

        Returns
        -------
        float

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> round(1 - float(ep.cdf("mu", 0.0)), 4)
        0.9652
        """
        mix = self._mixture(name)
        if mix is not None:
            w, m, s = mix
            return float(_mixture_cdf(float(x), w, m, s))
        if x < 0:
            return 0.0
        if self.kind == "random":
            return float(self.grid.tau_cdf(float(x))[0])
        if name == "tau" and self.kind == "tau_by":
            return 0.5 * (self.grid.tau_cdf(0, float(x)) + self.grid.tau_cdf(1, float(x)))
        return self.grid.tau_cdf(self.tau_names.index(name), float(x))

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        """Median and equal-tailed interval of one quantity.

        Parameters
        ----------
        name : str
            As for :meth:`quantiles`.
        prob : float
            Interval probability (0.95).

        Returns
        -------
        tuple of float
            ``(median, lower, upper)``.

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> [round(v, 4) for v in ep.interval("theta_new", 0.9)]   # median, 5%, 95%
        [0.2316, -0.0701, 0.5468]
        """
        lo, med, hi = self.quantiles(name, [(1.0 - prob) / 2.0, 0.5, 1.0 - (1.0 - prob) / 2.0])
        return float(med), float(lo), float(hi)

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        """Highest-density (shortest) interval of one quantity, from its quantile function.

        The shortest of the intervals ``[Q(p), Q(p + prob)]``, found on a grid of p refined
        three times (unimodal posteriors).

        Parameters
        ----------
        name : str
            As for :meth:`quantiles`.
        prob : float
            Interval probability (0.95).

        Returns
        -------
        tuple of float
            ``(lower, upper)``.

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> [round(v, 4) for v in ep.hdi("tau", 0.95)]
        [0.0, 0.286]
        """
        return hdi_from_quantiles(lambda p: self.quantiles(name, p), prob)

    def prob(self, name: str = "mu", threshold: float = 0.0) -> float:
        """Posterior probability that one quantity exceeds *threshold*.

        Parameters
        ----------
        name : str
            As for :meth:`quantiles`.
        threshold : float
            The value (0).

        Returns
        -------
        float
            ``P(name > threshold | y) = 1 - cdf(name, threshold)``.

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> round(ep.prob("mu", 0.0), 4)
        0.9652
        """
        return 1.0 - self.cdf(name, threshold)

    # -- Bayes factors -------------------------------------------------------------
    def savage_dickey(self, name: str = "mu", value: float = 0.0) -> float:
        """Savage-Dickey BF01 = posterior density / prior density at *value*.

        Parameters
        ----------
        name : str
            ``"mu"``, ``"beta[<coef>]"`` or ``"tau"``.
        value : float
            The point null (0).

        Returns
        -------
        float
            BF01 (> 1 favours the point null).

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> round(ep.savage_dickey("mu", 0.0), 4)
        5.1418
        """
        return savage_dickey(self, name, value)

    def bayes_factors(self) -> pd.DataFrame:
        """Bayes factors for the effect and the heterogeneity of this model (see :func:`bayes_factors`).

        Returns
        -------
        pandas.DataFrame
            Rows ``effect``, ``heterogeneity``; columns ``BF10, BF01, log_BF10, H1, H0, prior_mu``.

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> ep.bayes_factors()["BF10"].round(3)
        effect           0.194
        heterogeneity    0.865
        Name: BF10, dtype: float64
        """
        return _bayes_factor_table(self.spec, self.log_marginal_likelihood)

    def model_probabilities(self, prior_prob_random: float = 0.5) -> pd.DataFrame:
        """Posterior probabilities of the common-effect and random-effects models.

        Parameters
        ----------
        prior_prob_random : float
            Prior probability of the random-effects model (0.5).

        Returns
        -------
        pandas.DataFrame
            See :func:`model_probabilities`.

        Examples
        --------
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> ep.model_probabilities()["posterior_prob"].round(3)
        model
        common    0.536
        random    0.464
        Name: posterior_prob, dtype: float64
        """
        return _model_probabilities(self.spec, prior_prob_random, self.log_marginal_likelihood)

    # -- draws -----------------------------------------------------------------
    def draws(self, n: int, rng: np.random.Generator, theta: bool = True) -> dict[str, np.ndarray]:
        """Independent draws from the posterior.

        Parameters
        ----------
        n : int
            Number of draws.
        rng : numpy.random.Generator
            The random generator (the same state gives the same draws).
        theta : bool
            Also draw the study effects (k values per draw).

        Returns
        -------
        dict of str to numpy.ndarray
            ``mu`` or ``beta`` (n, p), ``tau`` ((n,) or (n, 2) with ``tau_by``), ``tau_within``,
            ``theta`` (n, k), ``theta_new``.

        Examples
        --------
        >>> import numpy as np
        >>> import bayesma as bm
        >>> ep = bm.exact.exact_posterior(bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05]))
        >>> d = ep.draws(1000, np.random.default_rng(1))
        >>> d["mu"].shape, d["theta"].shape
        ((1000,), (1000, 3))
        """
        return draw_posterior(self, n, rng, theta=theta)


def exact_posterior(spec: SpecLike, grid: int | Mapping[str, Any] | None = None) -> ExactPosterior:
    """Integrate the posterior of a normal-normal model (no draws).

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model (count models: :class:`bayesma.exact.counts.CountsExactPosterior`).
    grid : int or dict, optional
        Gauss-Legendre nodes per panel (``{"n": 16}`` or ``16``); default 12 in 1-D, 8 per axis in 2-D.

    Returns
    -------
    ExactPosterior

    Raises
    ------
    ValueError
        For models the exact engine does not handle (``engine="nuts"`` does).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> ep = bm.exact.exact_posterior(m.spec)
    >>> float(ep.summary().loc["tau", "median"].round(4))
    0.169
    """
    spec = _as_spec(spec)
    n = grid.get("n") if isinstance(grid, Mapping) else grid
    if getattr(spec, "counts", None) is not None:  # binomial- and Poisson-normal models (counts.py)
        from .counts import counts_posterior
        return counts_posterior(spec, n)  # type: ignore[return-value]
    if getattr(getattr(spec, "dependence", None), "multivariate", False):  # CS across outcomes (multivariate.py)
        from .multivariate import multivariate_posterior
        return multivariate_posterior(spec, n)  # type: ignore[return-value]
    return ExactPosterior(spec, (q := integrate(spec, n)).kind, q.log_marginal_likelihood, q.grid, q.loc, q.clusters)
