"""The first NUTS fit in a fresh process: with an empty and with a warm compile cache.

Each row is a new Python process (``python -c ...``) that imports bayesma and fits, with NUTS
(4 chains x 1000 draws after 1000 tuning steps, the defaults):

1. the k = 21 random-effects model (``first fit``), then a refit with a new prior scale on tau
   (``refit``, ``with_priors``: no compilation);
2. a second family: a meta-regression (k = 21, one moderator);
3. a third: a selection model (publication bias, one cut-off at p = .025).

``process`` is the wall time of the whole process (start to exit) and ``process CPU`` its CPU
seconds (user + system, all threads: on a shared machine the wall time inflates, the CPU time
much less); ``import`` of bayesma and
``pymc`` (imported lazily by the first fit: it is part of ``first fit``).

Caches: PyTensor's compile directory is a fresh temporary directory per configuration
(``PYTENSOR_FLAGS=base_compiledir=...``). ``cold``: the first process in it (everything
compiled: PyTensor's numba and C code, the nutpie callbacks); ``warm``: later processes with the
same directory. Two paths to nutpie:

* ``cached callbacks`` (default): :func:`bayesma.models.compile.compile_nutpie`, whose C callbacks
  numba keeps on disk;
* ``nutpie's compiler`` (before): ``nutpie.compile_pymc_model``, whose callbacks numba cannot cache
  (the cached path is switched off in the child process).

Run:  python benchmarks/bench_cold_start.py [--repeat N] [--skip-before] [--warm-only]
Prints the table with the date and the machine; every number is the median of N warm processes
(cold: one process per configuration).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    t_start = time.perf_counter()
    warnings.simplefilter("ignore")
    import numpy as np
    import bayesma as bm
    t_import = time.perf_counter() - t_start
    if sys.argv[1] == "before":
        import bayesma.models.compile as mc
        def off(model):
            raise TypeError("cached path switched off by the benchmark")
        mc.compile_nutpie = off
    rng = np.random.default_rng(21)
    k = 21
    vi = rng.uniform(0.02, 0.12, k)
    df = {"yi": rng.normal(0.3, np.sqrt(vi + 0.04)), "vi": vi, "x": rng.normal(size=k)}
    import pandas as pd
    df = pd.DataFrame(df)
    priors = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}
    out = {"import": t_import}

    def fit(ma):
        t0 = time.perf_counter()
        post = ma.fit(seed=1, progressbar=False, warn=False)
        return time.perf_counter() - t0, post

    ma = bm.MetaAnalysis(df, priors=priors)
    out["first fit"], post = fit(ma)
    out["path"] = post.fit_info.get("compile_path")
    out["compile"] = post.fit_info.get("compile_seconds")
    out["refit"], _ = fit(ma.with_priors({"tau": "halfnormal(1.0)"}))
    out["meta-regression"], _ = fit(bm.MetaAnalysis(df, mods="~ x", priors={**priors, "beta": "normal(0, 1)"}))
    out["selection model"], _ = fit(bm.MetaAnalysis(df, priors=priors, bias=bm.WeightFunction((0.025,))))
    print("RESULT " + json.dumps(out))
    """
)

COLUMNS = ["process", "process CPU", "import", "first fit", "compile", "refit", "meta-regression", "selection model"]


def run_child(mode: str, compiledir: str) -> dict:
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}", MPLBACKEND="Agg")
    t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"child failed ({mode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    out = json.loads(line[0][7:])
    out["process"] = wall
    out["process CPU"] = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm processes per configuration (median)")
    parser.add_argument("--skip-before", action="store_true", help="only the cached-callbacks path")
    parser.add_argument("--warm-only", action="store_true",
                        help="no empty-cache runs: warm processes with your own compile directory")
    args = parser.parse_args()
    import importlib.metadata as md

    versions = ", ".join(f"{p} {md.version(p)}" for p in ("bayesma", "nutpie", "pymc", "pytensor", "numba"))
    print(f"# bench_cold_start.py, {datetime.date.today().isoformat()}; {machine()}")
    print(f"# {versions}; k = 21, 4 chains x 1000 draws + 1000 tuning; seconds")
    head = f"{'path':<18} {'cache':<18}" + "".join(f"{c:>16}" for c in COLUMNS) + "  compile path"
    print(head)
    print("-" * len(head), flush=True)

    def show(label: str, cache: str, r: dict) -> None:  # each row as soon as it is measured
        print(f"{label:<18} {cache:<18}" + "".join(f"{(r.get(c) or 0.0):16.2f}" for c in COLUMNS)
              + f"  {r.get('path')}", flush=True)

    modes = [("cached callbacks", "after")] + ([] if args.skip_before else [("nutpie's compiler", "before")])
    for label, mode in modes:
        with tempfile.TemporaryDirectory(prefix="bayesma-bench-") as tmp:
            if args.warm_only:
                from pytensor.configdefaults import config

                compiledir = str(config.base_compiledir)
            else:
                compiledir = tmp
                show(label, "cold", run_child(mode, compiledir))
            warm = [run_child(mode, compiledir) for _ in range(args.repeat)]
            med = {c: statistics.median(w[c] or 0.0 for w in warm) for c in COLUMNS}
            med["path"] = warm[-1]["path"]
            show(label, f"warm (median of {args.repeat})", med)


if __name__ == "__main__":
    main()
