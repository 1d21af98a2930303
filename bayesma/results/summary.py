"""Summary tables of a posterior: where each number comes from, decided once per engine.

- NUTS (no exact posterior): every column from the draws; R-hat and ESS from ArviZ.
- exact engine: mean, sd, median, the equal-tailed interval at any ``prob`` and the
  HDI from the quadrature posterior (``post.exact.summary(prob=...)``, ``post.exact.hdi``);
  R-hat and ESS are NaN (independent draws); rows of the study effects come from the
  exact posterior even when their draws were not kept (large k). A posterior that carries only a 95% exact table
  (``exact_summary`` without the ``exact`` object) takes its mean, sd and median from
  it, and its intervals from it at 95%, from the draws at other levels.

The functions take the posterior duck-typed (``idata``, ``spec``, ``engine``,
``exact``, ``exact_summary``, ``draws(name, label)``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from bayesma._arviz import rhat_ess
from bayesma.errors import BayesmaError

__all__ = ["SUMMARY_COLUMNS", "PARAM_ORDER", "param_rows", "summary_table", "mcmc_diagnostics", "hdi_of_draws",
           "compare_frequentist"]

SUMMARY_COLUMNS = ["mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk", "ess_tail"]
PARAM_ORDER = ("mu", "beta", "tau", "tau_within", "nu", "PET", "PEESE", "omega", "theta", "theta_new")
_EXACT_COLUMNS = ["mean", "sd", "median", "eti_lower", "eti_upper"]


def var_dim(posterior: Any, name: str) -> str | None:
    """The non-(chain, draw) dim of a variable of the posterior group, or None for a scalar."""
    extra = [d for d in posterior[name].dims if d not in ("chain", "draw")]
    return extra[0] if extra else None


def param_rows(posterior: Any) -> list[tuple[str, str, str | None]]:
    """(row name, variable, label) in the order of the summary."""
    rows = []
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


def exact_table(post: Any, prob: float) -> tuple[pd.DataFrame | None, list[str]]:
    """The exact rows at *prob* and the columns they provide (None when the posterior has no exact part)."""
    ep = getattr(post, "exact", None)
    if ep is not None:
        return ep.summary(prob=prob), _EXACT_COLUMNS
    ex = getattr(post, "exact_summary", None)
    if ex is None:
        return None, []
    return ex, (_EXACT_COLUMNS if abs(prob - 0.95) < 1e-12 else ["mean", "sd", "median"])


def summary_table(post: Any, hdi: bool = False, prob: float = 0.95) -> pd.DataFrame:
    """The table of :meth:`MetaPosterior.summary` (see there); each number from one source."""
    posterior = post.idata.posterior
    rows = param_rows(posterior)
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    exact, exact_cols = exact_table(post, prob)
    ep = getattr(post, "exact", None)
    if exact is not None and "theta" not in posterior:  # draws kept without the study effects (large k)
        known = {r[0] for r in rows}
        rows = [r for r in rows if r[1] != "theta_new"]
        rows += [(r, "theta", r[6:-1]) for r in exact.index if r.startswith("theta[") and r not in known]
        rows += [r for r in param_rows(posterior) if r[1] == "theta_new"]
    diag = mcmc_diagnostics(post) if exact is None else {}
    nan = float("nan")
    pos = {} if exact is None else {r: i for i, r in enumerate(exact.index)}
    ex_vals = None if exact is None else {c: exact[c].to_numpy(dtype=float) for c in exact_cols}
    out = []
    for row, var, lab in rows:
        from_exact = row in pos
        use = exact_cols if from_exact else []
        exact_hdi = hdi and from_exact and ep is not None
        need_draws = (hdi and not exact_hdi) or len(use) < len(_EXACT_COLUMNS)
        x = post.draws(var, lab) if need_draws else None
        rec = {}
        for col in _EXACT_COLUMNS:
            if col in use:
                rec[col] = float(ex_vals[col][pos[row]])
            elif col == "mean":
                rec[col] = float(np.mean(x))
            elif col == "sd":
                rec[col] = float(np.std(x, ddof=1)) if x.size > 1 else nan
            elif col == "median":
                rec[col] = float(np.median(x))
            else:
                rec[col] = float(np.quantile(x, lo_q if col == "eti_lower" else hi_q))
        r = diag.get(row, (nan,) * 3)
        rec.update(r_hat=r[0], ess_bulk=r[1], ess_tail=r[2])
        if exact_hdi:
            rec["hdi_lower"], rec["hdi_upper"] = ep.hdi(row, prob)
        elif hdi:
            rec["hdi_lower"], rec["hdi_upper"] = hdi_of_draws(x, prob)
        out.append(rec)
    cols = SUMMARY_COLUMNS + (["hdi_lower", "hdi_upper"] if hdi else [])
    return pd.DataFrame(out, index=pd.Index([r[0] for r in rows], name="parameter"), columns=cols)


def mcmc_diagnostics(post: Any) -> dict[str, tuple[float, float, float]]:
    """row -> (r_hat, ess_bulk, ess_tail) from ArviZ (empty with one chain or fewer than 4 draws)."""
    posterior = post.idata.posterior
    rows = param_rows(posterior)
    names = sorted({var for _, var, _ in rows})
    ds = posterior[names]
    if posterior.sizes["chain"] < 2 or posterior.sizes["draw"] < 4:
        return {}
    rhat, bulk, tail = rhat_ess(ds)
    out = {}
    for row, var, lab in rows:
        vals = []
        for d in (rhat, bulk, tail):
            da = d[var]
            if lab is not None:
                dim = da.dims[0]
                labels = [str(c) for c in da.coords[dim].values]
                da = da.isel({dim: labels.index(lab)})
            vals.append(float(da.values))
        out[row] = tuple(vals)
    return out


def compare_frequentist(post: Any, level: float = 0.95) -> pd.DataFrame:
    """The frequentist estimates (``bayesma.rma``) beside the posterior.

    Rows ``FE``, ``DL``, ``REML``, ``REML+KH`` (Knapp-Hartung) and
    ``Bayesian (<engine>)``; columns ``estimate, ci_lb, ci_ub`` (the pooled
    effect and its interval), ``tau, tau_ci_lb, tau_ci_ub`` (Q-profile
    interval; 0 and NaN for FE) and ``pi_lb, pi_ub`` (prediction interval
    for a new study). The Bayesian row gives posterior medians and
    equal-tailed intervals (``theta_new`` for the prediction interval).

    For a meta-regression the index is a MultiIndex ``(method, coef)``:
    one row per method and coefficient, intercept first; the tau columns
    repeat within a method, and ``pi_lb, pi_ub`` are the prediction
    interval of a new study at the mean moderator values (``spec.x_new``),
    also repeated. Subgroup-tau and three-level models are compared with
    the ordinary (single-tau, two-level) frequentist fits; three-level
    models also get a ``REML (3-level)`` row from :func:`bayesma.rma_mv`
    when available.

    Examples
    --------
    >>> post.compare_frequentist().round(3)            # doctest: +SKIP
    """
    from bayesma.frequentist import fit_rma

    spec = post.spec
    if level > 1:
        level = level / 100.0
    reg = spec.is_regression
    rows: list[tuple[Any, dict]] = []
    x_new = np.asarray(spec.x_new, dtype=float)

    def add(method_label: str, res) -> None:
        tau, t_lo, t_hi = 0.0, float("nan"), float("nan")
        if method_label != "FE":
            tau = res.tau
            if res.tau2_ci is not None:
                t_lo, t_hi = (float(np.sqrt(max(v, 0.0))) for v in res.tau2_ci)
        # predict() takes the full design row (intercept included) of a regression
        pred = res.predict(newmods=x_new[None, :] if reg else None, level=level)
        pi_lb, pi_ub = float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0])
        for j, name in enumerate(res.coef_names):
            rec = {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]),
                   "tau": tau, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub}
            rows.append(((method_label, name) if reg else method_label, rec))

    md = spec.meta
    for label, method, test in (("FE", "FE", "z"), ("DL", "DL", "z"), ("REML", "REML", "z"),
                                ("REML+KH", "REML", "knha")):
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

    # Bayesian row(s): posterior medians and equal-tailed intervals (exact values when available)
    bname = f"Bayesian ({post.engine})"
    summ = post.summary(prob=level)
    posterior = post.idata.posterior

    def mci(row: str, var: str) -> tuple[float, float, float]:
        if row in summ.index:
            r = summ.loc[row]
            return float(r["median"]), float(r["eti_lower"]), float(r["eti_upper"])
        # a vector (per subgroup): pooled over its elements (exact engine: the equal mixture)
        return post.interval(row, level)

    tau_med, t_lo, t_hi = mci("tau", "tau") if "tau" in posterior else (0.0, float("nan"), float("nan"))
    _, pi_lb, pi_ub = mci("theta_new", "theta_new")
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

    # ------------------------------------------------------------------
    # save / load