"""Funnel asymmetry: Egger's regression test and trim-and-fill, as metafor.

:func:`egger_test` is metafor's ``regtest()`` (version 3.8-1): a
meta-regression of the effects on their standard errors (or another
predictor of precision), testing the slope; by default a random-effects
(REML) model with a z test. :func:`trimfill` is ``trimfill.rma.uni``: Duval
and Tweedie's (2000) nonparametric trim-and-fill with the L0, R0 or Q0
estimator of the number of missing studies, on a fixed-effect model by
default.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._format import small_k_lines
from bayesma._validate import as_numeric, column, label_alias
from bayesma.data import MetaData
from bayesma.errors import ConvergenceError, InputError
from bayesma.frequentist._common import _check_method, _level
from bayesma.frequentist._printing import _p_text
from bayesma.frequentist.bias.dependent import EggerMVResult, egger_mv, refuse_dependent
from bayesma.frequentist.inference import TESTS, check_test, critical_value
from bayesma.frequentist.mv import RMAMVResult
from bayesma.frequentist.tau2 import estimate_tau2
from bayesma.frequentist.uni import RMAResult, fit_rma
from bayesma.frequentist.weights import refuse_user_weights

__all__ = ["egger_test", "EggerResult", "trimfill", "TrimFillResult"]

_PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
_PREDICTOR_TEXT = {
    "sei": "standard error", "vi": "sampling variance", "ni": "sample size",
    "ninv": "inverse of the sample size", "sqrtni": "square root sample size",
    "sqrtninv": "inverse of the square root sample size",
}


def _metadata(yi, vi, sei, data, labels, missing) -> MetaData:
    if isinstance(yi, MetaData):
        return yi
    return MetaData.create(yi, vi, sei=sei, data=data, labels=labels, missing=missing)


def _plain(yi: np.ndarray, vi: np.ndarray, labels: list[str] | None = None) -> MetaData:
    k = len(yi)
    return MetaData(yi=np.asarray(yi, dtype=float), vi=np.asarray(vi, dtype=float),
                    labels=labels if labels is not None else [str(i + 1) for i in range(k)],
                    data=pd.DataFrame(index=range(k)))


# ---------------------------------------------------------------------------
# Egger's regression test


@dataclass
class EggerResult:
    """Regression test for funnel plot asymmetry (metafor's ``regtest``).

    Attributes
    ----------
    z : float
        Test statistic of the predictor's coefficient (a t statistic when
        ``dfs`` is not None).
    p : float
        Its two-sided p-value.
    dfs : int or None
        Degrees of freedom of the t test (``model="lm"`` or ``test="t"``/``"knha"``/``"adhoc"``), else None.
    b, ci_lb, ci_ub : float or None
        The limit estimate (the intercept: the effect as the predictor goes
        to zero, for ``sei``, ``vi``, ``ninv``, ``sqrtninv``) and its interval.
    fit : RMAResult or None
        The meta-regression (``model="rma"``).
    """

    z: float
    p: float
    dfs: int | None
    b: float | None
    ci_lb: float | None
    ci_ub: float | None
    model: str
    predictor: str
    method: str | None
    level: float
    fit: RMAResult | None = field(default=None, repr=False)
    coef: pd.DataFrame | None = field(default=None, repr=False)
    k: int | None = None

    @property
    def zval(self) -> float:
        """metafor's name of the statistic."""
        return self.z

    @property
    def pval(self) -> float:
        """metafor's name of the p-value."""
        return self.p

    def __repr__(self) -> str:
        lines = ["Regression Test for Funnel Plot Asymmetry", ""]
        if self.model == "lm":
            lines.append("Model:     weighted regression with multiplicative dispersion")
        else:
            kind = "fixed-effects" if self.method == "FE" else "mixed-effects"
            lines.append(f"Model:     {kind} meta-regression model")
        lines.append(f"Predictor: {_PREDICTOR_TEXT[self.predictor]}")
        lines.append("")
        p = _p_text(self.p)
        if self.dfs is None:
            lines.append(f"Test for Funnel Plot Asymmetry: z = {self.z:.4f}, p {p}")
        else:
            lines.append(f"Test for Funnel Plot Asymmetry: t = {self.z:.4f}, df = {self.dfs}, p {p}")
        if self.b is not None:
            what = {"sei": "sei -> 0", "vi": "vi -> 0"}.get(self.predictor, "ni -> inf")
            lines.append(f"Limit Estimate (as {what}): b = {self.b:.4f} (CI: {self.ci_lb:.4f}, {self.ci_ub:.4f})")
        return "\n".join(lines + small_k_lines("funnel", self.k))


