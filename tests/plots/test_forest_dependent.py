"""The forest plot of dependent-effects posteriors (multivariate across outcomes, CHE): each study's effects
together with observed and shrunken estimates, one diamond per outcome with a new study's interval, and
every number the posterior's."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

matplotlib = pytest.importorskip("matplotlib")
from _helpers import _texts, assert_readable  # noqa: E402
from matplotlib.patches import Polygon, Rectangle  # noqa: E402

OUTCOMES = ["dropout", "misconduct", "recidivism"]


def _data(n_studies: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_studies):
        for o in (OUTCOMES if s % 3 == 0 else [OUTCOMES[0], OUTCOMES[2]]):  # misconduct: every third study
            rows.append({"study": f"Study {s + 1:02d}", "outcome": o, "yi": rng.normal(0.3, 0.3),
                         "vi": rng.uniform(0.01, 0.05)})
    df = pd.DataFrame(rows)
    df["label"] = df["study"] + " " + df["outcome"]
    return df


def _fit(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(df, yi="yi", vi="vi", cluster="study", labels="label", **kw).fit(engine="exact", seed=1)


@pytest.fixture(scope="module")
def multivariate():
    df = _data(12)
    return df, _fit(df, outcome="outcome", rho=0.5, struct="CS")


def test_studies_together_and_one_diamond_per_outcome(multivariate):
    df, post = multivariate
    fig = post.forest(level=0.9, digits=3)
    ax = fig.axes[0]
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    for study, part in df.groupby("study", sort=False):  # the study's header, then its outcomes
        start = ylabels.index(study)
        assert [lab.strip() for lab in ylabels[start + 1:start + 1 + len(part)]] == part["outcome"].tolist()
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() < 1]
    assert len(diamonds) == len(bars) == 3
    mu = [post.interval(f"mu[{o}]", 0.9) for o in OUTCOMES]
    new = [post.interval(f"theta_new[{o}]", 0.9) for o in OUTCOMES]
    np.testing.assert_allclose(sorted(d.get_xy()[:, 0].min() for d in diamonds), sorted(m[1] for m in mu))
    np.testing.assert_allclose(sorted(b.get_x() for b in bars), sorted(n[1] for n in new))
    texts = [t.get_text() for t in _texts(fig)]
    for m, lo, hi in mu:
        assert f"{m:.3f} [{lo:.3f}, {hi:.3f}]" in texts
    m, lo, hi = post.interval(f"theta[{df['label'].iloc[4]}]", 0.9)  # a shrunken estimate
    assert f"{m:.3f} [{lo:.3f}, {hi:.3f}]" in texts
    yi, vi = df["yi"].iloc[4], df["vi"].iloc[4]
    z = 1.6448536269514722
    assert f"{yi:.3f} [{yi - z * np.sqrt(vi):.3f}, {yi + z * np.sqrt(vi):.3f}]" in texts  # its observed effect
    assert "   misconduct (k = 4)" in ylabels
    assert any(t.startswith("\u03c4 = ") and "\u03c1 = " in t for t in texts)
    assert_readable(fig, "multivariate forest")
    with pytest.raises(ValueError, match="order="):
        post.forest(order="effect")


def test_che_model_groups_by_study_with_one_pooled_diamond():
    df = _data(8)
    post = _fit(df, rho=0.6)
    fig = post.forest()
    ax = fig.axes[0]
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Study 01" in ylabels and "   Study 01 dropout" in ylabels
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == 1
    assert diamonds[0].get_xy()[:, 0].min() == pytest.approx(post.interval("pooled")[1])
    assert any("\u03c4 within = " in t.get_text() for t in _texts(fig))
    assert_readable(fig, "CHE forest")


@pytest.mark.parametrize("n_studies", [2, 60])
def test_readable_at_small_and_large_size(n_studies):
    df = _data(n_studies)
    post = _fit(df, outcome="outcome", rho=0.5, struct="CS") if n_studies > 2 else _fit(df, rho=0.5)
    assert_readable(post.forest(), f"dependent forest, {n_studies} studies")


@pytest.mark.parametrize("rho", [None, 0.6])  # three-level and CHE
def test_meta_regression_of_dependent_effects_keeps_the_study_blocks(rho):
    # with moderators the studies' effects stay together, as without them (metafor's forest of an rma.mv fit
    # with moderators draws each row with its fitted value; here each row's shrunken estimate includes them)
    df = _data(10)
    df["design"] = np.where(df["study"].str[-1].astype(int) % 2 == 0, "RCT", "cohort")
    kw = {} if rho is None else {"rho": rho}
    post = _fit(df, mods="~ design", **kw)
    fig = post.forest(level=0.9)
    ax = fig.axes[0]
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    for study, part in df.groupby("study", sort=False):  # the study's header, then its effects
        start = ylabels.index(study)
        assert [lab.strip() for lab in ylabels[start + 1:start + 1 + len(part)]] == part["label"].tolist()
    levels = post.level_predictions(0.9)
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == len(levels) == 2  # one mean per level, no pooled effect
    np.testing.assert_allclose(sorted(d.get_xy()[:, 0].min() for d in diamonds), sorted(levels["eti_lower"]))
    texts = [t.get_text() for t in _texts(fig)]
    note = next(t for t in texts if t.startswith("Residual heterogeneity: "))
    m, lo, hi = post.interval("tau_within", 0.9)
    assert f"\u03c4 within = {m:.2f} [{lo:.2f}, {hi:.2f}]" in note  # every variance component, as without moderators
    assert_readable(fig, "three-level meta-regression forest")

    df["x"] = np.linspace(0, 1, len(df))
    cont = _fit(df, mods="~ x", **kw).forest()
    ax = cont.axes[0]
    assert "Study 01" in [t.get_text() for t in ax.get_yticklabels()]
    assert not [p for p in ax.patches if isinstance(p, Polygon)]
    assert any("no single pooled effect" in t.get_text() for t in _texts(cont))
