"""Looking up one quantity of a posterior by name, and the printout (shared by MetaPosterior's methods)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bayesma.posterior.names import canonical_name, split_name
from bayesma.priors import describe

from .influence import influence_lines

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
    keep = [r for r in s.index if not r.startswith("theta[")]
    cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
    if post.source.needs_diagnostics:
        cols += ["r_hat", "ess_bulk"]
    table = s.loc[keep, cols].to_string(float_format=lambda v: f"{v:.4g}")
    return "\n".join([
        head,
        post.spec.describe(),
        "priors:",
        describe(post.spec.priors),
        table,
        f"({post.spec.k} study effects theta[...] in .summary())",
        *influence_lines(post),
        f"diagnostics: {post.diagnostics().line()}",
    ])
