"""The one place bayesma talks to ArviZ (0.x, ``InferenceData``).

Everything bayesma needs from ArviZ goes through these functions: building an
InferenceData from dicts of draws, copying one with some groups, R-hat / ESS,
the kernel density estimate and trace plot of the plots, and netCDF read/write.
Moving to ArviZ 1.x (``DataTree``, which PyMC 6 uses) changes this file only.
ArviZ is imported inside the functions, so ``import bayesma`` stays cheap.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

__all__ = ["InferenceData", "LazyDraws", "with_lazy_groups", "from_draws", "dataset", "with_groups", "add_groups", "group_names", "rhat_ess", "kde",
           "plot_trace", "plot_forest", "write_netcdf", "read_netcdf", "with_log_likelihood", "loo", "waic",
           "loo_reff", "chunked_ic", "compare"]

if TYPE_CHECKING:  # pragma: no cover
    from arviz import InferenceData
else:
    InferenceData = Any  # the type of ``idata`` in annotations, without importing ArviZ


def _netcdf_engine() -> str | None:
    return "h5netcdf" if importlib.util.find_spec("h5netcdf") is not None else None


def from_draws(
    posterior: Mapping[str, np.ndarray],
    *,
    coords: Mapping[str, Sequence[Any]] | None = None,
    dims: Mapping[str, Sequence[str]] | None = None,
    observed_data: Mapping[str, np.ndarray] | None = None,
    constant_data: Mapping[str, np.ndarray] | None = None,
) -> Any:
    """InferenceData from draws of shape ``(chain, draw, ...)`` per variable.

    Parameters
    ----------
    posterior : dict of str to array
        Draws, shape ``(chains, draws, *dims)``.
    coords, dims : dict, optional
        Coordinates and the dims of each variable (as :func:`arviz.from_dict`).
    observed_data, constant_data : dict, optional
        Extra groups.

    Returns
    -------
    arviz.InferenceData
    """
    import arviz as az

    return az.from_dict(posterior=dict(posterior), observed_data=observed_data, constant_data=constant_data,
                        coords=dict(coords or {}), dims=dict(dims or {}))


def _xr_dataset(values: Mapping[str, np.ndarray], coords: Mapping[str, Any], dims: Mapping[str, Sequence[str]],
                sampled: bool) -> Any:
    """An xarray Dataset in ArviZ's layout (``chain``, ``draw`` as integer coordinates), built with xarray
    alone: ArviZ's import (2-3 s in a fresh process, most of it numba compiling ECDF helpers) is
    not paid by fits that never need an InferenceData."""
    import xarray as xr

    variables = {}
    used: dict[str, Any] = {}
    for name, arr in values.items():
        arr = np.asarray(arr)
        lead = ["chain", "draw"] if sampled else []
        extra = list(dims.get(name, []))
        extra += [f"{name}_dim_{i}" for i in range(arr.ndim - len(lead) - len(extra))]
        variables[name] = (lead + extra, arr)
        for i, d in enumerate(lead + extra):
            if d in ("chain", "draw"):
                used[d] = np.arange(arr.shape[i])
            elif d in coords:
                used[d] = np.asarray(coords[d])
    return xr.Dataset(variables, coords=used)


class LazyDraws:
    """Posterior draws whose InferenceData is built only when asked for.

    ``.posterior`` is the ``posterior`` group as an xarray Dataset (built at once, without ArviZ);
    ``.idata`` builds the :class:`arviz.InferenceData` around the same Dataset on first use. Engines
    whose numbers do not come from the draws (the exact engine) return these, so a first fit in a
    fresh process does not import ArviZ.
    """

    def __init__(self, posterior: Mapping[str, np.ndarray], *, coords: Mapping[str, Sequence[Any]] | None = None,
                 dims: Mapping[str, Sequence[str]] | None = None,
                 observed_data: Mapping[str, np.ndarray] | None = None,
                 constant_data: Mapping[str, np.ndarray] | None = None) -> None:
        coords = dict(coords or {})
        dims = dict(dims or {})
        self.posterior = _xr_dataset(posterior, coords, dims, sampled=True)
        self._groups = {name: dict(vals) for name, vals in (("observed_data", observed_data),
                                                             ("constant_data", constant_data)) if vals}
        self._coords, self._dims = coords, dims
        self._idata: Any = None

    @property
    def idata(self) -> Any:
        """The :class:`arviz.InferenceData` (built once; its ``posterior`` is :attr:`posterior`)."""
        if self._idata is None:
            import arviz as az

            groups = {name: _xr_dataset(vals, self._coords, self._dims, sampled=False)
                      for name, vals in self._groups.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # ArviZ: groups without chain/draw
                self._idata = az.InferenceData(posterior=self.posterior, **groups)
        return self._idata


def dataset(values: Mapping[str, np.ndarray], *, coords: Mapping | None = None, dims: Mapping | None = None) -> Any:
    """An xarray Dataset of draws ``(chain, draw, ...)`` for one group (prior, prior predictive)."""
    import arviz as az

    return az.dict_to_dataset(dict(values), coords=coords, dims=dims, library=None, attrs={})


#: What a lazily completed InferenceData answers without making its missing groups.
_PRESENT = frozenset({"posterior", "sample_stats", "observed_data", "constant_data", "__class__", "__dict__",
                      "_bayesma_lazy", "_bayesma_complete"})
_LAZY_CLASS: Any = None


def _lazy_class() -> Any:
    """A subclass of ``arviz.InferenceData`` that makes its missing groups on first use, then
    turns back into a plain InferenceData (so it pickles, copies and saves as one)."""
    global _LAZY_CLASS
    if _LAZY_CLASS is not None:
        return _LAZY_CLASS
    import arviz as az

    base = az.InferenceData

    class LazyGroupsInferenceData(base):  # type: ignore[misc,valid-type]
        def __getattribute__(self, name: str) -> Any:
            if name not in _PRESENT:
                object.__getattribute__(self, "_bayesma_complete")()
            return object.__getattribute__(self, name)

        def _bayesma_complete(self) -> None:
            lazy = vars(self).get("_bayesma_lazy")
            if lazy is None:
                return
            make, lock = lazy
            with lock:
                if vars(self).get("_bayesma_lazy") is None:  # completed by another thread meanwhile
                    return
                object.__setattr__(self, "__class__", base)
                try:
                    groups = dict(make())
                    if groups:
                        base.add_groups(self, **groups)
                except BaseException:
                    object.__setattr__(self, "__class__", LazyGroupsInferenceData)
                    raise
                vars(self).pop("_bayesma_lazy", None)

    def forward(name: str) -> Any:
        def method(self, *args: Any, **kwargs: Any) -> Any:
            object.__getattribute__(self, "_bayesma_complete")()
            return getattr(base, name)(self, *args, **kwargs)

        method.__name__ = name
        return method

    # operators and protocols are looked up on the type, not through __getattribute__
    for name in ("__len__", "__iter__", "__contains__", "__getitem__", "__setitem__", "__delitem__", "__delattr__",
                 "__repr__", "__add__", "__eq__", "__ne__", "__deepcopy__", "__copy__"):
        if hasattr(base, name):
            setattr(LazyGroupsInferenceData, name, forward(name))
    _LAZY_CLASS = LazyGroupsInferenceData
    return _LAZY_CLASS


def with_lazy_groups(idata: Any, make: Any) -> Any:
    """*idata* (in place) completed by the groups ``make()`` returns (name -> xarray Dataset) on
    first use: reading ``posterior``, ``sample_stats``, ``observed_data`` or ``constant_data``
    leaves them unmade; anything else (another group, ``groups()``, ``in``, saving, pickling,
    printing) makes them first, once (thread-safe). Used for prior draws, which most fits never read."""
    import threading

    cls = _lazy_class()
    vars(idata)["_bayesma_lazy"] = (make, threading.RLock())
    object.__setattr__(idata, "__class__", cls)
    return idata


def with_groups(groups: Mapping[str, Any]) -> Any:
    """A new InferenceData holding *groups* (name -> xarray Dataset)."""
    import arviz as az

    return az.InferenceData(**dict(groups))


def add_groups(idata: Any, **groups: Any) -> None:
    """Add groups (name -> xarray Dataset) to *idata* in place, after the ones it has."""
    idata.add_groups(**groups)


def group_names(idata: Any) -> list[str]:
    """The groups of an InferenceData."""
    return list(idata.groups())


def rhat_ess(ds: Any) -> tuple[Any, Any, Any]:
    """Rank-normalized R-hat, bulk ESS and tail ESS of every variable of a posterior Dataset."""
    import arviz as az

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return az.rhat(ds), az.ess(ds, method="bulk"), az.ess(ds, method="tail")


def kde(x: np.ndarray, bounded: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Kernel density estimate of draws: (grid, density); *bounded* corrects at the edges."""
    from arviz.stats.density_utils import kde as _kde

    grid, pdf = _kde(np.asarray(x, float), bound_correction=bounded)
    return np.asarray(grid), np.asarray(pdf)


