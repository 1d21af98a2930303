"""Mantel-Haenszel and Peto common-effect meta-analysis of 2x2 tables and of rates
(metafor's ``rma.mh`` and ``rma.peto``).

The pooled estimate comes from the tables themselves, not from inverse-variance weights of
the study estimates: the Mantel-Haenszel estimators of the odds ratio, the risk ratio and
the risk difference (with the variances of Robins, Breslow & Greenland 1986 for the odds
ratio, Greenland & Robins 1985 for the others), of the incidence rate ratio and
difference, and Peto's one-step odds ratio (Yusuf et al. 1985). The test of heterogeneity
uses the study estimates (computed as :func:`bayesma.escalc` does, with the zero-cell
correction ``add``/``to``/``drop00``) against the pooled estimate; for odds ratios the
Cochran-Mantel-Haenszel test and the Breslow-Day and Tarone tests of homogeneity are
reported as well.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._validate import as_numeric, check_level, column, study_name
from bayesma.effects import escalc
from bayesma.frequentist._printing import _fmt_p, _p_text, _stars
from bayesma.frequentist.transf import transform_table

__all__ = ["MHResult", "rma_mh", "rma_peto"]

_TO = ("all", "only0", "if0all", "none")
_LOG2PI = float(np.log(2 * np.pi))


@dataclass
class MHResult:
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
        opts = dict(self.options)
        if self.method == "Peto":
            return rma_peto(**tables, slab=labels, **opts)
        return rma_mh(**tables, slab=labels, **opts)

    @property
    def vb(self) -> np.ndarray:
        return np.array([[self.se**2]])

    def summary(self, transf: Any = None) -> pd.DataFrame:
        """One-row table: estimate, se, zval, pval, ci_lb, ci_ub (``transf`` back-transforms
        the estimate and the bounds, e.g. ``numpy.exp`` for odds ratios)."""
        t = pd.DataFrame({"estimate": [self.beta], "se": [self.se], "zval": [self.zval], "pval": [self.pval],
                          "ci_lb": [self.ci_lb], "ci_ub": [self.ci_ub]}, index=pd.Index(["intrcpt"], name="coef"))
        return transform_table(t, transf, "estimate", (("ci_lb", "ci_ub"),))

    def tests(self) -> pd.DataFrame:
        """The tests: heterogeneity (Q), Cochran-Mantel-Haenszel, Breslow-Day and Tarone."""
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
                 "Model Results (log scale):" if self.measure in ("OR", "RR", "IRR") else "Model Results:", ""]
        t = self.summary()
        cells = [f"{self.beta:.4f}", f"{self.se:.4f}", f"{self.zval:.4f}", _fmt_p(self.pval),
                 f"{self.ci_lb:.4f}", f"{self.ci_ub:.4f}"]
        header = list(t.columns)
        widths = [max(len(h), len(c)) for h, c in zip(header, cells)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        lines.append(("  ".join(c.rjust(w) for c, w in zip(cells, widths)) + " " + _stars(self.pval)).rstrip())
        if self.measure in ("OR", "RR", "IRR"):
            e = np.exp([self.beta, self.ci_lb, self.ci_ub])
            lines += ["", "Model Results (exponentiated):", "",
                      f"estimate  ci.lb  ci.ub\n{e[0]:.4f}  {e[1]:.4f}  {e[2]:.4f}"]
        if np.isfinite(self.MH):
            lines += ["", f"Cochran-Mantel-Haenszel Test:    CMH = {self.MH:.4f}, df = 1, p-val {_fmt_p(self.MHp)}"]
        if np.isfinite(self.TA):
            lines.append(f"Tarone's Test for Heterogeneity: X^2 = {self.TA:.4f}, df = {(self.k_pos or 0) - 1}, "
                         f"p-val {_fmt_p(self.TAp)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# input


def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's two-element arguments: the first for the study estimates, the second for the pooling."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{name} must be one value or two (for the study estimates and for the pooled "
                             f"estimate), got {value!r}")
        return value[0], value[1]
    return value, second


def _tables(args: dict[str, Any], data: pd.DataFrame | None, slab: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    given = {n: v for n, v in args.items() if v is not None}
    labels = None
    if slab is not None:
        labels = [str(s) for s in np.atleast_1d(np.asarray(column(data, slab, "slab"), dtype=object))]
    out = {}
    for name, spec in given.items():
        shown = spec if isinstance(spec, str) else name
        out[name] = as_numeric(column(data, spec, name), shown, labels)
    lengths = {n: len(v) for n, v in out.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("the inputs have different lengths (one value per table is needed): "
                         + ", ".join(f"{n}: {k}" for n, k in lengths.items()))
    k = next(iter(lengths.values()))
    if labels is None:
        labels = [str(i + 1) for i in range(k)]
    elif len(labels) != k:
        raise ValueError(f"slab has {len(labels)} labels for {k} tables")
    for name, v in out.items():
        bad = v < 0
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {name!r}: {study_name(labels, i)} has a negative value ({v[i]:g})")
    return out, labels


def _two_by_two(ai, bi, ci, di, n1i, n2i, data, slab):
    if ai is None or ci is None or (bi is None and n1i is None) or (di is None and n2i is None):
        raise TypeError("give ai, bi, ci, di (or ai, n1i, ci, n2i): events and non-events (or group sizes) "
                        "of groups 1 and 2")
    x, labels = _tables({"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i}, data, slab)
    a, c = x["ai"], x["ci"]
    b = x["bi"] if "bi" in x else x["n1i"] - a
    d = x["di"] if "di" in x else x["n2i"] - c
    for cell, size, name in ((a, a + b, "ai"), (c, c + d, "ci")):
        bad = cell > size
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {name!r}: {study_name(labels, i)} has more events than its group size")
    for cell, name in ((b, "bi/n1i"), (d, "di/n2i")):
        bad = cell < 0
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {name!r}: {study_name(labels, i)} has more events than its group size")
    return a, b, c, d, labels


def _omit_missing(cells: list[np.ndarray], labels: list[str]) -> list[np.ndarray]:
    """The tables without missing cells (metafor omits the others from the pooling, with a warning)."""
    na = np.zeros(cells[0].shape, dtype=bool)
    for c in cells:
        na |= np.isnan(c)
    if np.any(na):
        names = ", ".join(study_name(labels, i) for i in np.flatnonzero(na))
        warnings.warn(f"tables with missing values omitted from the pooled estimate: {names}", stacklevel=4)
        if np.all(na):
            raise ValueError("every table has a missing value; nothing to pool")
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
            raise ValueError(f"to={t!r} is not known; choose one of {list(_TO)}")
    for a in (add1, add2):
        if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)) or not np.isfinite(a) \
                or a < 0:
            raise ValueError(f"add must be a finite number >= 0, got {a!r}")
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
    z = beta / se
    return z, float(2 * stats.norm.sf(abs(z))), beta - crit * se, beta + crit * se


# ---------------------------------------------------------------------------
# Mantel-Haenszel


def rma_mh(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    *,
    measure: str = "OR",
    data: pd.DataFrame | None = None,
    slab: Any = None,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    correct: bool = True,
    level: float = 0.95,
) -> MHResult:
    """Mantel-Haenszel common-effect meta-analysis (metafor's ``rma.mh``).

    Parameters
    ----------
    ai, bi, ci, di : array_like or str, optional
        2x2 tables: events and non-events in group 1 (ai, bi) and group 2 (ci, di); or
        give *n1i*, *n2i* (group sizes) instead of *bi*, *di*. For OR, RR and RD.
    x1i, x2i, t1i, t2i : array_like or str, optional
        Events and person-times in groups 1 and 2, for IRR and IRD.
    measure : {"OR", "RR", "RD", "IRR", "IRD"}
        Odds ratio, risk ratio, risk difference, incidence rate ratio or difference
        (ratios are estimated on the log scale).
    data : pandas.DataFrame, optional
        Table holding the named columns.
    slab : array_like or str, optional
        Study labels.
    add, to, drop00 : optional
        metafor's zero-cell options, one value or a pair: the first for the study
        estimates of the heterogeneity test (default ``add=1/2``, ``to="only0"``,
        ``drop00=True``: studies without events in both groups are left out), the
        second for the Mantel-Haenszel estimate (default no correction: 0, "none",
        False).
    correct : bool
        Continuity correction of the Cochran-Mantel-Haenszel test (default True).
    level : float
        Confidence level, 0.95 or 95.

    Returns
    -------
    MHResult

    Raises
    ------
    TypeError
        Missing arguments for the measure.
    ValueError
        Unknown measure or option; negative counts; more events than the group size.

    References
    ----------
    Mantel, N., & Haenszel, W. (1959). J Natl Cancer Inst, 22, 719-748. Robins, J., Breslow,
    N., & Greenland, S. (1986). Biometrics, 42, 311-323. Greenland, S., & Robins, J. M.
    (1985). Biometrics, 41, 55-68. Breslow, N. E., & Day, N. E. (1980). Statistical Methods
    in Cancer Research I. Tarone, R. E. (1985). Biometrika, 72, 91-95. metafor 3.8-1, ``rma.mh``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_mh(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, measure="OR")
    >>> round(res.beta, 4), round(res.se, 4)
    (-0.4734, 0.041)
    """
    if measure not in ("OR", "RR", "RD", "IRR", "IRD"):
        raise ValueError(f"the Mantel-Haenszel method takes measure 'OR', 'RR', 'RD', 'IRR' or 'IRD', got {measure!r}")
    add1, add2, to1, to2, drop1, drop2, level = _check_options(add, to, drop00, level)
    if measure in ("IRR", "IRD"):
        if any(v is not None for v in (ai, bi, ci, di, n1i, n2i)):
            raise TypeError(f"measure {measure!r} takes x1i, x2i, t1i, t2i (events and person-times), not 2x2 tables")
        return _mh_rates(x1i, x2i, t1i, t2i, measure, data, slab, add1, add2, to1, to2, drop1, drop2, correct, level)
    if any(v is not None for v in (x1i, x2i, t1i, t2i)):
        raise TypeError(f"measure {measure!r} takes 2x2 tables (ai, bi, ci, di or ai, n1i, ci, n2i), not rates")
    a, b, c, d, labels = _two_by_two(ai, bi, ci, di, n1i, n2i, data, slab)
    tables = {"ai": a.copy(), "bi": b.copy(), "ci": c.copy(), "di": d.copy()}
    options = {"measure": measure, "add": (add1, add2), "to": (to1, to2), "drop00": (drop1, drop2),
               "correct": correct, "level": level}
    # study estimates for the heterogeneity test
    a1, b1, c1, d1 = a.copy(), b.copy(), c.copy(), d.copy()
    if drop1:
        both = ((a1 == 0) & (c1 == 0)) | ((b1 == 0) & (d1 == 0))
        for arr in (a1, b1, c1, d1):
            arr[both] = np.nan
    es = _study_estimates(measure, a1, b1, c1, d1, add1, to1)
    yi, vi = es["yi"].to_numpy(), es["vi"].to_numpy()
    # the tables pooled
    a, b, c, d = _omit_missing([a, b, c, d], labels)
    if drop2:
        keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    a, b, c, d = _correct([a, b, c, d], add2, to2)
    k = len(a)
    n1, n2 = a + b, c + d
    N = n1 + n2
    extra: dict[str, Any] = {}
    if measure == "OR":
        P, Q = (a + d) / N, (b + c) / N
        R, S = a * d / N, b * c / N
        Rs, Ss = R.sum(), S.sum()
        if Rs == 0 or Ss == 0:
            beta = se = np.nan
        else:
            beta = float(np.log(Rs / Ss))
            se = float(np.sqrt(0.5 * (np.sum(P * R) / Rs**2 + np.sum(P * S + Q * R) / (Rs * Ss) + np.sum(Q * S) / Ss**2)))
        xt, yt = a + c, b + d
        if xt.sum() > 0 and yt.sum() > 0:
            num = (abs(np.sum(a - (n1 / N) * xt)) - (0.5 if correct else 0.0)) ** 2
            CO = num / np.sum((n1 / N) * (n2 / N) * (xt * (yt / N)))
            MH = num / np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1))))
            extra.update(CO=float(CO), COp=float(stats.chi2.sf(CO, 1)), MH=float(MH), MHp=float(stats.chi2.sf(MH, 1)))
        extra.update(_breslow_day(a, n1, n2, N, xt, yt, beta))
    elif measure == "RR":
        R, S = np.sum(a * n2 / N), np.sum(c * n1 / N)
        if a.sum() == 0 or c.sum() == 0:
            beta = se = np.nan
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c) / (R * S)))
    else:  # RD
        W = np.sum(n1 * n2 / N)
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / W)
        se = float(np.sqrt((beta * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2)
                            + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2) / W**2))
    return _finish("MH", measure, level, beta, se, yi, vi, k, labels, extra, tables=tables, options=options)


def _study_estimates(measure, a, b, c, d, add, to):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return escalc(measure, ai=a, bi=b, ci=c, di=d, add=add, to=to)


def _breslow_day(a, n1, n2, N, xt, yt, beta) -> dict[str, Any]:
    if not np.isfinite(beta):
        return {"k_pos": 0}
    psi = np.exp(beta)
    if psi == 1:
        N11 = (n1 / N) * xt
    else:
        A = psi * (n1 + xt) + (n2 - xt)
        B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
        N11 = (A - B) / (2 * (psi - 1))
    pos = (N11 > 0) & (xt > 0) & (yt > 0)
    k_pos = int(pos.sum())
    N11 = N11[pos]
    N12 = n1[pos] - N11
    N21 = xt[pos] - N11
    N22 = N11 - n1[pos] - xt[pos] + N[pos]
    v = 1.0 / (1 / N11 + 1 / N12 + 1 / N21 + 1 / N22)
    BD = max(0.0, float(np.sum((a[pos] - N11) ** 2 / v)))
    TA = max(0.0, BD - float(np.sum(a[pos] - N11) ** 2 / np.sum(v)))
    out: dict[str, Any] = {"BD": BD, "TA": TA, "k_pos": k_pos}
    if k_pos > 1:
        out.update(BDp=float(stats.chi2.sf(BD, k_pos - 1)), TAp=float(stats.chi2.sf(TA, k_pos - 1)))
    return out


def _finish(method, measure, level, beta, se, yi, vi, k, labels, extra, qe=None, tables=None,
            options=None) -> MHResult:
    y, v, k_yi, QE, QEp, I2, H2 = _heterogeneity(yi, vi, beta)
    if qe is not None:
        QE, QEp, I2, H2 = qe(k_yi)
    rss = float(np.sum((y - beta) ** 2 / v)) if np.isfinite(beta) else np.nan
    z, p, lb, ub = _wald(beta, se, level)
    return MHResult(method=method, measure=measure, level=level, beta=float(beta), se=float(se), zval=z, pval=p,
                    ci_lb=lb, ci_ub=ub, QE=QE, QEp=QEp, I2=I2, H2=H2, k=k, k_yi=k_yi, yi=yi, vi=vi, labels=labels,
                    fit_stats=_fit_stats(y, v, rss), tables=tables or {}, options=options or {}, **extra)


def _mh_rates(x1i, x2i, t1i, t2i, measure, data, slab, add1, add2, to1, to2, drop1, drop2, correct, level):
    if any(v is None for v in (x1i, x2i, t1i, t2i)):
        raise TypeError(f"measure {measure!r} needs x1i, x2i, t1i, t2i (events and person-times of groups 1 and 2)")
    x, labels = _tables({"x1i": x1i, "x2i": x2i, "t1i": t1i, "t2i": t2i}, data, slab)
    x1, x2, t1, t2 = x["x1i"], x["x2i"], x["t1i"], x["t2i"]
    tables = {name: v.copy() for name, v in x.items()}
    options = {"measure": measure, "add": (add1, add2), "to": (to1, to2), "drop00": (drop1, drop2),
               "correct": correct, "level": level}
    e1, e2 = x1.copy(), x2.copy()
    if drop1:
        both = (e1 == 0) & (e2 == 0)
        e1[both] = np.nan
        e2[both] = np.nan
    e1, e2 = _correct([e1, e2], add1, to1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "IRR":
            yi = np.log(e1 / t1) - np.log(e2 / t2)
            vi = 1 / e1 + 1 / e2
        else:
            yi = e1 / t1 - e2 / t2
            vi = e1 / t1**2 + e2 / t2**2
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    x1, x2, t1, t2 = _omit_missing([x1, x2, t1, t2], labels)
    if drop2:
        keep = ~((x1 == 0) & (x2 == 0))
        x1, x2, t1, t2 = x1[keep], x2[keep], t1[keep], t2[keep]
    x1, x2 = _correct([x1, x2], add2, to2)
    T = t1 + t2
    extra: dict[str, Any] = {}
    if measure == "IRR":
        R, S = np.sum(x1 * t2 / T), np.sum(x2 * t1 / T)
        if x1.sum() == 0 or x2.sum() == 0:
            beta = se = np.nan
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((t1 / T) * (t2 / T) * (x1 + x2)) / (R * S)))
        xt = x1 + x2
        if xt.sum() > 0:
            MH = (abs(np.sum(x1 - xt * (t1 / T))) - (0.5 if correct else 0.0)) ** 2 / np.sum(xt * (t1 / T) * (t2 / T))
            extra.update(MH=float(MH), MHp=float(stats.chi2.sf(MH, 1)))
    else:
        W = np.sum(t1 * t2 / T)
        beta = float(np.sum((x1 * t2 - x2 * t1) / T) / W)
        se = float(np.sqrt(np.sum((t1 * t2 / T) ** 2 * (x1 / t1**2 + x2 / t2**2))) / W)
    return _finish("MH", measure, level, beta, se, yi, vi, len(x1), labels, extra, tables=tables, options=options)


# ---------------------------------------------------------------------------
# Peto


def rma_peto(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    *,
    data: pd.DataFrame | None = None,
    slab: Any = None,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    level: float = 0.95,
) -> MHResult:
    """Peto's one-step common-effect meta-analysis of odds ratios (metafor's ``rma.peto``).

    Parameters
    ----------
    ai, bi, ci, di : array_like or str, optional
        2x2 tables: events and non-events in groups 1 and 2 (or give *n1i*, *n2i*).
    n1i, n2i : array_like or str, optional
        Group sizes.
    data : pandas.DataFrame, optional
    slab : array_like or str, optional
    add, to, drop00 : optional
        Zero-cell options for the study estimates and (second value) for the pooling,
        as in :func:`rma_mh`.
    level : float

    Returns
    -------
    MHResult
        ``method="Peto"``, ``measure="OR"`` (log odds ratio).

    Raises
    ------
    ValueError
        One of the outcomes never occurs in any table; negative counts.

    References
    ----------
    Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade during
    and after myocardial infarction. Progress in Cardiovascular Diseases, 27, 335-371.
    metafor 3.8-1, ``rma.peto``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_peto(ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> round(res.beta, 4)
    -0.4744
    """
    add1, add2, to1, to2, drop1, drop2, level = _check_options(add, to, drop00, level)
    a, b, c, d, labels = _two_by_two(ai, bi, ci, di, n1i, n2i, data, slab)
    tables = {"ai": a.copy(), "bi": b.copy(), "ci": c.copy(), "di": d.copy()}
    options = {"add": (add1, add2), "to": (to1, to2), "drop00": (drop1, drop2), "level": level}
    a1, b1, c1, d1 = a.copy(), b.copy(), c.copy(), d.copy()
    if drop1:
        both = ((a1 == 0) & (c1 == 0)) | ((b1 == 0) & (d1 == 0))
        for arr in (a1, b1, c1, d1):
            arr[both] = np.nan
    a1, b1, c1, d1 = _correct([a1, b1, c1, d1], add1, to1)
    with np.errstate(divide="ignore", invalid="ignore"):
        n1s, n2s = a1 + b1, c1 + d1
        Ns = n1s + n2s
        Vs = (a1 + c1) * (b1 + d1) * (n1s / Ns) * (n2s / Ns) / (Ns - 1)
        yi = (a1 - (a1 + c1) * n1s / Ns) / Vs
        vi = 1 / Vs
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    a, b, c, d = _omit_missing([a, b, c, d], labels)
    if drop2:
        keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    a, b, c, d = _correct([a, b, c, d], add2, to2)
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    if V.sum() == 0:
        raise ValueError("one of the two outcomes never occurs in any of the tables; Peto's method cannot be used")
    beta = float(np.sum(a - E) / V.sum())
    se = float(np.sqrt(1.0 / V.sum()))
    k_pos = int(np.sum(V > 0))
    Vn = np.where(V == 0, np.nan, V)
    QE_peto = max(0.0, float(np.nansum((a - E) ** 2 / Vn) - np.sum(a - E) ** 2 / np.nansum(Vn)))

    def qe(k_yi: int):
        if k_pos > 1:
            return (QE_peto, float(stats.chi2.sf(QE_peto, k_yi - 1)),
                    max(0.0, 100.0 * (QE_peto - (k_yi - 1)) / QE_peto) if QE_peto > 0 else 0.0, QE_peto / (k_yi - 1))
        return QE_peto, 1.0, 0.0, 1.0

    return _finish("Peto", "OR", level, beta, se, yi, vi, len(a), labels, {"k_pos": k_pos}, qe=qe, tables=tables,
                   options=options)
