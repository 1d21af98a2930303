"""The plots of the frequentist diagnostics: influence panels, DFBETAS, Baujat, leave-one-out
and cumulative forest plots return matplotlib Figures with what metafor draws."""

from __future__ import annotations

import numpy as np
import pytest

import bayesma as bm

pytest.importorskip("matplotlib")

YI = [0.1, 0.3, 0.35, -0.05, 0.5, 0.2, 0.9]
VI = [0.01, 0.02, 0.015, 0.03, 0.08, 0.01, 0.01]


def test_influence_plot_has_metafor_panels_and_marks_influential_studies():
    inf = bm.influence(bm.rma(YI, VI, mods=[1, 2, 3, 4, 5, 6, 7]))
    fig = bm.influence_plot(inf)
    assert [ax.get_title() for ax in fig.axes] == ["rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del",
                                                   "hat", "weight"]
    red = fig.axes[0].collections[1].get_offsets()
    assert len(red) == int(inf.is_infl.sum())
    fig = bm.influence_plot(inf, dfbetas=True)
    assert [ax.get_title() for ax in fig.axes] == list(inf.dfbetas.columns)


def test_baujat_places_each_study_at_its_coordinates():
    res = bm.rma(YI, VI, method="DL", labels=list("ABCDEFG"))
    fig = bm.baujat(res)
    values = bm.baujat_values(res)
    texts = {t.get_text(): t.xy for t in fig.axes[0].texts}
    assert set(texts) == set("ABCDEFG")
    np.testing.assert_allclose(texts["G"], values.loc["G", ["x", "y"]].to_numpy(float))
    assert fig.axes[0].get_xlabel() == "Squared Pearson Residual"


@pytest.mark.parametrize("kind", ["leave1out", "cumul"])
def test_steps_plot_rows_and_reference_line(kind):
    res = bm.rma(YI, VI)
    steps = getattr(bm, kind)(res, transf=np.exp)
    fig = bm.steps_plot(steps)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == len(YI)
    assert "frequentist" in ax.get_title().lower()
    np.testing.assert_allclose(ax.lines[0].get_xdata()[0], np.exp(res.beta[0]))


def test_steps_plot_atransf_labels_the_axis_on_the_ratio_scale():
    res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    steps = bm.leave1out(res)
    fig = bm.steps_plot(steps, atransf=np.exp)
    ax = fig.axes[0]
    fmt = ax.xaxis.get_major_formatter()
    assert fmt(0.0, 0) == "1"
    first = ax.texts[0].get_text()
    assert first.startswith(f"{np.exp(steps.table['estimate'].iloc[0]):.2f}")


def test_funnel_plot_atransf_labels_the_axis():
    res = bm.rma([0.1, 0.3, 0.35, -0.05, 0.5], [0.01, 0.02, 0.015, 0.03, 0.08])
    ax = bm.plots.funnel_plot(res, atransf=np.exp).axes[0]
    assert ax.xaxis.get_major_formatter()(0.0, 0) == "1"


def test_plot_methods_draw_the_same_figures():
    res = bm.rma(YI, VI, mods=[1, 2, 3, 4, 5, 6, 7])
    inf = res.influence()
    assert [ax.get_title() for ax in inf.plot().axes] == [ax.get_title() for ax in bm.influence_plot(inf).axes]
    steps = bm.cumul(bm.rma(YI, VI))
    assert len(steps.plot().axes[0].get_yticklabels()) == len(YI)
