"""How much the prior decides the answer: prior influence and prior-data conflict.

Both read the posterior through ``post.interval`` / ``post.summary`` (exact numbers for
the exact engine, the draws for NUTS) and the prior objects of ``post.spec``.

Rules (one place, used by the printout, and by the report and the CLI through
:meth:`MetaPosterior.prior_influence` / :meth:`MetaPosterior.prior_data_conflict`):

- **location** (mu, each coefficient): the prior supplies a share ``(posterior sd /
  prior sd)^2`` of the information (exact for normal-normal conjugacy; the widths of the
  central intervals stand in for the sds). The interval is *set by the prior* when that
  share exceeds 25% (the interval is more than half as wide as the prior's) or the
  interval is at least ``threshold`` as wide as the prior's.
- **heterogeneity** (tau, tau[g], tau_within): set by the prior when the posterior
  interval is at least ``threshold`` as wide as the prior's, **or** when the data do
  not bound tau: its upper limit exceeds ``10 x`` the spread of the observed effects
  (``sqrt(var(yi) + median(vi))``). A very wide prior (``Uniform(0, 10000)`` at k = 2)
  gives a posterior interval a tiny fraction of the prior's, yet the interval still
  reaches values no data set of that spread supports: the tails of prior and
  likelihood, not the data, place it.
- **prior-data conflict**: the posterior median of a heterogeneity SD lies beyond the
  prior's 0.5% or 99.5% quantile (the data put tau where the prior said it almost
  never is); the printout flags it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma.priors.base import short_text

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView
    from bayesma.spec import ModelSpec

__all__ = ["prior_influence", "influence_lines", "prior_data_conflict", "UNBOUNDED_FACTOR", "LOCATION_SHARE",
           "CONFLICT_TAIL"]

#: tau's upper limit beyond this multiple of the data's spread: the data do not bound tau
UNBOUNDED_FACTOR = 10.0
#: the prior supplies more than this share of the information about a location parameter
LOCATION_SHARE = 0.25
#: prior tail probability beyond which the posterior median of tau is a conflict
CONFLICT_TAIL = 0.005


def _prior_of(spec: ModelSpec, var: str, lab: str | None) -> Any:
    if var == "beta" and lab is not None:
        return spec.location_prior(list(spec.coef_names).index(lab))
    if var == "mu":
        return spec.priors.get("mu")
    return spec.priors.get(var)


def _rows(post: FitView) -> list[tuple[str, str, str | None]]:
    """(row, variable, label) of mu / beta[...], tau / tau[g], tau_within."""
    spec = post.spec
    rows: list[tuple[str, str, str | None]] = []
    if spec.is_regression:
        rows += [(f"beta[{c}]", "beta", str(c)) for c in spec.coef_names]
    else:
        rows.append(("mu", "mu", None))
    if spec.model != "common":
        if spec.tau_by is not None:
            rows += [(f"tau[{g}]", "tau", str(g)) for g in spec.group_names]
        else:
            rows.append(("tau", "tau", None))
        if spec.cluster_index is not None:
            rows.append(("tau_within", "tau_within", None))
    return rows


def data_spread(spec: ModelSpec) -> float:
    """sqrt(var(yi) + median(vi)): the scale of the observed effects."""
    y, v = np.asarray(spec.yi, float), np.asarray(spec.vi, float)
    return float(math.sqrt((np.var(y) if y.size > 1 else 0.0) + np.median(v)))


def prior_influence(post: FitView, prob: float = 0.95, threshold: float = 0.8) -> pd.DataFrame:
    """The table of :meth:`MetaPosterior.prior_influence` (see there and the module rules)."""
    spec = post.spec
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    spread = data_spread(spec)
    pct = f"{int(round(prob * 100))}%"
    recs, index = [], []
    for row, var, lab in _rows(post):
        prior = _prior_of(spec, var, lab)
        if prior is None:
            continue
        try:
            _, q_lo, q_hi = post.interval(row, prob)
        except KeyError:
            continue
        if getattr(prior, "family", None) == "Flat":  # improper flat prior on a location: no quantiles, unbounded
            p_lo, p_hi = -math.inf, math.inf
        else:
            p_lo, p_hi = float(prior.ppf_tau(lo_q)), float(prior.ppf_tau(hi_q))
        ratio = (q_hi - q_lo) / (p_hi - p_lo) if p_hi > p_lo and math.isfinite(p_hi - p_lo) else float("nan")
        heterogeneity = bool(getattr(prior, "is_heterogeneity", False))
        note = ""
        if math.isfinite(ratio) and ratio > threshold:
            note = (f"the prior dominates: the posterior {pct} interval of {row} is {ratio:.0%} as wide as the "
                    f"prior's ({short_text(prior)}); the data say little about it, so report results under "
                    "other priors (bayesma.compare_priors)")
        elif heterogeneity and q_hi > UNBOUNDED_FACTOR * spread:
            note = (f"the data do not bound {row}: its {pct} interval reaches {q_hi:.3g}, {q_hi / spread:.0f} times "
                    f"the spread of the observed effects ({spread:.3g}); the tails of the prior "
                    f"({short_text(prior)}) and of the likelihood, not the data, set it, so report results under "
                    "other priors (bayesma.compare_priors)")
        elif not heterogeneity and math.isfinite(ratio) and ratio**2 > LOCATION_SHARE:
            note = (f"the interval of {row} is set partly by its prior ({short_text(prior)}): the prior supplies "
                    "about "
                    f"{ratio**2:.0%} of the information about it; report results under other priors "
                    "(bayesma.compare_priors)")
        recs.append({"prior": repr(prior), "prior_lower": p_lo, "prior_upper": p_hi, "posterior_lower": q_lo,
                     "posterior_upper": q_hi, "ratio": ratio, "set_by_prior": bool(note), "note": note})
        index.append(row)
    cols = ["prior", "prior_lower", "prior_upper", "posterior_lower", "posterior_upper", "ratio", "set_by_prior",
            "note"]
    return pd.DataFrame(recs, index=pd.Index(index, name="parameter"), columns=cols)


def prior_data_conflict(post: FitView) -> pd.DataFrame:
    """Heterogeneity SDs whose posterior median lies far in a tail of their prior.

    Returns
    -------
    pandas.DataFrame
        One row per heterogeneity SD: ``posterior_median``, ``prior_cdf`` (the prior's
        probability below that median), ``conflict`` (bool: ``prior_cdf`` below 0.5% or
        above 99.5%) and ``note``.
    """
    spec = post.spec
    recs, index = [], []
    for row, var, lab in _rows(post):
        prior = _prior_of(spec, var, lab)
        if var not in ("tau", "tau_within") or prior is None or not hasattr(prior, "cdf_tau"):
            continue
        try:
            med = post.interval(row, 0.5)[0]
        except KeyError:
            continue
        cdf = float(prior.cdf_tau(med))
        conflict = cdf > 1 - CONFLICT_TAIL or cdf < CONFLICT_TAIL
        note = ""
        if conflict:
            side = "above" if cdf > 0.5 else "below"
            tail = 1 - cdf if cdf > 0.5 else cdf
            note = (f"prior-data conflict: the posterior median of {row} ({med:.3g}) lies {side} all but "
                    f"{tail:.2%} of its prior ({short_text(prior)}); the prior and the data disagree, so the prior "
                    "pulls the estimate - check the prior (bayesma.compare_priors)")
        recs.append({"posterior_median": med, "prior_cdf": cdf, "conflict": conflict, "note": note})
        index.append(row)
    return pd.DataFrame(recs, index=pd.Index(index, name="parameter"),
                        columns=["posterior_median", "prior_cdf", "conflict", "note"])


def influence_lines(post: FitView) -> list[str]:
    """Printout lines: the width ratio of each heterogeneity SD, and every parameter set by its prior."""
    table = prior_influence(post)
    conflict = prior_data_conflict(post)
    lines = []
    in_conflict = bool(conflict["conflict"].astype(bool).any()) if len(conflict) else False
    for row, rec in table.iterrows():
        dominated = bool(rec["set_by_prior"]) and np.isfinite(rec["ratio"]) and rec["ratio"] > 0.8
        if in_conflict and dominated and row in conflict.index and bool(conflict.loc[row, "conflict"]):
            continue  # the conflict warning below says what happened; the data do not "say little"
        if in_conflict and dominated:
            lines.append(f"prior influence: the priors pull {row} (its 95% interval is {rec['ratio']:.0%} as wide as "
                         f"its prior's, {rec['prior']}); see the prior-data conflict below")
        elif rec["set_by_prior"]:
            lines.append(f"prior influence: {rec['note']}")
        elif str(row).startswith("tau") and np.isfinite(rec["ratio"]):
            lines.append(f"prior influence: the 95% interval of {row} is {rec['ratio']:.0%} as wide as under the "
                         "prior")
    lines += [f"warning: {rec['note']}" for _, rec in conflict.iterrows() if rec["conflict"]]
    return lines
