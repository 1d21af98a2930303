"""The test of excess significance (Ioannidis & Trikalinos 2007), as metafor's ``tes()``.

Each study's test of H0 has power ``pow_i`` against the true effect ``theta`` (the
fixed-effects average unless given; with ``tau2``, averaged over true effects
N(theta, tau2)). Under no selection the number of significant studies O has expectation
E = sum(pow_i); more significant findings than expected (O > E) point to selective reporting.
O is compared with its null distribution exactly (the Poisson-binomial distribution of a
sum of independent Bernoulli(pow_i)), by a binomial test with the average power, or by the
chi-square test of one proportion. ``theta_lim`` is the true effect at which the test's
p-value equals ``tes_alpha``: true effects below it would make the excess significant.

Reference: Ioannidis, J. P. A., & Trikalinos, T. A. (2007). An exploratory test for an
excess of significant findings. *Clinical Trials*, 4, 245-253; Stanley et al. (2021);
metafor 3.8-1 ``tes()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from bayesma.errors import InputError
from bayesma.frequentist._printing import _p_text
from bayesma.frequentist.bias.small_study import _data

__all__ = ["tes", "TESResult", "sunset_values", "SunsetData"]

_ALTERNATIVES = ("two.sided", "greater", "less")
_TESTS = ("exact", "binom", "chi2")


@dataclass(frozen=True)
class TESResult:  # numpydoc ignore=PR01
    """Result of :func:`tes`, with metafor's names.

    Attributes
    ----------
    k : int
    O : int
        Observed number of significant studies.
    E : float
        Expected number, the sum of the studies' power.
    OEratio : float
    test : str
        "exact", "binom" or "chi2".
    X2 : float
        The chi-square statistic (NaN for the other tests).
    pval : float
    power : numpy.ndarray
        Each study's power.
    sig : numpy.ndarray of bool
        Whether each study is significant.
    theta : float
        The true effect the power refers to.
    theta_lim : float or tuple of float
        The true effect at which the p-value equals ``tes_alpha`` (two bounds for a
        two-sided test; NaN where there is none).
    tes_alternative : str
    tes_alpha : float
    labels : list of str

    Examples
    --------
    >>> import bayesma as bm
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> t = bm.tes("yi", "vi", data=es)
    >>> t.summary().shape
    (13, 2)
    """

    k: int
    O: int
    E: float
    OEratio: float
    test: str
    X2: float
    pval: float
    power: np.ndarray = field(repr=False)
    sig: np.ndarray = field(repr=False)
    theta: float
    theta_lim: Any
    tes_alternative: str
    tes_alpha: float
    labels: list[str] = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """One row per study: its power and whether it is significant."""
        return pd.DataFrame({"power": self.power, "significant": self.sig},
                            index=pd.Index(self.labels, name="study"))

    def __repr__(self) -> str:
        q = np.quantile(self.power, [0, 0.25, 0.5, 0.75, 1])
        lim = self.theta_lim
        lim_text = (", ".join(f"{v:.4f}" for v in lim) if isinstance(lim, tuple) else f"{lim:.4f}")
        lines = [
            "Test of Excess Significance", "",
            f"Observed Number of Significant Findings: {self.O} (out of {self.k})",
            f"Expected Number of Significant Findings: {self.E:.4f}",
            f"Observed Number / Expected Number:       {self.OEratio:.4f}", "",
            f"Estimated Power of Tests (based on theta = {self.theta:.4f})", "",
            "   min      q1  median      q3     max",
            " ".join(f"{v:.4f}" for v in q), "",
            f"Test of Excess Significance: p {_p_text(self.pval)} ({self.test} test"
            + (f", X2 = {self.X2:.4f}" if self.test == "chi2" else "") + ")",
            f"Limit Estimate (theta_lim):  {lim_text} (where p = {self.tes_alpha:g})",
        ]
        return "\n".join(lines)


def _crit(alternative: str, alpha: float) -> float:
    return float(stats.norm.isf(alpha / 2 if alternative == "two.sided" else alpha))


def _power(theta: np.ndarray, sei: np.ndarray, tau2: float, H0: float, alternative: str, crit: float) -> np.ndarray:
    """Power of each study's z test; with tau² the test statistic is N((theta - H0)/se, 1 + tau²/vi)."""
    sd = np.sqrt(1.0 + tau2 / sei**2)
    m = (theta - H0) / sei
    if alternative == "greater":
        return stats.norm.sf(crit, loc=m, scale=sd)
    if alternative == "less":
        return stats.norm.cdf(crit, loc=m, scale=sd)
    return stats.norm.sf(crit, loc=m, scale=sd) + stats.norm.cdf(-crit, loc=m, scale=sd)


