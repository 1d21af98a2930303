"""Saving posteriors to netCDF and reading them back (bayesma.results.io, bayesma.load_posterior, and the
netCDF functions of bayesma._arviz), and pickling a NUTS posterior without its compiled model."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma import _arviz


def _same_spec(a, b) -> None:
    assert {k: repr(v) for k, v in a.priors.items()} == {k: repr(v) for k, v in b.priors.items()}
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.yi, b.yi)
    np.testing.assert_array_equal(a.vi, b.vi)
    assert a.coef_names == b.coef_names and list(a.labels) == list(b.labels)
    assert a.tau_by == b.tau_by and list(a.group_names) == list(b.group_names)
    assert list(a.cluster_names) == list(b.cluster_names) and a.measure == b.measure and a.model == b.model


@pytest.mark.parametrize("fixture", ["smoke_post", "smoke_post_regression", "smoke_post_three_level"])
def test_nuts_posterior_round_trip(fixture, request, tmp_path):
    post = request.getfixturevalue(fixture)
    path = post.to_netcdf(tmp_path / "post.nc")
    again = bm.load_posterior(path)
    for name in post.idata.posterior.data_vars:
        np.testing.assert_array_equal(again.idata.posterior[name].values, post.idata.posterior[name].values)
    assert set(again.idata.groups()) == set(post.idata.groups())
    pd.testing.assert_frame_equal(again.summary(), post.summary())
    _same_spec(again.spec, post.spec)
    if post.spec.cluster_index is not None:
        np.testing.assert_array_equal(again.spec.cluster_index, post.spec.cluster_index)
    if post.spec.group_index is not None:
        np.testing.assert_array_equal(again.spec.group_index, post.spec.group_index)
    assert again.engine == "nuts" and again.fit_info["seed"] == post.fit_info["seed"]
    assert again.diagnostics() == post.diagnostics()
    assert "bayesma" not in again.idata.posterior.attrs  # the description lives in the spec


def test_exact_posterior_round_trip(smoke_exact, tmp_path):
    path = smoke_exact.to_netcdf(tmp_path / "exact.nc")
    again = bm.load_posterior(path)
    assert again.engine == "exact"
    pd.testing.assert_frame_equal(again.summary(), smoke_exact.summary())
    assert again.prob("mu < 0") == smoke_exact.prob("mu < 0")


def test_prior_labels_survive(bcg_rr, tmp_path):
    tau = bm.priors.HalfNormal(0.5)
    tau.label = "my elicited prior"
    post = bm.MetaAnalysis(bcg_rr, priors={"tau": tau}).fit(engine="exact", draws=50, chains=2, seed=1)
    again = bm.load_posterior(post.to_netcdf(tmp_path / "p.nc"))
    assert again.spec.priors["tau"].label == "my elicited prior"


def test_a_file_not_written_by_bayesma_is_refused(smoke_post, tmp_path):
    path = _arviz.write_netcdf(smoke_post.idata, str(tmp_path / "plain.nc"))
    idata = _arviz.read_netcdf(path)
    np.testing.assert_array_equal(idata.posterior["mu"].values, smoke_post.idata.posterior["mu"].values)
    with pytest.raises(ValueError, match="was not written by MetaPosterior.to_netcdf"):
        bm.load_posterior(path)


def test_nuts_posterior_pickles_without_its_compiled_model(smoke_post):
    again = pickle.loads(pickle.dumps(smoke_post))
    np.testing.assert_array_equal(again.draws("mu"), smoke_post.draws("mu"))
    pd.testing.assert_frame_equal(again.summary(), smoke_post.summary())
    assert getattr(again, "_cache_entry", None) is None
