"""Selection models for publication bias, with metafor's numbers (``selmodel``).

A selection model multiplies the normal (random-effects) density of each observed
effect by a weight function ``w(p)`` of its one-sided p-value and renormalises:

    f(y_i) = w(p_i) phi(y_i; x_i'beta, v_i + tau2) / A_i,
    A_i    = integral of w(p(y)) phi(y; x_i'beta, v_i + tau2) dy.

The parameters (beta, tau2, delta) are estimated by maximum likelihood as in
``metafor::selmodel.rma.uni`` (3.8-1): the same weight functions and
parameterisations, the same bounds for delta (mapped onto ``(delta_min, delta_max)``
by a logistic transformation while optimising), tau2 on the log scale, the same
starting values (the ML/FE estimates, ``log(tau2 + 0.001)``, delta = 1), standard
errors from the Hessian of the log-likelihood computed by Richardson extrapolation
(numDeriv's method with ``r = 6``) on the untransformed scale, and the likelihood-
ratio test of the selection parameters against the model without selection.
The step-function normaliser has a closed form; the smooth types integrate with a
composite Gauss-Legendre rule whose panels follow both the normal density and the
p-value transition (about 1e-12 relative accuracy).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.errors import ArgumentTypeError, InputError, UnsupportedModelError
from bayesma.frequentist.bias._selection_fit import (
    _EPS,
    METAFOR_REL_TOL,
    _from_delta,
    _hessian,
    _minimise,
    _Model,
    _Spec,
    _spec,
    _to_delta,
    weight_function,
)
from bayesma.frequentist.bias.dependent import refuse_dependent
from bayesma.frequentist.bias.direction import resolve_alternative
from bayesma.frequentist.bias.selection_result import SelModelResult, _interval_labels, _param_names
from bayesma.frequentist.uni import RMAResult, rma
from bayesma.frequentist.weights import refuse_user_weights

__all__ = ["selmodel", "SelModelResult", "SELMODEL_TYPES", "weight_function", "METAFOR_REL_TOL"]

SELMODEL_TYPES = ("stepfun", "beta", "halfnorm", "negexp", "logistic", "power", "negexppow",
                  "halfnorm2", "negexp2", "logistic2", "power2")


def _ml_input(res: RMAResult) -> RMAResult:
    """The fit the selection model starts from: ML or FE (other estimators are refitted with ML, as metafor);
    a fit with a fixed tau² is used as it is (metafor keeps tau² fixed in the selection model)."""
    if res.method in ("ML", "FE") or res.tau2_fix:
        return res
    X = np.asarray(res.X, float)
    if res.coef_names[0] != "intrcpt" or not np.allclose(X[:, 0], 1.0):
        raise InputError("selmodel: refit this model with method='ML' (a model without intercept is not refitted)")
    mods = None if X.shape[1] == 1 else pd.DataFrame(X[:, 1:], columns=res.coef_names[1:])
    refit = rma(res.data, method="ML", mods=mods, level=res.level)
    assert isinstance(refit, RMAResult)  # no cluster=: a univariate fit
    return refit


def _check_steps(type: str, steps: Any) -> np.ndarray | None:
    if steps is None:
        if type == "stepfun":
            raise InputError("selmodel: type='stepfun' needs steps, e.g. steps=[0.025, 1]")
        return None
    if type == "beta":
        raise InputError("selmodel: steps cannot be used with type='beta' (its weight function has no step)")
    s = np.atleast_1d(np.asarray(steps, dtype=float))
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise InputError("selmodel: steps must be a non-empty list of p-values in [0, 1]")
    if np.any((s < 0) | (s > 1)):
        raise InputError(f"selmodel: steps must lie in [0, 1], got {s.tolist()}")
    s = np.unique(s)
    if s[-1] != 1.0:
        s = np.append(s, 1.0)
    if type != "stepfun" and s.size != 2:
        raise InputError(f"selmodel: type={type!r} takes a single step (steps=[alpha, 1]), got {s.tolist()}")
    return s


def _scaling(X: np.ndarray, coef_names: list[str]) -> np.ndarray:
    """metafor's rescaling of non-dummy moderators while optimising: beta = M @ beta_scaled."""
    p = X.shape[1]
    M = np.eye(p)
    if p == 1 or coef_names[0] != "intrcpt" or not np.allclose(X[:, 0], 1.0):
        return M
    for j in range(1, p):
        col = X[:, j]
        if np.all((col == 0) | (col == 1)):
            continue
        mean, sd = col.mean(), col.std(ddof=1)
        M[0, j], M[j, j] = -mean / sd, 1.0 / sd
    return M


