"""One rule for measure names (bayesma.measures, the registry): escalc, MetaAnalysis and robma read
case and aliases the same way and keep the registry's name; an unknown name is an InputError in all."""

from __future__ import annotations

import warnings

import pytest

import bayesma as bm

ES = bm.escalc("SMD", m1i=[1.0, 2.0, 3.0, 2.5], sd1i=[1.0] * 4, n1i=[10] * 4, m2i=[0.5, 1.0, 2.0, 2.2],
               sd2i=[1.0] * 4, n2i=[12] * 4)


@pytest.mark.parametrize("name", ["smd", "Smd", "SMD", " SMD "])
def test_case_is_read_alike_and_the_registry_name_kept(name):
    es = bm.escalc(name, m1i=[1.0], sd1i=[1.0], n1i=[10], m2i=[0.5], sd2i=[1.0], n2i=[12])
    assert es.attrs.get("measure") == "SMD"
    assert bm.MetaAnalysis(ES, yi="yi", vi="vi", measure=name).spec.measure == "SMD"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bm.robma(ES, yi="yi", vi="vi", measure=name, ensemble="PP", draws=256, replicates=2)
    assert fit.components() is not None


def test_escalc_takes_a_lower_case_2x2_measure_as_rr():
    dat = bm.load_dataset("dat.bcg")
    lower = bm.escalc("rr", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    upper = bm.escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=dat)
    assert lower.attrs["measure"] == "RR" and (lower["yi"] == upper["yi"]).all()


def test_an_unknown_measure_is_an_input_error_everywhere():
    with pytest.raises(bm.InputError, match="unknown"):
        bm.escalc("foo", m1i=[1.0], sd1i=[1.0], n1i=[10], m2i=[0.5], sd2i=[1.0], n2i=[12])
    with pytest.raises(bm.InputError, match="unknown"):
        bm.MetaAnalysis(ES, yi="yi", vi="vi", measure="foo")
    with pytest.raises(bm.InputError, match="not supported"):
        bm.robma(ES, yi="yi", vi="vi", measure="foo")

