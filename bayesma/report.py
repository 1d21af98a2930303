"""The paper paragraph and tables of a fit: ``report.md`` (and, later, ``MetaPosterior.report()``).

Also the number formatting shared by the report and the console tables of the
command line. Nothing here fits a model: the functions take the posterior
summary, the frequentist fits and the priors, and write text.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesma import measures
from bayesma import priors as pr

__all__ = [
    "comparison_table",
    "diagnostics_text",
    "format_value",
    "frequentist_table",
    "location_rows",
    "markdown_table",
    "prob_rel",
    "prob_text",
    "prob_words",
    "report_text",
    "summary_rows",
    "table_rows",
]


def format_value(value: Any, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    col = column.lower()
    if col.startswith("ess") or col in ("k", "divergences", "draws", "n", "n_sim"):
        return f"{v:.0f}"
    if col in ("pval", "p", "qep", "qmp", "p_value") or col.startswith("p(") or col.endswith("_p"):
        return "<.0001" if v < 1e-4 else f"{v:.4f}"
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:.4f}"


def table_rows(df: pd.DataFrame, index: bool = True) -> tuple[list[str], list[list[str]], list[bool]]:
    levels = df.index.nlevels if index else 0
    names = [str(n or "") for n in df.index.names] if index else []
    header = names + [str(c) for c in df.columns]
    numeric = [False] * levels + [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    rows = []
    for idx, row in df.iterrows():
        cells = ([str(i) for i in idx] if levels > 1 else [str(idx)]) if index else []
        cells += [format_value(row[c], str(c)) for c in df.columns]
        rows.append(cells)
    return header, rows, numeric



def summary_rows(summary: pd.DataFrame, prefix: str) -> list[str]:
    """The summary rows of parameter *prefix*: ``tau`` or ``tau[...]``."""
    return [str(i) for i in summary.index if str(i) == prefix or str(i).startswith(prefix + "[")]


def location_rows(summary: pd.DataFrame) -> list[str]:
    """The rows of the location parameters: ``mu`` or the ``beta[...]`` coefficients."""
    return summary_rows(summary, "mu") or summary_rows(summary, "beta")



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
        for j, coef in enumerate(res.coef_names):
            tau2 = float(getattr(res, "tau2", np.nan)) if np.ndim(getattr(res, "tau2", np.nan)) == 0 else np.nan
            rows.append({
                "method": name, "coef": coef, "estimate": float(res.beta[j]), "se": float(res.se[j]),
                "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]), "pval": float(res.pval[j]),
                "tau": float(np.sqrt(tau2)) if np.isfinite(tau2) else np.nan,
                "I2": float(getattr(res, "I2", np.nan)) if j == 0 else np.nan,
            })
    df = pd.DataFrame(rows).set_index("method")
    if (df["coef"] == "intrcpt").all():
        df = df.drop(columns="coef")
    return df


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
        ``estimate, ci_lb, ci_ub, tau, tau_ci_lb, tau_ci_ub, pi_lb, pi_ub``.
    """
    rows: list[tuple[Any, dict[str, float]]] = []
    regression = any(len(res.coef_names) > 1 or res.coef_names[0] != "intrcpt" for res in fits.values())
    nan = float("nan")
    for name, res in fits.items():
        tau2 = getattr(res, "tau2", nan)
        tau = float(np.sqrt(tau2)) if np.ndim(tau2) == 0 and np.isfinite(tau2) else nan
        t_lo = t_hi = nan
        ci = getattr(res, "tau2_ci", None)
        if ci is not None:
            t_lo, t_hi = (float(np.sqrt(max(v, 0.0))) for v in ci)
        pi_lb = pi_ub = nan
        with contextlib.suppress(Exception):
            if not regression:
                pred = res.predict()
            elif x_new is not None:
                pred = res.predict(newmods=np.asarray(x_new, dtype=float)[None, :])
            else:
                raise LookupError
            pi_lb, pi_ub = float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0])
        for j, coef in enumerate(res.coef_names):
            rec = {"estimate": float(res.beta[j]), "ci_lb": float(res.ci_lb[j]), "ci_ub": float(res.ci_ub[j]),
                   "tau": tau, "tau_ci_lb": t_lo, "tau_ci_ub": t_hi, "pi_lb": pi_lb, "pi_ub": pi_ub}
            rows.append(((name, coef) if regression else name, rec))
    bayes = f"Bayesian ({engine})"
    taus = summary_rows(summary, "tau")
    new = summary_rows(summary, "theta_new")

    def cell(row: str | None, col: str) -> float:
        return float(summary.loc[row, col]) if row is not None and row in summary.index else nan

    tau_row = taus[0] if len(taus) == 1 else None
    new_row = new[0] if len(new) == 1 else None
    for row in location_rows(summary):
        rec = {"estimate": cell(row, "median"), "ci_lb": cell(row, "eti_lower"), "ci_ub": cell(row, "eti_upper"),
               "tau": cell(tau_row, "median"), "tau_ci_lb": cell(tau_row, "eti_lower"),
               "tau_ci_ub": cell(tau_row, "eti_upper"), "pi_lb": cell(new_row, "eti_lower"),
               "pi_ub": cell(new_row, "eti_upper")}
        coef = row[len("beta["):-1] if row.startswith("beta[") else row
        rows.append(((bayes, coef) if regression else bayes, rec))
    if regression:
        index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["method", "coef"])
    else:
        index = pd.Index([r[0] for r in rows], name="method")
    return pd.DataFrame([r[1] for r in rows], index=index)


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if abs(x) >= 10 ** -digits or x == 0 else f"{x:.2g}"