def selmodel(
    res: RMAResult,
    type: str,
    steps: Any = None,
    alternative: str = "auto",
    *,
    delta: Any = None,
    rel_tol: float | None = METAFOR_REL_TOL,
) -> SelModelResult:
    """Fit a selection model for publication bias (metafor's ``selmodel``).

    The effects are modelled as (mixed-effects) normal with a weight function of
    their one-sided p-values that describes how likely a study with that p-value
    is to be published; beta, tau² and the selection parameters delta are
    estimated jointly by maximum likelihood, as in ``metafor::selmodel.rma.uni``.

    Parameters
    ----------
    res : RMAResult
        A fit of :func:`bayesma.rma` (with or without moderators). Fits with
        ``method="ML"`` or ``"FE"`` are used as they are; other tau² estimators are
        refitted with ML first, as metafor does.
    type : {"stepfun", "beta", "halfnorm", "negexp", "logistic", "power", "negexppow", \
"halfnorm2", "negexp2", "logistic2", "power2"}
        The weight function w(p), with metafor's parameterisations:

        - ``"stepfun"``: w = delta_j for p in the j-th interval of *steps*
          (Vevea & Hedges 1995); delta_1 = 1.
        - ``"beta"``: w = p^(delta1 - 1) (1 - p)^(delta2 - 1) (Citkowicz & Vevea 2017).
        - ``"halfnorm"``: exp(-delta p²), ``"negexp"``: exp(-delta p),
          ``"logistic"``: 2 exp(-delta p) / (1 + exp(-delta p)),
          ``"power"``: (1 - p)^delta (Preston et al. 2004); each equals 1 for
          p <= steps[0] when a step is given.
        - ``"negexppow"``: exp(-delta1 p^(1/delta2)) (two parameters; no selection
          at delta1 = 0).
        - ``"halfnorm2"``, ``"negexp2"``, ``"logistic2"``, ``"power2"``: (delta1 +
          w(p; delta2)) / (1 + delta1) with w the one-parameter type of that name, so
          that the weight levels off at delta1 / (1 + delta1) instead of reaching 0.
    steps : sequence of float, optional
        P-value cut points (a final 1 is added). Needed for ``"stepfun"``; a
        single value ``[alpha, 1]`` for the smooth types (except ``"beta"``).
    alternative : {"auto", "greater", "less"}
        Direction in which significant results are favoured: the one-sided p-values are
        computed for ``"greater"`` (positive effects favoured) or ``"less"``. ``"auto"`` (the
        default; metafor's is ``"greater"``) detects it from the sign of the pooled effect
        (:mod:`bayesma.frequentist.bias.direction`), so results equal metafor's on positive
        effects; an explicit value that contradicts the data is used with a warning. The
        printout says which was used.
    delta : sequence of float, optional
        Fix selection parameters at these values (``nan`` = estimate), e.g. a
        step function with fixed weights as in Vevea & Woods (2005).
    rel_tol : float or None
        Tolerance of the adaptive integration of the smooth types (metafor's
        ``control = list(intCtrl = list(rel.tol = ...))``); the default is metafor's
        (R's ``integrate`` default, 1.2e-4), which reproduces metafor's numbers but
        leaves integration noise in the Hessian: the standard errors of the smooth
        types can be off by tens of percent. ``None`` integrates to machine precision
        (composite Gauss-Legendre) -- recommended for reporting; it agrees with metafor
        run with ``rel.tol = 1e-10``. Step functions have a closed form either way.

    Returns
    -------
    SelModelResult
        With metafor's names: ``beta``, ``se``, ``ci_lb``, ``ci_ub``, ``pval``,
        ``tau2``, ``se_tau2``, ``delta``, ``se_delta``, ``ci_lb_delta``,
        ``ci_ub_delta``, ``LRT``, ``LRTdf``, ``LRTp``, ``ll``, ``k_per_interval``;
        ``.plot()`` draws the selection function.

    Raises
    ------
    ValueError
        Unknown type or alternative, bad steps, a p-value interval with no study
        (named), too few studies for the parameters, non-positive sampling variances.
    RuntimeError
        When the optimiser does not converge (the parameter that keeps moving is named).

    Warns
    -----
    UserWarning
        When an estimate of delta lies at its bound (as metafor), or the Hessian
        cannot be inverted (standard errors are then NaN).

    References
    ----------
    Viechtbauer W. metafor: ``selmodel`` (version 3.8-1). Vevea JL, Hedges LV (1995).
    A general linear model for estimating effect size in the presence of publication
    bias. Psychometrika 60:419-435. Citkowicz M, Vevea JL (2017). A parsimonious weight
    function for modeling publication bias. Psychological Methods 22:28-41. Preston C,
    Ashby D, Smyth R (2004). Adjusting for publication bias: modelling the selection
    process. Journal of Evaluation in Clinical Practice 10:313-322.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> sel = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), type="stepfun", steps=[0.05, 1])
    >>> round(float(sel.beta[0]), 4), sel.k_per_interval.tolist()
    (0.3278, [7, 30])
    """
    res, yi, vi, alternative = _check_input(res, type, alternative)
    steps = _check_steps(type, steps)
    spec = _spec(type, 0 if steps is None else steps.size)
    fixed_delta = _fixed_delta(type, spec, delta)
    is_fixed = np.isfinite(fixed_delta)
    tau2_free = res.method != "FE" and not res.tau2_fix
    X0 = np.asarray(res.X, float)
    k, p = X0.shape
    n_par = p + int(tau2_free) + int((~is_fixed).sum())
    if k < n_par:
        raise InputError(f"selmodel: number of studies (k = {k}) is too small to fit {n_par} parameters")
    M = _scaling(X0, res.coef_names)
    X = X0 @ M  # the rescaled columns (x - mean) / sd; X0 @ beta = X @ beta_scaled
    X = np.where(np.abs(X) < 1e-14, 0.0, X)
    model = _Model(type, yi, vi, X, steps, spec, alternative, rel_tol)
    k_per = _studies_per_interval(type, steps, model.pvals, is_fixed, alternative)
    free_names = _param_names(type, spec.n_delta, steps)
    problem = _Problem.build(res, model, spec, fixed_delta, np.linalg.solve(M, np.asarray(res.beta, float)), free_names)

    beta_s, tau2, delta_hat, ll = problem.fit(None if tau2_free else (float(res.tau2) if res.tau2_fix else 0.0))
    _warn_at_bound(delta_hat, problem.bounds, is_fixed, free_names)
    iH = _inverse_hessian(problem, beta_s, tau2, delta_hat)
    vb = M @ iH[:p, :p] @ M.T
    beta = M @ beta_s
    se_tau2 = float(np.sqrt(iH[p, p])) if tau2_free else np.nan
    n_b = p + int(tau2_free)
    vd = np.full((spec.n_delta, spec.n_delta), np.nan)
    free_idx = np.flatnonzero(~is_fixed)
    vd[np.ix_(free_idx, free_idx)] = iH[n_b:, n_b:]
    se = np.sqrt(np.diag(vb))
    crit = float(stats.norm.isf((1 - res.level) / 2))
    zval = beta / se
    pval = 2 * stats.norm.sf(np.abs(zval))
    se_delta = np.sqrt(np.diag(vd))
    zval_delta = (delta_hat - spec.h0) / se_delta
    pval_delta = 2 * stats.norm.sf(np.abs(zval_delta))
    ci_lb_delta = np.maximum(delta_hat - crit * se_delta, spec.delta_lb)
    ci_ub_delta = delta_hat + crit * se_delta
    tests = _tests(res, problem, ll, beta, vb, yi, vi)
    return SelModelResult(
        type=type, alternative=alternative, method=res.method, steps=steps, level=res.level, k=k,
        coef_names=list(res.coef_names), beta=beta, se=se, vb=vb, zval=zval, pval=pval,
        ci_lb=beta - crit * se, ci_ub=beta + crit * se, tau2=tau2, se_tau2=se_tau2,
        ci_lb_tau2=max(0.0, tau2 - crit * se_tau2) if tau2_free else np.nan,
        ci_ub_tau2=tau2 + crit * se_tau2 if tau2_free else np.nan,
        delta=delta_hat, se_delta=se_delta, vd=vd, zval_delta=zval_delta, pval_delta=pval_delta,
        ci_lb_delta=ci_lb_delta, ci_ub_delta=ci_ub_delta, delta_fixed=is_fixed,
        delta_min=problem.bounds.delta_min, delta_max=problem.bounds.delta_max,
        ll=ll, pvals=model.pvals, pval_min=spec.pval_min, k_per_interval=k_per, yi=yi, vi=vi, **tests,
    )


