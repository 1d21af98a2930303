"""Compile a PyMC model for nutpie with every compiled piece cached on disk.

nutpie samples a PyMC model through two C callbacks (the log density with its
gradient, and the "expand" function that computes the deterministics of a draw).
``nutpie.compile_pymc_model`` builds them with ``numba.cfunc`` around closures,
which numba cannot cache, so every new process recompiles them (about 10 s of a
first fit on a 2-core machine). :func:`compile_nutpie` builds the same two
callbacks from generated source instead: their only globals are the PyTensor
functions (already cached by PyTensor), a pointer helper and numpy, and the source
is registered with PyTensor's numba cache under a key made of the PyTensor graph's
own cache key, the source itself and :data:`CACHE_TAG`. A second process that fits
the same model family loads the machine code from disk.

The log density, its gradient, the initial point and the order of the parameters
are those of ``nutpie.compile_pymc_model`` (same PyTensor graph and rewrites), so a
given seed gives the same draws through either path.

Where the cache lives: PyTensor's numba cache, ``<pytensor.config.base_compiledir>/numba``
(files ``string.bayesma_nutpie_*``); :func:`cache_dir` returns it and
:func:`clear_cache` deletes bayesma's files there (``bayesma warmup --clear``). A file
written by another version of bayesma, numba, PyTensor or Python has another name or
is rejected by numba's own version stamp, and is recompiled.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError

__all__ = ["CACHE_TAG", "COMPILE_MESSAGE", "cache_dir", "cache_key", "cache_files", "clear_cache", "compile_nutpie",
           "import_pymc", "show_progress"]

#: Changes whenever the generated callbacks change; part of every cache key.
CACHE_TAG = "bayesma-nutpie-cfunc-2"
_PREFIX = "bayesma_nutpie"


#: What a fit says (on stderr, when it shows progress) before it builds and compiles a model.
COMPILE_MESSAGE = "compiling the model (once per model family; cached for later runs)"


def show_progress(progressbar: bool | None) -> bool:
    """Whether a fit shows progress: *progressbar*, or when ``None`` whether stderr is a
    terminal or the code runs in a Jupyter kernel."""
    if progressbar is not None:
        return bool(progressbar)
    import sys

    from bayesma._progress import live_stream

    return live_stream(sys.stderr)


def import_pymc() -> Any:
    """Import PyMC (once per process), without IPython when the process does not run in IPython.

    PyMC imports IPython, when installed, only to register its pretty-printers with IPython's
    shell; in a script that is a quarter of a CPU second of every first fit spent for nothing.
    In Jupyter or IPython (already imported) nothing changes.
    """
    import sys

    if "pymc" in sys.modules:
        return sys.modules["pymc"]
    block = "IPython" not in sys.modules
    if block:
        sys.modules["IPython"] = None  # type: ignore[assignment]  # PyMC catches the ImportError
    try:
        import pymc
    finally:
        if block and "IPython" in sys.modules and sys.modules["IPython"] is None:
            del sys.modules["IPython"]
    return pymc


def _versions() -> str:
    names = ("bayesma", "nutpie", "numba", "pytensor", "pymc", "numpy")
    out = []
    for name in names:
        try:
            out.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - editable installs
            out.append(f"{name}=?")
    return ";".join(out)


def cache_key(inner_key: str, source: str) -> str:
    """The numba cache key of a generated callback: :data:`CACHE_TAG`, the versions of
    bayesma and of the compiling libraries, PyTensor's key of the wrapped function and
    the callback's source. A cache written by another version has another key."""
    return hashlib.sha256(f"{CACHE_TAG}|{_versions()}|{inner_key}|{source}".encode()).hexdigest()


def cache_dir() -> Path:
    """The directory of PyTensor's numba cache, where the compiled callbacks are kept.

    Returns
    -------
    pathlib.Path
        ``<pytensor.config.base_compiledir>/numba`` (set ``PYTENSOR_FLAGS=base_compiledir=...``
        to move it).

    Examples
    --------
    >>> cache_dir().name
    'numba'
    """
    from pytensor.configdefaults import config

    return Path(config.base_compiledir) / "numba"


def cache_files() -> list[Path]:
    """bayesma's compiled callbacks in :func:`cache_dir` (index and data files)."""
    folder = cache_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _PREFIX in p.name)


def clear_cache() -> int:
    """Delete bayesma's compiled callbacks from the cache; returns how many files went.

    PyTensor's own cached functions stay (``pytensor-cache clear`` removes those).
    """
    files = cache_files()
    for path in files:
        path.unlink(missing_ok=True)
    return len(files)


