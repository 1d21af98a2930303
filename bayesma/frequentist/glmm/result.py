"""The result of :func:`bayesma.rma_glmm`: metafor's numbers, printout and summary table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma.frequentist.glmm.printout import format_glmm

__all__ = ["GLMMResult"]



@dataclass(frozen=True, eq=False)
class GLMMResult:  # numpydoc ignore=PR01
    """A fitted GLMM meta-analysis (metafor's ``rma.glmm`` object).

    Attributes
    ----------
    beta, se, zval, pval, ci_lb, ci_ub : numpy.ndarray, shape (p,)
        Coefficients on the log odds ratio (log rate ratio, logit, log rate) scale, their
        standard errors, z statistics, two-sided p-values and confidence limits.
    vb : numpy.ndarray, shape (p, p)
        Covariance matrix of the coefficients.
    coef_names : list of str
    tau2 : float
        Variance of the random effect of the measure (0 with ``method="FE"``).
    se_tau2 : float
        Its standard error (CM.EL only, as metafor; NaN otherwise).
    sigma2 : float
        Variance of the random study intercepts (UM.RS; NaN otherwise).
    rho : float
        Correlation of the random study intercept and the random effect of the measure (UM.RS
        with ``cor=True``; NaN otherwise).
    QE_Wld, QEp_Wld, QE_LRT, QEp_LRT : float
        Wald and likelihood-ratio tests for (residual) heterogeneity, ``QE_df`` degrees of freedom.
    I2, H2, vt : float
        I² (percent) and H² from tau2 and the typical within-study variance vt.
    QM, QMp : float
        Wald test of the coefficients ``btt`` (0-based), ``QMdf`` degrees of freedom
        (``(m, None)``; ``(m, k - p)`` and an F statistic with ``test="t"``).
    test : {"z", "t"}
        The tests of the coefficients; ``dfs`` their t degrees of freedom (None for z).
    logLik : float
        metafor's log-likelihood of the fit (see Notes of :func:`bayesma.rma_glmm`).
    logLik_marginal : float
        The maximised marginal log-likelihood (the quadrature, with all constants).
    fit_stats : pandas.DataFrame
        ll, dev, AIC, BIC, AICc (metafor's ``fit.stats``, ML column).
    k, p : int
        Studies in the fit and coefficients.
    measure, model, method : str
    nAGQ : int
        Quadrature nodes used.
    coding : float
        metafor's group coding of the random effects (1/2, 1 or 0).
    labels : list of str
        Study labels in the fit; ``dropped`` lists the studies left out.
    yi, vi : numpy.ndarray, shape (k,)
        Each study's observed effect and its sampling variance (metafor's ``escalc`` values,
        1/2 added to the cells of a study with a zero cell), as metafor's ``rma.glmm`` keeps them.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, model="CM.EL")
    >>> round(float(res.beta[0]), 4), res.k
    (-0.7538, 13)
    """

    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    coef_names: list[str]
    tau2: float
    se_tau2: float
    sigma2: float
    QE_Wld: float
    QEp_Wld: float
    QE_LRT: float
    QEp_LRT: float
    QE_df: float
    I2: float
    H2: float
    vt: float
    QM: float
    QMp: float
    QMdf: tuple
    btt: np.ndarray
    logLik: float
    logLik_marginal: float
    fit_stats: pd.DataFrame
    k: int
    k_all: int
    measure: str
    model: str
    method: str
    nAGQ: int
    level: float
    test: str = "z"
    dfs: int | None = None
    labels: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    yi: np.ndarray | None = None
    vi: np.ndarray | None = None
    rho: float = float("nan")
    coding: float = 0.5

    @property
    def p(self) -> int:
        """Number of coefficients."""
        return len(self.beta)

    def summary(self) -> pd.DataFrame:
        """The coefficient table.

        Returns
        -------
        pandas.DataFrame
            Columns estimate, se, zval, pval, ci_lb, ci_ub; one row per coefficient.
        """
        return pd.DataFrame({"estimate": self.beta, "se": self.se, "zval": self.zval, "pval": self.pval,
                             "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}, index=pd.Index(self.coef_names, name="term"))

    def forest(self, **kwargs: Any):
        """Forest plot: each study's observed effect (``yi``) with its confidence interval and the model's
        pooled estimate, as metafor's ``forest`` of an ``rma.glmm`` fit.

        Parameters
        ----------
        **kwargs
            Passed to :func:`bayesma.plots.forest_frequentist.forest_glmm` (``order``, ``atransf=np.exp``
            for odds ratios on a log axis, ``title`` ...).

        Returns
        -------
        matplotlib.figure.Figure
            One row per study in the fit, then the pooled estimate (a diamond) when the model has
            no moderators.

        Examples
        --------
        >>> import bayesma as bm, numpy as np
        >>> dat = bm.load_dataset("dat.bcg")
        >>> res = bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat, slab="author")
        >>> fig = res.forest(atransf=np.exp)
        """
        from bayesma.plots.forest_frequentist import forest_glmm  # matplotlib: only when drawing
        return forest_glmm(self, **kwargs)

    def __repr__(self) -> str:
        return format_glmm(self)

    def as_dict(self) -> dict[str, Any]:
        """metafor's scalar outputs in a dict (for comparisons and reports).

        Returns
        -------
        dict
            tau2, sigma2, rho, QE_Wld, QE_LRT, I2, H2, QM, logLik, k.
        """
        return {"tau2": self.tau2, "sigma2": self.sigma2, "rho": self.rho, "QE_Wld": self.QE_Wld, "QE_LRT": self.QE_LRT,
                "I2": self.I2, "H2": self.H2, "QM": self.QM, "logLik": self.logLik, "k": self.k}
