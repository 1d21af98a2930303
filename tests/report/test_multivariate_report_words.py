"""The report of a multivariate model across outcomes: every outcome's mean in the results paragraph (none
called "the pooled effect"), the sampling correlation V was built with, the posterior correlation across
outcomes in the paragraph and in the summary table."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import bayesma as bm


def _post():
    rng = np.random.default_rng(3)
    rows = [{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
            for s in range(10) for o in (["a", "b"] if s < 4 else ["a"] if s < 7 else ["b"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(pd.DataFrame(rows), yi="yi", vi="vi", rho=0.4, cluster="study", outcome="outcome",
                               priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}).fit(
            engine="exact", seed=1)


def test_report_gives_every_outcome_mean_the_sampling_rho_and_the_correlation_across_outcomes():
    post = _post()
    s = post.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = post.report()
    first = next(p for p in text.split("\n\n") if p.startswith("We meta-analysed"))
    assert "multivariate across outcomes, CS, sampling correlation within studies fixed at 0.4" in first
    assert "sampling correlation rho" not in text  # the only "rho =" is the correlation of the true effects
    assert "the pooled effect was" not in first
    for o in ("a", "b"):
        r = s.loc[f"mu[{o}]"]
        assert f"mu[{o}] = {r['median']:.2f}, 95% CrI [{r['eti_lower']:.2f}, {r['eti_upper']:.2f}]" in first
    r = s.loc["rho"]
    assert (f"true effects across outcomes was rho = {r['median']:.2f}, 95% CrI [{r['eti_lower']:.2f}, "
            f"{r['eti_upper']:.2f}]") in first
    table = text.split("## Posterior summary")[1]
    assert f"| rho | {r['mean']:.4f} |" in table


def test_the_small_k_sentence_speaks_of_every_outcome_mean():
    rows = [{"study": s, "outcome": o, "yi": 0.1 * s, "vi": 0.04} for s, o in [(0, "a"), (0, "b"), (1, "a"), (2, "b")]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(pd.DataFrame(rows), yi="yi", vi="vi", rho=0.4, cluster="study", outcome="outcome",
                               priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)}).fit(
            engine="exact", seed=1)
        text = post.report()
    assert "data say little about tau" in text
    assert "intervals of tau and of the pooled effects;" in text
