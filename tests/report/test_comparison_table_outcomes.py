"""The frequentist check of a model across outcomes names each outcome's row as the posterior does
(``mu[dropout]``, not rma_mv's ``outcomedropout``), so both rows of one outcome read alike."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import bayesma as bm
from bayesma.report.tables import comparison_table, outcome_mean_names

# synthetic data of the motivating shape (21 studies, 27 effects; d from r): metafor 3.8.1's
# rma.mv(yi, vcalc(vi, study, type = outcome, rho = 0.5), mods = ~ outcome - 1, random = ~ outcome | study,
# struct = "CS") gives -0.6460, -0.3312, -0.3196
STUDY = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "A", "E", "K", "H", "I", "J", "K", "L", "M", "N", "O",
         "P", "Q", "R", "S", "T", "U"]
R = [-0.22, -0.4, -0.12, -0.12, -0.38, -0.14, -0.46, -0.39, -0.41, -0.38, -0.21, -0.15, -0.1, -0.04, -0.22, -0.14,
     -0.42, -0.15, -0.08, -0.17, -0.14, 0.01, -0.19, -0.1, -0.3, -0.2, -0.07]
N = [124, 215, 60, 76, 159, 193, 92, 160, 73, 93, 155, 109, 140, 271, 166, 290, 93, 275, 159, 217, 218, 128, 67, 150,
     183, 144, 72]
OUTCOME = ["dropout"] * 10 + ["misconduct"] * 3 + ["recidivism"] * 14


def test_outcome_rows_named_like_the_posterior():
    es = bm.escalc("R2D", ri=R, ni=N, data=pd.DataFrame({"study": STUDY, "outcome": OUTCOME}))
    V = bm.vcalc("vi", cluster="study", type="outcome", rho=0.5, data=es)
    res = bm.rma_mv("yi", V, mods="~ outcome - 1", random="~ outcome | study", struct="CS", data=es)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = bm.MetaAnalysis(es, yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome", struct="CS",
                               measure="R2D").fit(engine="exact", seed=1)
    table = comparison_table({"REML (rma.mv)": res}, post.summary(), "exact")
    reml = table.loc["REML (rma.mv)"]
    assert list(reml.index) == ["mu[dropout]", "mu[misconduct]", "mu[recidivism]"]
    assert reml["estimate"].round(4).tolist() == pytest.approx([-0.6460, -0.3312, -0.3196], abs=1e-4)  # metafor
    assert list(table.loc["Bayesian (exact)"].index) == list(reml.index)


@pytest.mark.parametrize(("coefs", "means", "expected"), [
    (["outcomea", "outcomeba"], ["mu[a]", "mu[ba]"], {"outcomea": "mu[a]", "outcomeba": "mu[ba]"}),
    (["intrcpt", "outcomeb"], ["mu[a]", "mu[b]"], {}),          # an intercept and a contrast: not the means
    (["outcomea", "x"], ["mu[a]", "mu[b]"], {}),
    (["outcomea", "outcomeb", "year"], ["mu[a]", "mu[b]"], {}),  # a meta-regression
])
def test_only_one_coefficient_per_outcome_mean_is_renamed(coefs, means, expected):
    assert outcome_mean_names(coefs, pd.DataFrame(index=[*means, "tau"])) == expected
