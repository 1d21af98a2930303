"""Fit one GLMM meta-analysis: the fixed-effects model, the random-effects (ML) model, the
saturated model, and the statistics metafor's ``rma.glmm`` reports.

As metafor, moderators that are not 0/1 dummies are standardised for the optimisation and the
coefficients transformed back (``control=list(scaleX=TRUE)``); the standard errors come from
the inverse of the observed information of all parameters (lme4's ``vcov`` with its Hessian,
metafor's ``numDeriv`` Hessian for CM.EL), evaluated here by finite differences of the exact
(quadrature) log-likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from bayesma.coefs import resolve_btt
from bayesma.frequentist.glmm.data import GLMMData
from bayesma.frequentist.glmm.heterogeneity import saturated, saturated_observations, typical_variance, wald_qe
from bayesma.frequentist.glmm.models import Counts, conditional_loglik, counts_for, problem
from bayesma.frequentist.glmm.newton import LocalProblem, covariance, maximize
from bayesma.frequentist.glmm.options import GLMMControl

__all__ = ["fit_glmm", "default_nodes"]

_LOG_SD_FLOOR = -12.0


def default_nodes(measure: str, model: str) -> int:
    """metafor's quadrature: lme4's adaptive Gauss-Hermite with 7 nodes, the Laplace
    approximation (1) for UM.RS's two random effects; 41 nodes for the hypergeometric
    likelihood (metafor integrates it with R's ``integrate``; a table at the end of its
    support makes the integrand one-sided, where 21 nodes leave ~4e-6 in the log-likelihood)."""
    if model == "UM.RS" and measure in ("OR", "RR", "IRR"):
        return 1
    if model == "CM.EL" and measure == "OR":
        return 41
    return 7


def _scale(X: np.ndarray, names: list[str]):
    """metafor's scaleX: standardise the non-dummy moderators (with an intercept present)."""
    k, p = X.shape
    is_int = np.all(X == 1.0, axis=0)
    if p == 1 or not is_int[0]:
        return X, np.eye(p)
    is_dummy = np.all((X == 0) | (X == 1), axis=0)
    Xs = X.copy()
    M = np.eye(p)
    for j in range(1, p):
        if is_dummy[j]:
            continue
        m, s = X[:, j].mean(), X[:, j].std(ddof=1)
        Xs[:, j] = (X[:, j] - m) / s
        M[0, j] = -m / s
        M[j, j] = 1.0 / s
    return Xs, M


def _empirical(cnt: Counts) -> tuple[np.ndarray, np.ndarray]:
    """Starting values: empirical log odds ratios (rates) and baselines with 1/2 added."""
    y, off = cnt.y, cnt.offset
    if cnt.family == "nch":
        a, b, c, d = (v + 0.5 for v in cnt.nch.cells)
        return np.log(a * d / (b * c)), np.zeros(a.size)
    if cnt.family == "binomial":
        lo = np.log((y + 0.5) / (cnt.size - y + 0.5)) - off
    elif cnt.family == "binomial_log":  # log risks, below 0
        lo = np.log((y + 0.5) / (cnt.sizes + 1.0))
    else:
        lo = np.log(y + 0.5) - off
    if y.shape[1] == 2:
        return lo[:, 0] - lo[:, 1], lo[:, 1]
    return lo[:, 0], np.zeros(y.shape[0])


def _start(model: str, cnt: Counts, X: np.ndarray) -> np.ndarray:
    emp, base = _empirical(cnt)
    beta = np.linalg.lstsq(X, emp, rcond=None)[0]
    if model == "UM.FS":
        return np.concatenate([beta, base])
    if model == "UM.RS":
        return np.concatenate([beta, [float(np.mean(base))], [np.log(0.5)]])
    return beta


def _ml_start(model: str, theta_fe: np.ndarray, nch: bool, cor: bool = False) -> np.ndarray:
    return np.concatenate([theta_fe, [0.0] if cor else [], [np.log(0.09) if nch else np.log(0.3)]])


