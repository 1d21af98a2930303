"""Everything a NUTS fit does before its sampler starts: import PyMC, build the model, compile it.

:func:`prepare` runs these steps under one elapsed-time line on stderr (:func:`bayesma._progress.elapsed`)
when the fit shows progress and its model family is not compiled in this process yet: the first
fit of a family is silent for 7-40 CPU seconds otherwise (``benchmarks/bench_compile_families.py``).
A later fit of the same structure finds the compiled model in the :class:`~bayesma.models.nuts.ModelCache`
and says nothing.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

from bayesma._progress import elapsed
from bayesma.models.build import data_values, structure_key
from bayesma.models.compile import COMPILE_MESSAGE, import_pymc
from bayesma.spec import ModelSpec

# the cache and its entries are bayesma.models.nuts's (CacheEntry, ModelCache), which imports this module
CacheEntry = ModelCache = Any
__all__ = ["NutpieCompileError", "Prepared", "prepare", "compile_entry"]

#: The last line of the indicator, by how the model was made ready.
DONE = {"loaded from disk": "loaded from the cache in {seconds:.1f} s; sampling"}


class NutpieCompileError(RuntimeError):
    """nutpie could not compile the model (neither bayesma's cached path nor nutpie's own)."""


@dataclass
class Prepared:
    """What :func:`prepare` returns: the cache entry, whether it was built and compiled now, the
    sampler that will run, the data values of the spec and, when nutpie failed and PyMC's sampler
    replaces it, why."""

    entry: CacheEntry
    built: bool
    compiled: bool
    sampler: str
    values: dict[str, Any]
    fallback: str | None = None


def _compile_nutpie(entry: CacheEntry) -> None:
    """Compile *entry*'s model for nutpie: the disk-cached callbacks of
    :func:`bayesma.models.compile.compile_nutpie`, or nutpie's own compiler when those
    cannot read the model's shared data (``entry.compile_path`` says which ran)."""
    import nutpie

    from bayesma.models.compile import compile_nutpie

    try:
        compiled = compile_nutpie(entry.model, structure=entry.handles.key)
        hits = compiled.compiled_logp_func.cache_hits + compiled.compiled_expand_func.cache_hits
        entry.nutpie_compiled, entry.compile_path = compiled, ("loaded from disk" if hits == 2 else "cached")
        return
    except (TypeError, ValueError, NotImplementedError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    try:
        entry.nutpie_compiled, entry.compile_path = nutpie.compile_pymc_model(entry.model), "nutpie"
    except Exception as exc:  # e.g. an Op without a numba implementation: sampled by PyMC instead
        raise NutpieCompileError(f"{exc} (the cached path failed first: {reason})") from exc
    warnings.warn(f"the disk-cached compile of this model failed ({reason}); compiled with nutpie's own compiler "
                  "instead (same model and posterior, but compiled again in every new process)",
                  RuntimeWarning, stacklevel=2)


def compile_entry(entry: CacheEntry, sampler: str, values: dict[str, Any], target_accept: float) -> bool:
    """Compile *entry* for *sampler* (``"nutpie"``: the nutpie model; ``"pymc"``: PyMC's NUTS
    step) unless it is compiled already; True when it compiled now.

    Raises
    ------
    NutpieCompileError
        When nutpie cannot compile the model.
    """
    with entry.lock:
        if sampler == "nutpie":
            if entry.nutpie_compiled is not None:
                return False
            t0 = time.perf_counter()
            _compile_nutpie(entry)
            entry.compiles["nutpie"] += 1
        else:
            if entry.pymc_step is not None:
                return False
            import pymc as pm

            entry.set_data(values)
            t0 = time.perf_counter()
            with entry.model:
                entry.pymc_step = pm.NUTS(target_accept=target_accept)
            entry.compiles["pymc"] += 1
        entry.compile_seconds = time.perf_counter() - t0
    return True


def _compiled(cache: ModelCache, key: tuple, sampler: str) -> bool:
    if key not in cache:
        return False
    entry = cache[key]
    return (entry.nutpie_compiled if sampler == "nutpie" else entry.pymc_step) is not None


def prepare(spec: ModelSpec, cache: ModelCache, *, parameterization: str, pad: Any, sampler: str,
            auto_sampler: bool, target_accept: float, progressbar: bool) -> Prepared:
    """Build (or fetch) the model of *spec* and compile it for *sampler*, saying so on stderr.

    With *progressbar* and a model family not compiled in this process, the line
    :data:`~bayesma.models.compile.COMPILE_MESSAGE` with the seconds elapsed is shown from
    before PyMC is imported until the sampler can start, and ends with ``compiled in 12.3 s;
    sampling`` (``loaded from the cache in 2.1 s; sampling`` when the compiled callbacks were
    on disk). When nutpie cannot compile the model and the sampler was not chosen by the user
    (*auto_sampler*), PyMC's sampler is compiled instead and :attr:`Prepared.fallback` says why.

    Raises
    ------
    RuntimeError
        When nutpie was asked for and cannot compile the model.
    """
    compiling = not _compiled(cache, structure_key(spec, parameterization, pad), sampler)
    fallback = None
    with elapsed(COMPILE_MESSAGE, progressbar and compiling, done="compiled in {seconds:.1f} s; sampling",
                 still="still compiling") as ticker:
        if compiling:
            import_pymc()
        entry, built = cache.get(spec, parameterization, pad)
        values = data_values(spec, pad)
        try:
            compiled = compile_entry(entry, sampler, values, target_accept)
        except NutpieCompileError as exc:
            if not auto_sampler:
                raise RuntimeError(f"nutpie could not compile the model: {exc}") from exc
            fallback, sampler = str(exc), "pymc"
            compiled = compile_entry(entry, sampler, values, target_accept)
        if ticker is not None and sampler == "nutpie" and entry.compile_path in DONE:
            ticker.done = DONE[entry.compile_path]
    return Prepared(entry, built, compiled, sampler, values, fallback)
