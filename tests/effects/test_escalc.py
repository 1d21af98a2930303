"""Tests of bayesma.effects: escalc against metafor, conversions, aggregate, errors."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

import bayesma as bm
from bayesma.effects import (
    MEASURES,
    aggregate,
    convert_d_to_logor,
    convert_d_to_r,
    convert_d_to_z,
    convert_logor_to_d,
    convert_logor_to_r,
    convert_r_to_d,
    convert_r_to_logor,
    convert_r_to_z,
    convert_z_to_d,
    convert_z_to_r,
    escalc,
)

RTOL = 1e-6
NA = float("nan")


# ----------------------------------------------------------------------------------------
# escalc against the shared metafor reference file
# ----------------------------------------------------------------------------------------


def _reference_file() -> Path:
    return REFERENCE_DIR / "metafor/metafor_cases.json"


def _escalc_cases() -> list:
    path = _reference_file()
    cases = json.loads(path.read_text())["cases"]
    return [pytest.param(c, id=c["name"]) for c in cases if c["kind"] == "escalc"]


@pytest.mark.parametrize("case", _escalc_cases())
def test_escalc_matches_metafor_reference(case):
    res = escalc(case["measure"], **case["input"])
    assert list(res.columns) == ["yi", "vi"]
    np.testing.assert_allclose(res["yi"], case["expect"]["yi"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(res["vi"], case["expect"]["vi"], rtol=RTOL, atol=0)


def test_reference_file_covers_the_core_measures():
    path = _reference_file()
    measures = {c["measure"] for c in json.loads(path.read_text())["cases"] if c["kind"] == "escalc"}
    assert {"SMD", "MD", "ROM", "OR", "RR", "RD", "COR", "ZCOR"} <= measures


# ----------------------------------------------------------------------------------------
# escalc against further metafor values made for this file
# ----------------------------------------------------------------------------------------

# Made with R 4.2.2 (Patched 2022-11-10 r83330) and metafor 3.8.1 on this machine: each
# case is `res <- escalc(...)` with the call in the comment above it, recorded as
# jsonlite::toJSON(list(yi = as.numeric(res$yi), vi = as.numeric(res$vi)), digits = NA)
# (15 significant digits); NA is metafor's NA. Zero cells, `to`/`add`, the variance types,
# single proportions, missing inputs and undefined values (log of 0 or of a negative ratio).
METAFOR_EXTRA = [
    # escalc("OR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "only0")
    ("OR_only0", "OR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='only0'),
     [-2.41428908257405, 2.19722457733622, 0.405465108108164, 1.63575522075147, -0.0666913744986721],
     [2.33160877063316, 2.38730158730159, 0.408333333333333, 2.6008658008658, 4.13348164627364]),
    # escalc("OR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "all")
    ("OR_all", "OR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='all'),
     [-2.41428908257405, 2.19722457733622, 0.385662480811985, 1.63575522075147, -0.0666913744986721],
     [2.33160877063316, 2.38730158730159, 0.38812324929972, 2.6008658008658, 4.13348164627364]),
    # escalc("OR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "if0all")
    ("OR_if0all", "OR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='if0all'),
     [-2.41428908257405, 2.19722457733622, 0.385662480811985, 1.63575522075147, -0.0666913744986721],
     [2.33160877063316, 2.38730158730159, 0.38812324929972, 2.6008658008658, 4.13348164627364]),
    # escalc("OR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "none")
    ("OR_none", "OR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='none'),
     [NA, NA, 0.405465108108164, NA, NA],
     [NA, NA, 0.408333333333333, NA, NA]),
    # escalc("OR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), add = 0.25)
    ("OR_add0.25", "OR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], add=0.25),
     [-3.05327522883302, 2.81947922259642, 0.405465108108164, 2.24217596519849, -0.0678225963387611],
     [4.3462152952349, 4.41060714240978, 0.408333333333333, 4.63609953265126, 8.13574920908829]),
    # escalc("RR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "only0")
    ("RR_only0", "RR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='only0'),
     [-2.19722457733622, 2.03688192726104, 0.182321556793955, 0.295980875266476, -0.0645385211375711],
     [2.12698412698413, 2.19461697722567, 0.0833333333333333, 0.0575757575757576, 3.87083333333333]),
    # escalc("RR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "all")
    ("RR_all", "RR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='all'),
     [-2.19722457733622, 2.03688192726104, 0.174353387144778, 0.295980875266476, -0.0645385211375711],
     [2.12698412698413, 2.19461697722567, 0.08, 0.0575757575757576, 3.87083333333333]),
    # escalc("RR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "if0all")
    ("RR_if0all", "RR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='if0all'),
     [-2.19722457733622, 2.03688192726104, 0.174353387144778, 0.295980875266476, -0.0645385211375711],
     [2.12698412698413, 2.19461697722567, 0.08, 0.0575757575757576, 3.87083333333333]),
    # escalc("RR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "none")
    ("RR_none", "RR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='none'),
     [NA, NA, 0.182321556793955, 0.356674943938732, NA],
     [NA, NA, 0.0833333333333333, 0.0428571428571428, NA]),
    # escalc("RR", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), add = 0.25)
    ("RR_add0.25", "RR", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], add=0.25),
     [-2.83321334405622, 2.65803978052755, 0.182321556793955, 0.323853772662001, -0.0666913744986726],
     [4.1377331420373, 4.21446737544299, 0.0833333333333333, 0.051350947902672, 7.86651835372636]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "only0")
    ("RD_only0", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='only0'),
     [-0.19047619047619, 0.144927536231884, 0.1, 0.234848484848485, -0.00208333333333333],
     [0.00912428463448872, 0.0075383888156141, 0.0245, 0.0324534950051479, 0.00404023799189815]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "all")
    ("RD_all", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='all'),
     [-0.19047619047619, 0.144927536231884, 0.0952380952380952, 0.234848484848485, -0.00208333333333333],
     [0.00912428463448872, 0.0075383888156141, 0.0233776050102581, 0.0324534950051479, 0.00404023799189815]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "if0all")
    ("RD_if0all", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='if0all'),
     [-0.19047619047619, 0.144927536231884, 0.0952380952380952, 0.234848484848485, -0.00208333333333333],
     [0.00912428463448872, 0.0075383888156141, 0.0233776050102581, 0.0324534950051479, 0.00404023799189815]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), to = "none")
    ("RD_none", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], to='none'),
     [-0.2, 0.15, 0.1, 0.3, 0.0],
     [0.008, 0.006375, 0.0245, 0.021, 0.0]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), add = 0.25)
    ("RD_add0.25", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], add=0.25),
     [-0.195121951219512, 0.147425474254743, 0.1, 0.264069264069264, -0.00111234705228031],
     [0.0086040539168033, 0.00699579075137995, 0.0245, 0.0282429788248645, 0.00219235873050606]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), vtype = "UB")
    ("RD_UB", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], vtype='UB'),
     [-0.19047619047619, 0.144927536231884, 0.1, 0.234848484848485, -0.00208333333333333],
     [0.00958049886621315, 0.00791110538275, 0.0257894736842105, 0.0369719926538108, 0.00431981646825397]),
    # escalc("RD", ai = c(0, 3, 12, 5, 0), bi = c(20, 17, 8, 0, 15), ci = c(4, 0, 10, 7, 0), di = c(16, 22, 10, 3, 14), vtype = "AV")
    ("RD_AV", "RD", dict(ai=[0, 3, 12, 5, 0], bi=[20, 17, 8, 0, 15], ci=[4, 0, 10, 7, 0], di=[16, 22, 10, 3, 14], vtype='AV'),
     [-0.19047619047619, 0.144927536231884, 0.1, 0.234848484848485, -0.00208333333333333],
     [0.0182646462465057, 0.0174768743476226, 0.0191778785588309, 0.0495136168945693, 0.0247650436717897]),
    # escalc("OR", ai = c(0, 3, 12, 5, 0), n1i = c(20, 20, 20, 5, 15), ci = c(4, 0, 10, 7, 0), n2i = c(20, 22, 20, 10, 14))
    ("OR_n", "OR", dict(ai=[0, 3, 12, 5, 0], n1i=[20, 20, 20, 5, 15], ci=[4, 0, 10, 7, 0], n2i=[20, 22, 20, 10, 14]),
     [-2.41428908257405, 2.19722457733622, 0.405465108108164, 1.63575522075147, -0.0666913744986721],
     [2.33160877063316, 2.38730158730159, 0.408333333333333, 2.6008658008658, 4.13348164627364]),
    # escalc("SMD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "LS")
    ("SMD_LS", "SMD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='LS'),
     [0.50436916769154, -0.777378339345342, 0.44713461352072, 0.143294400859141],
     [0.189114884636012, 0.394135624961363, 0.0525973879519427, 0.835386661865091]),
    # escalc("SMD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "LS2")
    ("SMD_LS2", "SMD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='LS2'),
     [0.50436916769154, -0.777378339345342, 0.44713461352072, 0.143294400859141],
     [0.175426720401524, 0.333696974839275, 0.0515857091017394, 0.438385641530341]),
    # escalc("SMD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "UB")
    ("SMD_UB", "SMD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='UB'),
     [0.50436916769154, -0.777378339345342, 0.44713461352072, 0.143294400859141],
     [0.190298910238819, 0.408193051475569, 0.0526620692138237, 0.840794723226077]),
    # escalc("SMD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "AV")
    ("SMD_AV", "SMD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='AV'),
     [0.50436916769154, -0.777378339345342, 0.44713461352072, 0.143294400859141],
     [0.185789996537228, 0.371579993074455, 0.0520086944799108, 0.844142651430469]),
    # escalc("MD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "LS")
    ("MD_LS", "MD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='LS'),
     [1.2, -1.1, 2.5, 0.2],
     [0.9925, 0.651666666666667, 1.55789473684211, 0.99]),
    # escalc("MD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "UB")
    ("MD_UB", "MD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='UB'),
     [1.2, -1.1, 2.5, 0.2],
     [0.9925, 0.651666666666667, 1.55789473684211, 0.99]),
    # escalc("MD", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "HO")
    ("MD_HO", "MD", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='HO'),
     [1.2, -1.1, 2.5, 0.2],
     [0.9603, 0.613148148148148, 1.57255886426593, 0.85]),
    # escalc("ROM", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "LS")
    ("ROM_LS", "ROM", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='LS'),
     [0.125163142954006, -0.195308752320766, 0.133531392624523, 0.0625203569813339],
     [0.0112483446537656, 0.0225473093075144, 0.00439822771213749, 0.0997153447252775]),
    # escalc("ROM", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "HO")
    ("ROM_HO", "ROM", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='HO'),
     [0.125163142954006, -0.195308752320766, 0.133531392624523, 0.0625203569813339],
     [0.0106621683967705, 0.0201086588582733, 0.00454857096924642, 0.0842910229912406]),
    # escalc("ROM", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "AV")
    ("ROM_AV", "ROM", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='AV'),
     [0.125163142954006, -0.195308752320766, 0.133531392624523, 0.0625203569813339],
     [0.0141367497107507, 0.0283292078400861, 0.00395973586829693, 0.0641819872053425]),
    # escalc("ROM", m1i = c(10.2, 5.1, 20, 3.3), sd1i = c(2.1, 1.5, 6, 0.9), n1i = c(12, 5, 40, 3), m2i = c(9, 6.2, 17.5, 3.1), sd2i = c(2.5, 1.1, 5, 1.2), n2i = c(10, 6, 38, 2), vtype = "AVHO")
    ("ROM_AVHO", "ROM", dict(m1i=[10.2, 5.1, 20, 3.3], sd1i=[2.1, 1.5, 6, 0.9], n1i=[12, 5, 40, 3], m2i=[9, 6.2, 17.5, 3.1], sd2i=[2.5, 1.1, 5, 1.2], n2i=[10, 6, 38, 2], vtype='AVHO'),
     [0.125163142954006, -0.195308752320766, 0.133531392624523, 0.0625203569813339],
     [0.0141555453524477, 0.0283110907048954, 0.00396219810104398, 0.0643433879656714]),
    # escalc("PR", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7))
    ("PR_LS", "PR", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7]),
     [0.03125, 0.1, 0.954545454545455, 0.416666666666667, 0.9375],
     [0.00189208984375, 0.003, 0.00394440270473328, 0.00405092592592593, 0.00732421875]),
    # escalc("PR", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7), vtype = "AV")
    ("PR_AV", "PR", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7], vtype='AV'),
     [0.03125, 0.1, 0.954545454545455, 0.416666666666667, 0.9375],
     [0.014601, 0.0077872, 0.0212378181818182, 0.0038936, 0.029202]),
    # escalc("PR", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7), to = "all")
    ("PR_all", "PR", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7], to='all'),
     [0.03125, 0.112903225806452, 0.954545454545455, 0.418032786885246, 0.9375],
     [0.00189208984375, 0.00323084152932094, 0.00394440270473328, 0.00398821927826558, 0.00732421875]),
    # escalc("PLO", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7))
    ("PLO_LS", "PLO", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7]),
     [-3.43398720448515, -2.19722457733622, 3.04452243772342, -0.336472236621213, 2.70805020110221],
     [2.06451612903226, 0.37037037037037, 2.0952380952381, 0.0685714285714286, 2.13333333333333]),
    # escalc("PLO", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7), vtype = "AV")
    ("PLO_AV", "PLO", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7], vtype='AV'),
     [-3.43398720448515, -2.19722457733622, 3.04452243772342, -0.336472236621213, 2.70805020110221],
     [0.267533045681803, 0.142684291030295, 0.389138975537167, 0.0713421455151474, 0.535066091363605]),
    # escalc("PLO", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7), to = "all")
    ("PLO_all", "PLO", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7], to='all'),
     [-3.43398720448515, -2.06142303617716, 3.04452243772342, -0.33085424431699, 2.70805020110221],
     [2.06451612903226, 0.322077922077922, 2.0952380952381, 0.0673847003590168, 2.13333333333333]),
    # escalc("PR", xi = c(0, 3, 10, 25, 7), ni = c(15, 30, 10, 60, 7), vtype = "UB")
    ("PR_UB", "PR", dict(xi=[0, 3, 10, 25, 7], ni=[15, 30, 10, 60, 7], vtype='UB'),
     [0.03125, 0.1, 0.954545454545455, 0.416666666666667, 0.9375],
     [0.00201822916666667, 0.00310344827586207, 0.00433884297520661, 0.0041195856873823, 0.00837053571428571]),
    # escalc("COR", ri = c(0.5, -0.3, 0.9, 0.1), ni = c(20, 50, 15, 200), vtype = "AV")
    ("COR_AV", "COR", dict(ri=[0.5, -0.3, 0.9, 0.1], ni=[20, 50, 15, 200], vtype='AV'),
     [0.5, -0.3, 0.9, 0.1],
     [0.0515842105263158, 0.0200020408163265, 0.0700071428571429, 0.0049251256281407]),
    # escalc("MD", m1i = c(1, NA, 3), sd1i = c(NA, 1, 1), n1i = c(10, 10, 10), m2i = c(0, 0, 0), sd2i = c(1, 1, 1), n2i = c(10, 10, 10))
    ("MD_NA", "MD", dict(m1i=[1, NA, 3], sd1i=[NA, 1, 1], n1i=[10, 10, 10], m2i=[0, 0, 0], sd2i=[1, 1, 1], n2i=[10, 10, 10]),
     [1.0, NA, 3.0],
     [NA, 0.2, 0.2]),
    # escalc("SMD", m1i = c(1, NA, 3), sd1i = c(NA, 1, 1), n1i = c(10, 10, 10), m2i = c(0, 0, 0), sd2i = c(1, 1, 1), n2i = c(10, 10, 10))
    ("SMD_NA", "SMD", dict(m1i=[1, NA, 3], sd1i=[NA, 1, 1], n1i=[10, 10, 10], m2i=[0, 0, 0], sd2i=[1, 1, 1], n2i=[10, 10, 10]),
     [NA, NA, 2.87293928107116],
     [NA, NA, 0.406344502818042]),
    # escalc("OR", ai = c(0, NA, 3), bi = c(10, 5, NA), ci = c(2, 2, 2), di = c(8, 8, 8))
    ("OR_NA", "OR", dict(ai=[0, NA, 3], bi=[10, 5, NA], ci=[2, 2, 2], di=[8, 8, 8]),
     [-1.82074700610131, NA, NA],
     [2.61288515406162, NA, NA]),
    # escalc("ZCOR", ri = c(1, 0.5, 0.5, NA), ni = c(10, 3, 10, 10))
    ("ZCOR_edge", "ZCOR", dict(ri=[1, 0.5, 0.5, NA], ni=[10, 3, 10, 10]),
     [NA, 0.549306144334055, 0.549306144334055, NA],
     [NA, NA, 0.142857142857143, 0.142857142857143]),
    # escalc("COR", ri = c(1, 0.5, 0.5, 0.2), ni = c(10, 3, 2, NA))
    ("COR_edge", "COR", dict(ri=[1, 0.5, 0.5, 0.2], ni=[10, 3, 2, NA]),
     [1.0, 0.5, 0.5, 0.2],
     [0.0, NA, NA, NA]),
    # escalc("ROM", m1i = c(-1, 2, -2, 0), sd1i = c(1, 1, 1, 1), n1i = c(10, 10, 10, 10), m2i = c(1, 1, -1, 1), sd2i = c(1, 1, 1, 1), n2i = c(10, 10, 10, 10))
    ("ROM_edge", "ROM", dict(m1i=[-1, 2, -2, 0], sd1i=[1, 1, 1, 1], n1i=[10, 10, 10, 10], m2i=[1, 1, -1, 1], sd2i=[1, 1, 1, 1], n2i=[10, 10, 10, 10]),
     [NA, 0.693147180559945, 0.693147180559945, NA],
     [NA, 0.125, 0.125, NA]),
    # escalc("RR", ai = c(0, 10), bi = c(10, 0), ci = c(0, 10), di = c(10, 0))
    ("RR_allzero", "RR", dict(ai=[0, 10], bi=[10, 0], ci=[0, 10], di=[10, 0]),
     [0.0, 0.0],
     [3.81818181818182, 0.00865800865800864]),
]


@pytest.mark.parametrize(
    "name, measure, kwargs, yi, vi", METAFOR_EXTRA, ids=[c[0] for c in METAFOR_EXTRA]
)
def test_escalc_matches_metafor_extra(name, measure, kwargs, yi, vi):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = escalc(measure, **kwargs)
    np.testing.assert_allclose(res["yi"], yi, rtol=RTOL, atol=0, equal_nan=True)
    np.testing.assert_allclose(res["vi"], vi, rtol=RTOL, atol=0, equal_nan=True)


def test_extra_cases_cover_every_measure():
    """The cases here cover metafor's basic measures; the others are checked in test_escalc_more.py."""
    basic = {"SMD", "MD", "ROM", "OR", "RR", "RD", "PR", "PLO"}  # COR, ZCOR: the cases above
    assert basic <= {c[1] for c in METAFOR_EXTRA}
    assert basic | {"COR", "ZCOR"} <= set(MEASURES)


