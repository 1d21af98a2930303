"""``bayesma warmup``: where the compiled models are kept, clearing them, unknown families."""

from __future__ import annotations

import pytest

from bayesma.cli import main
from bayesma.models import compile as mc
from bayesma.models.warmup import FAMILIES, warmup


def test_where_prints_the_cache_directory(capsys):
    assert main(["warmup", "--where"]) == 0
    assert str(mc.cache_dir()) in capsys.readouterr().out


def test_clear_deletes_only_bayesmas_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mc, "cache_dir", lambda: tmp_path)
    mine = [tmp_path / "string.bayesma_nutpie_logp-abc.py311.nbi", tmp_path / "string.bayesma_nutpie_logp-abc.py311.1.nbc"]
    other = tmp_path / "string.fgraph-def.py311.nbi"  # PyTensor's own: kept
    for path in mine + [other]:
        path.write_bytes(b"x")
    assert main(["warmup", "--clear"]) == 0
    assert "deleted 2 file(s)" in capsys.readouterr().out
    assert not any(p.exists() for p in mine) and other.exists()


def test_unknown_family_is_an_error():
    with pytest.raises(ValueError, match="unknown model families"):
        warmup(["no such family"])
    assert {"random effects", "meta-regression"} <= set(FAMILIES)


@pytest.mark.slow
def test_warmup_fits_a_family():
    lines = []
    out = warmup(["random effects"], say=lines.append)
    assert out["random effects"]["compile_path"] in ("cached", "loaded from disk", None)
    assert lines and lines[0].startswith("random effects:")


def test_an_unknown_family_on_the_command_line_fails_before_compiling(capsys):
    assert main(["warmup", "--families", "random effects", "no such family"]) == 2
    out = capsys.readouterr()
    assert "unknown model families ['no such family']" in out.err
    assert mc.COMPILE_MESSAGE not in out.out + out.err


@pytest.mark.slow
def test_the_command_names_each_family_before_compiling_it(capsys):
    assert main(["warmup", "--families", "random effects"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith(mc.COMPILE_MESSAGE) and lines[1].startswith("  random effects: ")
    assert out.err.splitlines()[0] == "  random effects ..."  # while it compiles, on stderr


class _SlowFamily:
    """A stand-in for a family's MetaAnalysis whose fit takes 1.2 s, as a (short) compile."""

    def fit(self, **kwargs):
        import time
        from types import SimpleNamespace

        time.sleep(1.2)
        return SimpleNamespace(fit_info={"compiled": True, "compile_path": "cached"},
                               idata=SimpleNamespace(groups=lambda: ["posterior", "prior"]))


def test_warmup_shows_each_family_and_its_seconds_while_it_compiles(monkeypatch, capsys):
    import bayesma._progress as progress
    from bayesma.models import warmup as mw

    monkeypatch.setitem(mw.FAMILIES, "random effects", _SlowFamily)
    monkeypatch.setattr(progress, "LOG_EVERY", 0.2)
    assert main(["warmup", "--families", "random effects"]) == 0
    out = capsys.readouterr()

    def seconds(line: str, head: str) -> float:  # the seconds a line reports: at least the 1.2 s the fit took
        assert line.startswith(head), line  # (no upper bound: a loaded machine takes longer)
        return float(line[len(head):].split()[0])

    assert seconds(out.out.splitlines()[1], "  random effects: ") >= 1.2  # the family's line, with its seconds
    err = out.err.splitlines()
    assert err[0] == "  random effects ..." and "  still compiling (0 s)" in err  # on stderr, while it runs
    assert "random effects" not in out.out.splitlines()[0]
    lines = []
    mw.warmup(["random effects"], progressbar=True)  # from Python, without say: the indicator's own last line
    assert seconds(capsys.readouterr().err.splitlines()[-1], "done in ") >= 1.2
    mw.warmup(["random effects"], progressbar=False, say=lines.append)
    assert capsys.readouterr().err == "" and seconds(lines[0], "random effects: ") >= 1.2
