"""The result of the Mantel-Haenszel and Peto methods (:class:`MHResult`) and the pieces
:mod:`bayesma.frequentist.mh.fit` shares between them: input tables, the zero-cell options, the
heterogeneity test and the fit statistics of an equal-effects model (metafor's ``rma.mh`` /
``rma.peto``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma import measures
from bayesma._counts_check import check_counts
from bayesma._validate import as_numeric, check_level, columns, study_name, unique_labels
from bayesma.errors import ArgumentTypeError, InputError, MissingDataWarning
from bayesma.frequentist._printing import _fmt_p, _p_text, _stars
from bayesma.frequentist.transf import transform_table

__all__ = ["MHResult"]

_TO = ("all", "only0", "if0all", "none")
_LOG2PI = float(np.log(2 * np.pi))


@dataclass
class MHResult:  # numpydoc ignore=PR01
    """A Mantel-Haenszel or Peto fit, with metafor's names.

    Attributes
    ----------
    method : {"MH", "Peto"}
    measure : str
        ``"OR"``, ``"RR"``, ``"RD"``, ``"IRR"``, ``"IRD"`` (estimates of ratios are logs).
    beta, se, zval, pval, ci_lb, ci_ub : float
        The pooled estimate, its standard error, z test and interval.
    QE, QEp, I2, H2 : float
        Test of heterogeneity (k_yi - 1 degrees of freedom) and I², H².
    CO, COp, MH, MHp : float
        Cochran's and the Cochran-Mantel-Haenszel test of the pooled odds ratio (MH, OR only;
        ``MH`` also for IRR); NaN otherwise.
    BD, BDp, TA, TAp : float
        Breslow-Day and Tarone's tests of homogeneity of odds ratios (MH, OR only).
    k, k_yi, k_pos : int
        Tables used, tables with a study estimate, tables informative for Breslow-Day.
    yi, vi : numpy.ndarray
        Study estimates and variances (NaN where undefined), in input order.
    labels : list of str
    fit_stats : pandas.DataFrame
        logLik, deviance, AIC, BIC, AICc under ML and REML, as metafor.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> mh = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, measure="RR")
    >>> round(mh.beta, 4), round(mh.ci_lb, 4)
    (-0.4537, -0.5308)
    """

    method: str
    measure: str
    level: float
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    QE: float
    QEp: float
    I2: float
    H2: float
    k: int
    k_yi: int
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    labels: list[str] = field(repr=False)
    fit_stats: pd.DataFrame = field(repr=False)
    CO: float = np.nan
    COp: float = np.nan
    MH: float = np.nan
    MHp: float = np.nan
    BD: float = np.nan
    BDp: float = np.nan
    TA: float = np.nan
    TAp: float = np.nan
    k_pos: int | None = None
    tau2: float = 0.0
    p: int = 1
    parms: int = 1
    dfs: None = None
    coef_names: list[str] = field(default_factory=lambda: ["intrcpt"])

    tables: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    fitter: Callable[..., MHResult] | None = field(default=None, repr=False)

    @property
    def estimate(self) -> float:
        return self.beta

    @property
    def stat(self) -> float:
        """The z statistic (``zval``), under the name :class:`RMAResult` uses."""
        return self.zval

    def refit(self, keep: Any = None) -> MHResult:
        """The same method and options on the tables in *keep* (boolean mask or indices), as
        metafor's ``leave1out`` / ``cumul`` do for ``rma.mh`` and ``rma.peto`` fits."""
        mask = np.ones(len(self.labels), dtype=bool)
        if keep is not None:
            mask[:] = False
            mask[np.asarray(keep)] = True
        tables = {name: values[mask] for name, values in self.tables.items()}
        labels = [lab for lab, m in zip(self.labels, mask) if m]
        if self.fitter is None:
            raise ArgumentTypeError("this result does not know the function that fitted it (made by rma_mh / rma_peto?)")
        return self.fitter(**tables, slab=labels, **self.options)

    @property
    def vb(self) -> np.ndarray:
        return np.array([[self.se**2]])

    def summary(self, transf: Any = None) -> pd.DataFrame:
        """One-row table: estimate, se, zval, pval, ci_lb, ci_ub (``transf`` back-transforms
        the estimate and the bounds, e.g. ``numpy.exp`` for odds ratios).

        Parameters
        ----------
        transf : callable, optional
            Back-transformation of ``estimate``, ``ci_lb`` and ``ci_ub`` (``se`` is then NaN).

        Returns
        -------
        pandas.DataFrame
            Index ``coef`` (one row, ``intrcpt``), columns ``estimate``, ``se``, ``zval``,
            ``pval``, ``ci_lb``, ``ci_ub``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> mh = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, measure="RR")
        >>> mh.summary().loc["intrcpt", ["estimate", "ci_lb", "ci_ub"]].round(4).tolist()
        [-0.4537, -0.5308, -0.3766]
        """
        t = pd.DataFrame({"estimate": [self.beta], "se": [self.se], "zval": [self.zval], "pval": [self.pval],
                          "ci_lb": [self.ci_lb], "ci_ub": [self.ci_ub]}, index=pd.Index(["intrcpt"], name="coef"))
        return transform_table(t, transf, "estimate", (("ci_lb", "ci_ub"),))

    def tests(self) -> pd.DataFrame:
        """The tests: heterogeneity (Q), Cochran-Mantel-Haenszel, Breslow-Day and Tarone.

        Returns
        -------
        pandas.DataFrame
            One row per test computed for the measure, columns ``statistic``, ``df``, ``pval``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> mh = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, measure="RR")
        >>> mh.tests().index.tolist()
        ['Q (heterogeneity)']
        """
        rows = {"Q (heterogeneity)": (self.QE, self.k_yi - 1, self.QEp)}
        if np.isfinite(self.MH):
            rows["CMH"] = (self.MH, 1, self.MHp)
        if np.isfinite(self.BD):
            rows["Breslow-Day"] = (self.BD, (self.k_pos or 0) - 1, self.BDp)
            rows["Tarone"] = (self.TA, (self.k_pos or 0) - 1, self.TAp)
        return pd.DataFrame(rows, index=["statistic", "df", "pval"]).T

    def __repr__(self) -> str:
        name = "Mantel-Haenszel" if self.method == "MH" else "Peto's"
        head = "Equal-Effects Model (k = {}){}".format(self.k, "" if self.method == "MH" else "")
        lines = [f"{head}", f"({name} method, measure {self.measure})", "",
                 f"I^2 (total heterogeneity / total variability):  {self.I2:.2f}%",
                 f"H^2 (total variability / sampling variability): {self.H2:.2f}", "",
                 f"Test for Heterogeneity:\nQ(df = {self.k_yi - 1}) = {self.QE:.4f}, p-val {_p_text(self.QEp)}", "",
                 "Model Results (log scale):" if measures.get(self.measure).is_log else "Model Results:", ""]
        t = self.summary()
        cells = [f"{self.beta:.4f}", f"{self.se:.4f}", f"{self.zval:.4f}", _fmt_p(self.pval),
                 f"{self.ci_lb:.4f}", f"{self.ci_ub:.4f}"]
        header = list(t.columns)
        widths = [max(len(h), len(c)) for h, c in zip(header, cells)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        lines.append(("  ".join(c.rjust(w) for c, w in zip(cells, widths)) + " " + _stars(self.pval)).rstrip())
        if measures.get(self.measure).is_log:
            e = np.exp([self.beta, self.ci_lb, self.ci_ub])
            lines += ["", "Model Results (exponentiated):", "",
                      f"estimate    ci_lb    ci_ub\n{e[0]:8.4f}  {e[1]:7.4f}  {e[2]:7.4f}"]
        if np.isfinite(self.MH):
            lines += ["", f"Cochran-Mantel-Haenszel Test:    CMH = {self.MH:.4f}, df = 1, p-val {_p_text(self.MHp)}"]
        if np.isfinite(self.TA):
            lines.append(f"Tarone's Test for Heterogeneity: X^2 = {self.TA:.4f}, df = {(self.k_pos or 0) - 1}, "
                         f"p-val {_p_text(self.TAp)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# input


def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's two-element arguments: the first for the study estimates, the second for the pooling."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise InputError(f"{name} must be one value or two (for the study estimates and for the pooled "
                             f"estimate), got {value!r}")
        return value[0], value[1]
    return value, second


def _tables(args: dict[str, Any], data: pd.DataFrame | None, slab: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    given = {n: v for n, v in args.items() if v is not None}
    # Series pair by index: with data's rows, or (no data) with the first Series given
    resolved = columns(data, {**given, "slab": slab})
    labels = None
    if slab is not None:
        labels = [str(s) for s in np.atleast_1d(np.asarray(resolved["slab"], dtype=object))]
    out = {}
    for name, spec in given.items():
        shown = spec if isinstance(spec, str) else name
        out[name] = as_numeric(resolved[name], shown, labels)
    lengths = {n: len(v) for n, v in out.items()}
    if len(set(lengths.values())) > 1:
        raise InputError("the inputs have different lengths (one value per table is needed): "
                         + ", ".join(f"{n}: {k}" for n, k in lengths.items()))
    k = next(iter(lengths.values()))
    if labels is None:
        labels = [str(i + 1) for i in range(k)]
    elif len(labels) != k:
        raise InputError(f"slab has {len(labels)} labels for {k} tables")
    else:
        labels = unique_labels(labels)  # metafor's rule: "Smith", "Smith" -> "Smith.1", "Smith.2"
    # negative cells, person-times <= 0, more events than the group size (metafor's escalc refuses them)
    check_counts(out, labels, {n: v for n, v in given.items() if isinstance(v, str)}, whole=False)
    return out, labels


def _two_by_two(ai, bi, ci, di, n1i, n2i, data, slab):
    if ai is None or ci is None or (bi is None and n1i is None) or (di is None and n2i is None):
        raise ArgumentTypeError("give ai, bi, ci, di (or ai, n1i, ci, n2i): events and non-events (or group sizes) "
                        "of groups 1 and 2")
    x, labels = _tables({"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i}, data, slab)
    a, c = x["ai"], x["ci"]
    b = x["bi"] if "bi" in x else x["n1i"] - a
    d = x["di"] if "di" in x else x["n2i"] - c
    return a, b, c, d, labels


def _omit_missing(cells: list[np.ndarray], labels: list[str]) -> list[np.ndarray]:
    """The tables without missing cells (metafor omits the others from the pooling, with a warning)."""
    na = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        na |= np.isnan(c)
    if np.any(na):
        names = ", ".join(study_name(labels, int(i)) for i in np.flatnonzero(na))
        warnings.warn(f"tables with missing values omitted from the pooled estimate: {names}", MissingDataWarning, stacklevel=4)
        if np.all(na):
            raise InputError("every table has a missing value; nothing to pool")
    return [c[~na] for c in cells]


def _correct(cells: list[np.ndarray], add: float, to: str) -> list[np.ndarray]:
    if to == "all":
        return [c + add for c in cells]
    zero = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        zero |= c == 0
    if to == "only0":
        return [np.where(zero, c + add, c) for c in cells]
    if to == "if0all" and np.any(zero):
        return [c + add for c in cells]
    return cells


def _check_options(add: Any, to: Any, drop00: Any, level: Any):
    add1, add2 = _pair(add, 0.0, "add")
    to1, to2 = _pair(to, "none", "to")
    d1, d2 = _pair(drop00, False, "drop00")
    for t in (to1, to2):
        if t not in _TO:
            raise InputError(f"to={t!r} is not known; choose one of {list(_TO)}")
    for a in (add1, add2):
        if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)) or not np.isfinite(a) \
                or a < 0:
            raise InputError(f"add must be a finite number >= 0, got {a!r}")
    return float(add1), float(add2), to1, to2, bool(d1), bool(d2), check_level(level)


def _heterogeneity(yi: np.ndarray, vi: np.ndarray, beta: float):
    ok = ~(np.isnan(yi) | np.isnan(vi))
    y, v = yi[ok], vi[ok]
    k_yi = int(ok.sum())
    wi = 1.0 / v
    if k_yi > 1:
        QE = max(0.0, float(np.sum(wi * (y - beta) ** 2)))
        QEp = float(stats.chi2.sf(QE, k_yi - 1))
        I2 = max(0.0, 100.0 * (QE - (k_yi - 1)) / QE) if QE > 0 else 0.0
        H2 = QE / (k_yi - 1)
    else:
        QE, QEp, I2, H2 = 0.0, 1.0, 0.0, 1.0
    return y, v, k_yi, QE, QEp, I2, H2


def _fit_stats(y: np.ndarray, v: np.ndarray, rss: float) -> pd.DataFrame:
    """metafor's fit statistics of an equal-effects model with one parameter."""
    k = len(y)
    if k < 1:
        return pd.DataFrame(np.nan, index=["ll", "dev", "AIC", "BIC", "AICc"], columns=["ML", "REML"])
    wi = 1.0 / v
    ll_ml = -0.5 * k * _LOG2PI - 0.5 * np.sum(np.log(v)) - 0.5 * rss
    ll_reml = (-0.5 * (k - 1) * _LOG2PI + 0.5 * np.log(k) - 0.5 * np.sum(np.log(v)) - 0.5 * np.log(np.sum(wi))
               - 0.5 * rss)
    dev_ml = -2 * (ll_ml - np.sum(-0.5 * (_LOG2PI + np.log(v))))
    with np.errstate(divide="ignore", invalid="ignore"):
        ml = [ll_ml, dev_ml, -2 * ll_ml + 2, -2 * ll_ml + np.log(k), -2 * ll_ml + 2 * max(k, 3) / (max(k, 3) - 2)]
        reml = [ll_reml, -2 * ll_reml, -2 * ll_reml + 2, -2 * ll_reml + np.log(k - 1) if k > 1 else np.nan,
                -2 * ll_reml + 2 * max(k - 1, 3) / (max(k - 1, 3) - 2)]
    return pd.DataFrame({"ML": ml, "REML": reml}, index=["ll", "dev", "AIC", "BIC", "AICc"])


def _wald(beta: float, se: float, level: float):
    if not np.isfinite(beta) or not np.isfinite(se):
        return np.nan, np.nan, np.nan, np.nan
    crit = float(stats.norm.isf((1 - level) / 2))
    if se == 0:  # no events (RD) or only events (RR, RD) anywhere: metafor's 0 (0), z and p NaN
        return np.nan, np.nan, beta, beta
    z = beta / se
    return z, float(2 * stats.norm.sf(abs(z))), beta - crit * se, beta + crit * se


def _finish(method, measure, level, beta, se, yi, vi, k, labels, extra, qe=None, tables=None,
            options=None, fitter=None) -> MHResult:
    y, v, k_yi, QE, QEp, I2, H2 = _heterogeneity(yi, vi, beta)
    if qe is not None:
        QE, QEp, I2, H2 = qe(k_yi)
    rss = float(np.sum((y - beta) ** 2 / v)) if np.isfinite(beta) else np.nan
    z, p, lb, ub = _wald(beta, se, level)
    return MHResult(method=method, measure=measure, level=level, beta=float(beta), se=float(se), zval=z, pval=p,
                    ci_lb=lb, ci_ub=ub, QE=QE, QEp=QEp, I2=I2, H2=H2, k=k, k_yi=k_yi, yi=yi, vi=vi, labels=labels,
                    fit_stats=_fit_stats(y, v, rss), tables=tables or {}, options=options or {},
                    fitter=fitter, **extra)