# ----------------------------------------------------------------------------------------
# escalc against hand computations from the textbook formulas
# ----------------------------------------------------------------------------------------


def test_smd_hand_computation_exact_correction():
    m1, s1, n1, m2, s2, n2 = 10.0, 2.0, 8, 8.5, 3.0, 6
    m = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
    c = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    g = c * (m1 - m2) / sp
    v = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    res = escalc("SMD", m1i=[m1], sd1i=[s1], n1i=[n1], m2i=[m2], sd2i=[s2], n2i=[n2])
    assert res["yi"].iloc[0] == pytest.approx(g, rel=1e-12)
    assert res["vi"].iloc[0] == pytest.approx(v, rel=1e-12)
    # the exact correction is close to, but not, Hedges' approximation 1 - 3/(4m - 1)
    assert c != pytest.approx(1 - 3 / (4 * m - 1), rel=1e-6)
    assert c == pytest.approx(1 - 3 / (4 * m - 1), rel=1e-3)


def test_smd_large_samples_do_not_overflow():
    res = escalc("SMD", m1i=[1.0], sd1i=[1.0], n1i=[5000], m2i=[0.0], sd2i=[1.0], n2i=[5000])
    m = 9998
    assert res["yi"].iloc[0] == pytest.approx(1 - 3 / (4 * m - 1), rel=1e-8)


