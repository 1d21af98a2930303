"""Looking up one quantity of a posterior by name, and the printout (shared by MetaPosterior's methods)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bayesma._format import frame_text, wrap_text
from bayesma.posterior.names import canonical_name, split_name
from bayesma.priors import describe

from .influence import influence_lines
from .levels import NO_THETA_NEW_MV, NOT_PER_LEVEL, cells_of, has_categorical

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.posterior.view import FitView

__all__ = ["SIMPLE_STATEMENT", "canonical_name", "split_name", "posterior_repr"]

#: ``<name> <op> <number>``: a statement about one quantity (exact for engine="exact")
SIMPLE_STATEMENT = re.compile(r"\s*([A-Za-z_]\w*(?:\[[^\]]*\])?)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")


def posterior_repr(post: FitView) -> str:
    """The printout of a posterior: fit, model, priors, summary, prior notes, diagnostics."""
    info = post.fit_info
    head = f"MetaPosterior ({post.engine}"
    if info.get("sampler"):
        head += f", {info['sampler']}"
    p = post.posterior
    head += f": {p.sizes['chain']} chains x {p.sizes['draw']} draws"
    if post.fit_seconds is not None:
        head += f", {post.fit_seconds:.2f} s"
    head += ")"
    s = post.summary()
    mixed = has_categorical(post.spec)  # theta_new at the mean moderators would mix the levels
    keep = [r for r in s.index if not r.startswith("theta[") and not (mixed and r.startswith("theta_new"))]
    cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
    if post.source.needs_diagnostics:
        cols += ["r_hat", "ess_bulk"]
    shown = s.loc[keep, cols].copy()
    if "ess_bulk" in shown.columns:  # a number of draws: a count
        shown["ess_bulk"] = shown["ess_bulk"].round().astype("Int64")
    # 4 decimals in every column, as the command line prints the same summary (not .4g: -0.4 beside 0.07252)
    table = frame_text(shown, digits=4)
    return wrap_text("\n".join([  # prose wrapped at 100 columns (the tables fit them already)
        head,
        post.spec.describe(),
        "priors:",
        describe(post.spec.priors),
        table,
        *(_level_lines(post) if mixed or getattr(getattr(post.spec, "dependence", None), "multivariate", False)
          and post.spec.is_regression else []),
        f"({post.spec.k} study effects theta[...] in .summary())",
        *influence_lines(post),
        f"diagnostics: {post.diagnostics().line()}",
    ]), indent="    ")


def _level_lines(post: FitView) -> list[str]:
    """The mean effect and a new study's 95% interval per level of the categorical moderators."""
    dep = getattr(post.spec, "dependence", None)
    if dep is not None and dep.multivariate:  # theta_new[<outcome>] is not defined with moderators
        return [f"({NO_THETA_NEW_MV})"]
    if cells_of(post.spec) is None:
        return [f"({NOT_PER_LEVEL})"]
    try:
        table = post.level_predictions()  # type: ignore[attr-defined]
    except ValueError as err:  # tau_by / scale=: no single between-study SD
        return [f"(no predictions per level: {err})"]
    lines = ["per level (posterior median [95% CrI] of the mean; 95% interval of a new study):"]
    width = max(len(str(i)) for i in table.index)
    for name, r in table.iterrows():
        lines.append(f"  {str(name):{width}s}  k = {int(r['k']):<4d} {r['median']:.4f} [{r['eti_lower']:.4f}, "
                     f"{r['eti_upper']:.4f}]; new study [{r['pi_lower']:.4f}, {r['pi_upper']:.4f}]")
    return lines