def _poisson_binomial(p: np.ndarray) -> np.ndarray:
    """P(sum of independent Bernoulli(p_i) = j), j = 0..k, by the usual recursion."""
    dist = np.zeros(p.size + 1)
    dist[0] = 1.0
    for i, pi in enumerate(p):
        dist[1:i + 2] = dist[1:i + 2] * (1 - pi) + dist[:i + 1] * pi
        dist[0] *= 1 - pi
    return dist


def _pvalue(O: int, power: np.ndarray, test: str, alternative: str, correct: bool) -> tuple[float, float]:
    """(p-value, X2) of O significant studies out of k with the given power."""
    k = power.size
    E = float(power.sum())
    if test == "exact":
        prj = _poisson_binomial(power)
        if alternative == "greater":
            p = prj[O:].sum()
        elif alternative == "less":
            p = prj[:O + 1].sum()
        else:
            p = prj[prj <= prj[O] + np.finfo(float).eps ** 0.5].sum()
        return float(min(p, 1.0)), np.nan
    pbar = E / k
    if test == "binom":
        return float(stats.binomtest(O, k, pbar, alternative=alternative).pvalue), np.nan
    # chi-square test of one proportion (R's prop.test with one group)
    dev = O - k * pbar
    yates = min(0.5, abs(dev)) if correct else 0.0
    X2 = (abs(dev) - yates) ** 2 / (k * pbar * (1 - pbar))
    if alternative == "two.sided":
        return float(stats.chi2.sf(X2, 1)), float(X2)
    z = np.sign(O / k - pbar) * np.sqrt(X2)
    p = stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z)
    return float(p), float(X2)


def _limit(fn, lo: float, hi: float, increasing_at_hi: bool) -> float:
    """Root of fn on [lo, hi], the interval extended outwards until it brackets the root."""
    a, b = (lo, hi) if lo <= hi else (hi, lo)
    width = max(b - a, 1e-3)
    for _ in range(60):
        fa, fb = fn(a), fn(b)
        if np.sign(fa) != np.sign(fb) or fa == 0 or fb == 0:
            return float(optimize.brentq(fn, a, b, xtol=1e-12, rtol=1e-12))
        if increasing_at_hi:
            b += width
        else:
            a -= width
        width *= 2
    return np.nan


