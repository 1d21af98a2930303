"""Padded publication-bias models: compilations across k, and gradient evaluations per second.

One fresh Python process per row, with an empty PyTensor compile directory
(``PYTENSOR_FLAGS=base_compiledir=<new temporary directory>``) and an empty numba cache
(``NUMBA_CACHE_DIR``): it fits the same selection model (``bias=WeightFunction((0.025,))``,
random effects) to k = 10 and then to k = 17 studies with NUTS (nutpie, 1 chain, 300 + 300
draws), padded (``pad=True``, the default: both k in the bucket of 64) or not (``pad=False``).
Columns (CPU seconds of the process, ``resource.getrusage``: the machine is shared, wall time is
inflated):

``compiles``  how many of the two fits compiled a model (``fit_info["compiled"]``);
``fit k=10``  CPU seconds of the first fit (compile + sampling);
``fit k=17``  CPU seconds of the second fit;
``grad/s``    log density + gradient evaluations per second of the k = 17 fit's compiled
              callback (called through ctypes, as nutpie calls it; median of 5 batches of
              about 0.2 CPU seconds);
``n_dim``     number of unconstrained parameters of that model.

Run:  python benchmarks/bench_bias_padding.py [--family selection|PET]
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

CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from _gradient_rate import cpu, gradient_rate

    import numpy as np
    import bayesma as bm
    import pymc, nutpie  # noqa: F401  (imports are not part of the fits)

    pad, family = sys.argv[1] == "padded", sys.argv[2]
    bias = bm.WeightFunction((0.025,)) if family == "selection" else bm.PET()
    rng = np.random.default_rng(3)
    vi = rng.uniform(0.01, 0.09, 17)
    yi = rng.normal(0.3, np.sqrt(vi + 0.03))
    out = {"compiles": 0, "fit": []}
    for k in (10, 17):
        ma = bm.MetaAnalysis(yi=yi[:k], vi=vi[:k], priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}, bias=bias)
        c = cpu()
        post = ma.fit(draws=300, tune=300, chains=1, seed=1, pad=pad, progressbar=False)
        out["fit"].append(cpu() - c)
        out["compiles"] += int(post.fit_info["compiled"])
    out.update(gradient_rate(post._cache_entry.nutpie_compiled), total=cpu())
    print("RESULT " + json.dumps(out))
    """
)


def _run(mode: str, family: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_bias_pad_") as tmp:
        env = child_env(PYTENSOR_FLAGS=f"base_compiledir={tmp}", NUMBA_CACHE_DIR=os.path.join(tmp, "numba"),
                        XDG_CACHE_HOME=os.path.join(tmp, "xdg"))
        res = subprocess.run([sys.executable, "-c", CHILD, mode, family], capture_output=True, text=True, env=env,
                             timeout=3600)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{mode}: {res.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    import importlib.metadata as md

    args = sys.argv[1:]
    family = args[args.index("--family") + 1] if "--family" in args else "selection"
    versions = ", ".join(f"{n} {md.version(n)}" for n in ("bayesma", "nutpie", "pymc", "pytensor", "numba"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; {versions}")
    print(f"# {family} model, k = 10 then k = 17 in one cold-cache process; CPU seconds; "
          f"load average at start: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    head = f"{'mode':9s} {'compiles':>8s} {'fit k=10':>9s} {'fit k=17':>9s} {'process':>8s} {'grad/s':>8s} {'n_dim':>6s}"
    print(head)
    print("-" * len(head))
    for mode in ("unpadded", "padded"):
        r = _run(mode, family)
        print(f"{mode:9s} {r['compiles']:8d} {r['fit'][0]:9.1f} {r['fit'][1]:9.1f} {r['total']:8.1f} "
              f"{r['grad_per_s']:8.0f} {r['n_dim']:6d}", flush=True)
    print(f"# load average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
