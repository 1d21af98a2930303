"""Cluster and group ids that differ only by surrounding spaces ("11" and "11 ") are one cluster,
with a warning, as moderator levels are: in rma(cluster=), rma_mv(random=), robust(), vcalc,
aggregate, MetaAnalysis(cluster=) and fit_many(by=)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import bayesma as bm
from bayesma.errors import DataWarning

DF = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.1], "vi": [0.01, 0.02, 0.03, 0.02, 0.01, 0.02],
                   "cl": ["11", "11 ", "12", "12", "13", " 13"], "o": ["a", "a ", "a", "b", "b", "b"]})
CLEAN = DF.assign(cl=DF["cl"].str.strip(), o=DF["o"].str.strip())


def _both(fn):
    with pytest.warns(DataWarning, match="surrounding spaces were merged"):
        padded = fn(DF)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        clean = fn(CLEAN)
    return padded, clean


def test_rma_mv_random_factor():
    padded, clean = _both(lambda d: bm.rma_mv("yi", "vi", random="~ 1 | cl", data=d))
    assert padded.s_nlevels == clean.s_nlevels == (3,)
    assert padded.sigma2[0] == pytest.approx(clean.sigma2[0], rel=1e-10)


def test_three_level_rma_cluster():
    padded, clean = _both(lambda d: bm.rma("yi", "vi", data=d, cluster="cl"))
    assert padded.beta[0] == pytest.approx(clean.beta[0], rel=1e-10)


def test_robust_cluster():
    padded, clean = _both(lambda d: bm.robust(bm.rma("yi", "vi", data=d), cluster="cl"))
    assert padded.se[0] == pytest.approx(clean.se[0], rel=1e-10)


def test_vcalc_cluster():
    padded, clean = _both(lambda d: bm.vcalc("vi", cluster="cl", obs=[1, 2, 1, 2, 1, 2], rho=0.5, data=d))
    assert padded.toarray()[0, 1] > 0  # "11" and "11 " are one cluster: their effects correlate
    assert (padded.toarray() == clean.toarray()).all()


def test_bayesian_cluster():
    padded, clean = _both(lambda d: bm.MetaAnalysis(d, yi="yi", vi="vi", cluster="cl").spec)
    assert padded.cluster_names == clean.cluster_names == ["11", "12", "13"]


def test_fit_many_groups():
    def fit(d):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("always", DataWarning)
            return bm.fit_many(d, by="o", yi="yi", vi="vi", engine="exact", seed=1)

    padded, clean = _both(fit)
    assert padded.groups.index.tolist() == clean.groups.index.tolist() == ["a", "b"]
    assert padded.groups.loc["a", "mu_mean"] == pytest.approx(clean.groups.loc["a", "mu_mean"], rel=1e-10)
