"""k = 2, 3, 5 under every estimator and test, and subgroup analysis, against metafor 3.8.1.

Reference values: tests/data/reference/metafor/metafor_small_k.json (made with R; see tests/data/README.md).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

DATA = json.loads((REFERENCE_DIR / "metafor/metafor_small_k.json").read_text())["cases"]
RMA = {name: c for name, c in DATA.items() if "method" in c}


@pytest.mark.filterwarnings("ignore:the Knapp-Hartung method")
@pytest.mark.parametrize("name", sorted(RMA))
def test_rma_matches_metafor(name):
    case = RMA[name]
    res = bm.rma(np.atleast_1d(case["yi"]), np.atleast_1d(case["vi"]), method=case["method"], test=case["test"])
    for key, expected in case["expect"].items():
        actual = getattr(res, key)
        if expected is None:
            continue
        np.testing.assert_allclose(np.atleast_1d(np.asarray(actual, dtype=float)),
                                   np.atleast_1d(np.asarray(expected, dtype=float)),
                                   rtol=1e-6, atol=0, err_msg=f"{name}: {key}")


def test_subgroup_matches_metafor():
    ref = DATA["landenberger_subgroup_setting"]
    dat = bm.load_dataset("dat.landenberger2005")
    es = bm.escalc("OR", ai="n.cbt.non", bi="n.cbt.rec", ci="n.ctrl.non", di="n.ctrl.rec", data=dat)
    sg = bm.subgroup("yi", "vi", by="setting", data=es, method="REML", labels=None)
    for level, expected in ref["groups"].items():
        row = sg.table.loc[level]
        assert row["k"] == expected["k"]
        np.testing.assert_allclose([row["estimate"], row["se"], row["tau2"]],
                                   [expected["estimate"], expected["se"], expected["tau2"]], rtol=1e-6)
    np.testing.assert_allclose([sg.Q_between, sg.Q_between_p], [ref["Q_between"], ref["Q_between_p"]], rtol=1e-6)
    np.testing.assert_allclose([sg.mixed.QM, sg.mixed.QMp], [ref["mixed_QM"], ref["mixed_QMp"]], rtol=1e-6)
    np.testing.assert_allclose(sg.mixed.beta, ref["mixed_beta"], rtol=1e-6)
    assert "Test for subgroup differences" in repr(sg)
