"""Sampler diagnostics of a fit (R-hat, ESS, divergences) and the warning they raise."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma.errors import SamplingWarning

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView

__all__ = ["Diagnostics", "SamplingWarning", "MAX_R_HAT", "MIN_ESS", "diagnose"]

#: diagnostics thresholds (Vehtari et al. 2021)
MAX_R_HAT = 1.01
MIN_ESS = 400


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------


class Diagnostics(dict):
    """Sampler diagnostics of a fit, a dict with a readable repr.

    Keys: ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
    ``n_draws``, ``chains`` (MCMC only; with one chain R-hat is NaN and the ESS is that
    of the one chain), ``passed`` (R-hat <= 1.01, both ESS >= 400, no divergences),
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
        chains = self.get("chains")
        if chains is None and (r is None or (isinstance(r, float) and math.isnan(r))):
            return f"{status} (independent draws: no MCMC diagnostics needed)"
        if chains is not None and chains < 2:
            bulk = self["min_ess_bulk"]
            ess = ("ESS not available" if bulk is None or math.isnan(bulk) else
                   f"min ESS bulk {bulk:.0f} / tail {self['min_ess_tail']:.0f} from one chain")
            return (f"{status} (1 chain: R-hat not available, it compares chains; {ess}; "
                    f"{self['divergences']} divergences)")
        text = (f"{status} (max R-hat {r:.3f}, min ESS bulk {self['min_ess_bulk']:.0f} / "
                f"tail {self['min_ess_tail']:.0f}, {self['divergences']} divergences)")
        if not self["passed"] and self.get("problems"):
            text += ": " + "; ".join(self["problems"])
        return text

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


def diagnose(post: FitView) -> Diagnostics:
    """The :class:`Diagnostics` of a posterior (see :meth:`MetaPosterior.diagnostics`): none needed for
    exact numbers or independent draws."""
    n_draws = post.n_draws
    if not post.source.needs_diagnostics:
        return Diagnostics(max_r_hat=float("nan"), min_ess_bulk=float("nan"), min_ess_tail=float("nan"),
                           divergences=0, n_draws=n_draws, passed=True, problems=[], advice=[])
    s = post.summary()
    chains = int(post.idata.posterior.sizes.get("chain", 0)) if getattr(post, "idata", None) is not None else None
    rhat = float(np.nanmax(s["r_hat"].values)) if s["r_hat"].notna().any() else float("nan")
    bulk = float(np.nanmin(s["ess_bulk"].values)) if s["ess_bulk"].notna().any() else float("nan")
    tail = float(np.nanmin(s["ess_tail"].values)) if s["ess_tail"].notna().any() else float("nan")
    div = 0
    stats = getattr(post.idata, "sample_stats", None)
    if stats is not None and "diverging" in stats:
        div = int(np.asarray(stats["diverging"].values).sum())
    problems, advice = [], []
    if div > 0:
        problems.append(f"{div} divergent transitions")
        ta = post.fit_info.get("target_accept")
        nxt = 0.95 if ta is None or ta < 0.95 else 0.99
        advice.append(f"Raise target_accept (e.g. fit(..., target_accept={nxt})); with few studies "
                      "a more informative prior on tau also removes the funnel.")
    if math.isnan(rhat) or rhat > MAX_R_HAT:
        worst = str(s["r_hat"].idxmax()) if s["r_hat"].notna().any() else ""
        problems.append("R-hat not available with 1 chain (it compares chains)" if math.isnan(rhat)
                        else f"max R-hat {rhat:.3f} > {MAX_R_HAT} ({worst})")
        advice.append("Run more chains and longer tuning (e.g. chains=4, tune=2000).")
    if math.isnan(bulk) or bulk < MIN_ESS or tail < MIN_ESS:
        if not math.isnan(bulk):
            low = s[["ess_bulk", "ess_tail"]].min(axis=1).idxmin()
            problems.append(f"min ESS bulk {bulk:.0f} / tail {tail:.0f} < {MIN_ESS} ({low})")
        advice.append("Draw more samples (e.g. draws=2000) and tune longer.")
    return Diagnostics(max_r_hat=rhat, min_ess_bulk=bulk, min_ess_tail=tail, divergences=div,
                       n_draws=n_draws, chains=chains, passed=not problems, problems=problems, advice=list(dict.fromkeys(advice)))
