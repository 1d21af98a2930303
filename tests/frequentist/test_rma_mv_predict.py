"""predict and ranef of three-level fits against metafor's predict.rma.mv and ranef.rma.mv
(tests/data/reference/metafor/metafor_toolbox.json, kind mv.predict).

metafor's nlminb stops about 2e-8 (relative) from the optimum of the variance components that
rma_mv finds to machine precision; that moves predictions and random effects by up to ~7e-8
(absolute, on effects of size 0.1-0.5), hence atol=2e-7 on top of rtol=1e-6.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import REFERENCE_DIR

import bayesma as bm

REF = REFERENCE_DIR
CASE = next(c for c in json.loads((REF / "metafor/metafor_toolbox.json").read_text())["cases"] if c["kind"] == "mv.predict")


def close(got, want):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-6, atol=2e-7)


@pytest.fixture(scope="module")
def data():
    i = CASE["input"]
    return pd.DataFrame({k: i[k] for k in ("yi", "vi", "district", "school", "year")})


def test_predict_matches_metafor(data):
    res = bm.rma_mv("yi", "vi", data=data, cluster="district", labels="school")
    p = res.predict()
    for key, col in (("pred", "pred"), ("se", "se"), ("ci.lb", "ci_lb"), ("ci.ub", "ci_ub"), ("pi.lb", "pi_lb"),
                     ("pi.ub", "pi_ub")):
        close(p[col], CASE["expect"]["p0"][key])
    close(p[["pi_lb", "pi_ub"]].to_numpy()[0], [res.pi_lb, res.pi_ub])


def test_predict_newmods_transf_and_ranef_match_metafor(data):
    res = bm.rma_mv("yi", "vi", data=data, cluster="district", labels="school", mods="~ year", test="t")
    p = res.predict(newmods=CASE["newmods"], transf=np.exp)
    for key, col in (("pred", "pred"), ("ci.lb", "ci_lb"), ("ci.ub", "ci_ub"), ("pi.lb", "pi_lb"), ("pi.ub", "pi_ub")):
        close(p[col], CASE["expect"]["p2_exp"][key])
    assert p["se"].isna().all()
    re = res.ranef()
    assert list(re) == ["district", "district/school"]
    for table, key in zip(re.values(), ("ranef_cluster", "ranef_within")):
        e = CASE["expect"][key]
        t = table.loc[[str(n) for n in e["names"]]]
        for col in ("pred", "se", "pi_lb", "pi_ub"):
            close(t[col], e[col])


def test_predict_newmods_checked(data):
    res = bm.rma_mv("yi", "vi", data=data, cluster="district", labels="school", mods="~ year")
    with pytest.raises(ValueError, match="1 columns"):
        res.predict(newmods=[[1, 2, 3]])
