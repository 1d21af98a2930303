"""Saving a posterior to netCDF and reading it back (draws, data, priors, model description)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._arviz import read_netcdf, with_groups, write_netcdf
from bayesma.data import MetaData
from bayesma.errors import InputError
from bayesma.priors import parse
from bayesma.spec import ModelSpec

from .spec_codec import decode, encode

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView

__all__ = ["META_ATTR", "meta_json", "write_posterior", "read_posterior", "pickle_state"]

META_ATTR = "bayesma"


def meta_json(post: FitView) -> str:
    """The model description of a posterior as JSON (stored in the posterior group's attrs): the whole
    specification (:mod:`bayesma.results.spec_codec`), so a dependent, multivariate, location-scale,
    bias or count model reads back as itself."""
    meta = {
        "format": 2,
        "engine": post.engine,
        "fit_seconds": post.fit_seconds,
        "fit_info": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
                     for k, v in post.fit_info.items()},
        "spec": encode(_with_moderator_columns(post.spec)),
    }
    return json.dumps(meta)


def _with_moderator_columns(spec: Any) -> Any:
    """*spec* with its data table narrowed to the moderator columns its formula names (those name the
    levels of a categorical moderator in ``level_predictions`` and the printout; the other columns are
    the user's and are not saved)."""
    import dataclasses

    from bayesma.design import formula_variables

    meta = getattr(spec, "meta", None)
    data = getattr(meta, "data", None)
    if meta is None or not isinstance(data, pd.DataFrame):
        return spec
    mods = spec.mods if getattr(spec, "is_regression", False) else None
    names = formula_variables(mods) if isinstance(mods, str) else list(mods) if isinstance(mods, (list, tuple)) else []
    keep = list(dict.fromkeys(n for n in names if isinstance(n, str) and n in data.columns))
    return dataclasses.replace(spec, meta=dataclasses.replace(meta, data=data[keep]))


def write_posterior(post: FitView, path: str) -> str:
    """Write a posterior (duck-typed: ``idata``, ``spec``, ``engine``...) to a netCDF file."""
    idata = post.idata.copy()
    idata.posterior.attrs[META_ATTR] = meta_json(post)
    groups = {g: getattr(idata, g) for g in idata.groups()}
    for g, ds in groups.items():  # netCDF attrs must be str/number/array
        for k, v in list(ds.attrs.items()):
            if isinstance(v, (bool, np.bool_)):
                ds.attrs[k] = int(v)
            elif v is None:
                ds.attrs[k] = "None"
    return write_netcdf(with_groups(groups), str(path))


def read_posterior(path: str) -> dict[str, Any]:
    """Read a file of :func:`write_posterior`: a dict with ``idata, spec, engine, fit_seconds, fit_info``
    (files of older versions also hold an exact 95% table: it is not read, the exact engine integrates again)."""
    idata = read_netcdf(str(path))
    try:
        meta = json.loads(idata.posterior.attrs[META_ATTR])
    except KeyError:
        raise InputError(f"{path} was not written by MetaPosterior.to_netcdf (no {META_ATTR!r} attribute)") from None
    spec = decode(meta["spec"]) if meta.get("format", 1) >= 2 else _spec_of_format_1(meta)
    del idata.posterior.attrs[META_ATTR]  # the description lives in the spec now
    return {"idata": idata, "spec": spec, "engine": meta["engine"],
            "fit_seconds": meta["fit_seconds"], "fit_info": dict(meta.get("fit_info") or {})}


def _spec_of_format_1(meta: dict[str, Any]) -> ModelSpec:
    """The spec of a file written before the whole specification was saved (random-effects, subgroup and
    three-level models with or without moderators: what those files could hold)."""
    k = len(meta["labels"])
    cluster = None
    if meta["cluster_index"] is not None:
        cluster = np.asarray(meta["cluster_names"], dtype=object)[np.asarray(meta["cluster_index"])].astype(str)
    md = MetaData(yi=np.asarray(meta["yi"], dtype=float), vi=np.asarray(meta["vi"], dtype=float),
                  labels=list(meta["labels"]), data=pd.DataFrame(index=range(k)), cluster=cluster)
    priors = {}
    for key, text in meta["priors"].items():
        prior = parse(text)
        label = meta.get("prior_labels", {}).get(key)
        if label:
            prior.label = label
        priors[key] = prior
    mods = meta["mods"]
    spec = ModelSpec(
        meta=md, X=np.asarray(meta["X"], dtype=float).reshape(k, -1), coef_names=list(meta["coef_names"]),
        model=meta["model"], likelihood=meta["likelihood"], priors=priors, mods=mods,
        tau_by=meta["tau_by"],
        group_index=None if meta["group_index"] is None else np.asarray(meta["group_index"], dtype=int),
        group_names=list(meta["group_names"]),
        cluster_index=None if meta["cluster_index"] is None else np.asarray(meta["cluster_index"], dtype=int),
        cluster_names=list(meta["cluster_names"]), measure=meta["measure"],
    )
    return spec


def pickle_state(state: dict[str, Any]) -> dict[str, Any]:
    """A posterior's ``__dict__`` without what cannot be pickled: the compiled NUTS model kept for fast
    refits (``_cache_entry``) and fit information (``_fit_info``) that is not plain data."""
    import pickle

    def ok(value: Any) -> bool:
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError):  # what pickle raises for an unpicklable value
            return False
        return True

    out = dict(state)
    out.pop("_cache_entry", None)
    out["_fit_info"] = {k: v for k, v in out.get("_fit_info", {}).items() if ok(v)}
    return out
