"""The report states the posterior probability in the direction of the pooled effect: for a negative effect
(the working alliance and reoffending) "less than zero was .96", not "greater than zero was .04"."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from scipy import stats

import bayesma as bm

MISCONDUCT = pd.DataFrame({"study": ["Adams (1995)", "Evans (1999)", "Khan (2005)"],
                           "yi": [-0.4296, -0.3034, -0.2010], "vi": [0.02717, 0.03790, 0.02907]})


def _paragraph(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(df, yi="yi", vi="vi", labels="study", measure="R2D").fit(engine="exact", seed=1)
    return post, post.report().split("\n\n")[1]


def _apa(p: float) -> str:
    return "above .999" if p > 0.999 else "below .001" if p < 0.001 else f"{p:.3f}".lstrip("0")


def test_negative_effect_gives_the_probability_below_zero():
    post, par = _paragraph(MISCONDUCT)
    p_less = 1 - post.p_greater("mu")
    assert post.summary().loc["mu", "median"] < 0 and 0.9 < p_less < 0.999
    assert f"the posterior probability that it is less than zero was {_apa(p_less)}" in par
    assert "greater than zero" not in par


def test_positive_effect_keeps_greater_than_zero():
    flipped = MISCONDUCT.assign(yi=-MISCONDUCT["yi"])
    post, par = _paragraph(flipped)
    assert f"greater than zero was {_apa(post.p_greater('mu'))}" in par and "less than zero" not in par
    neg, _ = _paragraph(MISCONDUCT)
    assert post.p_greater("mu") == pytest.approx(1 - neg.p_greater("mu"), abs=1e-9)  # the mirror image


def test_flat_prior_limit_of_the_probability():
    """With the effect known (three studies, tau fixed near 0 by a tight prior) P(mu < 0) is the normal
    tail of the fixed-effect estimate: an independent check of the number the sentence prints."""
    w = 1 / MISCONDUCT["vi"]
    fe, se = float((w * MISCONDUCT["yi"]).sum() / w.sum()), float(w.sum() ** -0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(MISCONDUCT, yi="yi", vi="vi", labels="study", measure="R2D",
                               priors={"mu": bm.priors.Normal(0, 100), "tau": bm.priors.HalfNormal(1e-4)}
                               ).fit(engine="exact", seed=1)
    assert 1 - post.p_greater("mu") == pytest.approx(stats.norm.cdf(0, fe, se), abs=1e-4)
    assert f"less than zero was {_apa(stats.norm.cdf(0, fe, se))}" in post.report()
