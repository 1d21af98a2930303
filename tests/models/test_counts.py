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
