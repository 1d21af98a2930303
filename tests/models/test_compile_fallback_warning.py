"""A NUTS model whose disk-cached compile fails is compiled by nutpie's own compiler, with a warning
saying so (never silently)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

nutpie = pytest.importorskip("nutpie")


def _entry():
    return SimpleNamespace(model=object(), handles=SimpleNamespace(key=("k",)), nutpie_compiled=None,
                           compile_path=None)


def test_fallback_to_nutpies_compiler_warns_with_the_reason(monkeypatch):
    import bayesma.models.compile as mc
    from bayesma.models import nuts_prepare

    def broken(model, structure=None):
        raise TypeError("an Op the cached path cannot read")

    monkeypatch.setattr(mc, "compile_nutpie", broken)
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model: "compiled by nutpie")
    entry = _entry()
    with pytest.warns(RuntimeWarning, match="disk-cached compile of this model failed.*cannot read"):
        nuts_prepare._compile_nutpie(entry)
    assert entry.nutpie_compiled == "compiled by nutpie" and entry.compile_path == "nutpie"


def test_both_paths_failing_is_a_nutpie_compile_error_naming_both(monkeypatch):
    import bayesma.models.compile as mc
    from bayesma.models import nuts_prepare

    monkeypatch.setattr(mc, "compile_nutpie", lambda model, structure=None: (_ for _ in ()).throw(ValueError("one")))

    def also_broken(model):
        raise RuntimeError("two")

    monkeypatch.setattr(nutpie, "compile_pymc_model", also_broken)
    with pytest.raises(nuts_prepare.NutpieCompileError, match="two.*cached path failed first: ValueError: one"):
        nuts_prepare._compile_nutpie(_entry())