def _interval(lo: float, hi: float, digits: int = 2) -> str:
    return f"{_num(lo, digits)} to {_num(hi, digits)}"



def report_text(
    summary: pd.DataFrame,
    *,
    k: int,
    priors: dict[str, Any],
    fits: dict[str, Any],
    p_greater: dict[str, float],
    measure: str | None = None,
    engine: str = "exact",
    engine_detail: str = "",
    diagnostics_text: str = "",
    prior_influence: pd.DataFrame | None = None,
    source: str = "",
    versions: str = "",
    files: Sequence[str] = (),
    n_clusters: int | None = None,
) -> str:
    """The report.md text: a paragraph a paper could use, then the numbers behind it.

    Parameters
    ----------
    summary : pandas.DataFrame
        Rows and columns of :meth:`bayesma.MetaPosterior.summary` (``median``,
        ``eti_lower``, ``eti_upper`` are used).
    k : int
        Number of studies (effects).
    priors : dict
        The priors of the fit (:mod:`bayesma.priors` objects).
    fits : dict
        :func:`bayesma.rma` results by method name (``"FE"``, ``"DL"``, ``"REML"``, ...).
    p_greater : dict
        P(parameter > 0) by summary row of the location parameters.
    measure : str, optional
        The effect measure, to name the effects and back-transform log ratios.
    engine, engine_detail, diagnostics_text : str
        How the posterior was computed, for the methods sentence.
    prior_influence : pandas.DataFrame, optional
        :meth:`bayesma.MetaPosterior.prior_influence`, to say how far the data moved the prior of tau.
    source, versions : str
        The data file (for the title) and the software versions.
    files : sequence of str
        The files written beside the report.
    n_clusters : int, optional
        Number of studies when the k effects are nested in them (three-level models).
    """
    m = measures.get(measure)
    unit = m.plural
    loc = location_rows(summary)
    taus = summary_rows(summary, "tau")
    taus_within = summary_rows(summary, "tau_within")
    new = summary_rows(summary, "theta_new")
    regression = bool(loc) and loc[0].startswith("beta")

    def est(row: str) -> str:
        r = summary.loc[row]
        return f"{_num(float(r['median']))} (95% CrI {_interval(float(r['eti_lower']), float(r['eti_upper']))})"

    model_kind = "meta-regression" if regression else "random-effects meta-analysis"
    if taus_within:
        model_kind = "three-level " + model_kind
    if not taus:
        model_kind = "common-effect " + ("meta-regression" if regression else "meta-analysis")
    how = ("computing the posterior exactly by numerical integration over the heterogeneity"
           if engine == "exact" else "sampling the posterior with the No-U-Turn sampler (PyMC)")
    of_clusters = f" from {n_clusters} studies" if n_clusters else ""
    parts = [(f"We fitted a Bayesian {model_kind} to k = {k} {unit}{of_clusters} with {versions or 'bayesma'}, "
             f"{how}{f' ({engine_detail})' if engine_detail else ''}.")]
    parts.append(_priors_sentence(priors, measure))
    if not regression and loc:
        row = loc[0]
        sentence = f"The pooled effect (posterior median) was {est(row)}"
        if row in p_greater:
            sentence += f", with a posterior probability {prob_words(p_greater[row])} that it is greater than zero"
        parts.append(sentence + ".")
        if m.is_log and m.back_label:
            r = summary.loc[row]
            name = m.back_label
            parts.append(
                f"As {'an' if name[0] in 'aeiou' else 'a'} {name}, this is {_num(math.exp(float(r['median'])))} "
                f"(95% CrI {_interval(math.exp(float(r['eti_lower'])), math.exp(float(r['eti_upper'])))})."
            )
    elif regression:
        coefs = []
        for row in loc:
            text = f"{row} = {est(row)}"
            if row in p_greater:
                text += f", P(> 0) {prob_rel(p_greater[row])}"
            coefs.append(text)
        parts.append("The meta-regression coefficients (posterior medians) were " + "; ".join(coefs) + ".")
    if len(taus) == 1:
        parts.append(f"The between-study standard deviation tau was {est(taus[0])}.")
    elif taus:
        parts.append("The between-study standard deviations were " + "; ".join(f"{t} = {est(t)}" for t in taus) + ".")
    if taus_within:
        parts.append(f"The within-study (between-effect) standard deviation was {est(taus_within[0])}.")
    if prior_influence is not None and "tau" in getattr(prior_influence, "index", []):
        ratio = float(prior_influence.loc["tau", "ratio"])
        if math.isfinite(ratio):
            parts.append(f"The 95% posterior interval of tau was {ratio:.0%} as wide as the prior's"
                         + (", so the prior, not the data, determines it." if ratio > 0.8 else "."))
    if new:
        lab = "a new study" if not regression else "a new study at the mean moderator values"
        texts = [f"{_interval(float(summary.loc[r, 'eti_lower']), float(summary.loc[r, 'eti_upper']))}"
                 + (f" ({r})" if len(new) > 1 else "") for r in new]
        parts.append(f"The 95% predictive interval for the true effect in {lab} was {'; '.join(texts)}.")
    freq = []
    for name, res in fits.items():
        tau2 = getattr(res, "tau2", float("nan"))
        tau = math.sqrt(tau2) if isinstance(tau2, (int, float)) and math.isfinite(tau2) else float("nan")
        if regression:
            coefs = ", ".join(
                f"{c} {_num(float(res.beta[j]))} ({_interval(float(res.ci_lb[j]), float(res.ci_ub[j]))})"
                for j, c in enumerate(res.coef_names))
            text = f"{name}: {coefs} (95% CIs"
        else:
            text = f"{name} {_num(float(res.beta[0]))} (95% CI {_interval(float(res.ci_lb[0]), float(res.ci_ub[0]))}"
        sigma = getattr(res, "sigma", None)
        if sigma is not None and len(sigma) == 2:
            text += f"; tau = {_num(float(sigma[0]))}, tau_within = {_num(float(sigma[1]))}"
        elif name != "FE" and math.isfinite(tau):
            text += f"; tau = {_num(tau)}"
        if name in ("REML", "DL") and isinstance(getattr(res, "I2", None), float):
            text += f", I² = {res.I2:.0f}%"
        freq.append(text + ")")
    if freq:
        what = "coefficients" if regression else "estimates"
        legend = {"FE": "common effect", "DL": "DerSimonian-Laird", "REML": "restricted maximum likelihood",
                  "KH": "Knapp-Hartung adjustment"}
        used = [f"{abbr}: {meaning}" for abbr, meaning in legend.items()
                if any(abbr in re.split(r"[\s+()]+", name) for name in fits)]
        parts.append("For comparison, the frequentist " + what + " were: " + "; ".join(freq)
                     + (f" ({'; '.join(used)})" if used else "") + ".")
    if k < 5 and taus:
        parts.append(f"With only k = {k} studies the data say little about tau, so its prior shapes the credible "
                     "interval; results under other priors should be reported beside these (bayesma priors).")

    title = "# Bayesian meta-analysis" + (f": {source}" if source else "")
    lines = [title, "", " ".join(parts), ""]
    if diagnostics_text:
        lines += ["Sampling diagnostics: " + diagnostics_text, ""]
    lines += ["## Posterior summary", ""]
    keep = [r for r in loc + taus + taus_within + new if r in summary.index]
    cols = [c for c in ("mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk")
            if c in summary.columns and summary[c].notna().any()]
    lines += markdown_table(summary.loc[keep, cols])
    if fits:
        lines += ["", "## Frequentist estimates", ""]
        lines += markdown_table(frequentist_table(fits))
    lines += ["", "## Priors", "", "```", pr.describe(priors), "```"]
    if files:
        lines += ["", "## Files", ""] + [f"- `{f}`" for f in files]
    return "\n".join(lines) + "\n"