@label_alias
def egger_test(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    model: str = "rma",
    method: str = "REML",
    predictor: str = "sei",
    test: str = "z",
    level: float = 0.95,
    ni: Any = None,
    labels: Any = None,
    missing: str = "raise",
) -> EggerResult | EggerMVResult:
    """Egger's regression test for funnel plot asymmetry (metafor's ``regtest``).

    Regresses the effects on a measure of their precision and tests the
    slope. With ``model="rma"`` (the default) this is a meta-regression
    ``rma(yi, vi, mods = ~ sei, method=method, test=test)``; with
    ``model="lm"`` it is Egger's original weighted regression with a
    multiplicative dispersion parameter and a t test.

    Parameters
    ----------
    yi : str, array_like, RMAResult or RMAMVResult
        Observed effects (or a column name of *data*), or a fitted
        intercept-only :class:`RMAResult`, whose data, method, test and
        level are then used. An :func:`bayesma.rma_mv` fit (dependent effects)
        gets the Egger sandwich instead: ``sqrt(vi)`` as a moderator of the same
        multilevel model, tested with CR2 and Satterthwaite df (Rodgers &
        Pustejovsky 2021; see :func:`~bayesma.frequentist.bias.dependent.egger_mv`),
        returning an ``EggerMVResult``; the other arguments do not apply.
    vi, sei : str or array_like
        Sampling variances or standard errors.
    data : pandas.DataFrame, optional
        Table with the named columns.
    model : {"rma", "lm"}
        Meta-regression, or weighted least squares with multiplicative dispersion.
    method : str
        tau² estimator of the meta-regression ("FE" for a fixed-effects model).
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
        The predictor: standard error (Egger's test), sampling variance, or a
        function of the sample sizes *ni*.
    test : {"z", "t", "knha", "adhoc"}
        Tests of the meta-regression coefficients.
    level : float
        Confidence level of the limit estimate's interval.
    ni : str or array_like, optional
        Sample sizes, for the sample-size predictors.
    labels : str or array_like, optional
        Study labels (a column of *data* or values), used in messages and tables.
    missing : {"raise", "drop"}
        How to treat studies with missing values: an error naming them, or drop them
        with a warning.

    Returns
    -------
    EggerResult

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> eg = bm.egger_test("yi", "vi", data=dat)
    >>> round(eg.z, 4), round(eg.p, 4)
    (2.1055, 0.0352)
    """
    if isinstance(yi, RMAMVResult):  # dependent effects: the Egger sandwich
        return egger_mv(yi)
    if isinstance(yi, RMAResult):
        res = yi
        refuse_user_weights(yi, "this bias test")
        if res.p != 1:
            raise InputError("egger_test() needs a model without moderators")
        md = res.data
        method = res.method if method == "REML" else method
        test = res.test if test == "z" else test
        level = res.level if level == 0.95 else level
    else:
        md = _metadata(yi, vi, sei, data, labels, missing)
    if model not in ("rma", "lm"):
        raise InputError(f"model must be 'rma' or 'lm', got {model!r}")
    if predictor not in _PREDICTORS:
        raise InputError(f"predictor must be one of {_PREDICTORS}, got {predictor!r}")
    method = _check_method(method)
    level = _level(level)
    k = md.k
    if predictor == "sei":
        x = np.sqrt(md.vi)
    elif predictor == "vi":
        x = md.vi.copy()
    else:
        if ni is None:
            raise InputError(f"predictor={predictor!r} needs the sample sizes: give ni=")
        n = as_numeric(column(data, ni, "ni"), ni if isinstance(ni, str) else "ni", md.labels)
        if len(n) != k:
            raise InputError(f"ni has {len(n)} values but there are {k} studies")
        for i in np.flatnonzero(~np.isfinite(n) | (n <= 0)):
            raise InputError(f"column {ni if isinstance(ni, str) else 'ni'!r}: study {md.labels[i]!r} "
                             f"(row {i + 1}) has an invalid sample size {n[i]}")
        x = {"ni": n, "ninv": 1 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1 / np.sqrt(n)}[predictor]
    X = np.column_stack([np.ones(k), x])
    if k < 3:
        raise InputError(f"the regression test needs at least 3 studies, got k = {k}")
    if np.linalg.matrix_rank(X) < 2:
        raise InputError(f"the predictor {predictor!r} is the same for all studies; the test cannot be carried out")
    limit = predictor in ("sei", "vi", "ninv", "sqrtninv")
    names = ["intrcpt", predictor]
    fitted_by: str | None = method
    if model == "rma":
        fit = fit_rma(md, X, names, method=method, test=test, level=level, skip_r2=True)
        z, p = float(fit.stat[1]), float(fit.pval[1])
        dfs = fit.dfs
        b, lb, ub = (float(fit.beta[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0])) if limit else (None, None, None)
        coef = fit.summary()
    else:
        fit = None
        w = 1.0 / md.vi
        XtW = X.T * w
        XtWX_inv = np.linalg.inv(XtW @ X)
        beta = XtWX_inv @ (XtW @ md.yi)
        resid = md.yi - X @ beta
        dfs = k - 2
        s2 = float(np.sum(w * resid**2)) / dfs
        se = np.sqrt(np.diag(XtWX_inv) * s2)
        tval = beta / se
        pval = 2 * stats.t.sf(np.abs(tval), dfs)
        z, p = float(tval[1]), float(pval[1])
        crit = critical_value(level, dfs)
        b, lb, ub = ((float(beta[0]), float(beta[0] - crit * se[0]), float(beta[0] + crit * se[0]))
                     if limit else (None, None, None))
        coef = pd.DataFrame({"estimate": beta, "se": se, "tval": tval, "pval": pval},
                            index=pd.Index(names, name="coef"))
        fitted_by = None  # the t-test of a weighted regression: no tau2 method
    return EggerResult(z=z, p=p, dfs=dfs, b=b, ci_lb=lb, ci_ub=ub, model=model, predictor=predictor,
                       method=fitted_by, level=level, fit=fit, coef=coef, k=k)


