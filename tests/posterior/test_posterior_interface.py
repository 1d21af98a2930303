"""One posterior interface: MetaPosterior delegates every number to one Posterior.

The exact adapter is checked with marginals written here (a common-effect model with a normal
prior has a normal posterior in closed form), so the numbers come from an independent
computation, not from the code under test."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from scipy import stats

import bayesma as bm
from bayesma import priors as pr
from bayesma.posterior import DrawsPosterior, GridMarginals, Marginal, MarginalPosterior, Posterior
from bayesma.results import MetaPosterior

Y = np.array([0.42, 0.10, 0.55, 0.31, -0.05, 0.38])
V = np.array([0.04, 0.03, 0.06, 0.05, 0.045, 0.08])
S0 = 1.0


def _closed_form():
    """mu | y of the common-effect model with mu ~ Normal(0, S0): normal, in closed form."""
    prec = 1 / S0**2 + np.sum(1 / V)
    return np.sum(Y / V) / prec, np.sqrt(1 / prec)


@pytest.fixture(scope="module")
def common():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = bm.MetaAnalysis(yi=Y, vi=V, model="common", priors={"mu": pr.Normal(0, S0)})
        return m, m.fit(engine="exact", draws=300, chains=2, seed=1)


def _grid_source(spec):
    """The closed-form marginals on a grid: mu, each theta (= mu), theta_new (= mu)."""
    mean, sd = _closed_form()
    x = np.linspace(mean - 12 * sd, mean + 12 * sd, 20001)
    mu = Marginal.from_grid(x, stats.norm.pdf(x, mean, sd))
    rows = {"mu": mu, **{f"theta[{lab}]": mu for lab in spec.labels}, "theta_new": mu, "pooled": mu}
    return GridMarginals(rows, log_marginal_likelihood=-1.0)


def test_both_implementations_follow_the_protocol(common):
    m, post = common
    assert isinstance(post.source, Posterior) and isinstance(post.source, MarginalPosterior)
    assert isinstance(DrawsPosterior(post.idata, m.spec), Posterior)
    assert post.source.needs_diagnostics is False and "no MCMC diagnostics" in post.diagnostics().line()
    assert DrawsPosterior(post.idata, m.spec).needs_diagnostics is True


def test_a_metaposterior_takes_every_number_from_its_marginals(common):
    m, post = common
    mean, sd = _closed_form()
    source = MarginalPosterior(_grid_source(m.spec), m.spec, draws=DrawsPosterior(post.idata, m.spec, mcmc=False),
                               engine="grid")
    p = MetaPosterior(source, m.spec)
    for level in (0.95, 0.8):
        z = stats.norm.ppf(0.5 + level / 2)
        s = p.summary(prob=level)
        assert s.loc["mu", ["mean", "sd", "median", "eti_lower", "eti_upper"]].to_numpy(dtype=float) == pytest.approx(
            [mean, sd, mean, mean - z * sd, mean + z * sd], abs=1e-6)
        assert p.interval("mu", level) == pytest.approx((mean, mean - z * sd, mean + z * sd), abs=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = p.compare_frequentist(level=level).loc["Bayesian (grid)"]
        assert [row["estimate"], row["ci_lb"], row["ci_ub"]] == pytest.approx(
            [mean, mean - z * sd, mean + z * sd], abs=1e-6)
    exact_p = float(stats.norm.sf(0.3, mean, sd))
    assert p.p_greater("mu", 0.3) == pytest.approx(exact_p, abs=1e-7)
    assert p.prob("mu > 0.3") == pytest.approx(exact_p, abs=1e-7)
    assert p.p_less("mu", 0.3) == pytest.approx(1 - exact_p, abs=1e-7)
    assert p.source.p_between("mu", mean - sd, mean + sd) == pytest.approx(0.682689492, abs=1e-6)
    lo, hi = p.summary(hdi=True, prob=0.9).loc["mu", ["hdi_lower", "hdi_upper"]]
    # the shortest interval: 90% between its ends (its location is found to ~1e-4: the width is flat there)
    assert stats.norm.cdf(hi, mean, sd) - stats.norm.cdf(lo, mean, sd) == pytest.approx(0.9, abs=1e-6)
    assert (lo, hi) == pytest.approx((mean - 1.644854 * sd, mean + 1.644854 * sd), abs=1e-4)
    assert p.density("mu", np.array([mean])) == pytest.approx(stats.norm.pdf(mean, mean, sd), rel=1e-6)
    # a statement that combines parameters is a share of the draws
    share = float(np.mean(post.draws("theta", m.spec.labels[0]) < post.draws("mu") + 1))
    assert p.prob(f"theta[{m.spec.labels[0]}] < mu + 1") == share
    text = [t.get_text() for t in p.forest(level=0.9, digits=3).axes[0].texts]
    assert f"{mean:.3f} [{mean - 1.644854 * sd:.3f}, {mean + 1.644854 * sd:.3f}]" in text


def test_the_exact_engine_agrees_with_the_closed_form(common):
    _, post = common
    mean, sd = _closed_form()
    assert post.interval("mu", 0.9) == pytest.approx((mean, mean - 1.644854 * sd, mean + 1.644854 * sd), abs=1e-6)
    assert post.source.moments("mu") == pytest.approx((mean, sd), abs=1e-9)


def test_weighted_draws_give_a_marginal():
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 1.0, 200_000)
    w = np.exp(0.5 * x)  # importance weights: N(0, 1) reweighted to N(0.5, 1)
    m = Marginal.from_weighted_draws(x, w)
    assert m.mean == pytest.approx(0.5, abs=0.01) and m.sd == pytest.approx(1.0, abs=0.01)
    assert m.quantiles([0.5])[0] == pytest.approx(0.5, abs=0.02)
    assert m.cdf(0.5) == pytest.approx(0.5, abs=0.01)
    with pytest.raises(KeyError):
        m.density(np.array([0.0]))
    with pytest.raises(ValueError):
        Marginal.from_weighted_draws([1.0, 2.0], [-1.0, 1.0])


def test_a_metaposterior_is_not_changed_after_it_is_built(common):
    _, post = common
    for attr in ("spec", "engine", "idata", "fit_info", "fit_seconds", "exact", "source"):
        with pytest.raises(AttributeError):
            setattr(post, attr, None)
    with pytest.raises(TypeError):
        post.fit_info["seed"] = 3  # type: ignore[index]


def test_a_pickled_posterior_keeps_its_numbers(common):
    _, post = common
    again = pickle.loads(pickle.dumps(post))
    assert again.summary().equals(post.summary()) and again.p_greater("mu", 0.2) == post.p_greater("mu", 0.2)
    assert dict(again.fit_info) == dict(post.fit_info)


def test_marginals_without_draws_answer_for_their_quantities(common):
    m, _ = common
    p = MarginalPosterior(_grid_source(m.spec), m.spec)
    assert p.idata is None and p.names()[0] == "mu"
    with pytest.raises(KeyError, match="no draws"):
        p.draws("mu")
    with pytest.raises(ValueError, match="needs posterior draws"):
        MetaPosterior(p, m.spec)