def plot_trace(idata: Any, var_names: Sequence[str], axes: Any, **kwargs: Any) -> None:
    """ArviZ's trace plot into the given (n, 2) array of axes."""
    import arviz as az

    with warnings.catch_warnings():  # ArviZ 0.x's calls of deprecated matplotlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        az.plot_trace(idata, var_names=list(var_names), axes=axes, compact=True, show=False, **kwargs)


def plot_forest(idata: Any, var_names: Sequence[str], hdi_prob: float, **kwargs: Any) -> Any:
    """ArviZ's forest plot (``combined=True``); returns the Figure it drew into."""
    import arviz as az

    with warnings.catch_warnings():  # ArviZ 0.x's calls of deprecated matplotlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        axes = az.plot_forest(idata, var_names=list(var_names), combined=True, hdi_prob=hdi_prob, **kwargs)
    return np.ravel(axes)[0].figure


def with_log_likelihood(posterior: Any, loglik: np.ndarray, labels: Sequence[Any], name: str = "y") -> Any:
    """An InferenceData of *posterior* and a ``log_likelihood`` group (``name``: chain, draw, study)."""
    import arviz as az
    import xarray as xr

    ll = xr.Dataset({name: (("chain", "draw", "study"), np.asarray(loglik, dtype=float))},
                    coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values,
                            "study": [str(v) for v in labels]})
    return az.InferenceData(posterior=posterior, log_likelihood=ll)


