"""The one door from results to figures: ``draw("funnel_plot", res, ...)``.

Result objects of the computing packages (``frequentist/``, ...) offer plot methods
(``res.funnel()``, ``influence(res).plot()``, ``selmodel(...).plot()``) without depending on
:mod:`bayesma.plots`: their methods call :func:`draw` with the name of a plotting function,
which imports :mod:`bayesma.plots` (and matplotlib) on first use, as pandas'
``DataFrame.plot`` reaches its plotting backend. The plotting functions take the result
object (duck-typed) or arrays, and never import back. ``tests/test_architecture.py``
checks that this module is the only way from ``frequentist/`` to ``plots/``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["draw"]


def draw(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``bayesma.plots.<name>(*args, **kwargs)`` and return its matplotlib Figure."""
    plots = importlib.import_module("bayesma.plots")
    try:
        fn = getattr(plots, name)
    except AttributeError:  # a bug, not a user error
        raise AttributeError(f"bayesma.plots has no plotting function {name!r}") from None
    return fn(*args, **kwargs)