# ---------------------------------------------------------------------------
# trim and fill


@dataclass
class TrimFillResult:
    """Trim-and-fill analysis (metafor's ``trimfill``).

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies; ``se_k0`` its standard error.
    side : {"left", "right"}
        The side of the funnel plot where studies were imputed.
    estimator : {"L0", "R0", "Q0"}
    beta, se, ci_lb, ci_ub, pval, stat : float
        Pooled estimate of the augmented data (the observed and the filled
        studies) with its standard error, interval and test.
    tau2 : float
        Heterogeneity of the augmented data (0 for the fixed-effect model).
    fill : pandas.DataFrame
        The imputed studies: label, yi, vi (empty when k0 = 0).
    fit : RMAResult
        The model fitted to the augmented data (the original model when k0 = 0).
    original : RMAResult
        The model fitted to the observed data.
    p_k0 : float or None
        For R0: the p-value of the test that k0 = 0.
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    fill: pd.DataFrame
    fit: RMAResult
    original: RMAResult
    iterations: int
    p_k0: float | None = None

    @property
    def beta(self) -> float:
        return float(self.fit.beta[0])

    @property
    def se(self) -> float:
        return float(self.fit.se[0])

    @property
    def ci_lb(self) -> float:
        return float(self.fit.ci_lb[0])

    @property
    def ci_ub(self) -> float:
        return float(self.fit.ci_ub[0])

    @property
    def pval(self) -> float:
        return float(self.fit.pval[0])

    @property
    def stat(self) -> float:
        return float(self.fit.stat[0])

    @property
    def tau2(self) -> float:
        return float(self.fit.tau2)

    @property
    def k(self) -> int:
        """Number of studies in the augmented data (observed + filled)."""
        return int(self.fit.k)

    def augmented(self) -> pd.DataFrame:
        """Observed and filled studies: label, yi, vi, filled."""
        md = self.fit.data
        return pd.DataFrame({"label": md.labels, "yi": md.yi, "vi": md.vi,
                             "filled": [False] * (md.k - self.k0) + [True] * self.k0})

    def funnel(self, **kwargs: Any):
        """Funnel plot with the filled studies as open circles; see :func:`bayesma.plots.funnel_plot`."""
        from bayesma.plots.funnel import funnel_plot
        return funnel_plot(self, **kwargs)

    def __repr__(self) -> str:
        se = f"{self.se_k0:.4f}" if np.isfinite(self.se_k0) else "NA"
        head = f"Estimated number of missing studies on the {self.side} side: {self.k0} (SE = {se})"
        if self.p_k0 is not None:
            head += f"\nTest of H0: no missing studies on the {self.side} side: p-val {_p_text(self.p_k0)}"
        note = "\n".join(small_k_lines("trimfill", self.original.k))
        return head + "\n\n" + repr(self.fit) + ("\n" + note if note else "")


def _coefficients(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, method: str) -> np.ndarray:
    """``fit_rma(...).beta`` for a tau² estimator *method*, computed as fit_rma does, without
    the tests, Q-profile intervals and fit statistics that the trim-and-fill steps do not use."""
    tau2 = estimate_tau2(method, yi, vi, X)[0]
    wi = 1.0 / (vi + tau2)
    XtW = X.T * wi
    return np.linalg.inv(XtW @ X) @ (XtW @ yi)


def _pooled(yi: np.ndarray, vi: np.ndarray, method: str) -> float:
    """Intercept of an intercept-only model fitted with *method*."""
    k = len(yi)
    if method == "FE" or k == 1:
        w = 1.0 / vi
        return float(np.sum(w * yi) / np.sum(w))
    return float(_coefficients(yi, vi, np.ones((k, 1)), method)[0])


def _choose_side(yi: np.ndarray, vi: np.ndarray, method: str) -> str:
    """metafor's choice: the sign of the slope of yi on sqrt(vi) in a model with *method*."""
    k = len(yi)
    X = np.column_stack([np.ones(k), np.sqrt(vi)])
    if np.linalg.matrix_rank(X) < 2:
        slope = 0.0  # equal standard errors: no asymmetry to read, metafor's rule gives "left"
    elif method == "FE" or k <= 2:
        w = 1.0 / vi
        XtW = X.T * w
        slope = float(np.linalg.solve(XtW @ X, XtW @ yi)[1])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slope = float(_coefficients(yi, vi, X, method)[1])
    return "right" if slope < 0 else "left"


