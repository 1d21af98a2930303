"""Compilations of NUTS models across k, and where the first fit's time goes.

Two tables, every measurement in a fresh Python process:

1. **Across k** (issue 15): one random-effects family (Normal(0, 1) on mu,
   HalfNormal(0.5) on tau), fitted at k = 3, 7, 20, 55 and 100 (2 chains x 500
   draws after 500 tuning steps). ``before``: ``pad=False``, one compiled model per
   k (the behaviour before padding); ``after``: ``pad=True`` (default), the study
   dimension padded to its bucket (64, 128, ...), so k = 3 ... 55 share one compiled
   model and k = 100 compiles the second bucket. Columns: nutpie compilations,
   seconds of the first and of the later fits, total seconds.

2. **First fit in a fresh process**, split into import, model building, nutpie's
   compilation (PyTensor graph rewrites and function creation vs numba's compilation
   of the two C callbacks) and sampling. Run twice in a row: the second process
   reads PyTensor's on-disk caches (``pytensor.config.compiledir``: numba-compiled
   Ops, ``numba__cache=True``, and the C modules of PyMC's sampler). Also PyMC's
   own NUTS (``sampler="pymc"``, PyTensor's C backend, cached C modules). ``rest``:
   model building, sampling, prior draws (their compilation included).

Run:  python benchmarks/bench_nuts_compile.py [--quick]
(``--quick``: k = 3, 7, 20, 55 only and one first-fit run per sampler.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

ACROSS_K = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import bayesma as bm
    from bayesma.models.nuts import ModelCache
    pad, ks = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    cache = ModelCache()
    rng = np.random.default_rng(1)
    out = []
    for k in ks:
        ma = bm.MetaAnalysis(yi=rng.normal(0.3, 0.3, k), vi=rng.uniform(0.01, 0.1, k),
                             priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
        ma._pymc_cache = cache
        t0 = time.perf_counter()
        post = ma.fit(draws=500, tune=500, chains=2, seed=1, warn=False, pad=pad)
        out.append([k, time.perf_counter() - t0, bool(post.fit_info["compiled"])])
    compiles = sum(cache[key].compiles["nutpie"] for key in list(cache._entries))
    print(json.dumps({"fits": out, "compiles": compiles}))
    """
)

FIRST_FIT = textwrap.dedent(
    """
    import json, sys, time, warnings
    t0 = time.perf_counter()
    warnings.simplefilter("ignore")
    import numpy as np
    import bayesma as bm
    import pymc, pytensor
    sampler = sys.argv[1]
    t_import = time.perf_counter() - t0
    timings = {"pytensor_functions": 0.0, "numba_cfuncs": 0.0}
    if sampler == "nutpie":
        import nutpie.compile_pymc as cp
        import numba
        make, cfunc = cp._make_functions, numba.cfunc
        def timed_make(*a, **kw):
            t = time.perf_counter()
            try:
                return make(*a, **kw)
            finally:
                timings["pytensor_functions"] += time.perf_counter() - t
        def timed_cfunc(*a, **kw):
            wrap = cfunc(*a, **kw)
            def inner(fn):
                t = time.perf_counter()
                try:
                    return wrap(fn)
                finally:
                    timings["numba_cfuncs"] += time.perf_counter() - t
            return inner
        cp._make_functions, numba.cfunc = timed_make, timed_cfunc
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    ma = bm.MetaAnalysis(dat, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    t0 = time.perf_counter()
    post = ma.fit(draws=1000, tune=1000, chains=2, seed=1, warn=False, sampler=sampler)
    t_fit = time.perf_counter() - t0
    print(json.dumps({"import": t_import, "fit": t_fit, **timings}))
    """
)


def _child(code: str, *args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def across_k(ks: list[int]) -> None:
    print(f"\n1. one family across k = {', '.join(map(str, ks))} (nutpie; seconds, fresh process each)")
    print(f"{'':8s} {'compilations':>12s} {'first fit':>10s} {'later fits (each)':>18s} {'total':>8s}")
    for label, pad in (("before", False), ("after", True)):
        r = _child(ACROSS_K, json.dumps(pad), json.dumps(ks))
        times = [t for _, t, _ in r["fits"]]
        later = " ".join(f"{t:.1f}" for t in times[1:])
        print(f"{label:8s} {r['compiles']:12d} {times[0]:10.1f} {later:>18s} {sum(times):8.1f}")


def first_fit(runs: int) -> None:
    print("\n2. first NUTS fit in a fresh process (bcg, 2 chains x 1000 draws; seconds)")
    print(f"{'sampler':8s} {'run':>3s} {'import':>7s} {'fit':>7s} {'PyTensor fns':>12s} {'numba cfuncs':>12s} {'rest':>6s}")
    for sampler in ("nutpie", "pymc"):
        for run in range(1, runs + 1):
            r = _child(FIRST_FIT, sampler)
            nut = sampler == "nutpie"
            pt_fn = f"{r['pytensor_functions']:.1f}" if nut else "-"
            nb = f"{r['numba_cfuncs']:.1f}" if nut else "-"
            rest = f"{r['fit'] - r['pytensor_functions'] - r['numba_cfuncs']:.1f}" if nut else "-"
            print(f"{sampler:8s} {run:3d} {r['import']:7.1f} {r['fit']:7.1f} {pt_fn:>12s} {nb:>12s} {rest:>6s}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    across_k([3, 7, 20, 55] if quick else [3, 7, 20, 55, 100])
    first_fit(1 if quick else 2)
