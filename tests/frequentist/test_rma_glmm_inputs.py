"""rma_glmm on awkward and bad counts, every measure and model, against what metafor 3.8.1 does.

Reference: metafor_glmm_inputs.json (made by metafor_glmm_inputs.R beside it). Where metafor stops
with an error (events above the group size, negative counts, a person-time of 0) bayesma raises an
InputError naming the study (label and row) and the column. Where metafor leaves studies out
(double-zero and double-all 2x2 tables, IRR studies without events) bayesma leaves the same ones out
with a MissingDataWarning naming them, and the fit on the rest matches metafor's; proportions and rates
of 0 (or 1) are kept, as metafor. A 2x2 table with an empty group is fitted by UM.FS and UM.RS (as
metafor); the conditional models cannot use it (metafor stops: "Cannot fit FE model"): bayesma leaves it
out with a warning naming it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import load_json

import bayesma as bm
from bayesma.errors import InputError, MissingDataWarning

CASES = load_json("metafor/metafor_glmm_inputs.json")["cases"]
ARGS = {"OR": dict(ai="ai", n1i="n1i", ci="ci", n2i="n2i"), "IRR": dict(x1i="x1i", t1i="t1i", x2i="x2i", t2i="t2i"),
        "PLO": dict(xi="xi", ni="ni"), "IRLN": dict(xi="xi", ti="ti")}
BAD = {"or_events_over_size": ("ai", 2), "or_negative": ("ci", 2), "irr_zero_time": ("t1i", 2),
       "plo_over_size": ("xi", 2), "irln_zero_time": ("ti", 2)}


def _fit(case):
    df = pd.DataFrame(case["input"]).assign(study=list("ABCDE"))
    model = case["model"] if case["measure"] in ("OR", "IRR") else "UM.FS"
    return bm.rma_glmm(case["measure"], **ARGS[case["measure"]], model=model, data=df, slab="study")


def test_every_measure_and_model_is_covered():
    assert {(c["measure"], c["model"]) for c in CASES} == {
        ("OR", "UM.FS"), ("OR", "UM.RS"), ("OR", "CM.EL"), ("OR", "CM.AL"), ("IRR", "UM.FS"), ("IRR", "UM.RS"),
        ("IRR", "CM.EL"), ("PLO", "UM.FS"), ("IRLN", "UM.FS")}


@pytest.mark.parametrize("case", [c for c in CASES if c["input_name"] in BAD], ids=lambda c: c["name"])
def test_bad_counts_are_input_errors_naming_the_study(case):
    assert case["error"] is not None  # metafor stops too
    column, row = BAD[case["input_name"]]
    with pytest.raises(InputError) as err:
        _fit(case)
    assert (err.value.study, err.value.row, err.value.column) == ("B", row, column)
    assert "study 'B' (row 2)" in str(err.value)


@pytest.mark.parametrize("case", [c for c in CASES if c["error"] is None], ids=lambda c: c["name"])
def test_studies_left_out_and_the_fit_on_the_rest_as_metafor(case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _fit(case)
    e = case["expect"]
    assert res.k == e["k"]
    left_out = [str(w.message) for w in caught if issubclass(w.category, MissingDataWarning)]
    assert bool(left_out) == any("omitted" in w for w in case["warnings"])
    if left_out:
        assert "study 'A' (row 1)" in left_out[0] and res.dropped[0].startswith("A")
    # estimates: 2e-3 as every GLMM comparison (lme4's quadrature)
    assert np.allclose(res.beta, e["beta"], rtol=2e-3, atol=2e-3 * np.abs(e["beta"]).max())
    assert res.tau2 == pytest.approx(e["tau2"], rel=2e-3, abs=1e-6)


@pytest.mark.parametrize("model", ["CM.EL", "CM.AL"])
def test_conditional_models_leave_out_a_table_with_an_empty_group(model):
    case = next(c for c in CASES if c["input_name"] == "or_empty_group" and c["model"] == model)
    assert case["error"].startswith("Cannot fit")  # metafor cannot fit the model with it
    with pytest.warns(MissingDataWarning, match=r"study 'B' \(row 2\): a group of size 0"):
        res = _fit(case)
    assert res.k == 4 and res.dropped == ["B (empty group)"] and np.all(np.isfinite(res.beta))
    rest = pd.DataFrame(case["input"]).assign(study=list("ABCDE")).drop(index=1)
    ref = bm.rma_glmm("OR", **ARGS["OR"], model=model, data=rest, slab="study")
    assert res.beta[0] == pytest.approx(ref.beta[0], rel=1e-10)
    assert res.logLik == pytest.approx(ref.logLik, rel=1e-10)
