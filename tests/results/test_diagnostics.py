"""Sampler diagnostics (bayesma.results.diagnostics) on the smoke fits: a good fit's numbers, and a
deliberately bad fit (no tuning, few draws) flagged with problems, advice and a SamplingWarning."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from bayesma.results import Diagnostics, SamplingWarning
from bayesma.results.diagnostics import MAX_R_HAT, MIN_ESS


def test_smoke_fit_numbers_match_the_summary(smoke_post):
    d = smoke_post.diagnostics()
    s = smoke_post.summary()
    # 2 x 100 draws: max R-hat 1.022-1.085 over 20 seeds (another machine draws others); stuck chains give > 1.5
    assert d["max_r_hat"] == pytest.approx(np.nanmax(s["r_hat"])) and d["max_r_hat"] < 1.2
    assert d["min_ess_bulk"] == pytest.approx(np.nanmin(s["ess_bulk"]))
    assert d["min_ess_tail"] == pytest.approx(np.nanmin(s["ess_tail"]))
    assert d.n_draws == 200
    assert d.divergences == int(smoke_post.idata.sample_stats["diverging"].sum())
    # each problem is reported exactly when its threshold is crossed, with its advice
    assert any(p.startswith("max R-hat") for p in d.problems) == (d.max_r_hat > MAX_R_HAT)
    assert any(p.startswith("min ESS") for p in d.problems) == (min(d.min_ess_bulk, d.min_ess_tail) < MIN_ESS)
    assert any("divergent" in p for p in d.problems) == (d.divergences > 0)
    assert d.min_ess_bulk < MIN_ESS and not d.passed  # 200 draws cannot reach an ESS of 400
    assert any("draws=2000" in a for a in d.advice)
    frame = d.to_frame()
    assert list(frame.columns) == ["max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "n_draws", "passed"]
    assert frame.loc[0, "n_draws"] == 200
    assert d.line().startswith("FAILED (max R-hat") and "min ESS" in d.line()
    assert repr(d).startswith("Diagnostics: FAILED") and "advice:" in repr(d)


def test_a_bad_fit_is_flagged(smoke_ma):
    # no tuning and 20 draws per chain: the step size is never adapted, R-hat and ESS fail
    with pytest.warns(SamplingWarning, match="NUTS diagnostics failed") as rec:
        bad = smoke_ma.fit(engine="nuts", draws=20, tune=0, chains=2, seed=3)
    d = bad.diagnostics()
    assert not d.passed
    assert any(p.startswith("max R-hat") and f"> {MAX_R_HAT}" in p for p in d.problems), d.problems
    assert d.min_ess_bulk < MIN_ESS
    assert any("tune=2000" in a for a in d.advice)
    text = " ".join(str(w.message) for w in rec if issubclass(w.category, SamplingWarning))
    assert "FAILED" in repr(bad) and "Run more chains" in text


def test_divergences_are_reported_with_advice():
    d = Diagnostics(max_r_hat=1.0, min_ess_bulk=1000.0, min_ess_tail=900.0, divergences=3, n_draws=4000,
                    passed=False, problems=["3 divergent transitions"], advice=["Raise target_accept"])
    assert "3 divergences" in d.line() and d.line().endswith("3 divergent transitions")
    with pytest.warns(SamplingWarning, match="3 divergent transitions. Raise target_accept"):
        d.warn()


def test_a_passing_fit_does_not_warn():
    d = Diagnostics(max_r_hat=1.001, min_ess_bulk=1500.0, min_ess_tail=1200.0, divergences=0, n_draws=4000,
                    passed=True, problems=[], advice=[])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.warn()
    assert d.line() == "passed (max R-hat 1.001, min ESS bulk 1500 / tail 1200, 0 divergences)"
    with pytest.raises(AttributeError):
        d.no_such_key


def test_exact_engine_needs_no_mcmc_diagnostics(smoke_exact):
    d = smoke_exact.diagnostics()
    assert d.passed and d.divergences == 0 and math.isnan(d.max_r_hat)
    assert d.line() == "passed (independent draws: no MCMC diagnostics needed)"
    assert pd.isna(d.to_frame().loc[0, "min_ess_bulk"])
