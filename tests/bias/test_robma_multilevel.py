"""Multilevel RoBMA (bm.robma(cluster=)): the clustered likelihoods against computations written here
(a dense multivariate normal; a direct numerical integral over each cluster effect and a 3-D
quadrature of one weight-function model's marginal likelihood), and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import bayesma as bm
from bayesma.bias import WeightFunction, fit_model
from bayesma.bias.components import InverseGammaTau
from bayesma.bias.extended import ExtData, ExtModelDef
from bayesma.bias.likelihood import cutoffs
from bayesma.bias.model import FitData
from bayesma.bias.multilevel import Allocation, cluster_loglik, make_clusters
from bayesma.errors import InputError

# a small clustered data set (sorted by cluster): 3 studies with 3, 2 and 3 estimates
Y = np.array([0.42, 0.31, 0.55, 0.05, 0.18, 0.36, 0.61, 0.29])
SE = np.array([0.15, 0.18, 0.2, 0.12, 0.14, 0.22, 0.25, 0.19])
CLUSTER = np.array([0, 0, 0, 1, 1, 2, 2, 2])


def _weighted_cluster_integral(y, se, mu, tau_w, tau_b, omega1, crit):
    """log of prod_g int prod_i [w(y_i) N(y_i; mu + g, s_i^2) / A_i(g)] N(g; 0, tau_b^2) dg, on a fine grid
    (trapezoid over g = tau_b z, z in [-8, 8]); tau_w, tau_b, omega1 scalars or arrays of shape (P,)."""
    tau_w, tau_b, omega1 = (np.atleast_1d(np.asarray(a, float))[:, None] for a in (tau_w, tau_b, omega1))
    z = np.linspace(-8, 8, 1601)[None, :]
    gam = tau_b * z                                     # (P, Z)
    total = 0.0
    for c in np.unique(CLUSTER):
        i = CLUSTER == c
        log_f = stats.norm.logpdf(z)
        for yi, si, ci in zip(y[i], se[i], crit[i]):
            s = np.sqrt(si**2 + tau_w**2)
            mean = mu + gam
            p_low = special.ndtr((ci - mean) / s)      # P(y < c): the interval with weight omega1
            a = omega1 * p_low + (1 - p_low)
            w_obs = 1.0 if yi >= ci else omega1
            log_pdf = -0.5 * ((yi - mean) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
            log_f = log_f + np.log(w_obs) + log_pdf - np.log(a)
        total = total + np.log(integrate.trapezoid(np.exp(log_f), z, axis=1))
    return total if total.size > 1 else float(total[0])


def test_normal_cluster_likelihood_equals_dense_mvn():
    cl = make_clusters(CLUSTER)
    mu, tau_w, tau_b = 0.2, 0.15, 0.25
    ll = cluster_loglik(Y, SE, np.full((1, Y.size), mu), np.array([tau_w]), np.array([tau_b]), cl)
    cov = np.diag(SE**2 + tau_w**2) + tau_b**2 * (CLUSTER[:, None] == CLUSTER[None, :])
    assert ll[0] == pytest.approx(stats.multivariate_normal(np.full(Y.size, mu), cov).logpdf(Y), abs=1e-10)


@pytest.mark.parametrize(("tau_b", "nodes", "tol"), [(0.05, 7, 2e-4), (0.3, 7, 2e-4), (0.8, 7, 2e-4),
                                                     (2.0, 7, 2e-4), (0.8, 15, 1e-6)])
def test_selection_cluster_likelihood_equals_direct_integral(tau_b, nodes, tol):
    cl = make_clusters(CLUSTER, n_nodes=nodes)
    crit = cutoffs(Y, SE, (0.05,), "one", "GEN")
    omega = np.array([[0.3, 1.0]])
    mu, tau_w = 0.1, 0.2
    ll = cluster_loglik(Y, SE, np.full((1, Y.size), mu), np.array([tau_w]), np.array([tau_b]), cl,
                        omega=omega, crit=crit, sides="one")
    assert ll[0] == pytest.approx(_weighted_cluster_integral(Y, SE, mu, tau_w, tau_b, 0.3, crit[:, 0]), abs=tol)


def test_weightfunction_multilevel_marginal_likelihood_matches_quadrature():
    """Model mu = 0, tau ~ InvGamma(1, 0.15), rho ~ Beta(1, 1), one-sided weight function at .05
    (omega1 ~ Uniform): its marginal likelihood by a 3-D Gauss-Legendre quadrature over
    (log tau, rho, omega1) of the direct cluster integral above."""
    crit = cutoffs(Y, SE, (0.05,), "one", "GEN")[:, 0]
    prior_tau = InverseGammaTau(1.0, 0.15)
    x, wx = np.polynomial.legendre.leggauss(32)
    lo, hi = np.log(1e-3), np.log(8.0)
    log_tau = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    w_tau = 0.5 * (hi - lo) * wx
    u, wu = np.polynomial.legendre.leggauss(12)
    unit, w_unit = 0.5 * (u + 1), 0.5 * wu
    rho, om = (a.ravel() for a in np.meshgrid(unit, unit, indexing="ij"))
    w_ro = np.outer(w_unit, w_unit).ravel()
    terms = []
    for lt, wt in zip(log_tau, w_tau):
        tau = np.exp(lt)
        lp_tau = float(prior_tau.logpdf_tau(np.array([tau]))[0]) + lt
        ll = _weighted_cluster_integral(Y, SE, 0.0, tau * np.sqrt(1 - rho), tau * np.sqrt(rho), om, crit)
        terms.append(ll + lp_tau + np.log(wt * w_ro))
    exact = special.logsumexp(terms)
    fd = FitData(Y, SE, Y, SE, "GEN", 1.0, 1.0)
    ed = ExtData(fd, np.zeros((Y.size, 0)), {}, make_clusters(CLUSTER, n_nodes=15))
    model = ExtModelDef(None, prior_tau, WeightFunction((0.05,)), 1.0, allocation=Allocation())
    fit = fit_model(model, ed, n=1024, replicates=8, seed=2)
    assert abs(fit.log_ml - exact) < 4 * fit.log_ml_se + 5e-3


@pytest.fixture(scope="module")
def ml_fit():
    rng = np.random.default_rng(11)
    study = np.repeat([f"st{i}" for i in range(12)], 3)
    se = np.repeat(rng.uniform(0.1, 0.25, 12), 3)
    y = 0.2 + np.repeat(rng.normal(0, 0.2, 12), 3) + rng.normal(0, 0.1, 36) + rng.normal(0, se)
    df = pd.DataFrame({"yi": y, "sei": se, "study": study})
    return bm.robma(df, yi="yi", sei="sei", measure="ZCOR", cluster="study", ensemble="PP", draws=256, replicates=4)


def test_multilevel_result_reports_rho(ml_fit):
    est = ml_fit.estimates()
    assert "rho" in est.index
    assert 0 < est.loc["rho", "0.025"] < est.loc["rho", "0.975"] < 1
    assert "12 clusters" in repr(ml_fit)
    table = ml_fit.summary(type="models")
    with_tau = table["heterogeneity"] != "Spike(0)"
    assert table.loc[with_tau, "rho_mean"].between(0, 1).all() and table.loc[~with_tau, "rho_mean"].isna().all()


def test_cluster_with_missing_value_names_the_study():
    df = pd.DataFrame({"yi": Y, "sei": SE, "study": ["a", "a", "a", None, "b", "c", "c", "c"],
                       "lab": [f"L{i}" for i in range(8)]})
    with pytest.raises(InputError, match="L3") as err:
        bm.robma(df, yi="yi", sei="sei", cluster="study", slab="lab")
    assert err.value.column == "study" and err.value.row == 4


def test_one_estimate_per_cluster_is_an_error():
    df = pd.DataFrame({"yi": Y, "sei": SE, "study": list("abcdefgh")})
    with pytest.raises(InputError, match="own cluster"):
        bm.robma(df, yi="yi", sei="sei", cluster="study")
