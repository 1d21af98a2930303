"""How each engine's result becomes a :class:`~bayesma.posterior.protocol.Posterior`: the one
place outside the engines that knows them by name (fits, saved files, results built from draws)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .draws import DrawsPosterior
from .marginal import MarginalPosterior
from .protocol import MarginalSource, Posterior

if TYPE_CHECKING:  # pragma: no cover
    from bayesma._arviz import InferenceData
    from bayesma.spec import ModelSpec

__all__ = ["from_draws", "from_exact", "restore", "posterior_of"]


def from_draws(idata: InferenceData, spec: ModelSpec, engine: str = "nuts") -> DrawsPosterior:
    """The posterior of a sampler's draws (Markov chains: R-hat and ESS are checked)."""
    return DrawsPosterior(idata, spec, engine=engine)


def from_exact(exact: MarginalSource, spec: ModelSpec, idata: InferenceData | None = None,
               engine: str = "exact") -> MarginalPosterior:
    """The posterior of the exact engine: its marginals, with its independent draws (if any) beside them."""
    draws = None if idata is None else DrawsPosterior(idata, spec, engine=engine,
                                                     method="independent draws", mcmc=False)
    return MarginalPosterior(exact, spec, draws=draws, engine=engine)


def _exact_again(idata: InferenceData, spec: ModelSpec, engine: str) -> Posterior:
    from bayesma.exact import exact_posterior  # deterministic: the same numbers as the fit

    return from_exact(exact_posterior(spec), spec, idata, engine=engine)


#: engines whose posterior is more than its draws, and how to compute it again from a saved file
_RESTORE: dict[str, Callable[[InferenceData, ModelSpec, str], Posterior]] = {"exact": _exact_again}


def restore(engine: str, idata: InferenceData, spec: ModelSpec) -> Posterior:
    """The posterior of a saved fit: its draws, and for the exact engine the marginals integrated again."""
    return _RESTORE.get(engine, from_draws)(idata, spec, engine)


def posterior_of(idata: InferenceData, spec: ModelSpec, engine: str = "nuts",
                 exact: MarginalSource | None = None) -> Posterior:
    """A posterior from draws and, when an exact engine gave them, its marginals
    (``MetaPosterior(idata, spec, engine, exact=...)``)."""
    if exact is None:
        return from_draws(idata, spec, engine)
    return from_exact(exact, spec, idata, engine)
