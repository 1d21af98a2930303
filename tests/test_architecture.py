"""The layout's rules, read from the source (ast), function-level imports included.

- no import cycle between bayesma modules;
- no module imports a private (underscore) name, or a private module, from another package of
  bayesma (the top-level shared helpers ``bayesma/_validate.py`` and ``bayesma/_rootfind.py``
  are modules of the root package, so their public names may be imported anywhere);
- ``frequentist/`` never imports models, exact, results, plots or priors (its results draw
  through ``bayesma._plotting.draw``, which imports ``bayesma.plots`` on first use);
- no module imports the ``bayesma`` facade itself (it would hide any dependency);
- ``plots/`` never imports results, models or exact (not even under TYPE_CHECKING);
- ``exact/`` and the builders and sampler in ``models/`` never import results or cli;
- no module is longer than 600 lines (a module is one idea).

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


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """Absolute module name of a (possibly relative) ``from`` import."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
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


def _targets(module: str) -> set[str]:
    return {t for t, _, _ in EDGES[module] if t in MODULES and t != module}


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_there_are_modules_to_check():
    assert len(MODULES) > 20
    assert any(_under(m, "bayesma.frequentist") for m in MODULES)


def test_no_import_cycles():
    graph = {m: _targets(m) - {"bayesma"} for m in MODULES if m != "bayesma"}
    # the facade imports everything lazily; a package __init__ importing its own modules is not a cycle
    for m in graph:
        graph[m] = {t for t in graph[m] if not (_is_package(t) and _under(m, t))}
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
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


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


FORBIDDEN = {
    "bayesma.frequentist": ("bayesma.models", "bayesma.exact", "bayesma.results", "bayesma.plots", "bayesma.priors"),
    "bayesma.plots": ("bayesma.results", "bayesma.models", "bayesma.exact"),
    "bayesma.exact": ("bayesma.results", "bayesma.cli"),
    "bayesma.models.nuts": ("bayesma.results", "bayesma.cli"),
    "bayesma.effects": ("bayesma.models", "bayesma.exact", "bayesma.results", "bayesma.plots"),
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


def test_no_hidden_imports_through_the_facade():
    """``import bayesma`` inside the package would hide a dependency from the rules above (the facade
    can reach anything); results reach figures through ``bayesma._plotting.draw`` instead. The command
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
