"""FitView: what the helpers of :mod:`bayesma.results` and :mod:`bayesma.report` read from a fit
(:class:`bayesma.MetaPosterior` is one).

The helper modules (summary tables, diagnostics, saving, the printout, prior influence, the report)
are typed against this protocol rather than the class, so they do not import the module that
imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

    from bayesma._arviz import InferenceData
    from bayesma.posterior import Posterior
    from bayesma.spec import ModelSpec

__all__ = ["FitView"]


class FitView(Protocol):
    """A fitted posterior as the result helpers see it."""

    @property
    def source(self) -> Posterior: ...

    @property
    def spec(self) -> ModelSpec: ...

    @property
    def engine(self) -> str: ...

    @property
    def idata(self) -> InferenceData: ...

    @property
    def posterior(self) -> xr.Dataset: ...

    @property
    def fit_info(self) -> Mapping[str, Any]: ...

    @property
    def fit_seconds(self) -> float | None: ...

    @property
    def n_draws(self) -> int: ...

    def summary(self, hdi: bool = False, prob: float = 0.95, studies: bool = True) -> pd.DataFrame: ...

    def interval(self, name: str, prob: float = 0.95) -> tuple[float, float, float]: ...

    def diagnostics(self) -> Any: ...
