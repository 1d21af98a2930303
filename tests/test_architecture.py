"""The layout's rules, read from the source (ast), function-level (lazy) imports included.

- no import cycle, between modules and between packages (``bayesma.frequentist`` ->
  ``bayesma.plots`` -> ``bayesma.frequentist`` is a cycle even when each module import is
  one way), lazy and TYPE_CHECKING imports included;
- no module imports a private (underscore) name, or a private module, from another package of
  bayesma (the top-level shared helpers ``bayesma/_validate.py`` and ``bayesma/_rootfind.py``
  are modules of the root package, so their public names may be imported anywhere);
- plots import nothing that computes (frequentist, exact, models, results, bias, sensitivity,
  batch, cli, report): they take arrays, tables or duck-typed results. Results draw by
  importing their plotting function inside the plot method;
- ``frequentist/`` never imports models, exact, results, priors or the Bayesian ``bias/``, and
  ``bayesma.plots`` only inside a function (a result's plot method): the frequentist tools
  start without PyMC or matplotlib;
- ``import arviz`` only in ``bayesma/_arviz.py`` (the seam for ArviZ 1.x);
- no module imports the ``bayesma`` facade itself (it would hide any dependency);
- ``exact/`` and the builders and sampler in ``models/`` never import results or cli;
  ``bayesma/spec.py`` (ModelSpec) sits below models, results and exact;
- no module is longer than 600 lines (a module is one idea); no function is longer than
  120 code lines (those over 80 are printed as information), except an explicit allow-list;
- no submodule is named like a public name of the package above it (a module would shadow
  the function on first import: ``bm.robust`` must stay the function).

See docs/architecture.rst for the diagram these rules keep true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bayesma"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# bayesma/conftest.py is pytest's (the doctests' namespace), not a module of the package
MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "conftest.py"}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """Absolute module name of a (possibly relative) ``from`` import."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _parse(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))


