"""Binomial- and Poisson-normal models (MetaAnalysis with counts): input checks, engine choice, and
NUTS against a numerical integration written here (not the package's code)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import bayesma as bm
from bayesma.errors import InputError

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_cases_v3.json"

TABLES = pd.DataFrame({"study": ["A", "B", "C"], "ai": [2, 0, 5], "n1i": [30, 25, 40], "ci": [8, 3, 9],
                       "n2i": [30, 25, 38]})
RATES = pd.DataFrame({"study": ["A", "B", "C"], "x1i": [3, 1, 12], "t1i": [400.0, 250.0, 900.0],
                      "x2i": [9, 4, 15], "t2i": [420.0, 260.0, 880.0]})
PRIORS = {"mu": bm.priors.Normal(0, 2), "tau": bm.priors.HalfNormal(0.5), "baseline": bm.priors.Normal(-2, 2)}


# --------------------------------------------------------------------------------------------
# the independent computation: per study, g_i(theta) = int p(counts | alpha, theta) p(alpha) dalpha
# on a fine theta grid; then p(mu, tau | y) on a grid with theta = mu + tau z by Gauss-Hermite
# --------------------------------------------------------------------------------------------
def _log_arm(kind, e, n, eta):
    if kind == "binomial":
        return stats.binom.logpmf(e, n, special.expit(eta))
    return stats.poisson.logpmf(e, n * np.exp(eta))


def _log_g(kind, e1, n1, e2, n2, theta, base_mu, base_sd):
    alpha = np.linspace(base_mu - 9 * base_sd, base_mu + 9 * base_sd, 1601)
    da = alpha[1] - alpha[0]
    th, al = theta[:, None], alpha[None, :]
    lp = (_log_arm(kind, e1, n1, al + th / 2) + _log_arm(kind, e2, n2, al - th / 2)
          + stats.norm.logpdf(al, base_mu, base_sd))
    return special.logsumexp(lp, axis=1) + np.log(da)


def _posterior_moments(kind, data, cols):
    theta = np.linspace(-8, 8, 3201)
    log_g = [_log_g(kind, *(row[c] for c in cols), theta, -2.0, 2.0) for _, row in data.iterrows()]
    mu = np.linspace(-5, 5, 401)
    tau = np.linspace(1e-4, 2.5, 400)
    z, wz = np.polynomial.hermite_e.hermegauss(40)
    wz = wz / wz.sum()
    M, T = np.meshgrid(mu, tau, indexing="ij")
    lp = stats.norm.logpdf(M, 0, 2) + stats.halfnorm.logpdf(T, scale=0.5)
    pts = M[..., None] + T[..., None] * z
    for lg in log_g:
        lp += special.logsumexp(np.interp(pts, theta, lg) + np.log(wz), axis=-1)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    out = {}
    for name, grid in (("mu", M), ("tau", T)):
        m = float((w * grid).sum())
        out[name] = (m, float(np.sqrt((w * (grid - m) ** 2).sum())))
    return out


# --------------------------------------------------------------------------------------------
def test_counts_of_a_2x2_table_build_a_binomial_model_with_escalc_values_beside_them():
    m = bm.MetaAnalysis(TABLES, ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR", likelihood="binomial",
                        priors=PRIORS)
    esc = bm.escalc("OR", ai=TABLES.ai, n1i=TABLES.n1i, ci=TABLES.ci, n2i=TABLES.n2i)
    np.testing.assert_allclose(m.spec.yi, esc["yi"])  # what forest plots and rma(...) beside it show
    np.testing.assert_array_equal(m.spec.counts.e1, [2, 0, 5])
    np.testing.assert_array_equal(m.spec.counts.n2, [30, 25, 38])
    assert m.spec.labels == ["A", "B", "C"]
    assert "binomial-normal model (OR, fixed study baselines)" in m.spec.describe()


def test_the_exact_engine_fits_counts_with_fixed_baselines_and_says_why_not_with_random_ones():
    from bayesma.exact.capability import choose_engine, exact_support

    m = bm.MetaAnalysis(TABLES, ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR", likelihood="binomial")
    assert exact_support(m).ok and choose_engine("auto", m.spec)[0] == "exact"
    r = bm.MetaAnalysis(TABLES, ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR", likelihood="binomial",
                        baseline="random")
    support = exact_support(r)
    assert not support.ok and "baseline='random'" in support.reason
    assert choose_engine("auto", r.spec)[0] == "nuts"
    with pytest.raises(Exception, match="baseline='random'"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r.fit(engine="exact")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(ai=[5, 2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR"), r"column 'ai': study '1' \(row 1\) has more events \(5\) than its group size \(4, column 'n1i'\)"),
        (dict(ai=[1, -2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR"), r"column 'ai': study '2' \(row 2\) has a negative count \(-2\)"),
        (dict(ai=[1, 2.5], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR"), r"column 'ai': study '2' \(row 2\) has a count that is not a whole number \(2.5\)"),
        (dict(x1i=[1, 2], t1i=[10.0, 0.0], x2i=[1, 1], t2i=[5.0, 5.0], measure="IRR", likelihood="poisson"),
         r"column 't1i': study '2' \(row 2\) has a person-time of 0; it must be positive"),
        (dict(xi=[3, 12], ni=[10, 10], measure="PLO"), r"column 'xi': study '2' \(row 2\) has more events \(12\) than its group size \(10, column 'ni'\)"),
        (dict(ai=[1, 2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="RR"), r"no exact count likelihood"),
        (dict(ai=[1, 2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR", likelihood="poisson"),
         r"modelled with likelihood='binomial'"),
        (dict(ai=[1, 2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR", likelihood="normal"),
         r"escalc\(\) first"),
        (dict(ai=[1, 2], n1i=[4, 10], ci=[1, 1], measure="OR"), r"n2i= is missing|di= is missing"),
        (dict(xi=[1, 2], ni=[4, 10], measure="PLO", baseline="random"), r"baseline= is the study baseline"),
        (dict(ai=[1, 2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR", baseline="mixed"),
         r"baseline must be one of"),
        (dict(ai=[1, 2], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR", tau_by="g"), r"tau_by= cannot be used"),
        (dict(ai=[1, np.nan], n1i=[4, 10], ci=[1, 1], n2i=[10, 10], measure="OR"),
         r"study '2' \(row 2\) has a missing value in ai"),
        (dict(xi=[1, 2], ni=[4, 10], measure="PLO", priors={"baseline": "normal(0, 1)"}),
         r"single-group measure has no baseline"),
    ],
)
def test_bad_counts_are_refused_naming_the_study_and_column(kwargs, match):
    kwargs.setdefault("likelihood", "binomial")
    with pytest.raises(InputError, match=match):
        bm.MetaAnalysis(**kwargs)


def test_missing_counts_can_be_dropped_with_a_warning():
    with pytest.warns(bm.errors.MissingDataWarning, match="B"):
        m = bm.MetaAnalysis(pd.DataFrame({"study": ["A", "B", "C"], "xi": [1, None, 3], "ni": [10, 10, 12]}),
                            xi="xi", ni="ni", measure="PLO", likelihood="binomial", missing="drop")
    assert m.spec.labels == ["A", "C"] and m.k == 2


def test_series_of_counts_are_paired_with_the_data_by_index():
    shuffled = TABLES.iloc[[2, 0, 1]]
    m = bm.MetaAnalysis(TABLES, ai=shuffled["ai"], n1i="n1i", ci="ci", n2i="n2i", measure="OR",
                        likelihood="binomial")
    np.testing.assert_array_equal(m.spec.counts.e1, TABLES["ai"])


# --------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, data, kwargs, cols",
    [
        ("binomial", TABLES, dict(ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR", likelihood="binomial"),
         ("ai", "n1i", "ci", "n2i")),
        ("poisson", RATES, dict(x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i", measure="IRR", likelihood="poisson"),
         ("x1i", "t1i", "x2i", "t2i")),
    ],
)
def test_nuts_agrees_with_an_independent_integration_of_the_count_model(kind, data, kwargs, cols):
    ref = _posterior_moments(kind, data, cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(data, **kwargs, priors=PRIORS).fit(engine="nuts", seed=11, draws=1500,
                                                                  progressbar=False)
    s = post.summary(studies=False)
    exact = bm.exact.exact_posterior(bm.MetaAnalysis(data, **kwargs, priors=PRIORS)).summary()
    for name in ("mu", "tau"):
        mean, sd = ref[name]
        assert abs(s.loc[name, "mean"] - mean) < 0.1 * sd, (name, s.loc[name, "mean"], mean, sd)
        assert s.loc[name, "sd"] == pytest.approx(sd, rel=0.1)
    for name in ("mu", "tau", "theta_new", "theta[A]", "theta[C]"):  # the same NUTS fit against the exact engine
        row = exact.loc[name]
        full = post.summary()
        assert abs(full.loc[name, "mean"] - row["mean"]) < 0.1 * row["sd"], (name, full.loc[name, "mean"], row["mean"])
        assert full.loc[name, "sd"] == pytest.approx(row["sd"], rel=0.1)
        assert abs(full.loc[name, "median"] - row["median"]) < 0.1 * row["sd"]


@pytest.mark.slow
def test_under_wide_priors_the_binomial_model_approaches_metafor_rma_glmm_um_fs():
    case = next(c for c in json.loads(REF.read_text())["cases"] if c["name"] == "bcg_glmm_UMFS")
    dat = pd.DataFrame(case["input"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(dat, ai="tpos", bi="tneg", ci="cpos", di="cneg", measure="OR",
                               likelihood="binomial",
                               priors={"mu": bm.priors.Normal(0, 100), "tau": bm.priors.Uniform(0, 10),
                                       "baseline": bm.priors.Normal(0, 100)}).fit(seed=3, progressbar=False)
    s = post.summary(studies=False)
    beta, se = case["expect"]["beta"], case["expect"]["se"]
    # the comparison table puts metafor's GLMM (our rma_glmm) and the normal approximation beside it
    table = post.compare_frequentist()
    assert table.loc["ML (GLMM, UM.FS)", "estimate"] == pytest.approx(beta, rel=2e-3)
    assert {"REML", "FE"} <= set(table.index)
    report = post.report()
    assert "binomial-normal random-effects model of the 2x2 tables" in report
    assert "metafor's rma.glmm, UM.FS" in report
    # the posterior median of mu sits at the ML estimate, up to the skew that tau's uncertainty adds
    assert abs(s.loc["mu", "median"] - beta) < 0.2 * s.loc["mu", "sd"]
    assert s.loc["mu", "sd"] == pytest.approx(se, rel=0.35)
    assert s.loc["tau", "median"] == pytest.approx(np.sqrt(case["expect"]["tau2"]), rel=0.35)


# --------------------------------------------------------------------------------------------
# padding: one compiled model for every k of a bucket
# --------------------------------------------------------------------------------------------
def _tables(k):
    more = pd.DataFrame({"study": ["D", "E"], "ai": [3, 7], "n1i": [35, 50], "ci": [6, 12], "n2i": [33, 52]})
    return pd.concat([TABLES, more], ignore_index=True).iloc[:k]


@pytest.mark.parametrize("baseline", ["fixed", "random"])
def test_count_models_of_any_k_in_a_bucket_share_one_structure_and_pad_with_constant_studies(baseline):
    from bayesma.models.build import data_values, padded_sizes, structure_key

    specs = [bm.MetaAnalysis(_tables(k), ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR",
                             likelihood="binomial", baseline=baseline).spec for k in (3, 5)]
    assert structure_key(specs[0], pad=True) == structure_key(specs[1], pad=True)
    assert structure_key(specs[0], pad=False) != structure_key(specs[1], pad=False)
    assert padded_sizes(specs[0], pad=True) == (64, 0)
    vals = data_values(specs[0], pad=True)
    np.testing.assert_array_equal(vals["e1"], np.r_[[2, 0, 5], np.zeros(61)])
    np.testing.assert_array_equal(vals["n2"], np.r_[[30, 25, 38], np.ones(61)])
    np.testing.assert_array_equal(vals["mask"], np.r_[np.ones(3), np.zeros(61)])
    assert set(data_values(specs[0], pad=False)) == set(vals) - {"mask"}


@pytest.mark.slow
@pytest.mark.parametrize("likelihood, kwargs", [
    ("binomial", dict(ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR")),
    ("poisson", dict(x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i", measure="IRR")),
])
def test_the_padded_log_density_is_the_unpadded_one_plus_independent_padded_terms(likelihood, kwargs):
    """logp(padded model) = logp(unpadded) + the priors of the padded studies' own variables + a constant."""
    from bayesma.models.build import build_model

    data = TABLES if likelihood == "binomial" else RATES
    for baseline in ("fixed", "random"):
        spec = bm.MetaAnalysis(data, **kwargs, likelihood=likelihood, baseline=baseline, priors=PRIORS if
                               baseline == "fixed" else {k: v for k, v in PRIORS.items() if k != "baseline"}).spec
        full, _ = build_model(spec, pad=True)
        small, _ = build_model(spec, pad=False)
        lp_full, lp_small = full.compile_logp(mode="FAST_COMPILE"), small.compile_logp(mode="FAST_COMPILE")
        rng = np.random.default_rng(1)
        point = {name: rng.normal(0.0, 0.5, size=np.shape(v)) for name, v in small.initial_point().items()}
        pad_vars = [v.name for v in full.value_vars if np.size(full.initial_point()[v.name]) == 64]
        values = []
        for _ in range(3):  # the padded studies' variables moved: only their own prior terms change
            big = {name: np.asarray(val) for name, val in point.items()}
            for name in pad_vars:
                big[name] = np.r_[point[name], rng.normal(0.0, 2.0, 61)]
            own = 0.0
            for name in pad_vars:
                x = big[name][3:]
                if name == "baseline":
                    own += stats.norm.logpdf(x, -2, 2).sum()
                else:
                    own += stats.norm.logpdf(x).sum()
            values.append(lp_full(big) - lp_small(point) - own)
        assert np.allclose(values, values[0], atol=1e-8), (baseline, values)


@pytest.mark.slow
def test_two_k_in_one_bucket_compile_once_and_agree_with_the_exact_engine():
    from bayesma.models.nuts import ModelCache

    cache = ModelCache()
    for k in (3, 5):
        m = bm.MetaAnalysis(_tables(k), ai="ai", n1i="n1i", ci="ci", n2i="n2i", measure="OR", likelihood="binomial",
                            priors=PRIORS)
        m._pymc_cache = cache
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = m.fit(engine="nuts", seed=3, draws=1000, progressbar=False)
        assert post.fit_info["padded_to"] == 64 and post.posterior.sizes["study"] == k
        assert post.fit_info["model_built"] is (k == 3) and post.fit_info["compiled"] is (k == 3)
        exact = bm.exact.exact_posterior(m).summary()
        s = post.summary()
        for name in exact.index:
            assert abs(s.loc[name, "mean"] - exact.loc[name, "mean"]) < 0.1 * exact.loc[name, "sd"], name
            assert s.loc[name, "sd"] == pytest.approx(exact.loc[name, "sd"], rel=0.1), name
    assert len(cache) == 1
