"""The result of :func:`~bayesma.frequentist.mv.rma_mv`, with metafor's (``rma.mv``) names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayesma.data import MetaData
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist._common import coef_table
from bayesma.frequentist._printing import _fmt_p, _stars, heterogeneity_test_lines
from bayesma.frequentist.mv.blocks import BlockDiag
from bayesma.frequentist.mv.likelihood import Layout
from bayesma.frequentist.mv.notes import boundary_notes
from bayesma.frequentist.mv.optimize import Params
from bayesma.frequentist.mv.predict import predict_mv, ranef_mv
from bayesma.frequentist.mv.profile import confint_sigma2

__all__ = ["RMAMVResult"]


@dataclass
class RMAMVResult:  # numpydoc ignore=PR01
    """A fitted multivariate / multilevel meta-analysis (metafor's ``rma.mv``).

    Attributes
    ----------
    beta, se, stat, pval, ci_lb, ci_ub : numpy.ndarray
        Fixed effects with standard errors, z (or t) statistics (``zval`` / ``tval`` are aliases),
        p-values and confidence bounds, one per coefficient in ``coef_names``.
    vb : numpy.ndarray
        Variance-covariance matrix of ``beta`` (p x p).
    sigma2 : numpy.ndarray
        Variance components of the ``~ 1 | f`` terms, in the order of the terms (empty if none).
    tau2, rho : numpy.ndarray
        Variances and correlations of the first ``~ inner | outer`` term (empty if none).
    gamma2, phi : numpy.ndarray
        The same for a second ``~ inner | outer`` term.
    QE, QEp : float
        Test for (residual) heterogeneity, ``r' V^-1 r`` with k - p degrees of freedom.
    QM, QMp, QMdf : float, float, tuple
        Omnibus test of the moderators (an F statistic for ``test="t"``).
    k, p : int
        Number of effects and coefficients.
    logLik : float
        Restricted (REML) or full (ML) log likelihood at the estimates.
    fit_stats : pandas.DataFrame
        ll, dev, AIC, BIC, AICc under ML and REML (metafor's ``fitstats``).
    I2_levels : pandas.Series
        Multilevel I² (%) of the ``~ 1 | f`` terms with the typical sampling variance
        (k - p) / tr(P) for ``W = V^-1`` (metafor FAQ); ``total``, then one per term
        (``between`` and ``within`` for a nested ``cluster/obs`` model).
    dfs : int, numpy.ndarray or None
        t degrees of freedom (``test="t"``): k - p, or one per coefficient for ``dfs="contain"``.
    X, yi : numpy.ndarray
        Design matrix (k x p) and effects, rows in the fit's order (after rows with missing
        values were dropped).
    V : BlockDiag
        The known sampling covariance of those rows.
    not_na : numpy.ndarray or None
        Which rows of the data passed were fitted (metafor's ``not.na``; boolean, one per row),
        when rows with missing values were dropped; None when all were.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.load_dataset("dat.konstantopoulos2011")
    >>> res = bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=dat)
    >>> res.variance_components()["estim"].round(4).tolist()
    [0.0651, 0.0327]
    >>> res.marginal_vcov().shape
    (56, 56)
    """

    method: str
    test: str
    level: float
    k: int
    p: int
    n_clusters: int
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    vb: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    sigma2: np.ndarray
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, Any]
    dfs: Any
    logLik: float
    fit_stats: pd.DataFrame
    I2_levels: pd.Series
    s_names: tuple[str, ...]
    s_nlevels: tuple[int, ...]
    iterations: int
    data: MetaData = field(repr=False)
    X: np.ndarray = field(repr=False)
    yi: np.ndarray = field(repr=False)
    V: BlockDiag = field(repr=False)
    theta: np.ndarray = field(repr=False)
    params: Params = field(repr=False)
    layout: Layout = field(repr=False)
    tau2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rho: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gamma2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pi_lb: float | None = None
    pi_ub: float | None = None
    btt: list[int] = field(default_factory=list)
    struct_info: list[dict] = field(default_factory=list, repr=False)
    scale: float = field(default=1.0, repr=False)
    parms: int = 0
    not_na: np.ndarray | None = field(default=None, repr=False)

    # -- aliases ------------------------------------------------------------------------------

    @property
    def zval(self) -> np.ndarray:
        """The test statistics (metafor's ``zval``; t statistics for ``test="t"``)."""
        return self.stat

    @property
    def tval(self) -> np.ndarray:
        """Alias of :attr:`stat`."""
        return self.stat

    @property
    def sigma(self) -> np.ndarray:
        """Square roots of the variance components ``sigma2``."""
        return np.sqrt(self.sigma2)

    @property
    def loglik(self) -> float:
        """Alias of ``logLik`` (the name :class:`RMAResult` uses)."""
        return self.logLik

    @property
    def I2(self) -> float:
        """Total multilevel I² (%)."""
        return float(self.I2_levels["total"])

    @property
    def estimate(self) -> float:
        """The pooled estimate (intercept) of an intercept-only model."""
        return float(self.beta[0])

    @property
    def coef(self) -> pd.Series:
        """The coefficients by name."""
        return pd.Series(self.beta, index=self.coef_names)

    # -- structure ----------------------------------------------------------------------------

    @property
    def cluster_ids(self) -> np.ndarray:
        """For each effect (rows in the fit's order), the independent group it belongs to in the
        marginal model: the level of the outermost random factor (e.g. the study of a CHE model),
        or a group number where several crossed factors join rows."""
        return self._cluster_labels[self.layout.component]

    @property
    def _cluster_labels(self) -> np.ndarray:
        comp = self.layout.component
        first = np.unique(comp, return_index=True)[1]
        for codes_levels in self._groupings():
            codes, levels = codes_levels
            if len(levels) == len(first) and np.array_equal(codes, codes[first][comp]):
                return np.asarray(levels, dtype=object)[codes[first]]
        return np.arange(len(first), dtype=object)

    def _groupings(self) -> list[tuple[np.ndarray, list[str]]]:
        out = [(t.codes, t.levels) for t in self.layout.sigmas]
        out += [(t.outer_codes, t.outer_levels) for t in self.layout.structs]
        if self.data is not None and self.data.cluster is not None:
            codes, levels = pd.factorize(pd.Series(self.data.cluster, dtype=object), sort=False)
            out.insert(0, (codes, list(levels)))
        return out

    def marginal_vcov(self) -> BlockDiag:
        """The fitted marginal covariance of ``yi``: ``V + Z G Z'`` as a
        :class:`~bayesma.frequentist.mv.blocks.BlockDiag` over the independent groups (rows in
        the fit's order, one block per group, ``.clusters`` the groups' labels)."""
        M = self.layout.marginal(self.layout.internal(self.theta))
        return BlockDiag.from_groups(list(M.groups()), self.k, list(self._cluster_labels))

    # -- tables -------------------------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """Coefficient table: estimate, se, statistic, p-value, interval (as :meth:`RMAResult.summary`)."""
        return coef_table(self)

    def variance_components(self) -> pd.DataFrame:
        """The variance components of metafor's printout: one row per ``sigma^2.j``, then
        ``tau^2.j``/``rho`` (and ``gamma^2.j``/``phi``) of the ``~ inner | outer`` terms."""
        fixed = ~np.isnan(self.params.fixed) if self.params is not None else np.zeros(len(self.sigma2), bool)
        rows: list[tuple[str, Any, float, float, str, str]] = []
        for j, (s2, nl, nm) in enumerate(zip(self.sigma2, self.s_nlevels, self.s_names)):
            rows.append((f"sigma^2.{j + 1}", s2, np.sqrt(s2), nl, "yes" if fixed[j] else "no", nm))
        pos = len(self.sigma2)
        for info, (var_name, cor_name) in zip(self.struct_info, (("tau^2", "rho"), ("gamma^2", "phi"))):
            for j in range(info["n_tau2"]):
                lab = info["levels"][j] if info["n_tau2"] > 1 else info["outer"]
                val = self.theta[pos]
                rows.append((f"{var_name}.{j + 1}" if info["n_tau2"] > 1 else var_name, val, np.sqrt(val),
                             info["k_levels"][j] if info["n_tau2"] > 1 else info["n_outer"],
                             "yes" if fixed[pos] else "no", lab))
                pos += 1
            for j in range(info["n_rho"]):
                val = self.theta[pos]
                rows.append((cor_name if info["n_rho"] == 1 else f"{cor_name}.{j + 1}", val, np.nan,
                             np.nan, "yes" if fixed[pos] else "no", ""))
                pos += 1
        return pd.DataFrame(rows, columns=["", "estim", "sqrt", "nlvls", "fixed", "factor"]).set_index("")

    # -- likelihood-based methods -------------------------------------------------------------

    def loglik_at(self, theta: Any) -> float:
        """The (restricted, for a REML fit) log likelihood at the components *theta* (all
        parameters in metafor's order: sigma2, tau2, rho, gamma2, phi), maximised over beta."""
        ev = self.layout.evaluate(self.layout.internal(np.asarray(theta, dtype=float)), self.method == "REML")
        return -np.inf if ev is None else float(ev.ll)

    def confint(self, level: float | None = None) -> pd.DataFrame:
        """Profile-likelihood intervals of the variance components; see
        :func:`bayesma.frequentist.mv.profile.confint_sigma2` (metafor's ``confint.rma.mv``)."""
        return confint_sigma2(self, level)

    def predict(self, newmods: Any = None, level: float | None = None, transf: Any = None,
                tau2_levels: Any = None, gamma2_levels: Any = None) -> pd.DataFrame:
        """Predicted average effects with confidence and prediction intervals; see
        :func:`bayesma.frequentist.mv.predict.predict_mv` (metafor's ``predict.rma.mv``)."""
        return predict_mv(self, newmods, level, transf, tau2_levels, gamma2_levels)

    def level_predictions(self, level: float | None = None, transf: Any = None, tau2_levels: Any = None,
                          gamma2_levels: Any = None) -> pd.DataFrame:
        """The predicted effect of each level of the categorical moderators (``mods="~ outcome"``): :meth:`predict`
        at each cell's design row (:func:`bayesma.cells.design_cells`), with ``k`` per level; a continuous
        moderator is an :class:`~bayesma.errors.InputError` pointing to ``predict(newmods=...)``."""
        from bayesma.cells import design_cells

        cells = design_cells(self.X, list(self.coef_names), self.data.data)
        if cells is None:
            raise InputError("predictions per level need a model whose moderators are all categorical; "
                             f"this one has {', '.join(self.coef_names)}: use res.predict(newmods=...) at the "
                             "moderator values of interest")
        out = self.predict(cells.rows, level, transf, tau2_levels, gamma2_levels)
        out.index = pd.Index(cells.labels)
        out.insert(0, "k", cells.k)
        return out

    def ranef(self, level: float | None = None, transf: Any = None) -> dict[str, pd.DataFrame]:
        """Predicted random effects of every random term; see
        :func:`bayesma.frequentist.mv.predict.ranef_mv` (metafor's ``ranef.rma.mv``)."""
        return ranef_mv(self, level, transf)

    def funnel(self, **kwargs: Any) -> Any:
        """Not available: a funnel plot assumes independent effects (as trimfill, ranktest, selmodel).

        Raises
        ------
        ArgumentTypeError
            Always, naming what to use instead (the Egger sandwich or multilevel PET-PEESE).
        """
        refuse_dependent(self, "funnel()")

    def __repr__(self) -> str:
        return _format(self)

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        return "<pre>" + _format(self).replace("<", "&lt;") + "</pre>"


def _format(res: RMAMVResult) -> str:
    mods = res.p > 1 or res.coef_names != ["intrcpt"]
    vc = res.variance_components()
    lines = [f"Multivariate Meta-Analysis Model (k = {res.k}; method: {res.method})", "",
             "Variance Components:" + ("" if len(vc) else " none"), ""]
    sig = vc.iloc[: len(res.sigma2)].copy()
    if len(sig):
        sig["estim"] = [f"{v:.4f}" for v in sig["estim"]]
        sig["sqrt"] = [f"{v:.4f}" for v in sig["sqrt"]]
        sig["nlvls"] = sig["nlvls"].astype(int)
        lines += [sig.rename_axis(index=None).to_string(), ""]  # no blank row for an empty index name
    pos = len(res.sigma2)
    for info, tag in zip(res.struct_info, ("", "")):
        n = info["n_tau2"] + info["n_rho"]
        part = vc.iloc[pos:pos + n].copy()
        pos += n
        lines.append(f"outer factor: {info['outer']} (nlvls = {info['n_outer']})")
        lines.append(f"inner factor: {info['inner']} (nlvls = {len(info['levels'])})")
        lines.append(tag)
        part["estim"] = [f"{v:.4f}" for v in part["estim"]]
        part["sqrt"] = ["" if np.isnan(v) else f"{v:.4f}" for v in part["sqrt"]]
        part["nlvls"] = ["" if np.isnan(v) else str(int(v)) for v in part["nlvls"]]
        lines += [part.rename(columns={"nlvls": "k.lvl", "factor": "level"}).rename_axis(index=None).to_string(), ""]
    if len(res.sigma2) and "between" in res.I2_levels.index:
        lines.append(
            "Multilevel I^2: total {:.2f}%, between clusters {:.2f}%, within clusters {:.2f}%".format(
                *res.I2_levels[["total", "between", "within"]]))
        lines.append("")
    lines.extend(heterogeneity_test_lines(res, mods))
    lines += ["", "Model Results:", ""]
    table = res.summary()
    if res.dfs is not None:
        table.insert(3, "df", res.dfs)
    table.index = list(table.index) if mods else [""]
    formatted = table.copy()
    formatted["pval"] = [_fmt_p(p) for p in table["pval"]]
    text = formatted.to_string(float_format=lambda v: f"{v:.4f}")
    stars = [_stars(p) for p in table["pval"]]
    if any(stars):
        text = "\n".join(f"{row} {s}".rstrip() for row, s in zip(text.splitlines(), [""] + stars))
    lines.append(text)
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    lines += [line for note in boundary_notes(res) for line in ("", "Note: " + note)]
    return "\n".join(lines)


def refuse_dependent(res: Any, what: str) -> None:
    """Raise for an ``rma_mv`` fit given to a method that assumes independent effects."""
    if isinstance(res, RMAMVResult):
        raise ArgumentTypeError(
            f"{what} assumes independent effects and cannot take an rma_mv fit (dependent effects); "
            "use bm.egger_test(res) (the Egger sandwich: sqrt(vi) as a moderator of the multilevel model "
            "with a CR2 test) or bm.pet_peese(res) (multilevel PET-PEESE), or aggregate the effects per study "
            "(bm.aggregate) before using it"
        )
