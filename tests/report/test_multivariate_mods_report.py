"""The report of a multivariate model with moderators: coefficients named, rma_mv with the same mods,
and no per-outcome borrowing comparison (there is no mean per outcome), dat.berkey1998 (exact engine)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_mv_mods.json"


def test_report_with_moderators_names_coefficients_and_leaves_out_borrowing():
    inp = dict(json.loads(REF.read_text())["input"])
    V = np.array(inp.pop("V"))
    df = pd.DataFrame(inp)
    keep = np.flatnonzero(df["trial"].to_numpy() != 5)  # four trials: both outcomes have k = 4 < 5
    model = bm.MetaAnalysis(df.iloc[keep], yi="yi", V=V[np.ix_(keep, keep)], cluster="trial", outcome="outcome",
                            mods="~ 0 + outcome + I(year - 1983)",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    with pytest.warns(bm.models.SmallKWarning, match=r"'AL' \(k = 4\).*their coefficients.*without mods="):
        post = model.fit(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = post.report()
    assert "struct = 'CS' and mods = ~ 0 + outcome + I(year - 1983) (restricted" in text
    assert "beta[I(year - 1983)] = " in text
    assert "Priors: every coefficient ~ Normal(mu=0, sigma=1); tau" in text  # the formula has no intercept
    assert "'AL' (k = 4), 'PD' (k = 4) have fewer than 5 studies" in text
    assert "no mean per outcome" in text and "fitted alone" not in text
    with pytest.raises(bm.errors.UnsupportedModelError, match="fit it without mods="):
        from bayesma.models.dependence_report import borrowing

        borrowing(model)
