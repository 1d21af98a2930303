"""Publication-bias models (selection models, PET, PEESE) padded to a bucket of k.

A padded study (``yi`` 0, ``vi`` 1, mask 0) must add only a constant to the log density: the
padded and the unpadded model's log densities, compiled in PyTensor's ``FAST_COMPILE`` mode
(no sampler compiled), differ at every point by exactly the padded studies' own terms,
``n_pad * (log N(0 | 0, 1) + log N(z_pad | 0, 1))`` (their likelihood and their independent
auxiliary normal), written here with scipy. So the posterior of the real parameters is the
unpadded one, and meta-analyses of any k in a bucket share one compiled model.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import bias_data
from scipy import stats

import bayesma as bm
from bayesma.models import build as mb
from bayesma.models.nuts import ModelCache

pytest.importorskip("pymc")

_PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}
_Z_PAD = 0.3  # the padded studies' auxiliary normals, held at one value


_data = bias_data


CASES = {
    "one-sided selection": dict(bias=bm.WeightFunction((0.025, 0.5))),
    "two-sided selection with mods": dict(bias=bm.WeightFunction((0.05, 0.1), "two"), mods="~ x"),
    "common-effect selection": dict(bias=bm.WeightFunction((0.025,)), model="common"),
    "PET": dict(bias=bm.PET()),
    "PEESE with mods": dict(bias=bm.PEESE(), mods="~ x"),
    "common-effect PET": dict(bias=bm.PET(), model="common"),
}


def _spec(case: str, k: int = 13, seed: int = 5):
    kwargs = dict(CASES[case])
    priors = dict(_PRIORS)
    if "mods" in kwargs:
        priors["beta"] = "normal(0, 1)"
    if kwargs.get("model") == "common":
        priors.pop("tau")
    return bm.MetaAnalysis(_data(k, seed), yi="yi", vi="vi", priors=priors, **kwargs).spec


@pytest.mark.parametrize("case", list(CASES))
def test_padding_a_bias_model_adds_only_the_padded_studies_constant_terms(case):
    spec = _spec(case)
    m0, _ = mb.build_model(spec, "auto", pad=False)
    m1, _ = mb.build_model(spec, "auto", pad=True)
    n_pad = mb.STUDY_BUCKET - spec.k
    assert len(m1.coords["study"]) == mb.STUDY_BUCKET and n_pad > 0
    f0, f1 = m0.compile_logp(mode="FAST_COMPILE"), m1.compile_logp(mode="FAST_COMPILE")
    g0, g1 = m0.compile_dlogp(mode="FAST_COMPILE"), m1.compile_dlogp(mode="FAST_COMPILE")
    n_z = n_pad if any(v.name == "z" for v in m1.value_vars) else 0
    constant = n_pad * stats.norm.logpdf(0.0) + n_z * stats.norm.logpdf(_Z_PAD)
    rng = np.random.default_rng(3)
    for _ in range(4):
        p0 = {name: rng.normal(0, 0.7, np.shape(v)) for name, v in m0.initial_point().items()}
        p1 = {name: (np.r_[p0[name], np.full(n_pad, _Z_PAD)] if name == "z" else p0[name]) for name in p0}
        assert float(f1(p1)) - float(f0(p0)) == pytest.approx(constant, abs=1e-8)
        # the gradient in the real parameters is the same; the padded z's is their prior's, -z
        grad0, grad1 = g0(p0), g1(p1)
        names = [v.name for v in m1.value_vars]
        sizes = [int(np.prod(np.shape(p1[n]))) for n in names]
        parts = dict(zip(names, np.split(grad1, np.cumsum(sizes)[:-1])))
        real = np.concatenate([parts[n][: spec.k] if n == "z" else parts[n] for n in names])
        np.testing.assert_allclose(real, grad0, rtol=1e-9, atol=1e-9)
        if n_z:
            np.testing.assert_allclose(parts["z"][spec.k:], -_Z_PAD, rtol=1e-12)


def test_selection_interval_counts_are_those_of_the_real_studies():
    spec = _spec("one-sided selection")
    unpadded, padded = mb.data_values(spec), mb.data_values(spec, pad=True)
    np.testing.assert_array_equal(padded["bias_count"], unpadded["bias_count"])
    assert padded["bias_count"].sum() <= spec.k
    assert padded["bias_lower"].shape == (mb.STUDY_BUCKET, 3)
    np.testing.assert_array_equal(padded["bias_lower"][: spec.k], unpadded["bias_lower"])
    np.testing.assert_array_equal(padded["mask"], np.r_[np.ones(spec.k), np.zeros(mb.STUDY_BUCKET - spec.k)])


@pytest.mark.parametrize("case", ["one-sided selection", "two-sided selection with mods", "PET"])
def test_bias_models_of_any_k_in_a_bucket_share_one_compiled_model(case):
    cache = ModelCache()
    first, built = cache.get(_spec(case, k=10, seed=1), "auto", pad=True)
    assert built
    second, built = cache.get(_spec(case, k=17, seed=2), "auto", pad=True)
    assert not built and second is first and len(cache) == 1
    # unpadded, each k is a structure of its own
    assert mb.structure_key(_spec(case, k=10), "auto") != mb.structure_key(_spec(case, k=17), "auto")
    # the next bucket is another one
    assert mb.structure_key(_spec(case, k=65), "auto", pad=True) != first.handles.key


def test_bias_models_of_any_k_in_a_bucket_share_one_on_disk_model_description():
    """The digest that names a compiled model on disk (shapes and dimension lengths included)."""
    from bayesma.models import compile as mc

    entries = [ModelCache().get(_spec("one-sided selection", k=k, seed=k), "auto", pad=True)[0] for k in (10, 17)]
    digests = {mc._structure_digest(e.handles.key, e.model) for e in entries}
    assert len(digests) == 1


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayesma.results.SamplingWarning")  # few draws: shapes only
def test_a_padded_selection_fit_reports_only_the_real_studies():
    # the priors and weight function of tests/bias/test_robma.py's NUTS fit: one compiled model
    y, se = _data(13)["yi"].to_numpy(), np.sqrt(_data(13)["vi"].to_numpy())
    ma = bm.MetaAnalysis(yi=y, sei=se, priors=_PRIORS, bias=bm.WeightFunction((0.025,)))
    post = ma.fit(draws=100, tune=200, chains=2, seed=4, progressbar=False)
    assert post.fit_info["padded_to"] == mb.STUDY_BUCKET
    p = post.idata.posterior
    assert p.sizes["study"] == 13 and list(p["study"].values) == list(ma.spec.labels)
    assert p["theta"].shape == (2, 100, 13) and p["omega"].shape == (2, 100, 2)
    assert post.log_likelihood().shape == (2, 100, 13)
    assert post.summary().filter(like="__pad", axis=0).empty
