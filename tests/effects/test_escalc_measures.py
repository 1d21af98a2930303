"""More escalc measures and the zero-cell options (add, to, drop00) against metafor 3.8.1
(tests/data/reference/metafor/metafor_escalc_more.json, made by metafor_escalc_more.R, and the escalc
cases of metafor_toolbox.json for the rest of metafor's measures: Glass, UCOR, PLN, single rates,
paired tables, alpha, REH)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _helpers import REFERENCE_DIR, ROOT

import bayesma as bm
from bayesma import measures

REF = REFERENCE_DIR
MORE = json.loads((REF / "metafor/metafor_escalc_more.json").read_text())["cases"]
NOT_IMPLEMENTED = {"RTET"}  # tetrachoric correlation: not in bayesma (see docs/effect_sizes.rst)


def _arr(values):
    return np.array([np.nan if v in (None, "NA") else v for v in values], dtype=float)


def _escalc(case):
    opts = case.get("options") or {}
    opts = {} if isinstance(opts, list) else dict(opts)
    inputs = dict(case["input"])
    # metafor accepts (and ignores) the means for VR and SDLN; bayesma refuses arguments it does not use
    unused = {"VR": ("m1i", "m2i"), "SDLN": ("mi",)}.get(case["measure"], ())
    for name in unused:
        inputs.pop(name, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.escalc(case["measure"], **inputs, **opts)


TOOLBOX = json.loads((REF / "metafor/metafor_toolbox.json").read_text())["cases"]
ESCALC = [pytest.param(c, id=c["name"]) for c in MORE + TOOLBOX
          if c["kind"] == "escalc" and c["measure"] not in NOT_IMPLEMENTED]


@pytest.mark.parametrize("case", ESCALC)
def test_escalc_matches_metafor(case):
    out = _escalc(case)
    yi, vi = _arr(case["expect"]["yi"]), _arr(case["expect"]["vi"])
    np.testing.assert_array_equal(np.isnan(out["yi"].to_numpy()), np.isnan(yi))
    np.testing.assert_array_equal(np.isnan(out["vi"].to_numpy()), np.isnan(vi))
    np.testing.assert_allclose(out["yi"], yi, rtol=1e-6, atol=1e-13)
    np.testing.assert_allclose(out["vi"], vi, rtol=1e-6, atol=1e-13)


def test_every_escalc_measure_is_in_the_registry_and_the_docs_table():
    table = (ROOT / "docs" / "effect_sizes.rst").read_text()
    for name in bm.effects.MEASURES:
        assert measures.get(name).name == name
        assert f"``{name}``" in table, name


def test_r2d_joins_a_column_of_d():
    # a CSV of mixed statistics: means, a 2x2 table and a correlation, all as d
    smd = bm.escalc("SMD", m1i=[55.0], sd1i=[47.0], n1i=[155], m2i=[75.0], sd2i=[64.0], n2i=[156])
    lor = bm.escalc("OR2DL", ai=[10], bi=[40], ci=[20], di=[30])
    cor = bm.escalc("R2D", ri=[-0.22], ni=[124])
    d_r, v_r = bm.convert_r_to_d(-0.22, n=124)
    np.testing.assert_allclose(cor[["yi", "vi"]].to_numpy()[0], [d_r, v_r])
    lo = np.log(10 * 30 / (40 * 20))
    np.testing.assert_allclose(lor["yi"].iloc[0], lo * np.sqrt(3) / np.pi)
    assert len(np.concatenate([smd["yi"], lor["yi"], cor["yi"]])) == 3
    two = bm.escalc("R2D", ri=[-0.22], n1i=[31], n2i=[93])
    np.testing.assert_allclose(two["yi"].iloc[0], bm.convert_r_to_d(-0.22, n1=31, n2=93)[0])


def test_new_arguments_are_checked():
    with pytest.raises(TypeError, match="does not use"):
        bm.escalc("PCOR", ti=[2.0], ni=[50], mi=[3], r2i=[0.2])
    with pytest.raises(TypeError, match="needs"):
        bm.escalc("SPCOR", ti=[2.0], ni=[50], mi=[3])
    with pytest.raises(ValueError, match="degrees of freedom"):
        bm.escalc("PCOR", ti=[2.0], ni=[4], mi=[3])
    with pytest.raises(ValueError, match="person-time"):
        bm.escalc("IRR", x1i=[1], t1i=[0], x2i=[2], t2i=[10])
    with pytest.raises(ValueError, match="vtype"):
        bm.escalc("SMCC", m1i=[1.0], m2i=[0.5], sd1i=[1.0], sd2i=[1.0], ni=[20], ri=[0.5], vtype="AV")
    with pytest.raises(TypeError, match="drop00"):
        bm.escalc("OR", ai=[1], bi=[2], ci=[3], di=[4], drop00="yes")


def test_drop00_only_for_counts():
    with pytest.raises(ValueError, match="drop00"):
        bm.escalc("SMD", m1i=[1.0], sd1i=[1.0], n1i=[10], m2i=[0.0], sd2i=[1.0], n2i=[10], drop00=True)
    out = bm.escalc("OR", ai=[0, 2], bi=[10, 8], ci=[0, 3], di=[10, 7], drop00=True)
    assert np.isnan(out["yi"].iloc[0]) and np.isfinite(out["yi"].iloc[1])


def test_metafor_aliases_and_ucor_warning():
    t = dict(ai=[10, 4], bi=[40, 20], ci=[20, 9], di=[30, 16])
    np.testing.assert_array_equal(bm.escalc("OR2D", **t)["yi"], bm.escalc("OR2DL", **t)["yi"])
    m = dict(m1i=[1.0], sd1i=[1.0], n1i=[20], m2i=[0.5], sd2i=[1.2], n2i=[25])
    np.testing.assert_array_equal(bm.escalc("D2OR", **m)["vi"], bm.escalc("D2ORL", **m)["vi"])
    with pytest.warns(RuntimeWarning, match="ni <= 4"):
        out = bm.escalc("UCOR", ri=[0.3, 0.4], ni=[4, 30])
    assert np.isnan(out["yi"].iloc[0]) and np.isfinite(out["yi"].iloc[1])


@pytest.mark.parametrize("measure", ["PR", "PLO", "PLN", "PAS", "PFT"])
def test_every_proportion_measure_checks_its_counts(measure):
    """One set of count checks for all single-proportion measures (PLN, PAS, PFT used to accept these)."""
    with pytest.raises(ValueError, match="ni different from xi"):
        bm.escalc(measure, xi=[3, 5], mi=[7, 5], ni=[10, 12])
    with pytest.raises(ValueError, match="negative count"):
        bm.escalc(measure, xi=[3, 5], mi=[-1, 5])