def tes(yi: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None, H0: float = 0.0,
        alternative: str = "two.sided", alpha: float = 0.05, theta: float | None = None, tau2: float | None = None,
        test: str | None = None, tes_alternative: str = "greater", tes_alpha: float = 0.10,
        correct: bool = False, find_lim: bool = True, missing: str = "raise") -> TESResult:
    """Test of excess significance (metafor's ``tes``).

    Parameters
    ----------
    yi : RMAResult, str or array_like
        A fit of :func:`bayesma.rma` (its effects are used) or the effects, a column of *data*.
    vi, sei : str or array_like, optional
        Sampling variances or standard errors (give one).
    data : pandas.DataFrame, optional
    H0 : float
        The null value of each study's test.
    alternative : {"two.sided", "greater", "less"}
        The direction of each study's test (significance at *alpha*).
    alpha : float
        Significance level of each study's test.
    theta : float, optional
        The true effect for the power; default the fixed-effects (or, with *tau2*, the
        random-effects weighted) average.
    tau2 : float, optional
        Heterogeneity: power averaged over true effects N(theta, tau2).
    test : {"exact", "binom", "chi2"}, optional
        Default as metafor: "exact" when the tail has at most 10^6 combinations, else "chi2".
    tes_alternative : {"greater", "less", "two.sided"}
        Direction of the excess test ("greater": more significant findings than expected).
    tes_alpha : float
        The p-value at which ``theta_lim`` is found.
    correct : bool
        Continuity correction of the chi-square test.
    find_lim : bool
        Find ``theta_lim``.
    missing : {"raise", "drop"}

    Returns
    -------
    TESResult

    Raises
    ------
    ValueError
        For arguments outside their range or invalid data (naming the study).

    Notes
    -----
    metafor integrates the power over ±5 tau numerically and finds ``theta_lim`` with
    ``uniroot``'s default tolerance (about 1e-4); bayesma uses the closed form of the power
    under N(theta, tau2) and a root to 1e-12, so ``theta_lim`` can differ from metafor's in the
    fourth decimal.

    References
    ----------
    Ioannidis & Trikalinos (2007) Clinical Trials 4:245-253; metafor 3.8-1 ``tes``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> t = bm.tes("yi", "vi", data=es)
    >>> t.O, round(t.E, 3), round(t.pval, 4)
    (8, 6.093, 0.1344)
    """
    for name, value, allowed in (("alternative", alternative, _ALTERNATIVES),
                                 ("tes_alternative", tes_alternative, _ALTERNATIVES)):
        if value not in allowed:
            raise InputError(f"{name} must be one of {allowed}, got {value!r}")
    if test is not None and test not in _TESTS:
        raise InputError(f"test must be one of {_TESTS}, got {test!r}")
    for name, level in (("alpha", alpha), ("tes_alpha", tes_alpha)):
        if not (isinstance(level, (int, float)) and 0 < level < 1):
            raise InputError(f"{name} must be between 0 and 1, got {level!r}")
    if tau2 is not None and not (np.isfinite(tau2) and tau2 >= 0):
        raise InputError(f"tau2 must be a finite number >= 0, got {tau2!r}")
    if theta is not None and not np.isfinite(theta):
        raise InputError(f"theta must be a finite number, got {theta!r}")
    md = _data(yi, vi, sei, data, missing)
    y, v = np.asarray(md.yi, float), np.asarray(md.vi, float)
    k = y.size
    se = np.sqrt(v)
    t2 = 0.0 if tau2 is None or tau2 <= 0 else float(tau2)
    w = 1.0 / (v + t2)
    theta_1 = float(np.sum(w * y) / np.sum(w)) if theta is None else float(theta)
    crit = _crit(alternative, alpha)
    zi = (y - H0) / se
    sig = (np.abs(zi) >= crit if alternative == "two.sided" else zi >= crit if alternative == "greater"
           else zi <= -crit)
    O = int(sig.sum())
    if test is None:
        js = range(0, k + 1) if tes_alternative == "two.sided" else (
            range(O, k + 1) if tes_alternative == "greater" else range(0, O + 1))
        test = "exact" if _n_outcomes_at_most(k, js, 10**6) else "chi2"
    crit_dir = -crit if alternative == "less" else crit

    def pval_at(th: float, alt: str = tes_alternative) -> tuple[float, float, np.ndarray]:
        power = _power(np.full(k, th), se, t2, H0, alternative, crit_dir)
        p, x2 = _pvalue(O, power, test, alt, correct)
        return p, x2, power

    pval, X2, power = pval_at(theta_1)
    theta_lim: Any = np.nan
    if find_lim:
        theta_lim = _theta_lim(pval_at, theta_1, H0, tes_alternative, tes_alpha)
    E = float(power.sum())
    return TESResult(k=k, O=O, E=E, OEratio=O / E if E > 0 else np.inf, test=test, X2=X2, pval=pval,
                     power=power, sig=sig, theta=theta_1, theta_lim=theta_lim,
                     tes_alternative=tes_alternative, tes_alpha=float(tes_alpha), labels=list(md.labels))


def _n_outcomes_at_most(k: int, js: range, limit: int) -> bool:
    """Whether sum(choose(k, j) for j in js) <= limit (metafor's rule for the exact test).

    Summing the exact big integers costs O(k²) digits (0.5 s at k = 4,000, growing ~k³); the
    binomial coefficients in floating point decide it at once, and only a sum near the limit,
    where every term is small, is recounted exactly.
    """
    from math import comb

    from scipy import special

    j = np.arange(js.start, js.stop)
    total = float(np.sum(special.comb(k, j, exact=False)))
    if abs(total - limit) > 1e-6 * limit:
        return total <= limit
    return sum(comb(k, int(i)) for i in j) <= limit


