"""The conversion functions take sample sizes and variances by name only (docs/conventions.rst); a call that
passes them by position says so and names them, instead of Python's bare "takes 1 positional argument"."""

from __future__ import annotations

import pytest

import bayesma as bm


@pytest.mark.parametrize(("call", "names"), [
    (lambda: bm.convert_r_to_d(-0.22, 124), "n=, var_r=, n1=, n2="),
    (lambda: bm.convert_t_to_d(2.12, 95, 99), "n1=, n2="),
])
def test_positional_sample_size_names_the_keywords(call, names):
    with pytest.raises(bm.ArgumentTypeError, match="give the others by name") as err:
        call()
    assert isinstance(err.value, TypeError) and names in str(err.value)


def test_by_name_the_call_works():
    d, v = bm.convert_r_to_d(-0.22, n=124)  # Borenstein et al. 2009, eqs. 7.5-7.8 with a = 4
    assert d == pytest.approx(2 * -0.22 / (1 - 0.22**2) ** 0.5, rel=1e-12)
    assert v == pytest.approx(4 * (1 - 0.22**2) ** 2 / 123 / (1 - 0.22**2) ** 3, rel=1e-12)


def test_other_wrong_calls_keep_pythons_message():
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        bm.convert_r_to_d(-0.22, size=124)
