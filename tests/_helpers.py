"""Helpers shared by the tests (import them with ``from _helpers import ...``; fixtures live in conftest.py)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

#: the repository's root and its reference data (tests/data/reference/<tool>/, each JSON beside the
#: script that made it; see the README there)
ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = ROOT / "tests" / "data" / "reference"


def reference_dir() -> Path:
    """tests/data/reference inside the checkout."""
    return REFERENCE_DIR


def load_json(name: str) -> dict:
    """A reference file by its path under tests/data/reference, e.g. ``"metafor/metafor_cases.json"``."""
    with open(REFERENCE_DIR / name) as fh:
        return json.load(fh)


def load_cases() -> list[dict]:
    """The cases of metafor/metafor_cases.json."""
    return load_json("metafor/metafor_cases.json")["cases"]


def load_cases_v2() -> list[dict]:
    """The cases of metafor/metafor_cases_v2.json."""
    return load_json("metafor/metafor_cases_v2.json")["cases"]

#: draws of the NUTS smoke fits: enough for a mean within a few Monte Carlo standard errors,
#: small enough that the default engine runs in every plain ``pytest`` (each model structure is
#: compiled once and shared by every test through the session fixtures of conftest.py)
SMOKE = dict(draws=100, tune=100, chains=2)
#: priors of the smoke fits of the BCG log risk ratios (those of the brms reference)
SMOKE_PRIORS = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}


def quiet_fit(ma, **kwargs):
    """``ma.fit(**kwargs)`` without the SamplingWarning that 200 draws always raise (ESS < 400)."""
    from bayesma.results import SamplingWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return ma.fit(**kwargs)


# -- figures: every text readable ------------------------------------------------------------------


def _texts(fig) -> list:
    """The text artists drawn: visible, non-empty, and (tick labels) at a tick inside the view."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    FigureCanvasAgg(fig).draw()
    hidden = set()
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis, sorted(ax.get_ylim()))):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if axis.get_scale() == "log":
                    inside = loc > 0 and np.log(lo) - 1e-9 <= np.log(loc) <= np.log(hi) + 1e-9 if lo > 0 else loc <= hi
                else:
                    inside = lo - 1e-9 * (hi - lo) <= loc <= hi + 1e-9 * (hi - lo)
                if not inside:
                    hidden.update({id(tick.label1), id(tick.label2)})
    out = []
    for t in fig.findobj(Text):
        if id(t) in hidden or not t.get_visible() or not t.get_text().strip():
            continue
        out.append(t)
    return out


def assert_readable(fig, what: str) -> None:
    """No two drawn texts overlap (bounding boxes, 0.5 px tolerance) and all lie on the canvas."""
    texts = _texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    W, H = fig.bbox.width, fig.bbox.height
    for t, b in boxes:
        assert b.x0 >= -1 and b.y0 >= -1 and b.x1 <= W + 1 and b.y1 <= H + 1, \
            f"{what}: text {t.get_text()!r} leaves the figure ({b} in {W}x{H})"
    import numpy as np

    if len(boxes) < 2:
        return
    b = np.array([[bb.x0, bb.y0, bb.x1, bb.y1] for _t, bb in boxes])  # every pair at once
    dx = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    dy = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    hit = np.triu((dx > 0.5) & (dy > 0.5), k=1)
    if hit.any():
        i, j = (int(v[0]) for v in np.nonzero(hit))
        raise AssertionError(f"{what}: {boxes[i][0].get_text()!r} overlaps {boxes[j][0].get_text()!r}")


def run_cli(argv, capsys):
    """``bayesma <argv>`` in this process: (exit code, stdout, stderr)."""
    from bayesma.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fake_slow_compile(monkeypatch, smoke_post, seconds: float) -> list:
    """nutpie's compile replaced by a *seconds* sleep that hands over the smoke fit's compiled model; returns
    the list of entries it was asked to compile."""
    import time

    from bayesma.models import nuts_prepare

    source = smoke_post._cache_entry
    calls: list = []

    def fake(entry):
        calls.append(entry)
        assert entry.handles.key == source.handles.key, "the fake compile serves the smoke fit's structure only"
        time.sleep(seconds)
        entry.nutpie_compiled, entry.compile_path = source.nutpie_compiled, "cached"

    monkeypatch.setattr(nuts_prepare, "_compile_nutpie", fake)
    return calls


def bias_data(k: int = 11, seed: int = 5):
    """k studies for publication-bias models: yi ~ N(0.25, vi + 0.03), a moderator x, and two studies whose
    p-values fall in every interval of the weight functions, both tails."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.09, k)
    out = pd.DataFrame({"yi": rng.normal(0.25, np.sqrt(vi + 0.03)), "vi": vi, "x": rng.normal(size=k)})
    out.loc[0, "yi"], out.loc[1, "yi"] = -0.4, 0.9
    return out
