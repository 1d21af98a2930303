"""metafor's printout of an ``rma.glmm`` fit (``print.rma.glmm``, metafor 3.8-1), for :class:`GLMMResult`."""

from __future__ import annotations

from typing import Any

import numpy as np

from bayesma.frequentist._printing import _btt_text, _p_text, coef_table

__all__ = ["format_glmm", "MODEL_TEXT"]

MODEL_TEXT = {
    "UM.FS": "Unconditional Model with Fixed Study Effects",
    "UM.RS": "Unconditional Model with Random Study Effects",
    "CM.EL": "Conditional Model with Exact Likelihood",
    "CM.AL": "Conditional Model with Approximate Likelihood",
}
_SIGNIF = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def _var(x: float) -> str:
    """A variance component as metafor prints it: 4 decimals, a plain 0 where it is 0."""
    return "0" if abs(x) <= 10 * np.finfo(float).eps else f"{x:.4f}"


def _aligned(pairs: list[tuple[str, str]]) -> list[str]:
    width = max(len(label) for label, _ in pairs)
    return [f"{label.ljust(width)} {value}" for label, value in pairs]


def _heterogeneity(res: Any) -> list[str]:
    resid = res.p > 1
    se = f" (SE = {res.se_tau2:.4f})" if np.isfinite(res.se_tau2) else ""
    if resid:
        pairs = [("tau^2 (estimated amount of residual heterogeneity):", _var(res.tau2) + se),
                 ("tau (square root of estimated tau^2 value):", _var(np.sqrt(res.tau2))),
                 ("I^2 (residual heterogeneity / unaccounted variability):", f"{res.I2:.4f}%"),
                 ("H^2 (unaccounted variability / sampling variability):", f"{res.H2:.4f}")]
    else:
        pairs = [("tau^2 (estimated amount of total heterogeneity):", _var(res.tau2) + se),
                 ("tau (square root of estimated tau^2 value):", _var(np.sqrt(res.tau2))),
                 ("I^2 (total heterogeneity / total variability):", f"{res.I2:.4f}%"),
                 ("H^2 (total variability / sampling variability):", f"{res.H2:.4f}")]
    lines = _aligned(pairs) + [""]
    if np.isfinite(res.sigma2):
        lines += _aligned([("sigma^2 (estimated amount of study level variability):", _var(res.sigma2)),
                           ("sigma (square root of estimated sigma^2 value):", _var(np.sqrt(res.sigma2)))])
        if np.isfinite(res.rho):
            lines.append(f"rho (correlation of the study level and the {res.measure} random effects): {res.rho:.4f}")
        lines.append("")
    return lines


def format_glmm(res: Any) -> str:
    """The printout of a GLMM fit, line for line metafor 3.8-1's (``print.rma.glmm``), with the studies
    left out (metafor warns about them instead) in a last line."""
    re = res.method == "ML"
    if re:
        head = f"{'Random-Effects Model' if res.p == 1 else 'Mixed-Effects Model'} (k = {res.k}; tau^2 estimator: ML)"
    else:
        head = f"{'Fixed-Effects Model' if res.p == 1 else 'Fixed-Effects with Moderators Model'} (k = {res.k})"
    lines = [head]
    if res.measure in ("OR", "RR", "IRR"):
        lines.append(f"Model Type: {MODEL_TEXT[res.model]}")
    lines.append("")
    if re:
        lines += _heterogeneity(res)
    df = int(res.QE_df) if np.isfinite(res.QE_df) else "NA"
    lines += ["Tests for Residual Heterogeneity:" if res.p > 1 else "Tests for Heterogeneity:",
              f"Wld(df = {df}) = {res.QE_Wld:.4f}, p-val {_p_text(res.QEp_Wld)}",
              f"LRT(df = {df}) = {res.QE_LRT:.4f}, p-val {_p_text(res.QEp_LRT)}", ""]
    if res.p > 1:
        stat = f"F(df1 = {res.QMdf[0]}, df2 = {res.QMdf[1]})" if res.test == "t" else f"QM(df = {res.QMdf[0]})"
        lines += [f"Test of Moderators ({_btt_text([int(b) for b in res.btt])}):",
                  f"{stat} = {res.QM:.4f}, p-val {_p_text(res.QMp)}", ""]
    lines += ["Model Results:", ""]
    lines += coef_table(res.coef_names, res.beta, res.se, res.zval, res.pval, res.ci_lb, res.ci_ub,
                        res.dfs if res.test == "t" else None)
    lines += ["", "---", _SIGNIF]
    if res.dropped:
        lines += ["", "Left out of the fit: " + ", ".join(res.dropped)]
    return "\n".join(lines)
