"""Cold-cache compilation of each NUTS model family: CPU seconds, and gradient evaluations per second.

Every family runs in a fresh Python process with an empty PyTensor compile directory
(``PYTENSOR_FLAGS=base_compiledir=<new temporary directory>``), so nothing is loaded from a
cache: the figures are what a new user pays on the first fit of each family. Columns (CPU
seconds of the process, ``resource.getrusage``: the machine is shared, wall time is inflated):

``build``    building the PyMC model (``ModelCache.get``);
``pytensor`` the PyTensor functions of the log density + gradient and of the expanded draw
             (graph rewrites, function creation, numba source generation);
``numba``    numba's compilation of those functions and of nutpie's two C callbacks;
``init``     PyMC's initial-point function (PyTensor's C backend; gcc with an empty cache);
``compile``  ``pytensor + numba + init`` (the whole first compile, what ``fit_info["compile_seconds"]``
             measures in wall time);
``warm``     CPU seconds of the same compile in a second fresh process that reuses the directory;
``grad/s``   log density + gradient evaluations per second through the compiled C callback
             (called through ctypes, as nutpie calls it; median of 5 batches);
``n_dim``    number of unconstrained parameters.

Run:  python benchmarks/bench_compile_families.py [--families NAME,...] [--no-warm]
(names: see ``FAMILIES`` below; default all).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

from _gradient_rate import child_env

FAMILIES = ["random effects", "meta-regression", "CHE", "CS", "HCS", "UN", "binomial", "location-scale",
            "selection model"]

CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    from _gradient_rate import cpu, gradient_rate

    import numpy as np
    import pandas as pd
    import bayesma as bm
    from bayesma.models import compile as mc
    from bayesma.models.nuts import ModelCache
    import pymc, nutpie  # noqa: F401  (imports are not part of the compile)

    family = sys.argv[1]
    ref = json.loads(open(sys.argv[2]).read())
    cases = {c["name"]: c for c in ref["cases"]}
    rng = np.random.default_rng(21)
    k = 21
    vi = rng.uniform(0.02, 0.12, k)
    df = pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + 0.04)), "vi": vi, "x": rng.normal(size=k)})
    pri = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}

    def berkey(struct):
        inp = dict(cases["berkey1998_CS"]["input"])
        V = np.array(inp.pop("V"))
        rho = bm.priors.LKJ(1.0) if struct == "UN" else bm.priors.Uniform(0, 1)
        return bm.MetaAnalysis(pd.DataFrame(inp), yi="yi", V=V, cluster="trial", outcome="outcome", struct=struct,
                               priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "rho": rho})

    def make():
        if family == "random effects":
            return bm.MetaAnalysis(df, priors=pri)
        if family == "meta-regression":
            return bm.MetaAnalysis(df, mods="~ x", priors={**pri, "beta": "normal(0, 1)"})
        if family == "CHE":
            dat = pd.DataFrame(cases["assink2016_che_rho06"]["input"])
            return bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6,
                                   priors={**pri, "tau_within": "halfnormal(0.5)"})
        if family in ("CS", "HCS", "UN"):
            return berkey(family)
        if family == "binomial":
            dat = bm.load_dataset("dat.bcg")
            return bm.MetaAnalysis(dat, ai="tpos", bi="tneg", ci="cpos", di="cneg", measure="OR",
                                   likelihood="binomial")
        if family == "location-scale":
            dat = bm.load_dataset("dat.bangertdrowns2004")
            dat["logni"] = np.log(dat["ni"])
            return bm.MetaAnalysis(dat, scale="~ logni", measure="SMD")
        if family == "selection model":
            return bm.MetaAnalysis(df, priors=pri, bias=bm.WeightFunction((0.025,)))
        raise SystemExit(f"unknown family {family}")

    ma = make()
    spec = ma.spec
    t0 = cpu()
    entry, _ = ModelCache().get(spec, "auto", pad=spec.cluster_index is None)
    t1 = cpu()
    phase = {"pytensor": 0.0, "initial point": 0.0}
    def timer(name, f):
        def timed(model):
            t = cpu()
            try:
                return f(model)
            finally:
                phase[name] += cpu() - t
        return timed
    mc._initial_point_fn = timer("initial point", mc._initial_point_fn)
    mc._functions = timer("pytensor", mc._functions)
    w0 = time.perf_counter()
    compiled = mc.compile_nutpie(entry.model, structure=entry.handles.key)
    wall = time.perf_counter() - w0
    t2 = cpu()
    hits = compiled.compiled_logp_func.cache_hits + compiled.compiled_expand_func.cache_hits

    rate = gradient_rate(compiled)
    print("RESULT " + json.dumps({"build": t1 - t0, "pytensor": phase["pytensor"] - phase["initial point"],
                                  "initial": phase["initial point"], "compile": t2 - t1,
                                  "wall": wall, "hits": hits, **rate}))
    """
)


def _run(family: str, compiledir: str, ref: str) -> dict:
    env = child_env(PYTENSOR_FLAGS=f"base_compiledir={compiledir}")
    res = subprocess.run([sys.executable, "-c", CHILD, family, ref], capture_output=True, text=True, env=env,
                         timeout=3600)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{family}: {res.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    from pathlib import Path

    args = sys.argv[1:]
    families = FAMILIES
    if "--families" in args:
        families = args[args.index("--families") + 1].split(",")
    warm = "--no-warm" not in args
    ref = str(Path(__file__).parents[1] / "tests" / "data" / "reference" / "metafor" / "metafor_cases_v3.json")
    import importlib.metadata as md

    versions = ", ".join(f"{n} {md.version(n)}" for n in ("bayesma", "nutpie", "pymc", "pytensor", "numba"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; {versions}")
    print(f"# load average at start: {', '.join(f'{v:.1f}' for v in os.getloadavg())}; CPU seconds, cold cache")
    head = f"{'family':16s} {'n_dim':>5s} {'build':>6s} {'pytensor':>8s} {'numba':>7s} {'init':>5s} {'compile':>8s} " \
           f"{'warm':>6s} {'grad/s':>9s}"
    print(head)
    print("-" * len(head))
    for family in families:
        with tempfile.TemporaryDirectory(prefix="bench_compile_") as tmp:
            cold = _run(family, tmp, ref)
            hot = _run(family, tmp, ref) if warm else None
        numba = cold["compile"] - cold["pytensor"] - cold["initial"]
        hot_s = f"{hot['compile']:6.2f}" if hot else f"{'-':>6s}"
        print(f"{family:16s} {cold['n_dim']:5d} {cold['build']:6.2f} {cold['pytensor']:8.2f} {numba:7.2f} "
              f"{cold['initial']:5.2f} {cold['compile']:8.2f} {hot_s} {cold['grad_per_s']:9.0f}", flush=True)
    print(f"# load average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
