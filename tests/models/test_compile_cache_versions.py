"""A compiled-model cache written by another version of bayesma (or of its compilers) is
ignored safely: the model is compiled again and samples the same log density, never a crash.

The version change is faked by replacing ``bayesma.models.compile._versions`` (what every
cache key holds); the model descriptions go to a temporary folder (``cache_dir``), and the
log density is read through the C callback and compared with PyMC's own ``compile_logp``.
"""

from __future__ import annotations

import ctypes
import json

import numpy as np
import pytest

import bayesma as bm
from bayesma.models import compile as mc
from bayesma.models.nuts import ModelCache

pytest.importorskip("nutpie")

_DAT = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))


@pytest.fixture
def entry(tmp_path, monkeypatch):
    monkeypatch.setattr(mc, "cache_dir", lambda: tmp_path)
    ma = bm.MetaAnalysis(_DAT, priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    entry, _ = ModelCache().get(ma.spec, "auto", pad=True)
    return entry


def _logp(compiled, x: np.ndarray) -> float:
    grad, logp = np.zeros_like(x), np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    status = compiled.compiled_logp_func.ctypes(
        ctypes.c_uint64(x.size), x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr), logp.ctypes.data_as(ptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    assert status == 0
    return float(logp[0])


def _pymc_logp(model, compiled, x: np.ndarray) -> float:
    names, _, shapes = compiled.shape_info
    free = {model.rvs_to_values[v].name for v in model.free_RVs}
    point, pos = {}, 0
    for name, shape in zip(names, shapes):
        if name in free:
            size = int(np.prod(shape))
            point[name] = x[pos:pos + size].reshape(shape)
            pos += size
    return float(model.compile_logp()(point))


@pytest.mark.slow
def test_a_cache_of_another_version_is_recompiled(entry, tmp_path, monkeypatch):
    monkeypatch.setattr(mc, "_versions", lambda: "bayesma=0.0.old;numba=0.0")
    old = mc.compile_nutpie(entry.model, structure=entry.handles.key)
    (old_meta,) = tmp_path.glob("*meta*.json")
    monkeypatch.setattr(mc, "_versions", lambda: "bayesma=9.9.new;numba=9.9")
    new = mc.compile_nutpie(entry.model, structure=entry.handles.key)
    assert new.logp_func is not None  # built again from the PyMC model, not loaded from the old files
    metas = sorted(tmp_path.glob("*meta*.json"))
    assert len(metas) == 2 and old_meta in metas  # the new version keeps its own description
    assert json.loads(old_meta.read_text())["logp"][0] != json.loads(
        next(p for p in metas if p != old_meta).read_text())["logp"][0]
    x = np.random.default_rng(5).normal(0.0, 0.5, new.n_dim)
    assert _logp(new, x) == pytest.approx(_pymc_logp(entry.model, new, x), rel=1e-10)
    assert _logp(new, x) == pytest.approx(_logp(old, x), rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "older format", "callbacks not on disk"])
def test_a_foreign_model_description_is_ignored(entry, tmp_path, damage):
    mc.compile_nutpie(entry.model, structure=entry.handles.key)  # writes the description
    (meta_path,) = tmp_path.glob("*meta*.json")
    meta = json.loads(meta_path.read_text())
    if damage == "truncated":
        meta_path.write_text(meta_path.read_text()[: len(meta_path.read_text()) // 2])
    elif damage == "older format":
        del meta["free_names"], meta["shared"]
        meta_path.write_text(json.dumps(meta))
    else:
        meta["logp"][0] = meta["expand"][0] = "0" * 64
        meta_path.write_text(json.dumps(meta))
    again = mc.compile_nutpie(entry.model, structure=entry.handles.key)
    assert again.logp_func is not None  # compiled from the model, the description was not trusted
    x = np.random.default_rng(6).normal(0.0, 0.5, again.n_dim)
    assert _logp(again, x) == pytest.approx(_pymc_logp(entry.model, again, x), rel=1e-10)
    assert json.loads(meta_path.read_text())["logp"][0] != "0" * 64  # and rewritten
