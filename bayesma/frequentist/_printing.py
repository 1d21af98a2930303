"""p-value and star formatting and metafor-style printouts of the frequentist results."""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma._format import format_p, moderator_statistic


def _fmt_p(p: float) -> str:
    """metafor's p-value: ``0.0123``, ``<.0001``, ``NA`` (:func:`bayesma._format.format_p`)."""
    return format_p(p)


def _p_text(p: float) -> str:
    """With its relation, as metafor's test lines: ``= 0.0123``, ``< .0001``."""
    return format_p(p, relation=True)


def pet_test_line(alternative: str, p: float, alpha: float, chosen: str) -> str:
    """PET-PEESE's decision line: a test named as a test (not a claim that the intercept is below 0).

    >>> pet_test_line("less", 0.5161, 0.05, "PET")
    'Test of PET intercept < 0 (one-sided, H0: intercept = 0): p-val = 0.5161 (alpha = 0.05) -> PET'
    """
    side = ">" if alternative == "greater" else "<"
    return (f"Test of PET intercept {side} 0 (one-sided, H0: intercept = 0): p-val {_p_text(p)} "
            f"(alpha = {alpha:g}) -> {chosen}")


def _stars(p: float) -> str:
    if p is None or np.isnan(p):
        return ""
    for cut, s in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return s
    return ""


def _btt_text(btt: list[int]) -> str:
    """metafor's wording: "coefficient 2", "coefficients 2:3"."""
    idx = [b + 1 for b in btt]
    return f"coefficients {idx[0]}:{idx[-1]}" if len(idx) > 1 else f"coefficient {idx[0]}"


def moderator_test_text(res: Any) -> str:
    """The "Test of Moderators" lines of a printout (rma and rma_mv results)."""
    statistic = moderator_statistic(res)
    return (f"Test of Moderators ({_btt_text(res.btt)}):\n"
            f"{statistic} = {res.QM:.4f}, p-val {_p_text(res.QMp)}")


def heterogeneity_test_lines(res: Any, mods: bool) -> list[str]:
    """The "Test for (Residual) Heterogeneity" lines of a printout and, with moderators,
    the "Test of Moderators" (rma and rma_mv results)."""
    label = "Test for Residual Heterogeneity" if mods else "Test for Heterogeneity"
    lines = [f"{label}:\nQ{'E' if mods else ''}(df = {res.k - res.p}) = {res.QE:.4f}, p-val {_p_text(res.QEp)}"]
    if mods:
        lines += ["", moderator_test_text(res)]
    return lines


_NAMES = {
    "FE": "Fixed-Effects Model", "DL": "DerSimonian-Laird", "REML": "restricted maximum likelihood",
    "ML": "maximum likelihood", "PM": "Paule-Mandel", "HS": "Hunter-Schmidt", "SJ": "Sidik-Jonkman",
    "HE": "Hedges", "EB": "empirical Bayes", "PMM": "median-unbiased Paule-Mandel",
    "HSk": "Hunter-Schmidt (k-corrected)", "GENQ": "generalized Q-statistic", "GENQM": "median-unbiased generalized Q",
}


