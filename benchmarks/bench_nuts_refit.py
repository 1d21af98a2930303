"""First fit vs refit of the BCG random-effects model with PyMC's NUTS and nutpie.

Each sampler runs in a fresh Python process (so the first fit pays for model
building and compilation, as in a new user session), then refits twice
without rebuilding: with a new prior scale (tau ~ HalfNormal(1) instead of
HalfNormal(0.5)) and with new data of the same shape. All fits: 4 chains x
1000 draws after 1000 tuning steps, prior draws included.

Rows: sampler and parameterization of the study effects (marginal: the
default for normal random effects; noncentered: theta = mu + tau z in the
likelihood). Columns: first-fit seconds (including build + compile), refit seconds (mean
of the two refits), ESS/s (min bulk ESS of mu and tau per second of a refit),
and a 10-fit session (first fit + 9 refits, e.g. comparing 10 priors).

Run:  python benchmarks/bench_nuts_refit.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import bayesma as bm
    sampler, extra = sys.argv[1], json.loads(sys.argv[2])
    dat = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bm.load_dataset("dat.bcg"))
    ma = bm.MetaAnalysis(dat, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    kw = dict(draws=1000, tune=1000, chains=4, seed=1, sampler=sampler, warn=False, **extra)
    t0 = time.perf_counter(); p1 = ma.fit(**kw); first = time.perf_counter() - t0
    ma2 = ma.with_priors({"tau": bm.priors.HalfNormal(1.0)})
    t0 = time.perf_counter(); p2 = ma2.fit(**kw); refit_prior = time.perf_counter() - t0
    dat3 = dat.copy(); dat3["yi"] = dat3["yi"] + 0.1
    ma3 = bm.MetaAnalysis(dat3, priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    t0 = time.perf_counter(); p3 = ma3.fit(**kw); refit_data = time.perf_counter() - t0
    s = p2.summary()
    ess = float(min(s.loc["mu", "ess_bulk"], s.loc["tau", "ess_bulk"]))
    print(json.dumps({"first": first, "refit_prior": refit_prior, "refit_data": refit_data, "ess": ess,
                      "div": int(p2.diagnostics()["divergences"]),
                      "recompiled": bool(p2.fit_info["compiled"] or p3.fit_info["compiled"])}))
    """
)

CONFIGS = [
    ("pymc, marginal", "pymc", {}),
    ("pymc, noncentered", "pymc", {"parameterization": "noncentered"}),
    ("nutpie, marginal (default)", "nutpie", {}),
    ("nutpie, noncentered", "nutpie", {"parameterization": "noncentered"}),
    ("nutpie, noncentered, low-rank mass matrix", "nutpie",
     {"parameterization": "noncentered", "low_rank_modified_mass_matrix": True}),
]


def main() -> None:
    rows = []
    for name, sampler, extra in CONFIGS:
        out = subprocess.run([sys.executable, "-c", CHILD, sampler, json.dumps(extra)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        refit = (r["refit_prior"] + r["refit_data"]) / 2
        rows.append((name, r["first"], r["refit_prior"], r["refit_data"], r["ess"] / refit, r["ess"],
                     r["div"], r["recompiled"], r["first"] + 9 * refit))
    head = ("sampler", "first fit s", "refit (prior) s", "refit (data) s", "ESS/s", "min ESS", "div",
            "recompiled", "10-fit session s")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(f"{r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]} | {r[7]} | {r[8]:.1f}")


if __name__ == "__main__":
    main()
