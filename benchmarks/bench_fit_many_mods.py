"""fit_many with moderators (one meta-regression per group) on the exact engine.

Run: ``python benchmarks/bench_fit_many_mods.py [--sizes 2000 20000]``. Prints one table: seconds for
``fit_many(..., mods=...)`` on simulated meta-analyses with the CDSR-like spread of k of
``bench_fit_many.py`` (k 2-100, half with k <= 4), log odds ratios, ``measure="OR"`` default priors;
one continuous moderator (``"~ x"``) and one categorical with two levels (``"~ arm"``, a text column),
and the path each group took (``settings["n_vectorised"]`` / ``["n_single"]`` and ``why_single``).
A group with k <= p (a meta-regression with no residual degree of freedom is still fitted, but k = 2
with ``~ x`` leaves none) or a moderator constant within it is fitted as when alone (see
docs/performance.rst). Times are wall-clock seconds of one run, with the load average at the start.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fit_many import simulated_database  # noqa: E402


def with_moderators(db: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    """*db* with a continuous moderator ``x`` and a two-level text moderator ``arm`` per effect."""
    rng = np.random.default_rng(seed)
    out = db.copy()
    out["x"] = rng.normal(0.0, 1.0, len(db))
    out["arm"] = np.where(rng.random(len(db)) < 0.5, "drug", "placebo")
    out["yi"] = out["yi"] + 0.1 * out["x"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000])
    parser.add_argument("--mods", nargs="+", default=["~ x", "~ arm"])
    args = parser.parse_args()
    print(f"# bench_fit_many_mods.py, {datetime.datetime.now():%Y-%m-%d %H:%M}; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {{:.1f}} {{:.1f}} {{:.1f}}".format(*os.getloadavg()))
    import bayesma as bm

    warnings.simplefilter("ignore")
    rows = []
    for n in args.sizes:
        db = with_moderators(simulated_database(n))
        for mods in args.mods:
            t0 = time.perf_counter()
            many = bm.fit_many(db, by="review", measure="OR", mods=mods, progress=False)
            secs = time.perf_counter() - t0
            s = many.settings
            why = f" ({s['why_single']})" if s["n_single"] and s.get("why_single") else ""
            rows.append((f"fit_many exact, mods={mods!r}", f"{n:,}", f"{secs:.1f}", f"{1e3 * secs / n:.2f}",
                         f"{s['n_vectorised']:,} vectorised, {s['n_single']:,} one by one{why}; "
                         f"{len(many.errors):,} errors"))
    table = pd.DataFrame(rows, columns=["what", "groups", "seconds", "ms/group", "path"])
    with pd.option_context("display.max_colwidth", 160, "display.width", 250):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
