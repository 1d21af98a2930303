"""Tables and number formatting shared by the report and the console tables of the command line.

Nothing here fits a model: the functions take the posterior summary and the
frequentist fits, and format them.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma._format import format_p

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView

__all__ = [
    "comparison_table",
    "diagnostics_text",
    "fmt_p",
    "fmt_prob",
    "sign_probability_words",
    "fmt_tau2",
    "format_value",
    "frequentist_table",
    "location_rows",
    "markdown_table",
    "num",
    "outcome_mean_names",
    "paper_table",
    "small_k_note",
    "prob_rel",
    "summary_rows",
    "table_rows",
]


def format_value(value: Any, column: str = "") -> str:
    """A cell of a console or report table: counts as integers, p-values (``pval``, ``QEp``, ``rob_pval``,
    ``p_mu_positive``, ``P(> 0)``) through :func:`bayesma._format.format_p`, every other number with 4 decimals.

    Examples
    --------
    >>> format_value(1.234e-05, "tau2"), format_value(6.4e-06, "p_mu_positive"), format_value(13.0, "k")
    ('0.0000', '<.0001', '13')
    """
    if value is None:
        return ""
    if isinstance(value, (bool, str)):  # text is shown as written (".889" stays ".889")
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return ""
    if math.isinf(v):  # an infinite posterior moment (heavy tails): never shown as a number
        return "—"
    col = column.lower()
    if col.startswith("ess") or col in ("k", "divergences", "draws", "n", "n_sim"):
        return f"{v:.0f}"
    if col in ("df", "df1", "df2") or col.endswith("_df"):  # degrees of freedom: a count, or Satterthwaite's
        return f"{v:.0f}" if v == int(v) else f"{v:.2f}"  # with metafor's 2 decimals (df = 18.65)
    if (col in ("pval", "p", "qep", "qmp", "p_value") or col.startswith(("p(", "p_")) or col.endswith("_p")
            or col.endswith("_pval")):  # rob_pval: the cluster-robust p of bayesma mv; p_mu_positive
        return format_p(v)
    return _fixed(v)


def _fixed(v: float, digits: int = 4) -> str:
    """A number in a console table: *digits* decimals as the printouts (``frame_text``) write them, never
    scientific notation below 1 (``0.0000`` for 1e-05, as metafor prints it); three significant digits from a
    million on (``2.3e+06``, as :func:`bayesma._format.format_transformed`); ``-0.0000`` is ``0.0000``."""
    if abs(v) >= 1e6:
        return f"{v:.3g}"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def num(x: float, digits: int = 2) -> str:
    """A number for a reader: fixed *digits*; ``-0.00`` is ``0.00``; a non-finite value is ``—``."""
    x = float(x)
    if not math.isfinite(x):
        return "—"
    text = f"{x:.{digits}f}"
    return text[1:] if re.fullmatch(r"-0\.0*", text) else text


def fmt_p(p: float) -> str:
    """APA style, with its relation: ``= .013``, ``< .001``, ``> .999`` (:func:`bayesma._format.format_p`)."""
    return format_p(p, "apa", relation=True)


def fmt_prob(p: float) -> str:
    """A posterior probability, with its relation: ``= .967``, ``> .999``, ``< .001``."""
    return fmt_p(p)


def sign_probability_words(p_greater: float, median: float) -> str:
    """The posterior probability of the effect's sign, in the direction of the estimate: ``the posterior
    probability that it is greater than zero was .967`` (or ``above .999``), and for a negative posterior
    median ``... less than zero was`` 1 - *p_greater*.

    Examples
    --------
    >>> sign_probability_words(0.039, -0.31)
    'the posterior probability that it is less than zero was .961'
    """
    below = float(median) < 0
    rel = fmt_prob(1.0 - p_greater if below else p_greater)
    words = {"<": "below ", ">": "above "}.get(rel[0], "") + rel[2:]
    return f"the posterior probability that it is {'less' if below else 'greater'} than zero was {words}"


def fmt_tau2(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        return "—"
    if x == 0:
        return "0"
    return "< 0.001" if x < 0.0005 else f"{x:.3f}"


def paper_table(table: pd.DataFrame) -> pd.DataFrame:
    """A combined table of several analyses formatted as published: estimate [95% CI] cells, Q(df), APA p.

    *table* has the columns of :func:`bayesma.cli.fit_by.combined_table` or
    :func:`bayesma.cli.rma.by_table` (``k, FE, FE_lower, FE_upper, RE, RE_lower, RE_upper, Q, Q_df, Q_p,
    I2, tau2, pi_lower, pi_upper`` and optionally ``bayes_median, bayes_lower, bayes_upper, p_mu_positive``).
    """
    def cell(est: float, lo: float, hi: float) -> str:
        return f"{num(est)} [{num(lo)}, {num(hi)}]" if math.isfinite(float(est)) else "—"

    out = pd.DataFrame(index=table.index)
    out["k"] = table["k"].astype(int)
    out["FE [95% CI]"] = [cell(*r) for r in table[["FE", "FE_lower", "FE_upper"]].to_numpy()]
    out["RE [95% CI]"] = [cell(*r) for r in table[["RE", "RE_lower", "RE_upper"]].to_numpy()]
    def ok(*v: float) -> bool:
        return all(math.isfinite(float(x)) for x in v)

    single = (table["k"] == 1).to_numpy()  # one study: no heterogeneity to estimate (metafor's 0 is a convention)
    out["Q(df)"] = ["—" if one or not ok(q, d) else f"{q:.2f} ({int(d)})"
                    for one, (q, d) in zip(single, table[["Q", "Q_df"]].to_numpy())]
    out["p"] = ["—" if one or not ok(p) else fmt_p(p).replace("= ", "") for one, p in zip(single, table["Q_p"])]
    out["I²"] = ["—" if one or not ok(v) else f"{v:.0f}%" for one, v in zip(single, table["I2"])]
    out["tau²"] = ["—" if one else fmt_tau2(v) for one, v in zip(single, table["tau2"])]
    out["95% PI"] = ["—" if one or not ok(lo, hi) else f"[{num(lo)}, {num(hi)}]"
                     for one, (lo, hi) in zip(single, table[["pi_lower", "pi_upper"]].to_numpy())]
    if "bayes_median" in table.columns:
        out["Bayes [95% CrI]"] = [cell(*r) for r in table[["bayes_median", "bayes_lower", "bayes_upper"]].to_numpy()]
        out["P(> 0)"] = [fmt_prob(p).replace("= ", "") if math.isfinite(float(p)) else "—"
                         for p in table["p_mu_positive"]]
    return out


def small_k_note(table: pd.DataFrame) -> str:
    """A note under a combined table on the groups with fewer than 5 studies ("" if none).

    *table* is the input of :func:`paper_table` (index: the group values; ``k``; Bayesian
    columns optional).
    """
    bayes = "bayes_median" in table.columns
    ones = [str(g) for g, k in table["k"].items() if int(k) == 1]
    few = [f"{g} (k = {int(k)})" for g, k in table["k"].items() if 1 < int(k) < 5]
    said = []
    if ones:
        said.append(f"{', '.join(ones)}: one study, so no heterogeneity can be estimated (— in Q, I², tau² and PI; "
                    "the RE row is that study's own estimate, with tau² set to 0 as metafor does)"
                    + ("; its Bayesian interval is set by the prior on tau" if bayes else ""))
    if few:
        said.append(f"{', '.join(few)}: fewer than 5 studies, so tau² is poorly estimated"
                    + ("; the prior on tau shapes the Bayesian interval" if bayes else ""))
    if not said:
        return ""
    col, first = table.index.name or "COL", (ones + [f.split(" (k = ")[0] for f in few])[0]
    tail = (f" Compare priors on tau for these groups: bayesma priors FILE ... --subset \"{col} == '{first}'\"."
            if bayes else "")
    return "Small k: " + "; ".join(said) + "." + tail


def _is_numeric(col: pd.Series) -> bool:
    """Whether a column holds numbers (right-aligned): a numeric dtype, or an object column whose cells are
    numbers or missing (a table with blanks where a method has no such number)."""
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    cells = [v for v in col.tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return bool(cells) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                               for v in cells)


def table_rows(df: pd.DataFrame, index: bool = True) -> tuple[list[str], list[list[str]], list[bool]]:
    levels = df.index.nlevels if index else 0
    names = [str(n or "") for n in df.index.names] if index else []
    header = names + [str(c) for c in df.columns]
    numeric = [False] * levels + [_is_numeric(df.iloc[:, j]) for j in range(df.shape[1])]
    rows = []
    columns = [df.iloc[:, j].tolist() for j in range(df.shape[1])]  # per column: ints stay ints
    for i, idx in enumerate(df.index):
        cells = ([str(x) for x in idx] if levels > 1 else [str(idx)]) if index else []
        cells += [format_value(columns[j][i], str(c)) for j, c in enumerate(df.columns)]
        rows.append(cells)
    return header, rows, numeric



def summary_rows(summary: pd.DataFrame, prefix: str) -> list[str]:
    """The summary rows of parameter *prefix*: ``tau`` or ``tau[...]``."""
    return [str(i) for i in summary.index if str(i) == prefix or str(i).startswith(prefix + "[")]


def location_rows(summary: pd.DataFrame) -> list[str]:
    """The rows of the location parameters: ``mu`` or the ``beta[...]`` coefficients."""
    return summary_rows(summary, "mu") or summary_rows(summary, "beta")



def fit_taus(res: Any) -> dict[str, float]:
    """The between-study SDs of a frequentist fit, named as the posterior's: ``{"tau": ...}`` for
    :func:`bayesma.rma`; for :func:`bayesma.rma_mv` the square roots of its variance components: a CHE's
    ``~ 1 | cluster/obs`` gives ``tau`` (between clusters) and ``tau_within``; a structure across outcomes
    one ``tau`` (CS) or ``tau[<outcome>]`` per outcome (HCS, UN). NaN where the fit has none."""
    nan = float("nan")
    if not hasattr(res, "struct_info"):
        tau2 = getattr(res, "tau2", nan)
        return {"tau": float(np.sqrt(tau2)) if np.ndim(tau2) == 0 and np.isfinite(tau2) else nan}
    out: dict[str, float] = {"tau": nan}
    for name, s2 in zip(("tau", "tau_within"), np.asarray(res.sigma2, dtype=float)):
        out[name] = float(np.sqrt(s2))
    tau2 = np.asarray(res.tau2, dtype=float)
    if tau2.size == 1:
        out["tau"] = float(np.sqrt(tau2[0]))
    elif tau2.size > 1 and res.struct_info:
        for level, t2 in zip(res.struct_info[0]["levels"], tau2):
            out[f"tau[{level}]"] = float(np.sqrt(t2))
    return out


def frequentist_table(fits: dict[str, Any]) -> pd.DataFrame:
    """One row per method (and coefficient): estimate, se, CI, p, tau and I² of :func:`bayesma.rma` fits.

    Parameters
    ----------
    fits : dict
        :class:`bayesma.RMAResult` objects by method label (``"FE"``, ``"REML"``, ...).

    Returns
    -------
    pandas.DataFrame
        Indexed by method; a ``coef`` column when a fit has moderators.
    """
    rows = []
    for name, res in fits.items():
        taus = fit_taus(res)
        for j, coef in enumerate(res.coef_names):
            rows.append({
                "method": name, "coef": coef, "estimate": float(res.beta[j]), "se": float(res.se[j]),
                "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]), "pval": float(res.pval[j]),
                **taus, "I2": float(getattr(res, "I2", np.nan)) if j == 0 else np.nan,
            })
    df = pd.DataFrame(rows).set_index("method")
    if (df["coef"] == "intrcpt").all():
        df = df.drop(columns="coef")
    return df


def outcome_mean_names(coefs: Sequence[str], summary: pd.DataFrame) -> dict[str, str]:
    """rma_mv's coefficients of ``mods = ~ outcome - 1`` (``outcomedropout``) by the posterior's names of the
    outcome means (``mu[dropout]``), so that the two rows of one outcome read alike; {} when the coefficients are
    not one per outcome mean (a meta-regression, another model).

    Examples
    --------
    >>> s = pd.DataFrame(index=["mu[dropout]", "mu[misconduct]", "tau"])
    >>> outcome_mean_names(["outcomedropout", "outcomemisconduct"], s)
    {'outcomedropout': 'mu[dropout]', 'outcomemisconduct': 'mu[misconduct]'}
    """
    means = [str(r) for r in summary.index if str(r).startswith("mu[") and str(r).endswith("]")]
    if len(means) != len(coefs) or not means:
        return {}
    out, prefixes = {}, set()
    for coef in coefs:
        hits = [m for m in means if coef.endswith(m[3:-1])]
        best = max(hits, key=len, default=None)  # the longest level that ends the name
        if best is None:
            return {}
        out[coef] = best
        prefixes.add(coef[:len(coef) - len(best) + 4])
    return out if len(prefixes) == 1 and len(set(out.values())) == len(out) else {}


def comparison_table(
    fits: dict[str, Any], summary: pd.DataFrame, engine: str, x_new: Any = None
) -> pd.DataFrame:
    """The frequentist fits beside the posterior: the console's "Frequentist check" table.

    Built from the same fits the report quotes and from the posterior summary
    (the exact engine's numbers for ``engine="exact"``), so nothing is computed twice.

    Parameters
    ----------
    fits : dict
        :class:`bayesma.RMAResult` objects by method label.
    summary : pandas.DataFrame
        :meth:`bayesma.MetaPosterior.summary` (``median``, ``eti_lower``, ``eti_upper``).
    engine : str
        Names the Bayesian row: ``Bayesian (<engine>)``.
    x_new : array_like, optional
        Design row (intercept included) of the new study for the prediction
        interval of a meta-regression; without it a regression gets no
        frequentist prediction interval.

    Returns
    -------
    pandas.DataFrame
        Rows per method (``(method, coef)`` for a regression); columns
        ``estimate, ci_lb, ci_ub, tau, tau_ci_lb, tau_ci_ub, pi_lb, pi_ub``, then for
        :func:`bayesma.rma_mv` fits ``tau_within`` (CHE) or ``tau[<outcome>]`` (HCS, UN):
        see :func:`fit_taus` (the Bayesian row: the posterior medians of the same names).
    """
    rows: list[tuple[Any, dict[str, float]]] = []
    regression = any(len(res.coef_names) > 1 or res.coef_names[0] != "intrcpt" for res in fits.values())
    nan = float("nan")
    extra: dict[str, None] = {}  # tau_within, tau[<outcome>] of rma_mv fits: columns after those every fit has
    for name, res in fits.items():
        taus = fit_taus(res)
        tau = taus.pop("tau")
        extra.update(dict.fromkeys(taus))
        t_lo = t_hi = nan
        ci = getattr(res, "tau2_ci", None)
        if ci is not None:
            t_lo, t_hi = (float(np.sqrt(max(v, 0.0))) for v in ci)
        pi_lb = pi_ub = nan
        with contextlib.suppress(Exception):
            if not regression:
                pred = res.predict()
            elif x_new is not None:
                pred = res.predict(design=np.asarray(x_new, dtype=float)[None, :])
            else:
                raise LookupError
            pi_lb, pi_ub = float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0])
        same = outcome_mean_names(res.coef_names, summary)  # outcomedropout -> mu[dropout]
        for j, coef in enumerate(res.coef_names):
            rec = {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]),
                   "tau": tau, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub, **taus}
            rows.append(((name, same.get(coef, coef)) if regression else name, rec))
    bayes = f"Bayesian ({engine})"
    tau_rows = summary_rows(summary, "tau")
    new = summary_rows(summary, "theta_new")

    def cell(row: str | None, col: str) -> float:
        return float(summary.loc[row, col]) if row is not None and row in summary.index else nan

    tau_row = tau_rows[0] if len(tau_rows) == 1 else None
    new_row = new[0] if len(new) == 1 else None
    for row in location_rows(summary):
        rec = {"estimate": cell(row, "median"), "ci_lb": cell(row, "eti_lower"), "ci_ub": cell(row, "eti_upper"),
               "tau": cell(tau_row, "median"), "tau_ci_lb": cell(tau_row, "eti_lower"),
               "tau_ci_ub": cell(tau_row, "eti_upper"), "pi_lb": cell(new_row, "eti_lower"),
               "pi_ub": cell(new_row, "eti_upper"), **{c: cell(c, "median") for c in extra}}
        coef = row[len("beta["):-1] if row.startswith("beta[") else row
        rows.append(((bayes, coef) if regression else bayes, rec))
    if regression:
        index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["method", "coef"])
    else:
        index = pd.Index([r[0] for r in rows], name="method")
    return pd.DataFrame([r[1] for r in rows], index=index)


def prob_rel(p: float) -> str:
    """A posterior probability after ``P(...)``, as the report and the combined tables write it (APA):
    ``= .034``, ``> .999``, ``< .001`` (:func:`fmt_prob`; the console printed ``= 0.034`` beside a table's
    ``.034`` for the same number)."""
    return fmt_prob(p)


def markdown_table(df: pd.DataFrame) -> list[str]:
    header, rows, numeric = table_rows(df)
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def diagnostics_text(post: FitView) -> str:
    diag = post.diagnostics()
    if hasattr(diag, "line"):
        return str(diag.line())
    if isinstance(diag, dict):
        return ", ".join(f"{k} = {format_value(v, k)}" for k, v in diag.items())
    return str(diag)


def edit_results_paragraph(text: str, *, model: str | None = None, sentence: str = "", after: str = "") -> str:
    """*text* (a report) with its results paragraph (the one starting "We meta-analysed") edited: the
    model kind ("a Bayesian <kind>" before " fitted with ") becomes "a Bayesian <model>", *sentence*
    closes the paragraph and *after*, when given, is a new paragraph right after it."""
    paras = text.split("\n\n")
    for i, para in enumerate(paras):
        if para.startswith("We meta-analysed"):
            head, sep, rest = para.partition(" fitted with ")
            cut = head.rfind("a Bayesian ")
            if model is not None and sep and cut >= 0:
                head = head[:cut] + f"a Bayesian {model}"
            paras[i] = head + sep + rest + (" " + sentence if sentence else "")
            if after:
                paras.insert(i + 1, after)
            break
    return "\n\n".join(paras)
