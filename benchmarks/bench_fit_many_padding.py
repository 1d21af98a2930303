"""NUTS over many meta-analyses of different sizes: one compiled model for the batch, and what padding costs.

NUTS models are padded to a bucket of studies (64, 128, 256, ...) so that one compile serves every
k of the bucket. ``bm.fit_many(..., engine="nuts")`` and ``bayesma fit --by`` pad every group to the
bucket of the largest group, so a batch whose groups fall in different buckets compiles once.

Table 1 (``--part batch``), each row a fresh Python process with an empty PyTensor compile directory
(``PYTENSOR_FLAGS=base_compiledir=<new temporary directory>``): wall seconds of the whole process,
compiles (models compiled for nutpie) and compile seconds, for

* ``own buckets``: ``bm.fit_many(data, by="g", engine="nuts")`` with every group padded to its own
  bucket, as when fitted alone (what ``fit_many`` did before; ``batch_pads`` replaced);
* ``shared bucket``: ``bm.fit_many(data, by="g", engine="nuts")`` as it is (``batch_pads``).

Table 2 (``--part cost``): what a larger bucket costs one small meta-analysis (k = 10): sampling
seconds of a refit (the compiled model reused; median of 3) padded to each bucket, random effects
(marginal parameterization) and Student-t random effects (non-centered: one auxiliary variable per
padded study), 4 chains x 1000 draws after 1000 tuning steps (fit_many's default).

Run:  python benchmarks/bench_fit_many_padding.py [--part batch|cost|all] [--sizes 10,100,200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

BATCH = textwrap.dedent(
    """
    import json, sys, time, warnings
    t0 = time.perf_counter()
    warnings.simplefilter("ignore")
    import numpy as np, pandas as pd
    import bayesma as bm
    from bayesma.models import nuts

    mode, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    rng = np.random.default_rng(3)
    frames = []
    for i, k in enumerate(sizes):
        vi = rng.uniform(0.02, 0.1, k)
        frames.append(pd.DataFrame({"g": f"g{i}", "yi": rng.normal(0.3, np.sqrt(vi + 0.04)), "vi": vi}))
    df = pd.concat(frames, ignore_index=True)
    priors = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}
    if mode == "own buckets":  # fit_many before: each group padded to its own bucket, as when fitted alone
        import bayesma.batch as batch

        batch.batch_pads = lambda sizes, steps=0: [int(k) for k in sizes]
    res = bm.fit_many(df, by="g", engine="nuts", priors=priors, seed=1, progress=False)
    assert (res.groups["error"].astype(str) == "").all(), res.groups["error"].tolist()
    entries = [nuts.MODEL_CACHE[key] for key in list(nuts.MODEL_CACHE._entries)]
    print(json.dumps({"wall": time.perf_counter() - t0, "compiles": sum(e.compiles["nutpie"] for e in entries),
                      "compile_seconds": sum(e.compile_seconds for e in entries)}))
    """
)

COST = textwrap.dedent(
    """
    import json, statistics, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import bayesma as bm

    likelihood, bucket = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(5)
    vi = rng.uniform(0.02, 0.1, 10)
    ma = bm.MetaAnalysis(yi=rng.normal(0.3, np.sqrt(vi + 0.04)), vi=vi, likelihood=likelihood,
                         priors={"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"})
    first = ma.fit(engine="nuts", seed=1, pad=bucket, progressbar=False, warn=False)
    refits = [ma.fit(engine="nuts", seed=s, pad=bucket, progressbar=False, warn=False).fit_info["sampling_seconds"]
              for s in (2, 3, 4)]
    print(json.dumps({"padded_to": first.fit_info["padded_to"], "compile": first.fit_info["compile_seconds"],
                      "refit": statistics.median(refits)}))
    """
)


def _child(code: str, *args: str, cold: bool) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp}"
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                             timeout=3600)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def batch(sizes: str) -> None:
    print(f"Table 1. NUTS fits of {len(sizes.split(','))} meta-analyses of k = {sizes}, cold compile cache "
          "(fresh process each)")
    print(f"{'fit_many':<14} {'wall s':>8} {'compiles':>9} {'compile s':>10}")
    for mode in ("own buckets", "shared bucket"):
        r = _child(BATCH, mode, sizes, cold=True)
        print(f"{mode:<14} {r['wall']:>8.1f} {r['compiles']:>9d} {r['compile_seconds']:>10.1f}")


def cost(buckets: list[int]) -> None:
    print("\nTable 2. One meta-analysis of k = 10 padded to a larger bucket: seconds of a refit "
          "(4 chains x 1000 draws + 1000 tuning)")
    print(f"{'likelihood':<11} {'padded to':>9} {'refit s':>8} {'compile s':>10}")
    for likelihood in ("normal", "student_t"):
        for b in buckets:
            r = _child(COST, likelihood, str(b), cold=False)
            print(f"{likelihood:<11} {r['padded_to']:>9d} {r['refit']:>8.2f} {r['compile']:>10.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("batch", "cost", "all"), default="all")
    ap.add_argument("--sizes", default="10,100,200", help="k of each meta-analysis (comma-separated)")
    ap.add_argument("--buckets", default="64,128,256,512,1024", help="buckets of table 2")
    args = ap.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    if args.part in ("batch", "all"):
        batch(args.sizes)
    if args.part in ("cost", "all"):
        cost([int(b) for b in args.buckets.split(",")])


if __name__ == "__main__":
    main()
