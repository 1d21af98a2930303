"""Small-study tests for dependent effects: the Egger sandwich and multilevel PET-PEESE.

For an :func:`bayesma.rma_mv` fit (effects nested in studies, a V matrix, random effects across
outcomes) the univariate tools do not apply: their weights and tests assume independent
effects. Rodgers & Pustejovsky (2021) recommend the "Egger sandwich": add the standard error
``sqrt(vi)`` as a moderator of the same multilevel (working) model and test its slope with the
cluster-robust CR2 variance and Satterthwaite degrees of freedom. Multilevel PET-PEESE uses the
same two regressions (on ``sqrt(vi)`` and on ``vi``) and reads the intercepts as effects
corrected for small-study bias (Stanley & Doucouliagos 2014), again with CR2 inference.

References
----------
Rodgers MA, Pustejovsky JE (2021). Evaluating meta-analytic methods to detect selective reporting
in the presence of dependent effect sizes. Psychological Methods 26:141-160.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma.errors import InputError
from bayesma.frequentist._printing import _p_text, pet_test_line
from bayesma.frequentist.inference import critical_value
from bayesma.frequentist.mv import RMAMVResult, fit_rma_mv
from bayesma.frequentist.mv.result import refuse_dependent
from bayesma.frequentist.rve import coef_test
from bayesma.frequentist.rve.working import cluster_codes

__all__ = ["egger_mv", "EggerMVResult", "pet_peese_mv", "PetPeeseMVResult", "refuse_dependent"]


def _refit(res: RMAMVResult, extra: np.ndarray | None, name: str | None) -> RMAMVResult:
    """The same multilevel model with one more moderator column (or the same one, extra=None)."""
    X = res.X if extra is None else np.column_stack([res.X, extra])
    names = list(res.coef_names) + ([] if name is None else [name])
    params = getattr(res, "params", None)
    if params is not None and not np.all(np.isnan(params.fixed)):
        raise InputError("the model has fixed variance components (sigma2=, tau2=, rho=, ...); the Egger sandwich "
                         "and PET-PEESE refit it with a moderator and would estimate them: fit the model without "
                         "fixing them first")
    kwargs: dict[str, Any] = {"method": res.method, "test": res.test, "level": res.level,
                              "V": res.V, "sigmas": res.layout.sigmas, "structs": res.layout.structs}
    return fit_rma_mv(res.data, X, names, **kwargs)


def _check(res: RMAMVResult, what: str, intercept_only: bool) -> None:
    if intercept_only and list(res.coef_names) != ["intrcpt"]:
        raise InputError(f"{what} of an rma_mv fit needs a model without moderators (intercept only), "
                         f"got coefficients {res.coef_names}")
    if "intrcpt" not in res.coef_names:
        raise InputError(f"{what} needs a model with an intercept, got coefficients {res.coef_names}")


@dataclass(frozen=True)
class EggerMVResult:  # numpydoc ignore=PR01
    """The Egger sandwich: a CR2 test of the standard error as a moderator of a multilevel model.

    Attributes
    ----------
    tstat, df, pval : float
        t statistic, Satterthwaite degrees of freedom and two-sided p-value of the slope of
        ``sqrt(vi)`` (funnel asymmetry).
    slope, se : float
        The slope and its CR2 standard error.
    b, ci_lb, ci_ub : float
        The intercept (the effect of a study with standard error 0) with its CR2 interval.
    fit : RMAMVResult
        The multilevel model with the moderator; ``coef`` its CR2 :func:`bayesma.coef_test` table.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> eg = bm.egger_test(res)
    >>> round(eg.tstat, 3), round(eg.df, 2)
    (-1.395, 4.69)
    """

    tstat: float
    df: float
    pval: float
    slope: float
    se: float
    b: float
    ci_lb: float
    ci_ub: float
    level: float
    n_clusters: int
    coef: pd.DataFrame = field(repr=False)
    fit: RMAMVResult = field(repr=False)

    @property
    def z(self) -> float:
        """Alias of ``tstat`` (the name of :class:`~bayesma.frequentist.bias.funnel_asymmetry.EggerResult`)."""
        return self.tstat

    @property
    def p(self) -> float:
        """Alias of ``pval``."""
        return self.pval

    def summary(self) -> pd.DataFrame:
        """The CR2 coefficient table of the model with the moderator."""
        return self.coef

    def __repr__(self) -> str:
        pct = round(100 * self.level)
        return "\n".join([
            "Regression Test for Funnel Plot Asymmetry, dependent effects (Egger sandwich)",
            "",
            f"model:     multilevel model ({self.fit.method}) with sqrt(vi) as a moderator",
            f"inference: CR2 cluster-robust variance, Satterthwaite df ({self.n_clusters} clusters)",
            "",
            f"test for funnel plot asymmetry: t = {self.tstat:.4f}, df = {self.df:.2f}, p {_p_text(self.pval)}",
            f"limit estimate (as sei -> 0):   b = {self.b:.4f} (CI: {self.ci_lb:.4f}, {self.ci_ub:.4f}; {pct}%)",
        ])


def egger_mv(res: RMAMVResult, cluster: Any = None) -> EggerMVResult:
    """The Egger sandwich test of an ``rma_mv`` fit (what :func:`bayesma.egger_test` does with one).

    Parameters
    ----------
    res : RMAMVResult
        A multilevel or multivariate fit; its moderators are kept and ``sqrt(vi)`` added.
    cluster : str or array_like, optional
        Clusters of the robust variance; default the outermost grouping of the random effects.

    Returns
    -------
    EggerMVResult

    Raises
    ------
    ValueError
        For a model without an intercept or a bad cluster variable.
    """
    _check(res, "the Egger sandwich", intercept_only=False)
    sei = np.sqrt(np.asarray(res.data.vi, dtype=float))
    fit = _refit(res, sei, "sei")
    coef = coef_test(fit, vcov="CR2", cluster=cluster)
    slope, icpt = coef.loc["sei"], coef.loc["intrcpt"]
    half = critical_value(fit.level, float(icpt["df_Satt"])) * float(icpt["SE"])
    n_clusters = len(cluster_codes(fit, cluster, fit.k)[0])
    return EggerMVResult(
        tstat=float(slope["tstat"]), df=float(slope["df_Satt"]), pval=float(slope["p_Satt"]),
        slope=float(slope["beta"]), se=float(slope["SE"]), b=float(icpt["beta"]),
        ci_lb=float(icpt["beta"]) - half, ci_ub=float(icpt["beta"]) + half, level=fit.level,
        n_clusters=n_clusters, coef=coef, fit=fit,
    )


@dataclass(frozen=True)
class PetPeeseMVResult:  # numpydoc ignore=PR01
    """Multilevel PET and PEESE with CR2 inference, and the conditional PET-PEESE estimate.

    Attributes
    ----------
    pet, peese : RMAMVResult
        The multilevel model with ``sqrt(vi)`` (PET) and with ``vi`` (PEESE) as a moderator.
    pet_coef, peese_coef : pandas.DataFrame
        Their CR2 :func:`bayesma.coef_test` tables.
    estimate, se, df, ci_lb, ci_ub, pval : float
        The conditional estimate (PEESE's intercept when PET's intercept is significant at
        the one-sided level *alpha*, else PET's) with CR2 standard error and Satterthwaite df.
    chosen : {"PET", "PEESE"}
    pet_pval_one_sided : float

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", data=dat, cluster="district", labels="school")
    >>> bm.pet_peese(res).chosen
    'PEESE'
    """

    pet: RMAMVResult = field(repr=False)
    peese: RMAMVResult = field(repr=False)
    pet_coef: pd.DataFrame = field(repr=False)
    peese_coef: pd.DataFrame = field(repr=False)
    chosen: str
    pet_pval_one_sided: float
    alpha: float
    alternative: str

    def _row(self) -> pd.Series:
        return (self.peese_coef if self.chosen == "PEESE" else self.pet_coef).loc["intrcpt"]

    @property
    def estimate(self) -> float:
        return float(self._row()["beta"])

    @property
    def se(self) -> float:
        return float(self._row()["SE"])

    @property
    def df(self) -> float:
        return float(self._row()["df_Satt"])

    @property
    def pval(self) -> float:
        return float(self._row()["p_Satt"])

    @property
    def ci_lb(self) -> float:
        return self.estimate - critical_value(self.pet.level, self.df) * self.se

    @property
    def ci_ub(self) -> float:
        return self.estimate + critical_value(self.pet.level, self.df) * self.se

    def summary(self) -> pd.DataFrame:
        """Both regressions' CR2 tables, one row per (model, coefficient)."""
        return pd.concat({"PET": self.pet_coef, "PEESE": self.peese_coef}, names=["model"])

    def __repr__(self) -> str:
        lines = ["Multilevel PET-PEESE (CR2 cluster-robust inference, Satterthwaite df)", ""]
        for name, table in (("PET  ", self.pet_coef), ("PEESE", self.peese_coef)):
            b, s = table.iloc[0], table.iloc[1]
            lines.append(f"{name} intercept: {b['beta']:.4f} (SE = {b['SE']:.4f}, df = {b['df_Satt']:.2f}), "
                         f"p-val {_p_text(b['p_Satt'])}; slope {s['beta']:.4f} (SE = {s['SE']:.4f})")
        lines += ["", pet_test_line(self.alternative, self.pet_pval_one_sided, self.alpha, self.chosen),
                  f"PET-PEESE estimate: {self.estimate:.4f}, CI [{self.ci_lb:.4f}, {self.ci_ub:.4f}]"]
        return "\n".join(lines)


def pet_peese_mv(res: RMAMVResult, alpha: float = 0.05, alternative: str = "greater",
                 cluster: Any = None) -> PetPeeseMVResult:
    """Multilevel PET-PEESE of an intercept-only ``rma_mv`` fit (what :func:`bayesma.pet_peese` does with one).

    Parameters
    ----------
    res : RMAMVResult
        An intercept-only multilevel or CHE fit.
    alpha : float
        One-sided level of the test of PET's intercept.
    alternative : {"greater", "less"}
        Direction of the expected effect.
    cluster : str or array_like, optional
        Clusters of the robust variance; default the outermost grouping of the random effects.

    Returns
    -------
    PetPeeseMVResult

    Raises
    ------
    ValueError
        For a model with moderators, a bad *alpha* or *alternative*.
    """
    if alternative not in ("greater", "less"):
        raise InputError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must lie in (0, 1), got {alpha}")
    _check(res, "PET-PEESE", intercept_only=True)
    vi = np.asarray(res.data.vi, dtype=float)
    pet, peese = _refit(res, np.sqrt(vi), "sei"), _refit(res, vi, "vi")
    pet_coef = coef_test(pet, vcov="CR2", cluster=cluster)
    peese_coef = coef_test(peese, vcov="CR2", cluster=cluster)
    row = pet_coef.loc["intrcpt"]
    t = float(row["tstat"]) * (1.0 if alternative == "greater" else -1.0)
    p1 = float(stats.t.sf(t, float(row["df_Satt"])))
    return PetPeeseMVResult(pet=pet, peese=peese, pet_coef=pet_coef, peese_coef=peese_coef,
                            chosen="PEESE" if p1 < alpha else "PET", pet_pval_one_sided=p1, alpha=alpha,
                            alternative=alternative)