def fit_glmm(gd: GLMMData, model: str, method: str, n_nodes: int, level: float, btt: Any = None,
             fe_nodes: int | None = None, test: str = "z", coding: float = 0.5, cor: bool = False,
             control: GLMMControl | None = None) -> dict[str, Any]:
    """Fit *model* (``"UM.FS"``, ``"UM.RS"``, ``"CM.EL"``, ``"CM.AL"``) by *method* (``"ML"``
    or ``"FE"``) to the checked counts *gd*; returns metafor's numbers in a dict.

    *coding* and *cor* are metafor's (the group coding of UM.FS / UM.RS's random effects; UM.RS
    with correlated random intercept and slope); *control* the settings of
    :mod:`~bayesma.frequentist.glmm.options` (scaleX, Newton iterations).

    *fe_nodes*: the nodes of UM.RS's fixed-effects fit when it is the reported model
    (metafor keeps lme4's 7 there and reduces to the Laplace approximation only for the
    random-effects fit)."""
    X, names = gd.X, gd.coef_names
    k, p = X.shape
    ctrl = control or GLMMControl()
    Xs, M = _scale(X, names) if ctrl.scaleX else (X, np.eye(p))
    cnt = counts_for(gd.measure, model, gd.counts)
    model = model if gd.measure in ("OR", "RR", "IRR") else "single"
    nch = cnt.family == "nch"
    um_rs_fe = model == "UM.RS" and method == "FE"
    fe = problem(model, cnt, Xs, False, (fe_nodes or n_nodes) if um_rs_fe else n_nodes)
    th_fe, ll_fe, H_fe = maximize(fe, _start(model, cnt, Xs), floor={p + 1: _LOG_SD_FLOOR} if model == "UM.RS" else None,
                                  max_iter=ctrl.maxiter, tol=ctrl.threshold)
    sigma2 = rho = np.nan
    tau2 = 0.0
    ll_marginal = ll_fe
    se_tau2 = np.nan
    if method == "FE":
        theta, ll, H = th_fe, ll_fe, H_fe
        if model == "UM.FS" and cnt.family == "binomial_log":
            H = _expected_hessian(fe, cnt, theta)  # metafor's glm: Fisher information (not canonical here)
        if model == "UM.RS":
            sigma2 = float(np.exp(2 * th_fe[p + 1]))
            if (fe_nodes or n_nodes) > 1:  # lme4's logLik with nAGQ > 1 leaves out the saturated log-likelihood
                ll = ll_fe - saturated_observations(cnt)
    else:
        cor = cor and model == "UM.RS"
        ml = problem(model, cnt, Xs, True, n_nodes, coding=coding, cor=cor)
        j = ml.A.shape[2] - 1
        floor = {j: 2 * _LOG_SD_FLOOR if nch else _LOG_SD_FLOOR}
        if model == "UM.RS":
            floor[p + 1] = _LOG_SD_FLOOR
        theta, ll, H = maximize(ml, _ml_start(model, th_fe, nch, cor), floor=floor, max_iter=ctrl.maxiter,
                                tol=ctrl.threshold)
        at_floor = theta[j] <= floor[j] + 1e-9
        if not at_floor and np.exp(theta[j] if nch else 2 * theta[j]) < 1e-6 and ll - ll_fe < 1e-6:
            # tau^2 at its bound: the fixed-effects fit (lme4 and nlminb stop at tau = 0)
            at_floor = True
            theta = np.concatenate([th_fe, [0.0] if cor else [], [floor[j]]])
            ll, H = ll_fe, np.pad(H_fe, ((0, 1 + cor), (0, 1 + cor)))
        tau2 = 0.0 if at_floor else float(np.exp(theta[j]) if nch else np.exp(2 * theta[j]))
        if model == "UM.RS":
            sigma2 = float(np.exp(2 * theta[p + 1]))
        if cor and not at_floor:
            rho = float(np.tanh(theta[p + 2]))
        if at_floor:  # tau^2 = 0 (and with it rho) leaves the model
            gone = [j - 1, j] if cor else [j]
            H = np.delete(np.delete(H, gone, 0), gone, 1)
        ll_marginal = ll
        if model != "UM.RS" and not nch:
            ll = conditional_loglik(model, cnt, Xs, theta, coding)
    own = fe.own if method == "FE" or model != "UM.FS" else ml.own
    V = covariance(H, own)
    if method == "ML" and nch and tau2 > 0 and V[-1, -1] >= 0:
        se_tau2 = float(np.sqrt(V[-1, -1]) * tau2)
    vb = M @ V[:p, :p] @ M.T
    beta = M @ theta[:p]
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(vb))  # NaN where the information is not positive (an infinite estimate)
    out: dict[str, Any] = {"beta": beta, "vb": vb, "se": se, "tau2": tau2, "se_tau2": se_tau2, "sigma2": sigma2,
                           "rho": rho, "ll": ll, "ll_marginal": ll_marginal, "ll_FE": ll_fe}
    out.update(_heterogeneity(model, cnt, (fe_nodes or n_nodes) if um_rs_fe else n_nodes, X, ll_fe, k, p))
    has = np.isfinite(gd.vi)  # metafor's k.yi studies: escalc has an estimate (NA with to="none", ...)
    vt = typical_variance(gd.vi[has], X[has])
    with np.errstate(invalid="ignore", divide="ignore"):
        out.update(vt=vt, I2=100 * tau2 / (vt + tau2), H2=tau2 / vt + 1)
    out.update(_tests(beta, vb, se, names, level, btt, test, k))
    out.update(_fit_stats(model, method, ll, out["ll_QE"], k, p))
    return out


