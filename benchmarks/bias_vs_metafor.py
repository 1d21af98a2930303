"""Largest relative difference from metafor, per kind, of the publication-bias functions (issue 11).

Run from the repository root:  python benchmarks/bias_vs_metafor.py   (about 5 minutes: the smooth
selection models integrate numerically). Reads tests/data/reference/metafor/metafor_cases_v2.json and
metafor_bias_more.json; prints one line per kind and the field where the difference is largest.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayesma as bm

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference"
SEL_KEYS = ("beta", "se", "ci_lb", "ci_ub", "tau2", "se_tau2", "delta", "se_delta", "LRT", "LRTp", "ll")


def _rel(actual, expected) -> float:
    e = np.atleast_1d(np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], float))
    a = np.atleast_1d(np.asarray(actual, float))
    m = np.isfinite(e) & (e != 0)
    return float(np.max(np.abs(a[m] - e[m]) / np.abs(e[m]))) if m.any() else 0.0


def _selmodel(case, precise=False):
    data = pd.DataFrame(case["input"])
    mods = case.get("mods") if isinstance(case.get("mods"), str) else None
    res = bm.rma("yi", "vi", data=data, method=case["method"], mods=mods)
    steps = case.get("steps") if isinstance(case.get("steps"), list) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.selmodel(res, case["type"], steps=steps, alternative=case.get("alternative", "greater"),
                           **({"rel_tol": None} if precise else {}))


def main() -> None:
    v2 = json.loads((REF / "metafor/metafor_cases_v2.json").read_text())["cases"]
    more = json.loads((REF / "metafor/metafor_bias_more.json").read_text())["cases"]
    worst: dict[str, tuple[float, str]] = {}

    def note(kind, err, where):
        if err >= worst.get(kind, (-1.0, ""))[0]:
            worst[kind] = (err, where)

    kinds = ("selmodel", "petpeese", "fsn", "hc", "ranktest")
    for case in [c for c in v2 + more if c["kind"] in kinds]:
        kind, data = case["kind"], pd.DataFrame(case["input"])
        if kind == "selmodel":
            src = "v2" if case in v2 else "held-out"
            if not case["name"].endswith("_v2"):
                sel = _selmodel(case)
                for k in SEL_KEYS:
                    if case["expect"].get(k) is not None:
                        note(f"selmodel ({src}, metafor's rel.tol)", _rel(getattr(sel, k), case["expect"][k]),
                             f"{case['name']}:{k}")
            if "precise" in case["expect"]:
                sel = _selmodel(case, precise=True)
                for k, v in case["expect"]["precise"].items():
                    note("selmodel (rel_tol=None vs metafor rel.tol=1e-10)", _rel(getattr(sel, k), v),
                         f"{case['name']}:{k}")
        elif kind == "petpeese":
            pp = bm.pet_peese("yi", "vi", data=data)
            for k, v in case["expect"].items():
                if k.startswith("pet_knha"):
                    fit = bm.pet_peese("yi", "vi", data=data, test="knha").pet
                    note(kind, _rel(getattr(fit, k.split("_")[-1]), v), f"{case['name']}:{k}")
                else:
                    model, field = k.split("_")
                    note(kind, _rel(getattr(getattr(pp, model), field), v), f"{case['name']}:{k}")
        elif kind == "fsn":
            for k, v in case["expect"].items():
                t = {"rosenthal": "Rosenthal", "orwin": "Orwin", "rosenberg": "Rosenberg"}.get(k)
                if t:
                    got = bm.fsn("yi", "vi", data=data, type=t).fsnum
                    note("fsn (fsnum, exact match wanted)", float(got != v), f"{case['name']}:{k}")
        elif kind == "hc":
            h = bm.hc(bm.rma("yi", "vi", data=data, method="DL"))
            for k, v in case["expect"].items():
                note(kind, _rel(getattr(h, k), v), f"{case['name']}:{k}")
        elif kind == "ranktest":
            rt = bm.ranktest("yi", "vi", data=data)
            for k in ("tau", "pval"):
                note(kind, _rel(getattr(rt, k), case["expect"][k]), f"{case['name']}:{k}")
    for kind, (err, where) in worst.items():
        print(f"{kind:55s} max rel. diff {err:.2e}  ({where})")


if __name__ == "__main__":
    main()
