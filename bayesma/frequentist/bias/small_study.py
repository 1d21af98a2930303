"""Small-study and publication-bias diagnostics with metafor's numbers.

- :func:`pet_peese`: PET (``~ sei``), PEESE (``~ vi``) and the conditional PET-PEESE (Stanley & Doucouliagos 2014);
- :func:`fsn`: fail-safe N by Rosenthal, Orwin and Rosenberg (``metafor::fsn``); :func:`hc`: the Henmi &
  Copas (2010) interval (``metafor::hc``); :func:`ranktest`: Begg & Mazumdar's test (``metafor::ranktest``).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, special, stats

from bayesma._format import small_k_lines, small_k_text
from bayesma._rootfind import R_UNIROOT_TOL, uniroot
from bayesma._validate import finite_number as _finite_number
from bayesma.data import MetaData
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist._kendall import kendall_lower_tail
from bayesma.frequentist._printing import _fmt_p, _p_text, pet_test_line
from bayesma.frequentist.bias.dependent import PetPeeseMVResult, pet_peese_mv, refuse_dependent
from bayesma.frequentist.bias.direction import resolve_alternative
from bayesma.frequentist.mv import RMAMVResult
from bayesma.frequentist.uni import RMAResult, rma
from bayesma.frequentist.weights import refuse_user_weights

__all__ = ["pet_peese", "PetPeeseResult", "fsn", "FsnResult", "hc", "HCResult", "ranktest", "RankTestResult"]

_R_INT_TOL = sys.float_info.epsilon**0.25  # R's integrate() default rel.tol (= abs.tol)


def _data(yi: Any, vi: Any, sei: Any, data: pd.DataFrame | None, missing: str = "raise") -> MetaData:
    """Validated effects and variances from an RMAResult or columns/arrays (positive variances)."""
    if isinstance(yi, RMAResult):
        refuse_user_weights(yi, "this small-study method")
        if vi is not None or sei is not None or data is not None:
            raise InputError("give either a fitted model or yi with vi/sei (and data), not both")
        md = yi.data
    elif isinstance(yi, MetaData):
        md = yi
    else:
        md = MetaData.create(yi, vi, sei=sei, data=data, missing=missing)
    bad = np.flatnonzero(~(np.asarray(md.vi) > 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"study {md.labels[i]!r} (row {i + 1}): the sampling variance (column vi) "
                         f"must be positive, got {md.vi[i]}")
    return md


# --------------------------------------------------------------------------- PET-PEESE
@dataclass(repr=False)
class PetPeeseResult:  # numpydoc ignore=PR01
    """PET and PEESE meta-regressions and the conditional PET-PEESE estimate.

    Attributes
    ----------
    pet, peese : RMAResult
        Fixed-effects meta-regressions of yi on ``sei`` (PET) and on ``vi`` (PEESE);
        their intercepts are the bias-corrected effects.
    estimate, se, ci_lb, ci_ub : float
        The conditional estimate: PEESE's intercept when PET's intercept is significant
        at the one-sided level *alpha* in the direction *alternative*, else PET's.
    chosen : {"PET", "PEESE"}
    pet_pval_one_sided : float
        One-sided p-value of PET's intercept.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> bm.pet_peese("yi", "vi", data=dat).chosen   # direction detected: the vaccine lowers the risk
    'PEESE'
    """

    pet: RMAResult
    peese: RMAResult
    chosen: str
    pet_pval_one_sided: float
    alpha: float
    alternative: str

    def _pick(self) -> RMAResult:
        return self.peese if self.chosen == "PEESE" else self.pet

    @property
    def estimate(self) -> float:
        return float(self._pick().beta[0])

    @property
    def se(self) -> float:
        return float(self._pick().se[0])

    @property
    def ci_lb(self) -> float:
        return float(self._pick().ci_lb[0])

    @property
    def ci_ub(self) -> float:
        return float(self._pick().ci_ub[0])

    @property
    def pval(self) -> float:
        return float(self._pick().pval[0])

    def summary(self) -> pd.DataFrame:
        """Intercept and slope of PET and PEESE, and the conditional estimate."""
        rows = []
        for name, fit in (("PET", self.pet), ("PEESE", self.peese)):
            for j, coef in enumerate(fit.coef_names):
                rows.append((name, coef, fit.beta[j], fit.se[j], fit.stat[j], fit.pval[j], fit.ci_lb[j], fit.ci_ub[j]))
        rows.append(("PET-PEESE", f"intrcpt ({self.chosen})", self.estimate, self.se, np.nan, self.pval,
                     self.ci_lb, self.ci_ub))
        return pd.DataFrame(rows, columns=["model", "coef", "estimate", "se", "stat", "pval", "ci_lb", "ci_ub"])

    def __repr__(self) -> str:
        lines = ["PET-PEESE (fixed-effects meta-regressions on sei and vi)", ""]
        for name, fit in (("PET  ", self.pet), ("PEESE", self.peese)):
            lines.append(f"{name} intercept: {fit.beta[0]:.4f} (SE = {fit.se[0]:.4f}), "
                         f"CI [{fit.ci_lb[0]:.4f}, {fit.ci_ub[0]:.4f}], p-val {_p_text(fit.pval[0])}; "
                         f"slope {fit.beta[1]:.4f} (SE = {fit.se[1]:.4f})")
        lines += ["", pet_test_line(self.alternative, self.pet_pval_one_sided, self.alpha, self.chosen),
                  f"Direction: alternative = {str(self.alternative)!r} ({getattr(self.alternative, 'how', 'as given')})",
                  f"PET-PEESE estimate: {self.estimate:.4f}, CI [{self.ci_lb:.4f}, {self.ci_ub:.4f}]"]
        return "\n".join(lines + small_k_lines("pet_peese", self.pet.k))


def pet_peese(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
    alternative: str = "auto",
    test: str = "z",
    missing: str = "raise",
) -> PetPeeseResult | PetPeeseMVResult:
    """PET, PEESE and the conditional PET-PEESE estimate (Stanley & Doucouliagos 2014).

    PET regresses the effects on their standard errors, PEESE on their sampling
    variances, both with inverse-variance (fixed-effects) weights; the intercept is
    the effect of a hypothetical study with infinite precision. The conditional
    estimator reports PEESE's intercept when PET's intercept differs from zero at
    the one-sided level *alpha*, else PET's.

    Parameters
    ----------
    yi : RMAResult, RMAMVResult, str or array_like
        A fit of :func:`bayesma.rma` (its data are used), or effects / a column of *data*.
        An intercept-only :func:`bayesma.rma_mv` fit gets multilevel PET-PEESE with CR2
        inference (:func:`~bayesma.frequentist.bias.dependent.pet_peese_mv`).
    vi, sei : str or array_like, optional
        Sampling variances or standard errors (not with a fitted model).
    data : pandas.DataFrame, optional
    alpha : float
        One-sided level of the test of PET's intercept (0.05 as Stanley & Doucouliagos;
        0.10 two-sided in some guides is the same rule).
    alternative : {"auto", "greater", "less"}
        Direction in which results are favoured for publication (the test of PET's
        intercept is one-sided in that direction). ``"auto"`` detects it from the sign of
        the pooled effect (:mod:`bayesma.frequentist.bias.direction`); an explicit value that
        contradicts the data is used with a warning. The printout says which was used.
    test : {"z", "t", "knha"}
        ``"z"`` (metafor's ``rma(..., method = "FE")``); ``"knha"`` scales the standard
        errors by the residual variance with t tests, which is the weighted least-squares
        regression (``lm(yi ~ sei, weights = 1/vi)``) of Stanley & Doucouliagos; ``"t"``
        keeps the standard errors of ``"z"`` with t tests (k - 2 df).
    missing : {"raise", "drop"}

    Returns
    -------
    PetPeeseResult
        ``pet``, ``peese`` (RMAResult) and ``estimate``, ``se``, ``ci_lb``, ``ci_ub``, ``chosen``.

    Raises
    ------
    ValueError
        Fewer than 3 studies, bad *alternative*, *alpha* outside (0, 1), non-positive variances.

    References
    ----------
    Stanley TD, Doucouliagos H (2014). Meta-regression approximations to reduce publication
    selection bias. Research Synthesis Methods 5:60-78.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> pp = bm.pet_peese("yi", "vi", data=dat)
    >>> pp.chosen in ("PET", "PEESE")
    True
    """
    if isinstance(yi, RMAMVResult):  # dependent effects: multilevel PET-PEESE with CR2 inference
        return pet_peese_mv(yi, alpha=alpha, alternative=resolve_alternative(alternative, yi.yi, yi.V.diagonal(),
                                                                             "pet_peese"))
    if not 0 < alpha < 1:
        raise InputError(f"alpha must lie in (0, 1), got {alpha}")
    if test not in ("z", "t", "knha"):
        raise InputError(f"pet_peese: test must be one of 'z', 't', 'knha', got {test!r}", column="test")
    md = _data(yi, vi, sei, data, missing)
    alternative = resolve_alternative(alternative, md.yi, md.vi, "pet_peese")
    if md.k < 3:
        raise InputError(f"PET-PEESE needs at least 3 studies (two coefficients and a residual), got k = {md.k}")
    sei_ = np.sqrt(md.vi)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Knapp-Hartung.*")
        pet = rma(md, method="FE", test=test, mods=pd.DataFrame({"sei": sei_}))
        peese = rma(md, method="FE", test=test, mods=pd.DataFrame({"vi": np.asarray(md.vi, float)}))
    assert isinstance(pet, RMAResult) and isinstance(peese, RMAResult)  # no cluster=: univariate fits
    stat = float(pet.stat[0]) * (1.0 if alternative == "greater" else -1.0)
    p1 = float(stats.t.sf(stat, pet.dfs) if pet.dfs is not None else stats.norm.sf(stat))
    return PetPeeseResult(pet=pet, peese=peese, chosen="PEESE" if p1 < alpha else "PET",
                          pet_pval_one_sided=p1, alpha=alpha, alternative=alternative)


# --------------------------------------------------------------------------- fail-safe N
@dataclass(repr=False)
class FsnResult:
    """Fail-safe N (metafor's ``fsn``): ``type``, ``fsnum``, ``alpha``, ``pval``, ``meanes``, ``target``."""

    type: str
    fsnum: float
    alpha: float
    pval: float
    meanes: float
    target: float
    k: int

    def __repr__(self) -> str:
        lines = [f"Fail-safe N Calculation Using the {self.type} Approach", ""]
        if self.type == "Rosenthal":
            lines += [f"Observed Significance Level: {_fmt_p(self.pval)}",
                      f"Target Significance Level:   {self.alpha:g}"]
        elif self.type == "Orwin":
            lines += [f"Average Effect Size:         {self.meanes:.4f}",
                      f"Target Effect Size:          {self.target:.4f}"]
        else:
            lines += [f"Average Effect Size:         {self.meanes:.4f}",
                      f"Observed Significance Level: {_fmt_p(self.pval)}",
                      f"Target Significance Level:   {self.alpha:g}"]
        lines += ["", f"Fail-safe N: {self.fsnum:g}"]
        return "\n".join(lines)


def fsn(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    type: str = "Rosenthal",
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
    missing: str = "raise",
) -> FsnResult:
    """Fail-safe N: how many null studies would overturn the result (metafor's ``fsn``).

    - ``"Rosenthal"`` (1979): the number of studies averaging z = 0 that, added to the
      Stouffer sum, make the one-sided combined p-value reach *alpha*.
    - ``"Orwin"`` (1983): the number of studies with effect 0 that bring the (unweighted,
      or inverse-variance weighted with ``weighted=True``) mean effect down to *target*
      (default: half the mean effect).
    - ``"Rosenberg"`` (2005): the number of studies with effect 0 and average weight that
      make the two-sided fixed-effects test non-significant at *alpha*.

    Parameters
    ----------
    yi : str or array_like
        Effects, or a column of *data*.
    vi, sei : str or array_like
        Sampling variances or standard errors (Orwin's unweighted version needs neither).
    data : pandas.DataFrame, optional
    type : {"Rosenthal", "Orwin", "Rosenberg"}
    alpha : float
        Target significance level.
    target : float, optional
        Orwin's target effect (default half the average effect).
    weighted : bool
        Orwin with the inverse-variance weighted mean.
    missing : {"raise", "drop"}

    Returns
    -------
    FsnResult
        ``fsnum`` (rounded up to a whole study, as metafor), ``pval`` (observed
        significance: one-sided Stouffer for Rosenthal, two-sided z for Rosenberg),
        ``meanes`` and ``target`` (Orwin), ``alpha``.

    Raises
    ------
    ValueError
        Unknown type, alpha outside (0, 1), missing or non-positive variances where needed.

    References
    ----------
    Rosenthal R (1979). The file drawer problem and tolerance for null results. Psychological
    Bulletin 86:638-641. Orwin RG (1983). A fail-safe N for effect size in meta-analysis.
    Journal of Educational Statistics 8:157-159. Rosenberg MS (2005). The file-drawer problem
    revisited. Evolution 59:464-468. metafor: ``fsn`` (3.8-1).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> bm.fsn("yi", "vi", data=dat).fsnum
    393
    """
    refuse_dependent(yi, "fsn()")
    if type not in ("Rosenthal", "Orwin", "Rosenberg"):
        raise InputError(f"type must be 'Rosenthal', 'Orwin' or 'Rosenberg', got {type!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must lie in (0, 1), got {alpha}")
    if target is not None and (type != "Orwin" or not _finite_number(target)):
        raise InputError("target is used by type='Orwin' only" if type != "Orwin" else
                         f"target must be a finite number (Orwin's target effect), got {target!r}", column="target")
    needs_vi = type != "Orwin" or weighted
    if needs_vi or vi is not None or sei is not None:
        md = _data(yi, vi, sei, data, missing)
        y, v = np.asarray(md.yi, float), np.asarray(md.vi, float)
    elif isinstance(yi, RMAResult):
        refuse_user_weights(yi, "this small-study method")
        y, v = np.asarray(yi.yi, float), None
    else:
        if isinstance(yi, str) and data is None:
            raise InputError(f"yi = {yi!r} names a column but no data was given")
        k_in = len(data) if isinstance(yi, str) and data is not None else len(np.atleast_1d(np.asarray(yi)))
        md = MetaData.create(yi, np.ones(k_in), data=data, missing=missing)
        y, v = np.asarray(md.yi, float), None
    k = y.size
    pval = meanes = np.nan
    tgt = np.nan
    if type == "Rosenthal":
        assert v is not None  # read above: Rosenthal's method needs the variances
        z_avg = abs(np.sum(y / np.sqrt(v)) / np.sqrt(k))
        pval = float(stats.norm.sf(z_avg))
        n = max(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
    elif type == "Orwin":
        meanes = float(np.sum(y / v) / np.sum(1 / v)) if weighted and v is not None else float(np.mean(y))
        tgt = meanes / 2 if target is None else float(target)
        if tgt == 0:
            n = math.inf
        else:
            if np.sign(tgt) != np.sign(meanes):
                tgt = -tgt
            n = max(0.0, k * (meanes - tgt) / tgt)
    else:
        assert v is not None  # read above: Rosenberg's method needs the variances
        w = 1 / v
        meanes = float(np.sum(w * y) / np.sum(w))
        zval = meanes / np.sqrt(1 / np.sum(w))
        wp = (np.sum(w * y) / stats.norm.isf(alpha / 2)) ** 2 - np.sum(w)
        pval = float(2 * stats.norm.sf(abs(zval)))
        n = max(0.0, k * wp / np.sum(w))
    if math.isfinite(n) and abs(n - round(n)) >= sys.float_info.epsilon**0.5:
        n = math.ceil(n)
    elif math.isfinite(n):
        n = round(n)
    return FsnResult(type=type, fsnum=n, alpha=alpha, pval=pval, meanes=meanes, target=tgt, k=k)


# --------------------------------------------------------------------------- Henmi & Copas
@dataclass(repr=False)
class HCResult:
    """Henmi & Copas interval (metafor's ``hc``): ``beta``, ``se``, ``ci_lb``, ``ci_ub``, ``tau2``,
    with the random-effects model's ``beta_rma``, ``se_rma``, ``ci_lb_rma``, ``ci_ub_rma``, ``tau2_rma``."""

    beta: float
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float
    beta_rma: float
    se_rma: float
    ci_lb_rma: float
    ci_ub_rma: float
    tau2_rma: float
    method_rma: str

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"method": [self.method_rma, "DL"], "tau2": [self.tau2_rma, self.tau2],
             "estimate": [self.beta_rma, self.beta], "se": [self.se_rma, self.se],
             "ci_lb": [self.ci_lb_rma, self.ci_lb], "ci_ub": [self.ci_ub_rma, self.ci_ub]},
            index=pd.Index(["rma", "hc"]))

    def __repr__(self) -> str:
        tab = self.summary()
        lines = ["     method    tau2  estimate      se    ci_lb   ci_ub"]
        for name, r in tab.iterrows():
            lines.append(f"{name:>4} {r.method:>6} {r.tau2:7.4f}  {r.estimate:8.4f}  {r.se:6.4f}  "
                         f"{r.ci_lb:7.4f} {r.ci_ub:7.4f}")
        return "\n".join(lines)


def hc(res: RMAResult) -> HCResult:
    """Henmi & Copas (2010) confidence interval for the average effect (metafor's ``hc``).

    The estimate is the fixed-effects (inverse-variance) average, which gives small
    studies less weight than the random-effects average and so is less affected by
    publication bias; its standard error allows for DerSimonian-Laird heterogeneity and
    the interval accounts for the uncertainty of tau² through an approximate
    distribution of Q (a gamma approximation integrated against the normal).

    Parameters
    ----------
    res : RMAResult
        An intercept-only fit of :func:`bayesma.rma` (any tau² method; the interval uses
        the DL estimate, the fit is shown beside it).

    Returns
    -------
    HCResult
        ``beta``, ``se``, ``ci_lb``, ``ci_ub``, ``tau2`` (DL), and the fit's values
        ``beta_rma`` etc. for comparison.

    Raises
    ------
    ValueError
        A model with moderators, k = 1, non-positive variances.

    References
    ----------
    Henmi M, Copas JB (2010). Confidence intervals for random effects meta-analysis and
    robustness to publication bias. Statistics in Medicine 29:2969-2983. metafor: ``hc``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> round(bm.hc(bm.rma("yi", "vi", data=dat, method="DL")).ci_ub, 4)
    0.2885
    """
    refuse_dependent(res, "hc()")
    refuse_user_weights(res, "hc()")
    if not isinstance(res, RMAResult):
        raise ArgumentTypeError(f"hc needs an RMAResult from bayesma.rma, got {type(res).__name__}")
    if res.p != 1 or res.coef_names != ["intrcpt"]:
        raise InputError("hc: the Henmi & Copas method applies to models without moderators")
    md = _data(res, None, None, None)
    y, v = np.asarray(md.yi, float), np.asarray(md.vi, float)
    k = y.size
    if k == 1:
        raise InputError("hc: needs more than one study (k = 1)")
    level = res.level
    w = 1 / v
    W1 = w.sum()
    W2, W3, W4 = (w**2).sum() / W1, (w**3).sum() / W1, (w**4).sum() / W1
    beta = float((w * y).sum() / W1)
    Q = float((w * (y - beta) ** 2).sum())
    tau2 = max(0.0, (Q - (k - 1)) / (W1 - W2))
    se = math.sqrt((tau2 * W2 + 1) / W1)
    VR = 1 + tau2 * W2
    SDR = math.sqrt(VR)

    def EQ(r):
        return (k - 1) + tau2 * (W1 - W2) + tau2**2 * (r**2 / VR**2 - 1 / VR) * (W3 - W2**2)

    def VQ(r):
        rsq, rv2 = r**2, 1 / VR**2
        return (2 * (k - 1) + 4 * tau2 * (W1 - W2) + 2 * tau2**2 * (W1 * W2 - 2 * W3 + W2**2)
                + 4 * tau2**2 * (rv2 * rsq - 1 / VR) * (W3 - W2**2)
                + 4 * tau2**3 * (rv2 * rsq - 1 / VR) * (W4 - 2 * W2 * W3 + W2**3)
                + 2 * tau2**4 * (rv2 - 2 / VR**3 * rsq) * (W3 - W2**2) ** 2)

    def finv(f):
        return (W1 / W2 - 1) * (f**2 - 1) + (k - 1)

    c0 = 1 / math.sqrt(2 * math.pi)

    def integrand(r, x):
        eq, vq = EQ(SDR * r), VQ(SDR * r)
        q = finv(r / x) if x != 0 else math.inf
        cdf = 0.0 if q <= 0 else float(special.gammainc(eq**2 / vq, q / (vq / eq)))
        return cdf * c0 * math.exp(-0.5 * r * r)

    def eqn(x):
        val = integrate.quad(integrand, x, np.inf, args=(x,), epsabs=_R_INT_TOL, epsrel=_R_INT_TOL, limit=100)[0]
        return val - (1 - level) / 2

    t0 = uniroot(eqn, 0.0, 2.0, tol=R_UNIROOT_TOL, maxiter=1000)
    u0 = SDR * t0
    return HCResult(beta=beta, se=se, ci_lb=beta - u0 * se, ci_ub=beta + u0 * se, tau2=tau2,
                    beta_rma=float(res.beta[0]), se_rma=float(res.se[0]), ci_lb_rma=float(res.ci_lb[0]),
                    ci_ub_rma=float(res.ci_ub[0]), tau2_rma=float(res.tau2), method_rma=res.method)


# --------------------------------------------------------------------------- rank test
@dataclass(repr=False)
class RankTestResult:
    """Begg & Mazumdar's test (metafor's ``ranktest``): Kendall's ``tau`` and its ``pval``."""

    tau: float
    pval: float
    exact: bool
    k: int

    def __repr__(self) -> str:
        note = ("  (undefined: the effects or the variances are all equal)" if not np.isfinite(self.tau) else ""
                if self.exact else "  (Edgeworth approximation of the exact distribution, k > 500)" if self.k > 500
                else "  (normal approximation: tied values)")
        return ("Rank Correlation Test for Funnel Plot Asymmetry\n\n"
                f"Kendall's tau = {self.tau:.4f}, p {_p_text(self.pval)}" + note + small_k_text("funnel", self.k))


def ranktest(yi: Any, vi: Any = None, *, sei: Any = None, data: pd.DataFrame | None = None,
             missing: str = "raise") -> RankTestResult:
    """Begg & Mazumdar's rank correlation test for funnel-plot asymmetry (metafor's ``ranktest``).

    Kendall's tau between the standardised deviations from the fixed-effects average,
    ``(yi - theta) / sqrt(vi - 1 / sum(1/vi))``, and the sampling variances. As metafor
    (``cor.test(..., exact = TRUE)``), the p-value is exact when there are no ties and
    from the normal approximation with the tie-corrected variance otherwise. Above 500
    studies the exact null distribution (O(k³) work) is replaced by its Edgeworth
    expansion unless the tail is far out (then exact is cheap); the two agree to about
    1e-8 at k = 500, and ``exact`` says which was used;
    Kendall's tau itself is O(k log k), so k = 100,000 takes well under a second.

    Parameters
    ----------
    yi : RMAResult, str or array_like
        A fit of :func:`bayesma.rma` (its data are used) or effects / a column of *data*.
    vi, sei : str or array_like, optional
    data : pandas.DataFrame, optional
    missing : {"raise", "drop"}

    Returns
    -------
    RankTestResult
        ``tau`` (Kendall's tau-b), ``pval`` (two-sided), ``exact``.

    Raises
    ------
    ValueError
        Fewer than 3 studies or non-positive variances.

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics 50:1088-1101. metafor: ``ranktest``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.hackshaw1998")
    >>> rt = bm.ranktest("yi", "vi", data=dat)
    >>> round(rt.tau, 4)
    0.1441
    """
    refuse_dependent(yi, "ranktest()")
    md = _data(yi, vi, sei, data, missing)
    y, v = np.asarray(md.yi, float), np.asarray(md.vi, float)
    n = y.size
    if n < 3:
        raise InputError(f"ranktest needs at least 3 studies, got k = {n}")
    w = 1 / v
    theta = (w * y).sum() / w.sum()
    ystar = (y - theta) / np.sqrt(v - 1 / w.sum())
    constant = [name for name, x in (("standardized effects", ystar), ("sampling variances", v))
                if np.ptp(x) <= 1e-12 * max(np.max(np.abs(x)), 1e-300)]
    if constant:
        # Kendall's tau of a constant variable is undefined (metafor's cor.test: NA, NA)
        warnings.warn(f"ranktest: the {' and the '.join(constant)} are all equal, so Kendall's tau is "
                      "undefined: tau and p are NaN (metafor: NA)", stacklevel=2)
        return RankTestResult(tau=np.nan, pval=np.nan, exact=False, k=n)
    tau = float(stats.kendalltau(ystar, v).statistic)
    ties = min(np.unique(ystar).size, np.unique(v).size) < n
    exact = False
    if not ties:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        # the upper tail P(T >= q) is the lower tail P(T <= n(n-1)/2 - q) by symmetry
        q_low = n * (n - 1) // 2 - q if q > n * (n - 1) / 4 else q
        p, exact = kendall_lower_tail(q_low, n)
        pval = min(2 * p, 1.0)
    else:
        def tie_counts(x):
            _, c = np.unique(x, return_counts=True)
            return c[c > 1].astype(float)
        xt, yt = tie_counts(ystar), tie_counts(v)
        T0 = n * (n - 1) / 2
        T1, T2 = (xt * (xt - 1)).sum() / 2, (yt * (yt - 1)).sum() / 2
        S = tau * math.sqrt((T0 - T1) * (T0 - T2))
        v0 = n * (n - 1) * (2 * n + 5)
        vt = (xt * (xt - 1) * (2 * xt + 5)).sum()
        vu = (yt * (yt - 1) * (2 * yt + 5)).sum()
        v1 = (xt * (xt - 1)).sum() * (yt * (yt - 1)).sum()
        v2 = (xt * (xt - 1) * (xt - 2)).sum() * (yt * (yt - 1) * (yt - 2)).sum()
        var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
        z = S / math.sqrt(var_s)
        pval = float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))
    return RankTestResult(tau=tau, pval=pval, exact=exact, k=n)
