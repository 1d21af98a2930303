"""Report words for the model families the random-effects paragraph does not describe: a
location-scale model (``scale=``), Student-t random effects and the publication-bias models
(selection model, PET, PEESE). The first paragraph names the model that was fitted, and what
the pooled effect means in it; before, each was reported as "a Bayesian random-effects
meta-analysis", a sentence describing another model."""

from __future__ import annotations

from typing import Any

from bayesma.report.tables import edit_results_paragraph

__all__ = ["model_words", "add_family_words"]


def _bias_words(bias: Any) -> tuple[str, str]:
    from bayesma.bias.components import PEESE, PET, WeightFunction

    if isinstance(bias, WeightFunction):
        side = "two-sided" if bias.sides == "two" else "one-sided"
        steps = ", ".join(f"{s:g}".lstrip("0") for s in bias.steps)
        return (f"selection model (random effects with a {side} step weight function of the p-values, "
                f"steps at p = {steps})",
                "The pooled effect is the mean of the true effects corrected for the estimated selection of "
                "studies by their p-values.")
    name = "PET" if isinstance(bias, PET) else "PEESE" if isinstance(bias, PEESE) else None
    if name is None:  # pragma: no cover - with_bias admits only these three
        return "random-effects model with a publication-bias component", ""
    on = "standard error" if name == "PET" else "sampling variance"
    return (f"{name} model (random effects with the effects regressed on their {on})",
            f"The pooled effect is {name}'s intercept: the expected effect of a study with {on} zero, "
            "corrected for small-study effects.")


def model_words(spec: Any) -> tuple[str, str] | None:
    """``(model, sentence)`` for the report's first paragraph, or None for a model the random-effects
    paragraph already describes."""
    bias = getattr(spec, "bias", None)
    if bias is not None:
        return _bias_words(bias)
    if getattr(spec, "Z", None) is not None:
        names = [n for n in spec.scale_names if n != "intrcpt"]
        by = f" by {', '.join(names)}" if names else ""
        return (f"location-scale model (random effects with log tau{by}: the heterogeneity differs "
                "between studies, tau[study] below)", "")
    if getattr(spec, "likelihood", "normal") == "student_t":
        return ("random-effects meta-analysis with Student-t random effects (heavy tails; degrees of freedom nu "
                "estimated)", "")
    return None


def add_family_words(text: str, post: Any) -> str:
    """*text* (the report) with the fitted model named when :func:`model_words` knows it."""
    words = model_words(post.spec)
    if words is None:
        return text
    model, sentence = words
    return edit_results_paragraph(text, model=model, sentence=sentence)
