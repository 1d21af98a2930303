"""The forest plot of a Bayesian location-scale model (scale=) draws each study's own prediction interval
(a new study with its moderators and its own tau_i), with the numbers in a column.

The posterior is built from draws with a known answer (no sampler): mu ~ N(0.2, 0.05^2) and fixed
alpha, so tau_i = exp(z_i' alpha) exactly and a new study like study i is N(0.2, 0.05^2 + tau_i^2).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import bayesma as bm
from bayesma._arviz import from_draws
from bayesma.errors import UnsupportedModelError
from bayesma.results import MetaPosterior

matplotlib = pytest.importorskip("matplotlib")
from _helpers import _texts, assert_readable  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

ALPHA = (-0.5, -0.3)


def _posterior(k: int) -> MetaPosterior:
    dat = bm.load_dataset("dat.bangertdrowns2004").iloc[:k].copy()
    dat["logni"] = np.log(dat["ni"])
    dat["label"] = [f"{a} #{i + 1}" for i, a in enumerate(dat["author"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = bm.MetaAnalysis(dat, scale="~ logni", labels="label").spec
    rng = np.random.default_rng(0)
    chains, draws = 2, 20000
    mu = rng.normal(0.2, 0.05, (chains, draws))
    alpha = np.stack([np.full((chains, draws), a) for a in ALPHA], -1)
    tau = np.exp(alpha @ np.asarray(spec.Z, float).T)
    theta = mu[..., None] + 0.1 * rng.standard_normal((chains, draws, spec.k))
    idata = from_draws({"mu": mu, "alpha": alpha, "tau": tau, "theta": theta,
                        "theta_new": mu + 0.3 * rng.standard_normal((chains, draws))},
                       coords=spec.coords(), dims={"alpha": ["scale_coef"], "tau": ["study"], "theta": ["study"]})
    return MetaPosterior(idata, spec, engine="nuts")


@pytest.fixture(scope="module")
def post():
    return _posterior(15)


def test_each_study_has_its_own_prediction_interval(post):
    table = post.study_predictions(0.9)
    z = np.asarray(post.spec.Z, float)
    tau = np.exp(z @ np.array(ALPHA))
    sd = np.sqrt(0.05**2 + tau**2)
    expected_lo, expected_hi = stats.norm.ppf(0.05, 0.2, sd), stats.norm.ppf(0.95, 0.2, sd)
    np.testing.assert_allclose(table["pi_lower"], expected_lo, atol=0.03 * sd.max())
    np.testing.assert_allclose(table["pi_upper"], expected_hi, atol=0.03 * sd.max())
    np.testing.assert_allclose(table["median"], 0.2, atol=0.003)
    assert table.index.tolist() == [str(lab) for lab in post.spec.labels]


def test_forest_draws_the_study_intervals_behind_the_studies(post):
    table = post.study_predictions(0.95)
    fig = post.forest(digits=3)
    ax = fig.axes[0]
    bands = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_alpha() == pytest.approx(0.25)]
    assert len(bands) == post.spec.k
    np.testing.assert_allclose(sorted(b.get_x() for b in bands), sorted(table["pi_lower"]))
    texts = [t.get_text() for t in _texts(fig)]
    assert "Own prediction [95%]" in texts
    first = table.iloc[0]
    assert f"[{first['pi_lower']:.3f}, {first['pi_upper']:.3f}]" in texts
    assert any(t.startswith("Heterogeneity with log") and "\u03b1[logni] = -0.300" in t for t in texts)
    assert_readable(fig, "location-scale forest")


@pytest.mark.parametrize("k", [2, 3, 20, 48])
def test_readable_at_every_k(k):
    assert_readable(_posterior(k).forest(), f"location-scale forest k={k}")


def test_a_model_without_scale_has_no_study_specific_prediction():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(yi=[0.1, 0.3, 0.2], vi=[0.01, 0.02, 0.03]).fit(engine="exact", seed=1)
    with pytest.raises(UnsupportedModelError, match="scale="):
        post.study_predictions()