def _lazy_lines(tree: ast.Module) -> set[int]:
    """Lines of the import statements inside a function (run when the function is called)."""
    lines: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines |= {n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module``."""
    tree = _parse(module)
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bayesma":
                    found.append((alias.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != "bayesma":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # `from bayesma import priors` imports a module
                    found.append((sub, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return found


def _package_of(module: str) -> str:
    """The first-level package a module belongs to ('bayesma' for top-level modules)."""
    parts = module.split(".")
    if len(parts) >= 3 or (len(parts) == 2 and _is_package(module)):
        return ".".join(parts[:2])
    return "bayesma"


EDGES: dict[str, list[tuple[str, str | None, int]]] = {m: _imports(m) for m in MODULES}
LAZY: dict[str, set[int]] = {m: _lazy_lines(_parse(m)) for m in MODULES}


def _targets(module: str) -> set[str]:
    return {t for t, _, _ in EDGES[module] if t in MODULES and t != module}


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_there_are_modules_to_check():
    assert len(MODULES) > 20
    assert any(_under(m, "bayesma.frequentist") for m in MODULES)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    color: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        color[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if color.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in color:
                visit(nxt)
        stack.pop()
        color[node] = 2

    for m in sorted(graph):
        if m not in color:
            visit(m)
    return cycles


def _module_graph() -> dict[str, set[str]]:
    graph = {m: _targets(m) - {"bayesma"} for m in MODULES if m != "bayesma"}
    # the facade imports everything lazily; a package __init__ importing its own modules is not a cycle
    for m in graph:
        graph[m] = {t for t in graph[m] if not (_is_package(t) and _under(m, t))}
    return graph


def _group(module: str, depth: int) -> str:
    """The package at *depth* below ``bayesma`` holding *module* (a top-level module is its own group)."""
    return ".".join(module.split(".")[: depth + 1])


def test_no_import_cycles_between_modules():
    cycles = _cycles(_module_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("depth", [1, 2], ids=["packages", "subpackages"])
def test_no_import_cycles_between_packages(depth):
    """Collapse modules into their package (``bayesma.frequentist``; at depth 2
    ``bayesma.frequentist.bias``): the package graph has no cycle either. Importing a package
    runs its ``__init__``, which may import its own modules: edges from a package to a module
    inside it stay inside the group."""
    graph: dict[str, set[str]] = {}
    for m, targets in _module_graph().items():
        a = _group(m, depth)
        graph.setdefault(a, set()).update(
            b for t in targets if (b := _group(t, depth)) != a and not _under(a, b) and not _under(b, a))
    cycles = _cycles(graph)
    assert not cycles, "package import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_names_across_packages():
    bad = []
    for module, edges in EDGES.items():
        for target, name, line in edges:
            if target not in MODULES or _package_of(target) == _package_of(module):
                continue
            private_module = any(p.startswith("_") for p in target.split(".")[1:]) and _package_of(target) != "bayesma"
            if private_module or (name is not None and name.startswith("_")):
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}.{name or ''}")
    assert not bad, "\n".join(bad)


_COMPUTING = ("bayesma.frequentist", "bayesma.exact", "bayesma.models", "bayesma.results", "bayesma.bias",
              "bayesma.sensitivity", "bayesma.batch", "bayesma.cli", "bayesma.report", "bayesma.effects",
              "bayesma.spec")

# package -> packages it never imports, at any level (lazy and TYPE_CHECKING imports included)
FORBIDDEN = {
    "bayesma.frequentist": ("bayesma.models", "bayesma.exact", "bayesma.results", "bayesma.priors", "bayesma.bias",
                            "bayesma.sensitivity", "bayesma.batch", "bayesma.cli", "bayesma.report", "bayesma.spec"),
    "bayesma.plots": _COMPUTING,
    "bayesma.exact": ("bayesma.results", "bayesma.cli", "bayesma.plots"),
    "bayesma.models.nuts": ("bayesma.results", "bayesma.cli"),
    "bayesma.effects": ("bayesma.models", "bayesma.exact", "bayesma.results", "bayesma.plots", "bayesma.frequentist",
                        "bayesma.bias"),
    "bayesma.bias": ("bayesma.models", "bayesma.exact", "bayesma.results", "bayesma.frequentist", "bayesma.cli",
                     "bayesma.sensitivity", "bayesma.report"),
    "bayesma.spec": ("bayesma.models", "bayesma.results", "bayesma.exact", "bayesma.frequentist", "bayesma.plots",
                     "bayesma.bias", "bayesma.cli"),
    "bayesma.measures": ("bayesma.effects", "bayesma.frequentist", "bayesma.models", "bayesma.plots", "bayesma.report",
                         "bayesma.cli", "bayesma.priors"),
}

# package -> packages it imports only inside a function (a result's plot method draws with
# ``from bayesma.plots.funnel import funnel_plot`` when called)
LAZY_ONLY = {
    "bayesma.frequentist": ("bayesma.plots",),
    "bayesma.effects": ("bayesma.plots",),
    "bayesma.bias": ("bayesma.plots",),
    "bayesma.results": ("bayesma.plots",),
    "bayesma.sensitivity": ("bayesma.plots",),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_one_way_imports(package):
    bad = []
    for module in MODULES:
        if not _under(module, package):
            continue
        for target, name, line in EDGES[module]:
            if any(_under(target, f) for f in FORBIDDEN[package]):
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", sorted(LAZY_ONLY))
def test_drawing_is_imported_only_when_drawing(package):
    bad = []
    for module in MODULES:
        if not _under(module, package):
            continue
        for target, name, line in EDGES[module]:
            if any(_under(target, f) for f in LAZY_ONLY[package]) and line not in LAZY[module]:
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target} at module level")
    assert not bad, "\n".join(bad)


def test_arviz_only_through_the_seam():
    """Every ArviZ call goes through bayesma/_arviz.py (lazy and TYPE_CHECKING imports included)."""
    bad = []
    for module, path in MODULES.items():
        if module == "bayesma._arviz":
            continue
        for node in ast.walk(_parse(module)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n == "arviz" or n.startswith("arviz.") for n in names):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports arviz")
    assert not bad, "import arviz only in bayesma/_arviz.py:\n" + "\n".join(bad)


def test_no_hidden_imports_through_the_facade():
    """``import bayesma`` inside the package would hide a dependency from the rules above (the facade
    can reach anything); results reach figures by importing their plotting function. The command
    line, which sits on top of everything and uses the public API as a script would, may."""
    bad = []
    for module in MODULES:
        if module == "bayesma" or _under(module, "bayesma.cli"):
            continue
        for target, name, line in EDGES[module]:
            if target == "bayesma" and name is None:
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports the bayesma facade")
            elif target == "bayesma" and name not in ("__version__",):
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {name} from the facade")
    assert not bad, "\n".join(bad)


def test_model_builders_never_import_results_or_cli():
    bad = []
    for module in MODULES:
        if not _under(module, "bayesma.models") or module == "bayesma.models":
            continue
        for target, _, line in EDGES[module]:
            if _under(target, "bayesma.results") or _under(target, "bayesma.cli"):
                bad.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_modules_are_small():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_import_bayesma_is_cheap():
    import subprocess
    import sys

    code = ("import sys, bayesma; bayesma.rma; bayesma.escalc; "
            "heavy = [m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib', 'nutpie') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing bayesma's frequentist API imported {out}"


def test_ruff_passes():
    """pyflakes, isort and pyupgrade (the [tool.ruff] settings in pyproject.toml); ruff is in the test extra."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", str(ROOT)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_package_is_typed():
    assert (PACKAGE / "py.typed").exists()


def test_public_names_are_not_shadowed_by_submodules():
    """Importing a submodule sets an attribute on its package: a module named like a public function
    (bayesma/robma.py beside bm.robma) would replace the function on the facade."""
    import subprocess
    import sys

    code = ("import importlib, pkgutil, types, bayesma\n"
            "for m in pkgutil.walk_packages(bayesma.__path__, 'bayesma.'):\n"
            "    if '.cli' not in m.name: importlib.import_module(m.name)\n"
            "bad = [n for n in bayesma._EXPORTS if isinstance(getattr(bayesma, n), types.ModuleType)]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"public names shadowed by modules: {out}"


# ---------------------------------------------------------------------------
# function-length budget

MAX_FUNCTION_LINES = 120  # code lines: no docstring, blank or comment-only lines
INFO_FUNCTION_LINES = 80  # the house style's target; longer ones are printed as information

# Functions over the budget in areas other helpers are changing today (issue 19): each entry
# names who splits it. The lead empties this list when those land; never add to it.
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {}


def _code_lines(path: Path) -> set[int]:
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def _function_lengths() -> dict[str, int]:
    """``path::qualified.name`` -> code lines of every function (nested ones counted in their parent too)."""
    out: dict[str, int] = {}
    for module, path in MODULES.items():
        code = _code_lines(path)

        def walk(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = set(range(child.lineno, child.end_lineno + 1)) & code
                    first = child.body[0]
                    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                            and isinstance(first.value.value, str):
                        lines -= set(range(first.lineno, first.end_lineno + 1))
                    name = f"{prefix}{child.name}"
                    out[f"{path.relative_to(ROOT).as_posix()}::{name}"] = len(lines)
                    walk(child, name + ".")
                elif isinstance(child, ast.ClassDef):
                    walk(child, f"{prefix}{child.name}.")
                else:
                    walk(child, prefix)

        walk(_parse(module), "")
    return out


def test_functions_are_short():
    lengths = _function_lengths()
    info = sorted(((n, f) for f, n in lengths.items() if n > INFO_FUNCTION_LINES), reverse=True)
    print(f"\nfunctions over {INFO_FUNCTION_LINES} code lines (information):")
    for n, f in info:
        print(f"  {n:4d}  {f}")
    long = {f: n for f, n in lengths.items() if n > MAX_FUNCTION_LINES and f not in LONG_FUNCTIONS_ALLOWED}
    assert not long, f"functions over {MAX_FUNCTION_LINES} code lines (split them into named steps): {long}"
    stale = [f for f in LONG_FUNCTIONS_ALLOWED if lengths.get(f, 0) <= MAX_FUNCTION_LINES]
    if stale:  # not a failure, so that the helper who splits one can land before the list is edited
        print(f"remove from LONG_FUNCTIONS_ALLOWED (now within budget or gone): {stale}")


def test_no_top_level_module_is_named_like_a_public_name():
    """The facade loads its names lazily: ``bayesma/robust.py`` beside ``bm.robust`` would make
    ``bm.robust`` the module after the first ``import bayesma.robust``."""
    import bayesma

    submodules = {p.stem if p.suffix == ".py" else p.name for p in PACKAGE.iterdir()
                  if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    clash = sorted(submodules & set(bayesma._EXPORTS))
    assert not clash, f"modules of bayesma named like public names: {clash}"


# Submodules named like a name their package exports, in areas other helpers are changing
# today (issue 19); the package's __init__ imports them eagerly, so the function wins today, but
# ``import bayesma.frequentist.rve.robust as r`` gives the function, not the module. The lead
# empties this list; never add to it.
SHADOWING_SUBMODULES_ALLOWED = {
    "bayesma.frequentist.mv.vcalc": "mv",
    "bayesma.frequentist.rve.robust": "robust",
    "bayesma.plots.forest_grouped": "bayesmv / robust (forest_grouped)",
}


def test_no_submodule_is_named_like_what_its_package_exports():
    """A module named like the function it holds (``effects/escalc.py`` beside ``escalc``) is
    replaced by the function on its package, or replaces it when imported lazily."""
    bad = []
    for package, path in MODULES.items():
        if path.name != "__init__.py" or package == "bayesma":
            continue
        exported = set()
        for node in ast.walk(_parse(package)):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
                exported |= {e.value for e in getattr(node.value, "elts", []) if isinstance(e, ast.Constant)}
        for name in sorted(exported):
            sub = f"{package}.{name}"
            if sub in MODULES and sub not in SHADOWING_SUBMODULES_ALLOWED:
                bad.append(sub)
    assert not bad, f"submodules named like a name their package exports: {bad}"


def test_measure_facts_have_one_table():
    """Labels, scales, back-transforms, symbols and conversions of the effect measures live in
    ``bayesma/measures.py`` only: no other module writes a dict keyed by measure names (the
    measure modules of ``effects/`` hold how to compute each measure, not facts about it)."""
    from bayesma import measures

    names = set(measures.MEASURES)
    assert len(measures._ALL) == len(names), "a measure is in the registry twice"
    bad = []
    for module, path in MODULES.items():
        if module == "bayesma.measures" or _under(module, "bayesma.effects"):
            continue
        for node in ast.walk(_parse(module)):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                if len(keys & names) >= 3:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(keys & names)[:5]}...")
    assert not bad, "tables of measure facts outside bayesma/measures.py:\n" + "\n".join(bad)


def test_escalc_computes_only_registered_measures():
    from bayesma import measures
    from bayesma.effects import MEASURES as ESCALC

    assert set(ESCALC) <= set(measures.MEASURES)
    assert all(ESCALC[m][0] == measures.get(m).description for m in ESCALC)
