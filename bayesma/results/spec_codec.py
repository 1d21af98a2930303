"""A model specification as JSON and back, whole: every field of every kind of spec.

A saved posterior must describe the model it was fitted with — a CHE model with its sampling
correlation, a multivariate model with its outcomes, a location-scale model with its scale design,
a selection model with its weight function, a binomial-normal model with its counts — or a file read
back would describe (and the exact engine would integrate again) another model. The spec is a tree of
dataclasses from bayesma (``ModelSpec`` and its subclasses, ``MetaData``, ``Dependence``,
``Counts``, the bias components) holding numbers, strings, arrays and priors; :func:`encode` writes
every ``init`` field of each, :func:`decode` rebuilds them. Only dataclasses of bayesma's own modules
are rebuilt (a file cannot name any other class), priors are rebuilt from their arguments,
and the data table is kept as its row index and the columns its moderators name (the model needs the
arrays; the moderators' values name the levels of a categorical moderator).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any

import numpy as np
import pandas as pd

from bayesma.errors import InputError

__all__ = ["encode", "decode"]

_TAG = "__bayesma__"


def encode(obj: Any) -> Any:
    """*obj* as plain JSON values (dicts tagged with the kind of each object that JSON lacks).

    Raises
    ------
    TypeError
        A value of a kind the codec does not know (a new spec field must be added here).
    """
    if obj is None or isinstance(obj, (bool, str, int)) and not isinstance(obj, np.bool_):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {_TAG: "float", "v": repr(obj)}
    if isinstance(obj, np.generic):
        return encode(obj.item())
    if isinstance(obj, np.ndarray):
        kind = obj.dtype.str if obj.dtype.kind in "US" else str(obj.dtype)
        return {_TAG: "ndarray", "dtype": kind, "shape": list(obj.shape),
                "v": [encode(v) for v in obj.ravel().tolist()]}
    if isinstance(obj, (list, tuple)):
        items = [encode(v) for v in obj]
        return items if isinstance(obj, list) else {_TAG: "tuple", "v": items}
    if isinstance(obj, dict):
        return {_TAG: "dict", "v": [[encode(k), encode(v)] for k, v in obj.items()]}
    if isinstance(obj, pd.Index):
        return {_TAG: "index", "v": [encode(v) for v in obj.tolist()]}
    if isinstance(obj, pd.DataFrame):  # the rows, and the columns the caller kept (io.py: the moderators)
        return {_TAG: "frame", "index": encode(obj.index), "columns": _columns(obj)}
    if _is_prior(obj):
        cls = type(obj)
        return {_TAG: "prior", "class": f"{cls.__module__}:{cls.__qualname__}", "args": encode(_prior_args(obj)),
                "repr": repr(obj), "label": getattr(obj, "label", None)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        fields = {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        return {_TAG: "dataclass", "class": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    raise TypeError(f"cannot save a {type(obj).__name__} of the model specification: {obj!r:.80}")


def _columns(frame: pd.DataFrame) -> list[list[Any]]:
    """The columns of *frame* as ``[name, values]`` pairs; a column of values JSON cannot hold (dates,
    objects) is left out: the model needs the arrays, the columns only name things."""
    out = []
    for name in frame.columns:
        try:
            out.append([encode(name), [encode(v) for v in frame[name].tolist()]])
        except TypeError:
            continue
    return out


def decode(obj: Any) -> Any:
    """The objects :func:`encode` wrote.

    Raises
    ------
    bayesma.errors.InputError
        The file names a class outside bayesma, or a kind this version does not know.
    """
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    kind = obj.get(_TAG)
    if kind == "float":
        return float(obj["v"])
    if kind == "ndarray":
        values = [decode(v) for v in obj["v"]]
        arr = np.empty(len(values), dtype=np.dtype(obj["dtype"]))
        arr[:] = values
        return arr.reshape(obj["shape"])
    if kind == "tuple":
        return tuple(decode(v) for v in obj["v"])
    if kind == "dict":
        return {_hashable(decode(k)): decode(v) for k, v in obj["v"]}
    if kind == "index":
        return pd.Index([decode(v) for v in obj["v"]])
    if kind == "frame":
        frame = pd.DataFrame(index=decode(obj["index"]))
        for name, values in obj.get("columns", []):  # files before the moderator columns were kept: none
            frame[decode(name)] = [decode(v) for v in values]
        return frame
    if kind == "prior":
        prior = _bayesma_class(obj["class"], _is_prior_class)(**decode(obj["args"]))
        if repr(prior) != obj["repr"]:
            raise InputError(f"the saved prior {obj['repr']} reads back as {prior!r} in this version of bayesma")
        if obj.get("label"):
            prior.label = obj["label"]
        return prior
    if kind == "dataclass":
        cls = _bayesma_class(obj["class"], dataclasses.is_dataclass)
        return cls(**{name: decode(v) for name, v in obj["fields"].items()})
    raise InputError(f"the saved model specification holds {kind!r}, which this version of bayesma cannot read")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _is_prior(obj: Any) -> bool:
    from bayesma.priors.base import Prior

    return isinstance(obj, Prior)


def _is_prior_class(cls: type) -> bool:
    from bayesma.priors.base import Prior

    return issubclass(cls, Prior)


def _prior_args(prior: Any) -> dict[str, Any]:
    """The arguments that build *prior* again: its parameters (``Normal(mu=0, sigma=1)``) or, for a prior
    built from data (``Jeffreys(vi)``), the data it keeps."""
    import inspect

    out = {}
    for name in list(inspect.signature(type(prior).__init__).parameters)[1:]:
        if name in prior._params:
            out[name] = prior._params[name]
        elif hasattr(prior, f"_{name}"):
            out[name] = getattr(prior, f"_{name}")
        else:
            raise TypeError(f"cannot save the prior {prior!r}: its argument {name!r} is not kept")
    return out


def _bayesma_class(name: str, kind: Any) -> type:
    module, _, qualname = name.partition(":")
    if module != "bayesma" and not module.startswith("bayesma."):
        raise InputError(f"the saved model specification names the class {name!r}, outside bayesma: not read")
    try:
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError):
        raise InputError(f"the saved model specification names {name!r}, which this version of bayesma does not "
                         "have (saved by another version?)") from None
    if not (isinstance(cls, type) and kind(cls)):
        raise InputError(f"the saved model specification names {name!r}, which is not a class it can rebuild")
    return cls
