"""predict() of location-scale fits against metafor 3.8-1's predict.rma.ls.

Reference: tests/data/reference/metafor/metafor_location_scale_predict.json (made by the R script
beside it): fitted values, newmods with and without newscale, newscale alone (and transf=exp),
Knapp-Hartung tests, a factor scale, the identity link.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import InputError

REF = json.loads((Path(__file__).resolve().parents[1] / "data" / "reference" / "metafor"
                  / "metafor_location_scale_predict.json").read_text())
DATA = pd.DataFrame(REF["input"])


def _fit(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.rma("yi", "vi", mods=case["mods"], scale=case["scale"], method=case["method"], test=case["test"],
                      link=case["link"], data=DATA)


def _arg(value):
    return None if value is None else np.asarray(value, dtype=float)


@pytest.mark.parametrize("case", REF["cases"], ids=[f"{c['fit']}: {c['call']}" for c in REF["cases"]])
def test_predict_matches_metafor(case):
    res = _fit(case)
    assert np.allclose(res.alpha, case["alpha"], rtol=1e-4, atol=1e-6)
    args = case["args"] or {}  # an empty R list is written as []
    transf = np.exp if args.get("transf") == "exp" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = res.predict(newmods=_arg(args.get("newmods")), newscale=_arg(args.get("newscale")), transf=transf)
    e = case["expect"]
    for col, key in (("pred", "pred"), ("se", "se"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"), ("pi_lb", "pi_lb"),
                     ("pi_ub", "pi_ub")):
        want = e[key]
        if want is None:
            assert col not in out.columns or out[col].isna().all()
            continue
        want = np.array([np.nan if v is None else v for v in np.atleast_1d(want)], dtype=float)
        assert np.allclose(out[col].to_numpy(dtype=float), want, rtol=1e-4, atol=1e-6, equal_nan=True), col


def test_newscale_rows_must_match_newmods():
    res = _fit(REF["cases"][1])
    with pytest.raises(InputError, match="newscale"):
        res.predict(newmods=[5, 10, 15], newscale=[3, 4])