# ---------------------------------------------------------------------------
# PyTensor functions: log density + gradient, and the expanded draw
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Functions:
    n_dim: int
    logp: Any  # pytensor Function (numba mode): x -> (logp, grad)
    expand: Any  # pytensor Function: x -> tuple of arrays (free values, then the rest)
    names: list[str]
    shapes: list[tuple[int, ...]]
    free_names: list[str]
    initial_point: Any


def _shapes(model, names: list[str]) -> dict[str, tuple[int, ...]]:
    """Shapes of the value variables, transformed variables and deterministics *names*."""
    import pytensor

    point = model.initial_point()
    named = {v.name: v for v in model.value_vars + model.free_RVs + model.deterministics}
    givens = [(obs, model.rvs_to_values[obs]) for obs in model.observed_RVs]
    givens += [(named[n], pytensor.shared(np.asarray(point[n]))) for n in point if n in named]
    fn = pytensor.function([], [named[n].shape for n in names], givens=givens, mode="FAST_COMPILE",
                           on_unused_input="ignore")
    return {n: tuple(int(d) for d in s) for n, s in zip(names, fn())}


def _functions(model) -> _Functions:
    """The PyTensor functions nutpie needs, in nutpie's variable order (``compile_pymc_model``)."""
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as compile_pymc

    free_names = [model.rvs_to_values[v].name for v in model.free_RVs]
    rest = [v for v in model.unobserved_value_vars if v.name not in free_names]
    shapes = _shapes(model, free_names + [v.name for v in rest])
    sizes = [prod(shapes[n]) for n in free_names]
    n_dim = int(sum(sizes))

    from bayesma.models._posdef import replace_posdef

    logp = replace_posdef([model.logp()])[0]  # LKJ's check without an object-mode Op (_posdef.py)
    rewrites = ["canonicalize", "stabilize"] + ([] if model.check_bounds else ["local_remove_check_parameter"])
    logp = pytensor.graph.rewrite_graph(logp, include=rewrites)
    values = [model.rvs_to_values[v] for v in model.free_RVs]
    grad = pt.concatenate([pt.as_tensor(g).ravel() for g in pytensor.gradient.grad(logp, values)])

    x = pt.TensorType("float64", shape=(n_dim,))(name="_unconstrained_point")
    starts = np.r_[0, np.cumsum(sizes)].astype(int)
    replace = {
        model.rvs_to_values[v]: x[(slice(int(a), int(b)),)].reshape(shapes[n]).astype(v.dtype)
        for v, n, a, b in zip(model.free_RVs, free_names, starts[:-1], starts[1:])
    }
    logp, grad = pytensor.clone_replace([logp, grad], replace)
    with model:
        logp_fn = compile_pymc((x,), (logp, grad), mode="NUMBA")
        expand_fn = compile_pymc((x,), [x[(slice(int(a), int(b)),)] for a, b in zip(starts[:-1], starts[1:])]
                                 + list(rest), givens=list(replace.items()), mode="NUMBA")
    names = free_names + [v.name for v in rest]
    return _Functions(n_dim, logp_fn, expand_fn, names, [tuple(shapes[n]) for n in names], free_names,
                      _initial_point_fn(model))


def _initial_point_fn(model):
    """PyMC's initial points as nutpie's compiler makes them: support points, jittered."""
    from pymc.initial_point import make_initial_point_fn

    return make_initial_point_fn(model=model, default_strategy="support_point", jitter_rvs=set(model.free_RVs),
                                 return_transformed=True)


# ---------------------------------------------------------------------------
# the generated C callbacks
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Shared:
    """Layout of the shared data in the uint64 ``user_data`` array: per variable its
    address, then its shape."""

    names: list[str]
    ndims: list[int]
    dtypes: list[str]
    offsets: list[int]
    length: int

    @classmethod
    def of(cls, data: dict[str, np.ndarray]) -> _Shared:
        names, ndims, dtypes, offsets, pos = [], [], [], [], 0
        for name, value in data.items():
            names.append(name)
            ndims.append(value.ndim)
            dtypes.append(value.dtype.name)
            offsets.append(pos)
            pos += 1 + value.ndim
        return cls(names, ndims, dtypes, offsets, pos)

    def pack(self, data: dict[str, np.ndarray]) -> np.ndarray:
        out = np.zeros(max(self.length, 1), dtype=np.uint64)
        for name, off, ndim in zip(self.names, self.offsets, self.ndims):
            value = data[name]
            out[off] = value.ctypes.data
            out[off + 1:off + 1 + ndim] = value.shape
        return out

    def views(self, names: list[str]) -> tuple[list[str], list[str]]:
        """Source lines binding ``s0, s1, ...`` to the shared arrays *names*, and their names."""
        lines, args = [], []
        for j, name in enumerate(names):
            i = self.names.index(name)
            off, ndim = self.offsets[i], self.ndims[i]
            shape = "(" + "".join(f"int(u[{off + 1 + d}]), " for d in range(ndim)) + ")"
            lines.append(f"s{j} = carray(as_pointer(u[{off}]), {shape}, np.{self.dtypes[i]})")
            args.append(f"s{j}")
        return lines, args


