"""Time a CHE fit plus cluster-robust (CR2) inference at k = 100,000 effects in 20,000 clusters.

Run: python benchmarks/bench_robust.py [--k 100000] [--clusters 20000] [--metafor]
Prints one row per step (median wall time over repeats, in seconds) and the total of
"fit + robust(CR2)", the target being < 5 s on this project's 2-core machine.

The data: clusters of 1-10 effects (uniform), sampling variances U(0.01, 0.1), a study-level
moderator, effects drawn from the CHE model (sigma2 = 0.05, 0.02; rho = 0.6). The fit is
``bm.rma_mv("yi", V, random="~ 1 | study/esid")`` with ``V = bm.vcalc("vi", cluster="study",
obs="esid", rho=0.6)`` where rma_mv takes a V matrix, else the three-level fit with the
sampling variances only (``bm.rma_mv("yi", "vi", cluster="study")``); the table says which.
With --metafor the same data go to R (metafor with sparse=TRUE, clubSandwich) as the anchor.
The sandwich never forms a k x k matrix: the fitted covariance is cut into per-cluster blocks,
stacked by cluster size, and every step is a batched numpy operation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd

import bayesma as bm


def make_data(k_target: int, n_clusters: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 11, n_clusters)  # 1-10 effects, then trimmed to exactly k_target in all
    while sizes.sum() != k_target:
        excess = sizes.sum() - k_target
        pick = rng.choice(np.flatnonzero(sizes > 1 if excess > 0 else sizes < 10), min(abs(excess), n_clusters // 2),
                          replace=False)
        sizes[pick] -= np.sign(excess)
    study = np.repeat(np.arange(len(sizes)), sizes)
    esid = np.concatenate([np.arange(1, s + 1) for s in sizes])
    k = len(study)
    vi = rng.uniform(0.01, 0.1, k)
    x = rng.normal(size=len(sizes))[study]
    u = rng.normal(0, np.sqrt(0.05), len(sizes))[study]
    w = rng.normal(0, np.sqrt(0.02), k)
    # sampling errors with correlation 0.6 within a study: a shared and an own part
    shared = rng.normal(size=len(sizes))[study]
    e = np.sqrt(vi) * (np.sqrt(0.6) * shared + np.sqrt(0.4) * rng.normal(size=k))
    return pd.DataFrame({"study": study, "esid": esid, "x": x, "vi": vi, "yi": 0.3 + 0.1 * x + u + w + e})


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def fit_che(df: pd.DataFrame, V):
    """The CHE fit with a V matrix where rma_mv takes one; else the three-level fit (label says which)."""
    try:
        return "CHE (V, ~ 1 | study/esid)", bm.rma_mv("yi", V, mods="~ x", random="~ 1 | study/esid", data=df)
    except TypeError:
        return "three-level (vi, cluster=study)", bm.rma_mv("yi", "vi", mods="~ x", cluster="study", data=df)


R_SCRIPT = r"""
suppressPackageStartupMessages({library(metafor); library(clubSandwich); library(Matrix)})
dat <- read.csv(Sys.getenv("BENCH_CSV"))  # rows sorted by study
t0 <- proc.time()[["elapsed"]]
# metafor 3.8's vcalc() builds a dense k x k matrix: the same V, block by block, as a sparse matrix
V <- bdiag(lapply(split(seq_len(nrow(dat)), dat$study), function(i) {
  s <- sqrt(dat$vi[i]); m <- 0.6 * tcrossprod(s); diag(m) <- dat$vi[i]; m }))
t1 <- proc.time()[["elapsed"]]
res <- rma.mv(yi, V, mods = ~ x, random = ~ 1 | study/esid, data = dat, sparse = TRUE)
t2 <- proc.time()[["elapsed"]]
rob <- robust(res, cluster = study, clubSandwich = TRUE)
t3 <- proc.time()[["elapsed"]]
cat(sprintf("%.2f %.2f %.2f %.6g %.6g\n", t1 - t0, t2 - t1, t3 - t2, rob$se[2], rob$ddf[2]))
"""


def run_metafor(df: pd.DataFrame) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.csv")
        df.to_csv(path, index=False)
        script = os.path.join(tmp, "bench.R")
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        out = subprocess.run(["Rscript", script], capture_output=True, text=True, env={**os.environ, "BENCH_CSV": path},
                             timeout=3600)
    return out.stdout.strip() or out.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--metafor", action="store_true", help="also time metafor + clubSandwich in R")
    args = parser.parse_args()
    df = make_data(args.k, args.clusters)
    k, J = len(df), df["study"].nunique()
    small = make_data(300, 60)
    fit_che(small, bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=small))  # warm imports
    bm.robust(bm.rma_mv("yi", "vi", cluster="study", data=small), clubSandwich=True)

    t_vcalc, V = timed(lambda: bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df), args.repeats)
    t_fit, (label, res) = timed(lambda: fit_che(df, V), args.repeats)
    t_cr2, rob = timed(lambda: bm.robust(res, cluster="study", clubSandwich=True), args.repeats)
    t_cr1, _ = timed(lambda: bm.robust(res, cluster="study"), args.repeats)
    t_ct, _ = timed(lambda: bm.coef_test(res, vcov="CR2", cluster="study"), args.repeats)
    t_wt, _ = timed(lambda: bm.wald_test(res, ["x"], vcov="CR2", cluster="study"), args.repeats)
    print(f"k = {k} effects in J = {J} clusters (1-10 effects each); fit: {label}")
    print(f"{'step':<40} {'seconds':>9}")
    for name, t in (("vcalc (V, rho = 0.6)", t_vcalc), ("rma_mv fit", t_fit), ("robust(clubSandwich=True): CR2 + Satt + HTZ", t_cr2),
                    ("robust(): metafor's CR1", t_cr1), ("coef_test(vcov='CR2')", t_ct),
                    ("wald_test(['x'], 'CR2', 'HTZ')", t_wt)):
        print(f"{name:<40} {t:>9.3f}")
    print(f"{'total: vcalc + fit + robust(CR2)':<40} {t_vcalc + t_fit + t_cr2:>9.3f}   (target < 5 s)")
    print(f"CR2 se(x) = {rob.se[1]:.6g}, Satterthwaite df(x) = {rob.df[1]:.4g}")
    if args.metafor:
        print("metafor 3.8 (sparse = TRUE) + clubSandwich, seconds: V, rma.mv, robust(CR2); CR2 se(x), df(x):")
        print("   ", run_metafor(df))


if __name__ == "__main__":
    main()
