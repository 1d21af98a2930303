"""The report of a fit: a paragraph in the style journals expect (APA 7 / MARS), then the numbers behind it.

:func:`posterior_report` builds it from a :class:`bayesma.MetaPosterior` (``post.report()``,
``bayesma fit``'s ``report.md``); :func:`report_text` renders it from the pieces.

Rules: numbers are rounded for a reader (effects and intervals to 2 decimals,
tau² to 3, I² to whole percent, p in APA style: ``p = .013``, ``p < .001``);
the measure is named from :mod:`bayesma.measures`, with the conversion when the
effects were converted (d from r is never called Hedges' g); coefficient names
are written as terms (``rater: service provider/observer vs client``); an
infinite posterior moment (heavy-tailed or improper priors) is never printed as a
number: the paragraph uses medians and intervals throughout.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayesma import measures
from bayesma import priors as pr
from bayesma._format import format_transformed, moderator_statistic, transformed
from bayesma.design import formula_variables
from bayesma.report.counts import add_counts_words
from bayesma.report.dependent import add_dependent_words, dependent_fits
from bayesma.report.families import add_family_words
from bayesma.report.fits import estimator_fits
from bayesma.report.levels import add_level_words, level_table
from bayesma.report.tables import (
    fmt_p,
    fmt_prob,
    fmt_tau2,
    frequentist_table,
    location_rows,
    markdown_table,
    num,
    sign_probability_words,
    summary_rows,
)

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView
    from bayesma.spec import ModelSpec

__all__ = ["CONVERSIONS", "SYMBOLS", "conversion_from_column", "posterior_report", "report_text", "term_labels"]
_METHODS = {"exact": "exact numerical integration", "nuts": "No-U-Turn sampling (PyMC)"}

#: the conversion behind a converted measure, for the sentence naming the effects (a view of
#: the registry's :attr:`bayesma.measures.Measure.conversion`)
CONVERSIONS = {m.name: m.conversion for m in measures.MEASURES.values() if m.conversion}

#: the symbol of the effect in "d = -0.21, 95% CI [...]" (a view of :attr:`bayesma.measures.Measure.symbol`)
SYMBOLS = {m.name: m.symbol for m in measures.MEASURES.values() if m.symbol}


# ---------------------------------------------------------------------------
# numbers


def _ci(lo: float, hi: float, what: str = "CI") -> str:
    return f"95% {what} [{num(lo)}, {num(hi)}]"


# ---------------------------------------------------------------------------
# names


def term_labels(coef_names: Sequence[str], data: pd.DataFrame | None, mods: Any) -> dict[str, str]:
    """Readable names of meta-regression coefficients.

    ``raterservice provider/observer`` (a factor level) becomes ``rater: service
    provider/observer vs client`` (the reference level is the level without a
    coefficient), a numeric moderator ``year`` becomes ``year (per unit)``, an
    interaction ``a:b`` joins its parts with ``×``; ``intrcpt`` is ``intercept``.
    """
    variables = list(formula_variables(mods)) if isinstance(mods, str) else []
    variables.sort(key=len, reverse=True)
    levels: dict[str, list[str]] = {}
    if data is not None:
        for v in variables:
            if v in data.columns and not pd.api.types.is_numeric_dtype(data[v]):
                col = data[v].dropna()
                cats = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else sorted(
                    {str(x).strip() for x in col})
                levels[v] = [str(c) for c in cats]

    def one(part: str) -> tuple[str, str | None, str | None]:
        core = re.sub(r"^factor\((.*)\)$", r"\1", part)
        for v in variables:
            if v in levels:
                for prefix in (f"factor({v})", v):
                    if part.startswith(prefix) and part[len(prefix):] in levels[v]:
                        return v, part[len(prefix):], None
            elif core == v:
                return v, None, None
        return part, None, None

    named: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    parsed = {}
    for c in coef_names:
        parsed[c] = [one(p) for p in str(c).split(":")]
        for v, lv, _ in parsed[c]:
            if lv is not None:
                used.setdefault(v, set()).add(lv)
    for c in coef_names:
        if c == "intrcpt":
            named[c] = "intercept"
            continue
        parts = []
        for v, lv, _ in parsed[c]:
            if lv is None:
                parts.append(f"{v} (per unit)" if v in variables and len(parsed[c]) == 1 else v)
                continue
            ref = [x for x in levels.get(v, []) if x not in used.get(v, set())]
            parts.append(f"{v}: {lv}" + (f" vs {ref[0]}" if len(ref) == 1 and len(parsed[c]) == 1 else ""))
        named[c] = " × ".join(parts)
    return named


def _measure_phrase(measure: str | None, conversion: str | None, k: int) -> str:
    m = measures.get(measure)
    if conversion:  # the conversion says what the effects are ("d from r", not "Hedges' g")
        return f"k = {k} {m.plural.split(' (')[0]} ({conversion})"
    return f"k = {k} {m.plural}"


def conversion_from_column(data: pd.DataFrame, measure: str | None) -> str | None:
    """The conversions of mixed inputs, from the ``es_conversion`` column ``bayesma escalc --also`` writes.

    ``"Hedges' g from means and SDs for 18; Cohen's d converted from ... for 9"``; None without
    the column or when no row was converted.
    """
    if "es_conversion" not in data.columns:
        return None
    conv = data["es_conversion"].fillna("").astype(str).str.strip()
    converted = conv[conv != ""]
    if converted.empty:
        return None
    own = measures.get(measure)
    own_text = re.sub(r".*\((.*)\)$", r"\1", own.description) if "(" in own.description else own.description
    parts = [f"{own_text} for {int((conv == '').sum())}"] if (conv == "").any() else []
    parts += [f"{text} for {n}" for text, n in converted.value_counts().items()]
    return "; ".join(parts)


def _symbol(measure: str | None) -> str:
    return (measures.get(measure).symbol if measure is not None else None) or "the estimate"


# ---------------------------------------------------------------------------
# the paragraph


def _conflict_words(conflict: pd.DataFrame | None, fits: Mapping[str, Any]) -> str:
    """A plain sentence for each heterogeneity SD in prior-data conflict (:meth:`MetaPosterior.prior_data_conflict`)."""
    if conflict is None or not len(conflict) or not conflict["conflict"].astype(bool).any():
        return ""
    said, upper = [], False
    for row, rec in conflict[conflict["conflict"].astype(bool)].iterrows():
        cdf = float(rec["prior_cdf"])
        upper = upper or cdf > 0.5
        side = "above its prior's 99.5% quantile" if cdf > 0.5 else "below its prior's 0.5% quantile"
        said.append(f"{row} (posterior median {float(rec['posterior_median']):.3g}, {side})")
    if (tau_reml := getattr(fits.get("REML"), "tau2", None)) is not None and math.isfinite(tau_reml) and len(said) == 1:
        said[0] = said[0][:-1] + f"; REML: tau = {math.sqrt(float(tau_reml)):.3g})"
    return ("Prior-data conflict: the data put the between-study standard deviation " + ", ".join(said)
            + " where its prior puts almost no mass, so the priors pull the Bayesian estimates and their "
            "credible intervals away from what the data say; these Bayesian results should not be reported as "
            "they are. " + ("Check the effect measure and the scale of the data (a prior for standardized effects "
                            "does not suit raw units)" if upper else "Check that the prior on tau is meant for effects "
                            "on this scale") + " and compare priors (bayesma priors; bayesma.compare_priors).")


def _prior_words(influence: pd.DataFrame | None, labels: Mapping[str, str], *, k: int | None = None,
                 conflict: bool = False) -> str:
    """How much the priors mattered, in plain words (from :meth:`MetaPosterior.prior_influence`).

    ``set_by_prior`` of a location row compares its interval with its *own* prior only; with
    fewer than 5 studies the prior on tau shapes that interval too, so a location row is then
    never said to be "determined by the data". With a prior-data conflict (*conflict*) the
    data do not "say little": rows set by the prior are said to be pulled by it.
    """
    if influence is None or not len(influence):
        return ""
    has_tau = any(str(r).startswith("tau") for r in influence.index)
    small_k = k is not None and k < 5 and has_tau
    verdicts: dict[str, list[str]] = {}
    for row in influence.index:
        ratio = float(influence.loc[row, "ratio"])
        by_prior = bool(influence.loc[row, "set_by_prior"])
        coef = str(row)[5:-1] if str(row).startswith("beta[") else None
        location = not str(row).startswith("tau")
        what = ("the pooled effect" if row == "mu" else "the between-study standard deviation" if row == "tau"
                else "the within-study standard deviation" if row == "tau_within"
                else "the intercept" if coef == "intrcpt"
                else f"the coefficient for {labels.get(coef, coef)}" if coef is not None else str(row))
        if conflict and math.isfinite(ratio) and ratio > 0.8:
            key = "the priors pull {} (see the prior-data conflict)"
        elif by_prior or (math.isfinite(ratio) and ratio > 0.8):
            key = "the data say little about {}, so the prior largely sets the credible interval"
        elif math.isfinite(ratio) and ratio > 0.3:
            key = "both the prior and the data shaped {}"
        elif location and small_k:
            key = "the prior on {} itself hardly mattered (but see the prior on tau below)"
        elif math.isfinite(ratio):
            key = "the data, not the prior, determined {}"
        else:
            continue
        verdicts.setdefault(key, []).append(what)
    if not verdicts:
        return ""

    def join(names: list[str]) -> str:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    n_coef = sum(str(r).startswith("beta[") for r in influence.index)
    for key, names in verdicts.items():
        coefs = [n for n in names if n == "the intercept" or n.startswith("the coefficient for ")]
        if n_coef > 1 and len(coefs) == n_coef:  # every coefficient alike: say so once
            verdicts[key] = ["the meta-regression coefficients"] + [n for n in names if n not in coefs]
    said = [key.format(join(names)) for key, names in verdicts.items()]
    return "How much the priors mattered: " + "; ".join(said) + "."


def _priors_sentence(priors: Mapping[str, Any], measure: str | None, regression: bool = False, intercept=True) -> str:
    """``Priors: mu ~ Normal(mu=0, sigma=8); tau ~ HalfNormal(sigma=0.5) (half its mass below 0.34, ...).``"""
    texts, defaults = [], False
    for name, prior in priors.items():
        shown = name
        if regression and name == "mu":  # without an intercept ("~ 0 + x") mu is every coefficient's, or unused
            shown = ("intercept" if intercept else "") + ("" if "beta" in priors else " and every coefficient")
            if not (shown := shown.removeprefix(" and ")):
                continue
        elif regression and name == "beta":
            shown = "each coefficient"
        text = f"{shown} ~ {prior!r}"
        if getattr(prior, "target", None) == "tau2":
            text += " on tau²"
        if getattr(prior, "is_heterogeneity", False):
            with contextlib.suppress(Exception):
                _, med, hi = (float(v) for v in prior.ppf_tau([0.025, 0.5, 0.975]))
                if math.isfinite(hi):
                    text += f" (half of its mass below {name} = {med:.2g}, 95% below {hi:.2g})"
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


def _frequentist_sentences(fits: Mapping[str, Any], sym: str, labels: Mapping[str, str]) -> list[str]:
    out = []
    fe = fits.get("FE")
    re_name = next((n for n in ("REML", "DL", "REML (3-level)") if n in fits), None)
    ref = fits.get(re_name) if re_name else None
    kh = fits.get("REML + KH")
    regression = ref is not None and len(ref.coef_names) > 1
    if ref is not None and not regression:
        s = []
        if fe is not None:
            s.append(f"The common-effect (fixed-effect) estimate was {sym} = {num(fe.beta[0])}, "
                     f"{_ci(fe.ci_lb[0], fe.ci_ub[0])}, p {fmt_p(fe.pval[0])}")
        name = {"REML": "restricted maximum likelihood", "DL": "DerSimonian-Laird",
                "REML (3-level)": "three-level model, restricted maximum likelihood"}.get(re_name, re_name)
        text = (f"the random-effects estimate ({name}) was {sym} = {num(ref.beta[0])}, "
                f"{_ci(ref.ci_lb[0], ref.ci_ub[0])}, p {fmt_p(ref.pval[0])}")
        if kh is not None and int(kh.k) > 1:
            text += f" (with the Knapp-Hartung adjustment: {_ci(kh.ci_lb[0], kh.ci_ub[0])}, p {fmt_p(kh.pval[0])})"
        s.append(text)
        out.append((s[0][0].upper() + s[0][1:] if s else "") + ("; " + s[1] if len(s) > 1 else "") + ".")
        if len(s) == 1:
            out[-1] = s[0][0].upper() + s[0][1:] + "."
    if ref is not None:
        out.append(_heterogeneity_sentence(ref, regression))
    if regression:
        coefs = "; ".join(f"{labels.get(c, c)} {num(ref.beta[j])}, {_ci(ref.ci_lb[j], ref.ci_ub[j])}, "
                          f"p {fmt_p(ref.pval[j])}" for j, c in enumerate(ref.coef_names))
        out.insert(0, f"In the mixed-effects meta-regression ({re_name}), the test of moderators was "
                      f"{moderator_statistic(ref, compact=True)} = {ref.QM:.2f}, p {fmt_p(ref.QMp)}; "
                      f"the coefficients were {coefs}.")
    return out


def _heterogeneity_sentence(res: Any, regression: bool) -> str:
    df = int(res.k - res.p)
    if df == 0:  # one study (or as many coefficients as studies): metafor's Q = 0, tau² = 0 are conventions
        return (f"With k = {int(res.k)} {'study' if res.k == 1 else 'studies'}, no heterogeneity can be estimated "
                "(tau² is set to 0, as in metafor), so the random-effects estimate is the common-effect one.")
    what = "Residual heterogeneity" if regression else "Heterogeneity"
    text = f"{what}: Q({df}) = {res.QE:.2f}, p {fmt_p(res.QEp)}"
    sigma = getattr(res, "sigma2", None)
    if isinstance(getattr(res, "I2", None), (int, float)) and math.isfinite(res.I2):
        text += f", I² = {res.I2:.0f}%"
    tau2 = getattr(res, "tau2", None)
    if isinstance(tau2, (int, float, np.floating)) and math.isfinite(tau2):
        t2 = fmt_tau2(tau2)
        text += f", tau² {t2 if t2.startswith('<') else '= ' + t2} (tau = {num(math.sqrt(max(tau2, 0.0)))})"
    elif sigma is not None:
        comps = [fmt_tau2(s) for s in np.atleast_1d(sigma)]
        names = ["between studies", "within studies"] if len(comps) == 2 else [f"level {i + 2}" for i in range(len(comps))]
        text += ", variance components " + ", ".join(f"{n} {c}" for n, c in zip(names, comps))
    if not regression:
        with contextlib.suppress(Exception):
            pred = res.predict()
            lo, hi = float(pred["pi_lb"].iloc[0]), float(pred["pi_ub"].iloc[0])
            if math.isfinite(lo) and math.isfinite(hi):
                which = f" ({res.pi_label})" if hasattr(res, "pi_label") else ""
                text += f"; the 95% prediction interval{which} was [{num(lo)}, {num(hi)}]"
    return text + "."


def _bayes_sentences(summary: pd.DataFrame, p_greater: Mapping[str, float], sym: str, measure: str | None,
                     labels: Mapping[str, str], engine_how: str) -> list[str]:
    out = []
    loc = location_rows(summary)
    regression = bool(loc) and loc[0].startswith("beta")

    def est(row: str) -> str:
        r = summary.loc[row]
        return f"{num(r['median'])}, {_ci(r['eti_lower'], r['eti_upper'], 'CrI')}"

    if not regression and len(loc) > 1:  # a mean per outcome (multivariate model): each one, none called "the" effect
        out.append(f"In the Bayesian model ({engine_how}), the pooled effects (posterior medians) were " + "; ".join(
            f"{r} = {est(r)}" + (f", P(> 0) {fmt_prob(p_greater[r])}" if r in p_greater else "") for r in loc) + ".")
    elif not regression and loc:
        row = loc[0]
        text = f"In the Bayesian model ({engine_how}), the pooled effect was {sym} = {est(row)} (posterior median)"
        if row in p_greater:
            text += ", and " + sign_probability_words(p_greater[row], summary.loc[row, "median"])
        out.append(text + ".")
        m = measures.get(measure)
        if m.is_log and m.back_label:
            b = [format_transformed(transformed(np.exp, summary.loc[row, c])) for c in ("median", "eti_lower", "eti_upper")]
            name = m.back_label  # an overflow reads "> 1e308", a huge ratio 1.9e+111 (not its 112 digits)
            out.append(f"As {'an' if name[0] in 'aeiou' else 'a'} {name}, this is {b[0]}, 95% CrI [{b[1]}, {b[2]}].")
    elif regression:
        coefs = [f"{labels.get(row[5:-1], row[5:-1])} {est(row)}"  # row: "beta[<coef>]"
                 + (f", P(> 0) {fmt_prob(p_greater[row])}" if row in p_greater else "") for row in loc]
        out.append(f"In the Bayesian meta-regression ({engine_how}), the coefficients (posterior medians) were "
                   + "; ".join(coefs) + ".")
    taus = summary_rows(summary, "tau")
    if len(taus) == 1:
        out.append(f"The between-study standard deviation tau was {est(taus[0])}.")
    elif taus:
        out.append("The between-study standard deviations were " + "; ".join(f"{t} = {est(t)}" for t in taus) + ".")
    within = summary_rows(summary, "tau_within")
    if within:
        out.append(f"The within-study (between-effect) standard deviation tau_within was {est(within[0])}.")
    new = summary_rows(summary, "theta_new")
    if new:
        lab = "a new study" if not regression else "a new study at the mean moderator values"
        texts = [f"[{num(summary.loc[r, 'eti_lower'])}, {num(summary.loc[r, 'eti_upper'])}]"
                 + (f" ({r})" if len(new) > 1 else "") for r in new]
        out.append(f"The 95% predictive interval for the true effect in {lab} was {'; '.join(texts)}.")
    return out


def _subgroup_sentence(name: str, sg: Any, sym: str) -> str:
    parts = [f"{lv} (k = {int(r['k'])}) {sym} = {num(r['estimate'])}, {_ci(r['ci_lb'], r['ci_ub'])}"
             for lv, r in sg.table.iterrows()]
    return (f"Subgroups by {name}: " + "; ".join(parts) + f"; test of subgroup differences "
            f"Q_between({sg.Q_between_df}) = {sg.Q_between:.2f}, p {fmt_p(sg.Q_between_p)}.")


def report_text(
    summary: pd.DataFrame,
    *,
    k: int,
    priors: Mapping[str, Any],
    fits: Mapping[str, Any],
    p_greater: Mapping[str, float],
    measure: str | None = None,
    engine: str = "exact",
    method: str | None = None,
    engine_detail: str | None = "",
    diagnostics_text: str = "",
    prior_influence: pd.DataFrame | None = None,
    prior_conflict: pd.DataFrame | None = None,
    source: str = "",
    versions: str = "",
    files: Sequence[str] = (),
    n_clusters: int | None = None,
    title: str | None = None,
    conversion: str | None = None,
    labels: Mapping[str, str] | None = None,
    subgroups: Mapping[str, Any] | None = None,
) -> str:
    """The report.md text: a results paragraph (APA 7 / MARS), then the tables behind it.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`bayesma.MetaPosterior.summary` (``median``, ``eti_lower``, ``eti_upper`` are used).
    k : int
        Number of effects.
    priors : dict
        The priors of the fit.
    fits : dict
        :func:`bayesma.rma` results by name: ``"FE"``, ``"DL"``, ``"REML"``, ``"REML + KH"`` or
        ``"REML (3-level)"``.
    p_greater : dict
        P(parameter > 0) by summary row of the location parameters.
    measure : str, optional
        The effect measure (names the effects; back-transforms log ratios).
    engine, method, engine_detail, diagnostics_text : str
        How the posterior was computed (*method*: ``post.source.method``; default by *engine*).
    prior_influence : pandas.DataFrame, optional
        :meth:`bayesma.MetaPosterior.prior_influence`, for the plain-words sentence on the priors.
    prior_conflict : pandas.DataFrame, optional
        :meth:`bayesma.MetaPosterior.prior_data_conflict`; a conflict is stated plainly.
    source, versions : str
        The data file and the software versions.
    files : sequence of str
        Every file written beside the report.
    n_clusters : int, optional
        Number of studies when the k effects are nested in them.
    title : str, optional
        The heading (default: "Bayesian meta-analysis", with *source*).
    conversion : str, optional
        How the effects were converted (default: from :data:`CONVERSIONS` by measure).
    labels : dict, optional
        Readable coefficient names (:func:`term_labels`).
    subgroups : dict, optional
        :class:`bayesma.SubgroupResult` by moderator, for a sentence each.

    Returns
    -------
    str
        Markdown.
    """
    labels = dict(labels or {})
    measure = measures.lookup(measure)
    conversion = conversion or (measures.get(measure).conversion if measure is not None else None)
    sym = "SMD" if conversion and measure in ("SMD", "SMDH") else _symbol(measure)  # g and converted d mixed
    loc = location_rows(summary)
    taus = summary_rows(summary, "tau")
    regression = bool(loc) and loc[0].startswith("beta")
    kind = "meta-regression" if regression else "random-effects meta-analysis"
    if summary_rows(summary, "tau_within"):
        kind = "three-level " + kind
    if not taus:
        kind = "common-effect " + ("meta-regression" if regression else "meta-analysis")
    how = method or _METHODS.get(engine, engine)
    detail = f"{how}{f'; {engine_detail}' if engine_detail else ''}"
    of_clusters = f" from {n_clusters} studies" if n_clusters else ""
    parts = [f"We meta-analysed {_measure_phrase(measure, conversion, k)}{of_clusters}. Frequentist estimates "
             "(metafor's estimators) are reported beside a Bayesian " + kind
             + f" fitted with {versions or 'bayesma'}, computing the posterior by {how}."]
    parts.append(_priors_sentence(priors, measure, regression, intercept="beta[intrcpt]" in loc))
    parts += _frequentist_sentences(fits, sym, labels)
    for name, sg in (subgroups or {}).items():
        parts.append(_subgroup_sentence(name, sg, sym))
    parts += _bayes_sentences(summary, p_greater, sym, measure, labels, detail)
    conflict_words = _conflict_words(prior_conflict, fits)
    words = _prior_words(prior_influence, labels, k=k, conflict=bool(conflict_words))
    if words:
        parts.append(words)
    if conflict_words:
        parts.append(conflict_words)
    elif k < 5 and taus:
        parts.append(f"With only k = {k} studies the data say little about tau, so its prior shapes the credible "
                     f"intervals of tau and of the pooled effect{'s' * (len(summary_rows(summary, 'mu')) > 1)}; results "
                     "under other priors on tau should be reported beside these (bayesma priors; bayesma.compare_priors).")

    heading = title or "Bayesian meta-analysis"  # the data file is named under "Data and software"
    lines = [f"# {heading}", "", " ".join(p for p in parts if p), ""]
    if diagnostics_text:
        lines += ["Sampling diagnostics: " + diagnostics_text, ""]
    lines += ["## Posterior summary", ""]
    keep = [r for r in loc + taus + summary_rows(summary, "tau_within") + summary_rows(summary, "rho")
            + summary_rows(summary, "theta_new") if r in summary.index]
    cols = [c for c in ("mean", "sd", "median", "eti_lower", "eti_upper", "r_hat", "ess_bulk")
            if c in summary.columns and summary[c].notna().any()]
    table = summary.loc[keep, cols].rename(index=lambda r: _row_label(r, labels))
    lines += markdown_table(table)
    moments = [c for c in ("mean", "sd") if c in table.columns]
    if moments and not np.isfinite(table[moments].to_numpy(dtype=float)).all():
        lines += ["", "— : the posterior has no finite mean or standard deviation under these priors (heavy "
                      "tails); the median and the interval describe it."]
    if fits:
        lines += ["", "## Frequentist estimates", ""]
        lines += markdown_table(_freq_table(fits, labels))
    lines += ["", "## Priors", "", "```", pr.describe(dict(priors)), "```"]
    if source or versions:
        lines += ["", "## Data and software", ""]
        lines += ([f"- data: `{source}`"] if source else []) + ([f"- {versions}; {detail}"] if versions else [])
    if files:
        lines += ["", "## Files", ""] + [f"- `{f}`" for f in files]
    return "\n".join(lines) + "\n"


def _row_label(row: str, labels: Mapping[str, str]) -> str:
    if row.startswith("beta[") and row[5:-1] in labels:
        return f"{labels[row[5:-1]]}"
    return row


def _freq_table(fits: Mapping[str, Any], labels: Mapping[str, str]) -> pd.DataFrame:
    table = frequentist_table(dict(fits))
    if "coef" in table.columns:
        table["coef"] = [labels.get(c, c) for c in table["coef"]]
    q = {name: (float(res.QE), int(res.k - res.p), float(res.QEp)) for name, res in fits.items()}
    table["Q"] = [q[n][0] for n in table.index]
    table["df"] = [q[n][1] for n in table.index]
    table["Q_p"] = [q[n][2] for n in table.index]
    return table


# ---------------------------------------------------------------------------
# from a posterior


def default_fits(spec: ModelSpec, pi_type: str | None = None) -> dict[str, Any]:
    """metafor's estimators on the data of a model spec: FE, DL, REML, REML + KH (or the 3-level REML)."""
    data = spec.meta.data
    yi, vi = np.asarray(spec.yi, dtype=float), np.asarray(spec.vi, dtype=float)
    mods = spec.mods if isinstance(spec.mods, str) else (None if not spec.is_regression else spec.X[:, 1:])
    common = dict(data=data if isinstance(mods, str) else None, mods=mods, labels=list(spec.labels))
    cluster = None
    if spec.cluster_index is not None:
        cluster = list(np.asarray(spec.cluster_names, dtype=object)[spec.cluster_index])
    return estimator_fits(yi, vi, cluster=cluster, pi_type=pi_type, **common)


