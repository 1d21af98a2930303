"""The disk-cached nutpie callbacks (bayesma.models.compile) against PyMC's own log density,
against nutpie's compiler (same seed, same draws), and their cache.

The log density and gradient that nutpie samples are evaluated through the C callback itself
(ctypes) and compared with ``pymc.Model.compile_logp`` / ``compile_dlogp`` in PyTensor's
``FAST_COMPILE`` mode (the model's graph with few rewrites, each operation evaluated by its
Python/numpy implementation: independent of the rewritten, numba-compiled callback, and no C
compiler, which took 1-2.5 minutes of the suite per family on a busy machine), for every model family.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesma as bm
from bayesma.models import compile as mc
from bayesma.models.nuts import COMPILE_MESSAGE, ModelCache

pytest.importorskip("nutpie")

_DAT = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
_PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}
_REF = Path(__file__).parents[1] / "data" / "reference" / "metafor" / "metafor_cases_v3.json"
# Each family below is built in the shape another test of the suite fits with NUTS, so that the suite
# compiles each family once (one cache directory per session): the selection model takes k = 10 like
# tests/bias/test_robma.py's NUTS test (any k up to 64 shares the padded model); the multivariate ones
# take dat.berkey1998 with the priors of tests/models/test_dependent_nuts.py; location-scale the data
# and prior families of tests/models/test_location_scale_bayes.py.
_TEN = pd.DataFrame({"yi": np.linspace(-0.1, 0.8, 10), "sei": np.linspace(0.1, 0.25, 10)})
_LS = bm.load_dataset("dat.bangertdrowns2004").assign(logni=lambda d: np.log(d["ni"]))


def _berkey(struct: str):
    case = {c["name"]: c for c in json.loads(_REF.read_text())["cases"]}["berkey1998_CS"]
    inp = dict(case["input"])
    V = np.array(inp.pop("V"))
    rho = bm.priors.LKJ(1.0) if struct == "UN" else bm.priors.Uniform(0, 1)
    return bm.MetaAnalysis(pd.DataFrame(inp), yi="yi", V=V, cluster="trial", outcome="outcome", struct=struct,
                           priors={**_PRIORS, "rho": rho})


FAMILIES = {
    "random effects": lambda: bm.MetaAnalysis(_DAT, priors=_PRIORS),
    "meta-regression": lambda: bm.MetaAnalysis(_DAT, mods="~ ablat", priors={**_PRIORS, "beta": "normal(0, 1)"}),
    "student-t": lambda: bm.MetaAnalysis(_DAT, priors=_PRIORS, likelihood="student_t"),
    "tau_by": lambda: bm.MetaAnalysis(_DAT, priors=_PRIORS, tau_by="alloc"),
    "three-level": lambda: bm.MetaAnalysis(_DAT.assign(c=np.arange(len(_DAT)) // 3), priors=_PRIORS, cluster="c"),
    "selection model": lambda: bm.MetaAnalysis(_TEN, yi="yi", sei="sei", priors=_PRIORS,
                                               bias=bm.WeightFunction((0.025,))),
    "PET": lambda: bm.MetaAnalysis(_DAT, priors=_PRIORS, bias=bm.PET()),
    "multivariate CS": lambda: _berkey("CS"),
    "multivariate UN": lambda: _berkey("UN"),
    "location-scale": lambda: bm.MetaAnalysis(_LS, scale="~ logni", priors={
        "mu": "normal(0, 10)", "alpha": "normal(0, 10)", "alpha_slopes": "normal(0, 10)"}),
    "binomial counts": lambda: bm.MetaAnalysis(bm.load_dataset("dat.bcg"), ai="tpos", bi="tneg", ci="cpos", di="cneg",
                                               measure="OR", likelihood="binomial"),
}


def _model(family: str):
    ma = FAMILIES[family]()
    cache = ModelCache()
    entry, _ = cache.get(ma.spec, "auto", pad=ma.spec.cluster_index is None)
    return entry.model


def _callback(compiled, x: np.ndarray) -> tuple[int, float, np.ndarray]:
    """Call the compiled log-density callback as nutpie does: status, logp, gradient."""
    grad = np.zeros_like(x)
    logp = np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    status = compiled.compiled_logp_func.ctypes(
        ctypes.c_uint64(x.size), x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr), logp.ctypes.data_as(ptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    return int(status), float(logp[0]), grad


def _point(model, compiled, x: np.ndarray) -> dict[str, np.ndarray]:
    names, _, shapes = compiled.shape_info
    out, pos = {}, 0
    free = {model.rvs_to_values[v].name for v in model.free_RVs}
    for name, shape in zip(names, shapes):
        if name not in free:
            continue
        size = int(np.prod(shape))
        out[name] = x[pos:pos + size].reshape(shape)
        pos += size
    return out


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_callback_log_density_and_gradient_equal_pymc(family):
    model = _model(family)
    compiled = mc.compile_nutpie(model)
    logp, dlogp = model.compile_logp(mode="FAST_COMPILE"), model.compile_dlogp(mode="FAST_COMPILE")
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.normal(0.0, 0.5, compiled.n_dim)
        status, value, grad = _callback(compiled, x)
        point = _point(model, compiled, x)
        assert status == 0
        assert value == pytest.approx(float(logp(point)), rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(grad, dlogp(point), rtol=1e-9, atol=1e-10)


@pytest.mark.slow
def test_with_data_changes_what_the_callback_reads():
    model = _model("random effects")
    compiled = mc.compile_nutpie(model)
    x = np.random.default_rng(2).normal(0.0, 0.5, compiled.n_dim)
    before = _callback(compiled, x)[1]
    wider = compiled.with_data(hyper_tau_sigma=np.asarray(2.0))
    assert _callback(wider, x)[1] != before
    assert _callback(compiled, x)[1] == before  # the original is unchanged
    with pytest.raises(KeyError):
        compiled.with_data(nonsense=1.0)
    with pytest.raises(ValueError, match="dimensions"):
        compiled.with_data(vi=np.ones((2, 2)))


@pytest.mark.slow
def test_second_compilation_loads_the_callbacks_from_disk():
    model = _model("random effects")
    mc.compile_nutpie(model)  # compiled (or loaded) once
    again = mc.compile_nutpie(model)
    assert again.compiled_logp_func.cache_hits == 1 and again.compiled_expand_func.cache_hits == 1
    assert any("bayesma_nutpie_logp" in p.name for p in mc.cache_files())


@pytest.mark.slow
def test_same_seed_same_draws_as_nutpies_own_compiler():
    import nutpie

    ma = FAMILIES["random effects"]()  # the smallest graph: nutpie compiles its own once more
    cache = ModelCache()
    entry, _ = cache.get(ma.spec, "auto", pad=True)
    mine = mc.compile_nutpie(entry.model)
    theirs = nutpie.compile_pymc_model(entry.model)
    kw = dict(draws=200, tune=200, chains=2, seed=4, progress_bar=False)
    a, b = nutpie.sample(mine, **kw), nutpie.sample(theirs, **kw)
    assert set(a.posterior.data_vars) == set(b.posterior.data_vars)
    for name in b.posterior.data_vars:
        np.testing.assert_array_equal(a.posterior[name].values, b.posterior[name].values)


def test_cache_key_changes_with_the_versions_and_the_tag(monkeypatch):
    key = mc.cache_key("inner", "source")
    assert key == mc.cache_key("inner", "source")
    assert key != mc.cache_key("inner", "source 2") != mc.cache_key("inner 2", "source")
    monkeypatch.setattr(mc, "_versions", lambda: "numba=0.0")
    assert mc.cache_key("inner", "source") != key
    monkeypatch.setattr(mc, "CACHE_TAG", "another")
    assert mc.cache_key("inner", "source") != key


def test_show_progress_respects_the_argument(monkeypatch):
    assert mc.show_progress(True) is True and mc.show_progress(False) is False
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert isinstance(mc.show_progress(None), bool)


@pytest.mark.slow
def test_first_fit_says_it_compiles_and_later_fits_do_not(capsys):
    ma = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2, 0.4, 0.25], vi=[0.01, 0.02, 0.03, 0.02, 0.04], priors=_PRIORS)
    ma._pymc_cache = ModelCache()
    post = ma.fit(draws=100, tune=100, chains=1, seed=1, progressbar=True, warn=False)
    err = capsys.readouterr().err
    assert COMPILE_MESSAGE in err and " in " in err and "; sampling" in err
    assert post.fit_info["compile_path"] in ("cached", "loaded from disk") and post.fit_info["compiled"]
    ma.fit(draws=100, tune=100, chains=1, seed=1, progressbar=True, warn=False)
    assert COMPILE_MESSAGE not in capsys.readouterr().err
    quiet = bm.MetaAnalysis(yi=[0.1, 0.3, -0.2, 0.4], vi=[0.01, 0.02, 0.03, 0.02], priors=_PRIORS)
    quiet._pymc_cache = ModelCache()
    quiet.fit(draws=100, tune=100, chains=1, seed=1, progressbar=False, warn=False)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_a_known_structure_loads_without_rebuilding_the_pytensor_functions():
    ma = FAMILIES["random effects"]()
    entry, _ = ModelCache().get(ma.spec, "auto", pad=True)
    full = mc.compile_nutpie(entry.model, structure=entry.handles.key)  # compiled or loaded; writes the description
    fast = mc.compile_nutpie(entry.model, structure=entry.handles.key)
    assert fast.logp_func is None  # no PyTensor function was built
    assert fast.compiled_logp_func.cache_hits == 1 and fast.n_dim == full.n_dim
    x = np.random.default_rng(3).normal(0.0, 0.5, full.n_dim)
    assert _callback(fast, x)[1] == _callback(full, x)[1]
    np.testing.assert_array_equal(_callback(fast, x)[2], _callback(full, x)[2])
    assert fast.initial_point_func(1).size == full.n_dim


@pytest.mark.slow
def test_an_edit_of_bayesma_rebuilds_the_description_but_loads_the_compiled_callbacks(monkeypatch, tmp_path):
    """The callbacks' key is the generated source, PyTensor's key of the graph and the library
    versions (no digest of bayesma's source): an edit elsewhere in bayesma costs the PyTensor
    functions (about a second), never numba's compilation."""
    ma = FAMILIES["random effects"]()
    entry, _ = ModelCache().get(ma.spec, "auto", pad=True)
    monkeypatch.setattr(mc, "cache_dir", lambda: tmp_path)  # the descriptions only; the callbacks stay in PyTensor's
    mc.compile_nutpie(entry.model, structure=entry.handles.key)  # compiled or loaded; writes the description
    assert mc.compile_nutpie(entry.model, structure=entry.handles.key).logp_func is None  # the description is used
    monkeypatch.setattr(mc, "_source_digest", lambda: "an edited bayesma")
    again = mc.compile_nutpie(entry.model, structure=entry.handles.key)
    assert again.logp_func is not None  # no description for this source: the PyTensor functions were rebuilt
    assert again.compiled_logp_func.cache_hits == 1 and again.compiled_expand_func.cache_hits == 1


def test_the_unrolled_positive_definiteness_check_agrees_with_pymcs():
    """LKJ's PosDefMatrix check (object mode in numba: uncacheable, slow) is replaced by the
    pivots of an unrolled Cholesky factorisation; both say the same on PD and indefinite matrices
    and both reject NaN (PyMC's own check, scipy's Cholesky, is the reference)."""
    import pytensor
    import pytensor.tensor as pt
    from pymc.distributions.multivariate import PosDefMatrix, matrix_pos_def, posdef
    from pytensor.graph.traversal import ancestors

    from bayesma.models._posdef import replace_posdef

    x = pt.matrix("x", shape=(3, 3))
    out = replace_posdef([matrix_pos_def(x)])[0]
    assert not any(v.owner is not None and isinstance(v.owner.op, PosDefMatrix) for v in ancestors([out]))
    check = pytensor.function([x], out, mode="FAST_COMPILE")
    rng = np.random.default_rng(5)
    cases = [np.eye(3), -np.eye(3), np.diag([1.0, 2.0, -0.5])]
    for _ in range(200):
        Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        cases.append(Q @ np.diag(rng.choice([-1.0, 1.0], 3) * rng.uniform(0.05, 2.0, 3)) @ Q.T)
    answers = [bool(check(a)) for a in cases]
    assert answers == [posdef(a) for a in cases]
    assert 0 < sum(answers) < len(answers)
    with pytest.raises(ValueError):  # PyMC's check raises on NaN (the point is rejected); ours says no
        posdef(np.full((3, 3), np.nan))
    assert not check(np.full((3, 3), np.nan))
