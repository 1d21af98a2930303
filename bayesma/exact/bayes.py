"""Marginal likelihoods, Bayes factors and posterior model probabilities."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma.errors import InputError
from bayesma.priors.improper import is_improper

from .grids import _grid_1d, integrate
from .likelihood import _as_spec, _loglik_re, _Normal

if TYPE_CHECKING:  # pragma: no cover
    from .likelihood import SpecLike

# ---------------------------------------------------------------------------
# marginal likelihoods and Bayes factors
# ---------------------------------------------------------------------------


def _improper(spec, key: str) -> bool:
    if key == "mu":
        return any(getattr(spec.location_prior(j), "family", None) == "Flat" for j in range(len(spec.coef_names)))
    return is_improper(spec.priors.get(key))


def _require_proper(spec, key: str, what: str) -> None:
    """A Bayes factor that tests *key* is undefined when *key* has an improper prior (its scale is arbitrary)."""
    if _improper(spec, key):
        prior = spec.priors.get(key) if key != "mu" else spec.location_prior(0)
        raise InputError(
            f"{what} is not defined under the improper prior {key} ~ {prior!r}: the marginal likelihood of the "
            f"model with {key} free carries the prior's arbitrary constant (Lindley's paradox in the limit). "
            f"Give {key} a proper prior, e.g. {'Normal(0, 1)' if key == 'mu' else 'HalfNormal(0.5)'}."
        )


def marginal_likelihood(spec: SpecLike, log: bool = True) -> float:
    """Marginal likelihood ``p(y)`` of the model under its priors (log by default).

    The coefficients are integrated analytically, the heterogeneity by quadrature.
    Under an improper prior (``Flat``, ``HalfFlat``) the value uses the prior density 1,
    as bayesmeta does: it is finite when the posterior is proper, but its scale is
    arbitrary, so Bayes factors that test a parameter with an improper prior are refused.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model.
    log : bool
        Return ``log p(y)`` (default) instead of ``p(y)``.

    Returns
    -------
    float
        The (log) marginal likelihood; accurate to about 1e-8 in log.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> round(bm.exact.marginal_likelihood(m), 4)
    -1.4736
    """
    spec = _as_spec(spec)
    if getattr(spec, "counts", None) is not None:  # binomial- and Poisson-normal models (counts.py)
        from .counts import counts_posterior

        value = counts_posterior(spec).log_marginal_likelihood
    else:
        value = integrate(spec).log_marginal_likelihood
    return value if log else math.exp(value)


def _log_ml_null_effect(spec) -> float:
    """log p(y) with mu fixed at 0 (intercept-only models)."""
    if getattr(spec, "counts", None) is not None:  # binomial- and Poisson-normal models (counts.py)
        from .counts import log_ml_null_effect

        return log_ml_null_effect(spec)
    y, v = spec.yi, spec.vi
    none = _Normal(np.zeros(0), np.zeros(0))
    if spec.model == "common":
        ll, _, _ = _loglik_re(np.zeros((1, 1)), y[None], v[None], None, none)
        return float(ll[0, 0])
    if spec.tau_by is not None or spec.cluster_index is not None:
        raise InputError("bayes_factor_effect() is implemented for the common and the simple random-effects model")
    gr = _grid_1d(y[None], v[None], None, none, spec.priors["tau"])
    return float(gr.logml[0])


def marginal_likelihood_null_effect(spec: SpecLike, log: bool = True) -> float:
    """Marginal likelihood ``p(y | mu = 0)`` of an intercept-only model with mu fixed at 0 (log by default).

    The denominator of :func:`bayes_factor_effect`; prior comparisons that share a
    heterogeneity prior compute it once.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        A common-effect or simple random-effects model.
    log : bool
        Return ``log p(y | mu = 0)``.

    Returns
    -------
    float
        ``log p(y | mu = 0)`` (or ``p(y | mu = 0)``).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.3, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> round(bm.exact.marginal_likelihood(m) - bm.exact.marginal_likelihood_null_effect(m), 4)  # log BF10
    0.4056
    """
    value = _log_ml_null_effect(_as_spec(spec))
    return value if log else math.exp(value)


def bayes_factor_effect(spec: SpecLike, log: bool = False) -> float:
    """Bayes factor BF10 for an effect: mu ~ its prior (H1) against mu = 0 (H0).

    Both models share the heterogeneity prior; it is the ratio of their marginal
    likelihoods (equal, by the Savage-Dickey identity, to prior density over
    posterior density of mu at 0). Intercept-only models.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
    log : bool
        Return log BF10.

    Returns
    -------
    float
        BF10 > 1 favours an effect; 1 / BF10 is BF01.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.3, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> bm.exact.bayes_factor_effect(m) > 1
    True
    """
    spec = _as_spec(spec)
    if spec.is_regression:
        raise InputError("bayes_factor_effect() tests mu = 0 in an intercept-only model; for a coefficient of a "
                         "meta-regression use ExactPosterior.savage_dickey('beta[<coef>]')")
    lbf = _log_bf_effect(spec, marginal_likelihood(spec))
    return lbf if log else math.exp(lbf)


def _log_bf_effect(spec, log_ml: float) -> float:
    _require_proper(spec, "mu", "the Bayes factor for the effect")
    return log_ml - _log_ml_null_effect(spec)


def _log_bf_heterogeneity(spec, log_ml: float) -> float:
    _require_proper(spec, "tau", "the Bayes factor for heterogeneity")
    return log_ml - marginal_likelihood(replace(spec, model="common"))


def bayes_factor_heterogeneity(spec: SpecLike, log: bool = False) -> float:
    """Bayes factor BF10 for heterogeneity: tau ~ its prior against tau = 0.

    H1 is the random-effects model, H0 the common-effect model, both with the same
    prior on mu (the Bayes factor depends on it: see :func:`bayes_factors`). Equals
    ``p_prior(tau = 0) / p_post(tau = 0)`` (Savage-Dickey) when the prior has a
    positive density at 0.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        A random-effects model without ``tau_by=`` / ``cluster=``.
    log : bool
        Return log BF10.

    Returns
    -------
    float
        BF10 > 1 favours heterogeneity.

    Raises
    ------
    ValueError
        For other models, or an improper prior on tau.

    References
    ----------
    Roever C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
    *Journal of Statistical Software* 93(6).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.6, -0.2], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> bm.exact.bayes_factor_heterogeneity(m) > 1
    True
    """
    spec = _as_spec(spec)
    if spec.model != "random" or spec.tau_by is not None or spec.cluster_index is not None:
        raise InputError("bayes_factor_heterogeneity() compares the random-effects model (one tau) with the "
                         "common-effect model; give a random-effects model without tau_by= / cluster=")
    lbf = _log_bf_heterogeneity(spec, marginal_likelihood(spec))
    return lbf if log else math.exp(lbf)


def model_probabilities(spec: SpecLike, prior_prob_random: float = 0.5) -> pd.DataFrame:
    """Posterior probabilities of the common-effect and random-effects models.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        A random-effects model; the common-effect model uses the same priors
        on mu / the coefficients.
    prior_prob_random : float
        Prior probability of the random-effects model (0.5: equal prior odds).

    Returns
    -------
    pandas.DataFrame
        Rows ``common``, ``random``; columns ``log_marginal_likelihood``,
        ``prior_prob``, ``posterior_prob``.

    Raises
    ------
    ValueError
        Without a prior on tau, with an improper one, or *prior_prob_random* outside (0, 1).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.6, -0.2], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> bm.exact.model_probabilities(m)["posterior_prob"].round(3).tolist()
    [0.191, 0.809]
    """
    return _model_probabilities(_as_spec(spec), prior_prob_random)


def _model_probabilities(spec, prior_prob_random: float, log_ml: float | None = None) -> pd.DataFrame:
    """:func:`model_probabilities`, reusing *log_ml*, the marginal likelihood of *spec* itself, when given."""
    if not 0 < prior_prob_random < 1:
        raise InputError("prior_prob_random must be strictly between 0 and 1")
    if "tau" not in spec.priors:
        raise InputError("model probabilities compare common and random effects and need the prior on tau: "
                         "give a random-effects model (model='random')")
    _require_proper(spec, "tau", "the posterior probability of the random-effects model")
    lml = {}
    for model in ("random", "common"):
        lml[model] = (log_ml if log_ml is not None and spec.model == model
                      else marginal_likelihood(replace(spec, model=model)))
    lre, lce = lml["random"], lml["common"]
    prior = np.array([1.0 - prior_prob_random, prior_prob_random])
    logs = np.array([lce, lre]) + np.log(prior)
    post = np.exp(logs - np.logaddexp.reduce(logs))
    return pd.DataFrame({"log_marginal_likelihood": [lce, lre], "prior_prob": prior, "posterior_prob": post},
                        index=pd.Index(["common", "random"], name="model"))


def bayes_factors(spec: SpecLike) -> pd.DataFrame:
    """Bayes factors of an intercept-only model: the effect and the heterogeneity.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model; the effect row needs an intercept-only model, the heterogeneity row
        a random-effects model without ``tau_by=`` / ``cluster=``.

    Returns
    -------
    pandas.DataFrame
        Rows ``effect`` (mu != 0 vs mu = 0) and ``heterogeneity`` (tau > 0 vs
        tau = 0); columns ``BF10``, ``BF01``, ``log_BF10``, ``H1`` and ``H0`` (the
        two models compared, with their priors) and ``prior_mu`` (the prior of mu the
        Bayes factor depends on).

    Notes
    -----
    A Bayes factor for an effect depends on the prior of mu, not only on the data:
    a wider prior spreads H1's prior mass over effects the data rule out and moves
    BF10 towards H0 without limit, while the posterior of mu hardly changes
    (Lindley's paradox). With the default N(0, 8) prior for SMD, BF10 can be 0.2 while
    P(mu > 0 | y) = 0.97. Report a Bayes factor with the prior it was computed under
    (the ``prior_mu`` column), and under more than one prior (:func:`bayesma.compare_priors`).

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.3, 0.4, 0.25], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> bm.exact.bayes_factors(m)["BF10"].round(3).tolist()
    [1.5, 0.362]
    """
    return _bayes_factor_table(_as_spec(spec))


def _bayes_factor_table(spec, log_ml: float | None = None) -> pd.DataFrame:
    """:func:`bayes_factors`, with the model's marginal likelihood computed once (or *log_ml*, when given)."""
    effect = not spec.is_regression and not _improper(spec, "mu")
    heterogeneity = (spec.model == "random" and spec.tau_by is None and spec.cluster_index is None
                     and not _improper(spec, "tau"))
    if not (effect or heterogeneity):
        _require_proper(spec, "mu" if _improper(spec, "mu") else "tau", "a Bayes factor")
    if log_ml is None:
        log_ml = marginal_likelihood(spec) if (effect or heterogeneity) else float("nan")
    rows = {}
    if effect:
        rows["effect"] = _log_bf_effect(spec, log_ml)
    if heterogeneity:
        rows["heterogeneity"] = _log_bf_heterogeneity(spec, log_ml)
    lbf = pd.Series(rows, dtype=float)
    mu_prior = repr(spec.location_prior(0))
    tau_prior = repr(spec.priors["tau"]) if "tau" in spec.priors and spec.model == "random" else None
    h1 = {"effect": f"mu ~ {mu_prior}" + (f", tau ~ {tau_prior}" if tau_prior else ""),
          "heterogeneity": f"tau ~ {tau_prior}, mu ~ {mu_prior}"}
    h0 = {"effect": "mu = 0" + (f", tau ~ {tau_prior}" if tau_prior else ""),
          "heterogeneity": f"tau = 0, mu ~ {mu_prior}"}
    with np.errstate(over="ignore"):  # a Bayes factor beyond 1e308 is inf, as its log says
        bf10, bf01 = np.exp(lbf), np.exp(-lbf)
    return pd.DataFrame({"BF10": bf10, "BF01": bf01, "log_BF10": lbf,
                         "H1": [h1[r] for r in lbf.index], "H0": [h0[r] for r in lbf.index],
                         "prior_mu": mu_prior}, index=lbf.index)


def savage_dickey(ep: Any, name: str = "mu", value: float = 0.0) -> float:
    """Savage-Dickey Bayes factor BF01 = posterior density / prior density at *value*.

    Parameters
    ----------
    ep : ExactPosterior
        The exact posterior (:func:`exact_posterior`).
    name : str
        ``"mu"``, ``"beta[<coef>]"`` (matched exactly) or ``"tau"``.
    value : float
        The point null (0).

    Returns
    -------
    float
        BF01 (> 1 favours the point null).

    References
    ----------
    Dickey JM (1971). The weighted likelihood ratio, linear hypotheses on normal location
    parameters. *Annals of Mathematical Statistics* 42(1):204-223.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.6, -0.2], vi=[0.02, 0.03, 0.05],
    ...                     priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    >>> round(bm.exact.savage_dickey(bm.exact.exact_posterior(m), "mu"), 3)
    2.895
    """
    spec = ep.spec
    post = float(ep.density(name, np.array([value]))[0])
    if name == "tau":
        prior = float(np.exp(spec.priors["tau"].logpdf_tau(value)))
    else:
        j = 0 if name == "mu" else spec.coef_names.index(name[5:-1])
        prior = float(np.exp(spec.location_prior(j).logpdf(value)))
    return post / prior
