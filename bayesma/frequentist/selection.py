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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._plotting import draw
from bayesma.frequentist._printing import _p_text, _stars
from bayesma.frequentist._selection_fit import (
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
from bayesma.frequentist.uni import RMAResult, rma

__all__ = ["selmodel", "SelModelResult", "SELMODEL_TYPES", "weight_function", "METAFOR_REL_TOL"]

SELMODEL_TYPES = ("stepfun", "beta", "halfnorm", "negexp", "logistic", "power")


def _interval_labels(steps: np.ndarray) -> list[str]:
    left = ["0"] + [f"{s:g}" for s in steps[:-1]]
    width = max(len(s) for s in left)
    return [f"{lo.ljust(width)} < p <= {hi:g}" for lo, hi in zip(left, steps)]


def _param_names(type: str, n_delta: int, steps: np.ndarray | None) -> list[str]:
    if type == "stepfun":
        return [f"delta[{j + 1}] ({' '.join(lab.split())})" for j, lab in enumerate(_interval_labels(steps))]
    return ["delta"] if n_delta == 1 else [f"delta[{j + 1}]" for j in range(n_delta)]


@dataclass(repr=False)
class SelModelResult:  # numpydoc ignore=PR01
    """A fitted selection model, with metafor's names (``selmodel``).

    Attributes
    ----------
    beta, se, zval, pval, ci_lb, ci_ub : numpy.ndarray, shape (p,)
        Fixed effects (the adjusted pooled effect for an intercept-only model), on the
        scale of ``yi``, with Wald tests and intervals.
    tau2, se_tau2, ci_lb_tau2, ci_ub_tau2 : float
        Heterogeneity (0 for a fixed-effects input).
    delta, se_delta, zval_delta, pval_delta, ci_lb_delta, ci_ub_delta : numpy.ndarray
        Selection parameters; for a step function the first weight is fixed at 1
        (its se and interval are NaN, the interval of the others is cut at 0).
    LRT, LRTdf, LRTp : float, int, float
        Likelihood-ratio test of the selection parameters (model without selection
        as the null). ``LRT_tau2``, ``LRTp_tau2``: test of tau2 = 0 within the model.
    ll, ll0 : float
        Log-likelihood of the selection model and of the model without selection.
    k_per_interval : numpy.ndarray or None
        Studies per p-value interval (step functions, or a smooth type with a step).
    pvals : numpy.ndarray, shape (k,)
        The one-sided p-values of the studies (clamped as metafor does).
    """

    type: str
    alternative: str
    method: str
    steps: np.ndarray | None
    level: float
    k: int
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2: float
    se_tau2: float
    ci_lb_tau2: float
    ci_ub_tau2: float
    delta: np.ndarray
    se_delta: np.ndarray
    vd: np.ndarray
    zval_delta: np.ndarray
    pval_delta: np.ndarray
    ci_lb_delta: np.ndarray
    ci_ub_delta: np.ndarray
    delta_fixed: np.ndarray
    delta_min: np.ndarray
    delta_max: np.ndarray
    LRT: float
    LRTdf: int
    LRTp: float
    LRT_tau2: float
    LRTp_tau2: float
    ll: float
    ll0: float
    QM: float
    QMp: float
    pvals: np.ndarray
    pval_min: float
    k_per_interval: np.ndarray | None
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)

    @property
    def p(self) -> int:
        """Number of fixed effects."""
        return len(self.coef_names)

    @property
    def estimate(self) -> float:
        """The adjusted pooled effect (intercept) of an intercept-only model."""
        return float(self.beta[0])

    def selection_function(self, p: Any, delta: Any = None) -> np.ndarray:
        """Relative likelihood of selection w(p) at one-sided p-values *p* (estimated delta by default).

        Parameters
        ----------
        p : float or array_like
            One-sided p-values in [0, 1].
        delta : array_like, optional
            Selection parameters; default the estimates ``self.delta``.

        Returns
        -------
        numpy.ndarray
            w(p), same shape as *p* (1 for the first interval of a step function).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.hackshaw1998")
        >>> sel = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), type="stepfun", steps=[0.05, 1])
        >>> sel.selection_function([0.01, 0.5]).round(4).tolist()
        [1.0, 2.7917]
        """
        return weight_function(self.type, np.asarray(p, float), self.delta if delta is None else delta,
                               self.steps)

    def selection_band(self, p: Any, ci: str = "auto", reps: int = 1000, seed: int | None = 1
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise confidence band of the selection function, as metafor's ``plot(sel, ci=...)``.

        ``ci="wald"`` evaluates w at the Wald bounds of delta (step functions and one-parameter
        types); ``ci="boot"`` draws delta from its estimated normal distribution (clamped to the
        bounds) *reps* times and takes the pointwise quantiles; ``"auto"`` takes Wald when it exists.

        Parameters
        ----------
        p : float or array_like
            One-sided p-values in [0, 1].
        ci : {"auto", "wald", "boot"}
            How the band is computed (see above).
        reps : int, default 1000
            Number of draws of delta for ``ci="boot"``.
        seed : int or None, default 1
            Seed of the draws for ``ci="boot"``.

        Returns
        -------
        lower, upper : numpy.ndarray
            Pointwise bounds at *p* (confidence level ``self.level``), same shape as *p*;
            NaN when the standard errors of delta are not finite.

        Raises
        ------
        ValueError
            For an unknown *ci*, or ``ci="wald"`` with a selection function of several parameters.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.hackshaw1998")
        >>> sel = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), type="stepfun", steps=[0.05, 1])
        >>> lower, upper = sel.selection_band([0.01, 0.5])
        >>> lower.shape
        (2,)
        """
        p = np.asarray(p, float)
        free = ~self.delta_fixed
        if ci == "auto":
            ci = "wald" if self.type == "stepfun" or free.sum() < 2 else "boot"
        if not np.all(np.isfinite(self.se_delta[free])):
            nan = np.full(p.shape, np.nan)
            return nan, nan
        if ci == "wald":
            if self.type != "stepfun" and free.sum() >= 2:
                raise ValueError("a Wald band needs a step function or a one-parameter selection model; use ci='boot'")
            lb = np.where(free, self.ci_lb_delta, self.delta)
            ub = np.where(free, self.ci_ub_delta, self.delta)
            a, b = self.selection_function(p, lb), self.selection_function(p, ub)
            return np.minimum(a, b), np.maximum(a, b)
        if ci != "boot":
            raise ValueError(f"ci must be 'auto', 'wald' or 'boot', got {ci!r}")
        rng = np.random.default_rng(seed)
        vd = np.where(np.isfinite(self.vd), self.vd, 0.0)
        draws = rng.multivariate_normal(self.delta, vd, size=reps, method="eigh")
        draws = np.clip(draws, self.delta_min, self.delta_max)
        ws = np.stack([self.selection_function(p, d) for d in draws])
        alpha = 1 - self.level
        return np.quantile(ws, alpha / 2, axis=0), np.quantile(ws, 1 - alpha / 2, axis=0)

    def plot(self, ci: str | bool = "auto", **kwargs: Any):
        """Plot the estimated selection function with its confidence band and a rug of the p-values.

        Parameters
        ----------
        ci : {"auto", "wald", "boot"} or False
            Confidence band (see :meth:`selection_band`), or none.
        **kwargs
            Passed to :func:`bayesma.plots.selection_plot` (``xscale``, ``ax``, ...).

        Returns
        -------
        matplotlib.figure.Figure
        """
        return draw("selection_plot", self, ci=ci, **kwargs)

    def summary(self) -> pd.DataFrame:
        """Table of the fixed effects, tau² and the selection parameters (estimate, se, z, p, interval).

        Returns
        -------
        pandas.DataFrame
            Index ``parameter`` (coefficients, ``tau2`` unless FE, ``delta[j] (...)``), columns
            ``estimate``, ``se``, ``zval``, ``pval``, ``ci_lb``, ``ci_ub``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.hackshaw1998")
        >>> sel = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), type="stepfun", steps=[0.05, 1])
        >>> sel.summary().index.tolist()
        ['intrcpt', 'tau2', 'delta[1] (0 < p <= 0.05)', 'delta[2] (0.05 < p <= 1)']
        """
        rows = []
        for j, name in enumerate(self.coef_names):
            rows.append((name, self.beta[j], self.se[j], self.zval[j], self.pval[j], self.ci_lb[j], self.ci_ub[j]))
        if self.method != "FE":
            rows.append(("tau2", self.tau2, self.se_tau2, np.nan, np.nan, self.ci_lb_tau2, self.ci_ub_tau2))
        for j, name in enumerate(_param_names(self.type, self.delta.size, self.steps)):
            rows.append((name, self.delta[j], self.se_delta[j], self.zval_delta[j], self.pval_delta[j],
                         self.ci_lb_delta[j], self.ci_ub_delta[j]))
        return pd.DataFrame(rows, columns=["parameter", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub"]
                            ).set_index("parameter")

    def __repr__(self) -> str:
        return format_selmodel(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + format_selmodel(self).replace("<", "&lt;") + "</pre>"


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "---"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _table(names: list[str], cols: list[list[str]], header: list[str], stars: list[str]) -> list[str]:
    widths = [max(len(h), *(len(c) for c in col)) for h, col in zip(header, cols)]
    nw = max(len(n) for n in names) if names else 0
    out = [" " * nw + "  " + "  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for i, name in enumerate(names):
        out.append((name.ljust(nw) + "  " + "  ".join(col[i].rjust(w) for col, w in zip(cols, widths))
                    + "  " + stars[i]).rstrip())
    return out


def _num(x: float) -> str:
    return f"{x:.4f}" if np.isfinite(x) else "---"


def format_selmodel(res: SelModelResult) -> str:
    """A printout in the style of metafor's ``print.rma.uni.selmodel``."""
    mods = res.p > 1 or res.coef_names != ["intrcpt"]
    if res.method == "FE":
        lines = [f"Fixed-Effects {'with Moderators ' if mods else ''}Model (k = {res.k})", ""]
    else:
        kind = "Mixed-Effects Model" if mods else "Random-Effects Model"
        lines = [f"{kind} (k = {res.k}; tau^2 estimator: ML)", "",
                 f"tau^2 (estimated amount of {'residual' if mods else 'total'} heterogeneity): "
                 f"{res.tau2:.4f} (SE = {_num(res.se_tau2)})",
                 f"tau (square root of estimated tau^2 value):      {np.sqrt(res.tau2):.4f}", ""]
        if np.isfinite(res.LRT_tau2):
            lines += ["Test for Heterogeneity:", f"LRT(df = 1) = {res.LRT_tau2:.4f}, p-val {_p_text(res.LRTp_tau2)}", ""]
    if mods and np.isfinite(res.QM):
        which = "coefficient 2" if res.p == 2 else f"coefficients 2:{res.p}"
        lines += [f"Test of Moderators ({which}):",
                  f"QM(df = {res.p - 1}) = {res.QM:.4f}, p-val {_p_text(res.QMp)}", ""]
    lines.append("Model Results:")
    lines.append("")
    cols = [[f"{v:.4f}" for v in res.beta], [_num(v) for v in res.se], [_num(v) for v in res.zval],
            [_fmt_p(v) for v in res.pval], [_num(v) for v in res.ci_lb], [_num(v) for v in res.ci_ub]]
    header = ["estimate", "se", "zval", "pval", "ci.lb", "ci.ub"]
    lines += _table(res.coef_names if mods else [""], cols, header, [_stars(v) for v in res.pval])
    lines += ["", "Test for Selection Model Parameters:",
              f"LRT(df = {res.LRTdf}) = {res.LRT:.4f}, p-val {_p_text(res.LRTp)}", "",
              "Selection Model Results:", ""]
    fixed = res.delta_fixed
    dcols = [[f"{v:.4f}" for v in res.delta]] + [
        ["---" if fx else _num(v) for v, fx in zip(vals, fixed)]
        for vals in (res.se_delta, res.zval_delta)] + [
        ["---" if fx else _fmt_p(v) for v, fx in zip(res.pval_delta, fixed)]] + [
        ["---" if fx else _num(v) for v, fx in zip(vals, fixed)] for vals in (res.ci_lb_delta, res.ci_ub_delta)]
    stars = ["" if fx else _stars(v) for v, fx in zip(res.pval_delta, fixed)]
    if res.type == "stepfun":
        names = _interval_labels(res.steps)
        dcols = [[str(int(n)) for n in res.k_per_interval]] + dcols
        lines += _table(names, dcols, ["k"] + header, stars)
    else:
        names = [""] if res.delta.size == 1 else [f"delta.{j + 1}" for j in range(res.delta.size)]
        lines += _table(names, dcols, header, stars)
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    return "\n".join(lines)


