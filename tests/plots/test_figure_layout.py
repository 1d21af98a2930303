"""Figures at small and large k: no two texts overlap, nothing leaves the canvas, the forest plot grows
linearly with k, and the numbers drawn are the fit's (issue 14, items 1 and 2)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

matplotlib = pytest.importorskip("matplotlib")
from _helpers import assert_readable  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

KS = (1, 2, 3, 10, 60, 150)


def _data(k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed + k)
    vi = rng.uniform(0.01, 0.25, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    labels = [f"Author{'abcdefgh'[i % 8] * (1 + i % 3)} et al. ({1985 + i % 35})" for i in range(k)]
    labels = [f"{lab} #{i + 1}" for i, lab in enumerate(labels)]
    df = pd.DataFrame({"yi": yi, "vi": vi, "label": labels, "g": np.array(["alpha", "beta", "gamma"])[np.arange(k) % 3]})
    df.attrs["measure"] = "OR"
    return df


@pytest.fixture(scope="module")
def fits():
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in KS:
            df = _data(k)
            out[k] = bm.rma("yi", "vi", data=df, labels="label")
    return out


@pytest.mark.parametrize("k", KS)
def test_frequentist_forest_readable_at_every_k(fits, k):
    fig = fits[k].forest(atransf=np.exp if k % 2 else None, order="effect" if k > 3 else None)
    assert_readable(fig, f"forest_rma k={k}")


def test_forest_height_grows_linearly_with_k(fits):
    heights = {k: fits[k].forest().get_figheight() for k in KS}
    rows = {k: k + 4 for k in KS}  # studies, diamond, prediction bar, two notes
    slope = (heights[150] - heights[10]) / (rows[150] - rows[10])
    assert 0.15 <= slope <= 0.3  # inches per row
    assert heights[1] < heights[2]  # k = 1: no prediction interval (tau² is not estimable)
    for k in KS[1:]:  # no band: the height is a fixed margin plus the rows
        assert heights[k] == pytest.approx(heights[10] + slope * (rows[k] - rows[10]), abs=0.05)
    assert heights[10] - slope * rows[10] < 2.0  # margins (headers, axis, legend) under 2 inches
    # k = 58: the axes span exactly the rows (no empty band inside the plot either)
    fig = bm.rma("yi", "vi", data=_data(58), labels="label").forest()
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert hi - lo == pytest.approx(58 + 4, abs=0.01)


def test_frequentist_forest_content_and_legend():
    dat = bm.load_dataset("dat.bcg")
    dat["study"] = dat["author"] + " " + dat["year"].astype(str)
    es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    res = bm.rma("yi", "vi", data=es, labels="study")
    fig = res.forest(atransf=np.exp)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    # the heterogeneity line and weights are the fit's (metafor: Q(12) = 152.23, I2 = 92%, tau2 = 0.313)
    assert "Heterogeneity: \u03c4\u00b2 = 0.313, I\u00b2 = 92%, Q(12) = 152.23, p < .001" in texts
    assert f"{res.weights[0]:.1f}%" in texts
    est = f"{np.exp(res.beta[0]):.2f} [{np.exp(res.ci_lb[0]):.2f}, {np.exp(res.ci_ub[0]):.2f}]"
    assert est in texts
    assert ax.get_xlabel() == "Risk ratio (log scale)"  # measure from escalc, back-transformed
    # ticks at round risk ratios, placed on the log scale
    ticks = ax.get_xticks()
    shown = {float(t.get_text()) for t in ax.get_xticklabels() if t.get_text()}
    assert {0.5, 1.0} <= shown
    assert np.allclose(sorted(np.exp(ticks)), sorted(float(v) for v in [t.get_text() for t in ax.get_xticklabels()]))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    for piece in ("Observed effect", "Pooled estimate", "Prediction interval"):
        assert any(piece in lab for lab in labels), piece
    # marker area proportional to weight
    sizes = np.concatenate([c.get_sizes() for c in ax.collections if len(c.get_sizes())])
    w = np.asarray(res.weights)
    assert sizes[:len(w)] == pytest.approx(np.maximum(6.0, 70.0 * w / w.max()))
    assert_readable(fig, "bcg forest")


def test_forest_sort_options():
    df = _data(10)
    res = bm.rma("yi", "vi", data=df, labels="label")

    def order_of(fig):
        ax = fig.axes[0]
        return [t.get_text() for t in ax.get_yticklabels()][:10]

    assert order_of(res.forest(order="effect")) == list(df["label"].iloc[np.argsort(df["yi"].to_numpy())])
    assert order_of(res.forest(order="precision")) == list(df["label"].iloc[np.argsort(df["vi"].to_numpy())])
    assert order_of(res.forest(order="label")) == sorted(df["label"])
    assert order_of(res.forest(order="-effect")) == list(df["label"].iloc[np.argsort(df["yi"].to_numpy())[::-1]])
    assert order_of(res.forest(order="g"))[:4] == list(df["label"][df["g"] == "alpha"])
    with pytest.raises(ValueError, match="order must be"):
        res.forest(order="nonsense")


def test_subgroup_forest_blocks_and_test_of_differences():
    df = _data(30)
    sg = bm.subgroup("yi", "vi", by="g", data=df, labels="label")
    fig = sg.forest(atransf=np.exp)
    ax = fig.axes[0]
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    for g in ("alpha", "beta", "gamma"):
        assert f"g = {g}" in ylabels and f"Subgroup {g} (k = 10)" in ylabels
    assert any(lab.startswith("Overall") for lab in ylabels)
    texts = [t.get_text() for t in ax.texts]
    assert f"Test for subgroup differences: Q({sg.Q_between_df}) = {sg.Q_between:.2f}, p = " \
        f"{sg.Q_between_p:.3f}".replace("0.", ".", 1) in texts
    # the odds-ratio axis has at least three ticks at round odds ratios (powers of 2, 1-2-5, 1-3 or decades)
    nice = {round(m * 10.0**e, 6) for e in range(-4, 5) for m in (1, 2, 3, 5)} | {2.0**e for e in range(-12, 13)}
    shown = [float(t.get_text()) for t in ax.get_xticklabels() if t.get_text()]
    assert len(shown) >= 3 and set(shown) <= nice, shown
    fit = sg.fits["beta"]
    full = bm.rma("yi", "vi", data=df, labels="label")  # the overall diamond is the fit of all studies
    assert f"{np.exp(full.beta[0]):.2f} [{np.exp(full.ci_lb[0]):.2f}, {np.exp(full.ci_ub[0]):.2f}]" in texts
    assert f"Heterogeneity: \u03c4\u00b2 = {full.tau2:.3f}, I\u00b2 = {full.I2:.0f}%, Q(29) = {full.QE:.2f}, " \
        f"p = {full.QEp:.3f}".replace("p = 0.", "p = .") in texts
    assert f"{np.exp(fit.beta[0]):.2f} [{np.exp(fit.ci_lb[0]):.2f}, {np.exp(fit.ci_ub[0]):.2f}]" in texts
    assert_readable(fig, "subgroup forest")


@pytest.fixture(scope="module")
def posts():
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in (1, 3, 60):
            df = _data(k)
            out[k] = bm.MetaAnalysis(df, yi="yi", vi="vi", labels="label", measure="OR").fit(engine="exact", seed=1)
    return out


@pytest.mark.parametrize("k", (1, 3, 60))
def test_bayesian_forest_readable(posts, k):
    fig = posts[k].forest(atransf=np.exp if k == 3 else None)
    assert_readable(fig, f"Bayesian forest k={k}")


def test_bayesian_forest_numbers_come_from_the_posterior(posts):
    post = posts[3]
    fig = post.forest(level=0.9, digits=3)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    for name in ("pooled", "theta_new", f"theta[{post.spec.labels[1]}]"):
        m, lo, hi = post.interval(name, 0.9)
        assert f"{m:.3f} [{lo:.3f}, {hi:.3f}]" in texts, name
    m, lo, hi = post.interval("tau", 0.9)
    assert any(f"\u03c4 = {m:.3f} [{lo:.3f}, {hi:.3f}]" in t for t in texts)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    for piece in ("Observed effect", "Shrunken estimate", "Pooled effect", "Prediction interval"):
        assert any(piece in lab for lab in labels), piece
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Pooled effect" in ylabels and "Prediction (new study)" in ylabels
    assert ax.get_xlabel() == "Log odds ratio"
    # the ArviZ view, one call away: az.plot_forest with R-hat and ESS columns
    afig = post.plot_forest()
    titles = [a.get_title() for a in afig.axes]
    assert any("r_hat" in t.lower() for t in titles) and any("ess" in t.lower() for t in titles)


def test_funnel_readable_and_labelled_with_the_measure(fits):
    df = _data(60)
    res = bm.rma("yi", "vi", data=df, labels="label")
    for kw in ({}, {"contours": [0.9, 0.95, 0.99]}):
        fig = res.funnel(**kw)
        assert fig.axes[0].get_xlabel() == "Log odds ratio"
        assert_readable(fig, f"funnel {kw}")
    assert res.funnel(atransf=np.exp).axes[0].get_xlabel() == "Odds ratio (log scale)"
    assert bm.rma([0.1, 0.2], [0.01, 0.02]).funnel().axes[0].get_xlabel() == "Effect size"


def test_prior_posterior_legend_not_over_the_curves(posts):
    fig = posts[3].plot_prior_posterior()
    assert_readable(fig, "prior-posterior")
    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        leg = ax.get_legend().get_window_extent(r)
        assert leg.y1 <= ax.get_window_extent(r).y0  # below the axes
        for t in ax.get_xticklabels():
            if t.get_text():
                assert leg.y1 <= t.get_window_extent(r).y0 + 0.5


def test_influence_and_selection_plots_readable():
    df = _data(60)
    res = bm.rma("yi", "vi", data=df, labels="label")
    assert_readable(bm.influence(res).plot(), "influence k=60")
    assert_readable(bm.influence(bm.rma("yi", "vi", data=_data(10), labels="label")).plot(), "influence k=10")
    for k in (3, 60):  # Baujat: labels never overlap; the most extreme studies keep theirs
        fit = bm.rma("yi", "vi", data=_data(k), labels="label")
        fig = bm.baujat(fit)
        assert_readable(fig, f"baujat k={k}")
        texts = [t.get_text() for t in fig.axes[0].texts]
        vals = bm.baujat_values(fit)
        assert str(vals.index[np.argmax(vals["x"].to_numpy() / vals["x"].abs().max()
                                         + vals["y"].to_numpy() / vals["y"].abs().max())]) in texts
        assert len(texts) == k if k == 3 else 5 <= len(texts) < k
    for steps in (bm.cumul(res), bm.leave1out(res)):
        assert_readable(steps.plot(), f"steps {steps.kind}")
    sel = bm.selmodel(res, type="stepfun", steps=[0.025, 0.5])
    fig = sel.plot()
    assert_readable(fig, "selection")
    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    assert ax.get_legend().get_window_extent(r).y1 <= ax.get_window_extent(r).y0


def _sim_table(ks, taus=(0.0, 0.3)):
    rows = []
    rng = np.random.default_rng(1)
    for k in ks:
        for tau in taus:
            for m in ("HN(0.5)", "DL", "REML", "REML-KH"):
                rows.append({"k": k, "tau": tau, "method": m, "n_sim": 200, "coverage_mu": rng.uniform(0.7, 1.0),
                             "width_mu": rng.uniform(0.2, 3.0) / np.sqrt(k)})
    return pd.DataFrame(rows).set_index(["k", "tau", "method"])


@pytest.mark.parametrize("ks", [(3,), (2, 3, 5, 10, 20, 50)])
def test_simulation_plot_one_k_and_many(ks):
    fig = bm.plots.simulation_plot(_sim_table(ks), bayes=["HN(0.5)"])
    assert_readable(fig, f"simulation k={ks}")
    ax_cov, ax_w = fig.axes[0], fig.axes[len(fig.axes) // 2]
    assert [t.get_text() for t in ax_w.get_xticklabels()] == [str(k) for k in ks]
    assert any(np.allclose(line.get_ydata(), 0.95) for line in ax_cov.get_lines())  # nominal line
    lo, hi = ax_cov.get_ylim()
    assert lo < 0.85 and 1.0 <= hi <= 1.01  # coverage axis around the nominal level, up to 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "HN(0.5) (Bayes)" in labels and "REML-KH" in labels


def test_simulation_result_plot_uses_the_plot_function():
    sim = bm.small_k_simulation(k=(3,), tau=(0.0,), n_sim=20, methods=("DL",), progress=False)
    fig = sim.plot()
    assert_readable(fig, "SimulationResult.plot")
    assert fig.axes[0].get_title() == "\u03c4 = 0"


def test_the_overlap_check_can_fail():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    fig.text(0.1, 0.5, "first label")
    fig.text(0.15, 0.5, "second label")
    with pytest.raises(AssertionError, match="overlaps"):
        assert_readable(fig, "two texts")
    fig = Figure(figsize=(3, 2))
    fig.text(0.9, 0.5, "off the right edge")
    with pytest.raises(AssertionError, match="leaves the figure"):
        assert_readable(fig, "clipped")


def test_bayesian_forest_meta_regression_and_tau_by():
    df = _data(12)
    df["x"] = np.arange(12) / 10
    df["h"] = np.where(np.arange(12) < 6, "one", "two")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = bm.MetaAnalysis(df, yi="yi", vi="vi", labels="label", measure="OR", mods="~ x").fit(
            engine="exact", seed=1)
        by = bm.MetaAnalysis(df, yi="yi", vi="vi", labels="label", measure="OR", tau_by="h").fit(engine="exact", seed=1)
    fig = reg.forest(order="-x")  # a column of the model's data, descending
    ylabels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ylabels[:12] == list(df["label"][::-1])
    assert not any(lab.startswith("Pooled") for lab in ylabels)  # a continuous moderator: no single pooled effect
    assert any(t.get_text().startswith("Meta-regression (x): no single pooled effect") for t in fig.axes[0].texts)
    assert any(t.get_text().startswith("Residual heterogeneity: \u03c4 = ") for t in fig.axes[0].texts)
    assert_readable(fig, "meta-regression forest")
    fig = by.forest()
    ylabels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "Prediction (one)" in ylabels and "Prediction (two)" in ylabels
    texts = [t.get_text() for t in fig.axes[0].texts]
    m1 = by.interval("tau[one]")[0]
    m2 = by.interval("tau[two]")[0]
    w = 1 / (df["vi"].to_numpy() + np.where(df["h"] == "one", m1, m2) ** 2)  # each study's subgroup tau
    assert f"{100 * w[0] / w.sum():.1f}%" in texts
    assert_readable(fig, "tau_by forest")


def test_intervals_beyond_xlim_end_in_arrows():
    df = _data(8)
    res = bm.rma("yi", "vi", data=df, labels="label", method="FE")
    fig = res.forest(transf=np.exp, xlim=(0.3, 3.0))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Odds ratio"
    hi = np.exp(df["yi"] + 1.959963984540054 * np.sqrt(df["vi"]))
    lo = np.exp(df["yi"] - 1.959963984540054 * np.sqrt(df["vi"]))
    arrows = [ln for ln in ax.get_lines() if ln.get_marker() in ("<", ">")]
    assert len(arrows) == int(np.sum(hi > 3.0) + np.sum(lo < 0.3)) > 0
    assert all(ln.get_xdata()[0] in (0.3, 3.0) for ln in arrows)
    assert any(np.allclose(ln.get_xdata(), 1.0) for ln in ax.get_lines())  # reference line at OR = 1
    assert_readable(fig, "forest with xlim")
