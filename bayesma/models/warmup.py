"""Compile the common model families once, so that later processes start sampling at once.

A NUTS fit compiles its model family the first time it meets it (10-20 s on a small machine);
the compiled callbacks are kept on disk (:mod:`bayesma.models.compile`), so every later process
loads them. :func:`warmup` pays that cost up front (``bayesma warmup`` on the command line):
it fits each family once, with tiny draws, on made-up data of 3 to 64 studies (one compiled
model serves that whole range, :func:`bayesma.models.build.padded_sizes`) and the default priors,
and draws from the prior (whose sampler PyTensor compiles and caches on disk too).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bayesma.errors import InputError

__all__ = ["FAMILIES", "DEFAULT_FAMILIES", "warmup"]


def _data(k: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    vi = rng.uniform(0.02, 0.1, k)
    return {"yi": rng.normal(0.3, np.sqrt(vi + 0.04)), "vi": vi, "x": rng.normal(size=k),
            "g": np.repeat(["a", "b"], k // 2)}


def _model(**kwargs: Any) -> Callable[[], Any]:
    def make():
        import pandas as pd

        from bayesma.models import MetaAnalysis

        return MetaAnalysis(pd.DataFrame(_data()), **kwargs)

    return make


def _bias() -> Any:
    from bayesma.bias import WeightFunction

    return WeightFunction((0.025,))


#: The families :func:`warmup` knows, by name: a function making a MetaAnalysis of each.
FAMILIES: dict[str, Callable[[], Any]] = {
    "random effects": _model(),
    "meta-regression": _model(mods="~ x"),
    "common effect": _model(model="common"),
    "student-t": _model(likelihood="student_t"),
    "subgroup tau": _model(tau_by="g"),
    "selection model": lambda: _model(bias=_bias())(),
}
#: What ``warmup()`` compiles by default: the families most fits use.
DEFAULT_FAMILIES = ("random effects", "meta-regression")


def warmup(families: Sequence[str] | None = None, *, say: Callable[[str], None] | None = None,
           progressbar: bool | None = None) -> dict[str, dict]:
    """Fit each family once (1 chain, 20 draws) so that its compiled model is on disk.

    Parameters
    ----------
    families : sequence of str, optional
        Names from :data:`FAMILIES` (default :data:`DEFAULT_FAMILIES`; ``"all"`` for all).
    say : callable, optional
        Called with one line per family (e.g. ``print``): its name, seconds and whether it
        was compiled now.
    progressbar : bool, optional
        While a family compiles, show its name and the seconds elapsed on stderr
        (:func:`bayesma._progress.elapsed`: redrawn in place on a terminal, a line every 10 s
        in a log), erased when *say* reports the family and otherwise ending with ``done in
        12.3 s``. ``None``: when stderr is a terminal or in Jupyter; ``False``: nothing.

    Returns
    -------
    dict
        Per family: ``seconds`` and ``compiled`` (False when it was already cached in this
        process) and ``compile_path``.

    Raises
    ------
    ValueError
        For an unknown family name.

    Examples
    --------
    >>> from bayesma.models.warmup import warmup
    >>> warmup(["random effects"], say=print)          # doctest: +SKIP
    random effects: 3.1 s (compiled, cached)
    """
    names = list(DEFAULT_FAMILIES if families is None else (FAMILIES if list(families) == ["all"] else families))
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise InputError(f"unknown model families {unknown}; choose from {list(FAMILIES)} or 'all'")
    from bayesma._progress import elapsed
    from bayesma.models.compile import show_progress

    show = show_progress(progressbar)
    out: dict[str, dict] = {}
    for name in names:
        t0 = time.perf_counter()
        with elapsed(name, show, done=None if say is not None else "done in {seconds:.1f} s",
                     still="still compiling"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = FAMILIES[name]().fit(engine="nuts", draws=20, tune=20, chains=1, seed=1, progressbar=False,
                                        warn=False, prior_draws=10)
            post.idata.groups()  # makes the prior draws: their sampler is compiled too (and cached by PyTensor)
        info = post.fit_info
        out[name] = {"seconds": time.perf_counter() - t0, "compiled": bool(info.get("compiled")),
                     "compile_path": info.get("compile_path")}
        if say is not None:
            state = {"cached": "compiled and cached", "loaded from disk": "already cached"}.get(
                out[name]["compile_path"], out[name]["compile_path"]) if out[name]["compiled"] else "already compiled"
            say(f"{name}: {out[name]['seconds']:.1f} s ({state})")
    return out
