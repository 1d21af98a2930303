"""NUTS fits the multivariate model across outcomes with moderators (slow tier: MCMC), dat.berkey1998.

CS with a shared slope against the exact engine: posterior means within 0.1 posterior sd, 95% interval
ends within 0.2 sd or 4 Monte Carlo standard errors of the quantile. HCS (no exact engine) with a slope
per outcome: a smoke test, the coefficients and a tau per outcome, no divergences, no theta_new.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_mv_mods.json"
PRIORS = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "rho": bm.priors.Uniform(0, 1)}


def berkey() -> tuple[pd.DataFrame, np.ndarray]:
    inp = dict(json.loads(REF.read_text())["input"])
    V = np.array(inp.pop("V"))
    return pd.DataFrame(inp), V


@pytest.mark.slow
def test_cs_with_moderators_nuts_agrees_with_exact():
    df, V = berkey()
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS",
                            mods="~ 0 + outcome + I(year - 1983)", priors=PRIORS)
    nuts = model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=11)
    assert nuts.diagnostics().divergences == 0
    s, e = nuts.summary(), model.fit(engine="exact", seed=1).summary()
    rows = ["beta[outcomeAL]", "beta[outcomePD]", "beta[I(year - 1983)]", "tau", "rho", "theta[1]", "theta[10]"]
    for row in rows:
        sd = e.loc[row, "sd"]
        # 0.1 sd, or 4 Monte Carlo SEs when the effective sample is below 1600 (another machine's draws)
        mean_tol = max(0.1 * sd, 4 * sd / np.sqrt(s.loc[row, "ess_bulk"]))
        assert abs(s.loc[row, "mean"] - e.loc[row, "mean"]) < mean_tol, row
        for col in ("eti_lower", "eti_upper"):
            mcse = 2.7 * sd / np.sqrt(s.loc[row, "ess_tail"])  # MC SE of a 2.5% quantile (normal: 2.67 sd / sqrt(ESS))
            assert abs(s.loc[row, col] - e.loc[row, col]) < max(0.2 * sd, 4 * mcse), (row, col)


@pytest.mark.slow
def test_hcs_with_moderators_nuts_smoke():
    df, V = berkey()
    model = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="HCS",
                            mods="~ 0 + outcome + outcome:I(year - 1983)", priors=PRIORS)
    post = model.fit(engine="auto", draws=300, tune=500, chains=2, seed=3)  # HCS: NUTS
    assert post.engine == "nuts"
    s = post.summary()
    names = ["outcomeAL", "outcomePD", "outcomeAL:I(year - 1983)", "outcomePD:I(year - 1983)"]
    assert [r for r in s.index if r.startswith("beta[")] == [f"beta[{c}]" for c in names]
    assert {"tau[AL]", "tau[PD]", "rho"} <= set(s.index)
    assert not any(r.startswith("theta_new") for r in s.index)
    assert post.diagnostics().divergences <= 5
    assert np.isfinite(s.loc["beta[outcomePD]", "mean"]) and abs(s.loc["beta[outcomePD]", "mean"] - 0.36) < 0.2
    with pytest.raises(bm.errors.UnsupportedModelError, match="struct='HCS'.*own tau"):
        post.predict(design=[[0.0, 1.0, 0.0, 0.0]])
