"""One rule for the direction of publication bias: detected from the data by default, an explicit
value that contradicts the data warns, every printout says which was used, and the CLI and
Python agree."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayesma as bm
from bayesma.frequentist.bias.direction import resolve_alternative


@pytest.fixture(scope="module")
def hackshaw():
    return bm.load_dataset("dat.hackshaw1998")


def test_pet_peese_on_mirrored_data_is_the_mirror(hackshaw):
    pos = bm.pet_peese("yi", "vi", data=hackshaw)
    neg_data = hackshaw.assign(yi=-hackshaw["yi"])
    neg = bm.pet_peese("yi", "vi", data=neg_data)
    assert pos.alternative == "greater" and neg.alternative == "less"
    assert pos.chosen == neg.chosen
    assert neg.estimate == pytest.approx(-pos.estimate, rel=1e-12)
    assert "detected: the pooled effect is negative" in repr(neg)


def test_selmodel_on_mirrored_data_is_the_mirror(hackshaw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pos = bm.selmodel(bm.rma("yi", "vi", data=hackshaw, method="ML"), type="stepfun", steps=[0.025, 1])
        neg = bm.selmodel(bm.rma("yi", "vi", data=hackshaw.assign(yi=-hackshaw["yi"]), method="ML"),
                          type="stepfun", steps=[0.025, 1])
    assert neg.beta[0] == pytest.approx(-pos.beta[0], rel=1e-6)
    np.testing.assert_allclose(neg.delta, pos.delta, rtol=1e-6)
    assert "alternative = 'less'; detected" in repr(neg)


def test_an_explicit_direction_against_the_data_warns(hackshaw):
    neg_data = hackshaw.assign(yi=-hackshaw["yi"])
    with pytest.warns(UserWarning, match="pooled effect is -0.18"):
        pp = bm.pet_peese("yi", "vi", data=neg_data, alternative="greater")
    assert pp.alternative == "greater" and "as given" in repr(pp)
    with pytest.raises(ValueError, match="alternative must be one of"):
        resolve_alternative("two.sided", np.array([0.1]), np.array([0.01]), "pet_peese")


def test_cli_and_python_use_the_same_rule(hackshaw):
    from bayesma.cli.bias import bias_table

    neg = hackshaw.assign(yi=-hackshaw["yi"])
    _, fits = bias_table(neg["yi"].to_numpy(), neg["vi"].to_numpy())
    assert fits["alternative"] == bm.pet_peese("yi", "vi", data=neg).alternative == "less"
