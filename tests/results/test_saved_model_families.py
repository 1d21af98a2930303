"""A posterior saved to netCDF reads back as the model it was fitted with, for every model family
(bayesma.results.spec_codec): a CHE model keeps its sampling correlation, a multivariate model its
outcomes, a location-scale model its scale design, a bias model its component, a count model its counts.
Before, every file read back as a plain random-effects (or three-level) model, and the exact engine
integrated that other model again: other numbers under the same name."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma import _arviz
from bayesma.results.io import META_ATTR
from bayesma.results.spec_codec import decode, encode


def _bcg():
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


def _two_outcomes():
    rng = np.random.default_rng(5)
    return pd.DataFrame([{"study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
                         for s in range(8) for o in (["a", "b"] if s < 3 else ["a"])])


MODELS = {
    "random effects": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR"),
    "meta-regression": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR", mods="~ ablat"),
    "tau by subgroup": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR", tau_by="alloc"),
    "CHE": lambda: bm.MetaAnalysis(bm.load_dataset("dat.assink2016"), "yi", "vi", cluster="study", rho=0.6,
                                   labels="id"),
    "multivariate CS": lambda: bm.MetaAnalysis(_two_outcomes(), "yi", "vi", cluster="study", outcome="outcome",
                                               rho=0.5, struct="CS"),
    "multivariate UN": lambda: bm.MetaAnalysis(_two_outcomes(), "yi", "vi", cluster="study", outcome="outcome",
                                               rho=0.5, struct="UN"),
    "location-scale": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR", scale="~ ablat"),
    "selection model": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR",
                                               bias=bm.WeightFunction([0.025])),
    "PET": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR", bias=bm.PET()),
    "Student-t": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR", likelihood="student_t"),
    "binomial-normal": lambda: bm.MetaAnalysis(bm.load_dataset("dat.bcg"), labels="trial", measure="OR",
                                               ai="tpos", bi="tneg", ci="cpos", di="cneg", likelihood="binomial"),
    "Jeffreys prior": lambda: bm.MetaAnalysis(_bcg(), labels="trial", measure="RR",
                                              priors={"tau": bm.priors.Jeffreys(_bcg()["vi"])}),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_spec_reads_back_as_itself(name):
    spec = MODELS[name]().spec
    text = json.dumps(encode(spec))
    back = decode(json.loads(text))
    assert type(back) is type(spec)
    assert back.describe() == spec.describe()
    assert {k: repr(v) for k, v in back.priors.items()} == {k: repr(v) for k, v in spec.priors.items()}
    assert json.dumps(encode(back)) == text  # every field, every array (values, dtype, shape)


@pytest.mark.parametrize("name", ["CHE", "multivariate CS", "meta-regression", "binomial-normal", "Jeffreys prior"])
def test_exact_fit_saved_and_loaded_gives_the_same_numbers(name, tmp_path):
    """The exact engine integrates the loaded model again: the same model gives the same numbers."""
    ma = MODELS[name]()
    post = ma.fit(engine="exact", seed=1)
    again = bm.load_posterior(post.to_netcdf(tmp_path / "post.nc"))
    assert repr(again) == repr(post)
    pd.testing.assert_frame_equal(again.summary(), post.summary())
    if not ma.spec.is_regression and "mu" in post.idata.posterior and post.idata.posterior["mu"].ndim == 2:
        assert again.prob("mu > 0") == post.prob("mu > 0")


def test_a_class_outside_bayesma_is_not_rebuilt(tmp_path):
    post = MODELS["random effects"]().fit(engine="exact", draws=20, chains=1, seed=1)
    path = post.to_netcdf(tmp_path / "post.nc")
    idata = _arviz.read_netcdf(path)
    meta = json.loads(idata.posterior.attrs[META_ATTR])
    meta["spec"]["class"] = "subprocess:Popen"
    idata.posterior.attrs[META_ATTR] = json.dumps(meta)
    _arviz.write_netcdf(idata, str(tmp_path / "evil.nc"))
    with pytest.raises(bm.errors.InputError, match="outside bayesma"):
        bm.load_posterior(tmp_path / "evil.nc")


def test_a_file_of_the_first_format_still_reads(tmp_path):
    """Files written before the whole spec was saved (random-effects models and their kin) still load."""
    post = MODELS["meta-regression"]().fit(engine="exact", draws=20, chains=1, seed=1)
    path = post.to_netcdf(tmp_path / "post.nc")
    idata = _arviz.read_netcdf(path)
    spec = post.spec
    old = {"format": 1, "engine": "exact", "fit_seconds": 0.1, "fit_info": {}, "model": spec.model,
           "likelihood": spec.likelihood, "measure": spec.measure, "labels": list(spec.labels),
           "yi": spec.yi.tolist(), "vi": spec.vi.tolist(), "X": spec.X.tolist(), "coef_names": spec.coef_names,
           "mods": spec.mods, "priors": {k: repr(v) for k, v in spec.priors.items()}, "prior_labels": {},
           "tau_by": None, "group_index": None, "group_names": [], "cluster_index": None, "cluster_names": []}
    idata.posterior.attrs[META_ATTR] = json.dumps(old)
    _arviz.write_netcdf(idata, str(tmp_path / "old.nc"))
    again = bm.load_posterior(tmp_path / "old.nc")
    pd.testing.assert_frame_equal(again.summary(), post.summary())
