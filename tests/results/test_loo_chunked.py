"""PSIS-LOO, WAIC and the posterior predictive check computed chunk by chunk of studies.

``post.loo()``, ``post.waic()`` and :func:`bayesma.compare_models` call ArviZ once per chunk of
studies (:func:`bayesma._arviz.chunked_ic`) instead of once on a draws x k log-likelihood. The
reference here is ArviZ's own ``loo`` / ``waic`` / ``compare`` on the full (chain, draw, k) array,
written in the test with scipy's normal density (or, for the publication-bias likelihoods,
:func:`pointwise_loglik`'s full array, checked against scipy in tests/posterior/test_bias_loglik.py):
every per-study number (``loo_i``, Pareto k, ``waic_i``), the totals, p and the SE over all k
studies agree to 1e-12 with chunks smaller than k that do not divide it. The peak memory is
traced with tracemalloc: no call but ``log_likelihood()`` and ``ppc()`` (whose results are draws
x k) holds a draws x k array, and theirs hold about one.
"""

from __future__ import annotations

import tracemalloc
import types
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import norm

import bayesma as bm
from bayesma import _arviz
from bayesma.errors import UnsupportedModelError
from bayesma.posterior import checks
from bayesma.results.model_checks import elpd_data

PRIORS = {"mu": "normal(0, 2)", "tau": "halfnormal(0.5)"}


def _data(k: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.1, k)
    out = pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + 0.05)), "vi": vi, "x": rng.normal(size=k),
                        "g": np.where(np.arange(k) % 3 == 0, "a", "b")})
    out.loc[3, "yi"] = 2.0  # an outlier: a large Pareto k
    return out


def _exact(data: pd.DataFrame, draws: int = 250, **kw) -> bm.MetaPosterior:
    priors = dict(PRIORS)
    if "mods" in kw:
        priors["beta"] = "normal(0, 2)"
    if kw.get("model") == "common":
        priors.pop("tau")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.MetaAnalysis(data, "yi", "vi", priors=priors, **kw).fit(engine="exact", draws=draws, seed=1)


def _scipy_loglik(post: bm.MetaPosterior, data: pd.DataFrame) -> np.ndarray:
    """log N(y_i | x_i' beta, v_i + tau_i^2) at every draw, (chain, draw, k), written from the definition."""
    p = post.posterior
    spec = post.spec
    if "beta" in p:
        loc = np.einsum("cdp,kp->cdk", p["beta"].values, spec.X)
    else:
        loc = np.broadcast_to(p["mu"].values[..., None], p["mu"].shape + (len(data),))
    if "tau" not in p:
        tau2 = 0.0
    elif p["tau"].ndim == 3:  # one tau per subgroup
        tau2 = p["tau"].values[..., spec.group_index] ** 2
    else:
        tau2 = p["tau"].values[..., None] ** 2
    return norm.logpdf(data["yi"].to_numpy(), loc, np.sqrt(data["vi"].to_numpy() + tau2))


def _full(posterior: xr.Dataset, ll: np.ndarray, labels, kind: str):
    idata = _arviz.with_log_likelihood(posterior, ll, labels)
    return _arviz.loo(idata) if kind == "loo" else _arviz.waic(idata)


def _assert_same(got, want, kind: str) -> None:
    for key in (f"elpd_{kind}", "se", f"p_{kind}"):
        assert float(got[key]) == pytest.approx(float(want[key]), rel=1e-12, abs=1e-12), key
    np.testing.assert_allclose(got[f"{kind}_i"].values, want[f"{kind}_i"].values, rtol=1e-12, atol=1e-12)
    assert list(got[f"{kind}_i"]["study"].values) == list(want[f"{kind}_i"]["study"].values)
    assert int(got["n_samples"]) == int(want["n_samples"]) and int(got["n_data_points"]) == int(want["n_data_points"])
    assert bool(got["warning"]) == bool(want["warning"])
    if kind == "loo":
        np.testing.assert_allclose(got["pareto_k"].values, want["pareto_k"].values, rtol=1e-12, atol=1e-12)
        assert float(got["good_k"]) == float(want["good_k"])


MODELS = {
    "random effects": {},
    "meta-regression": {"mods": "~ x"},
    "subgroup taus": {"tau_by": "g"},
    "common effect": {"model": "common"},
}


@pytest.fixture(scope="module")
def fits():
    data = _data(30)
    return data, {name: _exact(data, **kw) for name, kw in MODELS.items()}


@pytest.mark.parametrize("chunk", [7, 1, 29])
@pytest.mark.parametrize("kind", ["loo", "waic"])
@pytest.mark.parametrize("model", list(MODELS))
def test_chunked_ic_equals_arviz_on_the_full_matrix(fits, model, kind, chunk):
    data, posts = fits
    post = posts[model]
    want = _full(post.posterior, _scipy_loglik(post, data), post.spec.labels, kind)
    _assert_same(elpd_data(post, kind, "test", chunk=chunk), want, kind)


