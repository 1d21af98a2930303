"""GLMMResult.forest(): one row per study in the fit at its observed effect (the escalc value, 1/2 added
to the cells of a study with a zero cell, as metafor keeps in rma.glmm's yi), with its CI, and the model's
pooled estimate as a diamond. The plotted numbers are checked against bm.escalc (an independent module)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
from _helpers import assert_readable  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

import bayesma as bm  # noqa: E402


def _squares(fig):
    """x of the study markers (one scatter of squares), top to bottom."""
    offsets = np.concatenate([c.get_offsets() for c in fig.axes[0].collections if len(c.get_offsets())])
    return offsets[np.argsort(-offsets[:, 1]), 0]


def test_bcg_forest_has_a_row_per_study_at_its_log_odds_ratio_and_the_pooled_diamond():
    dat = bm.load_dataset("dat.bcg")
    res = bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, slab="author")
    fig = res.forest()
    assert isinstance(fig, Figure)
    es = bm.escalc("OR", ai=dat["tpos"], bi=dat["tneg"], ci=dat["cpos"], di=dat["cneg"])
    x = _squares(fig)
    assert len(x) == res.k == 13
    np.testing.assert_allclose(x, es["yi"], rtol=1e-12)
    np.testing.assert_allclose(res.vi, es["vi"], rtol=1e-12)
    diamond = [p for p in fig.axes[0].patches if isinstance(p, Polygon)]
    assert len(diamond) == 1
    xy = diamond[0].get_xy()[:, 0]
    np.testing.assert_allclose([xy.min(), xy.max()], [res.ci_lb[0], res.ci_ub[0]], rtol=1e-12)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "Aronson" and any(lab.startswith("Random-effects model (GLMM") for lab in labels)
    assert_readable(res.forest(atransf=np.exp), "GLMM forest plot")


def test_zero_cells_are_drawn_at_the_escalc_value_and_double_zero_studies_are_left_out():
    df = pd.DataFrame({"ai": [0, 4, 6, 0, 9], "bi": [10, 119, 300, 20, 80], "ci": [3, 11, 29, 0, 15],
                       "di": [12, 128, 274, 25, 70], "s": list("ABCDE")})
    with pytest.warns(UserWarning, match="D"):
        res = bm.rma_glmm("OR", ai="ai", bi="bi", ci="ci", di="di", data=df, slab="s", model="CM.EL")
    fig = res.forest(order="effect")
    kept = df[df["s"] != "D"]
    es = bm.escalc("OR", ai=kept["ai"], bi=kept["bi"], ci=kept["ci"], di=kept["di"])
    x = _squares(fig)
    assert len(x) == res.k == 4
    np.testing.assert_allclose(x, np.sort(es["yi"].to_numpy()), rtol=1e-12)


@pytest.mark.parametrize("measure, counts", [
    ("PLO", {"xi": [0, 4, 7, 12], "ni": [10, 20, 30, 40]}),
    ("IRR", {"x1i": [0, 4, 7, 12], "t1i": [10, 20, 30, 40], "x2i": [3, 5, 9, 10], "t2i": [12, 18, 33, 41]}),
    ("IRLN", {"xi": [0, 4, 7, 12], "ti": [10, 20, 30, 40]}),
])
def test_other_measures_draw_their_escalc_values(measure, counts):
    res = bm.rma_glmm(measure, **counts)
    fig = res.forest()
    es = bm.escalc(measure, **counts)
    np.testing.assert_allclose(_squares(fig), es["yi"], rtol=1e-12)


def test_a_meta_regression_draws_the_studies_without_a_pooled_diamond():
    dat = bm.load_dataset("dat.bcg")
    res = bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, mods="~ ablat")
    fig = res.forest()
    assert len(_squares(fig)) == 13
    assert not [p for p in fig.axes[0].patches if isinstance(p, Polygon)]
