"""One engine rule: exact_support(spec) decides, and engine="auto" never picks an engine that then refuses."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import UnsupportedModelError
from bayesma.exact.capability import choose_engine, exact_support


def _data(k: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"yi": rng.normal(0.3, 0.2, k), "vi": rng.uniform(0.02, 0.06, k),
                         "arm2": ["a", "b", "a"] * (k // 3), "arm3": ["a", "b", "c"] * (k // 3),
                         "school": [f"c{i // 3}" for i in range(k)], "x": np.arange(k, dtype=float)})


MODELS = {
    "random, halfnormal": dict(priors={"tau": "halfnormal(0.5)"}),
    "random, halfflat": dict(priors={"tau": "halfflat()"}),
    "flat mu": dict(priors={"mu": "flat()", "tau": "halfcauchy(0.5)"}),
    "cauchy mu": dict(priors={"mu": "cauchy(0, 1)"}),
    "student-t effects": dict(likelihood="student_t"),
    "tau_by two groups": dict(tau_by="arm2"),
    "tau_by two groups, halfflat": dict(tau_by="arm2", priors={"tau": "halfflat()"}),
    "tau_by three groups": dict(tau_by="arm3"),
    "three levels": dict(cluster="school"),
    "three levels, halfflat": dict(cluster="school", priors={"tau": "halfflat()"}),
    "regression": dict(mods="~ x"),
    "common effect": dict(model="common"),
}


def _model(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(_data(), "yi", "vi", **kwargs)


@pytest.mark.parametrize("name", list(MODELS))
def test_exact_support_agrees_with_the_exact_engine(name):
    """The rule says yes exactly when the engine fits; when it says no, the engine refuses with the same reason."""
    model = _model(MODELS[name])
    support = exact_support(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if support.ok:
            post = model.fit(engine="exact", draws=50, chains=1, seed=1)
            assert post.engine == "exact"
        else:
            assert support.reason
            with pytest.raises(UnsupportedModelError) as err:
                model.fit(engine="exact", draws=50, chains=1, seed=1)
            assert support.reason in str(err.value)


@pytest.mark.parametrize("name", list(MODELS))
def test_auto_picks_exact_only_where_the_exact_engine_fits(name):
    model = _model(MODELS[name])
    engine, note = choose_engine("auto", model)
    assert engine == ("exact" if exact_support(model).ok else "nuts")
    assert note.startswith(f"Engine: {engine}") and "auto" in note
    if engine == "nuts":
        assert exact_support(model).reason in note


def test_the_reproducer_tau_by_with_halfflat_is_not_exact():
    model = _model(dict(tau_by="arm2", priors={"tau": "halfflat()"}))
    assert not exact_support(model).ok
    assert choose_engine("auto", model, option="--engine ")[0] == "nuts"


def test_fit_auto_is_the_default_and_says_which_engine_ran_and_why():
    model = _model(MODELS["random, halfnormal"])
    post = model.fit(draws=50, chains=1, seed=2)
    assert post.engine == "exact"
    assert post.fit_info["engine_note"].startswith("Engine: exact") and "engine=auto" in post.fit_info["engine_note"]
    exact = model.fit(engine="exact", draws=50, chains=1, seed=2)
    assert exact.fit_info["engine_note"] == "Engine: exact (as requested with engine=exact)."
    np.testing.assert_allclose(post.summary().loc["mu", "mean"], exact.summary().loc["mu", "mean"], rtol=1e-12)


def test_nuts_options_are_refused_by_the_exact_engine():
    model = _model(MODELS["random, halfnormal"])
    with pytest.raises(bm.InputError, match="tune= is a NUTS option"):
        model.fit(engine="exact", tune=500, draws=50, chains=1)
    with pytest.raises(bm.InputError, match="target_accept= is a NUTS option"):
        model.fit(engine="exact", target_accept=0.9, draws=50, chains=1)


def test_nuts_options_make_auto_choose_nuts():
    model = _model(MODELS["random, halfnormal"])
    engine, note = choose_engine("auto", model, nuts_options=["tune"])
    assert engine == "nuts" and "tune=" in note


def test_unknown_engine_is_an_input_error():
    with pytest.raises(bm.InputError, match="engine must be one of"):
        _model(MODELS["random, halfnormal"]).fit(engine="quadrature")


def test_sensitivity_tools_take_auto():
    dat = _data()
    loo = bm.leave_one_out(dat, "yi", "vi", priors={"tau": "halfnormal(0.5)"}, engine="auto", seed=1)
    ref = bm.leave_one_out(dat, "yi", "vi", priors={"tau": "halfnormal(0.5)"}, engine="exact", seed=1)
    assert loo.engine == "exact"
    pd.testing.assert_frame_equal(loo.table, ref.table)
    cmp = bm.compare_priors(dat, "yi", "vi", tau_priors={"hn": "halfnormal(0.5)", "hc": "halfcauchy(0.5)"}, seed=1)
    assert cmp.engine == "exact"


def test_fit_many_auto_equals_exact_and_names_the_engine():
    dat = pd.concat([_data().assign(g="one"), _data().assign(g="two", yi=lambda d: d.yi + 0.1)])
    auto = bm.fit_many(dat, by="g", priors={"tau": "halfnormal(0.5)"}, seed=1)
    exact = bm.fit_many(dat, by="g", priors={"tau": "halfnormal(0.5)"}, seed=1, engine="exact")
    pd.testing.assert_frame_equal(auto.table, exact.table)
    assert set(auto.groups["engine"]) == {"exact (vectorised)"}