def test_loo_and_waic_results_read_the_chunked_numbers(fits, monkeypatch):
    data, posts = fits
    post = posts["meta-regression"]
    monkeypatch.setattr(checks, "CHUNK_ELEMENTS", 4 * 250 * 7)  # 7 studies a chunk: 5 chunks, the last of 2
    assert [s.stop - s.start for s in checks.study_chunks(30, 1000)] == [7, 7, 7, 7, 2]
    ll = _scipy_loglik(post, data)
    for kind, res in (("loo", post.loo(exact=False)), ("waic", post.waic())):
        want = _full(post.posterior, ll, post.spec.labels, kind)
        assert res.elpd == pytest.approx(float(want[f"elpd_{kind}"]), rel=1e-12)
        assert res.se == pytest.approx(float(want["se"]), rel=1e-12)
        assert res.p == pytest.approx(float(want[f"p_{kind}"]), rel=1e-12)
        np.testing.assert_allclose(res.table["elpd"], want[f"{kind}_i"].values, rtol=1e-12)
        assert res.n_draws == 1000
    res = post.loo(exact=False)
    np.testing.assert_allclose(res.pareto_k, _full(post.posterior, ll, post.spec.labels, "loo")["pareto_k"].values,
                               rtol=1e-12)
    np.testing.assert_array_equal(post.log_likelihood(), checks.pointwise_loglik(post.spec, post.posterior))
    np.testing.assert_allclose(post.log_likelihood(), ll, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ic", ["loo", "waic"])
def test_compare_models_equals_arviz_compare_on_full_matrices(fits, monkeypatch, ic):
    data, posts = fits
    monkeypatch.setattr(checks, "CHUNK_ELEMENTS", 1000 * 4)  # 4 studies a chunk
    a, b = posts["random effects"], posts["meta-regression"]
    got = bm.compare_models([a, b], names=["re", "reg"], ic=ic)
    full = {n: _arviz.with_log_likelihood(p.posterior, _scipy_loglik(p, data), p.spec.labels)
            for n, p in (("re", a), ("reg", b))}
    want = pd.DataFrame(_arviz.compare(full, ic))
    assert list(got.index) == list(want.index)
    for col in (f"elpd_{ic}", f"p_{ic}", "elpd_diff", "se", "dse"):
        np.testing.assert_allclose(got[col].astype(float), want[col].astype(float), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["weight"].astype(float), want["weight"].astype(float), atol=1e-8)


def _draws(spec, chains: int, draws: int, seed: int, extra: dict) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    values = {"mu": (["chain", "draw"], rng.normal(0.3, 0.05, shape)),
              "tau": (["chain", "draw"], np.abs(rng.normal(0.2, 0.05, shape)))}
    values.update({n: (["chain", "draw", *dims], f(rng, shape)) for n, (dims, f) in extra.items()})
    return xr.Dataset(values, coords={"chain": np.arange(chains), "draw": np.arange(draws)})


BIAS = {
    "two-sided selection": (bm.WeightFunction((0.05, 0.1), "two"),
                            {"omega": (["interval"], lambda r, s: np.concatenate(
                                [np.ones(s + (1,)), r.uniform(0.2, 1, s + (2,))], axis=-1))}),
    "PET": (bm.PET(), {"PET": ([], lambda r, s: r.normal(0.5, 0.2, s))}),
}


@pytest.mark.parametrize("chains", [1, 3])
@pytest.mark.parametrize("case", list(BIAS))
def test_chunked_ic_of_publication_bias_likelihoods(case, chains):
    # draws made up for the test (no sampler): one chain (relative ESS 1) and three (ArviZ's mean ESS)
    bias, extra = BIAS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = bm.MetaAnalysis(_data(23), "yi", "vi", priors=PRIORS, bias=bias).spec
    posterior = _draws(spec, chains, 200, 3, extra)
    fit = types.SimpleNamespace(spec=spec, posterior=posterior)
    ll = checks.pointwise_loglik(spec, posterior)
    for chunk in (5, 22):
        np.testing.assert_array_equal(np.concatenate([c for c, _ in checks.loglik_chunks(spec, posterior, chunk)],
                                                     axis=2), ll)
        for kind in ("loo", "waic"):
            _assert_same(elpd_data(fit, kind, "test", chunk=chunk), _full(posterior, ll, spec.labels, kind), kind)


def test_dependent_models_are_still_refused():
    data = _data(12)
    data["cluster"] = np.repeat(np.arange(4), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = bm.MetaAnalysis(data, "yi", "vi", priors=PRIORS, cluster="cluster").spec
    with pytest.raises(UnsupportedModelError, match="clusters"):
        elpd_data(types.SimpleNamespace(spec=spec, posterior=None), "loo", "post.loo()")


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


K = 200


def test_peak_memory_is_a_chunk_not_draws_by_k(monkeypatch):
    # 4 x 250 draws; k = 200 and 400: one draws x k array is 1.5 / 3.1 MiB. With 2**14 elements a
    # chunk (16 studies, 0.125 MiB) LOO and WAIC peak near 1 MiB at both k (ArviZ's and xarray's
    # own objects, O(k) vectors), far below one draws x k array at 2K; log_likelihood() and
    # ppc() hold their draws x k result and about one more array (the full-matrix code held
    # five and four); none of them grows faster than k
    monkeypatch.setattr(checks, "CHUNK_ELEMENTS", 2**14)
    small = _exact(_data(10))
    small.loo(exact=False), small.waic(), small.ppc()  # imports outside the trace
    peaks: dict[int, dict[str, float]] = {}
    for k in (K, 2 * K):
        post = _exact(_data(k, seed=k))
        peaks[k] = {"loo": _peak_mib(lambda: post.loo(exact=False)), "waic": _peak_mib(post.waic),  # noqa: B023
                    "ll": _peak_mib(post.log_likelihood), "ppc": _peak_mib(post.ppc)}
        one = 1000 * k * 8 / 2**20
        assert peaks[k]["ll"] < 2.2 * one and peaks[k]["ppc"] < 2.2 * one, (k, peaks[k], one)
    one = 1000 * 2 * K * 8 / 2**20
    assert peaks[2 * K]["loo"] < 0.5 * one and peaks[2 * K]["waic"] < 0.5 * one, (peaks, one)
    for name in ("loo", "waic", "ll", "ppc"):
        assert peaks[2 * K][name] / peaks[K][name] < 2.5, (name, peaks)
