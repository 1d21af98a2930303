"""compare_priors(priors=...): priors of the parameters not compared are held fixed in every row."""

from __future__ import annotations

import numpy as np
import pytest

import bayesma as bm
from bayesma.errors import ArgumentTypeError, InputError


@pytest.fixture(scope="module")
def bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


TAUS = {"HN(0.5)": "halfnormal(0.5)", "HN(1)": "halfnormal(1)"}


def test_held_moderator_prior_is_used_in_every_row(bcg):
    cmp = bm.compare_priors(bcg, "yi", "vi", mods="~ ablat", tau_priors=TAUS, engine="exact",
                            priors={"beta": "normal(0, 0.01)"}, seed=1)
    for label, tau in TAUS.items():
        direct = bm.MetaAnalysis(bcg, "yi", "vi", mods="~ ablat",
                                 priors={"beta": "normal(0, 0.01)", "tau": tau}).fit(engine="exact", seed=1)
        row = direct.summary().loc["beta[ablat]"]
        assert np.isclose(cmp.posteriors[label].summary().loc["beta[ablat]", "mean"], row["mean"], rtol=1e-8)
    # a tight prior on the slope pulls it towards 0 compared with the default prior
    loose = bm.compare_priors(bcg, "yi", "vi", mods="~ ablat", tau_priors=TAUS, engine="exact", seed=1)
    tight_slope = abs(cmp.posteriors["HN(1)"].summary().loc["beta[ablat]", "mean"])
    assert tight_slope < abs(loose.posteriors["HN(1)"].summary().loc["beta[ablat]", "mean"])


def test_held_mu_prior_without_mu_priors(bcg):
    cmp = bm.compare_priors(bcg, "yi", "vi", tau_priors=TAUS, engine="exact", priors={"mu": "normal(0, 0.05)"}, seed=1)
    direct = bm.MetaAnalysis(bcg, "yi", "vi", priors={"mu": "normal(0, 0.05)", "tau": "halfnormal(1)"}).fit(
        engine="exact", seed=1)
    assert np.isclose(cmp.table.loc["HN(1)", "mu_mean"], direct.summary().loc["mu", "mean"], rtol=1e-8)


@pytest.mark.parametrize("kwargs", [
    {"priors": {"tau": "halfnormal(1)"}},
    {"priors": {"tau2": "halfnormal(1)"}, "tau_priors": TAUS},
    {"priors": {"mu": "normal(0, 1)"}, "mu_priors": {"N(0,2)": "normal(0, 2)"}},
])
def test_a_compared_prior_given_in_priors_is_an_error(bcg, kwargs):
    with pytest.raises(InputError, match="priors="):
        bm.compare_priors(bcg, "yi", "vi", engine="exact", **kwargs)


def test_priors_must_be_a_dict(bcg):
    with pytest.raises(ArgumentTypeError, match="dict"):
        bm.compare_priors(bcg, "yi", "vi", engine="exact", priors="normal(0, 1)")
