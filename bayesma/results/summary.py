"""The frequentist estimates beside the posterior (:func:`compare_frequentist`).

The summary table itself comes from the posterior's :class:`bayesma.posterior.Posterior`
(``post.source.summary``); the names below are kept here for older imports.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma.errors import BayesmaError
from bayesma.posterior.draws import PARAM_ORDER, hdi_of_draws, param_rows, var_dim
from bayesma.posterior.protocol import SUMMARY_COLUMNS

from .compare_families import family_rows
from .levels import has_categorical

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.frequentist import RMAResult
    from bayesma.posterior.view import FitView

__all__ = ["SUMMARY_COLUMNS", "PARAM_ORDER", "param_rows", "var_dim", "hdi_of_draws", "compare_frequentist"]


def _glmm_rows(spec: Any, level: float, reg: bool) -> list[tuple[Any, dict]]:
    """``ML (GLMM, <model>)``: metafor's ``rma.glmm`` with the likelihood of a count model
    (UM.FS for fixed study baselines, UM.RS for random ones)."""
    from bayesma.frequentist.glmm import rma_glmm

    c = spec.counts
    model = "UM.RS" if c.baseline == "random" else "UM.FS"
    args = ({"ai": c.e1, "n1i": c.n1, "ci": c.e2, "n2i": c.n2} if c.kind == "binomial2" else
            {"x1i": c.e1, "t1i": c.n1, "x2i": c.e2, "t2i": c.n2} if c.kind == "poisson2" else
            {"xi": c.e1, "ni": c.n1} if c.kind == "binomial1" else {"xi": c.e1, "ti": c.n1})
    data = spec.meta.data if reg else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rma_glmm(spec.measure, **args, model=model, mods=spec.mods if reg else None, data=data,
                       level=level)
    tau = float(np.sqrt(max(res.tau2, 0.0)))
    out = []
    for j, name in enumerate(res.coef_names):
        rec = {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]),
               "tau": tau, "tau_ci_lb": float("nan"), "tau_ci_ub": float("nan"),
               "pi_lb": float("nan"), "pi_ub": float("nan")}
        out.append(((f"ML (GLMM, {model})", name) if reg else f"ML (GLMM, {model})", rec))
    return out


def compare_frequentist(post: FitView, level: float = 0.95) -> pd.DataFrame:
    """The frequentist estimates (``bayesma.rma``) beside the posterior.

    Rows ``FE``, ``DL``, ``REML``, ``REML + KH`` (Knapp-Hartung; spelled as the command line and
    the report spell it, formerly ``REML+KH``) and
    ``Bayesian (<engine>)``; columns ``estimate, ci_lb, ci_ub`` (the pooled
    effect and its interval), ``tau, tau_ci_lb, tau_ci_ub`` (Q-profile
    interval; 0 and NaN for FE) and ``pi_lb, pi_ub`` (prediction interval
    for a new study). The Bayesian row gives posterior medians and
    equal-tailed intervals (``theta_new`` for the prediction interval).

    For a meta-regression the index is a MultiIndex ``(method, coef)``:
    one row per method and coefficient, intercept first; the tau columns
    repeat within a method, and ``pi_lb, pi_ub`` are the prediction
    interval of a new study at the mean moderator values (``spec.x_new``),
    also repeated; with a categorical moderator they are NaN (at the mean moderators the
    interval would mix the levels: ``post.level_predictions()`` and ``rma(...).level_predictions()``
    give one per level). Subgroup-tau and three-level models are compared with
    the ordinary (single-tau, two-level) frequentist fits; three-level
    models also get a ``REML (3-level)`` row from :func:`bayesma.rma_mv`
    when available. Count models (binomial / Poisson likelihood) add an ``ML (GLMM, UM.FS)`` (or
    ``UM.RS``) row from :func:`bayesma.rma_glmm` beside the normal-approximation fits of
    ``escalc``'s ``yi, vi``. Dependent-effects models (CHE, multivariate across
    outcomes) are compared with :func:`bayesma.rma_mv` with the same ``V``
    and structure instead (see
    :func:`bayesma.results.compare_dependent.compare_dependent`). Bias and location-scale models add
    the frequentist fit of the same model (:mod:`bayesma.results.compare_families`): ``REML (PET: mods =
    sei)``, ``REML (PEESE: mods = vi)``, ``ML (selection model)`` (one-sided steps, no moderators) or
    ``REML (location-scale)``.

    Examples
    --------
    >>> compare_frequentist(post).loc["REML", ["estimate", "tau"]].round(3).tolist()
    [-0.715, 0.56]
    """
    from bayesma.frequentist import fit_rma

    spec = post.spec
    if level > 1:
        level = level / 100.0
    if getattr(spec, "dependence", None) is not None:  # CHE / multivariate: rma_mv with the same V
        from .compare_dependent import compare_dependent

        return compare_dependent(post, level)
    reg = spec.is_regression
    rows: list[tuple[Any, dict]] = []
    x_new = np.asarray(spec.x_new, dtype=float)
    mixed = has_categorical(spec)  # no prediction interval at the mean of a categorical moderator

    def add(method_label: str, res: RMAResult) -> None:
        tau, t_lo, t_hi = 0.0, float("nan"), float("nan")
        if method_label != "FE":
            tau = res.tau
            if res.tau2_ci is not None:
                t_lo, t_hi = (float(np.sqrt(max(v, 0.0))) for v in res.tau2_ci)
        # the full design row (intercept included) of a regression
        pred = res.predict(design=x_new[None, :] if reg else None, level=level)
        pi_lb, pi_ub = (float("nan"),) * 2 if mixed else (float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0]))
        for j, name in enumerate(res.coef_names):
            rec = {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]),
                   "tau": tau, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub}
            rows.append(((method_label, name) if reg else method_label, rec))

    md = spec.meta
    for label, method, test in (("FE", "FE", "z"), ("DL", "DL", "z"), ("REML", "REML", "z"),
                                ("REML + KH", "REML", "knha")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_rma(md, spec.X, list(spec.coef_names), method=method, test=test, level=level)
        add(label, res)
    if spec.cluster_index is not None and not reg:
        try:
            from bayesma.frequentist import rma_mv

            cl = np.asarray(spec.cluster_names, dtype=object)[spec.cluster_index]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res3 = rma_mv(spec.yi, spec.vi, cluster=cl, level=level)
            rows.append(("REML (3-level)", {
                "estimate": float(res3.beta[0]), "ci_lb": float(res3.ci_lb[0]), "ci_ub": float(res3.ci_ub[0]),
                "tau": float(np.sqrt(res3.sigma2[0])), "tau_ci_lb": float("nan"), "tau_ci_ub": float("nan"),
                "pi_lb": float(res3.pi_lb or np.nan), "pi_ub": float(res3.pi_ub or np.nan)}))
        except BayesmaError:  # pragma: no cover - a model rma_mv refuses (e.g. one cluster) only drops its row
            pass
    if getattr(spec, "counts", None) is not None:  # counts: the GLMM with the same likelihood (rma_glmm)
        rows.extend(_glmm_rows(spec, level, reg))
    rows.extend(family_rows(spec, level, reg))  # PET/PEESE, selection, location-scale: the same model

    # Bayesian row(s): posterior medians and equal-tailed intervals (exact values when available)
    bname = f"Bayesian ({post.engine})"
    summ = post.summary(prob=level)
    posterior = post.posterior

    def mci(row: str, var: str) -> tuple[float, float, float]:
        if row in summ.index:
            r = summ.loc[row]
            return float(r["median"]), float(r["eti_lower"]), float(r["eti_upper"])
        # a vector (per subgroup): pooled over its elements (exact engine: the equal mixture)
        return post.interval(row, level)

    tau_med, t_lo, t_hi = mci("tau", "tau") if "tau" in posterior else (0.0, float("nan"), float("nan"))
    _, pi_lb, pi_ub = (float("nan"),) * 3 if mixed else mci("theta_new", "theta_new")
    common = {"tau": tau_med, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub}
    if reg:
        for name in spec.coef_names:
            med, lo, hi = mci(f"beta[{name}]", "beta")
            rows.append(((bname, name), {"estimate": med, "ci_lb": lo, "ci_ub": hi, **common}))
    else:
        med, lo, hi = mci("mu", "mu")
        rows.append((bname, {"estimate": med, "ci_lb": lo, "ci_ub": hi, **common}))
    cols = ["estimate", "ci_lb", "ci_ub", "tau", "tau_ci_lb", "tau_ci_ub", "pi_lb", "pi_ub"]
    if reg:
        index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["method", "coef"])
    else:
        index = pd.Index([r[0] for r in rows], name="method")
    return pd.DataFrame([r[1] for r in rows], index=index, columns=cols)