def posterior_report(
    post: FitView,
    *,
    title: str | None = None,
    fits: Mapping[str, Any] | None = None,
    files: Sequence[str] = (),
    source: str = "",
    conversion: str | None = None,
    subgroups: Mapping[str, Any] | None = None,
    versions: str = "",
    engine_detail: str = "",
    pi_type: str | None = None,
) -> str:
    """The report of a fitted :class:`bayesma.MetaPosterior` (Markdown); see :meth:`MetaPosterior.report`.

    Every number comes from the posterior's own summary and probabilities (the exact engine's for
    ``engine="exact"``) and from :func:`bayesma.rma` on the same data (FE, DL, REML, REML + Knapp-Hartung;
    *pi_type*: their prediction interval), unless *fits* given. *conversion* defaults to
    ``data.attrs["conversion"]`` of the fitted data, else to the conversion the measure implies.
    """
    spec, levels = post.spec, level_table(post)  # categorical moderators: a new study per level
    summary = post.summary() if levels is None else post.summary().drop(index="theta_new", errors="ignore")
    dep = getattr(spec, "dependence", None)  # CHE / multivariate: rma_mv with the same V (report/dependent.py)
    if fits is None:
        try:
            fits = default_fits(spec, pi_type) if dep is None else dependent_fits(spec)
        except (ValueError, np.linalg.LinAlgError):  # e.g. k = 1: no frequentist fit to report
            fits = {}
    data = getattr(spec.meta, "data", None)
    if conversion is None and data is not None:
        conversion = data.attrs.get("conversion") or conversion_from_column(data, spec.measure)
    p_gt = {row: float(post.p_greater(row, 0.0)) for row in location_rows(summary)}
    influence = conflict = None
    with contextlib.suppress(Exception):
        influence = post.prior_influence()
    with contextlib.suppress(Exception):
        conflict = post.prior_data_conflict()
    diag = ""
    if post.source.needs_diagnostics:  # MCMC draws (none needed for marginals or independent draws)
        with contextlib.suppress(Exception):
            diag = str(post.diagnostics().line())
    labels = term_labels(spec.coef_names, data, spec.mods) if spec.is_regression else {}
    text = report_text(
        summary, k=int(spec.k), priors=post.priors, fits=fits, p_greater=p_gt, measure=spec.measure,
        engine=post.engine, method=post.source.method,
        engine_detail=engine_detail if post.source.needs_diagnostics else None,
        diagnostics_text=diag, prior_influence=influence, prior_conflict=conflict, source=source, versions=versions, files=files, n_clusters=len(spec.cluster_names) or None,
        title=title, conversion=conversion, labels=labels, subgroups=subgroups,
    )
    text = text if levels is None else add_level_words(text, levels)
    if getattr(spec, "counts", None) is not None:  # binomial / Poisson likelihood (report/counts.py)
        return add_counts_words(text, post)
    text = add_family_words(text, post)  # location-scale, Student-t, bias models (report/families.py)
    return text if dep is None else add_dependent_words(text, post)
