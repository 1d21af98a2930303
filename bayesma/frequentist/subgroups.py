"""Subgroup analysis: a pooled estimate per level of a categorical moderator and the Q-between test."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayesma._format import format_p, frame_text, moderator_statistic
from bayesma._validate import label_alias
from bayesma.data import MetaData
from bayesma.design import design_matrix, strip_levels
from bayesma.design import is_text as _is_text
from bayesma.errors import ArgumentTypeError, InputError
from bayesma.frequentist.uni import RMAResult, fit_rma

__all__ = ["subgroup", "SubgroupResult"]


@dataclass
class SubgroupResult:  # numpydoc ignore=PR01
    """Subgroup analysis: a pooled estimate per level and the test of differences.

    Attributes
    ----------
    table : DataFrame
        One row per subgroup: k, estimate, se, ci_lb, ci_ub, pval, tau2, I2, QE, QEp.
    Q_between, Q_between_df, Q_between_p : float, int, float
        Test that the subgroup estimates are equal: a fixed-effect meta-analysis
        of the subgroup estimates (separate tau² per subgroup, as Borenstein
        et al. 2009 ch. 19).
    mixed : RMAResult
        The mixed-effects meta-regression with the subgroup as a factor
        (a common tau²); its ``QM`` is the moderator test metafor reports.
    fits : dict
        The per-subgroup :class:`RMAResult`.

    Examples
    --------
    >>> import bayesma as bm
    >>> dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    >>> res = bm.rma("yi", "vi", data=dat)
    >>> sg = bm.subgroup("yi", "vi", by="alloc", data=dat)
    >>> sg.table.index.tolist(), round(sg.Q_between, 4)
    (['alternate', 'random', 'systematic'], 1.8614)
    """

    moderator: str
    table: pd.DataFrame
    Q_between: float
    Q_between_df: int
    Q_between_p: float
    mixed: RMAResult
    fits: dict[str, RMAResult]

    def summary(self) -> pd.DataFrame:
        return self.table

    def forest(self, **kwargs: Any):
        """Forest plot with one block (and diamond) per subgroup, the overall estimate and the test for
        subgroup differences; see :func:`bayesma.plots.forest_subgroup`."""
        overall = fit_rma(self.mixed.data, np.ones((self.mixed.k, 1)), ["intrcpt"], method=self.mixed.method,
                          test=self.mixed.test, level=self.mixed.level)
        from bayesma.plots.forest_frequentist import forest_subgroup
        return forest_subgroup(self, overall=overall, **kwargs)

    def __repr__(self) -> str:
        table = frame_text(self.table)
        return (
            f"Subgroup analysis by {self.moderator!r} ({self.mixed.method})\n\n{table}\n\n"
            f"Test for subgroup differences (separate tau²): Q = {self.Q_between:.4f}, "
            f"df = {self.Q_between_df}, p {format_p(self.Q_between_p, relation=True)}\n"
            f"Test of moderators (common tau², mixed-effects model): {moderator_statistic(self.mixed)} = "
            f"{self.mixed.QM:.4f}, p {format_p(self.mixed.QMp, relation=True)}"
        )


@label_alias
def subgroup(
    yi: Any,
    vi: Any = None,
    *,
    by: str,
    data: pd.DataFrame,
    sei: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Any = None,
    missing: str = "raise",
) -> SubgroupResult:
    """Pooled effect per subgroup of a categorical moderator, and the Q-between test.

    Each subgroup is fitted on its own with :func:`rma` (a subgroup of one study with
    ``method="FE"``); the Q-between test compares the subgroup estimates (metafor's
    ``rma(yi, vi, mods = ~ factor(by))`` test of moderators in the fixed-effects model of
    the subgroup estimates).

    Parameters
    ----------
    yi : str or array_like
        Observed effects, or a column name of *data*.
    vi : str or array_like, optional
        Sampling variances (or give *sei*).
    by : str
        Column of *data* holding the subgroup of each study (e.g. rater, setting).
    data : pandas.DataFrame
        Table with the named columns.
    sei : str or array_like, optional
        Standard errors, instead of *vi*.
    method : str
        tau² estimator within each subgroup, as in :func:`rma`.
    test : {"z", "t", "knha", "adhoc"}
        Tests within each subgroup and of the mixed-effects model, as in :func:`rma`.
    level : float
        Confidence level, as in :func:`rma`.
    labels : str or array_like, optional
        Study labels (a column of *data* or values), used in messages and tables.
    missing : {"raise", "drop"}
        How to treat studies with missing values: an error naming them, or drop them
        with a warning.

    Returns
    -------
    SubgroupResult
        ``table`` (one row per subgroup: ``k``, ``estimate``, ``se``, ``ci_lb``, ``ci_ub``,
        ``pval``, ``tau2``, ``I2``, ``QE``, ``QEp``), the Q-between test and the fits.

    Raises
    ------
    ValueError
        If *by* is not a column of *data*, or has a single level.

    Examples
    --------
    >>> import pandas as pd, bayesma as bm
    >>> df = pd.DataFrame({"yi": [0.1, 0.3, 0.5, 0.6], "vi": [0.02] * 4, "rater": ["client", "client", "staff", "staff"]})
    >>> sg = bm.subgroup("yi", "vi", by="rater", data=df, method="FE")
    >>> sg.table["estimate"].round(2).tolist()
    [0.2, 0.55]
    """
    if not isinstance(by, str):
        raise ArgumentTypeError(f"by= takes the name of a column of data (the subgroup of each study), got "
                                f"{type(by).__name__}; add the subgroups to data as a column")
    if by not in data.columns:
        raise InputError(f"column {by!r} (for by=) is not in the data; columns are {list(data.columns)}")
    md = MetaData.create(yi, vi, sei=sei, data=data, labels=labels, missing=missing, require=[by])
    groups = md.data[by]
    if _is_text(groups):
        groups = strip_levels(groups, by)  # "staff" and "staff " are one subgroup (with a warning)
        md.data[by] = groups
    if isinstance(groups.dtype, pd.CategoricalDtype):
        levels = [lv for lv in groups.cat.categories if (groups == lv).any()]
    else:
        levels = sorted(groups.unique(), key=lambda v: (isinstance(v, str), v))
    if len(levels) < 2:
        raise InputError(f"column {by!r} has a single level; subgroups need at least two")
    fits: dict[str, RMAResult] = {}
    rows = []
    for lv in levels:
        mask = (groups == lv).to_numpy()
        sub = md.subset(mask)
        within = ", ".join(v for v in (md.data.attrs.get("subset"), f"{by} = {lv}") if v)
        sub.data.attrs = {**md.data.attrs, "subset": within}  # the title of this subgroup's plots
        sub_method = method if (sub.k > 1 or method == "FE") else "FE"
        fit = fit_rma(sub, np.ones((sub.k, 1)), ["intrcpt"], method=sub_method, test=test, level=level)
        fits[str(lv)] = fit
        rows.append({by: str(lv), "k": sub.k, "estimate": fit.beta[0], "se": fit.se[0],
                     "ci_lb": fit.ci_lb[0], "ci_ub": fit.ci_ub[0], "pval": fit.pval[0],
                     "tau2": fit.tau2, "I2": fit.I2, "QE": fit.QE, "QEp": fit.QEp})
    table = pd.DataFrame(rows).set_index(by)
    est = table["estimate"].to_numpy()
    var = table["se"].to_numpy() ** 2
    if np.any(var == 0):
        # Knapp-Hartung with identical effects in a subgroup: its se is 0 and Q-between undefined
        zero = [str(lv) for lv, s in zip(table.index, var) if s == 0]
        warnings.warn(f"subgroup(s) {', '.join(repr(z) for z in zero)} have a standard error of 0 "
                      f"(test={test!r} with identical effects): the test for subgroup differences is NaN",
                      UserWarning, stacklevel=2)
        qb = np.nan
    else:
        w = 1 / var
        pooled = np.sum(w * est) / w.sum()
        qb = float(np.sum(w * (est - pooled) ** 2))
    dfb = len(levels) - 1
    name = by if re.fullmatch(r"[^\W\d][\w.]*", by) else f"`{by}`"  # "rater type" -> `rater type`
    X, names = design_matrix(f"~ factor({name})", md.data, md.k, md.labels)
    mixed = fit_rma(md, X, names, method=method, test=test, level=level)
    return SubgroupResult(by, table, qb, dfb, float(stats.chi2.sf(qb, dfb)), mixed, fits)