def loo(idata: Any) -> Any:
    """PSIS-LOO (ArviZ's ``loo`` with ``pointwise=True``); ArviZ's warnings about high Pareto k are
    left to the caller, which reports them per study."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.loo(idata, pointwise=True)


def waic(idata: Any) -> Any:
    """WAIC (ArviZ's ``waic`` with ``pointwise=True``); its variance warning is left to the caller."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.waic(idata, pointwise=True)


def loo_reff(posterior: Any) -> float:
    """The relative effective sample size ArviZ's ``loo`` gives PSIS when it is not told one: 1 for one
    chain, else the mean ESS (``method="mean"``) over every posterior variable divided by the draws."""
    import arviz as az

    n_chains, n_samples = int(posterior.sizes["chain"]), int(posterior.sizes["chain"] * posterior.sizes["draw"])
    if n_chains == 1:
        return 1.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ess_p = az.ess(posterior, method="mean")
    return float(np.hstack([ess_p[v].values.flatten() for v in ess_p.data_vars]).mean() / n_samples)


def chunked_ic(kind: str, chunks: Iterable[tuple[np.ndarray, Sequence[str]]], posterior: Any, name: str = "y") -> Any:
    """ArviZ's ``loo`` or ``waic`` (``pointwise=True``) of a pointwise log-likelihood given chunk by chunk.

    Parameters
    ----------
    kind : {"loo", "waic"}
        The criterion.
    chunks : iterable of (array of shape (chain, draw, c), labels)
        The log-likelihood of consecutive groups of studies (made one at a time by the caller).
    posterior : xarray.Dataset
        The posterior draws (for PSIS's relative effective sample size, :func:`loo_reff`).
    name : str
        Name of the observed variable.

    Returns
    -------
    arviz.ELPDData
        The numbers ArviZ gives for the full (chain, draw, k) array: PSIS smooths each study's
        weights separately and WAIC's terms are per study too, so each chunk is one ArviZ call
        (the relative ESS computed once, as ArviZ does, from the posterior); the per-study terms
        are joined, the total is their sum, ``se`` is ``sqrt(k var(terms))`` over all k studies,
        ``p`` the sum of the chunks' and ``warning`` any chunk's. Peak memory is that of one chunk.
    """
    import arviz as az
    import xarray as xr

    reff = loo_reff(posterior) if kind == "loo" else None
    terms, pareto, p_sum, warn, out = [], [], 0.0, False, None
    for ll, labels in chunks:
        ds = xr.Dataset({name: (("chain", "draw", "study"), np.asarray(ll, dtype=float))},
                        coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values,
                                "study": [str(v) for v in labels]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = az.InferenceData(log_likelihood=ds)
            out = az.loo(idata, pointwise=True, reff=reff) if kind == "loo" else az.waic(idata, pointwise=True)
        del idata, ds, ll
        terms.append(out[f"{kind}_i"])
        if kind == "loo":
            pareto.append(out["pareto_k"])
        p_sum += float(out[f"p_{kind}"])
        warn = warn or bool(out["warning"])
    if out is None:
        raise ValueError("no studies: the pointwise log-likelihood has no chunk")
    term = xr.concat(terms, dim="study")
    values = np.asarray(term.values)
    n = values.size
    data = [values.sum(), (n * np.var(values)) ** 0.5, p_sum, out["n_samples"], n, warn, term]
    index = [f"elpd_{kind}", "se", f"p_{kind}", "n_samples", "n_data_points", "warning", f"{kind}_i"]
    if kind == "loo":
        data.append(xr.concat(pareto, dim="study"))
        index.append("pareto_k")
    data.append(out["scale"])
    index.append("scale")
    if kind == "loo":
        data.append(out["good_k"])
        index.append("good_k")
    return az.ELPDData(data=data, index=index)


def compare(idatas: Mapping[str, Any], ic: str) -> Any:
    """ArviZ's ``compare`` (stacking weights) of several fits by *ic* ("loo" or "waic"): each an
    InferenceData with a ``log_likelihood`` group or its ``ELPDData`` (:func:`chunked_ic`)."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.compare(dict(idatas), ic=ic)


def write_netcdf(idata: Any, path: str) -> str:
    """Write an InferenceData to netCDF (h5netcdf when installed)."""
    idata.to_netcdf(str(path), engine=_netcdf_engine())
    return str(path)


def read_netcdf(path: str) -> Any:
    """Read an InferenceData from netCDF into memory (the file is closed afterwards)."""
    import arviz as az

    with az.rc_context(rc={"data.load": "eager"}):
        return az.from_netcdf(str(path), engine=_netcdf_engine())
