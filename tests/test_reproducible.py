"""Every Bayesian fit in the tests is seeded, so that a CI run draws the numbers that passed here.

A fit without ``seed=`` draws from the operating system's entropy: its draws, the Monte Carlo
summaries, the tick labels of a plot of them differ from run to run, and a test that passed here can
fail on the CI machine (a trace plot's tick label left the figure that way). This scan reads the
test files (no fit runs) and lists every call that draws posterior or refit draws without a seed:

* ``fit_many``, ``leave_one_out``, ``cumulative``, ``compare_priors``, ``fit_exact``, ``quiet_fit``
  and ``nuts.sample``, also when passed to a wrapper as its first argument
  (``_quiet(bm.leave_one_out, ...)``);
* ``.fit(...)`` of a model: with an engine option (``engine=``, ``draws=``, ``chains=``, ``tune=``)
  or called on ``MetaAnalysis(...)`` / ``.with_priors(...)`` directly;
* ``permutest`` with random permutations (not ``exact=True``).

A call passes with ``seed=``; with ``**options`` made in the file with a ``seed`` key (or made
elsewhere: a fixture's, a parameter); inside
``with pytest.raises(...)`` (it fails before drawing); or with a ``# unseeded: <reason>`` comment
on one of its lines (e.g. a test that the draws differ).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DRAWING = {"fit_many", "leave_one_out", "cumulative", "compare_priors", "fit_exact", "quiet_fit"}
ENGINE_OPTIONS = {"engine", "draws", "chains", "tune"}
MODEL_MAKERS = {"MetaAnalysis", "with_priors"}


def _name(node: ast.AST) -> str | None:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None


def _draws(call: ast.Call) -> bool:
    """Whether *call* fits a Bayesian model or refits it (see the module's docstring)."""
    func, name = call.func, _name(call.func)
    keywords = {k.arg for k in call.keywords}
    if name in DRAWING or (call.args and _name(call.args[0]) in DRAWING):
        return True
    if name == "sample" and isinstance(func, ast.Attribute) and _name(func.value) == "nuts":
        return True
    if name == "permutest":
        return not any(k.arg == "exact" and isinstance(k.value, ast.Constant) and k.value.value for k in call.keywords)
    if name == "fit" and isinstance(func, ast.Attribute):
        receiver = func.value
        made = isinstance(receiver, ast.Call) and (
            _name(receiver.func) in MODEL_MAKERS or (receiver.args and _name(receiver.args[0]) in MODEL_MAKERS))
        return bool(keywords & ENGINE_OPTIONS) or made
    return False


def _raises_blocks(tree: ast.AST) -> list[tuple[int, int]]:
    """Line spans of the ``with pytest.raises(...)`` blocks."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call) and _name(item.context_expr.func) == "raises"
                for item in node.items):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _dict_keys(tree: ast.AST) -> dict[str, set[str | None]]:
    """The keys of the dicts assigned to each name in the file (``kw = dict(a=1)``, ``kw = {"a": 1}``);
    ``None`` stands for a key that is not a literal (then the dict may hold a seed)."""
    keys: dict[str, set[str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value, made = node.value, keys.setdefault(node.targets[0].id, set())
            if isinstance(value, ast.Call) and _name(value.func) == "dict" and not value.args:
                made.update(k.arg for k in value.keywords)
            elif isinstance(value, ast.Dict):
                made.update(k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None
                            for k in value.keys)
            else:
                made.add(None)
    return keys


def _seeded(call: ast.Call, dicts: dict[str, set[str | None]]) -> bool:
    """``seed=`` given, or a ``**options`` that may hold it (a dict made elsewhere, or with ``seed``)."""
    for k in call.keywords:
        if k.arg == "seed":
            return True
        if k.arg is None:
            made = dicts.get(k.value.id) if isinstance(k.value, ast.Name) else None
            if made is None or "seed" in made or None in made:
                return True
    return False


def unseeded_calls(path: Path) -> list[str]:
    """``path:line: call`` of every drawing call in *path* without a seed (module docstring)."""
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    raises = _raises_blocks(tree)
    dicts = _dict_keys(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not _draws(node) or _seeded(node, dicts):
            continue
        first, last = node.lineno, node.end_lineno or node.lineno
        if any(a <= first and last <= b for a, b in raises):
            continue
        if any("# unseeded:" in line for line in lines[first - 1:last]):
            continue
        out.append(f"{path.relative_to(TESTS.parent)}:{first}: {ast.unparse(node)[:100]}")
    return out


def test_the_scan_finds_what_it_should():
    src = TESTS / "_scan_example.py"
    code = ("import bayesma as bm, pytest\n"
            "bm.MetaAnalysis(d).fit()\n"                    # 2: a model's fit
            "ma.fit(engine='exact')\n"                       # 3: an engine option
            "ma.fit(engine='exact', seed=1)\n"
            "ma.fit(**SMOKE)\n"                              # a dict made elsewhere
            "res.fit('a')\n"                                 # a group of fit_many: its own seed
            "_quiet(bm.leave_one_out, d, 'yi', 'vi')\n"      # 7: through a wrapper
            "bm.permutest(res, exact=True)\n"
            "bm.permutest(res, iter=100)\n"                  # 9: random permutations
            "with pytest.raises(ValueError):\n"
            "    bm.fit_many(d, by='x')\n"
            "bm.fit_many(d, by='x')  # unseeded: the test checks that two runs differ\n"
            "args = dict(by='x', labels='s')\n"
            "bm.fit_many(d, **args)\n"                        # 14: a dict made here, without a seed
            "seeded = {'by': 'x', 'seed': 3}\n"
            "bm.fit_many(d, **seeded)\n")
    tree_lines = [line.split(":")[1] for line in _scan_text(code, src)]
    assert tree_lines == ["2", "3", "7", "9", "14"]


def _scan_text(code: str, path: Path) -> list[str]:
    path.write_text(code)
    try:
        return sorted(unseeded_calls(path), key=lambda s: int(s.split(":")[1]))
    finally:
        path.unlink()


def test_every_bayesian_fit_in_the_tests_is_seeded():
    found = [hit for path in sorted(TESTS.rglob("*.py")) if path.name != Path(__file__).name
             for hit in unseeded_calls(path)]
    assert not found, "fits without seed= (their draws differ from run to run):\n" + "\n".join(found)