def test_md_rom_cor_zcor_hand_computation():
    md = escalc("MD", m1i=[5.0], sd1i=[2.0], n1i=[20], m2i=[3.0], sd2i=[1.0], n2i=[10])
    assert md["yi"].iloc[0] == 2.0
    assert md["vi"].iloc[0] == pytest.approx(4 / 20 + 1 / 10)
    rom = escalc("ROM", m1i=[5.0], sd1i=[2.0], n1i=[20], m2i=[3.0], sd2i=[1.0], n2i=[10])
    assert rom["yi"].iloc[0] == pytest.approx(math.log(5 / 3))
    assert rom["vi"].iloc[0] == pytest.approx(4 / (20 * 25) + 1 / (10 * 9))
    cor = escalc("COR", ri=[0.4], ni=[51])
    assert cor["yi"].iloc[0] == 0.4
    assert cor["vi"].iloc[0] == pytest.approx((1 - 0.16) ** 2 / 50)
    z = escalc("ZCOR", ri=[0.4], ni=[51])
    assert z["yi"].iloc[0] == pytest.approx(0.5 * math.log(1.4 / 0.6))
    assert z["vi"].iloc[0] == pytest.approx(1 / 48)


def test_two_by_two_hand_computation_and_zero_cells():
    # no zero cell: no correction
    res = escalc("OR", ai=[10], bi=[20], ci=[5], di=[25])
    assert res["yi"].iloc[0] == pytest.approx(math.log(10 * 25 / (20 * 5)))
    assert res["vi"].iloc[0] == pytest.approx(1 / 10 + 1 / 20 + 1 / 5 + 1 / 25)
    # a zero cell: 1/2 is added to all four cells of that study only
    res = escalc("RR", ai=[0, 10], bi=[10, 20], ci=[5, 5], di=[5, 25])
    assert res["yi"].iloc[0] == pytest.approx(math.log((0.5 / 11) / (5.5 / 11)))
    assert res["vi"].iloc[0] == pytest.approx(1 / 0.5 - 1 / 11 + 1 / 5.5 - 1 / 11)
    assert res["yi"].iloc[1] == pytest.approx(math.log((10 / 30) / (5 / 30)))
    # metafor corrects RD as well (addyi/addvi default TRUE for all 2x2 measures)
    res = escalc("RD", ai=[0], bi=[10], ci=[5], di=[5])
    assert res["yi"].iloc[0] == pytest.approx(0.5 / 11 - 5.5 / 11)
    # to="none": the log of 0 is undefined -> NaN with a warning naming the study
    with pytest.warns(RuntimeWarning, match="row 1"):
        res = escalc("OR", ai=[0], bi=[10], ci=[5], di=[5], to="none")
    assert np.isnan(res["yi"].iloc[0]) and np.isnan(res["vi"].iloc[0])


