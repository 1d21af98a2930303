"""Checking a Bayesian fit: leave-one-out cross-validation, WAIC, posterior predictive checks.

:class:`ModelChecks` gives :class:`bayesma.MetaPosterior` its ``log_likelihood()``, ``loo()``,
``waic()`` and ``ppc()``; :func:`compare_models` ranks several fits of the same studies. The
computing is in :mod:`bayesma.posterior.checks`, ArviZ is reached through
:mod:`bayesma._arviz`.

What leave-one-out means here: the log predictive density of each study's observed effect
given the other studies, ``log p(y_i | y_-i)``, with the study's random effect integrated out
(a new study from the random-effects distribution). PSIS-LOO (Vehtari, Gelman & Gabry 2017)
estimates it from one fit; its Pareto k says per study whether the estimate can be trusted
(k > 0.7: no) and, since a large k means the posterior changes much without the study, it is a
Bayesian influence diagnostic. Where the exact engine can fit the model and k is small, the
exact values, ``log p(y) - log p(y_-i)`` from marginal likelihoods, and the exact refits of
:func:`bayesma.leave_one_out` are shown beside them: with the exact engine, leave-one-out
needs no approximation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import ArgumentTypeError, InputError
from bayesma.posterior.checks import (
    check_supported,
    loglik_chunks,
    pointwise_loglik,
    ppc_statistics,
    replicate,
    study_chunks,
)

__all__ = ["LOOResult", "PPCResult", "ModelChecks", "compare_models", "EXACT_LOO_MAX_K", "PARETO_K_BAD"]

#: the exact leave-one-out columns are computed up to this many studies (k + 1 exact fits)
EXACT_LOO_MAX_K = 50
#: Pareto k above which the PSIS estimate of a study is unreliable (Vehtari et al. 2017, 2024)
PARETO_K_BAD = 0.7


@dataclass(frozen=True)
class LOOResult:  # numpydoc ignore=PR01
    """Leave-one-out cross-validation (PSIS-LOO) or WAIC of one fit.

    Attributes
    ----------
    kind : str
        ``"loo"`` or ``"waic"``.
    elpd : float
        Expected log pointwise predictive density, summed over studies.
    se : float
        Its standard error (over studies).
    p : float
        Effective number of parameters (``p_loo`` / ``p_waic``).
    table : pandas.DataFrame
        One row per study: ``elpd`` (its term), ``pareto_k`` and ``reliable`` (k <= 0.7) for LOO;
        with the exact engine and few studies also ``elpd_exact`` (``log p(y) - log p(y_-i)``) and
        the exact refit without the study (``mu_without``, ``tau_without``: posterior means and
        medians).
    n_draws : int
        Posterior draws used.
    engine : str
        The engine of the fit.
    notes : tuple of str
        What to read with care (few studies, unreliable Pareto k).

    Examples
    --------
    >>> import bayesma as bm
    >>> post = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05, 0.2], vi=[0.02, 0.03, 0.05, 0.04, 0.03, 0.02],
    ...                        measure="SMD").fit(engine="exact", seed=1)
    >>> res = post.loo()
    >>> res.kind, res.table.shape[0]
    ('loo', 6)
    """

    kind: str
    elpd: float
    se: float
    p: float
    table: pd.DataFrame
    n_draws: int
    engine: str
    notes: tuple[str, ...] = field(default=())

    @property
    def ic(self) -> float:
        """The information criterion on the deviance scale, ``-2 elpd`` (LOOIC / WAIC)."""
        return -2.0 * self.elpd

    @property
    def pareto_k(self) -> pd.Series:
        """Pareto k of each study (LOO only)."""
        if "pareto_k" not in self.table:
            raise InputError("WAIC has no Pareto k; use post.loo()")
        return self.table["pareto_k"]

    def summary(self) -> pd.DataFrame:
        """The per-study table (see :attr:`table`).

        Returns
        -------
        pandas.DataFrame
            One row per study.
        """
        return self.table.copy()

    def __repr__(self) -> str:
        name = "PSIS-LOO" if self.kind == "loo" else "WAIC"
        lines = [f"{name} ({self.engine} engine, {self.n_draws} draws, k = {len(self.table)} studies)",
                 f"  elpd_{self.kind} = {self.elpd:.3f} (SE {self.se:.3f}), p_{self.kind} = {self.p:.2f}, "
                 f"{'looic' if self.kind == 'loo' else 'waic'} = {self.ic:.3f}"]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class PPCResult:  # numpydoc ignore=PR01
    """A posterior predictive check: observed effects against replicated ones.

    Attributes
    ----------
    kind : str
        ``"marginal"`` (new study effect and sampling error) or ``"conditional"``.
    y_rep : numpy.ndarray
        Replicated effects, shape (draws, k).
    table : pandas.DataFrame
        Per study: ``yi``, ``sei``, ``z_obs`` (``yi / sei``), the replicated ``z_rep_lower`` /
        ``z_rep_median`` / ``z_rep_upper`` (2.5%, 50%, 97.5% of ``y_rep / sei``) and
        ``p_ppc`` (``P(y_rep >= y)``; near 0 or 1 flags the study).
    p_discrepancy : float
        Posterior predictive p-value of ``sum (y_i - loc_i)^2 / sd_i^2``; small: the data spread
        more than the model expects.

    Examples
    --------
    >>> import bayesma as bm
    >>> post = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05, 0.2], vi=[0.02, 0.03, 0.05, 0.04, 0.03, 0.02],
    ...                        measure="SMD").fit(engine="exact", seed=1)
    >>> check = post.ppc()
    >>> check.y_rep.shape[1], 0.0 <= check.p_discrepancy <= 1.0
    (6, True)
    """

    kind: str
    y_rep: np.ndarray
    table: pd.DataFrame
    p_discrepancy: float

    def summary(self) -> pd.DataFrame:
        """The per-study table (see :attr:`table`).

        Returns
        -------
        pandas.DataFrame
            One row per study.
        """
        return self.table.copy()

    def plot(self, **kwargs: Any) -> Any:
        """Observed effects against replicated ones, both divided by the study's SE.

        Parameters
        ----------
        **kwargs
            Passed to :func:`bayesma.plots.ppc.ppc_plot`.

        Returns
        -------
        matplotlib.figure.Figure
            One row per study: the replicated 95% interval and median, the observed value.
        """
        from bayesma.plots.ppc import ppc_plot

        t = self.table
        z_rep = self.y_rep / t["sei"].to_numpy()[None, :]
        return ppc_plot(t["z_obs"].to_numpy(), z_rep, list(t.index), p_values=t["p_ppc"].to_numpy(),
                        title=f"Posterior predictive check ({self.kind}), p = {self.p_discrepancy:.2f}", **kwargs)

    def __repr__(self) -> str:
        extreme = self.table.index[(self.table["p_ppc"] < 0.025) | (self.table["p_ppc"] > 0.975)].tolist()
        return (f"Posterior predictive check ({self.kind} replicates, {self.y_rep.shape[0]} draws, "
                f"k = {len(self.table)}): discrepancy p = {self.p_discrepancy:.3f}; studies outside their "
                f"replicated 95% range: {', '.join(map(str, extreme)) or 'none'}")


def _exact_columns(post: Any) -> pd.DataFrame | None:
    """Exact leave-one-out (marginal likelihood ratios) and the exact refits, when cheap."""
    from bayesma.exact.capability import exact_support
    from bayesma.exact.loo import exact_leave_one_out

    spec = post.spec
    if spec.k > EXACT_LOO_MAX_K or spec.k < 3 or not exact_support(spec).ok:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exact_leave_one_out(spec)


def elpd_data(post: Any, kind: str, what: str, chunk: int | None = None) -> Any:
    """ArviZ's ``loo`` / ``waic`` of one fit (``arviz.ELPDData``), computed over chunks of *chunk*
    studies (default: :data:`bayesma.posterior.checks.CHUNK_ELEMENTS` draws x studies), so no
    draws x k array is held; ``loo()``, ``waic()`` and :func:`compare_models` all read it."""
    from bayesma import _arviz

    spec = check_supported(post.spec, what)
    posterior = post.posterior
    return _arviz.chunked_ic(kind, loglik_chunks(spec, posterior, chunk), posterior)


def _ic(post: Any, kind: str, exact: bool | None, chunk: int | None = None) -> LOOResult:
    spec = check_supported(post.spec, f"post.{kind}()")
    res = elpd_data(post, kind, f"post.{kind}()", chunk)
    labels = [str(v) for v in spec.labels]
    table = pd.DataFrame({"elpd": np.asarray(res[f"{kind}_i"].values, dtype=float)}, index=labels)
    table.index.name = "study"
    notes = []
    if kind == "loo":
        table["pareto_k"] = np.asarray(res.pareto_k.values, dtype=float)
        table["reliable"] = table["pareto_k"] <= PARETO_K_BAD
        bad = table.index[~table["reliable"]].tolist()
        if bad:
            notes.append(f"Pareto k > {PARETO_K_BAD} for {', '.join(bad)}: the PSIS estimate is unreliable there and "
                         "the posterior changes much without the study (influential); use the exact values "
                         "(elpd_exact) or bm.leave_one_out")
    want_exact = (exact is None and post.engine == "exact") or bool(exact)
    extra = _exact_columns(post) if want_exact else None
    if extra is not None:
        table = table.join(extra)
    if spec.k < 5:
        notes.append(f"k = {spec.k}: each elpd term predicts one study from {spec.k - 1} others, so it mostly "
                     "measures the prior on tau; compare models by the exact refits, not by LOO")
    elpd = float(res[f"elpd_{kind}"])
    return LOOResult(kind, elpd, float(res["se"]), float(res[f"p_{kind}"]), table, int(res["n_samples"]),
                     post.engine, tuple(notes))


class ModelChecks:
    """The model-checking methods of :class:`bayesma.MetaPosterior` (a mixin)."""

    def log_likelihood(self) -> np.ndarray:
        """The pointwise log-likelihood of each study at each posterior draw.

        Returns
        -------
        numpy.ndarray
            Shape (chain, draw, k): ``log N(y_i | x_i' beta, v_i + tau_i^2)``, the study's random
            effect integrated out (see :mod:`bayesma.posterior.checks`); for a publication-bias fit
            the model's own likelihood (the PET/PEESE shift of the mean, a selection model's weight
            over its normalising constant: :mod:`bayesma.posterior.bias_terms`).

        Raises
        ------
        UnsupportedModelError
            Student-t random effects, clustered (multilevel) models.

        Examples
        --------
        >>> import bayesma as bm
        >>> post = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                        priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(engine="exact", seed=1)
        >>> post.log_likelihood().shape
        (4, 1000, 5)
        """
        spec = check_supported(self.spec, "post.log_likelihood()")  # type: ignore[attr-defined]
        return pointwise_loglik(spec, self.posterior)  # type: ignore[attr-defined]

    def loo(self, exact: bool | None = None) -> LOOResult:
        """Leave-one-out cross-validation by Pareto-smoothed importance sampling (ArviZ's ``loo``).

        Parameters
        ----------
        exact : bool, optional
            Add the exact leave-one-out values (``elpd_exact``, from marginal likelihoods) and the
            exact refits without each study (``mu_without``, ``tau_without``), when the exact
            engine can fit the model and k <= 50. Default: for exact-engine fits.

        Returns
        -------
        LOOResult
            ``elpd``, ``se``, ``p``, ``ic`` and the per-study ``table`` with Pareto k.

        Raises
        ------
        UnsupportedModelError
            Student-t random effects, clustered (multilevel) models.

        Notes
        -----
        Vehtari A, Gelman A, Gabry J (2017). Practical Bayesian model evaluation using
        leave-one-out cross-validation and WAIC. Statistics and Computing 27:1413-1432. With
        k = 3 each term predicts one study from two: the sum is dominated by the prior on tau and
        its SE (over three terms) is itself unreliable, so prefer the exact refits.

        Examples
        --------
        >>> import bayesma as bm
        >>> post = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                        priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(engine="exact", seed=1)
        >>> res = post.loo()
        >>> round(res.elpd, 1), round(float(res.table["elpd_exact"].sum()), 1)
        (0.2, 0.2)
        """
        return _ic(self, "loo", exact)

    def waic(self) -> LOOResult:
        """The widely applicable information criterion (ArviZ's ``waic``).

        Returns
        -------
        LOOResult
            ``kind="waic"``; ``elpd``, ``se``, ``p`` and the per-study ``table``.

        Raises
        ------
        UnsupportedModelError
            Student-t random effects, clustered (multilevel) models.

        Notes
        -----
        Watanabe S (2010), Journal of Machine Learning Research 11:3571-3594. WAIC and PSIS-LOO
        estimate the same quantity; PSIS-LOO has the diagnostic (Pareto k) and is preferred.

        Examples
        --------
        >>> import bayesma as bm
        >>> post = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                        priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(engine="exact", seed=1)
        >>> round(post.waic().elpd, 1)
        0.2
        """
        return _ic(self, "waic", False)

    def ppc(self, kind: str = "marginal", seed: int | None = 1) -> PPCResult:
        """Posterior predictive check: replicate the studies' effects from the posterior.

        Parameters
        ----------
        kind : {"marginal", "conditional"}
            ``"marginal"``: each replicate draws a new study effect from the random-effects
            distribution and a new sampling error (checks the random-effects assumption);
            ``"conditional"``: a new sampling error around the study's own effect.
        seed : int or None
            Seed of the replicates (default 1, so the check can be repeated).

        Returns
        -------
        PPCResult
            Per-study table, ``p_discrepancy`` and ``plot()``.

        Raises
        ------
        UnsupportedModelError
            Student-t random effects, clustered (multilevel) models.

        Notes
        -----
        Gelman A, Meng X-L, Stern H (1996). Posterior predictive assessment of model fitness via
        realized discrepancies. Statistica Sinica 6:733-807.

        Examples
        --------
        >>> import bayesma as bm
        >>> post = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03],
        ...                        priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(engine="exact", seed=1)
        >>> check = post.ppc()
        >>> check.table.columns.tolist()[:3]
        ['yi', 'sei', 'z_obs']
        """
        spec = check_supported(self.spec, "post.ppc()")  # type: ignore[attr-defined]
        posterior = self.posterior  # type: ignore[attr-defined]
        y_rep = replicate(spec, posterior, kind, seed)
        stats = ppc_statistics(spec, posterior, y_rep, kind)
        sei = np.sqrt(spec.vi)
        z_rep = np.empty((3, spec.k))
        for chunk in study_chunks(spec.k, y_rep.shape[0]):  # no second draws x k array
            z_rep[:, chunk] = np.quantile(y_rep[:, chunk] / sei[None, chunk], [0.025, 0.5, 0.975], axis=0)
        table = pd.DataFrame({"yi": spec.yi, "sei": sei, "z_obs": spec.yi / sei, "z_rep_lower": z_rep[0],
                              "z_rep_median": z_rep[1], "z_rep_upper": z_rep[2], "p_ppc": stats["p_study"]},
                             index=pd.Index([str(v) for v in spec.labels], name="study"))
        return PPCResult(kind, y_rep, table, stats["p_discrepancy"])


def compare_models(posteriors: Sequence[Any], names: Sequence[str] | None = None, ic: str = "loo") -> pd.DataFrame:
    """Rank fits of the same studies by expected predictive accuracy (ArviZ's ``compare``).

    Parameters
    ----------
    posteriors : sequence of MetaPosterior
        Two or more fits of the same studies (same effects and variances), e.g. under
        different priors or with and without moderators.
    names : sequence of str, optional
        Their names (default ``model_1``, ``model_2``, ...).
    ic : {"loo", "waic"}
        The criterion.

    Returns
    -------
    pandas.DataFrame
        ArviZ's table, best first: ``rank``, ``elpd_<ic>``, ``p_<ic>``, ``elpd_diff``,
        ``weight`` (stacking), ``se``, ``dse``, ``warning``.

    Raises
    ------
    InputError
        Fewer than two fits, fits of different studies, an unknown *ic*, names not matching.
    ArgumentTypeError
        Something other than Bayesian fits.

    Notes
    -----
    Yao Y, Vehtari A, Simpson D, Gelman A (2018). Using stacking to average Bayesian predictive
    distributions. Bayesian Analysis 13:917-1007. With few studies the differences are small
    against their SE (``dse``); read them as "no model predicts clearly better".

    Examples
    --------
    >>> import bayesma as bm
    >>> kw = dict(yi=[0.1, 0.4, 0.25, 0.3, -0.05], vi=[0.02, 0.03, 0.05, 0.04, 0.03])
    >>> a = bm.MetaAnalysis(**kw, priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}).fit(engine="exact", seed=1)
    >>> b = bm.MetaAnalysis(**kw, priors={"mu": "normal(0, 1)", "tau": "psychology"}).fit(engine="exact", seed=1)
    >>> bm.compare_models([a, b], names=["halfnormal", "psychology"]).columns[0]
    'rank'
    """
    from bayesma import _arviz

    if ic not in ("loo", "waic"):
        raise InputError(f"ic={ic!r}: choose 'loo' or 'waic'")
    posteriors = list(posteriors)
    if len(posteriors) < 2:
        raise InputError("compare_models needs at least two fits")
    for p in posteriors:
        if not isinstance(p, ModelChecks):
            raise ArgumentTypeError(f"compare_models compares Bayesian fits (MetaPosterior), got {type(p).__name__}")
    names = [f"model_{i + 1}" for i in range(len(posteriors))] if names is None else [str(n) for n in names]
    if len(names) != len(posteriors) or len(set(names)) != len(names):
        raise InputError(f"names must be {len(posteriors)} different names, got {names!r}")
    first = posteriors[0].spec
    for name, p in zip(names[1:], posteriors[1:]):
        same = (p.spec.k == first.k and list(map(str, p.spec.labels)) == list(map(str, first.labels))
                and np.allclose(p.spec.yi, first.yi, rtol=1e-12, atol=0.0)
                and np.allclose(p.spec.vi, first.vi, rtol=1e-12, atol=0.0))
        if not same:  # the same studies, in the same order, with the same effects (to rounding)
            raise InputError(f"{name!r} is a fit of other studies (or another order, or other effect sizes) than "
                             f"{names[0]!r}: LOO and WAIC compare models of the same data only")
    elpds = {name: elpd_data(p, ic, "compare_models") for name, p in zip(names, posteriors)}
    return pd.DataFrame(_arviz.compare(elpds, ic))
