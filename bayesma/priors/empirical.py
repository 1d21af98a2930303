"""Empirical heterogeneity priors: Turner et al. (2015) for log odds ratios and
Rhodes et al. (2015) for standardized mean differences (tables in ``bayesma/data/``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from bayesma.errors import ArgumentTypeError, InputError
from bayesma.priors.families import LogNormal, LogStudentT

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["turner2015", "rhodes2015", "turner2015_table", "rhodes2015_table"]

_TURNER_FILE = "turner2015_logor_tau2_priors.csv"
_RHODES_FILE = "rhodes2015_smd_tau2_priors.csv"
_TABLES: dict[str, pd.DataFrame] = {}


def _read_table(name: str) -> pd.DataFrame:
    if name not in _TABLES:
        import importlib.resources

        import pandas as pd

        with (importlib.resources.files("bayesma") / "data" / name).open("r", encoding="utf-8") as f:
            _TABLES[name] = pd.read_csv(f)
    return _TABLES[name].copy()


def turner2015_table() -> pd.DataFrame:
    """Turner et al. (2015) predictive distributions for tau^2 of log odds ratios.

    Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015), Statistics in
    Medicine 34(6):984-998, Table IV: ``tau^2 ~ LogNormal(meanlog, sdlog)`` by
    outcome type and type of comparison.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome_type``, ``comparison_type``,
        ``tau2_lognormal_meanlog``, ``tau2_lognormal_sdlog``.

    Examples
    --------
    >>> from bayesma.priors import turner2015_table
    >>> turner2015_table().columns.tolist()
    ['outcome_type', 'comparison_type', 'tau2_lognormal_meanlog', 'tau2_lognormal_sdlog']
    """
    return _read_table(_TURNER_FILE)


def rhodes2015_table() -> pd.DataFrame:
    """Rhodes et al. (2015) predictive distributions for tau^2 of standardized mean differences.

    Rhodes KM, Turner RM, Higgins JPT (2015), Journal of Clinical Epidemiology
    68(1):52-60, Table 3 and Appendix Tables A.3.1-A.3.2:
    ``log(tau^2) = location + scale * T_5``. The first row (all ``any``) is the
    general-purpose prior.

    Returns
    -------
    pandas.DataFrame
        Columns ``medical_area``, ``outcome_type``, ``comparison_type``,
        ``tau2_logt5_location``, ``tau2_logt5_scale``.

    Examples
    --------
    >>> from bayesma.priors import rhodes2015_table
    >>> rhodes2015_table().columns.tolist()
    ['medical_area', 'outcome_type', 'comparison_type', 'tau2_logt5_location', 'tau2_logt5_scale']
    """
    return _read_table(_RHODES_FILE)


def _norm_text(s: str) -> str:
    return re.sub(r"\s+", " ", str(s)).strip().lower()


def _match_column(df: pd.DataFrame, column: str, query: str, arg: str) -> str:
    """The unique value of *column* matching *query*: exact (case-insensitive), else substring."""
    if not isinstance(query, str):
        raise ArgumentTypeError(f"{arg} must be a string, got {query!r}")
    values = list(dict.fromkeys(df[column].astype(str)))
    q = _norm_text(query)
    exact = [v for v in values if _norm_text(v) == q]
    if exact:
        return exact[0]
    sub = [v for v in values if q in _norm_text(v)]
    if len(sub) == 1:
        return sub[0]
    listing = "\n  ".join(values)
    if not sub:
        raise InputError(f"no {arg} matches {query!r}; available:\n  {listing}")
    raise InputError(
        f"{arg}={query!r} matches several rows ({'; '.join(sub)}); be more specific. "
        f"Available:\n  {listing}"
    )


def _select_row(
    df: pd.DataFrame, criteria: list[tuple[str, str, str]], source: str, hint: str = ""
):
    chosen = {col: _match_column(df, col, q, arg) for col, q, arg in criteria}
    mask = np.ones(len(df), dtype=bool)
    for col, value in chosen.items():
        mask &= (df[col].astype(str) == value).to_numpy()
    rows = df[mask]
    if len(rows) != 1:
        cols = [c for c, _, _ in criteria]
        listing = "\n  ".join(" | ".join(str(r[c]) for c in cols) for _, r in df.iterrows())
        wanted = ", ".join(f"{arg}={chosen[col]!r}" for col, _, arg in criteria)
        raise InputError(
            f"{source} has no row with {wanted}{hint}; available rows "
            f"({' | '.join(cols)}):\n  {listing}"
        )
    return rows.iloc[0], chosen


def turner2015(
    outcome: str = "all-cause mortality",
    comparison: str = "pharmacological vs. placebo / control",
) -> LogNormal:
    """Empirical log-normal prior for tau^2 of a log odds ratio (Turner et al. 2015).

    Parameters
    ----------
    outcome : str
        Outcome type, matched case-insensitively against the table's
        ``outcome_type``: exactly, else as a unique substring (e.g.
        ``"pain"``, ``"adverse"``).
    comparison : str
        Type of comparison, matched the same way against ``comparison_type``
        (``"pharmacological vs. placebo / control"``, ``"pharmacological vs.
        pharmacological"``, ``"non-pharmacological vs. placebo / control"``,
        ``"non-pharmacological vs. pharmacological"``, ``"non-pharmacological vs.
        non-pharmacological"``).

    Returns
    -------
    LogNormal
        ``LogNormal(mu=meanlog, sigma=sdlog)`` on tau^2, with a ``label`` naming
        the row.

    Raises
    ------
    ValueError
        When no row or several rows match; the message lists the available ones.

    Examples
    --------
    >>> turner2015()
    LogNormal(mu=-3.95, sigma=1.34)
    >>> turner2015("pain", "pharmacological vs. pharmacological")
    LogNormal(mu=-2.06, sigma=1.58)
    """
    df = turner2015_table()
    row, chosen = _select_row(
        df,
        [("outcome_type", outcome, "outcome"), ("comparison_type", comparison, "comparison")],
        "Turner et al. (2015) Table IV",
    )
    prior = LogNormal(float(row["tau2_lognormal_meanlog"]), float(row["tau2_lognormal_sdlog"]))
    prior.label = (
        f"Turner et al. (2015), log OR: {chosen['outcome_type']}; {chosen['comparison_type']}"
    )
    return prior


def rhodes2015(outcome: str = "any", comparison: str = "any", area: str = "any") -> LogStudentT:
    """Empirical log-t(5) prior for tau^2 of a standardized mean difference (Rhodes et al. 2015).

    ``log(tau^2) = location + scale * T_5``. With the defaults (all ``"any"``)
    it is the general-purpose prior ``LogStudentT(5, -3.44, 2.59)``; otherwise
    give all three of medical area, outcome type and comparison type.

    Parameters
    ----------
    outcome : str
        Outcome type (``outcome_type``), matched case-insensitively: exactly,
        else as a unique substring (e.g. ``"mental health"``).
    comparison : str
        ``"pharmacological vs. placebo / control"``, ``"pharmacological vs.
        pharmacological"`` or ``"non-pharmacological (any)"``.
    area : str
        Medical area: ``"respiratory"``, ``"cancer"`` or ``"other"``.

    Returns
    -------
    LogStudentT
        ``LogStudentT(nu=5, mu=location, sigma=scale)``, labelled with its row.

    Raises
    ------
    ValueError
        When no row or several rows match; the message lists the available ones.

    Examples
    --------
    >>> rhodes2015()
    LogStudentT(nu=5, mu=-3.44, sigma=2.59)
    >>> rhodes2015("mental health", "non-pharmacological", "other")
    LogStudentT(nu=5, mu=-3.85, sigma=1.93)
    """
    df = rhodes2015_table()
    row, chosen = _select_row(
        df,
        [
            ("medical_area", area, "area"),
            ("outcome_type", outcome, "outcome"),
            ("comparison_type", comparison, "comparison"),
        ],
        "Rhodes et al. (2015)",
        hint=" (leave all three at 'any' for the general-purpose prior, or give all three)",
    )
    prior = LogStudentT(5.0, float(row["tau2_logt5_location"]), float(row["tau2_logt5_scale"]))
    prior.label = (
        f"Rhodes et al. (2015), SMD: area {chosen['medical_area']}; "
        f"{chosen['outcome_type']}; {chosen['comparison_type']}"
    )
    return prior