def test_two_by_two_with_group_sizes_equals_cells():
    a = escalc("OR", ai=[3, 0], bi=[7, 12], ci=[4, 2], di=[6, 9])
    b = escalc("OR", ai=[3, 0], n1i=[10, 12], ci=[4, 2], n2i=[10, 11])
    pd.testing.assert_frame_equal(a, b)
    # both given and consistent is fine
    c = escalc("OR", ai=[3, 0], bi=[7, 12], n1i=[10, 12], ci=[4, 2], di=[6, 9])
    pd.testing.assert_frame_equal(a, c)


def test_proportions_hand_computation():
    res = escalc("PLO", xi=[3, 0], ni=[12, 10])
    assert res["yi"].iloc[0] == pytest.approx(math.log(3 / 9))
    assert res["vi"].iloc[0] == pytest.approx(1 / 3 + 1 / 9)
    assert res["yi"].iloc[1] == pytest.approx(math.log(0.5 / 10.5))
    pr = escalc("PR", xi=[3], mi=[9])
    assert pr["yi"].iloc[0] == 0.25
    assert pr["vi"].iloc[0] == pytest.approx(0.25 * 0.75 / 12)


# ----------------------------------------------------------------------------------------
# escalc: data frames, missing values, output shape
# ----------------------------------------------------------------------------------------


@pytest.fixture
def bcg():
    return pd.DataFrame(
        {
            "author": ["Aronson", "Ferguson", "Rosenthal"],
            "tpos": [4, 6, 3],
            "tneg": [119, 300, 228],
            "cpos": [11, 29, 11],
            "cneg": [128, 274, 209],
        },
        index=[10, 20, 30],
    )


def test_data_columns_first_then_yi_vi_and_index_kept(bcg):
    res = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    assert list(res.columns) == list(bcg.columns) + ["yi", "vi"]
    assert list(res.index) == [10, 20, 30]
    pd.testing.assert_frame_equal(res[list(bcg.columns)], bcg)
    np.testing.assert_allclose(res["yi"], [-0.889311333920205, -1.58538865720143, -1.34807314829969], rtol=RTOL)
    assert res.attrs["measure"] == "RR"
    assert "yi" not in bcg.columns  # the input is not modified


def test_var_names_and_mixed_columns_and_arrays(bcg):
    res = escalc("OR", ai="tpos", bi=bcg["tneg"].to_numpy(), ci="cpos", di=[128, 274, 209],
                 data=bcg, var_names=("lnor", "v_lnor"))
    assert list(res.columns)[-2:] == ["lnor", "v_lnor"]
    ref = escalc("OR", ai=[4, 6, 3], bi=[119, 300, 228], ci=[11, 29, 11], di=[128, 274, 209])
    np.testing.assert_allclose(res["lnor"], ref["yi"])


