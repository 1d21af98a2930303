"""A model on a subset of its studies (ModelSpec.subset, used by leave_one_out, cumulative and the exact
leave-one-out) is the model built directly from those studies' rows, for every model family: each
per-study array (data, designs, subgroup/cluster codes, V blocks, counts) goes with its studies."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.exact.bayes import marginal_likelihood
from bayesma.results.spec_codec import encode


def _bcg():
    return bm.load_dataset("dat.bcg")


def _rr(d):
    return bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=d)


def _two_outcomes():
    rng = np.random.default_rng(5)
    return pd.DataFrame([{"id": f"{s}{o}", "study": s, "outcome": o, "yi": rng.normal(0.2, 0.2), "vi": 0.04}
                         for s in range(8) for o in (["a", "b"] if s < 4 else ["a"])])


BUILD = {  # data -> model; the subset must equal the model built on the rows kept
    "random effects": (_bcg, lambda d: bm.MetaAnalysis(_rr(d), labels="trial", measure="RR")),
    "location-scale": (_bcg, lambda d: bm.MetaAnalysis(_rr(d), labels="trial", measure="RR", scale="~ ablat")),
    "binomial-normal": (_bcg, lambda d: bm.MetaAnalysis(d, labels="trial", measure="OR", ai="tpos", bi="tneg",
                                                        ci="cpos", di="cneg", likelihood="binomial")),
    "CHE": (lambda: bm.load_dataset("dat.assink2016"),
            lambda d: bm.MetaAnalysis(d, "yi", "vi", cluster="study", rho=0.6, labels="id")),
    "multivariate CS": (_two_outcomes, lambda d: bm.MetaAnalysis(d, "yi", "vi", cluster="study", outcome="outcome",
                                                                rho=0.5, struct="CS", labels="id")),
}


def _fields(spec) -> dict:
    """Every field that describes the model (priors by repr: a data-scaled default is rebuilt by design)."""
    out = {f.name: json.dumps(encode(getattr(spec, f.name))) for f in dataclasses.fields(spec)
           if f.name not in ("meta", "priors")}
    out["meta"] = json.dumps(encode(dataclasses.replace(spec.meta, data=pd.DataFrame(), row_index=None)))
    return out


@pytest.mark.parametrize("name", list(BUILD))
def test_subset_equals_the_model_built_on_the_rows_kept(name):
    load, build = BUILD[name]
    data = load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = build(data).spec
        rows = np.ones(len(data), dtype=bool)
        if "cluster" in name or name.startswith(("CHE", "multivariate")):
            rows &= (data["study"] != data["study"].iloc[0]).to_numpy()  # a whole cluster leaves
        else:
            rows[[0, 5]] = False
        direct = build(data[rows].reset_index(drop=True)).spec
    sub = full.subset(rows, rebuild_priors=False)
    got, want = _fields(sub), _fields(direct)
    for key in want:
        if key == "meta":
            continue
        assert got[key] == want[key], f"{name}: field {key} differs from the model built on the rows kept"
    np.testing.assert_array_equal(sub.yi, direct.yi)
    np.testing.assert_array_equal(sub.vi, direct.vi)
    assert list(sub.labels) == list(direct.labels)


def test_exact_leave_one_out_without_a_study_is_the_model_built_without_it():
    """log p(y_i | y_-i) = log p(y) - log p(y_-i), with the model without study i built from its rows."""
    data = bm.load_dataset("dat.assink2016").query("study <= 6").reset_index(drop=True)
    model = bm.MetaAnalysis(data, "yi", "vi", labels="id", priors={"tau": bm.priors.Jeffreys(data["vi"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = model.fit(engine="exact", seed=1).loo(exact=True).table
    direct = bm.MetaAnalysis(data.iloc[1:], "yi", "vi", labels="id").spec
    direct = dataclasses.replace(direct, priors=model.spec.priors)  # the same prior (Jeffreys of all k vi)
    want = marginal_likelihood(model.spec) - marginal_likelihood(direct)
    np.testing.assert_allclose(table["elpd_exact"].iloc[0], want, rtol=1e-10)


def test_loo_of_a_count_model_says_why_not():
    model = BUILD["binomial-normal"][1](_bcg())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = model.fit(engine="exact", seed=1)
    with pytest.raises(bm.errors.UnsupportedModelError, match="likelihood is binomial"):
        post.loo()


def test_a_location_scale_subset_keeps_a_scale_design_of_full_rank():
    d = _rr(_bcg()).assign(g=["a"] * 2 + ["b"] * 11)
    model = bm.MetaAnalysis(d, labels="trial", measure="RR", scale="~ g")
    with pytest.raises(bm.errors.InputError, match="scale design"):
        model.spec.subset(np.r_[False, False, np.ones(11, bool)])
