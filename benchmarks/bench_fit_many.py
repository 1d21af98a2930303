"""Many meta-analyses at once: fit_many and small_k_simulation, serial and on a Dask LocalCluster.

Run: ``python benchmarks/bench_fit_many.py [--quick] [--skip-nuts] [--skip-dask] [--only-exact]``. Prints one table:

* ``fit_many`` on 50,000 simulated meta-analyses with k from 2 to 100 (a CDSR-like mix: half
  have k <= 4, a tenth k > 20), exact engine, log odds ratios with the default priors; beside it
  the cost of one ``MetaAnalysis(...).fit(engine="exact")`` at k = 5 (summaries only); and the same
  50,000 without ``measure=`` (data-scaled default priors, one per group: vectorised too); the
  first 1,000 with ``keep_fits=True`` (vectorised, each group's posterior and rma fits built on
  first use), then ``read_from_fits()`` (every group's objects built: what ``fit --by`` prints);
* ``fit_many`` on 100 meta-analyses of k = 3..60 with NUTS (2 chains x 500 draws): number of
  compilations and wall time, serially and on a two-worker ``distributed.LocalCluster``;
* ``small_k_simulation`` with 10^6 replications at k = 3 (one prior + DL, REML, REML-KH, PM),
  serially and on the LocalCluster.

``--quick`` divides the sizes by 10. Times are wall-clock seconds of one run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def simulated_database(n: int, seed: int = 1) -> pd.DataFrame:
    """n meta-analyses of log odds ratios with a CDSR-like spread of k (2..100) and tau."""
    rng = np.random.default_rng(seed)
    ks = np.clip(np.round(np.exp(rng.normal(np.log(4.5), 0.9, n))).astype(int), 2, 100)
    tau = np.abs(rng.normal(0, 0.3, n))
    mu = rng.normal(0, 0.3, n)
    rows = np.repeat(np.arange(n), ks)
    vi = 4.0 / np.exp(rng.uniform(np.log(20), np.log(1000), rows.size))
    yi = rng.normal(mu[rows] + tau[rows] * rng.standard_normal(rows.size), np.sqrt(vi))
    return pd.DataFrame({"review": rows, "yi": yi, "vi": vi})


CPU: list[float] = []  # CPU seconds of the last timed() call (the machine may be shared)


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    CPU[:] = [time.process_time() - c0]
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 10")
    parser.add_argument("--skip-nuts", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--only-exact", action="store_true", help="only the two fit_many exact rows")
    args = parser.parse_args()
    import datetime
    import os
    import platform

    print(f"# bench_fit_many.py, {datetime.date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores, "
          "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    scale = 10 if args.quick else 1

    import bayesma as bm

    warnings.simplefilter("ignore")
    rows = []

    n = 50_000 // scale
    db = simulated_database(n)
    secs, many = timed(lambda: bm.fit_many(db, by="review", measure="OR", progress=False))
    cpu = CPU[0]
    one = db[db["review"] == db.groupby("review").size().pipe(lambda s: s[s == 5]).index[0]]
    single, _ = timed(lambda: [bm.MetaAnalysis(one, measure="OR").fit(engine="exact").summary() for _ in range(20)])
    rows.append(("fit_many exact, measure='OR'",
                 f"{n:,} meta-analyses, k 2-100 (mean {db.groupby('review').size().mean():.1f})",
                 f"{secs:.1f}", f"CPU {cpu:.1f} s; {1e3 * secs / n:.2f} ms per meta-analysis; {many.settings['n_vectorised']:,} "
                 f"vectorised; one fit(engine='exact') at k=5: {1e3 * single / 20:.1f} ms"))
    assert many.errors.empty
    # without measure=: each group's default priors are scaled from its own data
    secs, many = timed(lambda: bm.fit_many(db, by="review", progress=False))
    rows.append(("fit_many exact, no measure", f"{n:,} meta-analyses (the same)", f"{secs:.1f}",
                 f"CPU {CPU[0]:.1f} s; data-scaled priors, {many.settings['n_vectorised']:,} vectorised, "
                 f"{many.settings['n_single']:,} one by one"))
    assert many.errors.empty
    # keep_fits=True (bayesma fit --by): the vectorised pass, then each group's objects on first use
    n_keep = 1_000 // scale
    sub = db[db["review"] < n_keep]
    secs, kept = timed(lambda: bm.fit_many(sub, by="review", keep_fits=True, progress=False))
    rows.append(("fit_many exact, keep_fits=True", f"{n_keep:,} meta-analyses (the first)", f"{secs:.1f}",
                 f"CPU {CPU[0]:.1f} s; {kept.settings['n_vectorised']:,} vectorised, {kept.settings['n_single']:,} "
                 "one by one; objects built on first use"))
    secs, _ = timed(kept.read_from_fits)
    rows.append(("  then .read_from_fits()", f"{n_keep:,} posteriors and 4 rma fits each", f"{secs:.1f}",
                 f"CPU {CPU[0]:.1f} s; every group's kept objects built, rows read from them (what fit --by prints)"))
    args.skip_nuts = args.skip_nuts or args.only_exact

    client = cluster = None
    if not args.skip_dask and not args.only_exact:
        import distributed

        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)

    if not args.skip_nuts:
        from bayesma.models import nuts

        n_nuts = 100 // scale
        rng = np.random.default_rng(3)
        ks = rng.integers(3, 61, n_nuts)
        parts = []
        for i, k in enumerate(ks):
            vi = 4.0 / rng.uniform(20, 500, k)
            parts.append(pd.DataFrame({"review": i, "yi": rng.normal(0.2, np.sqrt(vi + 0.04)), "vi": vi}))
        sub = pd.concat(parts, ignore_index=True)
        def compiles():
            cache = nuts.MODEL_CACHE
            return sum(cache[key].compiles["nutpie"] for key in list(cache._entries))

        before = compiles()
        secs, _ = timed(lambda: bm.fit_many(sub, by="review", measure="OR", engine="nuts", draws=500, tune=500,
                                            chains=2, seed=1, progress=False))
        rows.append(("fit_many NUTS serial", f"{n_nuts} meta-analyses, k 3-60", f"{secs:.1f}",
                     f"compilations: {compiles() - before}"))
        if client is not None:
            secs, _ = timed(lambda: bm.fit_many(sub, by="review", measure="OR", engine="nuts", draws=500, tune=500,
                                                chains=2, seed=1, progress=False, executor=client))
            rows.append(("fit_many NUTS LocalCluster(2)", f"{n_nuts} meta-analyses, k 3-60", f"{secs:.1f}",
                         "one compilation per worker and family"))

    if args.only_exact:
        print(pd.DataFrame(rows, columns=["what", "size", "seconds", "note"]).to_string(index=False))
        return
    n_sim = 1_000_000 // scale
    sim = dict(k=[3], tau=[0.3], n_sim=n_sim, seed=1, progress=False, chunk_size=10_000)
    secs, serial = timed(lambda: bm.small_k_simulation(**sim))
    rows.append(("small_k_simulation serial", f"{n_sim:,} replications, k = 3", f"{secs:.1f}", ""))
    if client is not None:
        secs, dist = timed(lambda: bm.small_k_simulation(executor=client, **sim))
        same = dist.table.equals(serial.table)
        rows.append(("small_k_simulation LocalCluster(2)", f"{n_sim:,} replications, k = 3", f"{secs:.1f}",
                     f"identical to serial: {same}"))
        client.close()
        cluster.close()

    table = pd.DataFrame(rows, columns=["what", "size", "seconds", "note"])
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