def test_missing_input_gives_nan_row_not_dropped():
    with pytest.warns(UserWarning, match=r"study in row 2: column 'm1i'"):
        res = escalc("SMD", m1i=[1.0, np.nan, 2.0], sd1i=[1, 1, 1], n1i=[10, 10, 10],
                     m2i=[0, 0, 0], sd2i=[1, 1, 1], n2i=[10, 10, 10])
    assert len(res) == 3
    assert np.isnan(res["yi"].iloc[1]) and np.isnan(res["vi"].iloc[1])
    assert np.isfinite(res["yi"].iloc[[0, 2]]).all()


def test_missing_input_from_nullable_column():
    df = pd.DataFrame({"r": pd.array([0.3, None, 0.1], dtype="Float64"), "n": pd.array([30, 40, None], dtype="Int64")})
    with pytest.warns(UserWarning, match=r"row 2: column 'r'; study in row 3: column 'n'"):
        res = escalc("ZCOR", ri="r", ni="n", data=df)
    assert np.isfinite(res["vi"].iloc[0])
    assert np.isnan(res["yi"].iloc[1])
    assert res["yi"].iloc[2] == pytest.approx(math.atanh(0.1)) and np.isnan(res["vi"].iloc[2])


def test_zcor_small_n_warns_and_gives_nan_variance():
    with pytest.warns(RuntimeWarning, match="ni <= 3"):
        res = escalc("ZCOR", ri=[0.5, 0.5], ni=[3, 10])
    assert res["yi"].iloc[0] == pytest.approx(math.atanh(0.5))
    assert np.isnan(res["vi"].iloc[0])


def test_scalar_input_is_one_study():
    res = escalc("COR", ri=0.3, ni=20)
    assert len(res) == 1


# ----------------------------------------------------------------------------------------
# escalc: errors name the study and the column
# ----------------------------------------------------------------------------------------


def test_unknown_measure_lists_known_ones():
    with pytest.raises(ValueError, match="unknown measure 'XYZ'") as info:
        escalc("XYZ", ri=[0.1], ni=[10])
    for m in ("SMD", "MD", "ROM", "OR", "RR", "RD", "COR", "ZCOR", "PR", "PLO"):
        assert m in str(info.value)
    with pytest.raises(ValueError, match="did you mean 'SMD'"):
        escalc("SMDX", ri=[0.1], ni=[10])
    # case is read as the registry reads it (bayesma.measures): "smd" is SMD, whose arguments are named
    with pytest.raises(TypeError, match="measure 'SMD' does not use argument"):
        escalc("smd", ri=[0.1], ni=[10])


def test_missing_and_superfluous_arguments():
    with pytest.raises(TypeError, match="missing: sd2i"):
        escalc("SMD", m1i=[1], sd1i=[1], n1i=[10], m2i=[0], n2i=[10])
    with pytest.raises(TypeError, match="bi or n1i"):
        escalc("OR", ai=[1], ci=[2], di=[3])
    with pytest.raises(TypeError, match="does not use argument"):
        escalc("COR", ri=[0.1], ni=[10], n1i=[5])


def test_negative_count_names_row_and_column(bcg):
    bad = bcg.copy()
    bad.loc[20, "cpos"] = -1
    with pytest.raises(ValueError, match=r"'cpos'.*row 2"):
        escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bad)
    # with slab the label is named too
    with pytest.raises(ValueError, match=r"'cpos'.*'Ferguson'"):
        escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bad, slab="author")


def test_events_above_group_size():
    with pytest.raises(ValueError, match=r"'ai' and column 'n1i'.*row 2"):
        escalc("OR", ai=[1, 12], n1i=[10, 10], ci=[1, 1], n2i=[10, 10])
    with pytest.raises(ValueError, match=r"'n1i'.*row 1.*different from ai \+ bi"):
        escalc("OR", ai=[1], bi=[5], n1i=[10], ci=[1], n2i=[10])


@pytest.mark.parametrize("column, value, pattern", [
    ("sd1i", -0.5, "negative standard deviation"),
    ("sd2i", -1.0, "negative standard deviation"),
    ("n2i", 1, "group size <= 1"),
])
def test_bad_means_input(column, value, pattern):
    kw = dict(m1i=[1.0, 2.0, 3.0], sd1i=[1.0, 1.0, 1.0], n1i=[10, 10, 10],
              m2i=[0.0, 0.0, 0.0], sd2i=[1.0, 1.0, 1.0], n2i=[10, 10, 10])
    kw[column] = list(kw[column])
    kw[column][2] = value
    with pytest.raises(ValueError, match=rf"column '{column}': study in row 3 has a {pattern}"):
        escalc("SMD", **kw)


def test_bad_correlation_input():
    with pytest.raises(ValueError, match=r"'ri'.*'Smith'.*outside \[-1, 1\]"):
        escalc("COR", ri=[0.2, 1.3], ni=[30, 30], slab=["Jones", "Smith"])
    with pytest.raises(ValueError, match=r"'ni'.*row 1.*sample size <= 1"):
        escalc("ZCOR", ri=[0.2], ni=[1])


def test_non_numeric_value_names_row_and_column():
    df = pd.DataFrame({"r": [0.1, "high", 0.3], "n": [20, 30, 40]})
    with pytest.raises(TypeError, match=r"'r'.*row 2.*non-numeric"):
        escalc("COR", ri="r", ni="n", data=df)


def test_length_mismatch():
    with pytest.raises(ValueError, match="different lengths"):
        escalc("COR", ri=[0.1, 0.2], ni=[10, 20, 30])
    with pytest.raises(ValueError, match="different lengths"):
        escalc("COR", ri=[0.1, 0.2], ni=[10, 20], slab=["a"])


def test_unknown_column_and_options(bcg):
    with pytest.raises(ValueError, match="'nope'"):
        escalc("RR", ai="nope", bi="tneg", ci="cpos", di="cneg", data=bcg)
    with pytest.raises(TypeError, match="no data="):
        escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    with pytest.raises(ValueError, match="vtype"):
        escalc("OR", ai=[1], bi=[2], ci=[3], di=[4], vtype="UB")
    with pytest.raises(ValueError, match="to="):
        escalc("OR", ai=[1], bi=[2], ci=[3], di=[4], to="some")


# ----------------------------------------------------------------------------------------
# conversions
# ----------------------------------------------------------------------------------------


def test_convert_r_to_d_forensic_example():
    # r = -.22 with n = 124 (the working-alliance meta-analysis): d = -0.451, var 0.0342
    d, v = convert_r_to_d(-0.22, n=124)
    assert round(d, 3) == -0.451
    assert round(v, 4) == 0.0342
    assert bm.convert_r_to_d is convert_r_to_d


