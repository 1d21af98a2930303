"""Frequentist fixed- and random-effects meta-analysis with metafor's numbers.

:func:`rma` follows ``metafor::rma.uni`` (version 3.8-1) in its estimators,
tests and intervals, down to the iteration schemes, so that results agree
with R to the last printed digit:

* tau² estimators FE, DL, HE, HS, HSk, SJ, ML, REML, EB (Fisher scoring from the
  HE estimate, stopping when the change is below 1e-5, as metafor), PM and PMM
  (Brent's root finder with R's tolerance), and GENQ / GENQM (the generalized Q
  statistic with user weights, :mod:`bayesma.frequentist.genq`);
* user weights (``weights=``): weighted least squares with the sandwich variance;
* Wald-type z tests, t tests with k - p degrees of freedom (``test="t"``),
  Knapp-Hartung t tests (``test="knha"``) and the modified Knapp-Hartung method
  that never narrows the interval (``test="adhoc"``), see
  :mod:`bayesma.frequentist.inference`;
* Cochran's Q, I², H², the standard error of tau², Q-profile confidence
  intervals for tau², I² and H² (Viechtbauer 2007), prediction intervals,
  the omnibus test of moderators QM and the pseudo R².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._validate import check_tau2, label_alias
from bayesma.data import MetaData
from bayesma.design import design_matrix, required_columns
from bayesma.errors import InputError
from bayesma.frequentist import anova as _anova
from bayesma.frequentist import influence as _influence
from bayesma.frequentist import ranef as _ranef
from bayesma.frequentist._common import (
    METHODS,
    TESTS,
    _aligned_mods,
    _check_method,
    _level,
    _sqrt_ci,
    coef_table,
)
from bayesma.frequentist._fitcore import _fit_numbers, r2_fixed
from bayesma.frequentist._printing import format_rma
from bayesma.frequentist.inference import check_test
from bayesma.frequentist.location_scale import LocationScaleResult, location_scale_rma
from bayesma.frequentist.mv import RMAMVResult, rma_mv
from bayesma.frequentist.predict import PredictionIntervals
from bayesma.frequentist.subset import apply_subset
from bayesma.frequentist.tau2 import estimate_tau2, tau2_interval
from bayesma.frequentist.transf import transform_table
from bayesma.frequentist.weights import check_weights, weights_column

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.frequentist.mv import RMAMVResult

__all__ = ["rma", "RMAResult", "fit_rma", "METHODS", "TESTS"]


@dataclass(frozen=True)
class RMAResult(PredictionIntervals):  # numpydoc ignore=PR01
    """A fitted (mixed-effects) meta-analysis, with metafor's names.

    Attributes follow ``metafor::rma.uni``: ``beta``, ``se``, ``stat``,
    ``pval``, ``ci_lb``, ``ci_ub`` (one per coefficient, in ``coef_names``),
    ``tau2``, ``se_tau2``, ``tau2_ci``, ``I2``, ``I2_ci``, ``H2``, ``H2_ci``,
    ``QE``, ``QEp``, ``QM``, ``QMp``, ``R2``, ``pi_lb``, ``pi_ub``, ``k``,
    ``p``, ``dfs`` (t degrees of freedom k - p for t/knha/adhoc, else None).
    ``tau2_ci_sign`` is ``(">" or "", ">" or "")``: ">" where a Q-profile bound
    lies beyond the search limit max(100, 10 tau²) and is reported as the limit
    (metafor's ``lb.sign``/``ub.sign``; printed as ``>100.0000``).

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> res.k, round(res.tau2, 4), round(res.I2, 2)
    (13, 0.3132, 92.22)
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2: float
    se_tau2: float | None
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    I2: float
    H2: float
    vt: float
    R2: float | None
    dfs: int | None
    s2w: float
    data: MetaData = field(repr=False)
    X: np.ndarray = field(repr=False)
    tau2_ci: tuple[float, float] | None = None
    I2_ci: tuple[float, float] | None = None
    H2_ci: tuple[float, float] | None = None
    tau2_ci_sign: tuple[str, str] = ("", "")
    pi_lb: float | None = None
    pi_ub: float | None = None
    loglik: float | None = None
    iterations: int = 0
    btt: list[int] = field(default_factory=list)
    tau2_fix: bool = False
    user_weights: np.ndarray | None = field(default=None, repr=False)  # metafor's weights= (None: 1 / (vi + tau²))
    pi_type: str = "default"  # the prediction interval of pi_lb / pi_ub and predict() (see with_pi_type)

    # ---- convenience -------------------------------------------------
    @property
    def tau(self) -> float:
        """Square root of tau².

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> round(res.tau, 4)
        0.5597
        """
        return float(np.sqrt(self.tau2))

    @property
    def yi(self) -> np.ndarray:
        return self.data.yi

    @property
    def vi(self) -> np.ndarray:
        return self.data.vi

    @property
    def estimate(self) -> float:
        """The pooled estimate (intercept) of an intercept-only model.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> round(res.estimate, 4)
        -0.7145
        """
        return float(self.beta[0])

    @property
    def weights(self) -> np.ndarray:
        """Percentage weight of each study (inverse-variance, or the user weights of ``weights=``, as metafor's
        ``weights()``).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> res.weights[:3].round(2).tolist()
        [5.06, 6.36, 4.44]
        """
        w = 1.0 / (self.data.vi + self.tau2) if self.user_weights is None else self.user_weights
        return 100.0 * w / w.sum()

    def summary(self, transf: Any = None) -> pd.DataFrame:
        """Coefficient table: estimate, se, statistic, p-value, interval.

        ``transf`` (e.g. ``numpy.exp`` for log ratios, ``numpy.tanh`` for Fisher's z)
        back-transforms the estimates and interval bounds (``se`` is then NaN; the
        statistic and p-value stay those of the analysis scale), as metafor's ``transf``.

        Parameters
        ----------
        transf : callable, optional
            Back-transformation applied to ``estimate``, ``ci_lb`` and ``ci_ub``.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient (index ``coef``), columns ``estimate``, ``se``,
            ``zval`` (``tval`` for t tests), ``pval``, ``ci_lb``, ``ci_ub``.

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> res.summary().loc["intrcpt", ["estimate", "se", "ci_lb", "ci_ub"]].round(4).tolist()
        [-0.7145, 0.1798, -1.0669, -0.3622]
        """
        return transform_table(coef_table(self), transf, "estimate", (("ci_lb", "ci_ub"),))

    def heterogeneity(self) -> pd.DataFrame:
        """tau², tau, I², H² with their Q-profile confidence intervals.

        Returns
        -------
        pandas.DataFrame
            Rows ``tau2``, ``tau``, ``I2`` (percent), ``H2``; columns ``estimate``,
            ``ci_lb``, ``ci_ub`` (NaN where no interval is computed, e.g. the FE model).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> res.heterogeneity().loc["tau2"].round(4).tolist()
        [0.3132, 0.1197, 1.1115]
        """
        rows = {"tau2": (self.tau2, self.tau2_ci), "tau": (self.tau, _sqrt_ci(self.tau2_ci)),
                "I2": (self.I2, self.I2_ci), "H2": (self.H2, self.H2_ci)}
        return pd.DataFrame(
            [
                {"estimate": est, "ci_lb": ci[0] if ci else np.nan, "ci_ub": ci[1] if ci else np.nan}
                for est, ci in rows.values()
            ],
            index=pd.Index(list(rows), name="parameter"),
        )

    def predict(self, newmods: Any = None, level: float | None = None, transf: Any = None,
                pi_type: Any = None, predtype: Any = None, *, design: Any = None) -> pd.DataFrame:
        """Predicted (average) effects with confidence and prediction intervals.

        See :func:`bayesma.frequentist.predict.predict_rma` for the parameters; *pi_type*
        chooses the prediction-interval variant ("default", "z", "t", "riley", "simple",
        "HK", "HK-PR"; *predtype* is metafor 5's name for it).

        Parameters
        ----------
        newmods : array_like, optional
            Moderator values (without the intercept column), one row per prediction.
        level : float, optional
            Confidence level of the intervals; default the level of the fit.
        transf : callable, optional
            Applied to ``pred`` and the interval bounds (e.g. ``numpy.exp``).
        pi_type, predtype : str, optional
            The prediction-interval variant (give one of the two).
        design : array_like, optional
            Full design rows (intercept column included) instead of *newmods*.

        Returns
        -------
        pandas.DataFrame
            One row per prediction, columns ``pred``, ``se``, ``ci_lb``, ``ci_ub``,
            ``pi_lb``, ``pi_ub`` (prediction interval, as metafor's ``predict.rma``).

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> import numpy as np
        >>> res.predict(transf=np.exp).round(4)
             pred  se   ci_lb   ci_ub   pi_lb  pi_ub
        0  0.4894 NaN  0.3441  0.6962  0.1546  1.549
        """
        from bayesma.frequentist.predict import predict_rma

        return predict_rma(self, newmods=newmods, level=level, transf=transf, pi_type=pi_type, predtype=predtype,
                           design=design)

    def refit(self, keep: Any = None, **changes: Any) -> RMAResult:
        """This model refitted: to the studies in *keep* (boolean mask or indices), or with
        other settings (``method=``, ``test=``, ``level=``); a fixed tau² stays fixed.
        The engine of the case-deletion diagnostics (metafor's ``update``)."""
        md, X = self.data, self.X
        user = self.user_weights
        if keep is not None:
            mask = np.zeros(self.k, dtype=bool)
            mask[np.asarray(keep)] = True
            md, X = md.subset(mask), X[mask]
            user = None if user is None else user[mask]
        settings: dict[str, Any] = {"method": self.method, "test": self.test, "level": self.level,
                    "tau2_fixed": self.tau2 if self.tau2_fix else None, "skip_r2": keep is not None,
                    "weights": user}
        settings.update(changes)
        return fit_rma(md, X, self.coef_names, **settings)

    # ---- diagnostics and comparisons (metafor's generics) --------------
    def influence(self, btt: Any = None) -> _influence.InfluenceDiagnostics:
        """Case-deletion diagnostics; see :func:`bayesma.influence`."""
        return _influence.influence(self, btt=btt)

    def leave1out(self, transf: Any = None) -> _influence.StepResult:
        """Frequentist leave-one-out analysis; see :func:`bayesma.leave1out`."""
        return _influence.leave1out(self, transf=transf)

    def cumul(self, order: Any = None, *, decreasing: bool = False, transf: Any = None) -> _influence.StepResult:
        """Frequentist cumulative meta-analysis; see :func:`bayesma.cumul`."""
        return _influence.cumul(self, order, decreasing=decreasing, transf=transf)

    def level_predictions(self, level: float | None = None, transf: Any = None) -> pd.DataFrame:
        """The predicted effect of each level of the categorical moderators (``mods="~ outcome"``): the
        rows of :meth:`predict` at each cell's design row (:func:`bayesma.cells.design_cells`).

        Parameters
        ----------
        level : float, optional
            Confidence level (default: the fit's).
        transf : callable, optional
            Applied to the predictions and bounds.

        Returns
        -------
        pandas.DataFrame
            Index: the levels (``"outcome = misconduct"``); columns ``k`` and those of :meth:`predict`.

        Raises
        ------
        bayesma.errors.InputError
            For an intercept-only model, or a continuous moderator (use ``predict(newmods=...)``).

        Examples
        --------
        >>> import bayesma as bm, pandas as pd
        >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.35, -0.05, 0.2, 0.4], "vi": [0.01, 0.02, 0.015, 0.03, 0.02, 0.01],
        ...                    "g": ["a", "a", "b", "b", "b", "a"]})
        >>> bm.rma("yi", "vi", data=df, mods="~ g").level_predictions()[["k", "pred"]].round(3)
               k   pred
        g = a  3  0.263
        g = b  3  0.193
        """
        from bayesma.cells import design_cells

        cells = design_cells(self.X, self.coef_names, self.data.data)
        if cells is None:
            raise InputError("predictions per level need a model whose moderators are all categorical; "
                             f"this one has {', '.join(self.coef_names)}: use res.predict(newmods=...) at the "
                             "moderator values of interest")
        out = self.predict(level=level, transf=transf, design=cells.rows)
        out.index = pd.Index(cells.labels)
        out.insert(0, "k", cells.k)
        return out

    def blup(self, level: float | None = None, transf: Any = None) -> pd.DataFrame:
        """Best linear unbiased predictions of the study effects; see :func:`bayesma.blup`."""
        return _ranef.blup(self, level=level, transf=transf)

    def ranef(self, level: float | None = None, transf: Any = None) -> pd.DataFrame:
        """Predicted random effects; see :func:`bayesma.ranef`."""
        return _ranef.ranef(self, level=level, transf=transf)

    def fitstats(self, REML: bool | None = None) -> pd.DataFrame:
        """logLik, deviance, AIC, BIC, AICc; see :func:`bayesma.fitstats`."""
        return _anova.fitstats(self, REML=REML)

    def anova(self, reduced: Any = None, **kwargs: Any):
        """Likelihood-ratio test against *reduced*, or a Wald test (``btt=``, ``X=``); see :func:`bayesma.anova`."""
        return _anova.anova(self, reduced, **kwargs)

    def funnel(self, **kwargs: Any):
        """Funnel plot of this (intercept-only) fit; see :func:`bayesma.plots.funnel_plot`.

        Parameters
        ----------
        **kwargs
            Passed to :func:`bayesma.plots.funnel_plot`.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import bayesma as bm
        >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
        >>> res = bm.rma("yi", "vi", data=dat)
        >>> fig = res.funnel()    # doctest: +SKIP
        """
        from bayesma.plots.funnel import funnel_plot
        return funnel_plot(self, **kwargs)

    def forest(self, pi_type: str | None = None, **kwargs: Any):
        """Forest plot as metafor's ``forest`` (with categorical moderators one block and summary per level);
        see :func:`bayesma.plots.forest_rma`; *pi_type* draws another prediction interval (``with_pi_type``)."""
        from bayesma.plots.forest_frequentist import forest_rma
        return forest_rma(self if pi_type is None else self.with_pi_type(pi_type), **kwargs)

    def __repr__(self) -> str:
        return format_rma(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + format_rma(self).replace("<", "&lt;") + "</pre>"


@label_alias
def rma(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "z",
    mods: Any = None,
    level: float = 0.95,
    labels: Any = None,
    cluster: Any = None,
    missing: str = "raise",
    tau2: float | None = None,
    scale: Any = None,
    link: str | None = None,
    subset: Any = None,
    weights: Any = None,
) -> RMAResult | RMAMVResult | LocationScaleResult:
    """Fit a fixed-, random- or mixed-effects meta-analysis (metafor's ``rma``).

    Parameters
    ----------
    yi : str or array_like
        Observed effects, or a column name of *data*. A pandas Series pairs with the rows
        of *data* (or, without *data*, with the other Series) by its index, not by position.
    vi : str or array_like, optional
        Sampling variances (or give *sei*, standard errors).
    sei : str or array_like, optional
        Standard errors, instead of *vi* (``vi = sei**2``); give one of the two.
    data : pandas.DataFrame, optional
        Table with the named columns and the moderators.
    method : str
        "FE" (common effect; "EE" and "CE" too) or a tau² estimator: "DL", "REML", "ML",
        "PM", "PMM" (median-unbiased PM), "HS", "HSk" (HS with the k / (k - p)
        correction), "SJ", "HE", "EB", "GENQ", "GENQM" (generalized Q statistic with the
        *weights*, and its median-unbiased version; both need *weights*; their tau²
        interval is the generalized Q interval). PM, PMM, GENQM (and EB when its iterations
        fail) search tau² on metafor's range [0, max(100, 10 mad(yi)²)].
    test : {"z", "t", "knha", "adhoc"}
        Wald-type z tests; "t": t tests and intervals with k - p degrees of freedom and
        an F test of the moderators, the variances unscaled; "knha": Knapp-Hartung t tests
        (the variances scaled by RSS / (k - p)); "adhoc": the modified Knapp-Hartung
        method (scaling factor at least 1). The prediction interval of a t-test fit uses
        the t(k - p) quantile. With k = 1 the z test is used, with a warning (as metafor).
        With *cluster*: "z" or "t" (as metafor's ``rma.mv``).
    mods : str, array_like or DataFrame, optional
        Moderators: a formula such as ``"~ ablat + year"`` (strings and
        ``factor(x)`` are factors, treatment coding; names with spaces as
        ```rater type``` or ``Q("rater type")``) or a matrix. A moderator that is
        a linear combination of the others is dropped with a warning naming it
        (as metafor).
    level : float
        Confidence level: a fraction in (0, 1) such as 0.95, or a percentage in
        [50, 100) such as 95.
    labels : str or array_like, optional
        Study labels.
    cluster : str or array_like, optional
        Cluster ids: effects nested in studies are fitted with a three-level
        model by :func:`bayesma.rma_mv` with this *method* ("REML" or "ML").
    missing : {"raise", "drop"}
        How to treat studies with missing values.
    tau2 : float, optional
        Fix tau² at this value (a finite number >= 0) instead of estimating it.
    scale : str or array_like, optional
        Scale moderators of a location-scale model (metafor's ``rma(scale=)``): a formula such
        as ``"~ logni"`` (an intercept is added, as in *mods*) or a matrix used as it is; each
        study then has its own tau², ``tau2_i = exp(z_i' alpha)``. Needs ``method="REML"`` or
        ``"ML"``; see :class:`bayesma.frequentist.location_scale.LocationScaleResult`.
    link : {"log", "identity"}, optional
        Link of the scale model (default "log"; ``"identity"``: ``tau2_i = z_i' alpha``). Only
        with *scale*.
    subset : str or array_like, optional
        The studies to fit (metafor's ``subset=``), chosen before fitting: a boolean mask of length k
        (a pandas Series pairs with the rows of *data* by its index), the name of a boolean column of
        *data*, or integer row positions (0-based). The fit and its printout are those of the subset
        (``k`` is its size); see :mod:`bayesma.frequentist.subset`.
    weights : str or array_like, optional
        User weights (metafor's ``weights=``), a column name or one non-negative number per study:
        the coefficients are then their weighted least-squares estimates with the sandwich variance
        (X'AX)^-1 X'A (V + tau² I) A X (X'AX)^-1, and ``res.weights`` reports them. Only the GENQ and
        GENQM estimators use them for tau² (and need them). Not with *cluster* or *scale*.

    Returns
    -------
    RMAResult, RMAMVResult or LocationScaleResult
        Coefficients (``beta``, ``se``, ... one per column of the design), tau², I², H²,
        Q statistics, Q-profile intervals and the prediction interval; with ``cluster=`` the
        three-level fit of :func:`bayesma.rma_mv` (an :class:`~bayesma.frequentist.mv.RMAMVResult`,
        whose methods that assume independent effects raise a typed error naming the alternative);
        with *scale*, a location-scale fit (``alpha``, ``se_alpha``, ..., each study's ``tau2``, ``QS``).

    Raises
    ------
    ValueError
        Bad input (naming the study, its row and the column), a level or tau2 out of
        range, a formula that cannot be read, a *method* the three-level model cannot fit,
        a PM root beyond metafor's search range, a *test* metafor does not take for the model.
    TypeError
        Non-numeric or boolean effects or variances.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package.
    *Journal of Statistical Software*, 36(3). metafor 3.8-1, ``rma.uni``.

    Examples
    --------
    >>> import bayesma as bm
    >>> res = bm.rma([0.1, 0.3, 0.35, -0.05], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> round(float(res.beta[0]), 4)
    0.1869
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> bm.rma("yi", "vi", data=dat, subset=dat["alloc"] == "random").k
    7
    """
    data, yi, vi, sei, labels, cluster, mods, scale, weights = apply_subset(
        subset, data, yi, vi=vi, sei=sei, labels=labels, cluster=cluster, mods=mods, scale=scale, weights=weights)
    if weights is not None and (scale is not None or link is not None or cluster is not None):
        raise InputError("weights= cannot be used with " + ("cluster= (the three-level model of rma_mv)"
                         if cluster is not None else "scale= (a location-scale model)")
                         + ": user weights are a feature of the univariate model", column="weights")
    if scale is not None or link is not None:
        return location_scale_rma(yi, vi, sei=sei, data=data, method=method, test=test, mods=mods, level=level,
                               labels=labels, cluster=cluster, missing=missing, tau2=tau2, scale=scale, link=link)
    if cluster is not None:
        if tau2 is not None:
            raise InputError("tau2= (a fixed tau²) cannot be used with cluster=: the three-level model "
                             "estimates two variance components")
        if str(method).upper() not in ("REML", "ML"):
            raise InputError(f"method={method!r} cannot fit the three-level model of cluster= "
                             "(rma_mv, as metafor's rma.mv, fits method='REML' or 'ML')")
        return rma_mv(yi, vi, sei=sei, data=data, cluster=cluster, mods=mods, method=method, level=level,
                      test=test, labels=labels, missing=missing)
    method = _check_method(method)
    check_test(test, TESTS, "rma")
    level = _level(level)
    mods = _aligned_mods(mods, data, yi)
    data, wcol = weights_column(weights, data, yi)
    require = list(required_columns(mods, data)) + ([wcol] if wcol is not None else [])
    md = yi if isinstance(yi, MetaData) else MetaData.create(
        yi, vi, sei=sei, data=data, labels=labels, missing=missing, require=require,
    )
    X, names = design_matrix(mods, md.data, md.k, md.labels)
    user = check_weights(md, wcol, weights if isinstance(yi, MetaData) else None)
    return fit_rma(md, X, names, method=method, test=test, level=level, tau2_fixed=tau2, weights=user)


def fit_rma(
    md: MetaData,
    X: np.ndarray,
    coef_names: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2_fixed: float | None = None,
    skip_r2: bool = False,
    weights: np.ndarray | None = None,
) -> RMAResult:
    """Fit the model on validated data and a design matrix (the engine of :func:`rma`); *weights*: the
    checked user weights (k,)."""
    yi, vi = md.yi, md.vi
    k, p = X.shape
    method = _check_method(method)  # every caller (subgroup, the bias methods, ...) spells it as rma does
    level = _level(level)
    tau2_fixed = check_tau2(tau2_fixed)
    num = _fit_numbers(yi, vi, X, coef_names, method=method, test=test, level=level, tau2_fixed=tau2_fixed,
                       weights=weights)
    tau2 = num.tau2
    # pseudo R² for models with moderators and an intercept
    r2 = None
    if not skip_r2 and p > 1 and num.has_intercept:
        if method == "FE":
            r2 = r2_fixed(yi, X, num.wi if weights is None else weights)
        else:
            # tau² of the intercept-only model (the estimate alone: no refit with intervals)
            tau2_re = estimate_tau2(method, yi, vi, np.ones((k, 1)), weights=weights)[0]
            r2 = 0.0 if tau2_re == 0 else max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)
    # Q-profile intervals for tau², I², H² and the prediction interval
    ci: dict[str, Any] = {}
    if method != "FE" and k > p:
        lo, hi, signs = tau2_interval(method, yi, vi, X, level, tau2, weights)
        vt = num.vt
        ci = {"tau2_ci": (lo, hi), "tau2_ci_sign": signs,
              "I2_ci": (100.0 * lo / (vt + lo), 100.0 * hi / (vt + hi)), "H2_ci": (lo / vt + 1.0, hi / vt + 1.0)}
    if p == 1:
        pi_se = np.sqrt(num.se[0] ** 2 + tau2)
        ci["pi_lb"] = float(num.beta[0] - num.crit * pi_se)
        ci["pi_ub"] = float(num.beta[0] + num.crit * pi_se)
    return RMAResult(  # built whole: a result is never changed after it is made
        method=method, test=num.test, level=level, k=k, p=p, coef_names=list(coef_names),
        beta=num.beta, se=num.se, vb=num.vb, stat=num.stat, pval=num.pval, ci_lb=num.ci_lb, ci_ub=num.ci_ub,
        tau2=tau2, se_tau2=num.se_tau2, QE=num.QE, QEp=num.QEp, QM=num.QM, QMp=num.QMp, QMdf=num.QMdf,
        I2=num.I2, H2=num.H2, vt=num.vt, R2=r2, dfs=num.dfs, s2w=num.s2w, loglik=num.loglik,
        iterations=num.iterations, data=md, X=X, btt=num.btt, tau2_fix=tau2_fixed is not None, user_weights=weights,
        **ci,
    )
