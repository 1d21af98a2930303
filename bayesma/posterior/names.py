"""How a quantity is named: summary rows (``"beta[a b]"``), split into variable and label."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bayesma.spec import ModelSpec

__all__ = ["canonical_name", "split_name"]


def canonical_name(spec: ModelSpec, name: str) -> str:
    """The summary row a name stands for: ``"mu"`` of a meta-regression with an intercept is
    ``"beta[intrcpt]"`` (as the draws read it); other names unchanged."""
    if name == "mu" and spec.is_regression and "intrcpt" in list(spec.coef_names):
        return "beta[intrcpt]"
    return name


def split_name(name: str) -> tuple[str, str | None]:
    """``"beta[a b]"`` -> ("beta", "a b"): the label between the first "[" and the final "]", verbatim."""
    if name.endswith("]") and "[" in name:
        i = name.index("[")
        return name[:i], name[i + 1:-1]
    return name, None