# Each callback is a numba.cfunc whose only statement that can raise is one call of its body
# (a plain njit function): numba's try/except splits every call inside a ``try`` into its own
# blocks, and its liveness analysis is quadratic in the blocks, so a body written inside the
# ``try`` cost 10-30 CPU seconds to compile (benchmarks/bench_compile_families.py).
_LOGP = """
def {name}_body(x_, out_, logp_, user_data_):
    u = carray(user_data_, ({length},), np.uint64)
    {views}
    x = carray(x_, ({n_dim},))
    out = carray(out_, ({n_dim},))
    logp = carray(logp_, (1,))
    value, grad = inner(x, {args})
    logp[0] = value
    flat = np.ravel(grad)
    for i in range({n_dim}):
        out[i] = flat[i]
    if not np.all(np.isfinite(out)):
        return 3
    if not np.isfinite(value):
        return 4
    return 0


def {name}(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        return {name}_body(x_, out_, logp_, user_data_)
    except Exception:
        return 1
"""

_EXPAND = """
def {name}_body(x_, out_, user_data_):
    u = carray(user_data_, ({length},), np.uint64)
    {views}
    x = carray(x_, ({n_dim},))
    out = carray(out_, ({n_expanded},))
    values = inner(x, {args})
    {writes}
    return 0


def {name}(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim} or expanded != {n_expanded}:
        return -1
    try:
        return {name}_body(x_, out_, user_data_)
    except Exception:
        return -2
"""


