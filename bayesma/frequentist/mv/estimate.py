"""From data to an :class:`~bayesma.frequentist.mv.result.RMAMVResult`: estimate the components,
then the fixed effects, their tests (z, or t with metafor's ``dfs``), Q statistics, multilevel
I² and the fit statistics, as metafor's ``rma.mv``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.data import MetaData
from bayesma.errors import InputError
from bayesma.frequentist._common import wald_tests, warn_vi_ratio
from bayesma.frequentist.mv.blocks import BlockDiag
from bayesma.frequentist.mv.likelihood import Evaluation, Layout
from bayesma.frequentist.mv.optimize import Params, maximize
from bayesma.frequentist.mv.result import RMAMVResult

__all__ = ["fit_model", "contain_dfs"]

_LOG2PI = float(np.log(2 * np.pi))


def _constant_within(x: np.ndarray, codes: np.ndarray) -> bool:
    """Is x constant within every level of codes (metafor's containment check)?"""
    frame = pd.DataFrame({"c": codes, "x": x})
    return bool((frame.groupby("c")["x"].nunique() <= 1).all())


def contain_dfs(X: np.ndarray, layout: Layout) -> np.ndarray:
    """metafor's ``dfs="contain"``: for each coefficient, the fewest levels among the random
    factors within whose levels its column is constant (k if none), minus p."""
    k, p = X.shape
    factors = [(t.codes, t.n_levels) for t in layout.sigmas]
    for t in layout.structs:
        inner = t.inner_codes * (t.outer_codes.max() + 1) + t.outer_codes
        factors += [(inner, len(np.unique(inner))), (t.outer_codes, len(t.outer_levels))]
    ddf = np.full(p, k)
    for j in range(p):
        for codes, n in factors:
            if _constant_within(X[:, j], codes):
                ddf[j] = min(ddf[j], n)
    return ddf - p


def _dfs(dfs: Any, test: str, X: np.ndarray, layout: Layout) -> Any:
    k, p = X.shape
    if test != "t":
        return None
    if dfs is None or dfs == "residual":
        return k - p
    if dfs == "contain":
        ddf = contain_dfs(X, layout)
        return int(ddf[0]) if np.all(ddf == ddf[0]) else ddf
    arr = np.atleast_1d(np.asarray(dfs, dtype=float))
    if arr.size not in (1, p):
        raise InputError(f"dfs has {arr.size} values but the model has {p} coefficients")
    return float(arr[0]) if arr.size == 1 else arr


def _tests(beta, vb, coef_names, X, dfs):
    """Wald tests with scalar or per-coefficient degrees of freedom (F df2 = min over the tested)."""
    has_intercept = bool(np.allclose(X[:, 0], 1.0)) and coef_names[0] == "intrcpt"
    if dfs is None or np.ndim(dfs) == 0:
        btt, QM, QMp, pval = wald_tests(beta, vb, has_intercept, dfs)
        return btt, QM, QMp, np.asarray(pval, dtype=float), dfs
    btt, QM, _, _ = wald_tests(beta, vb, has_intercept, None)
    df2 = float(np.min(dfs[btt]))
    QM = QM / len(btt)
    QMp = float(stats.f.sf(QM, len(btt), df2)) if df2 > 0 else np.nan
    stat = beta / np.sqrt(np.diag(vb))
    pval = np.where(dfs > 0, 2 * stats.t.sf(np.abs(stat), np.maximum(dfs, 1)), np.nan)
    return btt, QM, QMp, pval, df2


def _trace_P(ev: Evaluation) -> float:
    tr = sum(float(np.trace(Mi, axis1=1, axis2=2).sum()) for Mi, _, _ in ev.parts)
    K = sum(np.einsum("nap,naq->pq", MiX, MiX) for _, MiX, _ in ev.parts)
    return tr - float(np.sum(ev.vb * K))


def _fit_stats(ev: Evaluation, V: BlockDiag, k: int, p: int, parms: int) -> pd.DataFrame:
    logdet_V = 0.0
    for g in V.groups():
        sign, ld = np.linalg.slogdet(g.mats)
        logdet_V += float(np.sum(ld))
    ll_qe = -0.5 * k * _LOG2PI - 0.5 * logdet_V
    out = {}
    for name, ll, n in (("ML", ev.ll_ml, k), ("REML", ev.ll_reml, k - p)):
        dev = -2 * (ll - ll_qe) if name == "ML" else -2 * ll
        nn = max(n, parms + 2)
        out[name] = [ll, dev, -2 * ll + 2 * parms, -2 * ll + parms * np.log(n),
                     -2 * ll + 2 * parms * nn / (nn - parms - 1)]
    return pd.DataFrame(out, index=["ll", "dev", "AIC", "BIC", "AICc"])


def _I2(sigma2: np.ndarray, names: tuple, ev0: Evaluation | None, k: int, p: int, nested: bool) -> pd.Series:
    index = ["total", "between", "within"] if nested and len(sigma2) == 2 else ["total", *names]
    if ev0 is None or not len(sigma2):
        return pd.Series(np.full(len(index), np.nan), index=index, name="I2")
    vt = (k - p) / _trace_P(ev0)
    tot = float(np.sum(sigma2))
    return pd.Series(100.0 * np.concatenate([[tot], sigma2]) / (tot + vt), index=index, name="I2")


def _scale(y: np.ndarray, X: np.ndarray, V: BlockDiag) -> float:
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    return float(max(np.var(e), 1e-4 * float(np.mean(V.diagonal())), 1e-12))


def fit_model(md: MetaData, X: np.ndarray, coef_names: list[str], V: BlockDiag, sigmas: list, structs: list,
              params: Params, struct_info: list[dict], *, method: str, test: str, dfs: Any, level: float,
              nested_names: bool = False) -> RMAMVResult:
    """Estimate the model and assemble the result."""
    y = np.asarray(md.yi, dtype=float)
    k, p = X.shape
    warn_vi_ratio(V.diagonal())
    layout = Layout(y, X, V, sigmas, structs)
    reml = method == "REML"
    ev0 = layout.evaluate(np.zeros(layout.n_params()), reml)  # V alone: QE and the typical variance
    scale = _scale(y, X, V)
    theta, ev = maximize(layout, reml, params, scale)
    beta, vb = ev.beta, ev.vb
    se = np.sqrt(np.diag(vb))
    df = _dfs(dfs, test, X, layout)
    btt, QM, QMp, pval, df2 = _tests(beta, vb, coef_names, X, df)
    crit = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    QE = float(ev0.rss) if ev0 is not None else np.nan
    sig, parts = layout.split(layout.internal(theta))
    s_names = tuple(t.name for t in sigmas)
    parms = p + len(params.free)
    pi_lb = pi_ub = None
    single = all(info["n_tau2"] == 1 for info in struct_info)
    if p == 1 and single:
        extra = float(np.sum(sig)) + sum(float(t[0][0]) for t in parts)
        pi_se = float(np.sqrt(se[0] ** 2 + extra))
        pi_lb, pi_ub = float(beta[0] - crit * pi_se), float(beta[0] + crit * pi_se)
    names = ("tau2", "rho", "gamma2", "phi")
    comp = {n: np.zeros(0) for n in names}
    for j, (tau2, rho) in enumerate(parts):
        comp[names[2 * j]], comp[names[2 * j + 1]] = tau2.copy(), rho.copy()
    return RMAMVResult(
        method=method, test=test, level=level, k=k, p=p, n_clusters=layout.n_components,
        coef_names=list(coef_names), beta=beta, se=se, vb=vb, stat=beta / se, pval=pval,
        ci_lb=beta - crit * se, ci_ub=beta + crit * se, sigma2=sig.copy(), QE=QE,
        QEp=float(stats.chi2.sf(QE, k - p)), QM=QM, QMp=QMp, QMdf=(len(btt), df2), dfs=df,
        logLik=float(ev.ll), fit_stats=_fit_stats(ev, V, k, p, parms),
        I2_levels=_I2(sig, s_names, ev0, k, p, nested_names), s_names=s_names,
        s_nlevels=tuple(int(t.n_levels) for t in sigmas), iterations=0, pi_lb=pi_lb, pi_ub=pi_ub, data=md, X=X,
        btt=btt, yi=y, V=V, theta=theta, params=params, layout=layout, struct_info=struct_info, scale=scale,
        parms=parms, **comp,
    )