def test_convert_r_to_d_formula_with_var_r():
    r, vr = np.array([0.1, -0.5]), np.array([0.01, 0.02])
    d, vd = convert_r_to_d(r, var_r=vr)
    np.testing.assert_allclose(d, 2 * r / np.sqrt(1 - r**2))
    np.testing.assert_allclose(vd, 4 * vr / (1 - r**2) ** 3)


def test_convert_d_to_r_formula_with_group_sizes():
    d, vd, n1, n2 = 0.8, 0.05, 20, 60
    a = (n1 + n2) ** 2 / (n1 * n2)
    r, vr = convert_d_to_r(d, vd, n1=n1, n2=n2)
    assert r == pytest.approx(d / math.sqrt(d**2 + a))
    assert vr == pytest.approx(a**2 * vd / (d**2 + a) ** 3)
    # equal groups: a = 4, the same as not giving the sizes
    assert convert_d_to_r(d, vd, n1=30, n2=30) == pytest.approx(convert_d_to_r(d, vd))


def test_round_trip_r_d_r():
    r = np.array([-0.7, -0.22, 0.0, 0.35, 0.9])
    n = np.array([20, 124, 50, 80, 15])
    d, vd = convert_r_to_d(r, n=n)
    r2, vr2 = convert_d_to_r(d, vd)
    np.testing.assert_allclose(r2, r, atol=1e-12)
    np.testing.assert_allclose(vr2, (1 - r**2) ** 2 / (n - 1), rtol=1e-10)


def test_logor_and_z_conversions():
    d, vd = convert_logor_to_d(1.0, 0.1)
    assert d == pytest.approx(math.sqrt(3) / math.pi)
    assert vd == pytest.approx(0.3 / math.pi**2)
    lo, vl = convert_d_to_logor(d, vd)
    assert (lo, vl) == pytest.approx((1.0, 0.1))
    z, vz = convert_r_to_z(0.3, n=53)
    assert z == pytest.approx(math.atanh(0.3)) and vz == pytest.approx(1 / 50)
    # through-r conversions agree with the two steps
    z1, vz1 = convert_d_to_z(0.6, 0.04, n1=25, n2=30)
    r, vr = convert_d_to_r(0.6, 0.04, n1=25, n2=30)
    assert (z1, vz1) == pytest.approx(convert_r_to_z(r, var_r=vr))
    d2, vd2 = convert_z_to_d(z1, vz1)
    assert (d2, vd2) == pytest.approx(convert_r_to_d(r, var_r=vr))
    lo2, vlo2 = convert_r_to_logor(-0.22, n=124)
    assert (lo2, vlo2) == pytest.approx(convert_d_to_logor(*convert_r_to_d(-0.22, n=124)))
    r3, vr3 = convert_logor_to_r(lo2, vlo2)
    assert r3 == pytest.approx(-0.22)


def test_conversions_vectorized_shapes():
    d, v = convert_r_to_d([0.1, 0.2, 0.3], n=[30, 40, 50])
    assert isinstance(d, np.ndarray) and d.shape == (3,) and v.shape == (3,)
    d, v = convert_r_to_d(0.1, n=30)
    assert isinstance(d, float) and isinstance(v, float)


def test_conversion_errors_name_the_element():
    with pytest.raises(ValueError, match=r"r\[2\] = 1"):
        convert_r_to_d([0.1, 0.2, 1.0], n=[10, 10, 10])
    with pytest.raises(ValueError, match=r"n\[1\] = 3"):
        convert_r_to_z([0.1, 0.2], n=[10, 3])
    with pytest.raises(ValueError, match=r"var_d\[0\] = -0.1"):
        convert_d_to_r([0.5], [-0.1])
    with pytest.raises(ValueError, match=r"r = -1"):
        convert_r_to_z(-1.0, n=10)
    with pytest.raises(ValueError, match=r"var_logor"):
        convert_logor_to_d(0.5, -1)
    with pytest.raises(TypeError, match="n or the variance"):
        convert_r_to_d(0.5)
    with pytest.raises(TypeError, match="both group sizes"):
        convert_d_to_r(0.5, 0.1, n1=10)


@settings(max_examples=200, deadline=None)
@given(
    r=st.floats(min_value=-0.999, max_value=0.999, allow_nan=False),
    n=st.integers(min_value=4, max_value=100_000),
)
def test_r_to_z_to_r_is_identity(r, n):
    z, vz = convert_r_to_z(r, n=n)
    r2, vr2 = convert_z_to_r(z, vz)
    assert r2 == pytest.approx(r, abs=1e-12)
    # and with a variance of r, the variance comes back too
    vr = (1 - r**2) ** 2 / (n - 1)
    z, vz = convert_r_to_z(r, var_r=vr)
    r2, vr2 = convert_z_to_r(z, vz)
    assert vr2 == pytest.approx(vr, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    r=st.floats(min_value=-0.999, max_value=0.999, allow_nan=False),
    n=st.integers(min_value=2, max_value=100_000),
)
def test_r_to_d_is_odd_in_r(r, n):
    d, v = convert_r_to_d(r, n=n)
    d_neg, v_neg = convert_r_to_d(-r, n=n)
    assert d_neg == -d
    assert v_neg == v
    assert v > 0


@settings(max_examples=100, deadline=None)
@given(
    d=st.floats(min_value=-5, max_value=5, allow_nan=False),
    vd=st.floats(min_value=1e-4, max_value=1.0),
    n1=st.integers(min_value=2, max_value=1000),
    n2=st.integers(min_value=2, max_value=1000),
)
def test_d_to_r_to_d_round_trip_equal_weights(d, vd, n1, n2):
    # with a = 4 (n1, n2 not given) r -> d is the exact inverse of d -> r
    r, vr = convert_d_to_r(d, vd)
    d2, vd2 = convert_r_to_d(r, var_r=vr)
    assert d2 == pytest.approx(d, rel=1e-9, abs=1e-12)
    assert vd2 == pytest.approx(vd, rel=1e-9)
    # with unequal groups |r| is smaller than with equal groups
    r_un, _ = convert_d_to_r(d, vd, n1=n1, n2=n2)
    assert abs(r_un) <= abs(r) + 1e-15


# ----------------------------------------------------------------------------------------
# aggregate
# ----------------------------------------------------------------------------------------


