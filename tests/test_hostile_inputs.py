"""Hostile inputs that crashed with a traceback or gave a number without a word: each is now a
typed error naming the argument or study, or the right number."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm

SMALL = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01, 0.02, 0.03]})


def test_a_subnormal_variance_is_an_input_error_naming_the_study():
    with pytest.raises(bm.InputError, match=r"row 1.*too small to compute with") as err:
        bm.rma([0.1, 0.2, 0.3], [1e-320, 0.01, 0.02])
    assert err.value.column == "vi"


def test_an_absurd_fixed_tau2_gives_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.rma([0.1, 0.2, 0.3], [0.01, 0.01, 0.02], tau2=1e300)
    assert res.beta[0] == pytest.approx(0.2)  # equal weights
    assert res.se[0] == pytest.approx(np.sqrt(1e300 / 3), rel=1e-10)
    assert np.isinf(res.se_tau2)


def test_a_normal_prior_with_a_huge_scale_is_flat_in_the_exact_engine():
    huge = bm.MetaAnalysis(SMALL, yi="yi", vi="vi", priors={"mu": bm.priors.Normal(0, 1e300)}).fit(engine="exact")
    flat = bm.MetaAnalysis(SMALL, yi="yi", vi="vi", priors={"mu": bm.priors.Normal(0, 1e6)}).fit(engine="exact")
    assert huge.summary().loc["mu", "mean"] == pytest.approx(flat.summary().loc["mu", "mean"], abs=1e-6)


@pytest.mark.parametrize("arg", ["tau_priors", "mu_priors"])
def test_compare_priors_with_no_priors_is_an_input_error(arg):
    with pytest.raises(bm.InputError, match=f"{arg} is empty"):
        bm.compare_priors(data=SMALL, yi="yi", vi="vi", **{arg: []})


@pytest.mark.parametrize("kwargs,name", [({"draws": 0}, "draws"), ({"replicates": 0}, "replicates"),
                                         ({"draws": 2.5}, "draws")])
def test_robma_needs_draws_and_replicates(kwargs, name):
    with pytest.raises(bm.InputError, match=f"{name} must be an integer"):
        bm.robma(bm.load_dataset("dat.lehmann2018"), yi="yi", vi="vi", **kwargs)
