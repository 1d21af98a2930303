"""The chosen prediction interval travels with the fit: with_pi_type, predict(), the forest plot's
legend and the report's sentence name it (numbers against metafor_smallk_tools.json, metafor 3.8.1)."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

CASE = next(c for c in json.loads((REFERENCE_DIR / "metafor/metafor_smallk_tools.json").read_text())["cases"]
            if c["name"] == "bcg_REML_z")
DAT = pd.DataFrame(CASE["input"])
LABELS = {"default": "z", "z": "z", "t": "t(12)", "riley": "Riley, t(11)", "simple": "simple, z"}


@pytest.mark.parametrize("pi_type", list(LABELS))
def test_rma_pi_type_sets_the_interval_and_its_label(pi_type):
    want = CASE["expect"][pi_type]
    res = bm.rma("yi", "vi", data=DAT).with_pi_type(pi_type)
    assert (res.pi_lb, res.pi_ub) == pytest.approx((want["pi_lb"], want["pi_ub"]), rel=1e-6)
    assert res.pi_label == LABELS[pi_type]
    # predict() without pi_type gives the fit's own variant; with one, that one
    pred = res.predict()
    assert pred["pi_lb"].iloc[0] == pytest.approx(want["pi_lb"], rel=1e-6)
    assert res.predict(pi_type="z")["pi_lb"].iloc[0] == pytest.approx(CASE["expect"]["z"]["pi_lb"], rel=1e-6)
    # the original fit is unchanged (results are immutable)
    base = bm.rma("yi", "vi", data=DAT)
    assert base.pi_label == "z" and base.pi_lb == pytest.approx(CASE["expect"]["z"]["pi_lb"], rel=1e-6)


def test_hk_variants_and_errors():
    res = bm.rma("yi", "vi", data=DAT).with_pi_type("HK-PR")
    assert res.pi_label == "HK-PR, t(11)"
    assert (res.pi_lb, res.pi_ub) == pytest.approx((-2.0091, 0.5800), abs=1e-4)   # the meta values
    with pytest.raises(bm.InputError, match="pi_type must be one of"):
        bm.rma("yi", "vi", data=DAT).with_pi_type("KR")
    reg = bm.rma("yi", "vi", data=DAT, mods="~ ablat").with_pi_type("t")
    assert reg.pi_lb is None and reg.pi_type == "t"
    assert reg.predict(newmods=[30])["pi_df"].iloc[0] == 11


def test_forest_legend_names_the_interval():
    res = bm.rma("yi", "vi", data=DAT)

    def legend_texts(fig):
        return [t.get_text() for leg in fig.legends for t in leg.get_texts()] + [
            t.get_text() for ax in fig.axes for t in ax.texts]

    default = " ".join(legend_texts(res.forest()))
    chosen = legend_texts(res.forest(pi_type="t"))
    assert "Prediction interval [95%; z]" in default
    assert "Prediction interval [95%; t(12)]" in " ".join(chosen)
    lo, hi = CASE["expect"]["t"]["pi_lb"], CASE["expect"]["t"]["pi_ub"]
    assert f"[{lo:.2f}, {hi:.2f}]" in " ".join(chosen)


def test_report_uses_and_names_the_chosen_interval():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(DAT, "yi", "vi", priors={"mu": "normal(0, 2)", "tau": "halfnormal(0.5)"}).fit(
            engine="exact", seed=1)
    text_default = post.report()
    text_t = post.report(pi_type="t")
    want = CASE["expect"]["t"]
    assert re.search(r"95% prediction interval \(z\) was \[-1\.87, 0\.44\]", text_default)
    assert re.search(rf"95% prediction interval \(t\(12\)\) was \[{want['pi_lb']:.2f}, {want['pi_ub']:.2f}\]",
                     text_t)
    assert np.isfinite(want["pi_lb"])