def _ml_input(res: RMAResult) -> RMAResult:
    """The fit the selection model starts from: ML or FE (other estimators are refitted with ML, as metafor)."""
    if res.method in ("ML", "FE"):
        return res
    X = np.asarray(res.X, float)
    if res.coef_names[0] != "intrcpt" or not np.allclose(X[:, 0], 1.0):
        raise ValueError("selmodel: refit this model with method='ML' (a model without intercept is not refitted)")
    mods = None if X.shape[1] == 1 else pd.DataFrame(X[:, 1:], columns=res.coef_names[1:])
    return rma(res.data, method="ML", mods=mods, level=res.level)


def _check_steps(type: str, steps: Any) -> np.ndarray | None:
    if steps is None:
        if type == "stepfun":
            raise ValueError("selmodel: type='stepfun' needs steps, e.g. steps=[0.025, 1]")
        return None
    if type == "beta":
        raise ValueError("selmodel: steps cannot be used with type='beta' (its weight function has no step)")
    s = np.atleast_1d(np.asarray(steps, dtype=float))
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("selmodel: steps must be a non-empty list of p-values in [0, 1]")
    if np.any((s < 0) | (s > 1)):
        raise ValueError(f"selmodel: steps must lie in [0, 1], got {s.tolist()}")
    s = np.unique(s)
    if s[-1] != 1.0:
        s = np.append(s, 1.0)
    if type != "stepfun" and s.size != 2:
        raise ValueError(f"selmodel: type={type!r} takes a single step (steps=[alpha, 1]), got {s.tolist()}")
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
    alternative: str = "greater",
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
    type : {"stepfun", "beta", "halfnorm", "negexp", "logistic", "power"}
        The weight function w(p), with metafor's parameterisations:

        - ``"stepfun"``: w = delta_j for p in the j-th interval of *steps*
          (Vevea & Hedges 1995); delta_1 = 1.
        - ``"beta"``: w = p^(delta1 - 1) (1 - p)^(delta2 - 1) (Citkowicz & Vevea 2017).
        - ``"halfnorm"``: exp(-delta p²), ``"negexp"``: exp(-delta p),
          ``"logistic"``: 2 exp(-delta p) / (1 + exp(-delta p)),
          ``"power"``: (1 - p)^delta (Preston et al. 2004); each equals 1 for
          p <= steps[0] when a step is given.
    steps : sequence of float, optional
        P-value cut points (a final 1 is added). Needed for ``"stepfun"``; a
        single value ``[alpha, 1]`` for the smooth types (except ``"beta"``).
    alternative : {"greater", "less"}
        Direction of the one-sided p-values: ``"greater"`` when significant
        studies have positive effects, ``"less"`` when they have negative ones.
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
    if not isinstance(res, RMAResult):
        raise TypeError(f"selmodel needs an RMAResult from bayesma.rma, got {res.__class__.__name__}")
    if type not in SELMODEL_TYPES:
        raise ValueError(f"selmodel: type must be one of {SELMODEL_TYPES}, got {type!r}")
    if alternative not in ("greater", "less"):
        raise ValueError(f"selmodel: alternative must be 'greater' or 'less', got {alternative!r}")
    res = _ml_input(res)
    yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
    labels = getattr(res.data, "labels", None) or [str(i + 1) for i in range(yi.size)]
    bad = np.flatnonzero(~(vi > 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"selmodel: study {labels[i]!r} (row {i + 1}) has a non-positive sampling variance vi = {vi[i]}")
    steps = _check_steps(type, steps)
    spec = _spec(type, 0 if steps is None else steps.size)
    fixed_delta = np.full(spec.n_delta, np.nan)
    if type == "stepfun":
        fixed_delta[0] = 1.0
    if delta is not None:
        d = np.atleast_1d(np.asarray(delta, float))
        if d.size == 1:
            d = np.full(spec.n_delta, d[0])
        if d.size != spec.n_delta:
            raise ValueError(f"selmodel: delta must have {spec.n_delta} values for this model, got {d.size}")
        if np.any(d[np.isfinite(d)] < 0):
            raise ValueError("selmodel: fixed values of delta must be >= 0")
        fixed_delta = np.where(np.isfinite(d), d, fixed_delta if type != "stepfun" else
                               np.where(np.arange(spec.n_delta) == 0, 1.0, np.nan))
        if type == "stepfun" and np.isfinite(d[0]):
            fixed_delta[0] = d[0]
    is_fixed = np.isfinite(fixed_delta)
    tau2_free = res.method != "FE"
    X0 = np.asarray(res.X, float)
    k, p = X0.shape
    n_par = p + int(tau2_free) + int((~is_fixed).sum())
    if k < n_par:
        raise ValueError(f"selmodel: number of studies (k = {k}) is too small to fit {n_par} parameters")
    M = _scaling(X0, res.coef_names)
    X = X0 @ M  # the rescaled columns (x - mean) / sd; X0 @ beta = X @ beta_scaled
    X = np.where(np.abs(X) < 1e-14, 0.0, X)
    model = _Model(type, yi, vi, X, steps, spec, alternative, rel_tol)
    k_per = None
    if steps is not None:
        k_per = np.bincount(np.searchsorted(steps, model.pvals, side="left"), minlength=steps.size)
        empty = np.flatnonzero((k_per == 0) & (~is_fixed if type == "stepfun" else True))
        if empty.size:
            names = _interval_labels(steps)
            which = "; ".join(" ".join(names[j].split()) for j in empty)
            raise ValueError(f"selmodel: no study has a p-value in the interval {which} "
                             f"(alternative = {alternative!r}); choose other steps or merge the interval with a neighbour")

    beta_init = np.linalg.solve(M, np.asarray(res.beta, float))
    delta_start = np.where(is_fixed, fixed_delta, spec.delta_init)
    free_names = _param_names(type, spec.n_delta, steps)
    par_names = list(res.coef_names) + (["tau2"] if tau2_free else []) + [
        n for n, fx in zip(free_names, is_fixed) if not fx]
    dmin = np.where(is_fixed & (spec.delta_min > fixed_delta), fixed_delta - _EPS**0.2, spec.delta_min)
    dmax = np.where(is_fixed & (spec.delta_max < fixed_delta), fixed_delta + _EPS**0.2, spec.delta_max)
    bounds = _Spec(spec.n_delta, spec.delta_lb, dmin, dmax, spec.delta_init, spec.h0, spec.pval_min)

    def expand(free: np.ndarray) -> np.ndarray:
        full = np.zeros(spec.n_delta)
        full[~is_fixed] = free
        return full

    def fit(fix_tau2: float | None):
        x0 = [beta_init]
        if fix_tau2 is None:
            x0.append([np.log(res.tau2 + 0.001)])
        x0.append(_from_delta(np.where(is_fixed, 1.0, spec.delta_init), bounds)[~is_fixed])
        x0 = np.concatenate(x0)

        def _unpack_t(theta):
            beta = theta[:p]
            j = p
            if fix_tau2 is not None:
                tau2 = fix_tau2
            else:
                tau2, j = float(np.exp(theta[j])), j + 1
            d = delta_start.copy()
            d[~is_fixed] = _to_delta(expand(theta[j:]), bounds)[~is_fixed]
            return beta, tau2, d

        def nll(theta):
            return -model.loglik(*_unpack_t(theta))

        names = par_names if fix_tau2 is None else [n for n in par_names if n != "tau2"]
        x, fval = _minimise(nll, x0, names, n_restart=p + 1 + spec.n_delta)
        beta, tau2, d = _unpack_t(x)
        return beta, (0.0 if tau2 < 10 * _EPS else tau2), d, -fval

    beta_s, tau2, delta_hat, ll = fit(None if tau2_free else 0.0)
    near = (delta_hat <= bounds.delta_min + _EPS**0.25) | (delta_hat >= bounds.delta_max - 100 * _EPS**0.25)
    if np.any(near & ~is_fixed):
        which = ", ".join(n for n, b in zip(free_names, near & ~is_fixed) if b)
        warnings.warn(f"selmodel: the estimate of {which} is (almost) at its bound "
                      f"[{bounds.delta_min[near][0]:g}, {bounds.delta_max[near][0]:g}]; treat the results with caution",
                      stacklevel=2)

    # Hessian of -ll on the natural scale (beta on the scaled design, tau2, free delta)
    theta_hat = np.concatenate([beta_s, [tau2] if tau2_free else [], delta_hat[~is_fixed]])

    def nll_natural(theta):
        beta = theta[:p]
        j = p
        t2 = 0.0
        if tau2_free:
            t2, j = float(theta[j]), j + 1
        d = delta_start.copy()
        d[~is_fixed] = theta[j:]
        return -model.loglik(beta, t2, d)

    H = _hessian(nll_natural, theta_hat)
    n_b = p + int(tau2_free)
    try:
        if not np.all(np.isfinite(H)):
            raise np.linalg.LinAlgError
        L = np.linalg.cholesky(H)
        iH = np.linalg.inv(L).T @ np.linalg.inv(L)
    except np.linalg.LinAlgError:
        warnings.warn("selmodel: the Hessian could not be inverted; standard errors are NaN", stacklevel=2)
        iH = np.full(H.shape, np.nan)
    vb = M @ iH[:p, :p] @ M.T
    beta = M @ beta_s
    se_tau2 = float(np.sqrt(iH[p, p])) if tau2_free else np.nan
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

    # likelihood-ratio tests
    s2 = vi + res.tau2
    ll0 = float(np.sum(-0.5 * (np.log(2 * np.pi * s2) + (yi - X0 @ np.asarray(res.beta)) ** 2 / s2)))
    LRTdf = int((~is_fixed).sum())
    LRT = max(0.0, -2 * (ll0 - ll))
    LRTp = float(stats.chi2.sf(LRT, LRTdf)) if LRTdf > 0 else np.nan
    LRT_tau2 = LRTp_tau2 = np.nan
    if tau2_free:
        try:
            ll_t0 = fit(0.0)[3]
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
    return SelModelResult(
        type=type, alternative=alternative, method=res.method, steps=steps, level=res.level, k=k,
        coef_names=list(res.coef_names), beta=beta, se=se, vb=vb, zval=zval, pval=pval,
        ci_lb=beta - crit * se, ci_ub=beta + crit * se, tau2=tau2, se_tau2=se_tau2,
        ci_lb_tau2=max(0.0, tau2 - crit * se_tau2) if tau2_free else np.nan,
        ci_ub_tau2=tau2 + crit * se_tau2 if tau2_free else np.nan,
        delta=delta_hat, se_delta=se_delta, vd=vd, zval_delta=zval_delta, pval_delta=pval_delta,
        ci_lb_delta=ci_lb_delta, ci_ub_delta=ci_ub_delta, delta_fixed=is_fixed,
        delta_min=bounds.delta_min, delta_max=bounds.delta_max,
        LRT=LRT, LRTdf=LRTdf, LRTp=LRTp, LRT_tau2=LRT_tau2, LRTp_tau2=LRTp_tau2, ll=ll, ll0=ll0,
        QM=QM, QMp=QMp, pvals=model.pvals, pval_min=spec.pval_min, k_per_interval=k_per, yi=yi, vi=vi,
    )