@label_alias
def trimfill(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    side: str | None = None,
    estimator: str = "L0",
    method: str | None = None,
    maxiter: int = 100,
    ilim: tuple[float, float] | None = None,
    level: float = 0.95,
    test: str = "z",
    labels: Any = None,
    missing: str = "raise",
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Studies are trimmed from the side of the funnel plot with the excess of
    small studies until the remaining ones are symmetric around their pooled
    estimate; the trimmed studies' mirror images around that estimate are
    then added ("filled") and the model is refitted to the augmented data.

    Parameters
    ----------
    yi : str, array_like or RMAResult
        Observed effects (or a column name of *data*), or a fitted
        intercept-only :class:`RMAResult` (its data and method are used; the fit of the
        filled data takes *test* and *level* of this call, as metafor's ``trimfill(res, ...)``,
        which refits with ``rma``'s defaults unless they are given; with k0 = 0 the result is
        the fitted model itself).
    vi, sei : str or array_like
        Sampling variances or standard errors.
    data : pandas.DataFrame, optional
    side : {"left", "right"}, optional
        Side where studies are missing. Default as metafor: "right" when the
        slope of the regression of yi on sqrt(vi) (fitted with *method*) is
        negative, else "left".
    estimator : {"L0", "R0", "Q0"}
        Estimator of the number of missing studies.
    method : str, optional
        Model fitted in each step and to the augmented data when *yi* is
        data: "FE" (the default; metafor's ``trimfill`` on ``rma(method="FE")``) or
        a tau² estimator ("REML", "DL", ...). A fitted model's own estimator is
        used, as metafor's ``trimfill(res)`` does; a different *method* is then an error.
    maxiter : int
        Maximum number of trim iterations.
    ilim : (float, float), optional
        Limits for the imputed effects.
    level : float
        Confidence level of the fit of the filled data, as in :func:`bayesma.rma`.
    test : {"z", "t", "knha", "adhoc"}
        Tests of the fit of the filled data, as in :func:`bayesma.rma`.
    labels : str or array_like, optional
        Study labels (a column of *data* or values), used in messages and tables.
    missing : {"raise", "drop"}
        How to treat studies with missing values: an error naming them, or drop them
        with a warning.

    Returns
    -------
    TrimFillResult

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> tf = bm.trimfill("yi", "vi", data=dat)
    >>> tf.k0, tf.side, round(tf.beta, 4)
    (7, 'left', 0.1556)
    >>> tf = bm.trimfill(bm.rma("yi", "vi", data=dat))  # the REML model's estimator
    >>> tf.k0, round(tf.beta, 4), round(tf.tau2, 4)
    (7, 0.1745, 0.0245)
    """
    refuse_dependent(yi, "trimfill()")
    check_test(test, TESTS, "trimfill")
    if estimator not in ("L0", "R0", "Q0"):
        raise InputError(f"estimator must be 'L0', 'R0' or 'Q0', got {estimator!r}")
    if side is not None and side not in ("left", "right"):
        raise InputError(f"side must be 'left', 'right' or None, got {side!r}")
    if isinstance(yi, RMAResult):
        original = yi
        refuse_user_weights(yi, "this bias test")
        if original.p != 1:
            raise InputError("trim-and-fill needs a model without moderators")
        md = original.data
        if method is not None and _check_method(method) != original.method:
            raise InputError(
                f"method={method!r} differs from the fitted model's method {original.method!r}: trim-and-fill "
                "uses the model's estimator (as metafor's trimfill(res)); refit with bm.rma(..., "
                f"method={method!r}) or pass the yi and vi columns with method={method!r}")
        method = original.method
    else:
        method = _check_method("FE" if method is None else method)
        md = _metadata(yi, vi, sei, data, labels, missing)
        original = fit_rma(md, np.ones((md.k, 1)), ["intrcpt"], method=method, test=test, level=_level(level))
    k = md.k
    if k == 1:
        raise InputError("trim-and-fill needs at least two studies (k = 1)")

    y_all, v_all = md.yi, md.vi
    if side is None:
        side = _choose_side(y_all, v_all, method)
    sign = -1.0 if side == "right" else 1.0
    y = sign * y_all
    # ties (rounded effects) are ordered by their sampling variance, so that the result does not
    # depend on the order of the rows (metafor's does): of tied effects the more precise one counts
    # as the more extreme, trimmed first and ranked higher (this reproduces metafor's k0 on
    # dat.hackshaw1998 in its published row order)
    order = np.lexsort((-v_all, y))
    y, v = y[order], v_all[order]

    k0, k0_prev, it = 0, -1, 0
    se_k0 = 0.0
    beta = np.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ConvergenceError(f"trim-and-fill did not converge in {maxiter} iterations")
        beta = _pooled(y[: k - k0], v[: k - k0], method)
        yc = y - beta
        # ties by position in that order (R's ties.method="first" on metafor's row order)
        ranks = stats.rankdata(np.abs(yc), method="ordinal")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            gamma = float(neg.max()) if neg.size else 0.0
            k0_raw = (k - gamma) - 1
            se_raw = np.sqrt(2 * max(0.0, k0_raw) + 2)
        else:
            Sr = float(np.sum(signed[signed > 0]))
            if estimator == "L0":
                k0_raw = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            else:
                radicand = 2 * k**2 - 4 * Sr + 0.25
                if radicand < 0:
                    raise InputError(
                        f"trim-and-fill with estimator='Q0' is undefined for these data: 2k² - 4 S_r + 1/4 "
                        f"= {radicand:g} < 0 (k = {k}, rank sum S_r = {Sr:g} at iteration {it}), so Q0 "
                        "has no real value (Duval & Tweedie 2000); use estimator='L0' or 'R0'")
                k0_raw = k - 0.5 - np.sqrt(radicand)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0_raw**3 + 27 * k0_raw**2 + 17 * k0_raw
                      - 18 * k * k0_raw**2 - 18 * k * k0_raw + 6 * k**2 * k0_raw) / 24.0
            if estimator == "L0":
                # a negative variance (e.g. all effects equal): metafor's se.k0 is NaN
                se_raw = 4 * np.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else np.nan
            else:
                denom = (k - 0.5) ** 2 - k0_raw * (2 * k - k0_raw - 1)
                se_raw = 2 * np.sqrt(var_sr) / np.sqrt(denom) if denom > 0 and var_sr >= 0 else np.nan
        k0 = int(max(0, np.round(k0_raw)))  # R's round() also rounds halves to even
        se_k0 = float(max(0.0, se_raw)) if np.isfinite(se_raw) else np.nan

    if k0 > 0:
        # mirror the k0 most extreme studies around the estimate of the trimmed data
        filled_y = sign * (2 * beta - y[k - k0:])
        if ilim is not None:
            lo, hi = sorted(ilim)
            filled_y = np.clip(filled_y, lo, hi)
        filled_v = v[k - k0:]
        fill_labels = [f"Filled {i + 1}" for i in range(k0)]
        aug = _plain(np.concatenate([y_all, filled_y]), np.concatenate([v_all, filled_v]),
                     list(md.labels) + fill_labels)
        # as metafor 3.8-1's trimfill(res, ...): the filled data are refitted with rma's test and level
        # as given to trimfill (default "z", 95%), not the fitted model's
        fit = fit_rma(aug, np.ones((k + k0, 1)), ["intrcpt"], method=method, test=test, level=_level(level))
        fill = pd.DataFrame({"label": fill_labels, "yi": filled_y, "vi": filled_v})
    else:
        fit = original
        fill = pd.DataFrame({"label": pd.Series([], dtype=object), "yi": pd.Series([], dtype=float),
                             "vi": pd.Series([], dtype=float)})
    p_k0 = None
    if estimator == "R0":
        # metafor: 1 - sum over m = -1..k0-1 of 0.5^(m+2), which is 0.5^(k0+1)
        p_k0 = float(0.5 ** (k0 + 1))
    return TrimFillResult(k0=k0, se_k0=se_k0, side=side, estimator=estimator, fill=fill, fit=fit,
                          original=original, iterations=it, p_k0=p_k0)
