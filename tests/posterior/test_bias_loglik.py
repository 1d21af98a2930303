"""The pointwise log-likelihood of publication-bias fits (selection models, PET, PEESE).

``post.log_likelihood()`` (and so ``loo``, ``waic``, ``compare_models``) must be the likelihood
the PyMC model samples. Without a sampler: the model is built and its likelihood terms (the
observed ``yi`` and the selection ``Potential``) are compiled in PyTensor's ``FAST_COMPILE``
mode together with the constrained parameters (mu/beta, tau, omega, the PET/PEESE
coefficient); at random points of the unconstrained space a one-draw posterior is made of
those parameters and the sum over studies of :func:`pointwise_loglik` must equal the model's
likelihood terms (per study for PET/PEESE). A selection model is also checked against a scipy
computation written here study by study from the definition, and replicates of a selection
model against the weighted density's interval probabilities.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from _helpers import bias_data
from scipy import stats

import bayesma as bm
from bayesma.models import build as mb
from bayesma.posterior.checks import pointwise_loglik, replicate

pytest.importorskip("pymc")

_PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}


_data = bias_data


CASES = {
    "one-sided selection": dict(bias=bm.WeightFunction((0.025, 0.5))),
    "one-sided selection with mods": dict(bias=bm.WeightFunction((0.025, 0.05, 0.5), alpha=(1, 2, 0.5, 3)), mods="~ x"),
    "two-sided selection": dict(bias=bm.WeightFunction((0.05,), "two")),
    "two-sided selection with mods": dict(bias=bm.WeightFunction((0.05, 0.1), "two"), mods="~ x"),
    "common-effect selection": dict(bias=bm.WeightFunction((0.025,)), model="common"),
    "PET": dict(bias=bm.PET()),
    "PET with mods": dict(bias=bm.PET(), mods="~ x"),
    "PEESE": dict(bias=bm.PEESE()),
    "PEESE with mods": dict(bias=bm.PEESE(), mods="~ x"),
    "common-effect PET": dict(bias=bm.PET(), model="common"),
}


def _meta(case: str, k: int = 11) -> bm.MetaAnalysis:
    kwargs = dict(CASES[case])
    priors = dict(_PRIORS)
    if "mods" in kwargs:
        priors["beta"] = "normal(0, 1)"
    if kwargs.get("model") == "common":
        priors.pop("tau")
    return bm.MetaAnalysis(_data(k), yi="yi", vi="vi", priors=priors, **kwargs)


def _model_terms(spec, pad: bool):
    """A function of an unconstrained point: (params, per-study yi logp, selection potential)."""
    import pymc as pm

    model, _ = mb.build_model(spec, "auto", pad=pad)
    names = [n for n in ("mu", "beta", "tau", "omega", "PET", "PEESE") if n in model.named_vars]
    params = model.replace_rvs_by_values([model[n] for n in names])
    yi_logp = model.logp(vars=[model["yi"]], sum=False)[0]  # elementwise, shape (k,) (padded: the bucket)
    potential = model.replace_rvs_by_values([sum(model.potentials)])[0] if model.potentials else pm.math.constant(0.0)
    fn = model.compile_fn([*params, yi_logp, potential], inputs=model.value_vars, mode="FAST_COMPILE",
                          point_fn=True, on_unused_input="ignore")
    return model, names, fn


def _posterior(values: dict, labels) -> xr.Dataset:
    """A one-chain one-draw posterior as a fit stores it (chain, draw, ...)."""
    dims = {"beta": ["coef"], "omega": ["interval"]}
    return xr.Dataset({n: (["chain", "draw", *dims.get(n, [])], np.asarray(v, float)[None, None, ...])
                       for n, v in values.items()})


@pytest.mark.parametrize("pad", [False, True], ids=["unpadded", "padded"])
@pytest.mark.parametrize("case", list(CASES))
def test_pointwise_loglik_sums_to_the_models_likelihood(case, pad):
    spec = _meta(case).spec
    model, names, fn = _model_terms(spec, pad)
    rng = np.random.default_rng(3)
    start = model.initial_point()
    for _ in range(3):
        point = {n: rng.normal(0.0, 0.7, np.shape(v)) for n, v in start.items()}
        *params, yi_logp, potential = fn(point)
        ll = pointwise_loglik(spec, _posterior(dict(zip(names, params)), spec.labels))
        assert ll.shape == (1, 1, spec.k)
        real = np.asarray(yi_logp)[: spec.k]  # padded studies come after the real ones
        if isinstance(spec.bias, bm.WeightFunction):
            assert float(ll.sum()) == pytest.approx(float(real.sum() + potential), rel=1e-9, abs=1e-9)
        else:
            np.testing.assert_allclose(ll[0, 0], real, rtol=1e-10, atol=1e-10)
            assert float(potential) == 0.0


def _scipy_selection_loglik(y, vi, mu, tau, omega, steps, sides):
    """Study by study: log N(y_i | mu, tau^2 + v_i) + log omega_j(i) - log sum_j omega_j P(p_i in interval j)."""
    edges = [1.0, *sorted(steps, reverse=True), 0.0]  # p-value intervals, largest p first
    out = []
    for yi, v in zip(y, vi):
        se, sd = np.sqrt(v), np.sqrt(tau**2 + v)
        p = stats.norm.sf(yi / se) if sides == "one" else 2 * stats.norm.sf(abs(yi) / se)
        j = next(j for j in range(len(edges) - 1) if edges[j + 1] < p <= edges[j])
        probs = []
        for hi, lo in zip(edges[:-1], edges[1:]):
            if sides == "one":
                a, b = stats.norm.isf(hi) * se, stats.norm.isf(lo) * se
                probs.append(stats.norm.cdf(b, mu, sd) - stats.norm.cdf(a, mu, sd))
            else:
                a, b = stats.norm.isf(hi / 2) * se, stats.norm.isf(lo / 2) * se
                probs.append(stats.norm.cdf(b, mu, sd) - stats.norm.cdf(a, mu, sd)
                             + stats.norm.cdf(-a, mu, sd) - stats.norm.cdf(-b, mu, sd))
        out.append(stats.norm.logpdf(yi, mu, sd) + np.log(omega[j]) - np.log(np.dot(probs, omega)))
    return np.array(out)


@pytest.mark.parametrize("sides", ["one", "two"])
def test_selection_loglik_equals_a_study_by_study_scipy_computation(sides):
    steps = (0.025, 0.5) if sides == "one" else (0.05, 0.1)
    spec = bm.MetaAnalysis(_data(), yi="yi", vi="vi", priors=_PRIORS, bias=bm.WeightFunction(steps, sides)).spec
    draws = [(0.2, 0.1, [0.3, 0.6, 1.0]), (-0.1, 0.3, [0.05, 0.9, 1.0]), (0.5, 0.0, [1.0, 1.0, 1.0])]
    post = xr.Dataset({"mu": (["chain", "draw"], [[d[0] for d in draws]]),
                       "tau": (["chain", "draw"], [[d[1] for d in draws]]),
                       "omega": (["chain", "draw", "interval"], [[d[2] for d in draws]])})
    ll = pointwise_loglik(spec, post)
    for s, (mu, tau, omega) in enumerate(draws):
        expected = _scipy_selection_loglik(spec.yi, spec.vi, mu, tau, np.array(omega), steps, sides)
        np.testing.assert_allclose(ll[0, s], expected, rtol=1e-10)
    plain = stats.norm.logpdf(spec.yi, 0.5, np.sqrt(spec.vi))  # omega = 1: no selection
    np.testing.assert_allclose(ll[0, 2], plain, rtol=1e-12)


def test_selection_replicates_follow_the_weighted_density():
    """The share of replicates in each p-value interval is omega_j P_j / sum_j omega_j P_j."""
    steps = (0.025, 0.5)
    spec = bm.MetaAnalysis(_data(), yi="yi", vi="vi", priors=_PRIORS, bias=bm.WeightFunction(steps)).spec
    n = 20000
    mu, tau, omega = 0.1, 0.2, np.array([0.2, 0.5, 1.0])
    post = xr.Dataset({"mu": (["chain", "draw"], np.full((1, n), mu)), "tau": (["chain", "draw"], np.full((1, n), tau)),
                       "omega": (["chain", "draw", "interval"], np.tile(omega, (1, n, 1)))})
    y_rep = replicate(spec, post, "marginal", seed=4)
    for i in (0, 5):
        se, sd = np.sqrt(spec.vi[i]), np.sqrt(tau**2 + spec.vi[i])
        cuts = np.r_[-np.inf, stats.norm.isf([0.5, 0.025]) * se, np.inf]
        probs = np.diff(stats.norm.cdf(cuts, mu, sd)) * omega
        probs /= probs.sum()
        share = np.histogram(y_rep[:, i], cuts)[0] / n
        assert np.all(np.abs(share - probs) <= 4 * np.sqrt(probs * (1 - probs) / n)), (share, probs)
        plain = np.diff(stats.norm.cdf(cuts, mu, sd))  # without the weights: far off
        assert np.max(np.abs(share - plain)) > 0.05


@pytest.mark.slow
def test_selection_fit_log_likelihood_loo_and_ppc():
    """A NUTS fit of a selection model (k = 10, the model tests/bias/test_robma.py compiles): its
    ``log_likelihood()`` is the scipy selection likelihood at its draws; loo and ppc run on it."""
    rng = np.random.default_rng(7)
    v = rng.uniform(0.01, 0.06, 10)
    y = rng.normal(0.35, np.sqrt(v + 0.02))
    ma = bm.MetaAnalysis(yi=y, sei=np.sqrt(v), priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)},
                         bias=bm.WeightFunction((0.025,)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 400 draws: the convergence warnings are expected
        post = ma.fit(draws=200, chains=2, seed=2)
    ll = post.log_likelihood()
    p = post.posterior
    assert ll.shape == (2, 200, 10)
    for c, d in ((0, 5), (1, 150)):
        want = _scipy_selection_loglik(y, v, float(p["mu"].values[c, d]), float(p["tau"].values[c, d]),
                                       p["omega"].values[c, d], (0.025,), "one")
        np.testing.assert_allclose(ll[c, d], want, rtol=1e-10)
    assert np.isfinite(post.loo().elpd)
    check = post.ppc()
    assert check.y_rep.shape == (400, 10) and np.isfinite(check.p_discrepancy)


def test_selection_replicates_that_cannot_be_drawn_are_refused():
    """Weights near 0 wherever the normal density has its mass: an error, not biased replicates."""
    from bayesma.errors import UnsupportedModelError

    spec = bm.MetaAnalysis(_data(), yi="yi", vi="vi", priors=_PRIORS, bias=bm.WeightFunction((0.025, 0.5))).spec
    post = xr.Dataset({"mu": (["chain", "draw"], [[-5.0, -5.0]]), "tau": (["chain", "draw"], [[0.0, 0.0]]),
                       "omega": (["chain", "draw", "interval"], [[[1e-12, 1e-12, 1.0]] * 2])})
    with pytest.raises(UnsupportedModelError, match="rejection sampling"):
        replicate(spec, post, "marginal", seed=1)


def test_pet_replicates_are_shifted_by_the_bias_term():
    """PET: marginal replicates around mu + b se_i, conditional ones around theta_i + b se_i."""
    spec = _meta("PET").spec
    n, mu, tau, b = 20000, 0.1, 0.2, 1.5
    theta = np.linspace(-0.3, 0.3, spec.k)
    post = xr.Dataset({"mu": (["chain", "draw"], np.full((1, n), mu)), "tau": (["chain", "draw"], np.full((1, n), tau)),
                       "PET": (["chain", "draw"], np.full((1, n), b)),
                       "theta": (["chain", "draw", "study"], np.tile(theta, (1, n, 1)))})
    se = np.sqrt(spec.vi)
    for kind, mean, sd in (("marginal", mu + b * se, np.sqrt(spec.vi + tau**2)), ("conditional", theta + b * se, se)):
        y_rep = replicate(spec, post, kind, seed=2)
        assert np.all(np.abs(y_rep.mean(axis=0) - mean) <= 4 * sd / np.sqrt(n)), kind
