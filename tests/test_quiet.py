"""Issue 9: PyTensor's BLAS notice and numpy's divide-by-zero warnings never reach the user of
a normal fit; the warnings about the fit itself (divergences, R-hat) still do."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

import bayesma as bm
from bayesma import priors as pr
from bayesma.models import nuts
from bayesma.results import SamplingWarning

BLAS = ("PyTensor could not link to a BLAS installation. Operations that might benefit from BLAS will be "
        "severely degraded.")


def _model():
    return bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3, 0.5, 0.2], vi=[0.02, 0.03, 0.05, 0.04, 0.03, 0.02],
                           priors={"mu": pr.Normal(0, 1), "tau": pr.HalfNormal(0.5)})


def _fake_sample(diverging: int):
    """A stand-in for nuts.sample that makes the backend's noise and returns independent draws."""
    exact = bm.exact.fit_exact(_model().spec, draws=500, chains=4, seed=2)

    def sample(spec, cache=None, **kwargs):
        warnings.warn(BLAS, UserWarning)  # what PyTensor says on compile
        np.log(np.zeros(3))  # log density at a boundary
        idata = exact.idata
        flags = np.zeros((4, 500), dtype=bool)
        flags[0, :diverging] = True
        idata = idata.copy()
        idata.add_groups(sample_stats={"diverging": flags})
        return types.SimpleNamespace(idata=idata, seconds=0.1, info={"sampler": "fake"}, entry=None)
    return sample


def test_backend_noise_does_not_reach_the_user(monkeypatch):
    monkeypatch.setattr(nuts, "sample", _fake_sample(diverging=0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = _model().fit(engine="nuts", draws=500, chains=4, seed=1)
    texts = [str(w.message) for w in caught]
    assert not any("BLAS" in t for t in texts), texts
    assert not any("divide by zero" in t for t in texts), texts
    assert post.diagnostics().passed


def test_divergences_still_reach_the_user(monkeypatch):
    monkeypatch.setattr(nuts, "sample", _fake_sample(diverging=7))
    with pytest.warns(SamplingWarning, match="7 divergent transitions"):
        _model().fit(engine="nuts", draws=500, chains=4, seed=1)


def test_exact_fit_and_its_outputs_are_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = _model().fit(engine="exact", seed=1)
        repr(post)
        post.summary(prob=0.9, hdi=True)
        post.forest()
        post.plot_prior_posterior()
        post.compare_frequentist()
        post.prob("mu > 0")