def format_rma(res: Any) -> str:
    """A printout in the style of metafor's ``print.rma.uni``."""
    lines = []
    mods = res.p > 1 or res.coef_names != ["intrcpt"]
    if res.method == "FE":
        lines.append(f"{'Fixed-Effects with Moderators' if mods else 'Fixed-Effects'} Model (k = {res.k})")
    else:
        kind = "Mixed-Effects Model" if mods else "Random-Effects Model"
        how = "user-specified tau^2 value" if getattr(res, "tau2_fix", False) else f"tau^2 estimator: {res.method}"
        lines.append(f"{kind} (k = {res.k}; {how})")
    lines.append("")
    if res.method != "FE":
        resid = "residual " if mods else ""
        se_t = f" (SE = {res.se_tau2:.4f})" if res.se_tau2 is not None else ""
        lines.append(f"tau^2 ({resid}heterogeneity): {res.tau2:.4f}{se_t}")
        lines.append(f"tau ({'square root of estimated tau^2 value'}): {res.tau:.4f}")
        lines.append(f"I^2 ({resid}heterogeneity / {'unaccounted variability' if mods else 'total variability'}): {res.I2:.2f}%")
        lines.append(f"H^2 ({'unaccounted variability / sampling variability' if mods else 'total variability / sampling variability'}): {res.H2:.2f}")
    else:
        lines.append(f"I^2 (total heterogeneity / total variability):  {res.I2:.2f}%")
        lines.append(f"H^2 (total variability / sampling variability): {res.H2:.2f}")
    if res.R2 is not None:
        lines.append(f"R^2 (amount of heterogeneity accounted for): {res.R2:.2f}%")
    if res.tau2_ci is not None:
        # ">" marks a bound beyond the Q-profile search limit, reported as the limit (as metafor's confint)
        lo, hi = getattr(res, "tau2_ci_sign", ("", ""))
        lines.append(
            f"{int(round(res.level * 100))}% CI ({'generalized Q' if res.method in ('GENQ', 'GENQM') else 'Q-profile'}): tau^2 [{lo}{res.tau2_ci[0]:.4f}, "
            f"{hi}{res.tau2_ci[1]:.4f}], I^2 [{lo}{res.I2_ci[0]:.2f}%, {hi}{res.I2_ci[1]:.2f}%]"
        )
    lines.append("")
    lines.extend(heterogeneity_test_lines(res, mods))
    lines.append("")
    lines.append("Model Results:")
    lines.append("")
    lines.extend(_coef_table(res, mods))
    if res.pi_lb is not None and res.method != "FE":
        lines.append("")
        lines.append(f"Prediction interval: [{res.pi_lb:.4f}, {res.pi_ub:.4f}]")
    lines.append("")
    lines.append("---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    return "\n".join(lines)


def _coef_table(res: Any, mods: bool) -> list[str]:
    """Rows of the coefficient table with significance stars, like metafor's printout."""
    t_test = res.dfs is not None  # t tests: "tval" and the df column, as metafor's print.rma.uni
    header = ["estimate", "se", "tval" if t_test else "zval"] + (["df"] if t_test else []) + ["pval", "ci_lb", "ci_ub"]
    names = res.coef_names if mods else [""]
    rows = []
    for j, name in enumerate(names):
        cells = [f"{res.beta[j]:.4f}", f"{res.se[j]:.4f}", f"{res.stat[j]:.4f}"] + ([f"{res.dfs:g}"] if t_test else [])
        cells += [_fmt_p(res.pval[j]), f"{res.ci_lb[j]:.4f}", f"{res.ci_ub[j]:.4f}"]
        rows.append((name, cells, _stars(res.pval[j])))
    widths = [max(len(h), *(len(r[1][i]) for r in rows)) for i, h in enumerate(header)]
    name_width = max(len(n) for n in names)
    out = [" " * name_width + "  " + "  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for name, cells, star in rows:
        out.append((name.ljust(name_width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)) + " " + star).rstrip())
    return out


def coef_table(names: Any, est: Any, se: Any, st: Any, pv: Any, lb: Any, ub: Any, dfs: int | None) -> list[str]:
    """metafor's coefficient table: ``estimate se zval pval ci_lb ci_ub`` (``tval df`` for t tests),
    stars; an intercept-only table without the row name, as metafor prints it."""
    header = ["estimate", "se", "tval" if dfs is not None else "zval"] + (["df"] if dfs is not None else [])
    header += ["pval", "ci_lb", "ci_ub"]
    rows = []
    for j, name in enumerate(names):
        cells = [f"{est[j]:.4f}", f"{se[j]:.4f}", f"{st[j]:.4f}"] + ([str(dfs)] if dfs is not None else [])
        cells += [_fmt_p(pv[j]), f"{lb[j]:.4f}", f"{ub[j]:.4f}"]
        rows.append((name, [c.replace("nan", "NA") for c in cells], _stars(pv[j])))
    widths = [max(len(h), *(len(r[1][i]) for r in rows)) for i, h in enumerate(header)]
    if list(names) == ["intrcpt"]:  # an intercept-only part: metafor prints the row without its name
        return ["  ".join(h.rjust(w) for h, w in zip(header, widths)),
                ("  ".join(c.rjust(w) for c, w in zip(rows[0][1], widths)) + "  " + rows[0][2]).rstrip()]
    nw = max(len(n) for n in names)
    out = [" " * nw + "  " + "  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for name, cells, star in rows:
        out.append((name.ljust(nw) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)) + "  " + star).rstrip())
    return out