def _inner_key(fn) -> str | None:
    """PyTensor's numba cache key of a compiled function (None when it is not cacheable)."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    jit = fn.vm.jit_fn
    return CACHED_SRC_FUNCTIONS.get(getattr(jit, "py_func", None))


_SIG_ARGS = {"logp": ("uint64", "p", "p", "p", "void"), "expand": ("uint64", "uint64", "p", "p", "void")}


def _numba_cfunc(kind: str, name: str, src: str, key: str | None, inner: Any):
    """Compile (or, with *key*, load from disk) the callback *name* defined by *src*. *inner*
    (the PyTensor function it calls) may be None when the machine code is only loaded."""
    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    from bayesma.models._pointer import as_pointer

    types = numba.types
    arg = {"uint64": types.uint64, "p": types.CPointer(types.double), "void": types.voidptr}
    sig = types.int64(*[arg[a] for a in _SIG_ARGS[kind]])
    # __name__: numba rebuilds a cached function's environment by importing that module
    env = {"__name__": __name__, "carray": numba.carray, "np": np, "as_pointer": as_pointer}
    if inner is not None:
        env["inner"] = inner
    local: dict[str, Any] = {}
    py = compile_numba_function_src(src, name, global_env=env, local_env=local, cache_key=key)
    # the body: compiled into the callback's library (and cached with it), never called from Python
    env[f"{name}_body"] = numba.njit(no_cpython_wrapper=True, no_cfunc_wrapper=True)(local[f"{name}_body"])
    if key is None:
        return numba.cfunc(sig)(py)
    from bayesma.models._numba_cache import cached_cfunc

    return cached_cfunc(py, sig)


def _cfunc(template: str, kind: str, fn, shared: _Shared, fields: dict[str, Any]):
    """A ``numba.cfunc`` from *template* around the PyTensor function *fn*, disk-cached;
    returns it, its cache key (None: not cacheable) and its source."""
    names = [v.name for v in fn.get_shared()]
    lines, args = shared.views(names)
    indent = "\n    "
    fields = dict(fields, views=indent.join(lines) or "pass", args=", ".join(args), length=max(shared.length, 1))
    src = template.format(name="NAME", **fields)
    inner_key = _inner_key(fn)
    key = None if inner_key is None else cache_key(inner_key, src)
    name = f"{_PREFIX}_{kind}"
    src = src.replace("NAME", name)
    return _numba_cfunc(kind, name, src, key, fn.vm.jit_fn), key, src


def _expand_writes(sizes: list[int]) -> str:
    lines, pos = [], 0
    for j, size in enumerate(sizes):  # element-wise copies: a slice assignment compiles its error message
        lines += [f"v{j} = np.ravel(values[{j}])", f"for i in range({size}):", f"    out[{pos} + i] = v{j}[i]"]
        pos += size
    return "\n    ".join(lines) or "pass"


def _shared_data(fns) -> dict[str, np.ndarray]:
    data: dict[str, np.ndarray] = {}
    for fn in fns:
        for var in fn.get_shared():
            value = np.array(var.get_value(), order="C", copy=True)
            if value.dtype.kind not in "fiub":
                raise ArgumentTypeError(f"shared variable {var.name} of type {value.dtype} cannot be passed to nutpie")
            if var.name in data and data[var.name].shape != value.shape:
                raise InputError(f"two shared variables named {var.name}")
            data[var.name] = value
    return data


def compile_nutpie(model, structure: tuple | None = None) -> Any:
    """A nutpie model of the PyMC *model* whose compiled callbacks are cached on disk.

    Parameters
    ----------
    model : pymc.Model
    structure : tuple, optional
        What determines the model completely (bayesma's
        :func:`~bayesma.models.build.structure_key` of the spec it was built from). With it, a
        process that finds this structure's callbacks on disk loads them without rebuilding
        the PyTensor functions (the key also holds the versions and a digest of bayesma's
        source, so an edited model builder never meets an old callback).

    Returns
    -------
    nutpie CompiledModel
        Sampled with ``nutpie.sample``; ``with_data(**values)`` swaps the ``pm.Data`` values
        (same shapes) without compiling.

    Raises
    ------
    TypeError, ValueError
        When the model has shared variables the callbacks cannot read (e.g. random
        generators); :mod:`bayesma.models.nuts` then uses ``nutpie.compile_pymc_model``.

    Examples
    --------
    >>> import pymc as pm
    >>> with pm.Model() as model:
    ...     mu = pm.Normal("mu")
    >>> compiled = compile_nutpie(model)      # loaded from the disk cache after the first time
    >>> compiled.n_dim
    1
    """
    import warnings

    from numba.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        # PyTensor's generated code calls np.dot on views; the sampler's speed is measured
        # (benchmarks/bench_cold_start.py), the notice helps no user
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        meta_path = None if structure is None else cache_dir() / f"{_PREFIX}_meta-{_structure_digest(structure, model)}.json"
        if meta_path is not None and meta_path.is_file():
            loaded = _from_meta(model, meta_path)
            if loaded is not None:
                return loaded
        return _compile(model, meta_path)


def _compile(model, meta_path: Path | None = None) -> Any:
    fns = _functions(model)
    data = _shared_data([fns.logp, fns.expand])
    shared = _Shared.of(data)
    sizes = [prod(s) for s in fns.shapes]
    n_expanded = int(sum(sizes))
    logp, logp_key, logp_src = _cfunc(_LOGP, "logp", fns.logp, shared, {"n_dim": fns.n_dim})
    expand, expand_key, expand_src = _cfunc(_EXPAND, "expand", fns.expand, shared, {
        "n_dim": fns.n_dim, "n_expanded": n_expanded, "writes": _expand_writes(sizes)})
    if meta_path is not None and logp_key is not None and expand_key is not None:
        meta = {"n_dim": fns.n_dim, "names": fns.names, "shapes": [list(x) for x in fns.shapes],
                "free_names": fns.free_names, "shared": [[n, d, t] for n, d, t in zip(shared.names, shared.ndims,
                                                                                     shared.dtypes)],
                "logp": [logp_key, logp_src], "expand": [expand_key, expand_src]}
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = meta_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, meta_path)  # atomic: concurrent processes never read half a file
    return _assemble(model, fns, data, shared, logp, expand, n_expanded)


def _assemble(model, fns: _Functions, data, shared: _Shared, logp, expand, n_expanded: int) -> Any:
    return _model_class()(
        dims=dict(model.named_vars_to_dims),
        _coords=_coords(model, fns),
        _n_dim=fns.n_dim,
        _shapes=dict(zip(fns.names, fns.shapes)),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=_flat_initial_point(fns),
        shared_data=data,
        user_data=shared.pack(data),
        n_expanded=n_expanded,
        shape_info=(fns.names, None, fns.shapes),
        logp_func=fns.logp,
        expand_func=fns.expand,
        layout=shared,
    )


def _from_meta(model, meta_path: Path) -> Any | None:
    """The compiled model from the callbacks on disk, described by *meta_path*; None when they
    are not there (or do not fit this model): the caller compiles."""
    from numba.core.errors import NumbaError

    try:
        meta = json.loads(meta_path.read_text())
        values = {v.name: v for v in model.data_vars}
        data = {name: np.array(values[name].get_value(), order="C", copy=True) for name, _, _ in meta["shared"]}
    except (OSError, ValueError, KeyError):
        return None
    shared = _Shared.of(data)
    if [[n, d, t] for n, d, t in zip(shared.names, shared.ndims, shared.dtypes)] != meta["shared"]:
        return None
    try:  # with no PyTensor function to call, a callback that is not on disk fails to type: compile then
        logp = _numba_cfunc("logp", f"{_PREFIX}_logp", meta["logp"][1], meta["logp"][0], None)
        expand = _numba_cfunc("expand", f"{_PREFIX}_expand", meta["expand"][1], meta["expand"][0], None)
    except (NumbaError, NameError):
        return None
    if not (logp.cache_hits and expand.cache_hits):
        return None
    shapes = [tuple(x) for x in meta["shapes"]]
    fns = _Functions(meta["n_dim"], None, None, meta["names"], shapes, meta["free_names"], _initial_point_fn(model))
    return _assemble(model, fns, data, shared, logp, expand, int(sum(prod(x) for x in shapes)))


@functools.cache
def _source_digest() -> str:
    """A digest of bayesma's Python source: an edited model builder changes every structure's key."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _structure_digest(structure: tuple, model) -> str:
    """Key of a model's description on disk: the structure, versions, bayesma's source and, as a
    guard against a structure key that misses something, the model's variables, data shapes
    and dimension lengths."""
    data = sorted((v.name, tuple(np.shape(v.get_value())), str(v.dtype)) for v in model.data_vars)
    lengths = {name: (len(vals) if vals is not None else None) for name, vals in model.coords.items()}
    dims = sorted((name, tuple(d)) for name, d in model.named_vars_to_dims.items())
    print_ = f"{sorted(model.named_vars)}|{data}|{sorted(lengths.items())}|{dims}"
    return hashlib.sha256(f"{CACHE_TAG}|{_versions()}|{_source_digest()}|{structure!r}|{print_}".encode()).hexdigest()


