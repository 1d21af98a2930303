"""Tests for bayesma.priors: densities, quantiles, draws, PyMC agreement, parsing, presets."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import integrate, stats

from bayesma import priors as P

# one instance of every family, with hyperparameters away from the defaults
LOCATION = [P.Normal(0.3, 2.0), P.StudentT(4, -0.5, 1.5), P.Cauchy(0.2, 0.7)]
TAU = [
    P.HalfNormal(0.5),
    P.HalfCauchy(0.3),
    P.HalfStudentT(3, 0.4),
    P.Exponential(2.5),
    P.Uniform(0, 2.0),
    P.Uniform(0.25, 1.5),
]
TAU2 = [P.LogNormal(-3.95, 1.34), P.LogStudentT(5, -3.44, 2.59), P.InverseGamma(2.0, 0.1)]
NU = [P.Gamma(2, 0.1)]
ALL = LOCATION + TAU + TAU2 + NU
HET = TAU + TAU2


def _ids(seq):
    return [repr(p) for p in seq]


def _integrate(f, prior, lo, hi):
    """Integrate f over (lo, hi), split at quantiles of the prior so quad sees the mass.

    The log-t density on tau^2 (or tau) is too heavy-tailed for quad on (0, inf);
    for it, integrate f(e^u) e^u over u, the same integral after an exact change of
    variables.
    """
    q = np.array([1e-6, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.9999, 1 - 1e-6])
    if prior.is_heterogeneity and f.__name__ == "tau_density":
        pts = prior.ppf_tau(q)
    else:
        pts = prior.ppf(q)
    if isinstance(prior, P.LogStudentT):
        g = f
        f = lambda u: g(math.exp(u)) * math.exp(u)  # noqa: E731
        # t_5 mass beyond |u| = 300 is below 1e-10
        pts, lo, hi = np.log(pts), -300.0, 300.0
    pts = np.unique(np.clip(pts, lo, hi))
    edges = [lo, *[p for p in pts if lo < p < hi], hi]
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        val, _ = integrate.quad(f, a, b, limit=500, epsabs=1e-12, epsrel=1e-10)
        total += val
    return total


def _own_support(prior):
    if prior.target == "location":
        return -math.inf, math.inf
    if prior.target == "tau2":
        return 0.0, math.inf
    return prior.support()


# ---------------------------------------------------------------------------
# densities
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("prior", ALL, ids=_ids(ALL))
def test_logpdf_integrates_to_one(prior):
    lo, hi = _own_support(prior)

    def own_density(x):
        return math.exp(prior.logpdf(x))

    assert _integrate(own_density, prior, lo, hi) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("prior", HET, ids=_ids(HET))
def test_logpdf_tau_integrates_to_one(prior):
    lo, hi = prior.support()

    def tau_density(t):
        return math.exp(prior.logpdf_tau(t))

    assert _integrate(tau_density, prior, lo, hi) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("prior", TAU, ids=_ids(TAU))
def test_logpdf_tau_equals_logpdf_for_tau_priors(prior):
    x = np.array([0.3, 0.8, 1.2])
    np.testing.assert_allclose(prior.logpdf_tau(x), prior.logpdf(x))


@pytest.mark.parametrize("prior", TAU2, ids=_ids(TAU2))
def test_logpdf_tau_has_jacobian(prior):
    tau = np.array([0.05, 0.2, 0.9])
    np.testing.assert_allclose(
        prior.logpdf_tau(tau), prior.logpdf(tau**2) + np.log(2 * tau), rtol=1e-12
    )


def test_known_densities():
    x = np.array([0.1, 0.5, 2.0])
    np.testing.assert_allclose(P.HalfNormal(0.5).logpdf(x), stats.halfnorm(scale=0.5).logpdf(x))
    np.testing.assert_allclose(
        P.HalfStudentT(3, 0.4).logpdf(x), np.log(2) + stats.t(3, scale=0.4).logpdf(x)
    )
    # log-t on tau^2: t density of log(x), divided by x
    np.testing.assert_allclose(
        P.LogStudentT(5, -3.44, 2.59).logpdf(x),
        stats.t(5, loc=-3.44, scale=2.59).logpdf(np.log(x)) - np.log(x),
    )
    np.testing.assert_allclose(
        P.LogNormal(-3.95, 1.34).logpdf(x), stats.norm(-3.95, 1.34).logpdf(np.log(x)) - np.log(x)
    )
    np.testing.assert_allclose(P.Exponential(2.5).logpdf(x), np.log(2.5) - 2.5 * x)
    np.testing.assert_allclose(P.Gamma(2, 0.1).logpdf(x), stats.gamma(2, scale=10).logpdf(x))


@pytest.mark.parametrize("prior", HET, ids=_ids(HET))
def test_outside_support_is_minus_inf(prior):
    assert prior.logpdf_tau(-0.5) == -np.inf
    assert prior.logpdf(-0.5) == -np.inf
    assert np.all(np.isfinite(prior.logpdf_tau(np.array([0.3, 0.6]))))


def test_tau2_priors_at_zero():
    for prior in TAU2:
        with np.errstate(all="raise"):
            assert prior.logpdf_tau(0.0) == -np.inf
            assert prior.logpdf(0.0) == -np.inf


def test_location_prior_has_no_tau_density():
    with pytest.raises(TypeError, match="heterogeneity"):
        P.Normal(0, 1).logpdf_tau(0.5)


# ---------------------------------------------------------------------------
# quantiles and draws
# ---------------------------------------------------------------------------

QS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])


@pytest.mark.parametrize("prior", ALL, ids=_ids(ALL))
def test_ppf_tau_and_rvs_agree(prior):
    n = 20_000
    draws = np.asarray(prior.rvs(n, rng=np.random.default_rng(42)))
    assert draws.shape == (n,)
    lo, hi = prior.support()
    assert np.all((draws >= lo) & (draws <= hi))
    cut = prior.ppf_tau(QS)
    frac = np.array([(draws <= c).mean() for c in cut])
    # binomial Monte Carlo error of a proportion, 5 standard errors
    assert np.all(np.abs(frac - QS) < 5 * np.sqrt(QS * (1 - QS) / n))


@pytest.mark.parametrize("prior", HET, ids=_ids(HET))
def test_ppf_tau_inverts_cdf_tau(prior):
    np.testing.assert_allclose(prior.cdf_tau(prior.ppf_tau(QS)), QS, rtol=1e-8)


@pytest.mark.parametrize("prior", HET, ids=_ids(HET))
def test_ppf_tau_matches_density(prior):
    lo, _ = prior.support()
    for q in (0.1, 0.5, 0.9):
        t = float(prior.ppf_tau(q))
        mass, _ = integrate.quad(lambda x: math.exp(prior.logpdf_tau(x)), lo, t, limit=200)
        assert mass == pytest.approx(q, abs=1e-7)


def test_known_quantiles():
    assert P.HalfNormal(0.5).ppf_tau(0.5) == pytest.approx(0.5 * stats.norm.ppf(0.75))
    assert P.LogNormal(-3.95, 1.34).ppf_tau(0.5) == pytest.approx(math.exp(-3.95 / 2))
    assert P.LogStudentT(5, -3.44, 2.59).ppf_tau(0.5) == pytest.approx(math.exp(-3.44 / 2))
    assert P.Uniform(0, 2.0).ppf_tau(0.25) == pytest.approx(0.5)


def test_rvs_reproducible_with_seed():
    p = P.HalfCauchy(0.5)
    np.testing.assert_array_equal(p.rvs(10, rng=1), p.rvs(10, rng=1))
    np.testing.assert_array_equal(
        p.rvs(10, rng=np.random.default_rng(3)), p.rvs(10, rng=np.random.default_rng(3))
    )


def test_support():
    assert P.HalfNormal(1).support() == (0.0, math.inf)
    assert P.LogNormal(0, 1).support() == (0.0, math.inf)
    assert P.Uniform(1, 3).support() == (1.0, 3.0)
    assert P.Normal().support() == (-math.inf, math.inf)
    assert P.Gamma().support() == (0.0, math.inf)


# ---------------------------------------------------------------------------
# PyMC
# ---------------------------------------------------------------------------

pm = pytest.importorskip("pymc")


def _pymc_check_points(prior):
    if prior.target == "location":
        return np.array([-1.3, 0.0, 0.4, 2.5])
    if prior.target == "tau":
        lo, hi = prior.support()
        return np.array([lo + 0.1 * (min(hi, 2.0) - lo), 0.4, 0.9]) if hi > 0.9 else None
    return np.array([0.01, 0.2, 1.3])  # tau2 or nu


@pytest.mark.parametrize("prior", ALL, ids=_ids(ALL))
def test_pymc_logp_matches_logpdf(prior):
    name = "tau" if prior.is_heterogeneity else ("nu" if prior.target == "nu" else "mu")
    with pm.Model() as model:
        out = prior.pymc(name)
    assert out.name == name
    points = _pymc_check_points(prior)
    if isinstance(prior, P.LogStudentT):
        rv = model["log_tau2"]
        logs = np.log(points)
        got = np.array([pm.logp(rv, v).eval() for v in logs])
        # the log_tau2 RV is Student-t; the tau^2 density is that minus log(tau^2)
        np.testing.assert_allclose(got - logs, prior.logpdf(points), rtol=1e-6)
        assert {"log_tau2", "tau2", "tau"} <= set(model.named_vars)
        return
    if prior.target == "tau2":
        rv = model["tau2"]
        assert model["tau"] is out
    else:
        rv = model[name]
        assert rv is out
    got = np.array([pm.logp(rv, v).eval() for v in points])
    np.testing.assert_allclose(got, prior.logpdf(points), rtol=1e-6)


@pytest.mark.parametrize("prior", TAU2, ids=_ids(TAU2))
def test_pymc_tau2_prior_returns_tau(prior):
    with pm.Model() as model:
        tau = prior.pymc("tau")
    assert tau.name == "tau"
    assert "tau2" in model.named_vars
    assert "tau" in [d.name for d in model.deterministics]
    draws = pm.draw([model["tau2"], tau], draws=200, random_seed=1)
    np.testing.assert_allclose(draws[1], np.sqrt(draws[0]), rtol=1e-10)


def test_pymc_squared_names():
    assert P.squared_name("tau") == "tau2"
    assert P.squared_name("tau_study") == "tau2_study"
    assert P.squared_name("omega") == "omega_sq"
    with pm.Model() as model:
        P.LogNormal(-2, 1).pymc("tau_study")
        P.LogStudentT(5, -2, 1).pymc("omega")
    assert {"tau2_study", "tau_study", "log_omega_sq", "omega_sq", "omega"} <= set(model.named_vars)


def test_pymc_dims_pass_through():
    with pm.Model(coords={"coef": ["a", "b", "c"]}) as model:
        beta = P.Normal(0, 2).pymc("beta", dims="coef")
        tau = P.LogNormal(-2, 1).pymc("tau", dims="coef")
    assert tuple(beta.shape.eval()) == (3,)
    assert tuple(tau.shape.eval()) == (3,)
    assert model.named_vars_to_dims["tau"] == ("coef",)
    assert model.named_vars_to_dims["tau2"] == ("coef",)


@pytest.mark.parametrize(
    "prior, key, new",
    [
        (P.HalfNormal(0.5), "sigma", 1.5),
        (P.LogNormal(-3.95, 1.34), "mu", -2.0),
        (P.LogStudentT(5, -3.44, 2.59), "sigma", 1.0),
        (P.Normal(0, 1), "sigma", 4.0),
        (P.Uniform(0, 2.0), "upper", 5.0),
    ],
    ids=lambda x: repr(x) if isinstance(x, P.Prior) else str(x),
)
def test_pymc_data_hyperparameters(prior, key, new):
    name = "tau" if prior.is_heterogeneity else "mu"
    with pm.Model() as model:
        h = pm.Data("h", prior.params[key])
        prior.pymc(name, params={key: h})
    rvname = {"tau2": "tau2", "tau": "tau", "location": "mu"}[prior.target]
    if isinstance(prior, P.LogStudentT):
        rvname = "log_tau2"
    x = 0.3
    rv = model[rvname]
    logp = pm.logp(rv, x)

    def own(p):  # the density the RV should have, on the RV's scale
        if isinstance(p, P.LogStudentT):
            return float(p.logpdf(math.exp(x)) + x)
        return float(p.logpdf(x))

    assert float(logp.eval()) == pytest.approx(own(prior), rel=1e-6)
    with model:
        pm.set_data({"h": new})
    assert float(logp.eval()) == pytest.approx(own(prior.with_params(**{key: new})), rel=1e-6)


def test_pymc_params_unknown_key():
    with pm.Model():
        with pytest.raises(ValueError, match="no hyperparameter"):
            P.HalfNormal(0.5).pymc("tau", params={"scale": 1.0})


def test_import_does_not_load_pymc():
    import subprocess
    import sys

    code = "import sys, bayesma.priors as p; p.parse('halfnormal(0.5)'); print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# repr, equality, parse
# ---------------------------------------------------------------------------


def test_repr_strings():
    assert repr(P.HalfNormal(0.5)) == "HalfNormal(sigma=0.5)"
    assert repr(P.HalfCauchy(1)) == "HalfCauchy(beta=1)"
    assert repr(P.HalfStudentT(3, 0.5)) == "HalfStudentT(nu=3, sigma=0.5)"
    assert repr(P.Exponential(2)) == "Exponential(lam=2)"
    assert repr(P.Uniform(0, 2)) == "Uniform(lower=0, upper=2)"
    assert repr(P.Normal(0, 1e3)) == "Normal(mu=0, sigma=1000)"
    assert repr(P.StudentT(3)) == "StudentT(nu=3, mu=0, sigma=1)"
    assert repr(P.Cauchy()) == "Cauchy(alpha=0, beta=1)"
    assert repr(P.LogNormal(-3.95, 1.34)) == "LogNormal(mu=-3.95, sigma=1.34)"
    assert repr(P.LogStudentT(5, -3.44, 2.59)) == "LogStudentT(nu=5, mu=-3.44, sigma=2.59)"
    assert repr(P.InverseGamma(0.001, 0.001)) == "InverseGamma(alpha=0.001, beta=0.001)"
    assert repr(P.Gamma()) == "Gamma(alpha=2, beta=0.1)"


def test_family_params_target():
    p = P.LogStudentT(5, -3.44, 2.59)
    assert p.family == "LogStudentT"
    assert p.target == "tau2"
    assert p.params == {"nu": 5.0, "mu": -3.44, "sigma": 2.59}
    assert list(p.params) == ["nu", "mu", "sigma"]
    p.params["mu"] = 0.0  # a copy: the prior is unchanged
    assert p.params["mu"] == -3.44
    assert [q.target for q in (P.Normal(), P.HalfNormal(), P.InverseGamma(1, 1), P.Gamma())] == [
        "location",
        "tau",
        "tau2",
        "nu",
    ]


def test_equality_and_hash():
    assert P.HalfNormal(0.5) == P.HalfNormal(sigma=0.5)
    assert P.HalfNormal(0.5) != P.HalfNormal(0.6)
    assert P.HalfNormal(1) != P.HalfCauchy(1)
    assert len({P.HalfNormal(0.5), P.HalfNormal(sigma=0.5), P.HalfCauchy(0.5)}) == 2
    labelled = P.turner2015()
    assert labelled == P.LogNormal(-3.95, 1.34)  # the label is not part of equality
    assert pickle.loads(pickle.dumps(labelled)).label == labelled.label


@pytest.mark.parametrize("prior", ALL, ids=_ids(ALL))
def test_parse_round_trips_repr(prior):
    assert P.parse(repr(prior)) == prior
    assert P.parse(repr(prior).lower()) == prior


def test_parse_examples():
    assert P.parse("halfnormal(0.5)") == P.HalfNormal(0.5)
    assert P.parse("HalfCauchy(beta=1)") == P.HalfCauchy(1)
    assert P.parse("normal(0, 1)") == P.Normal(0, 1)
    assert P.parse("uniform(0, 2)") == P.Uniform(0, 2)
    assert P.parse("uniform(0.5, 2)") == P.Uniform(0.5, 2) == P.Uniform(lower=0.5, upper=2)
    assert P.parse("lognormal(-3.95, 1.34)") == P.LogNormal(-3.95, 1.34)
    assert P.parse("half_normal(sigma=0.5)") == P.HalfNormal(0.5)
    assert P.parse("halft(3, 0.5)") == P.HalfStudentT(3, 0.5)
    assert P.parse("logt(5, -3.44, 2.59)") == P.LogStudentT(5, -3.44, 2.59)
    assert P.parse("invgamma(0.001, 0.001)") == P.InverseGamma(0.001, 0.001)
    assert P.parse("normal(0, 1e3)") == P.Normal(0, 1000)
    assert P.parse("gamma(2, 0.1)") == P.Gamma(2, 0.1)
    assert P.parse(" exponential( lam = 2 ) ") == P.Exponential(2)
    assert P.parse("turner2015('all-cause mortality')") == P.LogNormal(-3.95, 1.34)
    assert P.parse(
        "Turner2015(outcome='pain', comparison='pharmacological vs. pharmacological')"
    ) == P.LogNormal(-2.06, 1.58)
    assert P.parse("rhodes2015()") == P.LogStudentT(5, -3.44, 2.59)
    p = P.HalfNormal(1)
    assert P.parse(p) is p


@pytest.mark.parametrize(
    "spec, match",
    [
        ("halfnormel(0.5)", "known families: Normal.*HalfNormal"),
        ("halfnormal(-1)", "sigma must be positive"),
        ("halfnormal(0.5, 1)", "signature is HalfNormal"),
        ("halfnormal(scale=1)", "signature is HalfNormal"),
        ("normal(0, x)", "arguments must be numbers"),
        ("normal(0, 'a')", "takes numbers"),
        ("halfnormal(0.5", "cannot parse"),
        ("1 + 2", "cannot parse"),
        ("uniform(2, 1)", "upper must be greater than lower"),
        ("uniform(-1, 1)", "lower must be >= 0"),
        ("turner2015('no such outcome')", "no outcome matches"),
    ],
)
def test_parse_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        P.parse(spec)


def test_as_prior_checks_target():
    assert P.as_prior("halfnormal(1)", target=("tau", "tau2")) == P.HalfNormal(1)
    with pytest.raises(ValueError, match="prior for 'tau' must be a prior on tau or tau2"):
        P.as_prior("normal(0, 1)", target=("tau", "tau2"), name="tau")


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: P.HalfNormal(0), "HalfNormal: sigma must be positive"),
        (lambda: P.HalfNormal(float("nan")), "sigma must be finite"),
        (lambda: P.HalfNormal(float("inf")), "sigma must be finite"),
        (lambda: P.HalfNormal("0.5"), "sigma must be a real number"),
        (lambda: P.HalfNormal(True), "sigma must be a real number"),
        (lambda: P.Normal(0, -1), "Normal: sigma must be positive"),
        (lambda: P.StudentT(0), "nu must be positive"),
        (lambda: P.Cauchy(0, 0), "beta must be positive"),
        (lambda: P.HalfCauchy(-1), "beta must be positive"),
        (lambda: P.HalfStudentT(-3, 1), "nu must be positive"),
        (lambda: P.Exponential(0), "lam must be positive"),
        (lambda: P.Uniform(-0.5, 1), "lower must be >= 0"),
        (lambda: P.Uniform(0, 0), "upper must be greater than lower"),
        (lambda: P.LogNormal(0, 0), "LogNormal: sigma must be positive"),
        (lambda: P.LogStudentT(5, 0, -1), "sigma must be positive"),
        (lambda: P.InverseGamma(0, 1), "alpha must be positive"),
        (lambda: P.Gamma(2, 0), "beta must be positive"),
    ],
)
def test_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_numpy_scalars_accepted():
    assert P.HalfNormal(np.float32(0.5)) == P.HalfNormal(0.5)
    assert P.Normal(np.int64(0), np.array(2.0)) == P.Normal(0, 2)


# ---------------------------------------------------------------------------
# defaults
# ---------------------------------------------------------------------------


def test_default_priors_by_measure():
    assert P.default_priors("OR")["tau"] == P.HalfNormal(sigma=0.5)
    assert P.default_priors("OR")["mu"] == P.Normal(0, 8)
    assert P.default_priors("or")["tau"] == P.HalfNormal(0.5)
    assert P.default_priors("RR")["tau"] == P.HalfNormal(0.5)
    assert P.default_priors("SMD")["tau"] == P.HalfNormal(0.5)
    assert P.default_priors("ZCOR")["tau"] == P.HalfNormal(0.25)
    assert P.default_priors("ZCOR")["mu"] == P.Normal(0, 4)
    assert P.default_priors("COR")["tau"] == P.HalfNormal(0.25)
    assert set(P.default_priors("OR")) == {"mu", "tau"}


def test_unit_information_sd():
    assert P.unit_information_sd("OR") == 2.0
    assert P.unit_information_sd("SMD") == 2.0
    assert P.unit_information_sd("ZCOR") == 1.0
    vi = np.array([0.5, 0.25, 0.1])
    ni = np.array([20, 40, 100])
    expect = math.sqrt(ni.sum() / (1 / vi).sum())
    assert P.unit_information_sd("MD", vi=vi, ni=ni) == pytest.approx(expect)
    assert P.unit_information_sd(None, vi=vi, ni=ni) == pytest.approx(expect)
    # a study with se^2 = sigma_u^2 / n exactly recovers sigma_u
    assert P.unit_information_sd("ROM", vi=9.0 / ni, ni=ni) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="give the sampling variances vi and the sample sizes ni"):
        P.unit_information_sd("MD")
    with pytest.raises(ValueError, match="row 2"):
        P.unit_information_sd("MD", vi=[0.1, -0.2], ni=[10, 20])
    with pytest.raises(ValueError, match="same length"):
        P.unit_information_sd("MD", vi=[0.1, 0.2], ni=[10, 20, 30])


def test_default_priors_raw_measure_with_n():
    vi = 4.0 / np.array([20, 40, 80])
    d = P.default_priors("MD", vi=vi, ni=[20, 40, 80])
    assert d["tau"] == P.HalfNormal(0.5)
    assert d["mu"] == P.Normal(0, 8)


def test_default_priors_fallback():
    yi = np.array([0.1, 0.5, 0.3, 0.9])
    vi = np.array([0.04, 0.09, 0.01, 0.04])
    s = max(np.std(yi, ddof=1), math.sqrt(np.median(vi)))
    d = P.default_priors(None, yi=yi, vi=vi)
    assert d["tau"] == P.HalfNormal(s)
    assert d["mu"] == P.Normal(0, 10 * max(s, 0.9))
    assert "fallback" in d["tau"].label
    # raw effects far from zero keep mu's prior wide
    d = P.default_priors("MD", yi=[100.0, 104.0], vi=[4.0, 4.0])
    assert d["mu"].params["sigma"] >= 1000
    with pytest.raises(ValueError, match="cannot choose default priors"):
        P.default_priors()


# ---------------------------------------------------------------------------
# empirical presets
# ---------------------------------------------------------------------------


def test_turner2015_table_values():
    tab = P.turner2015_table()
    assert list(tab.columns) == [
        "outcome_type",
        "comparison_type",
        "tau2_lognormal_meanlog",
        "tau2_lognormal_sdlog",
    ]
    assert len(tab) == 80
    assert P.turner2015() == P.LogNormal(-3.95, 1.34)
    assert P.turner2015(
        "all-cause mortality", "pharmacological vs. placebo / control"
    ) == P.LogNormal(-3.95, 1.34)
    assert P.turner2015("PAIN", "Non-pharmacological vs. pharmacological") == P.LogNormal(-0.8, 1.25)
    # unique substrings
    assert P.turner2015("withdrawals", "non-pharmacological vs. non") == P.LogNormal(-2.55, 1.68)
    for _, row in tab.iterrows():
        p = P.turner2015(row["outcome_type"], row["comparison_type"])
        assert p == P.LogNormal(row["tau2_lognormal_meanlog"], row["tau2_lognormal_sdlog"])


def test_turner2015_errors():
    with pytest.raises(ValueError, match="matches several") as exc:
        P.turner2015("mortality")  # all-cause and cause-specific
    assert "all-cause mortality" in str(exc.value)
    with pytest.raises(ValueError, match="matches several"):
        P.turner2015("pain", "placebo")  # pharmacological and non-pharmacological
    with pytest.raises(ValueError, match="no comparison matches.*\n.*pharmacological vs"):
        P.turner2015("pain", "surgery vs. nothing")


def test_rhodes2015_table_values():
    tab = P.rhodes2015_table()
    assert list(tab.columns) == [
        "medical_area",
        "outcome_type",
        "comparison_type",
        "tau2_logt5_location",
        "tau2_logt5_scale",
    ]
    assert len(tab) == 73
    p = P.rhodes2015()
    assert p == P.LogStudentT(nu=5, mu=-3.44, sigma=2.59)
    assert repr(p) == "LogStudentT(nu=5, mu=-3.44, sigma=2.59)"
    assert "Rhodes" in p.label
    assert P.rhodes2015(
        "mental health outcome", "non-pharmacological (any)", "other"
    ) == P.LogStudentT(5, -3.85, 1.93)
    assert P.rhodes2015("biological marker", "pharmacological vs. pharmacological", "cancer") == (
        P.LogStudentT(5, -1.13, 2.87)
    )
    for _, row in tab.iterrows():
        p = P.rhodes2015(row["outcome_type"], row["comparison_type"], row["medical_area"])
        assert p == P.LogStudentT(5, row["tau2_logt5_location"], row["tau2_logt5_scale"])


def test_rhodes2015_errors():
    with pytest.raises(ValueError, match="has no row with"):
        P.rhodes2015(area="cancer")  # outcome and comparison left at "any"
    with pytest.raises(ValueError, match="no area matches"):
        P.rhodes2015("mental health", "placebo", area="cardiology")


def test_table_is_a_copy():
    tab = P.turner2015_table()
    tab.loc[0, "tau2_lognormal_meanlog"] = 99.0
    assert P.turner2015() == P.LogNormal(-3.95, 1.34)


# ---------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------


def test_describe():
    text = P.describe({"mu": P.Normal(0, 8), "tau": P.HalfNormal(0.5)})
    lines = text.splitlines()
    assert lines[0] == "mu  ~ Normal(mu=0, sigma=8)"
    assert lines[1].startswith("tau ~ HalfNormal(sigma=0.5)  (tau: median 0.337")
    text = P.describe({"tau": P.turner2015(), "nu": "gamma(2, 0.1)"})
    assert "LogNormal(mu=-3.95, sigma=1.34) on tau^2" in text
    assert "Turner et al. (2015)" in text
    assert text.splitlines()[1] == "nu  ~ Gamma(alpha=2, beta=0.1)"
    assert P.describe({}) == ""


# ---------------------------------------------------------------------------
# issue 9: missing hyperparameters, Uniform(lower, upper), seeds
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, missing",
    [
        ("normal(0)", "sigma"),
        ("halfnormal()", "sigma"),
        ("halfnormal", "sigma"),
        ("studentt(3)", "mu, sigma"),
        ("uniform(2)", "upper"),
        ("gamma", "alpha, beta"),
        ("cauchy(beta=1)", "alpha"),
    ],
)
def test_parse_missing_hyperparameters_are_errors_not_defaults(spec, missing):
    with pytest.raises(ValueError, match=f"missing {missing}"):
        P.parse(spec)


def test_parse_missing_hyperparameters_everywhere_a_spec_is_taken():
    import bayesma as bm

    with pytest.raises(ValueError, match="missing sigma"):
        P.as_prior("halfnormal()", target=("tau", "tau2"), name="tau")
    with pytest.raises(ValueError, match="missing sigma"):
        bm.MetaAnalysis(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.03], priors={"mu": "normal(0)"})
    with pytest.raises(ValueError, match="missing sigma"):
        bm.compare_priors(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.03], tau_priors=["halfnormal()"])


def test_uniform_takes_lower_then_upper():
    u = P.Uniform(0.5, 2.0)
    assert u.params == {"lower": 0.5, "upper": 2.0}
    assert u == P.parse("uniform(0.5, 2)") == P.Uniform(lower=0.5, upper=2)
    assert u.support() == (0.5, 2.0)
    with pytest.raises(TypeError):
        P.Uniform(2.0)  # one number is not a uniform prior: upper is required
    with pytest.raises(ValueError, match="upper must be greater than lower"):
        P.Uniform(2.0, 0.5)  # the old (upper, lower) order is refused, not reinterpreted


@pytest.mark.parametrize("bad", [1.5, 1.0, "1", True, -1])
def test_rvs_seed_must_be_a_nonnegative_integer(bad):
    with pytest.raises((TypeError, ValueError), match="rng"):
        P.HalfNormal(0.5).rvs(size=3, rng=bad)
    assert np.array_equal(P.HalfNormal(0.5).rvs(size=3, rng=np.int64(4)), P.HalfNormal(0.5).rvs(size=3, rng=4))
