"""DrawsPosterior: every number of a fit from its posterior draws (NUTS, or any InferenceData)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._arviz import LazyDraws, rhat_ess
from bayesma.errors import InputError, UnknownParameterError

from .names import canonical_name, split_name
from .protocol import SUMMARY_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from bayesma._arviz import InferenceData
    from bayesma.spec import ModelSpec

__all__ = ["DrawsPosterior", "PARAM_ORDER", "param_rows", "var_dim", "hdi_of_draws", "mcmc_diagnostics"]

#: the order of the summary rows
PARAM_ORDER = ("mu", "beta", "tau", "alpha", "tau_within", "rho", "nu", "PET", "PEESE", "omega", "theta", "theta_new")

def var_dim(posterior: xr.Dataset, name: str) -> str | None:
    """The non-(chain, draw) dim of a variable of the posterior group, or None for a scalar."""
    extra = [d for d in posterior[name].dims if d not in ("chain", "draw")]
    return str(extra[0]) if extra else None


def param_rows(posterior: xr.Dataset) -> list[tuple[str, str, str | None]]:
    """(row name, variable, label) in the order of the summary."""
    rows: list[tuple[str, str, str | None]] = []
    for name in PARAM_ORDER:
        if name not in posterior:
            continue
        if name == "mu" and "beta" in posterior:
            continue
        dim = var_dim(posterior, name)
        if dim is None:
            rows.append((name, name, None))
        else:
            for lab in posterior[name].coords[dim].values:
                rows.append((f"{name}[{lab}]", name, str(lab)))
    return rows


def hdi_of_draws(x: np.ndarray, prob: float) -> tuple[float, float]:
    """Shortest interval containing *prob* of the draws."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = xs.size
    m = int(math.ceil(prob * n))
    if m >= n:
        return float(xs[0]), float(xs[-1])
    widths = xs[m:] - xs[: n - m]
    i = int(np.argmin(widths))
    return float(xs[i]), float(xs[i + m])


def mcmc_diagnostics(posterior: xr.Dataset) -> dict[str, tuple[float, float, float]]:
    """row -> (r_hat, ess_bulk, ess_tail) from ArviZ (empty with fewer than 4 draws; with one chain
    R-hat is NaN, as it compares chains, and the ESS is that of the one chain)."""
    rows = param_rows(posterior)
    names = sorted({var for _, var, _ in rows})
    if posterior.sizes["draw"] < 4:
        return {}
    rhat, bulk, tail = rhat_ess(posterior[names])
    if posterior.sizes["chain"] < 2:
        rhat = rhat * np.nan
    out: dict[str, tuple[float, float, float]] = {}
    for row, var, lab in rows:
        vals = []
        for d in (rhat, bulk, tail):
            da = d[var]
            if lab is not None:
                dim = da.dims[0]
                labels = [str(c) for c in da.coords[dim].values]
                da = da.isel({dim: labels.index(lab)})
            vals.append(float(da.values))
        out[row] = (vals[0], vals[1], vals[2])
    return out