def _coords(model, fns: _Functions) -> dict[str, Any]:
    import pandas as pd

    coords = {name: pd.Index(vals if vals is not None else range(int(model.dim_lengths[name].eval())))
              for name, vals in model.coords.items()}
    labels = []
    for name, shape in zip(fns.free_names, fns.shapes):
        labels += [name] if not shape else [f"{name}_{'.'.join(map(str, i))}" for i in np.ndindex(*shape)]
    coords["unconstrained_parameter"] = pd.Index(labels)
    return coords


def _flat_initial_point(fns: _Functions):
    import threading

    lock = threading.Lock()

    def point(seed):
        with lock:
            values = fns.initial_point(seed)
        flat = np.concatenate([np.asarray(values[n], dtype="float64").ravel() for n in fns.free_names])
        if flat.size != fns.n_dim:
            raise ValueError(f"the initial point has {flat.size} values, the compiled model {fns.n_dim}")
        return flat

    return point


_MODEL_CLASS: Any = None


def _model_class():
    """nutpie's compiled-PyMC-model class with ``with_data`` for bayesma's user-data layout."""
    global _MODEL_CLASS
    if _MODEL_CLASS is None:
        from nutpie.compile_pymc import CompiledPyMCModel

        @dataclasses.dataclass(frozen=True)
        class CachedNutpieModel(CompiledPyMCModel):
            layout: Any = None

            def with_data(self, **updates):
                data = dict(self.shared_data)
                for name, value in updates.items():
                    if name not in data:
                        raise KeyError(f"unknown shared variable: {name}")
                    new = np.array(value, dtype=data[name].dtype, order="C", copy=True)
                    if new.ndim != data[name].ndim:
                        raise InputError(f"{name} must have {data[name].ndim} dimensions, got {new.ndim}")
                    new.flags.writeable = False
                    data[name] = new
                return dataclasses.replace(self, shared_data=data, user_data=self.layout.pack(data))

        _MODEL_CLASS = CachedNutpieModel
    return _MODEL_CLASS