def _priors_sentence(priors: dict[str, Any], measure: str | None) -> str:
    """``Priors: mu ~ Normal(mu=0, sigma=8); tau ~ HalfNormal(sigma=0.5) (prior median of tau 0.34, ...).``"""
    texts, defaults = [], False
    for name, prior in priors.items():
        text = f"{name} ~ {prior!r}"
        if getattr(prior, "target", None) == "tau2":
            text += " on tau²"
        if getattr(prior, "is_heterogeneity", False):
            with contextlib.suppress(Exception):
                lo, med, hi = (float(v) for v in prior.ppf_tau([0.025, 0.5, 0.975]))
                text += f" (prior median of {name} {med:.2g}, 95% prior interval {lo:.2g} to {hi:.2g})"
        label = str(getattr(prior, "label", "") or "")
        if label.startswith("default"):
            defaults = True
        elif label:
            text += f" [{label}]"
        texts.append(text)
    sentence = "Priors: " + "; ".join(texts) + "."
    if defaults:
        what = measures.get(measure).plural if measure is not None else None
        if what and "fallback" not in " ".join(str(getattr(p, "label", "")) for p in priors.values()):
            sentence += (f" These are bayesma's defaults for {what}: a half-normal prior on tau with scale a quarter "
                         "of the unit-information standard deviation (Röver et al. 2021; Friede et al. 2017) and a "
                         "wide normal prior on the effect.")
        else:
            sentence += (" No effect measure was given, so default priors were scaled to the data (a weakly "
                         "informative fallback); state them, or choose priors on the outcome's scale.")
    return sentence


def prob_text(p: float) -> str:
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def prob_rel(p: float) -> str:
    """``= 0.034``, ``> 0.999`` or ``< 0.001``: to follow ``P(...)``."""
    text = prob_text(p)
    return text if text[0] in "<>" else f"= {text}"


def prob_words(p: float) -> str:
    """``of 0.980``, ``above 0.999`` or ``below 0.001``: to follow "a posterior probability"."""
    if p > 0.999:
        return "above 0.999"
    if p < 0.001:
        return "below 0.001"
    return f"of {p:.3f}"


def markdown_table(df: pd.DataFrame) -> list[str]:
    header, rows, numeric = table_rows(df)
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def diagnostics_text(post: Any) -> str:
    try:
        diag = post.diagnostics()
    except Exception:  # noqa: BLE001 - diagnostics are informative only
        return ""
    if hasattr(diag, "line"):
        return str(diag.line())
    if isinstance(diag, dict):
        return ", ".join(f"{k} = {format_value(v, k)}" for k, v in diag.items())
    return str(diag)
