"""Speed of the influence diagnostics of rma_mv fits and of the Bayesian leave-one-study-out.

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_mv_influence.py`` (prints tables);
``... bench_mv_influence.py --shared`` prints only table 0.

0. The deletion refits shared by ``cooks_distance``, ``dfbetas`` and ``rstudent``: a CHE model with
   J = 50, 100, 200 studies of 2-4 effects each, ``cluster="study"``, components re-estimated. Each
   function alone (the refit cache emptied before it), and the three called one after another on
   the same fit: the first computes the J refits, the other two reuse them (before the cache, the
   three together cost the sum of the three alone). 2026-12-05, CPU s, before -> after sharing,
   the three together: J = 50: 0.67 -> 0.21; 100: 1.29 -> 0.45; 200: 3.13 -> 1.04 (each alone
   unchanged: 0.2-0.25, 0.4, 0.9-1.0).

1. ``cooks_distance(res, cluster="study")`` on synthetic CHE data (5 effects per study, V from
   rho = 0.6) with J = 50 ... 800 studies. With ``reestimate=False`` no model is refitted (each
   deletion removes its blocks' contributions): all J deletions together take time linear in k, so
   the time per study stays flat. With ``reestimate=True`` each deletion re-maximises the likelihood on
   the k - 5 remaining effects, starting at the full fit's estimates: linear per refit, so the total
   grows as J * k and the time per study grows linearly with J.
2. The same diagnostics on the three published data sets of the reference tests.
3. ``bm.leave_one_out`` of the Bayesian CHE model (exact engine) on dat.assink2016 (17 studies).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayesma as bm

REF = Path(__file__).parents[1] / "tests" / "data" / "reference" / "metafor" / "metafor_mv_influence.json"


def _timed(fn) -> tuple[float, float, object]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def che_data(n_studies: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(n_studies), 5)
    vi = rng.uniform(0.01, 0.08, study.size)
    yi = 0.3 + rng.normal(0, 0.2, n_studies)[study] + rng.normal(0, 0.1, study.size) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": study, "esid": np.tile(np.arange(5), n_studies), "yi": yi, "vi": vi})


def scaling() -> None:
    print("cooks_distance(res, cluster='study') on a CHE model, 5 effects per study")
    print(f"{'studies':>8} {'k':>6} {'held: wall s':>13} {'CPU s':>7} {'ms/study':>9} "
          f"{'re-estimated: wall s':>21} {'CPU s':>7} {'ms/study':>9}")
    for J in (50, 100, 200, 400, 800):
        df = che_data(J)
        V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
        res = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)
        w0, c0, _ = _timed(lambda: bm.cooks_distance(res, cluster="study", reestimate=False))
        if J <= 400:
            w1, c1, _ = _timed(lambda: bm.cooks_distance(res, cluster="study"))
            re_cols = f"{w1:21.2f} {c1:7.2f} {1000 * w1 / J:9.1f}"
        else:
            re_cols = f"{'(skipped)':>21}"
        print(f"{J:8d} {5 * J:6d} {w0:13.3f} {c0:7.3f} {1000 * w0 / J:9.2f} {re_cols}")


def uneven_che_data(n_studies: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 5, n_studies)  # 2-4 effects per study
    study = np.repeat(np.arange(n_studies), sizes)
    esid = np.concatenate([np.arange(n) for n in sizes])
    vi = rng.uniform(0.01, 0.08, study.size)
    yi = 0.3 + rng.normal(0, 0.2, n_studies)[study] + rng.normal(0, 0.1, study.size) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": study, "esid": esid, "yi": yi, "vi": vi})


def _clear_cache() -> None:
    from bayesma.frequentist.mv import deletion

    getattr(deletion, "_clear_cache", lambda: None)()


def shared() -> None:
    print("cooks_distance, dfbetas, rstudent (cluster='study', re-estimated) on a CHE model, 2-4 effects per study; "
          "CPU s (wall s in brackets)")
    print(f"{'studies':>8} {'k':>5} {'cooks':>7} {'dfbetas':>8} {'rstudent':>9} {'sum alone':>10} {'all three':>10}")
    for J in (50, 100, 200):
        df = uneven_che_data(J)
        V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
        res = bm.rma_mv("yi", V, random="~ 1 | study/esid", data=df)
        alone = []
        for f in (bm.cooks_distance, bm.dfbetas, bm.rstudent):
            _clear_cache()
            alone.append(_timed(lambda: f(res, cluster="study"))[1])
        _clear_cache()
        wall, cpu, _ = _timed(lambda: [f(res, cluster="study") for f in (bm.cooks_distance, bm.dfbetas, bm.rstudent)])
        print(f"{J:8d} {len(df):5d} {alone[0]:7.2f} {alone[1]:8.2f} {alone[2]:9.2f} {sum(alone):10.2f} "
              f"{cpu:10.2f} ({wall:.2f})")


def _fit(case: dict):
    df = pd.DataFrame({k: v for k, v in case["input"].items() if k != "V"})
    name = case["name"]
    if name.startswith("konstantopoulos"):
        return bm.rma_mv("yi", "vi", random="~ 1 | district/school", data=df)
    if name.startswith("assink"):
        V = bm.vcalc("vi", cluster="study", obs="esid", rho=0.6, data=df)
        return bm.rma_mv("yi", V, mods=case.get("mods"), random="~ 1 | study/esid", method=case.get("method", "REML"),
                         data=df)
    return bm.rma_mv("yi", np.array(case["input"]["V"]), mods="~ outcome - 1", random="~ outcome | trial",
                     struct="UN", data=df)


def published() -> None:
    print("\nthe reference data sets: cooks_distance + dfbetas + rstudent with cluster=, wall s")
    print(f"{'case':<40} {'k':>4} {'clusters':>8} {'re-estimated':>12} {'held':>7}")
    for case in json.loads(REF.read_text())["cases"]:
        res = _fit(case)
        n = len(set(case["input"][case["cluster"]]))
        walls = []
        for re in (True, False):
            w, _, _ = _timed(lambda: [f(res, cluster=case["cluster"], reestimate=re)
                                      for f in (bm.cooks_distance, bm.dfbetas, bm.rstudent)])
            walls.append(w)
        print(f"{case['name']:<40} {res.k:4d} {n:8d} {walls[0]:12.2f} {walls[1]:7.3f}")


def bayesian() -> None:
    dat = bm.load_dataset("dat.assink2016")
    priors = {"mu": "normal(0, 1)", "tau": "halfnormal(0.5)"}
    w, c, loo = _timed(lambda: bm.leave_one_out(dat, "yi", "vi", cluster="study", rho=0.6, priors=priors,
                                                engine="exact"))
    print(f"\nBayesian leave-one-study-out, CHE on dat.assink2016 (17 studies, exact engine): "
          f"{w:.2f} s wall, {c:.2f} s CPU ({1000 * w / 18:.0f} ms per fit, with the full fit)")


if __name__ == "__main__":
    import sys

    warnings.simplefilter("ignore")
    shared()
    if "--shared" in sys.argv:
        raise SystemExit(0)
    scaling()
    published()
    bayesian()
