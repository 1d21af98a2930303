"""The help of each command says what its options do in that command."""

from __future__ import annotations

import pytest

from bayesma.cli import main


@pytest.mark.parametrize("command", ["rma", "subgroup"])
def test_measure_of_a_frequentist_command_labels_the_plots(command, capsys):
    assert main([command, "--help"]) == 0  # these fit no prior: --measure names the effect on the forest plots
    out = " ".join(capsys.readouterr().out.split())
    assert "--measure NAME effect measure (OR, RR, SMD, ZCOR, ...), for the axis label of the forest plots" in out
    assert "default priors" not in out


@pytest.mark.parametrize("command", ["fit", "priors", "smallk"])
def test_measure_of_a_bayesian_command_chooses_the_priors(command, capsys):
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--measure NAME effect measure (OR, RR, SMD, ZCOR, ...), to choose the default priors" in out


def test_commands_are_listed_in_the_order_of_an_analysis(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("COMMAND\n"):out.index("options:")]
    listed = [ln.split()[0] for ln in block.splitlines()[1:] if ln.startswith("    ") and not ln.startswith("      ")]
    assert listed == ["demo", "escalc", "rma", "subgroup", "fit", "priors", "smallk", "mv", "bias", "robma", "warmup"]


def test_title_default_is_the_one_the_report_gets(tmp_path, capsys):
    assert main(["fit", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 'Bayesian meta-analysis'; with --by, 'Meta-analyses by COL')" in out
    csv = tmp_path / "s.csv"
    csv.write_text("study,yi,vi\nA,0.1,0.02\nB,0.3,0.03\nC,0.2,0.05\nD,0.4,0.04\nE,0.25,0.03\n")
    assert main(["fit", str(csv), "--yi", "yi", "--vi", "vi", "--engine", "exact", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "report.md").read_text().startswith("# Bayesian meta-analysis\n")