def test_aggregate_two_effects_hand_computation():
    df = pd.DataFrame({"study": ["A", "A"], "yi": [0.2, 0.6], "vi": [0.04, 0.09], "x": [1, 2]})
    s1, s2 = 0.2, 0.3
    # rho = 0: plain mean, variance (v1 + v2) / 4
    r0 = aggregate(df, rho=0, weighted=False)
    assert r0["yi"].iloc[0] == pytest.approx(0.4)
    assert r0["vi"].iloc[0] == pytest.approx((0.04 + 0.09) / 4)
    # rho = 1: variance (mean sd)^2
    r1 = aggregate(df, rho=1, weighted=False)
    assert r1["vi"].iloc[0] == pytest.approx(((s1 + s2) / 2) ** 2)
    # rho = 0.5: (v1 + v2 + 2 rho s1 s2) / 4
    r5 = aggregate(df, rho=0.5, weighted=False)
    assert r5["vi"].iloc[0] == pytest.approx((0.04 + 0.09 + 2 * 0.5 * s1 * s2) / 4)
    assert r5["x"].iloc[0] == 1 and r5["n_effects"].iloc[0] == 2


def test_aggregate_weighted_hand_computation():
    df = pd.DataFrame({"study": ["A", "A"], "yi": [0.2, 0.6], "vi": [0.04, 0.09]})
    # rho = 0: inverse-variance weighted mean
    w = np.array([1 / 0.04, 1 / 0.09])
    r0 = aggregate(df, rho=0, weighted=True)
    assert r0["yi"].iloc[0] == pytest.approx(np.sum(w * [0.2, 0.6]) / w.sum())
    assert r0["vi"].iloc[0] == pytest.approx(1 / w.sum())
    # rho = 0.5, two effects: invert the 2x2 matrix by hand
    c = 0.5 * 0.2 * 0.3
    det = 0.04 * 0.09 - c**2
    winv = np.array([[0.09, -c], [-c, 0.04]]) / det
    sw = winv.sum()
    r5 = aggregate(df, rho=0.5, weighted=True)
    assert r5["yi"].iloc[0] == pytest.approx((winv @ [0.2, 0.6]).sum() / sw)
    assert r5["vi"].iloc[0] == pytest.approx(1 / sw)
    # equal variances: weighted and unweighted agree
    eq = pd.DataFrame({"study": ["A"] * 3, "yi": [0.1, 0.2, 0.6], "vi": [0.05] * 3})
    a, b = aggregate(eq, rho=0.4, weighted=True), aggregate(eq, rho=0.4, weighted=False)
    assert a["yi"].iloc[0] == pytest.approx(b["yi"].iloc[0])
    assert a["vi"].iloc[0] == pytest.approx(b["vi"].iloc[0])
    # rho = 1 leaves V singular: the weighted estimate is undefined
    with pytest.raises(ValueError, match="cluster 'A'.*positive definite"):
        aggregate(df, rho=1, weighted=True)


# Made with R 4.2.2 and metafor 3.8.1:
#   dat <- escalc(measure="GEN", yi=yi, vi=vi, data=data.frame(study=c("B","A","B","C","A","A"),
#          yi=c(0.2, 0.5, 0.4, -0.1, 0.3, 0.9), vi=c(0.04, 0.02, 0.09, 0.05, 0.03, 0.06)))
#   aggregate(dat, cluster=study, rho=rho, weighted=weighted)   # yi, vi printed with %.15g
AGGREGATE_METAFOR = [
    (True, 0.0, [0.261538461538462, 0.5, -0.1], [0.0276923076923077, 0.01, 0.05]),
    (True, 0.3, [0.246808510638298, 0.467196856078187, -0.1], [0.0348510638297872, 0.0151264560503706, 0.05]),
    (True, 0.6, [0.213793103448276, 0.398977660829829, -0.1], [0.0397241379310345, 0.0183009567502569, 0.05]),
    (False, 0.0, [0.3, 0.566666666666667, -0.1], [0.0325, 0.0122222222222222, 0.05]),
    (False, 0.3, [0.3, 0.566666666666667, -0.1], [0.0415, 0.0189930435855824, 0.05]),
    (False, 0.6, [0.3, 0.566666666666667, -0.1], [0.0505, 0.0257638649489425, 0.05]),
]


@pytest.mark.parametrize("weighted, rho, yi, vi", AGGREGATE_METAFOR)
def test_aggregate_matches_metafor(weighted, rho, yi, vi):
    df = pd.DataFrame({
        "study": ["B", "A", "B", "C", "A", "A"],
        "yi": [0.2, 0.5, 0.4, -0.1, 0.3, 0.9],
        "vi": [0.04, 0.02, 0.09, 0.05, 0.03, 0.06],
        "wave": [1, 1, 2, 1, 2, 3],
    })
    res = aggregate(df, rho=rho, weighted=weighted)
    assert list(res["study"]) == ["B", "A", "C"]  # order of first appearance
    assert list(res["n_effects"]) == [2, 3, 1]
    assert list(res["wave"]) == [1, 1, 1]  # first row's other columns
    np.testing.assert_allclose(res["yi"], yi, rtol=RTOL)
    np.testing.assert_allclose(res["vi"], vi, rtol=RTOL)


def test_aggregate_after_escalc_and_errors():
    es = escalc("ZCOR", ri=[0.1, 0.3, 0.2], ni=[50, 50, 80])
    es.insert(0, "id", ["s1", "s1", "s2"])
    res = aggregate(es, cluster="id")
    assert len(res) == 2 and list(res.columns) == ["id", "yi", "vi", "n_effects"]
    with pytest.raises(ValueError, match="'nope'"):
        aggregate(es, cluster="nope")
    with pytest.raises(ValueError, match=r"rho"):
        aggregate(es, cluster="id", rho=1.5)
    bad = es.copy()
    bad.loc[1, "vi"] = np.nan
    with pytest.raises(ValueError, match=r"'vi': row 2 \(cluster 's1'\)"):
        aggregate(bad, cluster="id")
    bad = es.copy()
    bad.loc[2, "vi"] = -0.1
    with pytest.raises(ValueError, match=r"'vi': row 3.*negative"):
        aggregate(bad, cluster="id")


# ----------------------------------------------------------------------------------------
# r <-> d with unequal groups (issue 9): one formula both ways, exact inverses
# ----------------------------------------------------------------------------------------


def _borenstein_r_to_d(r, var_r, n1, n2):
    """Borenstein et al. (2009) eqs. 7.5-7.8 written out independently: a = (n1 + n2)^2 / (n1 n2)."""
    a = (n1 + n2) ** 2 / (n1 * n2)
    d = math.sqrt(a) * r / math.sqrt(1 - r * r)
    # delta method on d(r) = sqrt(a) r (1 - r^2)^(-1/2): d'(r) = sqrt(a) (1 - r^2)^(-3/2)
    return d, a * var_r / (1 - r * r) ** 3


