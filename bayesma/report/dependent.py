"""The report's words for a dependent-effects fit (CHE, multivariate across outcomes).

The model is named as fitted (``correlated and hierarchical effects (CHE), rho = 0.6``
or ``multivariate across outcomes, CS``) and its frequentist counterpart is
``rma_mv`` with the same ``V`` and structure (REML), with clubSandwich's CR2
cluster-robust interval of the mean(s) (``post.compare_frequentist()``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bayesma.report.tables import num

__all__ = ["dependent_fits", "model_words", "counterpart_sentence", "add_dependent_words"]


def model_words(dep: Any) -> str:
    """The model as a reader names it: ``"correlated and hierarchical effects (CHE), rho = 0.6"``..."""
    if dep.multivariate:
        return f"multivariate across outcomes, {dep.struct}"
    how = {"rho": f"rho = {dep.rho:g}", "V": "V given", "vi": "independent sampling errors"}[dep.source]
    return f"correlated and hierarchical effects (CHE), {how}"


def dependent_fits(spec: Any) -> dict[str, Any]:
    """The report's frequentist fit of a dependent model: ``rma_mv`` (REML) with the same V and structure."""
    from bayesma.report.fits import fit_counterpart

    return {f"REML ({model_words(spec.dependence)})": fit_counterpart(spec, "REML")}


def counterpart_sentence(table: pd.DataFrame, dep: Any) -> str:
    """One sentence: the REML estimate(s) of ``rma_mv`` with their Wald and CR2 intervals and tau.

    *table* is ``post.compare_frequentist()`` of the fit (95% intervals).
    """
    reml, cr2 = table.loc["REML"], table.loc["REML+CR2"]
    means = "; ".join(
        f"{name} = {num(reml.loc[name, 'estimate'])}, 95% CI [{num(reml.loc[name, 'ci_lb'])}, "
        f"{num(reml.loc[name, 'ci_ub'])}] (CR2 cluster-robust [{num(cr2.loc[name, 'ci_lb'])}, "
        f"{num(cr2.loc[name, 'ci_ub'])}])" for name in reml.index)
    first = reml.iloc[0]
    if dep.multivariate:
        random, het = "~ outcome | cluster, struct = " + repr(dep.struct), (
            f"tau = {num(first['tau'])}, rho = {num(first['rho'])}")
    else:
        random, het = "~ 1 | cluster/obs", f"tau = {num(first['tau'])}, tau_within = {num(first['tau_within'])}"
    return (f"Its frequentist counterpart, rma_mv with the same V and random = {random} (restricted maximum "
            f"likelihood; CR2 intervals from clubSandwich's small-sample correction), gave {means}; {het}.")


def add_dependent_words(text: str, post: Any) -> str:
    """*text* (the report) with the dependent model named and its ``rma_mv`` counterpart added.

    The first paragraph's model kind becomes the model's name (:func:`model_words`) and the
    counterpart's sentence (:func:`counterpart_sentence`) closes that paragraph.
    """
    dep = post.spec.dependence
    table = post.compare_frequentist(level=0.95)
    paras = text.split("\n\n")
    for i, para in enumerate(paras):
        if para.startswith("We meta-analysed"):
            head, sep, rest = para.partition(" fitted with ")
            cut = head.rfind("a Bayesian ")
            if sep and cut >= 0:
                head = head[:cut] + f"a Bayesian dependent-effects model ({model_words(dep)})"
            paras[i] = head + sep + rest + " " + counterpart_sentence(table, dep)
            break
    return "\n\n".join(paras)
