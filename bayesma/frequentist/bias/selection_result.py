"""The result of :func:`bayesma.selmodel`: :class:`SelModelResult` and its metafor-style printout.

The fitting (likelihoods, optimisation, the Hessian) is in :mod:`bayesma.frequentist.bias.selection`
and :mod:`bayesma.frequentist.bias._selection_fit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma._format import format_p, small_k_lines
from bayesma.errors import InputError
from bayesma.frequentist._printing import _p_text, _stars
from bayesma.frequentist.bias._selection_fit import weight_function

__all__ = ["SelModelResult", "format_selmodel"]


def _interval_labels(steps: np.ndarray | None) -> list[str]:
    steps = np.asarray([] if steps is None else steps, dtype=float)
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

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> sel = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), type="stepfun", steps=[0.05, 1])
    >>> sel.k, sel.type
    (37, 'stepfun')
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
                raise InputError("a Wald band needs a step function or a one-parameter selection model; use ci='boot'")
            lb = np.where(free, self.ci_lb_delta, self.delta)
            ub = np.where(free, self.ci_ub_delta, self.delta)
            a, b = self.selection_function(p, lb), self.selection_function(p, ub)
            return np.minimum(a, b), np.maximum(a, b)
        if ci != "boot":
            raise InputError(f"ci must be 'auto', 'wald' or 'boot', got {ci!r}")
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

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.load_dataset("dat.hackshaw1998")
        >>> sel = bm.selmodel(bm.rma("yi", "vi", data=dat, method="ML"), type="stepfun", steps=[0.05, 1])
        >>> fig = sel.plot()    # doctest: +SKIP
        """
        from bayesma.plots.selection import selection_plot
        return selection_plot(self, ci=ci, **kwargs)

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
    return format_p(p, missing="---")


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
    header = ["estimate", "se", "zval", "pval", "ci_lb", "ci_ub"]
    lines += _table(res.coef_names if mods else [""], cols, header, [_stars(v) for v in res.pval])
    how = getattr(res.alternative, "how", "as given")
    lines += ["", "Test for Selection Model Parameters:",
              f"LRT(df = {res.LRTdf}) = {res.LRT:.4f}, p-val {_p_text(res.LRTp)}", "",
              f"Selection Model Results (one-sided p-values, alternative = {str(res.alternative)!r}; {how}):", ""]
    fixed = res.delta_fixed
    dcols = [[f"{v:.4f}" for v in res.delta]] + [
        ["---" if fx else _num(v) for v, fx in zip(vals, fixed)]
        for vals in (res.se_delta, res.zval_delta)] + [
        ["---" if fx else _fmt_p(v) for v, fx in zip(res.pval_delta, fixed)]] + [
        ["---" if fx else _num(v) for v, fx in zip(vals, fixed)] for vals in (res.ci_lb_delta, res.ci_ub_delta)]
    stars = ["" if fx else _stars(v) for v, fx in zip(res.pval_delta, fixed)]
    if res.type == "stepfun":
        names = _interval_labels(res.steps)
        dcols = [[str(int(n)) for n in np.asarray(res.k_per_interval)]] + dcols
        lines += _table(names, dcols, ["k"] + header, stars)
    else:
        names = [""] if res.delta.size == 1 else [f"delta.{j + 1}" for j in range(res.delta.size)]
        lines += _table(names, dcols, header, stars)
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    return "\n".join(lines + small_k_lines("selmodel", res.k))