def _expected_hessian(prob: LocalProblem, cnt: Counts, theta: np.ndarray) -> np.ndarray:
    """Minus the expected (Fisher) information of the fixed-effects two-group model at *theta*: what
    R's ``glm`` inverts for its standard errors; equal to the observed information for canonical links."""
    S = prob.A @ theta                                        # local (m, c): group 1 at c + m, group 2 at c
    eta = cnt.offset + np.column_stack([S[:, 1] + S[:, 0], S[:, 1]])
    p = np.exp(eta)                                           # log link: w = n p / (1 - p) per group
    w = cnt.sizes * p / (1 - p)
    J = np.zeros((S.shape[0], 2, 2))
    J[:, 0, 0] = w[:, 0]
    J[:, 0, 1] = J[:, 1, 0] = w[:, 0]
    J[:, 1, 1] = w[:, 0] + w[:, 1]
    return -np.einsum("krP,krs,ksQ->PQ", prob.A, J, prob.A)


def _heterogeneity(model: str, cnt: Counts, n_nodes: int, X: np.ndarray, ll_fe: float, k: int, p: int) -> dict:
    if k <= 1:
        return {"QE_Wld": np.nan, "QEp_Wld": np.nan, "QE_LRT": np.nan, "QEp_LRT": np.nan, "QE_df": np.nan,
                "ll_QE": np.nan}
    ll_qe, theta, info = saturated(model, cnt, n_nodes)
    qw = wald_qe(theta, info, X)
    ql = max(0.0, -2 * (ll_fe - ll_qe))
    df = k - p
    return {"QE_Wld": qw, "QE_LRT": ql, "QE_df": df, "ll_QE": ll_qe,
            "QEp_Wld": float(stats.chi2.sf(qw, df)) if df > 0 else 1.0,
            "QEp_LRT": float(stats.chi2.sf(ql, df)) if df > 0 else 1.0}


def _btt(btt: Any, names: list[str]) -> np.ndarray:
    p = len(names)
    if btt is None:
        return np.arange(1, p) if p > 1 and names[0] == "intrcpt" else np.arange(p)
    return np.asarray(resolve_btt(btt, names), dtype=int)  # numbers from 1 or R names, as everywhere


def _tests(beta, vb, se, names, level, btt, test: str = "z", k: int | None = None) -> dict:
    """Wald tests of the coefficients: z, or (``test="t"``) t with k - p degrees of freedom
    and QM as an F statistic (QM / m on m and k - p degrees of freedom), as metafor."""
    z = beta / se
    b = _btt(btt, names)
    m = len(b)
    QM = float(beta[b] @ np.linalg.solve(vb[np.ix_(b, b)], beta[b]))
    if test == "t":
        ddf = (k or 0) - len(names)
        ok = ddf > 0
        crit = stats.t.isf((1 - level) / 2, ddf) if ok else np.nan
        pval = 2 * stats.t.sf(np.abs(z), ddf) if ok else np.full(len(names), np.nan)
        QM = QM / m
        QMp = float(stats.f.sf(QM, m, ddf)) if ok else np.nan
        return {"zval": z, "pval": pval, "ci_lb": beta - crit * se, "ci_ub": beta + crit * se, "QM": QM,
                "QMdf": (m, ddf), "QMp": QMp, "btt": b, "dfs": ddf}
    crit = stats.norm.ppf(1 - (1 - level) / 2)
    return {"zval": z, "pval": 2 * stats.norm.sf(np.abs(z)), "ci_lb": beta - crit * se, "ci_ub": beta + crit * se,
            "QM": QM, "QMdf": (m, None), "QMp": float(stats.chi2.sf(QM, m)), "btt": b, "dfs": None}


def _fit_stats(model: str, method: str, ll: float, ll_qe: float, k: int, p: int) -> dict:
    if model == "UM.FS":
        parms, k_eff = p + k + (method == "ML"), 2 * k
    elif model == "UM.RS":
        parms, k_eff = p + 2 + (method == "ML"), 2 * k
    else:
        parms, k_eff = p + (method == "ML"), k
    big = max(k_eff, parms + 2)
    return {"parms": parms, "k_eff": k_eff,
            "fit_stats": {"ll": ll, "dev": -2 * (ll - ll_qe), "AIC": -2 * ll + 2 * parms,
                          "BIC": -2 * ll + parms * np.log(k_eff), "AICc": -2 * ll + 2 * parms * big / (big - parms - 1)}}
