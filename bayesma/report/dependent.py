"""The report's words for a dependent-effects fit (CHE, multivariate across outcomes).

The model is named as fitted (``correlated and hierarchical effects (CHE), rho = 0.6``
or ``multivariate across outcomes, CS``) and its frequentist counterpart is
``rma_mv`` with the same ``V`` and structure (REML), with clubSandwich's CR2
cluster-robust interval of the mean(s) (``post.compare_frequentist()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from bayesma.report.tables import edit_results_paragraph, num

__all__ = ["dependent_fits", "model_words", "counterpart_sentence", "rho_sentence", "borrowing_table", "borrowing_sentence",
           "add_dependent_words", "check_means"]


def model_words(dep: Any) -> str:
    """The model as a reader names it: ``"correlated and hierarchical effects (CHE), rho = 0.6"``..."""
    how = f"rho = {dep.rho:g}" if dep.source == "rho" else {"V": "V given", "vi": "independent sampling errors"}[dep.source]
    if dep.multivariate:  # never a bare "rho": the model's rho is the correlation of the true effects across outcomes
        return f"multivariate across outcomes, {dep.struct}, {dep.sampling_words}"
    return f"correlated and hierarchical effects (CHE), {how}"


def dependent_fits(spec: Any) -> dict[str, Any]:
    """The report's frequentist fit of a dependent model: ``rma_mv`` (REML) with the same V and structure."""
    from bayesma.report.fits import fit_counterpart

    return {f"REML ({model_words(spec.dependence)})": fit_counterpart(spec, "REML")}


def counterpart_sentence(table: pd.DataFrame, dep: Any, mods: str | None = None) -> str:
    """One sentence: the REML estimate(s) of ``rma_mv`` with their Wald and CR2 intervals and tau.

    *table* is ``post.compare_frequentist()`` of the fit (95% intervals); *mods* the moderator formula
    both were given (named in the sentence).
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
    if mods is not None:
        random += f" and mods = {mods}"
    return (f"Its frequentist counterpart, rma_mv with the same V and random = {random} (restricted maximum "
            f"likelihood; CR2 intervals from clubSandwich's small-sample correction), gave {means}; {het}.")


def rho_sentence(summary: pd.DataFrame) -> str:
    """The posterior correlation(s) of a study's true effects across outcomes (``rho``, or ``rho[a,b]`` under
    ``struct="UN"``), median and 95% interval, as a sentence ending in a space; ``""`` for a model without one."""
    rows = [r for r in summary.index if r == "rho" or str(r).startswith("rho[")]
    parts = [f"{r} = {num(summary.loc[r, 'median'])}, 95% CrI [{num(summary.loc[r, 'eti_lower'])}, "
             f"{num(summary.loc[r, 'eti_upper'])}]" for r in rows]
    if not parts:
        return ""
    return f"The correlation of a study's true effects across outcomes was {'; '.join(parts)} (posterior median). "


def check_means(spec: Any) -> None:
    """An :class:`~bayesma.errors.UnsupportedModelError` for a multivariate model with moderators: it has
    coefficients, not a mean per outcome to compare with a fit of the outcome alone."""
    from bayesma.errors import UnsupportedModelError

    if spec.is_regression:
        raise UnsupportedModelError("borrowing compares each outcome's mean mu[<outcome>] with a fit of the outcome "
                                    "alone; a model with mods= has coefficients instead: fit it without mods=")


def borrowing_table(spec: Any, joint: pd.DataFrame, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`bayesma.models.dependence_report.borrowing` from the joint model's summary *joint* (``post.summary()`` of a fitted
    multivariate model with spec *spec*): each outcome (or those named in *outcomes*) alone is fitted
    with the exact engine and the same priors.

    Parameters
    ----------
    spec : DependentSpec
        The multivariate model's spec (``model.spec`` or ``post.spec``).
    joint : pandas.DataFrame
        Its posterior summary (rows ``mu[<outcome>]``).
    outcomes : sequence of str, optional
        The outcomes to compare (default: all).

    Returns
    -------
    pandas.DataFrame
        Rows per outcome; columns ``k``, ``joint_mean``, ``joint_lower``, ``joint_upper``,
        ``alone_mean``, ``alone_lower``, ``alone_upper``, ``shift_sd`` (joint minus alone, in
        sds of the separate fit), ``width_ratio`` (joint interval width / alone).

    Raises
    ------
    bayesma.errors.UnsupportedModelError
        For a model with moderators (no mean per outcome).

    Examples
    --------
    >>> borrowing_table(post.spec, post.summary())                   # doctest: +SKIP
    """
    from bayesma.exact import exact_posterior
    from bayesma.spec import build_spec

    check_means(spec)
    dep = spec.dependence
    rows = []
    for j, o in enumerate(dep.outcome_names):
        if outcomes is not None and o not in outcomes:
            continue
        sel = dep.outcome_index == j
        tau = spec.priors.get("tau", spec.priors.get(f"tau[{o}]"))
        alone_spec = build_spec(None, spec.yi[sel], spec.vi[sel], priors={"mu": spec.priors[f"mu[{o}]"], "tau": tau})
        alone = exact_posterior(alone_spec).summary(theta=False).loc["mu"]  # the outcome alone, exact
        jr = joint.loc[f"mu[{o}]"]
        rows.append({"outcome": o, "k": int(sel.sum()), "joint_mean": jr["mean"], "joint_lower": jr["eti_lower"],
                     "joint_upper": jr["eti_upper"], "alone_mean": alone["mean"], "alone_lower": alone["eti_lower"],
                     "alone_upper": alone["eti_upper"], "shift_sd": (jr["mean"] - alone["mean"]) / alone["sd"],
                     "width_ratio": (jr["eti_upper"] - jr["eti_lower"]) / (alone["eti_upper"] - alone["eti_lower"])})
    return pd.DataFrame(rows).set_index("outcome")