class DrawsPosterior:
    """A posterior known through its draws: every number is a statistic of the draws.

    Parameters
    ----------
    idata : arviz.InferenceData or bayesma._arviz.LazyDraws
        At least a ``posterior`` group with dims ``(chain, draw, ...)`` and the variables of
        :mod:`bayesma.spec` (``mu`` or ``beta``, ``tau``, ``theta``, ``theta_new``...).
    spec : ModelSpec
        The model (coefficient names, ``x_new`` for ``"pooled"``).
    engine : str
        Labels the output (``"nuts"``).
    method : str
        How the draws were made, in words.
    mcmc : bool
        True for Markov chains (R-hat, ESS and divergences are computed and checked).

    Examples
    --------
    >>> import bayesma as bm
    >>> from bayesma.posterior import DrawsPosterior
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04])
    >>> p = DrawsPosterior(m.fit(engine="exact", draws=200, chains=2, seed=1).idata, m.spec)
    >>> p.p_greater("mu", 0.0) == float((p.draws("mu") > 0).mean())
    True
    """

    def __init__(self, idata: InferenceData | LazyDraws, spec: ModelSpec, engine: str = "nuts",
                 method: str = "No-U-Turn sampling (PyMC)", mcmc: bool = True) -> None:
        if not hasattr(idata, "posterior"):
            raise InputError("idata must have a posterior group")
        self._idata = idata
        self._spec = spec
        self._engine = str(engine)
        self._method = str(method)
        self._mcmc = bool(mcmc)
        self._diag: dict[str, tuple[float, float, float]] | None = None

    # -- what it is ------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        return self._spec

    @property
    def engine(self) -> str:
        return self._engine

    @property
    def method(self) -> str:
        return self._method

    @property
    def needs_diagnostics(self) -> bool:
        return self._mcmc

    @property
    def idata(self) -> InferenceData:
        if isinstance(self._idata, LazyDraws):
            return self._idata.idata  # built on first use (imports ArviZ)
        return self._idata

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group (an xarray Dataset), without building an InferenceData."""
        return self._idata.posterior

    @property
    def exact(self) -> None:
        return None

    @property
    def log_marginal_likelihood(self) -> None:
        return None

    def names(self) -> list[str]:
        return [r[0] for r in param_rows(self._idata.posterior)]

    def has(self, name: str) -> bool:
        name = canonical_name(self._spec, name)
        if name == "pooled":
            return True
        var, lab = split_name(name)
        post = self._idata.posterior
        if var not in post:
            return False
        dim = var_dim(post, var)
        return (lab is None) == (dim is None) and (lab is None or lab in [str(c) for c in post[var].coords[dim].values])

    # -- draws -------------------------------------------------------------------
    def draws(self, name: str, label: str | None = None) -> np.ndarray:
        """Flattened draws of a variable (see :meth:`bayesma.MetaPosterior.draws`)."""
        post = self._idata.posterior
        if name not in post:
            if name == "tau2" and "tau" in post:
                return self.draws("tau", label) ** 2
            if name == "mu" and "beta" in post and "intrcpt" in list(post["beta"].coords.get("coef", [])):
                return self.draws("beta", "intrcpt")
            known = [v for v in post.data_vars if not str(v).endswith("__")]
            raise UnknownParameterError(f"no parameter {name!r} in the posterior; parameters: {known}")
        da = post[name]
        dim = var_dim(post, name)
        if label is not None:
            if dim is None:
                raise UnknownParameterError(f"{name!r} is a scalar; it has no element {label!r}")
            labels = [str(c) for c in da.coords[dim].values]
            if label not in labels:
                raise UnknownParameterError(f"{name!r} has no element {label!r}; its {dim} labels are {labels}")
            da = da.isel({dim: labels.index(label)})
            dim = None
        vals = np.asarray(da.values, dtype=float)
        n = vals.shape[0] * vals.shape[1]
        return vals.reshape(n) if dim is None else vals.reshape((n,) + vals.shape[2:])

    def values(self, name: str) -> np.ndarray:
        """Draws of one quantity named as a summary row (``"pooled"``: x_new' beta)."""
        name = canonical_name(self._spec, name)
        if name == "pooled":
            if "beta" in self._idata.posterior:
                return self.draws("beta") @ np.asarray(self._spec.x_new, dtype=float)
            return self.draws("mu")
        return self.draws(*split_name(name))

    # -- one quantity ------------------------------------------------------------
    def quantiles(self, name: str, q: Sequence[float]) -> np.ndarray:
        return np.quantile(self.values(name), np.atleast_1d(np.asarray(q, dtype=float)))

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]:
        x = self.values(name)
        lo, hi = np.quantile(x, [(1 - prob) / 2, 1 - (1 - prob) / 2])
        return float(np.median(x)), float(lo), float(hi)

    def hdi(self, name: str, prob: float = 0.95) -> tuple[float, float]:
        return hdi_of_draws(self.values(name), prob)

    def cdf(self, name: str, x: float) -> float:
        return float(np.mean(self.values(name) <= float(x)))

    def p_greater(self, name: str, x: float) -> float:
        return float(np.mean(self.values(name) > float(x)))

    def p_less(self, name: str, x: float) -> float:
        return float(np.mean(self.values(name) < float(x)))

    def p_between(self, name: str, lower: float, upper: float) -> float:
        v = self.values(name)
        return float(np.mean((v > float(lower)) & (v < float(upper))))

    def moments(self, name: str) -> tuple[float, float]:
        x = self.values(name)
        return float(np.mean(x)), (float(np.std(x, ddof=1)) if x.size > 1 else float("nan"))

    def density(self, name: str, x: np.ndarray) -> None:
        return None  # no exact density: plots estimate it from the draws

    # -- the table -----------------------------------------------------------------
    def diagnostics_rows(self) -> dict[str, tuple[float, float, float]]:
        """row -> (r_hat, ess_bulk, ess_tail) (empty for independent draws)."""
        if self._diag is None:
            self._diag = mcmc_diagnostics(self._idata.posterior) if self._mcmc else {}
        return self._diag

    def row(self, var: str, lab: str | None, prob: float, hdi: bool) -> dict[str, float]:
        """The summary numbers of one row from its draws."""
        x = self.draws(var, lab)
        lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
        rec: dict[str, float] = {
            "mean": float(np.mean(x)),
            "sd": float(np.std(x, ddof=1)) if x.size > 1 else float("nan"),
            "median": float(np.median(x)),
            "eti_lower": float(np.quantile(x, lo_q)),
            "eti_upper": float(np.quantile(x, hi_q)),
        }
        if hdi:
            rec["hdi_lower"], rec["hdi_upper"] = hdi_of_draws(x, prob)
        return rec

    def summary(self, prob: float = 0.95, hdi: bool = False, studies: bool = True) -> pd.DataFrame:
        rows = [r for r in param_rows(self._idata.posterior) if studies or r[1] != "theta"]
        diag = self.diagnostics_rows()
        nan = (float("nan"),) * 3
        out: list[dict[str, Any]] = []
        for row, var, lab in rows:
            rec: dict[str, Any] = self.row(var, lab, prob, hdi)
            r = diag.get(row, nan)
            rec.update(r_hat=r[0], ess_bulk=r[1], ess_tail=r[2])
            out.append(rec)
        return summary_frame(out, [r[0] for r in rows], hdi)


def summary_frame(records: list[dict[str, Any]], index: list[str], hdi: bool) -> pd.DataFrame:
    """The summary DataFrame (index ``parameter``; :data:`SUMMARY_COLUMNS`, + the HDI)."""
    cols = SUMMARY_COLUMNS + (["hdi_lower", "hdi_upper"] if hdi else [])
    return pd.DataFrame(records, index=pd.Index(index, name="parameter"), columns=cols)