def test_r_to_d_with_unequal_groups_follows_borenstein():
    r, n1, n2 = -0.22, 31, 93
    var_r = (1 - r**2) ** 2 / (n1 + n2 - 1)
    d, vd = convert_r_to_d(r, n1=n1, n2=n2)
    d_ref, vd_ref = _borenstein_r_to_d(r, var_r, n1, n2)
    assert d == pytest.approx(d_ref, rel=1e-12)
    assert vd == pytest.approx(vd_ref, rel=1e-12)
    # unequal groups give a larger |d| than equal groups of the same total size
    d_eq, _ = convert_r_to_d(r, n=n1 + n2)
    assert abs(d) > abs(d_eq) * 1.1
    # n given beside the group sizes: the same, and it must equal n1 + n2
    assert convert_r_to_d(r, n=124, n1=n1, n2=n2) == pytest.approx((d, vd), rel=1e-14)
    with pytest.raises(ValueError, match="n1 \\+ n2"):
        convert_r_to_d(r, n=120, n1=n1, n2=n2)
    with pytest.raises(TypeError, match="both group sizes"):
        convert_r_to_d(r, n=124, n1=31)


def test_r_to_d_equal_groups_keeps_the_motivating_value():
    # r = -.22, n = 124 in two groups of 62: d = -0.451, as without group sizes
    d, v = convert_r_to_d(-0.22, n1=62, n2=62)
    assert round(d, 3) == -0.451 and round(v, 4) == 0.0342
    assert (d, v) == pytest.approx(convert_r_to_d(-0.22, n=124), rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(
    r=st.floats(min_value=-0.99, max_value=0.99, allow_nan=False),
    n1=st.integers(min_value=2, max_value=5000),
    n2=st.integers(min_value=2, max_value=5000),
)
def test_r_d_round_trip_with_unequal_groups_is_exact(r, n1, n2):
    d, vd = convert_r_to_d(r, n1=n1, n2=n2)
    r2, vr2 = convert_d_to_r(d, vd, n1=n1, n2=n2)
    assert r2 == pytest.approx(r, rel=1e-12, abs=1e-14)
    assert vr2 == pytest.approx((1 - r**2) ** 2 / (n1 + n2 - 1), rel=1e-10)
    d3, vd3 = convert_r_to_d(r2, var_r=vr2, n1=n1, n2=n2)
    assert d3 == pytest.approx(d, rel=1e-10, abs=1e-14) and vd3 == pytest.approx(vd, rel=1e-10)


def test_conversions_through_r_pass_the_group_sizes():
    r, n1, n2 = 0.3, 20, 80
    d, vd = convert_r_to_d(r, n1=n1, n2=n2)
    z, vz = convert_d_to_z(d, vd, n1=n1, n2=n2)
    assert convert_z_to_d(z, vz, n1=n1, n2=n2) == pytest.approx((d, vd), rel=1e-10)
    lo, vlo = convert_r_to_logor(r, n1=n1, n2=n2)
    assert (lo, vlo) == pytest.approx(convert_d_to_logor(d, vd), rel=1e-12)
    r2, _ = convert_logor_to_r(lo, vlo, n1=n1, n2=n2)
    assert r2 == pytest.approx(r, rel=1e-12)


# ----------------------------------------------------------------------------------------
# SD = 0 in one arm (issue 9): MD and SMD computed as metafor; ROM and both-zero are errors
# ----------------------------------------------------------------------------------------

# metafor 3.8.1:
# a <- list(m1i=c(1,2,3), sd1i=c(0,1,2), n1i=c(10,12,8), m2i=c(0,0,1), sd2i=c(1,0,1.5), n2i=c(10,15,9))
# do.call(escalc, c(list("SMD", vtype=v), a)); do.call(escalc, c(list("MD", vtype=v), a))
ZERO_SD = dict(m1i=[1, 2, 3], sd1i=[0, 1, 2], n1i=[10, 12, 8], m2i=[0, 0, 1], sd2i=[1, 0, 1.5], n2i=[10, 15, 9])
ZERO_SD_METAFOR = {
    ("SMD", "LS"): ([1.35431656505508, 2.92359142474057, 1.08384304201445],
                    [0.245854333959565, 0.308284941089197, 0.270661574044145]),
    ("SMD", "LS2"): ([1.35431656505508, 2.92359142474057, 1.08384304201445],
                     [0.229271669797824, 0.299316823599671, 0.247195765818103]),
    ("SMD", "UB"): ([1.35431656505508, 2.92359142474057, 1.08384304201445],
                    [0.256395580604817, 0.333750455180261, 0.280392068225563]),
    ("SMD", "AV"): ([1.35431656505508, 2.92359142474057, 1.08384304201445],
                    [0.294527965564434, 0.220020715232914, 0.347320482363386]),
    ("MD", "LS"): ([1, 2, 2], [0.1, 0.0833333333333333, 0.75]),
    ("MD", "UB"): ([1, 2, 2], [0.1, 0.0833333333333333, 0.75]),
    ("MD", "HO"): ([1, 2, 2], [0.1, 0.066, 0.724074074074074]),
}


@pytest.mark.parametrize("measure, vtype", sorted(ZERO_SD_METAFOR))
def test_sd_zero_in_one_arm_matches_metafor(measure, vtype):
    yi_ref, vi_ref = ZERO_SD_METAFOR[(measure, vtype)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: these are ordinary studies
        es = escalc(measure, vtype=vtype, **ZERO_SD)
    np.testing.assert_allclose(es["yi"], yi_ref, rtol=1e-12)
    np.testing.assert_allclose(es["vi"], vi_ref, rtol=1e-12)


@pytest.mark.parametrize("measure", ["SMD", "MD"])
def test_sd_zero_in_both_arms_is_an_error_naming_the_study(measure):
    kw = {k: list(v) for k, v in ZERO_SD.items()}
    kw["sd2i"][0] = 0.0  # study 1: both SDs 0
    with pytest.raises(ValueError, match=r"'sd1i' and column 'sd2i'.*'B'.*pooled SD is 0"):
        escalc(measure, slab=["B", "C", "D"], **kw)


def test_rom_needs_both_sds_positive():
    kw = dict(ZERO_SD, m2i=[1, 1, 1])
    with pytest.raises(ValueError, match=r"'sd1i': study in row 1 has a standard deviation <= 0"):
        escalc("ROM", **kw)
