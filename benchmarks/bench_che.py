"""Speed of the dependent-effects models: exact CHE on dat.assink2016, the exact multivariate CS model with
moderators on dat.berkey1998, NUTS refits of compiled CHE and multivariate models, and a large CHE.

Run: ``PYTHONPATH=. python benchmarks/bench_che.py`` (prints a table; targets from the issue:
exact fit < 0.5 s, NUTS refit < 2 s, 10,000 effects in 2,000 clusters exact < 10 s). Both wall and
CPU seconds of this process are printed: on a shared machine the wall time of numpy code grows with the
load, the CPU time much less. ``OPENBLAS_NUM_THREADS=1`` avoids BLAS threads spinning against other
processes (small eigendecompositions otherwise take 100 times longer on a loaded machine).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

import bayesma as bm
from bayesma.exact import exact_posterior

PRIORS = {"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "tau_within": bm.priors.HalfNormal(0.5)}


def _best(fn, repeat: int = 3) -> tuple[float, float]:
    """The fastest of *repeat* runs: (wall seconds, CPU seconds of this process)."""
    times = []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t, time.process_time() - c))
    return min(times)


def large_che(n_clusters: int = 2000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 10, n_clusters)
    sizes = np.r_[sizes[:-1], 10_000 - sizes[:-1].sum()] if sizes.sum() != 10_000 else sizes
    study = np.repeat(np.arange(n_clusters), np.maximum(sizes, 1))[:10_000]
    vi = rng.uniform(0.01, 0.1, study.size)
    u = rng.normal(0, 0.2, n_clusters)[study]
    yi = 0.3 + u + rng.normal(0, 0.1, study.size) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": study, "yi": yi, "vi": vi, "id": np.arange(study.size)})


def _berkey():
    import json
    from pathlib import Path

    ref = Path(__file__).parents[1] / "tests" / "data" / "reference" / "metafor" / "metafor_cases_v3.json"
    case = {c["name"]: c for c in json.loads(ref.read_text())["cases"]}["berkey1998_CS"]
    inp = dict(case["input"])
    V = np.array(inp.pop("V"))
    return pd.DataFrame(inp), V


def motivating_shape(seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC data shaped like the motivating analysis: 21 studies, 27 effects, three outcomes (k = 8, 16
    and 3), six studies with two of them (tests/exact/test_multivariate_motivating_shape.py)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(21):
        outcomes = ["dropout"] if s < 8 else (["misconduct"] if s == 8 else ["recidivism"])
        outcomes += ["recidivism"] if s < 4 else (["misconduct"] if s in (9, 10) else [])
        u = rng.normal(0, 0.15)
        for o in outcomes:
            rows.append({"study": f"S{s:02d}", "outcome": o, "vi": rng.uniform(0.02, 0.06), "yi": u + rng.normal(-0.2, 0.22)})
    return pd.DataFrame(rows)


def _berkey_mods():
    df, V = _berkey()
    return bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct="CS",
                           mods="~ 0 + outcome + outcome:I(year - 1983)",
                           priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5),
                                   "rho": bm.priors.Uniform(0, 1)})


def main() -> None:
    warnings.simplefilter("ignore")
    dat = bm.load_dataset("dat.assink2016")
    model = bm.MetaAnalysis(dat, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, priors=PRIORS)
    model.fit(engine="exact", seed=1).summary()  # imports and first compilation of numpy paths
    rows = []
    rows.append(("exact CHE fit, dat.assink2016 (k=100, 17 clusters), 4000 draws", 0.5,
                 _best(lambda: model.fit(engine="exact", seed=1))))
    rows.append(("  the same fit and its summary (study effects included)", 0.5,
                 _best(lambda: model.fit(engine="exact", seed=1).summary())))
    rows.append(("  integration + summaries without theta", None,
                 _best(lambda: exact_posterior(model.spec).summary(theta=False))))
    k2011 = bm.load_dataset("dat.konstantopoulos2011")
    k2011_model = bm.MetaAnalysis(k2011, yi="yi", vi="vi", cluster="district", rho=0.5, priors=PRIORS)
    rows.append(("exact CHE fit + summary, dat.konstantopoulos2011 (k=56, 11 clusters, rho 0.5)", None,
                 _best(lambda: k2011_model.fit(engine="exact", seed=1).summary())))
    shape = bm.MetaAnalysis(motivating_shape(), yi="yi", vi="vi", rho=0.5, cluster="study", outcome="outcome",
                            priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})
    rows.append(("exact CS fit + summary, motivating shape (27 effects, 21 studies, 3 outcomes)", None,
                 _best(lambda: shape.fit(engine="exact", seed=1).summary())))
    rows.append(("exact multivariate CS with moderators (4 coefficients), dat.berkey1998: no theta", None,
                 _best(lambda: exact_posterior(_berkey_mods().spec).summary(theta=False))))
    model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=1)  # compiles once
    rows.append(("NUTS refit of the compiled CHE model (2 chains x 2000 steps)", 2.0,
                 _best(lambda: model.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=2), repeat=2)))
    df, V = _berkey()
    for struct in ("CS", "HCS", "UN"):
        rho = bm.priors.LKJ(1.0) if struct == "UN" else bm.priors.Uniform(0, 1)
        mv = bm.MetaAnalysis(df, yi="yi", V=V, cluster="trial", outcome="outcome", struct=struct,
                             priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5), "rho": rho})
        mv.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=1)  # compiles once
        rows.append((f"NUTS refit of the compiled multivariate {struct} model, dat.berkey1998", 2.0,
                     _best(lambda: mv.fit(engine="nuts", draws=1000, tune=1000, chains=2, seed=2), repeat=2)))
    big = large_che()
    big_model = bm.MetaAnalysis(big, yi="yi", vi="vi", cluster="study", labels="id", rho=0.6, priors=PRIORS)
    rows.append(("exact CHE, 10,000 effects in 2,000 clusters: integration + summary (no theta)", 10.0,
                 _best(lambda: exact_posterior(big_model.spec).summary(theta=False), repeat=1)))
    rows.append(("exact CHE, 10,000 effects in 2,000 clusters: fit (1000 draws) + summary with theta", 10.0,
                 _best(lambda: big_model.fit(engine="exact", draws=500, chains=2, seed=1).summary(), repeat=1)))
    print(f"{'case':<84} {'target s':>9} {'wall s':>8} {'cpu s':>8}")
    for name, target, (wall, cpu) in rows:
        print(f"{name:<84} {'' if target is None else target:>9} {wall:8.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
