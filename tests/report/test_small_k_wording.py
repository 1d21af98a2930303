"""The report's wording with few studies: at k < 5 the prior on tau shapes the pooled effect, and a
prior-data conflict is said plainly (report and repr)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from _helpers import ROOT

import bayesma as bm
from bayesma.cli import main

CSV = ROOT / "examples" / "data" / "working_alliance_illustrative.csv"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _quiet_fit(df, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(df, yi="yi", vi="vi", labels="study", **kwargs).fit(engine="exact", seed=1)


def _paragraph(text: str) -> str:
    return text.split("\n\n")[1]


# --- item 4: at k < 5 the prior on tau shapes the pooled effect ---------------------------------

K3 = pd.DataFrame({"study": ["A", "B", "C"], "yi": [0.45, 0.30, -0.25], "vi": [0.010, 0.020, 0.015]})


def test_small_k_report_does_not_say_the_data_determined_the_pooled_effect():
    post = _quiet_fit(K3, measure="SMD")
    par = _paragraph(post.report())
    assert "the data, not the prior, determined the pooled effect" not in par
    assert "its prior shapes the credible intervals of tau and of the pooled effect" in par and "compare_priors" in par
    assert "the prior on the pooled effect itself hardly mattered" in par
    # and that is true: a different prior on tau changes the pooled effect's interval a lot
    wide = _quiet_fit(K3, measure="SMD", priors={"tau": bm.priors.Uniform(0, 4)})
    lo1, hi1 = post.summary().loc["mu", ["eti_lower", "eti_upper"]]
    lo2, hi2 = wide.summary().loc["mu", ["eti_lower", "eti_upper"]]
    assert (hi2 - lo2) > 1.5 * (hi1 - lo1)


def test_large_k_report_still_says_the_data_determined_the_pooled_effect():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"study": [f"S{i}" for i in range(20)], "yi": rng.normal(0.3, 0.15, 20),
                       "vi": rng.uniform(0.01, 0.03, 20)})
    assert "the data, not the prior, determined the pooled effect" in _paragraph(_quiet_fit(df, measure="SMD").report())


# --- item 5: prior-data conflict said plainly ------------------------------------------------------

def _raw_units() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    vi = rng.uniform(400, 2500, 8)
    yi = rng.normal(300, 500, 8) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": [f"S{i}" for i in range(8)], "yi": yi, "vi": vi})


def test_prior_data_conflict_in_report_and_repr():
    post = _quiet_fit(_raw_units(), measure="SMD")  # raw units analysed with an SMD prior
    assert post.prior_data_conflict()["conflict"].any()
    par = _paragraph(post.report())
    assert "Prior-data conflict" in par and "REML: tau = 693" in par
    assert "data say little" not in par
    text = repr(post)
    assert "prior-data conflict" in text
    assert "data say little" not in text


