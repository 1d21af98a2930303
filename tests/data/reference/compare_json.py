"""Compare a regenerated reference JSON with the committed one: same structure, same numbers.

    python tests/data/reference/compare_json.py committed.json regenerated.json [--rtol 1e-10]

Prints every path whose value differs (numbers: relative difference above rtol, with an
absolute floor of rtol for values near 0) and a one-line summary; exit status 1 when any differ.
Used to check that the R scripts beside each reference file reproduce the committed numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def _diff(a, b, path: str, rtol: float, out: list[tuple[str, str, float]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append((f"{path}.{key}", "only in " + ("regenerated" if key not in a else "committed"), math.inf))
            else:
                _diff(a[key], b[key], f"{path}.{key}", rtol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path, f"length {len(a)} != {len(b)}", math.inf))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            label = x.get("name", i) if isinstance(x, dict) else i
            _diff(x, y, f"{path}[{label}]", rtol, out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        rel = abs(a - b) / max(abs(a), abs(b), 1.0 if max(abs(a), abs(b)) < rtol else 0.0, 1e-300)
        if rel > rtol:
            out.append((path, f"{a!r} != {b!r}", rel))
    elif a != b:
        out.append((path, f"{a!r} != {b!r}", math.inf))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("committed")
    parser.add_argument("regenerated")
    parser.add_argument("--rtol", type=float, default=1e-10)
    parser.add_argument("--ignore", action="append", default=["meta"], help="top-level keys to skip")
    args = parser.parse_args(argv)
    with open(args.committed) as fh:
        a = json.load(fh)
    with open(args.regenerated) as fh:
        b = json.load(fh)
    for key in args.ignore:
        a.pop(key, None)
        b.pop(key, None)
    out: list[tuple[str, str, float]] = []
    _diff(a, b, "", args.rtol, out)
    for path, what, rel in out:
        print(f"{path}: {what}" + (f" (rel {rel:.2e})" if math.isfinite(rel) else ""))
    print(f"{len(out)} difference(s) at rtol {args.rtol:g}")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
