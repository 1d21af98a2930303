"""Bad input to the dependent-effects models: typed errors that name the study, row and column (as
attributes, not only in the message), and a sampling correlation no V can have is refused, not clipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayesma as bm


@pytest.fixture(scope="module")
def assink() -> pd.DataFrame:
    return bm.load_dataset("dat.assink2016")


def _err(fn) -> bm.errors.InputError:
    with pytest.raises(bm.errors.InputError) as info:
        fn()
    return info.value


def test_a_negative_rho_too_large_for_the_biggest_cluster_is_an_error_naming_it(assink):
    err = _err(lambda: bm.MetaAnalysis(assink, yi="yi", vi="vi", cluster="study", labels="id", rho=-0.2))
    assert "22 effects of cluster '11'" in str(err) and ">= -1/(22 - 1) = -0.0476" in str(err)
    assert (err.study, err.row, err.column) == ("41", 41, "rho")
    pairs = pd.DataFrame({"study": [1, 1, 2, 2, 3], "yi": [0.1, 0.3, 0.2, 0.4, 0.1], "vi": [0.02] * 5})
    bm.MetaAnalysis(pairs, yi="yi", vi="vi", cluster="study", rho=-0.9)  # pairs allow any rho in (-1, 1)


def test_dependent_input_errors_carry_study_row_and_column(assink):
    V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=assink).toarray()
    V[5, 6] = V[6, 5] = 0.01
    err = _err(lambda: bm.MetaAnalysis(assink, yi="yi", V=V, cluster="study", labels="id"))
    assert (err.study, err.row, err.column) == ("6", 6, "V")
    assert _err(lambda: bm.MetaAnalysis(assink, yi="yi", V=V, labels="id")).column == "cluster"
    assert _err(lambda: bm.MetaAnalysis(assink, yi="yi", vi="vi", cluster="study", rho=1.0)).column == "rho"
    err = _err(lambda: bm.MetaAnalysis(assink, yi="yi", V=np.eye(5), cluster="study"))
    assert err.column == "V" and "V= has 5 rows but there are k = 100 effects" in str(err)
    df = pd.DataFrame({"trial": [1, 1, 2, 2, 3, 3, 3], "out": ["a", "b", "a", "b", "a", "b", "a"],
                       "yi": [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.4], "vi": [0.02] * 7, "name": list("ABCDEFG")})
    err = _err(lambda: bm.MetaAnalysis(df, yi="yi", vi="vi", rho=0.5, cluster="trial", outcome="out", labels="name"))
    assert (err.study, err.row, err.column) == ("G", 7, "out") and "two effects on outcome 'a'" in str(err)
    one = df.iloc[[0, 1, 2, 4]]
    err = _err(lambda: bm.MetaAnalysis(one, yi="yi", vi="vi", rho=0.5, cluster="trial", outcome="out", struct="UN"))
    assert err.column == "out" and "'b' has 1 study under struct='UN'" in str(err)


def test_a_uniform_prior_below_zero_points_to_the_correlation_prior():
    with pytest.raises(bm.errors.InputError, match=r"UniformCorrelation\(lower, upper\)"):
        bm.priors.Uniform(-0.5, 1)
    assert np.isclose(bm.priors.UniformCorrelation(-0.5, 1).support()[0], -0.5)
