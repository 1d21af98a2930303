"""The exact engine's summary table at large k: every row from the marginals, checked against a
closed form (a common-effect model with a normal prior has a normal posterior) and, for the study
effects, against the one-quantity answers (``interval``) of the same posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import bayesma as bm

K = 3000  # large enough that the exact fit keeps no per-study draws


def _data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, K)
    return rng.normal(0.2, np.sqrt(vi + 0.04)), vi


def test_common_effect_rows_equal_the_closed_form_normal_posterior():
    yi, vi = _data()
    s0 = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(yi=yi, vi=vi, model="common", priors={"mu": bm.priors.Normal(0, s0)}).fit(
            engine="exact", seed=1)
    prec = 1 / s0**2 + np.sum(1 / vi)
    mean, sd = np.sum(yi / vi) / prec, np.sqrt(1 / prec)
    for hdi in (False, True):
        table = post.summary(hdi=hdi, prob=0.9)
        row = table.loc["mu"]
        want = {"mean": mean, "sd": sd, "median": mean, "eti_lower": stats.norm.ppf(0.05, mean, sd),
                "eti_upper": stats.norm.ppf(0.95, mean, sd)}
        if hdi:  # symmetric: the HDI is the equal-tailed interval
            want.update(hdi_lower=want["eti_lower"], hdi_upper=want["eti_upper"])
        for col, value in want.items():
            assert row[col] == pytest.approx(value, rel=1e-6, abs=1e-9), col
        assert table.index.name == "parameter" and list(table.columns[:8]) == [
            "mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
        assert table[["r_hat", "ess_bulk", "ess_tail"]].isna().all().all()


def test_study_rows_equal_each_study_effects_own_interval():
    yi, vi = _data(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(yi=yi, vi=vi).fit(engine="exact", seed=1)
    table = post.summary()
    assert table.shape[0] == K + 3 and table.index[0] == "mu" and table.index[-1] == "theta_new"
    assert [r for r in table.index if r.startswith("theta[")] == [f"theta[{i}]" for i in range(1, K + 1)]
    for i in (1, 17, K // 2, K):
        med, lo, hi = post.interval(f"theta[{i}]", 0.95)
        row = table.loc[f"theta[{i}]"]
        assert (row["median"], row["eti_lower"], row["eti_upper"]) == pytest.approx((med, lo, hi), rel=1e-9)
    assert post.summary(studies=False).index.tolist() == ["mu", "tau", "theta_new"]