def _theta_lim(pval_at, theta_1: float, H0: float, alt: str, tes_alpha: float) -> Any:
    """metafor's theta_lim: where the p-value of the excess test equals tes_alpha."""
    if alt == "two.sided":
        lb = _theta_lim(lambda th, a="greater": pval_at(th, a), theta_1, H0, "greater", tes_alpha / 2)
        ub = _theta_lim(lambda th, a="less": pval_at(th, a), theta_1, H0, "less", tes_alpha / 2)
        return (lb, ub)

    def diff(th: float) -> float:
        return pval_at(th)[0] - tes_alpha

    at_h0 = diff(H0)
    if (alt == "greater" and at_h0 >= 0) or (alt == "less" and at_h0 <= 0):
        return np.nan
    # "greater": the p-value grows with theta (more power explains more significant findings)
    return _limit(diff, H0, theta_1, increasing_at_hi=theta_1 >= H0)


@dataclass(frozen=True)
class SunsetData:  # numpydoc ignore=PR01
    """What a sunset (power-enhanced) funnel plot shows, computed by :func:`sunset_values`.

    Attributes
    ----------
    yi, sei : numpy.ndarray
        The studies' effects and standard errors.
    power : numpy.ndarray
        Each study's power to detect ``true_effect`` (two-sided test at ``alpha``).
    se_grid, power_grid : numpy.ndarray
        Power as a function of the standard error, for the background bands.
    true_effect, alpha : float
    median_power : float
        Median of the studies' power.
    success_rate : float
        Share of significant studies.
    r_index : float
        Schimmack's R-index: median power minus the inflation (success rate - median power).
    labels : list of str

    Examples
    --------
    >>> import bayesma as bm
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> bm.sunset_values("yi", "vi", data=es).power.shape
    (13,)
    """

    yi: np.ndarray
    sei: np.ndarray
    power: np.ndarray
    se_grid: np.ndarray
    power_grid: np.ndarray
    true_effect: float
    alpha: float
    median_power: float
    success_rate: float
    r_index: float
    labels: list[str]

    def plot(self, **kwargs: Any):
        """The sunset funnel plot (see :func:`bayesma.plots.sunset.sunset_plot`)."""
        from bayesma.plots.sunset import sunset_plot

        return sunset_plot(self, **kwargs)


def sunset_values(yi: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
                  true_effect: float | None = None, alpha: float = 0.05, missing: str = "raise") -> SunsetData:
    """Power of each study and the summaries of a sunset (power-enhanced) funnel plot.

    Parameters
    ----------
    yi : RMAResult, str or array_like
        A fit of :func:`bayesma.rma` or the effects (a column of *data*).
    vi, sei : str or array_like, optional
        Sampling variances or standard errors.
    data : pandas.DataFrame, optional
    true_effect : float, optional
        The true effect the power refers to; default the fixed-effects average (as
        metaviz's ``viz_sunset``).
    alpha : float
        Two-sided significance level of each study's test.
    missing : {"raise", "drop"}

    Returns
    -------
    SunsetData
        With ``.plot()`` for the figure.

    References
    ----------
    Kossmeier, Tran & Voracek (2020) Zeitschrift für Psychologie 228:25-32 (metaviz's
    ``viz_sunset``); Schimmack (2016), the R-index.

    Examples
    --------
    >>> import bayesma as bm
    >>> es = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> s = bm.sunset_values("yi", "vi", data=es)
    >>> round(s.median_power, 3), round(s.r_index, 3)
    (0.363, 0.112)
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")
    md = _data(yi, vi, sei, data, missing)
    y, v = np.asarray(md.yi, float), np.asarray(md.vi, float)
    se = np.sqrt(v)
    theta = float(np.sum(y / v) / np.sum(1 / v)) if true_effect is None else float(true_effect)
    crit = _crit("two.sided", alpha)
    power = _power(np.full(y.size, theta), se, 0.0, 0.0, "two.sided", crit)
    se_grid = np.linspace(0.0, se.max() * 1.1, 200)[1:]
    power_grid = _power(np.full(se_grid.size, theta), se_grid, 0.0, 0.0, "two.sided", crit)
    median_power = float(np.median(power))
    success = float(np.mean(np.abs(y) / se >= crit))
    return SunsetData(yi=y, sei=se, power=power, se_grid=se_grid, power_grid=power_grid, true_effect=theta,
                      alpha=float(alpha), median_power=median_power, success_rate=success,
                      r_index=median_power - (success - median_power), labels=list(md.labels))