def _check_input(res: RMAResult, type: str, alternative: str) -> tuple[RMAResult, np.ndarray, np.ndarray, str]:
    """The ML fit to start from, its effects and variances; errors for what selmodel cannot fit."""
    refuse_dependent(res, "selmodel()")
    refuse_user_weights(res, "selmodel()")
    if not isinstance(res, RMAResult):
        raise ArgumentTypeError(f"selmodel needs an RMAResult from bayesma.rma, got {res.__class__.__name__}")
    if alternative == "two.sided":
        raise UnsupportedModelError("selmodel: metafor's alternative='two.sided' is not implemented in bayesma; "
                                    "use one-sided p-values ('greater', 'less' or 'auto')")
    if type not in SELMODEL_TYPES:
        raise InputError(f"selmodel: type must be one of {SELMODEL_TYPES}, got {type!r}")
    res = _ml_input(res)
    yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
    alternative = resolve_alternative(alternative, yi, vi, "selmodel")
    labels = getattr(res.data, "labels", None) or [str(i + 1) for i in range(yi.size)]
    bad = np.flatnonzero(~(vi > 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"selmodel: study {labels[i]!r} (row {i + 1}) has a non-positive sampling variance vi = {vi[i]}")
    return res, yi, vi, alternative


def _fixed_delta(type: str, spec: _Spec, delta: Any) -> np.ndarray:
    """The selection parameters held fixed (NaN = estimated): delta_1 = 1 of a step function and *delta*."""
    fixed_delta = np.full(spec.n_delta, np.nan)
    if type == "stepfun":
        fixed_delta[0] = 1.0
    if delta is not None:
        d = np.atleast_1d(np.asarray(delta, float))
        if d.size == 1:
            d = np.full(spec.n_delta, d[0])
        if d.size != spec.n_delta:
            raise InputError(f"selmodel: delta must have {spec.n_delta} values for this model, got {d.size}")
        if np.any(d[np.isfinite(d)] < 0):
            raise InputError("selmodel: fixed values of delta must be >= 0")
        fixed_delta = np.where(np.isfinite(d), d, fixed_delta if type != "stepfun" else
                               np.where(np.arange(spec.n_delta) == 0, 1.0, np.nan))
        if type == "stepfun" and np.isfinite(d[0]):
            fixed_delta[0] = d[0]
    return fixed_delta


def _studies_per_interval(type: str, steps: np.ndarray | None, pvals: np.ndarray, is_fixed: np.ndarray,
                          alternative: str) -> np.ndarray | None:
    """The number of studies per p-value interval; an error names an empty interval with a free weight."""
    if steps is None:
        return None
    k_per = np.bincount(np.searchsorted(steps, pvals, side="left"), minlength=steps.size)
    empty = np.flatnonzero((k_per == 0) & (~is_fixed if type == "stepfun" else True))
    if empty.size:
        names = _interval_labels(steps)
        which = "; ".join(" ".join(names[j].split()) for j in empty)
        raise InputError(f"selmodel: no study has a p-value in the interval {which} "
                         f"(alternative = {alternative!r}); choose other steps or merge the interval with a neighbour")
    return k_per


@dataclass(frozen=True)
class _Problem:
    """The likelihood to maximise: the model, which deltas are free, their bounds and the starting values."""

    model: _Model
    spec: _Spec
    bounds: _Spec
    is_fixed: np.ndarray
    delta_start: np.ndarray
    beta_init: np.ndarray
    tau2_init: float
    tau2_free: bool
    par_names: list[str]

    @classmethod
    def build(cls, res: RMAResult, model: _Model, spec: _Spec, fixed_delta: np.ndarray, beta_init: np.ndarray,
              free_names: list[str]) -> _Problem:
        is_fixed = np.isfinite(fixed_delta)
        tau2_free = res.method != "FE" and not res.tau2_fix
        par_names = list(res.coef_names) + (["tau2"] if tau2_free else []) + [
            n for n, fx in zip(free_names, is_fixed) if not fx]
        dmin = np.where(is_fixed & (spec.delta_min > fixed_delta), fixed_delta - _EPS**0.2, spec.delta_min)
        dmax = np.where(is_fixed & (spec.delta_max < fixed_delta), fixed_delta + _EPS**0.2, spec.delta_max)
        bounds = _Spec(spec.n_delta, spec.delta_lb, dmin, dmax, spec.delta_init, spec.h0, spec.pval_min)
        return cls(model, spec, bounds, is_fixed, np.where(is_fixed, fixed_delta, spec.delta_init), beta_init,
                   float(res.tau2), tau2_free, par_names)

    @property
    def p(self) -> int:
        return self.beta_init.size

    def _expand(self, free: np.ndarray) -> np.ndarray:
        full = np.zeros(self.spec.n_delta)
        full[~self.is_fixed] = free
        return full

    def fit(self, fix_tau2: float | None) -> tuple[np.ndarray, float, np.ndarray, float]:
        """Maximum likelihood (tau2 estimated, or fixed at *fix_tau2*): beta (scaled), tau2, delta, log-likelihood."""
        p, is_fixed = self.p, self.is_fixed
        parts = [np.asarray(self.beta_init, dtype=float)]
        if fix_tau2 is None:
            parts.append(np.array([np.log(self.tau2_init + 0.001)]))
        parts.append(_from_delta(np.where(is_fixed, 1.0, self.spec.delta_init), self.bounds)[~is_fixed])
        x0 = np.concatenate(parts)

        def _unpack_t(theta):
            beta = theta[:p]
            j = p
            if fix_tau2 is not None:
                tau2 = fix_tau2
            else:
                tau2, j = float(np.exp(theta[j])), j + 1
            d = self.delta_start.copy()
            d[~is_fixed] = _to_delta(self._expand(theta[j:]), self.bounds)[~is_fixed]
            return beta, tau2, d

        def nll(theta):
            return -self.model.loglik(*_unpack_t(theta))

        names = self.par_names if fix_tau2 is None else [n for n in self.par_names if n != "tau2"]
        x, fval = _minimise(nll, x0, names, n_restart=p + 1 + self.spec.n_delta)
        beta, tau2, d = _unpack_t(x)
        return beta, (0.0 if tau2 < 10 * _EPS else tau2), d, -fval

    def nll_natural(self, theta: np.ndarray) -> float:
        """-log-likelihood on the natural scale (beta on the scaled design, tau2, free delta)."""
        beta = theta[:self.p]
        j = self.p
        t2 = self.tau2_init  # 0 for FE, the user's value for a fixed tau²
        if self.tau2_free:
            t2, j = float(theta[j]), j + 1
        d = self.delta_start.copy()
        d[~self.is_fixed] = theta[j:]
        return -self.model.loglik(beta, t2, d)


def _warn_at_bound(delta_hat: np.ndarray, bounds: _Spec, is_fixed: np.ndarray, free_names: list[str]) -> None:
    near = (delta_hat <= bounds.delta_min + _EPS**0.25) | (delta_hat >= bounds.delta_max - 100 * _EPS**0.25)
    if np.any(near & ~is_fixed):
        which = ", ".join(n for n, b in zip(free_names, near & ~is_fixed) if b)
        warnings.warn(f"selmodel: the estimate of {which} is (almost) at its bound "
                      f"[{bounds.delta_min[near][0]:g}, {bounds.delta_max[near][0]:g}]; treat the results with caution",
                      stacklevel=3)


def _inverse_hessian(problem: _Problem, beta_s: np.ndarray, tau2: float, delta_hat: np.ndarray) -> np.ndarray:
    """The inverse of the Hessian of -ll at the estimate (NaN, with a warning, when it is not invertible)."""
    theta_hat = np.concatenate([beta_s, [tau2] if problem.tau2_free else [], delta_hat[~problem.is_fixed]])
    H = _hessian(problem.nll_natural, theta_hat)
    try:
        if not np.all(np.isfinite(H)):
            raise np.linalg.LinAlgError
        L = np.linalg.cholesky(H)
        return np.linalg.inv(L).T @ np.linalg.inv(L)
    except np.linalg.LinAlgError:
        warnings.warn("selmodel: the Hessian could not be inverted; standard errors are NaN", stacklevel=3)
        return np.full(H.shape, np.nan)


def _tests(res: RMAResult, problem: _Problem, ll: float, beta: np.ndarray, vb: np.ndarray, yi: np.ndarray,
           vi: np.ndarray) -> dict[str, Any]:
    """The likelihood-ratio tests of selection (against the fit without it) and of tau2 = 0; the Wald test QM."""
    s2 = vi + res.tau2
    ll0 = float(np.sum(-0.5 * (np.log(2 * np.pi * s2) + (yi - np.asarray(res.X, float) @ np.asarray(res.beta)) ** 2
                               / s2)))
    LRTdf = int((~problem.is_fixed).sum())
    LRT = max(0.0, -2 * (ll0 - ll))
    LRTp = float(stats.chi2.sf(LRT, LRTdf)) if LRTdf > 0 else np.nan
    LRT_tau2 = LRTp_tau2 = np.nan
    if problem.tau2_free:
        try:
            ll_t0 = problem.fit(0.0)[3]
            LRT_tau2 = max(0.0, -2 * (ll_t0 - ll))
            LRTp_tau2 = float(stats.chi2.sf(LRT_tau2, 1))
        except RuntimeError:
            pass
    QM = QMp = np.nan
    btt = list(getattr(res, "btt", []) or [])
    if btt and np.all(np.isfinite(vb)):
        b = beta[btt]
        QM = float(b @ np.linalg.solve(vb[np.ix_(btt, btt)], b))
        QMp = float(stats.chi2.sf(QM, len(btt)))
    return {"LRT": LRT, "LRTdf": LRTdf, "LRTp": LRTp, "LRT_tau2": LRT_tau2, "LRTp_tau2": LRTp_tau2, "ll0": ll0,
            "QM": QM, "QMp": QMp}
