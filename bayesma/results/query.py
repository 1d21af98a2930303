"""Looking up one quantity of a posterior by name, and the printout (shared by MetaPosterior's methods)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from bayesma.priors import describe

from .influence import influence_lines

__all__ = ["SIMPLE_STATEMENT", "canonical_name", "exact_names", "split_name", "values_of", "posterior_repr"]

#: ``<name> <op> <number>``: a statement about one quantity (exact for engine="exact")
SIMPLE_STATEMENT = re.compile(r"\s*([A-Za-z_]\w*(?:\[[^\]]*\])?)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*")


def exact_names(post: Any) -> set[str]:
    """The names the exact posterior of *post* answers for (empty for NUTS)."""
    ep = post.exact
    if ep is None:
        return set()
    names = {"pooled", *ep.tau_names, *(f"theta[{lab}]" for lab in post.spec.labels)}
    names |= {"mu"} if not post.spec.is_regression else {f"beta[{c}]" for c in post.spec.coef_names}
    names.add("theta_new")  # with tau_by: a new study of either subgroup (the equal mixture)
    if ep.kind == "tau_by":
        names |= {"tau", *(f"theta_new[{g}]" for g in post.spec.group_names)}
    return names


def canonical_name(post: Any, name: str) -> str:
    """The summary row a name stands for: ``"mu"`` of a meta-regression with an intercept is
    ``"beta[intrcpt]"`` (as :meth:`MetaPosterior.draws` reads it); other names unchanged."""
    spec = post.spec
    if name == "mu" and spec.is_regression and "intrcpt" in list(spec.coef_names):
        return "beta[intrcpt]"
    return name


def split_name(name: str) -> tuple[str, str | None]:
    """``"beta[a b]"`` -> ("beta", "a b"): the label between the first "[" and the final "]", verbatim."""
    if name.endswith("]") and "[" in name:
        i = name.index("[")
        return name[:i], name[i + 1:-1]
    return name, None


def values_of(post: Any, name: str) -> np.ndarray:
    """Draws of one quantity named as in the summary (``"pooled"``: x_new' beta)."""
    if name == "pooled":
        if "beta" in post.idata.posterior:
            return post.draws("beta") @ np.asarray(post.spec.x_new, dtype=float)
        return post.draws("mu")
    return post.draws(*split_name(name))


def posterior_repr(post: Any) -> str:
    """The printout of a posterior: fit, model, priors, summary, prior notes, diagnostics."""
    info = post.fit_info
    head = f"MetaPosterior ({post.engine}"
    if info.get("sampler"):
        head += f", {info['sampler']}"
    p = post.idata.posterior
    head += f": {p.sizes['chain']} chains x {p.sizes['draw']} draws"
    if post.fit_seconds is not None:
        head += f", {post.fit_seconds:.2f} s"
    head += ")"
    s = post.summary()
    keep = [r for r in s.index if not r.startswith("theta[")]
    cols = ["mean", "sd", "median", "eti_lower", "eti_upper"]
    if post.exact_summary is None:
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
