"""Sampler diagnostics of a fit (R-hat, ESS, divergences) and the warning they raise."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pandas as pd

__all__ = ["Diagnostics", "SamplingWarning", "MAX_R_HAT", "MIN_ESS"]

#: diagnostics thresholds (Vehtari et al. 2021)
MAX_R_HAT = 1.01
MIN_ESS = 400


class SamplingWarning(UserWarning):
    """The sampler's diagnostics failed (divergences, R-hat or ESS)."""


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------


class Diagnostics(dict):
    """Sampler diagnostics of a fit, a dict with a readable repr.

    Keys: ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
    ``n_draws``, ``passed`` (R-hat <= 1.01, both ESS >= 400, no divergences),
    ``problems`` (list of str) and ``advice`` (list of str). For the exact
    engine R-hat and ESS are NaN and ``passed`` is True.

    Examples
    --------
    >>> d = Diagnostics(max_r_hat=1.002, min_ess_bulk=1500.0, min_ess_tail=1200.0, divergences=0,
    ...                 n_draws=4000, passed=True, problems=[], advice=[])
    >>> d.passed
    True
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_frame(self) -> pd.DataFrame:
        """The numbers as a one-row DataFrame."""
        keys = ["max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "n_draws", "passed"]
        return pd.DataFrame([{k: self.get(k) for k in keys}])

    def line(self) -> str:
        """One line: ``passed (max R-hat 1.003, min ESS bulk 1520 / tail 1310, 0 divergences)``."""
        status = "passed" if self["passed"] else "FAILED"
        r = self["max_r_hat"]
        if r is None or (isinstance(r, float) and math.isnan(r)):
            return f"{status} (independent draws: no MCMC diagnostics needed)"
        return (
            f"{status} (max R-hat {r:.3f}, min ESS bulk {self['min_ess_bulk']:.0f} / "
            f"tail {self['min_ess_tail']:.0f}, {self['divergences']} divergences)"
        )

    def warn(self, stacklevel: int = 3) -> None:
        """Emit a :class:`SamplingWarning` with advice when the diagnostics failed."""
        if not self["passed"]:
            text = "NUTS diagnostics failed: " + "; ".join(self["problems"]) + ". " + " ".join(self["advice"])
            warnings.warn(text, SamplingWarning, stacklevel=stacklevel)

    def __repr__(self) -> str:
        lines = [f"Diagnostics: {self.line()}"]
        lines += [f"  problem: {p}" for p in self.get("problems", [])]
        lines += [f"  advice: {a}" for a in self.get("advice", [])]
        return "\n".join(lines)

