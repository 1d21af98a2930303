"""Prior sensitivity of the dependent-effects models over the sampling correlation: ``compare_priors`` with
``rho=[...]`` fits every prior under each assumed rho in one call (CHE; CS across outcomes, with the
default priors, which have no single ``mu`` key); each row equals the model built with that rho and prior."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

TAU = {"HN(0.3)": "halfnormal(0.3)", "HN(1)": "halfnormal(1)"}


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def effects() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.3 if o == "a" else 0.1, 0.25), "vi": 0.03 + 0.01 * (s % 3)}
            for s in range(10) for o in (["a", "b"] if s < 5 else ["a"] if s < 8 else ["b"])]
    return pd.DataFrame(rows)


def test_che_rho_sweep_equals_each_model(effects):
    cmp = _quiet(bm.compare_priors, effects, yi="yi", vi="vi", cluster="study", rho=[0.3, 0.6, 0.9],
                 tau_priors=TAU, mu_priors={"N(0,1)": "normal(0, 1)"}, engine="exact", seed=1)
    assert list(cmp.table.index) == [f"rho = {r} | {t}" for r in (0.3, 0.6, 0.9) for t in TAU]
    assert cmp.table["sampling_rho"].tolist() == [0.3, 0.3, 0.6, 0.6, 0.9, 0.9]
    for r in (0.3, 0.9):
        direct = _quiet(bm.MetaAnalysis, effects, yi="yi", vi="vi", cluster="study", rho=r,
                        priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(1)}
                        ).fit(engine="exact", seed=1).summary()
        row = cmp.table.loc[f"rho = {r} | HN(1)"]
        np.testing.assert_allclose([row["mu_mean"], row["mu_upper"], row["tau_median"]],
                                   [direct.loc["mu", "mean"], direct.loc["mu", "eti_upper"],
                                    direct.loc["tau", "median"]], rtol=1e-8)
    # the assumed correlation matters: the rows differ between rho = 0.3 and 0.9
    assert cmp.table.loc["rho = 0.3 | HN(1)", "mu_sd"] != cmp.table.loc["rho = 0.9 | HN(1)", "mu_sd"]


def test_multivariate_rho_sweep_with_default_priors_has_a_row_per_rho_prior_and_outcome(effects):
    cmp = _quiet(bm.compare_priors, effects, yi="yi", vi="vi", cluster="study", outcome="outcome", struct="CS",
                 rho=[0.3, 0.7], tau_priors={"HN(1)": "halfnormal(1)"}, engine="exact", seed=1)
    assert list(cmp.table.index) == [(f"rho = {r} | HN(1)", o) for r in (0.3, 0.7) for o in ("a", "b")]
    assert (cmp.table["mu_prior"] == "default").all()
    direct = _quiet(bm.MetaAnalysis, effects, yi="yi", vi="vi", cluster="study", outcome="outcome", struct="CS",
                    rho=0.7, priors={"tau": bm.priors.HalfNormal(1)}).fit(engine="exact", seed=1).summary()
    row = cmp.table.loc[("rho = 0.7 | HN(1)", "b")]
    np.testing.assert_allclose([row["mu_mean"], row["tau_median"], row["rho_median"], row["new_lower"]],
                               [direct.loc["mu[b]", "mean"], direct.loc["tau", "median"],
                                direct.loc["rho", "median"], direct.loc["theta_new[b]", "eti_lower"]], rtol=1e-8)


@pytest.mark.parametrize("rho, message", [([], "empty list"), ([0.5, 0.5], "twice"), ([0.5, 1.5], "rho")])
def test_bad_rho_sweeps_are_input_errors(effects, rho, message):
    with pytest.raises(bm.errors.InputError, match=message):
        _quiet(bm.compare_priors, effects, yi="yi", vi="vi", cluster="study", rho=rho,
               tau_priors={"HN(1)": "halfnormal(1)"}, engine="exact")
