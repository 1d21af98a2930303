"""bayesma.measures: the one registry of effect measures, and unknown measures as errors (issue 9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bayesma as bm
from bayesma import measures
from bayesma.cli import main
from bayesma.effects import MEASURES as ESCALC_MEASURES


@pytest.mark.parametrize("name", ["d", "SMDD", "XYZ", "Hedges g", ""])
def test_unknown_measure_lists_the_known_ones(name):
    with pytest.raises(ValueError, match=r"unknown effect measure.*known measures: OR, PETO, RR, .*SMD.*measure=None"):
        measures.get(name)


def test_hint_for_common_names():
    with pytest.raises(ValueError, match=r"did you mean 'SMD'"):
        measures.get("d")
    with pytest.raises(ValueError, match=r"did you mean 'SMD'"):
        measures.get("SMDD")


def test_known_names_case_insensitive_and_none_is_generic():
    assert measures.get(" smd ").name == "SMD"
    assert measures.lookup("zcor") == "ZCOR"
    assert measures.lookup(None) is None
    assert measures.get(None).label == "Effect size"
    assert measures.get("GENERIC").name == "GEN"
    with pytest.raises(TypeError, match="measure must be a string"):
        measures.get(2)


@pytest.mark.parametrize("name", ["d", "SMDD"])
def test_meta_analysis_refuses_an_unknown_measure(name):
    with pytest.raises(ValueError, match=f"unknown effect measure '{name}'"):
        bm.MetaAnalysis(yi=[0.1, 0.2, 0.3], vi=[0.01, 0.02, 0.03], measure=name)
    # also when every prior is given: the measure is still used for labels and reports
    with pytest.raises(ValueError, match=f"unknown effect measure '{name}'"):
        bm.MetaAnalysis(yi=[0.1, 0.2, 0.3], vi=[0.01, 0.02, 0.03], measure=name,
                        priors={"mu": bm.priors.Normal(0, 1), "tau": bm.priors.HalfNormal(0.5)})


def test_default_priors_refuse_an_unknown_measure():
    with pytest.raises(ValueError, match="unknown effect measure 'SMDD'"):
        bm.priors.default_priors("SMDD")
    with pytest.raises(ValueError, match="unknown effect measure 'd'"):
        bm.priors.unit_information_sd("d")


def test_cli_unknown_measure_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text("study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.04\n")
    code = main(["fit", str(path), "--yi", "yi", "--vi", "vi", "--measure", "XYZ", "--engine", "exact",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    lines = [x for x in err.splitlines() if x.startswith("bayesma: error")]
    assert len(lines) == 1 and "--measure" in lines[0] and "'XYZ'" in lines[0] and "SMD" in lines[0]
    assert not (tmp_path / "out").exists()


def test_registry_values():
    # every measure escalc computes is in the registry, with escalc's description
    for name, (description, _, _) in ESCALC_MEASURES.items():
        assert measures.MEASURES[name].description == description
    # unit-information SDs (Röver et al. 2021) and the default prior scales
    assert measures.get("OR").unit_sd == 2.0 and measures.get("ZCOR").unit_sd == 1.0
    assert measures.get("OR").tau_prior_scale == 0.5 and measures.get("OR").mu_prior_sd == 8.0
    assert measures.get("MD").unit_sd is None and measures.get("MD").tau_prior_scale is None
    # back-transforms
    assert float(measures.get("RR").back_transform(np.log(2.0))) == pytest.approx(2.0)
    assert float(measures.get("ZCOR").back_transform(math.atanh(0.3))) == pytest.approx(0.3)
    assert float(measures.get("PLO").back_transform(0.0)) == pytest.approx(0.5)
    assert measures.get("SMD").back_transform is None
    # the priors' table is read from the registry
    assert bm.priors.UNIT_INFORMATION_SD == {m.name: m.unit_sd for m in measures.MEASURES.values()
                                             if m.unit_sd is not None}
