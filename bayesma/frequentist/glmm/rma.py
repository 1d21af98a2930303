"""The public function :func:`rma_glmm` (metafor's ``rma.glmm``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from bayesma._validate import check_level, label_alias
from bayesma.errors import ArgumentTypeError, BayesmaWarning, ConvergenceWarning, InputError, UnsupportedModelError
from bayesma.frequentist.glmm.data import MODELS, drop_empty_groups, glmm_data
from bayesma.frequentist.glmm.fit import default_nodes, fit_glmm
from bayesma.frequentist.glmm.options import check_coding, check_escalc_options, glmm_control
from bayesma.frequentist.glmm.result import GLMMResult
from bayesma.frequentist.inference import MV_TESTS, check_test

__all__ = ["rma_glmm"]


@label_alias
def rma_glmm(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    t1i: Any = None,
    x2i: Any = None,
    t2i: Any = None,
    xi: Any = None,
    ni: Any = None,
    mi: Any = None,
    ti: Any = None,
    mods: Any = None,
    model: str = "UM.FS",
    method: str = "ML",
    data: pd.DataFrame | None = None,
    slab: Any = None,
    nAGQ: int | None = None,
    level: float = 0.95,
    btt: Any = None,
    test: str = "z",
    coding: float = 0.5,
    cor: bool = False,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    vtype: str = "LS",
    control: dict[str, Any] | None = None,
) -> GLMMResult:
    """Meta-analysis of counts with generalized linear mixed models (metafor's ``rma.glmm``).

    The exact likelihood of the counts replaces the normal approximation of the study
    estimates: binomial-normal models for 2x2 tables and proportions, Poisson-normal models
    for events and person-times, and the conditional (non-central hypergeometric)
    likelihood of each 2x2 table given its margins. No continuity correction is needed; a
    study with zero events in one group contributes what it knows. Each study's random
    effect is integrated out by adaptive Gauss-Hermite quadrature (Stijnen, Hamza &
    Özdemir 2010; Jackson et al. 2018), written in numpy (no R, no lme4).

    Parameters
    ----------
    measure : {"OR", "IRR", "PLO", "IRLN", "RR"}
        Log odds ratio (2x2 tables), log incidence rate ratio (events and person-times of
        two groups), logit of a proportion, log of an incidence rate; ``"RR"`` (log risk
        ratio of 2x2 tables: UM.FS or UM.RS with a log link) is experimental, as in metafor,
        and warns. metafor's other experimental measures (RD, PR, PLN) are not offered.
    ai, bi, ci, di : array_like or str, optional
        OR: events and non-events in group 1 (ai, bi) and group 2 (ci, di); or give the
        group sizes *n1i*, *n2i* instead of *bi*, *di*. Counts (whole numbers >= 0).
    n1i, n2i : array_like or str, optional
        Group sizes (OR).
    x1i, t1i, x2i, t2i : array_like or str, optional
        IRR: events and person-times (> 0) of groups 1 and 2.
    xi, ni, mi, ti : array_like or str, optional
        PLO: events *xi* among *ni* (or *xi* events and *mi* non-events); IRLN: events
        *xi* in person-time *ti*.
    mods : str, array_like or DataFrame, optional
        Moderators: a formula such as ``"~ ablat"`` (factors coded as in :func:`bayesma.rma`)
        or a matrix (an intercept is added).
    model : {"UM.FS", "UM.RS", "CM.EL", "CM.AL"}
        For OR and IRR: unconditional model with fixed (UM.FS) or random (UM.RS) study
        intercepts, conditional model with the exact (CM.EL) or approximate (CM.AL)
        likelihood. For IRR, CM.AL is CM.EL (the conditional likelihood is binomial). PLO
        and IRLN have one model (the default).
    method : {"ML", "FE"}
        Maximum likelihood random-effects (mixed-effects) model, or fixed effects (tau² = 0).
    data : pandas.DataFrame, optional
        Table holding the named columns.
    slab : array_like or str, optional
        Study labels (alias ``labels``).
    nAGQ : int, optional
        Gauss-Hermite nodes per random effect. Default as metafor: 7 (lme4's adaptive
        quadrature), 1 (the Laplace approximation) for UM.RS's two random effects, and 41
        for CM.EL's hypergeometric likelihood (which metafor integrates with ``integrate``).
        More nodes give a more accurate integral; for UM.RS a tensor-product grid.
    level : float
        Confidence level (0.95 or 95).
    btt : sequence of int or str, optional
        Coefficients of the omnibus test QM (1-based as metafor, or names); default all but
        the intercept.
    test : {"z", "t"}
        Wald z tests, or t tests with k - p degrees of freedom (QM then an F statistic on
        m and k - p degrees of freedom), as metafor's ``test``.
    coding : {0.5, 1, 0}
        How the group indicator enters the random effects of UM.FS and UM.RS (metafor's
        ``coding``): 1/2 codes the groups +1/2 and -1/2, 1 puts the random effect on group 1
        only, 0 on group 2 only. The models differ (the random effect cannot be moved into
        the study intercepts), and so do their estimates.
    cor : bool
        UM.RS only: let the random study intercept and the random effect of the measure be
        correlated (``rho`` of the result), as metafor's ``cor=TRUE``; the fit then no longer
        depends on *coding*.
    add, to : float, str
        metafor's ``escalc`` options for the study estimates ``yi, vi`` (the study values of
        the result and its forest plot, the typical within-study variance of I² and H²; not
        the fit, which uses the counts): *add* is added to the cells of the tables with a zero
        cell (``to="only0"``), of every table (``"all"``), of every table when one has a zero
        cell (``"if0all"``), or of none (``"none"``: a study with a zero cell then has no
        estimate and is left out of I²).
    drop00 : bool
        OR and IRR: leave out of the fit the tables with no events (or, OR, only events) in
        both groups, with a warning (default, as metafor); False fits them.
    vtype : {"LS", "AV"}
        escalc's variances ``vi``: large-sample (``"LS"``), or for PLO with the average
        proportion of all studies (``"AV"``), as metafor's ``vtype``.
    control : dict, optional
        ``scaleX``, ``evtol``, ``maxiter``, ``threshold`` (see
        :mod:`bayesma.frequentist.glmm.options`); metafor's entries that tune its software
        (``optimizer``, ``glmerCtrl``, ...) raise.

    Returns
    -------
    GLMMResult
        ``beta, se, zval, pval, ci_lb, ci_ub, vb, tau2, sigma2, QE_Wld, QE_LRT, I2, H2, QM,
        logLik, fit_stats, k``; ``summary()`` is the coefficient table, ``repr`` metafor's
        printout.

    Raises
    ------
    InputError
        Negative or non-integer counts, more events than the group size, a person-time that
        is not positive (naming the study, its row and the column); unknown measure or
        method; nothing left to fit.
    ArgumentTypeError
        Counts missing for the measure, or given for another measure.
    UnsupportedModelError
        CM.EL or CM.AL for a measure without two groups; *coding*, *cor* or ``drop00=False``
        where the model has no use for them; a ``control`` entry of metafor's software.

    Warns
    -----
    ConvergenceWarning
        No study has an event (or every patient has one) in a group: the estimate is infinite.
    MissingDataWarning
        Studies left out: missing counts, and (as metafor's ``drop00=TRUE``) 2x2 tables with
        no events, or only events, in both groups, and IRR studies with no events in either
        group. The warning names them; ``dropped`` lists them.

    Notes
    -----
    I² uses metafor's typical within-study variance of the ``escalc`` estimates (1/2 added
    to zero cells). ``QE_Wld`` and ``QE_LRT`` compare the fixed-effects model with the
    saturated model. ``logLik`` is metafor's: for the models metafor fits with lme4 and
    more than one node (UM.FS, CM.AL, PLO, IRLN) that is the log-likelihood conditional on
    the random effects' modes (``ll_saturated - deviance / 2``, lme4's deviance being the
    conditional one); ``logLik_marginal`` is the maximised marginal log-likelihood, which is
    what the estimates maximise. Standard errors invert the observed information of all
    parameters (finite differences of the quadrature log-likelihood).

    References
    ----------
    Stijnen, T., Hamza, T. H., & Özdemir, P. (2010). Random effects meta-analysis of event
    outcome in the framework of the generalized linear mixed model with applications in
    sparse data. Statistics in Medicine, 29, 3046-3067. Jackson, D., Law, M., Stijnen, T.,
    Viechtbauer, W., & White, I. R. (2018). A comparison of seven random-effects models for
    meta-analyses that estimate the summary odds ratio. Statistics in Medicine, 37,
    1059-1085. metafor 3.8-1, ``rma.glmm``.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.bcg")
    >>> res = bm.rma_glmm("OR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    >>> round(float(res.beta[0]), 3), round(res.tau2, 3)
    (-0.745, 0.295)
    """
    if model not in MODELS:
        raise InputError(f"model={model!r} is not known; choose one of {list(MODELS)}")
    if method not in ("ML", "FE"):
        raise InputError(f"method={method!r} is not known; rma_glmm fits 'ML' (random effects) or 'FE'")
    if nAGQ is not None and (isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or nAGQ < 1):
        raise ArgumentTypeError(f"nAGQ must be a whole number >= 1, got {nAGQ!r}")
    level = check_level(level)
    check_test(test, MV_TESTS, "rma_glmm")  # as metafor's rma.glmm: "z" or "t"
    if measure in ("PLO", "IRLN") and model != "UM.FS":
        raise UnsupportedModelError(f"measure {measure!r} has one model (one count per study); leave model= out")
    if measure == "IRR" and model == "CM.AL":
        model = "CM.EL"
    if measure == "RR":
        if model not in ("UM.FS", "UM.RS"):
            raise UnsupportedModelError(f"measure 'RR' has no conditional model; model={model!r} needs 'OR' "
                                        "(metafor: 'Cannot use this measure with model=CM.EL or CM.AL')")
        warnings.warn("measure 'RR' (a binomial model with a log link) is experimental in metafor: a risk "
                      "near 1 puts the estimate at the edge of the parameter space; treat results with caution",
                      BayesmaWarning, stacklevel=3)
    coding = check_coding(coding, cor, measure, model, method)
    check_escalc_options(add, to, drop00, measure, vtype)
    ctrl = glmm_control(control)
    args = {"ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i, "x1i": x1i, "t1i": t1i, "x2i": x2i,
            "t2i": t2i, "xi": xi, "ni": ni, "mi": mi, "ti": ti}
    gd = drop_empty_groups(glmm_data(measure, args, mods, data, slab, float(add), to, bool(drop00), vtype), model)
    p = gd.X.shape[1]
    if np.any(np.linalg.eigvalsh(gd.X.T @ gd.X) <= ctrl.evtol):
        raise InputError(f"the model matrix is not of full rank (an eigenvalue of X'X is <= evtol = {ctrl.evtol:g}): "
                         "the coefficients cannot be estimated")
    if gd.k < p + (method == "ML"):
        raise InputError(f"{gd.k} studies cannot estimate {p + (method == 'ML')} parameters")
    _warn_infinite(measure, gd.counts)
    nodes = int(nAGQ) if nAGQ is not None else default_nodes(measure, model)
    fe_nodes = int(nAGQ) if nAGQ is not None else 7
    r = fit_glmm(gd, model, method, nodes, level, btt, fe_nodes=fe_nodes, test=test, coding=coding, cor=bool(cor),
                 control=ctrl)
    fs = pd.DataFrame({"ML": r["fit_stats"]}).reindex(["ll", "dev", "AIC", "BIC", "AICc"])
    return GLMMResult(
        beta=r["beta"], se=r["se"], zval=r["zval"], pval=r["pval"], ci_lb=r["ci_lb"], ci_ub=r["ci_ub"], vb=r["vb"],
        coef_names=gd.coef_names, tau2=r["tau2"], se_tau2=r["se_tau2"], sigma2=r["sigma2"], QE_Wld=r["QE_Wld"],
        QEp_Wld=r["QEp_Wld"], QE_LRT=r["QE_LRT"], QEp_LRT=r["QEp_LRT"], QE_df=r["QE_df"], I2=r["I2"], H2=r["H2"],
        vt=r["vt"], QM=r["QM"], QMp=r["QMp"], QMdf=r["QMdf"], btt=r["btt"], logLik=r["ll"],
        logLik_marginal=r["ll_marginal"], fit_stats=fs, k=gd.k, k_all=gd.k_all, measure=measure, model=model,
        method=method, nAGQ=nodes, level=level, test=test, dfs=r["dfs"], labels=gd.labels, dropped=gd.dropped,
        yi=gd.yi, vi=gd.vi, rho=r["rho"], coding=coding)


def _warn_infinite(measure: str, c: dict[str, np.ndarray]) -> None:
    """Warn when the counts put the maximum likelihood estimate at infinity (no events, or only
    events, in every study of a group): the numbers reported are where the optimiser stopped."""
    groups: dict[str, tuple[np.ndarray, np.ndarray | None]]
    if measure in ("OR", "RR"):
        groups = {"group 1": (c["ai"], c["bi"]), "group 2": (c["ci"], c["di"])}
    elif measure == "PLO":
        groups = {"the studies": (c["xi"], c["ni"] - c["xi"])}
    elif measure == "IRR":
        groups = {"group 1": (c["x1i"], None), "group 2": (c["x2i"], None)}
    else:
        groups = {"the studies": (c["xi"], None)}
    for name, (events, others) in groups.items():
        none = np.all(events == 0)
        every = others is not None and np.all(others == 0)
        if none or every:
            what = f"no study has an event in {name}" if none else f"in every study every patient in {name} has the event"
            warnings.warn(f"{what}: the maximum likelihood estimate is infinite, and the numbers reported are where "
                          "the optimiser stopped", ConvergenceWarning, stacklevel=3)