def borrowing_sentence(post: Any, small_k: int = 5) -> str:
    """For each outcome reported by fewer than *small_k* studies: its mean under the joint model beside
    a random-effects fit of that outcome alone (same priors), and how far it moved
    (:func:`borrowing_table`); ``""`` when no outcome is that small. A model with moderators has no
    mean per outcome: the small outcomes are named and the comparison is left to the model without them."""
    spec = post.spec
    dep = spec.dependence
    counts = pd.Series(dep.outcome_index).value_counts()
    small = [o for j, o in enumerate(dep.outcome_names) if counts.get(j, 0) < small_k]
    if not small:
        return ""
    if spec.is_regression:  # no mean per outcome to set beside a fit of the outcome alone
        named = ", ".join(f"{o!r} (k = {int(counts.get(j, 0))})" for j, o in enumerate(dep.outcome_names) if o in small)
        return (f"Outcome{'s' if len(small) > 1 else ''} {named} {'have' if len(small) > 1 else 'has'} fewer than "
                f"{small_k} studies: {'their' if len(small) > 1 else 'its'} coefficients lean on the other outcomes "
                "through the correlation rho (and on any coefficient the outcomes share), so they depend on its "
                "prior and on the structure. With moderators the model has no mean per outcome to set beside a "
                "fit of the outcome alone; the model without mods= makes that comparison.")
    tab = borrowing_table(spec, post.summary(), outcomes=small)
    parts = [f"outcome {o!r} (k = {int(r['k'])}) has mean {num(r['joint_mean'])} [{num(r['joint_lower'])}, "
             f"{num(r['joint_upper'])}] in the joint model and {num(r['alone_mean'])} [{num(r['alone_lower'])}, "
             f"{num(r['alone_upper'])}] fitted alone with the same priors (a shift of {r['shift_sd']:.2f} posterior "
             f"sd of the separate fit; interval {r['width_ratio']:.2f} times as wide)" for o, r in tab.iterrows()]
    return ("Borrowing strength: " + "; ".join(parts) + ". Outcomes with fewer than 5 studies lean on the "
            "others through the correlation rho, so they depend on its prior and on the structure.")


def add_dependent_words(text: str, post: Any) -> str:
    """*text* (the report) with the dependent model named and its ``rma_mv`` counterpart added.

    The first paragraph's model kind becomes the model's name (:func:`model_words`) and the
    counterpart's sentence (:func:`counterpart_sentence`) closes that paragraph; a multivariate model
    with an outcome of fewer than 5 studies gets a paragraph on its borrowing (:func:`borrowing_sentence`).
    """
    dep = post.spec.dependence
    table = post.compare_frequentist(level=0.95)
    mods = post.spec.mods if post.spec.is_regression and isinstance(post.spec.mods, str) else None
    return edit_results_paragraph(text, model=f"dependent-effects model ({model_words(dep)})",
                                  sentence=rho_sentence(post.summary(studies=False)) + counterpart_sentence(table, dep, mods),
                                  after=(borrowing_sentence(post) or "") if dep.multivariate else "")
