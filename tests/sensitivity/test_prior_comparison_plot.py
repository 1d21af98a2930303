"""compare_priors(...).plot(): one panel per parameter; a multivariate model across outcomes has a panel for
the mean of each outcome (it raised UnsupportedModelError before). The curves drawn are checked against
densities computed here: the dashed prior curve against scipy's normal density, the solid posterior curve
integrates to 1 over its panel and has its mean at the table's posterior mean."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayesma as bm

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def three_outcomes() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.3, 0.2), "vi": 0.03}
            for s in range(10) for o in (["a", "b"] if s < 4 else ["a", "c"] if s < 7 else ["b", "c"])]
    return pd.DataFrame(rows)


def _lines(ax) -> tuple[list, list]:
    solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 2]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    return solid, dashed


def test_multivariate_compare_priors_plots_a_panel_per_outcome(three_outcomes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = bm.compare_priors(three_outcomes, "yi", "vi", cluster="study", outcome="outcome", rho=0.5,
                                tau_priors={"HN(0.2)": "halfnormal(0.2)", "HN(1)": "halfnormal(1)"},
                                mu_priors={"N(0,1)": "normal(0, 1)"}, engine="exact", seed=1)
    fig = cmp.plot()
    axes = fig.axes
    assert len(axes) == 4  # mu[a], mu[b], mu[c], tau
    assert [ax.get_xlabel().split()[0] for ax in axes] == ["mu[a]", "mu[b]", "mu[c]", "tau"]
    for ax, o in zip(axes[:3], "abc"):
        solid, dashed = _lines(ax)
        assert len(solid) == 2 and len(dashed) == 2
        x = dashed[0].get_xdata()
        np.testing.assert_allclose(dashed[0].get_ydata(), stats.norm.pdf(x, 0, 1), rtol=1e-10)
        for line, label in zip(solid, ["HN(0.2)", "HN(1)"]):
            xs, d = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
            mass = np.trapezoid(d, xs)
            assert mass == pytest.approx(1.0, abs=2e-3)
            mean = np.trapezoid(xs * d, xs) / mass
            assert mean == pytest.approx(cmp.table.loc[(label, o), "mu_mean"], abs=2e-3 * cmp.table.loc[(label, o), "mu_sd"] + 1e-4)
    solid, dashed = _lines(axes[3])
    for line in solid:  # tau: the slope of the exact cdf; nearly all its mass below 1.4 x the largest upper bound
        assert 0.97 < np.trapezoid(line.get_ydata(), line.get_xdata()) < 1.003
    x = np.asarray(dashed[0].get_xdata())[1:]
    np.testing.assert_allclose(np.asarray(dashed[0].get_ydata())[1:], 2 * stats.norm.pdf(x, 0, 0.2), rtol=1e-8)


def test_univariate_compare_priors_plot_keeps_two_panels():
    cmp = bm.compare_priors(yi=[0.1, 0.35, 0.2, 0.5], vi=[0.02, 0.03, 0.05, 0.04],
                            tau_priors={"HN(0.5)": "halfnormal(0.5)", "HC(0.5)": "halfcauchy(0.5)"},
                            mu_priors={"N(0,1)": "normal(0, 1)"}, seed=1)
    fig = cmp.plot()
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xlabel().startswith("mu") and fig.axes[1].get_xlabel().startswith("tau")
