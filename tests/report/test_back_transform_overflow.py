"""Back-transformed numbers stay finite and readable however absurd the log-scale effect: the report's
"As an odds ratio, this is ..." sentence, the forest and funnel plots (``atransf=``/``transf=``) and the
frequentist ``transf=`` tables write a huge ratio with three significant digits (``1.94e+130``, not its
131 digits), an overflow as ``> 1e308`` (R's ``exp(800)`` is ``Inf``), and no numpy warning leaks."""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma._format import format_transformed, transformed
from bayesma.report import posterior_report

matplotlib.use("Agg")

PRIORS = {"mu": "normal(0, 1000)", "tau": "halfnormal(1)"}


def _data(centre: float) -> pd.DataFrame:
    return pd.DataFrame({"yi": centre + np.array([0.0, 1.0, -0.5, 0.2]), "vi": [0.1, 0.2, 0.15, 0.1],
                         "study": list("abcd")})


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_format_transformed():
    assert format_transformed(math.inf) == "> 1e308"
    assert format_transformed(-math.inf) == "< -1e308"
    assert format_transformed(math.exp(300)) == "1.94e+130"  # exp(300) = 1.9424...e130
    assert format_transformed(2.5) == "2.50" and format_transformed(-0.001) == "0.00"
    assert format_transformed(math.nan) == "NA"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert transformed(np.exp, 800.0) == math.inf


@pytest.mark.parametrize("centre, words", [
    (800.0, "As an odds ratio, this is > 1e308, 95% CrI [> 1e308, > 1e308]."),
    (-800.0, "As an odds ratio, this is 0.00, 95% CrI [0.00, 0.00]."),
])
def test_report_sentence_survives_an_overflow(centre, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the prior-data and small-k warnings of the fit
        post = bm.MetaAnalysis(_data(centre), labels="study", measure="OR", priors=PRIORS).fit(engine="exact", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        text = posterior_report(post)
    assert words in text


def test_report_writes_a_huge_ratio_with_three_digits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(_data(300.0), labels="study", measure="OR", priors=PRIORS).fit(engine="exact", seed=1)
        text = posterior_report(post)
    median = post.summary().loc["mu", "median"]
    assert f"As an odds ratio, this is {math.exp(median):.3g}, 95% CrI [" in text
    assert not any(len(word) > 30 and word[0].isdigit() for word in text.split())  # no 130-digit number


def test_plots_label_an_overflow_and_warn_nothing():
    res = bm.rma("yi", "vi", data=_data(800.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fig = res.forest(atransf=np.exp)
        assert "> 1e308 [> 1e308, > 1e308]" in _texts(fig)
        ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert "> 1e308" in ticks or any("e+" in t for t in ticks)
        res.funnel(atransf=np.exp).canvas.draw()
        fig = bm.leave1out(res, transf=np.exp).plot()
        assert "> 1e308 [> 1e308, > 1e308]" in [t.get_text() for t in fig.axes[0].texts]
        table = bm.leave1out(res, transf=np.exp).table
    assert np.isinf(table["estimate"]).all()  # metafor: Inf
    with pytest.raises(bm.InputError, match="atransf="):  # cannot be drawn on the transformed scale
        res.forest(transf=np.exp)
