"""fit_exact: the exact engine behind ``MetaAnalysis.fit(engine="exact")``: the posterior and independent draws."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._arviz import LazyDraws
from bayesma.errors import ArgumentTypeError, InputError

from .likelihood import _as_spec
from .posterior import ExactPosterior, exact_posterior

if TYPE_CHECKING:  # pragma: no cover
    from .likelihood import SpecLike

__all__ = ["ExactFit", "fit_exact"]

_AUTO_THETA = 2.5e7  # draws x studies kept by default (200 MB of float64)


@dataclass(frozen=True)
class ExactFit:
    """The raw result of the exact engine (``MetaAnalysis`` turns it into a ``MetaPosterior``).

    Parameters
    ----------
    draws : bayesma._arviz.LazyDraws
        Independent posterior draws, dims ``(chain, draw, ...)``: ``draws.posterior`` (an xarray
        Dataset); the :class:`arviz.InferenceData` (:attr:`idata`) is built on first use.
    exact : ExactPosterior
        The quadrature posterior every reported number comes from.
    seconds : float
        Wall time of the fit (the integration and the draws; the summaries are
        computed when first asked for, see :attr:`summary`).
    info : dict
        What was kept: ``theta_draws`` (bool) and, when the engine chose for the user, a ``note``.

    Examples
    --------
    >>> import bayesma as bm
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25], vi=[0.02, 0.03, 0.05])          # doctest: +SKIP
    >>> res = bm.exact.fit_exact(m.spec, draws=500, chains=2, seed=1)             # doctest: +SKIP
    >>> res.exact.prob("mu", 0.0), res.idata.posterior["mu"].shape               # doctest: +SKIP
    """

    draws: LazyDraws
    exact: ExactPosterior
    seconds: float
    info: dict = field(default_factory=dict)

    @property
    def idata(self) -> Any:
        """The draws as an :class:`arviz.InferenceData` (built on first use)."""
        return self.draws.idata

    @property
    def summary(self) -> pd.DataFrame:
        """``exact.summary()``: mean, sd, median, eti_lower, eti_upper (95%) of every parameter and
        study effect, computed on first use and cached by :class:`ExactPosterior` (the study effects'
        quantiles are most of an exact fit's cost at large k, and many uses never read them)."""
        return self.exact.summary()


def _to_draws(spec, draws: dict[str, np.ndarray], chains: int, n_draws: int) -> LazyDraws:
    # arrays, not lists: ArviZ deep-copies the coords of every group (100,000 labels: seconds as a list)
    coords: dict[str, Any] = {name: np.asarray(values) for name, values in spec.coords().items() if name != "cluster"}
    dims = {"theta": ["study"], "beta": ["coef"]}
    if spec.tau_by is not None:
        dims["tau"] = ["subgroup"]
        dims["theta_new"] = ["subgroup"]
    if "outcome" in coords:  # multivariate across outcomes (exact/multivariate.py)
        dims["mu"] = dims["theta_new"] = ["outcome"]
    post = {}
    for name, arr in draws.items():
        post[name] = np.asarray(arr).reshape((chains, n_draws) + np.shape(arr)[1:])
    used_dims = {k: v for k, v in dims.items() if k in post}
    return LazyDraws(
        post,
        observed_data={"yi": spec.yi},
        constant_data={"vi": spec.vi},
        coords=coords,
        dims={**used_dims, "yi": ["study"], "vi": ["study"]},
    )


def fit_exact(
    spec: SpecLike,
    draws: int = 1000,
    chains: int = 4,
    seed: int | np.random.Generator | None = None,
    grid: int | Mapping[str, Any] | None = None,
    theta_draws: bool | None = None,
    **kwargs: Any,
):
    """Exact posterior of a normal-normal meta-analysis model, with independent draws.

    Parameters
    ----------
    spec : ModelSpec or MetaAnalysis
        The model; the engine behind ``MetaAnalysis.fit(engine="exact")``.
    draws, chains : int
        ``draws * chains`` independent posterior draws fill ``.idata``,
        arranged as *chains* chains (they are independent, so r_hat is 1 by
        construction).
    seed : int or numpy.random.Generator, optional
        The same seed gives the same draws.
    grid : int or dict, optional
        Gauss-Legendre nodes per panel (see :func:`exact_posterior`).
    theta_draws : bool, optional
        Draw the study effects ``theta`` (k values per draw). The default (None)
        keeps them while they need at most 200 MB (``draws * chains * k <= 2.5e7``)
        and otherwise skips them with a warning saying so (``ExactFit.info``); the
        exact summaries of theta do not need the draws. True insists (an error above
        1.6 GB), False skips them.
    **kwargs
        NUTS-only options (``tune``, ``target_accept``, ``progressbar``...) are
        accepted and ignored.

    Returns
    -------
    ExactFit
        ``idata`` (the draws), ``exact`` (the :class:`ExactPosterior`), ``summary``
        (exact mean, sd, median, 2.5% and 97.5% quantiles) and ``seconds``.
        ``MetaAnalysis.fit(engine="exact")`` wraps it in a :class:`bayesma.MetaPosterior`.

    Examples
    --------
    >>> import bayesma as bm
    >>> from bayesma.exact import fit_exact
    >>> m = bm.MetaAnalysis(yi=[0.1, 0.4, 0.25, 0.3], vi=[0.02, 0.03, 0.05, 0.04], measure="SMD")  # doctest: +SKIP
    >>> res = fit_exact(m.spec, draws=500, chains=2, seed=1)                                    # doctest: +SKIP
    >>> res.summary.loc[["mu", "tau"], ["mean", "eti_lower", "eti_upper"]]                        # doctest: +SKIP
    """
    unknown = set(kwargs) - {"tune", "target_accept", "progressbar", "sampler", "prior_draws", "cores",
                             "init", "nuts_sampler", "compute_convergence_checks", "idata_kwargs"}
    if unknown:
        raise ArgumentTypeError(f"fit_exact() got unexpected keyword arguments {sorted(unknown)}")
    start = time.perf_counter()
    spec = _as_spec(spec)
    ep = exact_posterior(spec, grid=grid)
    n = int(draws) * int(chains)
    info: dict[str, Any] = {"theta_draws": True}
    if theta_draws is None:
        theta_draws = n * spec.k <= _AUTO_THETA
        if not theta_draws:
            info["theta_draws"] = False
            info["note"] = (f"the draws of the {spec.k} study effects theta were not kept ({n} draws would take "
                            f"{n * spec.k * 8 / 1e9:.1f} GB); their exact summaries are in .summary(); pass "
                            "theta_draws=True (or fewer draws) to keep them")
            warnings.warn(info["note"], UserWarning, stacklevel=3)
    elif not theta_draws:
        info["theta_draws"] = False
    if theta_draws and n * spec.k > 2e8:
        raise InputError(
            f"{n} draws of {spec.k} study effects need {n * spec.k * 8 / 1e9:.1f} GB; use fewer draws or "
            "theta_draws=False (the exact summaries of theta do not need the draws)"
        )
    if n < 1:
        raise InputError("fit_exact() needs draws >= 1 and chains >= 1 (the result holds draws); for the "
                         "exact summaries alone use bayesma.exact.exact_posterior(spec).summary()")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sample = ep.draws(n, rng, theta=theta_draws)
    lazy = _to_draws(spec, sample, int(chains), int(draws))
    seconds = time.perf_counter() - start
    return ExactFit(lazy, ep, seconds, info)
