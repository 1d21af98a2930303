"""One fit, one set of numbers (issue 9 §2): every place an exact fit shows the pooled
interval, P(mu > 0) or the prediction interval gives the exact posterior's value, checked
against an independent integration (scipy.integrate.quad over tau); NUTS-style posteriors
take every number from the same draws."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special

import bayesma as bm
from bayesma import priors as pr

Y = np.array([0.42, 0.10, 0.55, 0.31, -0.05, 0.38])
V = np.array([0.04, 0.03, 0.06, 0.05, 0.045, 0.08])
MU0, S0, TAU_SCALE = 0.0, 1.0, 0.5


@functools.lru_cache(maxsize=1)
def _tau_post():
    """Normalised p(tau | y) and the conditional normal of mu given tau (independent oracle:
    y ~ N(mu0 1, diag(v + tau^2) + s0^2 11'), determinant and inverse by Sherman-Morrison)."""
    def cond(t):
        w = 1.0 / (V + t * t)
        prec = 1.0 / S0**2 + w.sum()
        return (MU0 / S0**2 + w @ Y) / prec, 1.0 / prec

    def dens(t):
        d = V + t * t
        r = Y - MU0
        c = 1.0 + S0**2 * np.sum(1.0 / d)
        quad = np.sum(r * r / d) - S0**2 * np.sum(r / d) ** 2 / c
        logp = -0.5 * (Y.size * np.log(2 * np.pi) + np.sum(np.log(d)) + np.log(c) + quad)
        return np.exp(logp) * np.sqrt(2 / np.pi) / TAU_SCALE * np.exp(-0.5 * (t / TAU_SCALE) ** 2)

    z = integrate.quad(dens, 0, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]
    return (lambda t: dens(t) / z), cond


def _oracle_cdf(x, extra_var=0.0):
    """P(mu <= x | y) (extra_var = tau^2 for a new study's effect)."""
    p, cond = _tau_post()

    def f(t):
        b, v = cond(t)
        return p(t) * special.ndtr((x - b) / np.sqrt(v + (t * t if extra_var else 0.0)))
    return integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]


def _oracle_quantile(q, new=False):
    return optimize.brentq(lambda x: _oracle_cdf(x, new) - q, -5, 5, xtol=1e-12)


@pytest.fixture(scope="module")
def post():
    m = bm.MetaAnalysis(yi=Y, vi=V, priors={"mu": pr.Normal(MU0, S0), "tau": pr.HalfNormal(TAU_SCALE)})
    return m.fit(engine="exact", draws=500, chains=2, seed=5)


def test_probability_of_a_positive_effect_is_the_same_everywhere(post):
    exact = 1.0 - _oracle_cdf(0.0)
    assert post.p_greater("mu", 0) == pytest.approx(exact, abs=1e-7)
    assert post.prob("mu > 0") == pytest.approx(exact, abs=1e-7)
    assert post.prob("mu>0.0") == pytest.approx(exact, abs=1e-7)
    assert 1.0 - post.p_less("mu", 0) == pytest.approx(exact, abs=1e-7)
    assert 1.0 - post.prob("mu < 0") == pytest.approx(exact, abs=1e-7)
    # the draws alone would differ by Monte-Carlo error (1,000 draws): not what is shown
    assert abs(float(np.mean(post.draws("mu") > 0)) - exact) > 1e-7


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_pooled_and_prediction_intervals_are_the_same_everywhere(post, level):
    a = (1 - level) / 2
    lo, hi = _oracle_quantile(a), _oracle_quantile(1 - a)
    med = _oracle_quantile(0.5)
    s = post.summary(prob=level)
    assert s.loc["mu", ["median", "eti_lower", "eti_upper"]].to_numpy() == pytest.approx([med, lo, hi], abs=1e-6)
    assert post.interval("mu", level) == pytest.approx((med, lo, hi), abs=1e-6)
    assert post.interval("pooled", level) == pytest.approx((med, lo, hi), abs=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cf = post.compare_frequentist(level=level)
    row = cf.loc["Bayesian (exact)"]
    assert [row["estimate"], row["ci_lb"], row["ci_ub"]] == pytest.approx([med, lo, hi], abs=1e-6)
    # prediction interval: theta_new = mu + tau z
    plo, phi = _oracle_quantile(a, new=True), _oracle_quantile(1 - a, new=True)
    assert s.loc["theta_new", ["eti_lower", "eti_upper"]].to_numpy() == pytest.approx([plo, phi], abs=1e-6)
    assert [row["pi_lb"], row["pi_ub"]] == pytest.approx([plo, phi], abs=1e-6)
    assert post.interval("theta_new", level)[1:] == pytest.approx((plo, phi), abs=1e-6)


def test_forest_plot_diamond_and_text_are_exact(post):
    fig = post.forest(level=0.9, digits=3)
    med, lo, hi = post.exact.interval("mu", 0.9)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"{med:.3f} [{lo:.3f}, {hi:.3f}]" in texts
    from matplotlib.patches import Polygon
    diamond = [p for p in fig.axes[0].patches if isinstance(p, Polygon)][0].get_xy()
    assert diamond[:, 0].min() == pytest.approx(lo, abs=1e-12)
    assert diamond[:, 0].max() == pytest.approx(hi, abs=1e-12)
    plo, phi = post.exact.interval("theta_new", 0.9)[1:]
    tmed, tlo, thi = post.exact.interval("theta[1]", 0.9)
    assert f"{tmed:.3f} [{tlo:.3f}, {thi:.3f}]" in texts
    assert any(t.startswith(f"{post.exact.interval('theta_new', 0.9)[0]:.3f} [{plo:.3f}, {phi:.3f}]") for t in texts)


def test_hdi_of_an_exact_fit_is_exact(post):
    s = post.summary(hdi=True, prob=0.9)
    lo, hi = s.loc["tau", ["hdi_lower", "hdi_upper"]]
    # shortest interval: equal density at both ends and 90% between them (tau's exact density)
    d = post.exact.density("tau", np.array([lo, hi]))
    assert post.exact.cdf("tau", hi) - post.exact.cdf("tau", lo) == pytest.approx(0.9, abs=1e-6)
    assert d[0] == pytest.approx(d[1], rel=2e-3) or lo < 1e-6


def test_coefficients_are_looked_up_by_their_exact_name():
    # labels that differ only by spaces/quotes/brackets must not be confused
    rng = np.random.default_rng(3)
    k = 12
    g = np.array(["a b", "a b ", "x'y", "[z]"] * 3)
    yi = rng.normal(0.3, 0.2, k) + np.select([g == "a b ", g == "x'y", g == "[z]"], [0.5, -0.4, 0.9], 0.0)
    vi = np.full(k, 0.02)
    import pandas as pd
    dat = pd.DataFrame({"yi": yi, "vi": vi, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = bm.MetaAnalysis(dat, mods="~ 0 + g", priors={"tau": pr.HalfNormal(0.5)})
    post = m.fit(engine="exact", draws=200, chains=2, seed=1)
    names = list(m.spec.coef_names)
    assert len(set(names)) == len(names)
    s = post.summary()
    for c in names:
        row = f"beta[{c}]"
        p = post.p_greater(row, 0.5)
        # the same number from the coefficient's own exact marginal and from its draws (within MC error)
        j = names.index(c)
        ref = post.exact.prob(row, 0.5)
        assert p == pytest.approx(ref, abs=1e-12)
        d = post.draws("beta", c)
        assert abs(np.mean(d > 0.5) - p) < 0.1
        assert s.loc[row, "median"] == pytest.approx(post.interval(row)[0], abs=1e-9)
        assert post.p_less(row, 0.5) == pytest.approx(1 - p, abs=1e-9)
        assert j >= 0
    # distinct coefficients give distinct answers
    ps = [post.p_greater(f"beta[{c}]", 0.5) for c in names]
    assert len(set(np.round(ps, 6))) == len(names)


def _labelled_fit():
    import pandas as pd
    rng = np.random.default_rng(3)
    g = np.array(["a b", "a b ", "x'y", "[z"] * 3)
    yi = rng.normal(0.3, 0.2, 12) + np.select([g == "a b ", g == "x'y", g == "[z"], [0.5, -0.4, 0.9], 0.0)
    dat = pd.DataFrame({"yi": yi, "vi": np.full(12, 0.02), "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = bm.MetaAnalysis(dat, mods="~ 0 + g", priors={"tau": pr.HalfNormal(0.5)})
    return m, m.fit(engine="exact", draws=500, chains=2, seed=1)


def test_draw_based_posterior_reads_the_coefficient_named_exactly():
    # draws whose coefficient labels differ only by spaces, or hold quotes and brackets
    from bayesma._arviz import from_draws
    from bayesma.results import MetaPosterior
    labels = ["a b", "a b ", " a b", "x'y", "'x'y'", "[z", "z]"]
    rng = np.random.default_rng(0)
    beta = rng.normal(np.arange(len(labels))[None, None, :] * 0.3, 1.0, size=(2, 400, len(labels)))
    idata = from_draws({"beta": beta, "tau": np.abs(rng.normal(size=(2, 400)))},
                       coords={"coef": labels}, dims={"beta": ["coef"]})
    m = bm.MetaAnalysis(yi=Y, vi=V)
    post = MetaPosterior(idata, m.spec, "nuts")
    ps = []
    for j, c in enumerate(labels):
        d = beta[:, :, j].reshape(-1)
        ps.append(post.p_greater(f"beta[{c}]", 0.5))
        assert ps[-1] == float(np.mean(d > 0.5)), c
        assert post.p_less(f"beta[{c}]", 0.5) == float(np.mean(d < 0.5)), c
        assert post.interval(f"beta[{c}]", 0.9)[0] == pytest.approx(float(np.median(d))), c
        if "]" not in c:  # the expression syntax cannot hold a closing bracket inside a label
            assert post.prob(f"beta[{c}] > 0.5") == float(np.mean(d > 0.5)), c
    assert len(set(ps)) == len(labels)


def test_prior_posterior_plot_draws_the_exact_density(post):
    fig = post.plot_prior_posterior()
    for ax, name in zip(fig.axes, ("mu", "tau")):
        line = ax.lines[0]
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        np.testing.assert_allclose(y, post.exact.density(name, x), rtol=1e-12)
        assert np.trapezoid(y, x) == pytest.approx(1.0, abs=2e-3)


def test_a_saved_exact_fit_keeps_its_exact_numbers(post, tmp_path):
    path = post.to_netcdf(str(tmp_path / "fit.nc"))
    again = bm.load_posterior(path)
    assert again.exact is not None
    for level in (0.95, 0.8):
        np.testing.assert_allclose(again.summary(prob=level).loc[["mu", "tau", "theta_new"]].to_numpy(dtype=float),
                                   post.summary(prob=level).loc[["mu", "tau", "theta_new"]].to_numpy(dtype=float),
                                   rtol=1e-12, equal_nan=True)
    assert again.p_greater("mu", 0) == post.p_greater("mu", 0)


def test_mu_of_a_meta_regression_is_its_intercept_everywhere():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(dat, measure="RR", mods="~ ablat").fit(engine="exact", draws=200, chains=2, seed=1)
    exact = post.exact.prob("beta[intrcpt]", 0.0)
    assert post.p_greater("mu", 0) == exact and post.prob("mu > 0") == exact
    assert post.interval("mu", 0.9) == post.exact.interval("beta[intrcpt]", 0.9)
    assert abs(float(np.mean(post.draws("mu") > 0)) - exact) > 1e-9  # not the share of the 400 draws


def test_subgroup_taus_in_the_frequentist_comparison_are_exact():
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    dat["lat"] = np.where(dat["ablat"] > 30, "high", "low")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(dat, measure="RR", tau_by="lat").fit(engine="exact", draws=2500, chains=4, seed=1)
        row = post.compare_frequentist(level=0.9).loc["Bayesian (exact)"]
    ep = post.exact
    # tau: the two subgroups' taus pooled with equal weight; each bound is where the pooled cdf is 5% / 95%
    for x, p in ((row["tau_ci_lb"], 0.05), (row["tau"], 0.5), (row["tau_ci_ub"], 0.95)):
        assert 0.5 * (ep.cdf("tau[high]", x) + ep.cdf("tau[low]", x)) == pytest.approx(p, abs=1e-9)
    for x, p in ((row["pi_lb"], 0.05), (row["pi_ub"], 0.95)):
        assert 0.5 * (ep.cdf("theta_new[high]", x) + ep.cdf("theta_new[low]", x)) == pytest.approx(p, abs=1e-9)
    # the subgroup cdf of tau inverts its quantile function
    for g in ("tau[high]", "tau[low]"):
        q = ep.quantiles(g, [0.1, 0.5, 0.9])
        assert [ep.cdf(g, float(v)) for v in q] == pytest.approx([0.1, 0.5, 0.9], abs=1e-9)
    # and agree with the pooled draws (10,000 draws: Monte-Carlo error)
    tau = post.draws("tau").reshape(-1)
    assert np.quantile(tau, 0.95) == pytest.approx(row["tau_ci_ub"], rel=0.05)


def test_a_draw_based_fit_shows_the_numbers_of_its_draws(post):
    # the exact fit's draws as if NUTS had made them: every place reads the same draws
    from bayesma.results import MetaPosterior
    nuts = MetaPosterior(post.idata, post.spec, "nuts")
    mu = nuts.draws("mu")
    share = float(np.mean(mu > 0))
    assert nuts.p_greater("mu", 0) == share and nuts.prob("mu > 0") == share
    med, lo, hi = float(np.median(mu)), *np.quantile(mu, [0.05, 0.95])
    s = nuts.summary(prob=0.9)
    assert s.loc["mu", ["median", "eti_lower", "eti_upper"]].to_numpy() == pytest.approx([med, lo, hi], rel=1e-12)
    assert nuts.interval("mu", 0.9) == pytest.approx((med, lo, hi), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = nuts.compare_frequentist(level=0.9).loc["Bayesian (nuts)"]
    assert [row["estimate"], row["ci_lb"], row["ci_ub"]] == pytest.approx([med, lo, hi], rel=1e-12)
    texts = [t.get_text() for t in nuts.forest(level=0.9, digits=3).axes[0].texts]
    assert f"{med:.3f} [{lo:.3f}, {hi:.3f}]" in texts
